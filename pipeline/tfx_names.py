"""Names TFX records in ML Metadata, as strings: readers of the store (the runs ledger, the run report) need them,
and importing them from TFX (tfx.types, tfx.components) imports TensorFlow. tests/test_quick_cli.py checks each
equals TFX's."""
# Standard artifact types' TYPE_NAMEs (tfx.types.standard_artifacts).
EXAMPLES = "Examples"
STATISTICS = "ExampleStatistics"
ANOMALIES = "ExampleAnomalies"
SCHEMA = "Schema"
TRANSFORM_GRAPH = "TransformGraph"
MODEL = "Model"
EVALUATION = "ModelEvaluation"
BLESSING = "ModelBlessing"
PUSHED_MODEL = "PushedModel"
EXAMPLES_KEY = "examples"  # tfx.types.standard_component_specs.EXAMPLES_KEY: a component's Examples input
BLESSED = "blessed"  # tfx.components.evaluator.constants.ARTIFACT_PROPERTY_BLESSED_KEY, on a ModelBlessing
PUSHED = "pushed"  # what TFX's Pusher sets on its PushedModel (tfx/components/pusher/executor.py, not exported)
