"""The serving monitor on the session's demo run (`python -m pipeline monitor`): the planted training-serving skew is
found and exits 1, a sample of the training rows exits 0, bad serving input exits 2 with a message naming the file
and line, and the monitor's run is linked to the model in ML Metadata.

The monitor writes to ML Metadata, so each test works on a copy of the demo run's store (`DemoRun.variant`): the
other tests read the original and expect only pipeline executions in it.
"""
import glob
import importlib.util
import json
import os

import pandas as pd
import pytest

from pipeline.configs import load_config
from tests.pipeline_runs import REPO, open_store, run_cli

SAMPLE_ROWS = 150


def _make_demo():
    spec = importlib.util.spec_from_file_location("make_demo", os.path.join(REPO, "data", "make_demo.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _training_rows(demo_run):
    """The rows of the span the demo run trained on, from its config's input folder."""
    data = load_config(demo_run.config_path).data
    spans = sorted(glob.glob(os.path.join(data.input_dir, data.file_pattern.replace("{SPAN}", "*"))))
    pattern = data.file_pattern.replace("{SPAN}", str(data.span)) if data.span else None
    files = sorted(glob.glob(os.path.join(data.input_dir, pattern))) if pattern else spans[-1:]
    return pd.concat([pd.read_csv(f, keep_default_na=False) for f in files])


def _monitor(tmp_path, demo_run, frame=None, files=None):
    serving = tmp_path / "serving"
    serving.mkdir()
    if frame is not None:
        frame.to_csv(serving / "requests.csv", index=False)
    for name, content in (files or {}).items():
        (serving / name).write_bytes(content)
    config = demo_run.variant(tmp_path)
    result = run_cli("monitor", "--serving", str(serving), "--config", config, timeout=1200)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result, config


def _report(tmp_path):
    (path,) = glob.glob(str(tmp_path / "monitor" / "*" / "monitor.json"))
    with open(path) as f:
        return json.load(f), os.path.dirname(path)


@pytest.fixture(scope="module")
def sample(demo_run):
    rows = _training_rows(demo_run)
    return rows.sample(n=SAMPLE_ROWS, random_state=0)[
        ["site", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "species"]]


@pytest.fixture(scope="module")
def planted(demo_run, sample, tmp_path_factory):
    """The monitor on the training sample with the demo's planted skew: one site's body mass in pounds."""
    tmp_path = tmp_path_factory.mktemp("planted")
    result, config = _monitor(tmp_path, demo_run, _make_demo().in_pounds(sample))
    return result, config, tmp_path


def test_planted_skew_is_found_on_exactly_the_planted_feature(planted):
    result, _, tmp_path = planted
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    report, out_dir = _report(tmp_path)
    verdicts = {c["feature"]: c["verdict"] for c in report["skew"]}
    assert verdicts.pop("body_mass_g") == "drift"
    assert "drift" not in verdicts.values(), verdicts
    assert {"site", "species", "bill_length_mm"} <= set(verdicts)
    assert report["beyond_thresholds"][0] == "skew: body_mass_g"
    assert report["serving"]["rows"] == SAMPLE_ROWS and report["serving"]["has_label"]
    assert report["predictions"]["scored_rows"] == SAMPLE_ROWS
    # Labels came with the requests: the real accuracy is there beside the estimate, each with its interval.
    performance = report["performance"]
    real = performance["accuracy"]["serving"]
    assert real["labelled"] == SAMPLE_ROWS and real["interval"][0] <= real["accuracy"] <= real["interval"][1]
    assert performance["accuracy"]["evaluated_accuracy"] is not None
    assert 0 < performance["cbpe"]["serving"]["estimate"] <= 1
    assert "body_mass_g" in result.stdout and "Verdict: drift" in result.stdout
    with open(os.path.join(out_dir, "summary.md")) as f:
        summary = f.read()
    assert "| body_mass_g | drift |" in summary and "assumes the model is calibrated" in summary


def test_monitor_run_is_linked_to_the_model_in_ml_metadata(planted, demo_run):
    _, config, tmp_path = planted
    store = open_store(tmp_path / "metadata.sqlite")
    execution = max(store.get_executions_by_type("ServingMonitor"), key=lambda e: e.id)  # this test's run
    events = store.get_events_by_execution_ids([execution.id])
    inputs = {e.path.steps[0].key: e.artifact_id for e in events if e.type == e.INPUT}
    model = max(store.get_artifacts_by_type("Model"), key=lambda a: a.id)  # 'latest', the monitor's default
    assert inputs["model"] == model.id
    (statistics,) = store.get_artifacts_by_id([inputs["training_statistics"]])
    assert store.get_artifact_types_by_id([statistics.type_id])[0].name == "ExampleStatistics"
    (output,) = [e.artifact_id for e in events if e.type == e.OUTPUT]
    (report,) = store.get_artifacts_by_id([output])
    assert store.get_artifact_types_by_id([report.type_id])[0].name == "MonitorReport"
    assert report.custom_properties["verdict"].string_value == "drift"
    assert report.uri == _report(tmp_path)[1]
    context = store.get_context_by_type_and_name("model_monitoring", f"model-{model.id}")
    assert execution.id in [e.id for e in store.get_executions_by_context(context.id)]
    lineage = run_cli("lineage", "--config", config)
    assert lineage.returncode == 0, lineage.stderr
    assert "Watched by the serving monitor:" in lineage.stdout
    assert f"ServingMonitor (execution #{execution.id}" in lineage.stdout and "skew: body_mass_g" in lineage.stdout


def test_training_rows_without_labels_pass(demo_run, sample, tmp_path):
    result, _ = _monitor(tmp_path, demo_run, sample.drop(columns=["species"]))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    report, _ = _report(tmp_path)
    assert report["beyond_thresholds"] == [] and report["schema_anomalies"] == {}
    assert not report["serving"]["has_label"] and report["performance"]["accuracy"]["serving"] is None
    assert "species" not in {c["feature"] for c in report["skew"]}
    assert "accuracy is estimated" in result.stdout and "Verdict:" in result.stdout


def test_shipped_serving_sample_shows_the_documented_skew(demo_run, tmp_path):
    serving = os.path.join(REPO, "data", "serving")
    result = run_cli("monitor", "--serving", serving, "--config", demo_run.variant(tmp_path), timeout=1200)
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    report, _ = _report(tmp_path)
    assert {c["feature"]: c["verdict"] for c in report["skew"]}["body_mass_g"] == "drift"


HEADER = "request_id,site,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n"
ROW = "r1,Dream,39.1,18.7,181,3750\n"


# Each check and its message: pipeline/monitor/serving_input_test.py. Here: that the CLI exits 2 with them.
@pytest.mark.parametrize("files, message", [
    ({"notes.txt": b"hello"}, "holds no .csv or .parquet file; it holds: notes.txt"),
    ({"a.csv": (HEADER + ROW + "r2,Dr\xe9am,39.1,18.7,181,3750\n").encode("latin-1")},
     "a.csv: line 3: byte b'\\xe9' is not valid UTF-8"),
    ({"a.csv": (HEADER.replace(",body_mass_g", "") + "r1,Dream,39.1,18.7,181\n").encode()},
     "missing the model's feature column(s) body_mass_g"),
])
def test_bad_serving_input_exits_2_naming_the_problem(demo_run, tmp_path, files, message):
    result, _ = _monitor(tmp_path, demo_run, files=files)
    assert result.returncode == 2, result.stdout + result.stderr[-3000:]
    assert message in result.stderr, result.stderr


def test_unknown_model_id_exits_2(demo_run, tmp_path):
    (tmp_path / "serving").mkdir()
    (tmp_path / "serving" / "a.csv").write_text(HEADER + ROW)
    result = run_cli("monitor", "--serving", str(tmp_path / "serving"), "--model", "999999", "--config",
                     demo_run.variant(tmp_path), timeout=300)
    assert result.returncode == 2 and "no artifact with id 999999" in result.stderr
