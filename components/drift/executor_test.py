"""The Drift executor on real ExampleStatistics artifacts (TFDV statistics of synthetic spans with planted changes)."""
import json
import os

import numpy as np
import pytest
import tensorflow_data_validation as tfdv
from tfx.types import artifact_utils, channel_utils, standard_artifacts

from components.drift import component
from components.drift.component import Drift, DriftReport
from components.drift.executor import DriftGateError, Executor
from components.drift.measures import DriftThresholds
from components.drift.measures_test import planted


def statistics_artifact(path, frame, span):
    """An ExampleStatistics artifact as StatisticsGen writes it: one FeatureStats.pb per split."""
    artifact = standard_artifacts.ExampleStatistics()
    artifact.uri = str(path)
    artifact.split_names = artifact_utils.encode_split_names(["train"])
    artifact.span = span
    split_dir = os.path.join(artifact.uri, "Split-train")
    os.makedirs(split_dir)
    with open(os.path.join(split_dir, "FeatureStats.pb"), "wb") as f:  # what tfdv.load_stats_binary reads
        f.write(tfdv.generate_statistics_from_dataframe(frame).SerializeToString())
    return artifact


@pytest.fixture(scope="module")
def spans(tmp_path_factory):
    rng = np.random.default_rng(7)
    root = tmp_path_factory.mktemp("statistics")
    return (statistics_artifact(root / "span1", planted(rng, 5000, False), 1),
            statistics_artifact(root / "span2", planted(rng, 5000, True), 2))


def run(spans, output_dir, **overrides):
    baseline, current = spans
    output = DriftReport()
    output.uri = str(output_dir)
    os.makedirs(output.uri, exist_ok=True)
    props = {"label_column": "species", "exclude": json.dumps(["colour"]),
             "thresholds": json.dumps(vars(DriftThresholds())), "on_drift": "warn", "split": "train",
             "baseline_span": baseline.span}
    props.update(overrides)
    Executor().Do({"statistics": [current], "baseline_statistics": [baseline]}, {"drift": [output]}, props)
    return output


def test_report_files_properties_and_warning(spans, tmp_path, capsys):
    output = run(spans, tmp_path / "drift")
    with open(os.path.join(output.uri, component.DRIFT_FILE)) as f:
        result = json.load(f)
    assert result["verdict"] == "drift" and (result["current_span"], result["baseline_span"]) == (2, 1)
    assert set(result["drifted_features"]) == {"mass", "site", "species", "kind", "width"}
    assert [f["feature"] for f in result["features"]] == ["count", "depth", "kind", "mass", "site", "species",
                                                          "width"]  # every feature but the excluded one
    assert output.get_string_custom_property(component.VERDICT) == "drift"
    assert json.loads(output.get_string_custom_property(component.DRIFTED_FEATURES)) == result["drifted_features"]
    assert output.get_string_custom_property(component.LABEL_VERDICT) == "drift"
    assert output.get_int_custom_property(component.BASELINE_SPAN) == 1
    with open(os.path.join(output.uri, component.SUMMARY_FILE)) as f:
        summary = f.read()
    assert "Verdict: **drift**" in summary and "## Class mix of species" in summary and "- kind: k3" in summary
    assert "Drift gate: WARN" in capsys.readouterr().out


def test_fail_gate_names_the_drifted_features(spans, tmp_path):
    with pytest.raises(DriftGateError, match=r"Drift gate: FAIL: span 2 drifted from span 1 on: kind, mass, site"):
        run(spans, tmp_path / "drift", on_drift="fail")
    # Below the thresholds nothing drifts and the gate lets the run go on.
    loose = dict(vars(DriftThresholds()), categorical_linf=0.9, numeric_wasserstein_sd=9.0, missing_rate_change=0.9)
    output = run(spans, tmp_path / "loose", on_drift="fail", thresholds=json.dumps(loose))
    assert output.get_string_custom_property(component.VERDICT) == "no drift"


def test_a_missing_split_is_named(spans, tmp_path):
    with pytest.raises(ValueError, match=r"no split 'eval' \(\[drift\] split\); they have train"):
        run(spans, tmp_path / "drift", split="eval")


def test_component_declares_its_contract():
    baseline, current = (standard_artifacts.ExampleStatistics() for _ in range(2))
    drift = Drift(statistics=channel_utils.as_channel([current]),
                  baseline_statistics=channel_utils.as_channel([baseline]), baseline_span=1, label_column="species",
                  exclude=["example_id"], thresholds=vars(DriftThresholds()))
    assert drift.outputs["drift"].type.TYPE_NAME == "components.DriftReport"
    assert json.loads(drift.exec_properties["thresholds"])["alpha"] == 0.01
