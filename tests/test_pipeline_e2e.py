"""End to end, in the style of TFX's penguin e2e test: the real pipeline, real SQLite MLMD, then a cached rerun."""
import os

from ml_metadata.proto import metadata_store_pb2

from tests.pipeline_runs import artifacts_of_type, executions_by_component, open_store

STOCK_COMPONENTS = ["FastExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform", "Trainer",
                    "Evaluator", "Pusher"]
COMPLETE = metadata_store_pb2.Execution.COMPLETE
CACHED = metadata_store_pb2.Execution.CACHED


def test_every_component_completes_once(demo_run):
    executions = executions_by_component(open_store(demo_run.metadata))
    for component in STOCK_COMPONENTS:
        assert component in executions, f"{component} did not run; ran: {sorted(executions)}"
    for component, runs in executions.items():
        assert runs[0].last_known_state == COMPLETE, f"{component} ended {runs[0].last_known_state}"


def test_progress_and_paths_are_printed(demo_run):
    out = demo_run.result.stdout
    for component in STOCK_COMPONENTS:
        assert f"] {component} done" in out
    assert demo_run.metadata in out and demo_run.pipeline_root in out


def test_model_is_blessed_and_pushed(demo_run):
    store = open_store(demo_run.metadata)
    (blessing,) = artifacts_of_type(store, "ModelBlessing")
    assert blessing.custom_properties["blessed"].int_value == 1
    (pushed,) = artifacts_of_type(store, "PushedModel")
    assert pushed.custom_properties["pushed"].int_value == 1
    (version,) = os.listdir(demo_run.serving_dir)
    assert os.path.exists(os.path.join(demo_run.serving_dir, version, "saved_model.pb"))


def test_eval_accuracy_and_metadata_slices(demo_run):
    import tensorflow_model_analysis as tfma

    store = open_store(demo_run.metadata)
    (evaluation,) = artifacts_of_type(store, "ModelEvaluation")
    slices = {slice_key: metrics[""][""]["sparse_categorical_accuracy"]["doubleValue"]
              for slice_key, metrics in tfma.load_eval_result(evaluation.uri).slicing_metrics}
    assert slices[()] >= 0.8
    sliced_columns = {key[0][0] for key in slices if key}
    assert sliced_columns == {"site", "season"}


def test_second_run_is_served_from_cache(demo_run, cached_rerun):
    result, artifacts_before = cached_rerun
    store = open_store(demo_run.metadata)
    n_components = len(executions_by_component(store))
    assert f"Running {n_components} components" in result.stdout
    assert result.stdout.count("(from cache)") == n_components
    store = open_store(demo_run.metadata)
    for component, runs in executions_by_component(store).items():
        assert len(runs) == 2 and runs[1].last_known_state == CACHED, component
    assert len(store.get_artifacts()) == artifacts_before
# `run --data-only` (the data stage, no training) is checked where a data-only run happens anyway:
# tests/test_scaffold.py and tests/test_report.py.
