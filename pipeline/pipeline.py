"""`create_pipeline(config, ...)`: the one pipeline definition, used unchanged by every runner.

It knows nothing about the platform: the runner passes where outputs go, the Beam arguments and the metadata
connection. Stages, in order:
  data:     ExampleGen -> StatisticsGen -> SchemaGen (or ImportSchemaGen) -> ExampleValidator
            -> the data-centric components (label consistency, conflicts, label errors, provenance, corrections)
  training: Transform -> Trainer -> Evaluator (blessing threshold) -> Pusher (only when blessed)
"""
import os

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx

from pipeline.configs import Config


def _resolve(path):
    """Absolute local paths; URIs such as gs://bucket/x pass through unchanged."""
    return path if "://" in path else os.path.abspath(path)


def model_custom_config(config: Config):
    """What models/preprocessing.py and models/model.py read from `custom_config`."""
    m = config.model
    return {"numeric_features": m.numeric_features, "categorical_features": m.categorical_features,
            "label_column": config.labels.label_column, "batch_size": m.batch_size,
            "learning_rate": m.learning_rate, "hidden_units": m.hidden_units}


def eval_config(config: Config, label_column):
    """TFMA config: accuracy overall and per metadata column, and the bar a model must clear to be blessed."""
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="serving_default",
                                    label_key=label_column + "_xf",
                                    preprocessing_function_names=["transform_features"])],
        slicing_specs=[tfma.SlicingSpec()] + [tfma.SlicingSpec(feature_keys=[column])
                                              for column in config.labels.metadata_columns],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="SparseCategoricalAccuracy",
                              threshold=tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(
                                  lower_bound={"value": config.model.min_accuracy}))),
            tfma.MetricConfig(class_name="ExampleCount"),
        ])])


def example_gen(config: Config):
    """Reads every CSV under [data] input_dir; the split hashes the id column, so it is stable as rows are added."""
    output_config = tfx.proto.Output(split_config=tfx.proto.SplitConfig(
        splits=[tfx.proto.SplitConfig.Split(name="train", hash_buckets=config.data.train_buckets),
                tfx.proto.SplitConfig.Split(name="eval", hash_buckets=config.data.eval_buckets)],
        partition_feature_name=config.data.id_column))
    input_config = tfx.proto.Input(splits=[
        tfx.proto.Input.Split(name="single_split", pattern=config.data.file_pattern)])
    return tfx.components.CsvExampleGen(input_base=_resolve(config.data.input_dir),
                                        input_config=input_config, output_config=output_config)


def create_pipeline(config: Config, pipeline_root, beam_pipeline_args, metadata_connection_config=None,
                    data_only=False):
    """The TFX pipeline for `config`; with `data_only`, everything up to the data-quality checks, no training."""
    gen = example_gen(config)
    statistics_gen = tfx.components.StatisticsGen(examples=gen.outputs["examples"])
    if config.data.schema_file:
        schema_gen = tfx.components.ImportSchemaGen(schema_file=_resolve(config.data.schema_file))
    else:
        schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"],
                                              infer_feature_shape=True)
    validator = tfx.components.ExampleValidator(statistics=statistics_gen.outputs["statistics"],
                                                schema=schema_gen.outputs["schema"])
    components = [gen, statistics_gen, schema_gen, validator]
    # What the training stage reads. Data-centric components plug in below: each may add itself to `components`
    # and replace `examples` (and `schema`) with its own output, e.g. corrected or consensus-labelled examples.
    examples = gen.outputs["examples"]
    schema = schema_gen.outputs["schema"]

    if not data_only:
        label = config.labels.label_column
        transform = tfx.components.Transform(
            examples=examples, schema=schema, preprocessing_fn=config.model.preprocessing_fn,
            custom_config=model_custom_config(config))
        trainer = tfx.components.Trainer(
            run_fn=config.model.run_fn,
            examples=transform.outputs["transformed_examples"],
            transform_graph=transform.outputs["transform_graph"],
            schema=transform.outputs["post_transform_schema"],
            train_args=tfx.proto.TrainArgs(num_steps=config.model.train_steps),
            eval_args=tfx.proto.EvalArgs(num_steps=config.model.eval_steps),
            custom_config=model_custom_config(config))
        evaluator = tfx.components.Evaluator(examples=examples, model=trainer.outputs["model"],
                                             eval_config=eval_config(config, label))
        pusher = tfx.components.Pusher(
            model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
            push_destination=tfx.proto.PushDestination(filesystem=tfx.proto.PushDestination.Filesystem(
                base_directory=_resolve(serving_dir(config)))))
        components += [transform, trainer, evaluator, pusher]

    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline.name,
        pipeline_root=pipeline_root,
        components=components,
        enable_cache=config.pipeline.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args)


def serving_dir(config: Config):
    return config.pipeline.serving_dir or os.path.join(config.pipeline.output_dir, "serving_model")


def metadata_path(config: Config):
    return config.pipeline.metadata_path or os.path.join(config.pipeline.output_dir, "metadata.sqlite")
