"""Label consistency in the real pipeline: the demo run's MLMD record and console, the fail gate, train_on."""
import json
import os

import pytest
from ml_metadata.proto import metadata_store_pb2

from pipeline.configs import config_from_dict
from pipeline.pipeline import create_pipeline
from tests.pipeline_runs import artifacts_of_type, executions_by_component, open_store, run_cli

OUTPUT = metadata_store_pb2.Event.OUTPUT
INPUT = metadata_store_pb2.Event.INPUT


def test_demo_records_agreement_and_trains_on_its_examples(demo_run):
    store = open_store(demo_run.metadata)
    (report,) = artifacts_of_type(store, "components.LabelConsistencyReport")
    properties = report.custom_properties
    assert properties["gate"].string_value == "warn"
    assert "Chinstrap" in json.loads(properties["classes_to_review"].string_value)
    with open(os.path.join(report.uri, "metrics.json")) as f:
        metrics = json.load(f)
    for key in ("krippendorff_alpha", "fleiss_kappa", "hlp_estimate"):  # SQLite MLMD keeps about 6 digits
        assert properties[key].double_value == pytest.approx(metrics[key], abs=1e-5)
    for name in ("summary.md", "disagreements.csv"):
        assert os.path.exists(os.path.join(report.uri, name))
    # The warning reaches the console, and Transform reads the examples LabelConsistency wrote.
    assert "Label consistency gate: WARN" in demo_run.result.stdout
    executions = executions_by_component(store)
    (consistency,) = executions["LabelConsistency"]
    produced = {e.artifact_id for e in store.get_events_by_execution_ids([consistency.id]) if e.type == OUTPUT}
    (transform,) = executions["Transform"]
    consumed = {e.artifact_id for e in store.get_events_by_execution_ids([transform.id]) if e.type == INPUT}
    assert len(produced & consumed) == 2  # consensus examples and schema


def test_fail_gate_stops_the_run_before_transform(demo_run, tmp_path):
    """From a copy of the demo run's store: the data checks come from its cache, LabelConsistency runs and fails."""
    config = demo_run.variant(tmp_path, label_consistency={"on_low_agreement": "fail"})
    before = {e.id for e in open_store(tmp_path / "metadata.sqlite").get_executions()}
    result = run_cli("run", "--config", config)
    assert result.returncode == 1
    assert "Label consistency gate: FAIL" in result.stderr and "Chinstrap" in result.stderr
    assert "summary.md" in result.stderr
    new = {component: [e.last_known_state for e in runs if e.id not in before]
           for component, runs in executions_by_component(open_store(tmp_path / "metadata.sqlite")).items()}
    assert new["ExampleValidator"] == [metadata_store_pb2.Execution.CACHED]
    assert new["LabelConsistency"] == [metadata_store_pb2.Execution.FAILED]
    assert not new["Transform"] and not new["Trainer"]


def test_train_on_consensus_wires_the_consensus_label_into_training():
    config = config_from_dict({"label_consistency": {"train_on": "consensus"}})
    pipeline = create_pipeline(config, "/tmp/unused", [])
    nodes = {c.id: c for c in pipeline.components}
    transform, consistency = nodes["Transform"], nodes["LabelConsistency"]
    assert json.loads(transform.exec_properties["custom_config"])["label_column"] == "consensus_label"
    assert json.loads(nodes["Trainer"].exec_properties["custom_config"])["label_column"] == "consensus_label"
    assert transform.inputs["examples"].producer_component_id == consistency.id
    assert transform.inputs["schema"].producer_component_id == consistency.id
    assert '"consensus_label_xf"' in str(nodes["Evaluator"].exec_properties["eval_config"])
