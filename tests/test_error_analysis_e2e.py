"""ErrorAnalysis on real artifacts of the shared demo run (`demo_run`): its model predicting through RunInference
in a real Beam pipeline. In the run itself its accuracy must equal TFMA's; on a copy of the demo examples whose
labels were flipped for one site, it must find that site and call its labels ambiguous."""
import csv
import glob
import json
import os

import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tfx import types
from tfx.types import standard_artifacts

from components.error_analysis import component as contract
from components.error_analysis import executor
from components.label_errors.component import ISSUES_FILE, LabelIssues
from components.review_queue.component import LabelReviewQueue
from pipeline import pipeline
from pipeline.configs import Config
from pipeline.local_runner import beam_args
from pipeline.tfma_metrics import ACCURACY_METRIC
from tests.pipeline_runs import artifacts_of_type, open_store

def _only(store, type_name):
    (artifact,) = artifacts_of_type(store, type_name)
    return artifact


def test_demo_run_analysis_agrees_with_tfma_and_is_recorded(demo_run):
    store = open_store(demo_run.metadata)
    analysis_artifact = _only(store, contract.ErrorAnalysisResult.TYPE_NAME)
    with open(os.path.join(analysis_artifact.uri, contract.ANALYSIS_FILE)) as f:
        analysis = json.load(f)
    evaluation = _only(store, standard_artifacts.ModelEvaluation.TYPE_NAME)
    overall = [m for m in tfma.load_metrics(evaluation.uri) if not m.slice_key.single_slice_keys][0]
    tfma_accuracy = [e.value.double_value.value for e in overall.metric_keys_and_values
                     if e.key.name == ACCURACY_METRIC][0]

    # Same model, same eval split, same label: our RunInference predictions give TFMA's accuracy.
    assert analysis["overall"]["accuracy"] == pytest.approx(tfma_accuracy, abs=1e-6)
    properties = analysis_artifact.custom_properties
    assert properties[contract.PROPERTY_EVAL_ACCURACY].double_value == pytest.approx(tfma_accuracy, abs=1e-6)
    assert properties[contract.PROPERTY_WEAK_SLICES].int_value == len(analysis["weak_slices"])
    assert properties[contract.PROPERTY_VERDICT].string_value == analysis["verdict"]
    assert {m["column"] for m in analysis["metadata_slices"]} == {"site", "season"}
    assert sum(m["examples"] for m in analysis["metadata_slices"] if m["column"] == "site") == \
        analysis["overall"]["eval_examples"]
    assert analysis["tested"]["single"] > 0
    # eval_predictions.csv: every eval example once, in example id order (the same bytes on every run and runner).
    with open(os.path.join(analysis_artifact.uri, contract.PREDICTIONS_FILE)) as f:
        predictions = list(csv.DictReader(f))
    ids = [row["example_id"] for row in predictions]
    assert ids == sorted(set(ids)) and len(ids) == analysis["overall"]["eval_examples"]
    assert sum(row["correct"] == "True" for row in predictions) / len(ids) == pytest.approx(tfma_accuracy, abs=1e-6)
    assert "] ErrorAnalysis done" in demo_run.result.stdout
    # The review queue waited for it and read its (here empty or short) list of examples.
    queue = _only(store, LabelReviewQueue.TYPE_NAME)
    with open(os.path.join(queue.uri, "summary.json")) as f:
        assert "error_analysis" in json.load(f)["sources"]


def _copy_with_flipped_site(source_uri, target_uri, site, from_label, to_label):
    """The demo examples with every `from_label` label at `site` turned into `to_label` (both splits, the given
    and the consensus label): a site whose labeling went wrong. Returns the flipped ids by split."""
    flipped = {}
    for split_dir in sorted(glob.glob(os.path.join(source_uri, "Split-*"))):
        split = os.path.basename(split_dir)[len("Split-"):]
        os.makedirs(os.path.join(target_uri, os.path.basename(split_dir)))
        records = tf.data.TFRecordDataset(sorted(glob.glob(os.path.join(split_dir, "*"))), compression_type="GZIP")
        path = os.path.join(target_uri, os.path.basename(split_dir), "data_tfrecord-00000-of-00001.gz")
        with tf.io.TFRecordWriter(path, options="GZIP") as writer:
            for record in records:
                example = tf.train.Example.FromString(record.numpy())
                features = example.features.feature
                if (features["site"].bytes_list.value[0].decode() == site
                        and features["species"].bytes_list.value[0].decode() == from_label):
                    for name in ("species", "consensus_label"):
                        features[name].bytes_list.value[:] = [to_label.encode()]
                    flipped.setdefault(split, []).append(features["example_id"].bytes_list.value[0].decode())
                writer.write(example.SerializeToString())
    return flipped


def _artifact(cls, uri, split_names=None):
    artifact = cls()
    artifact.uri = str(uri)
    if split_names:
        artifact.split_names = split_names
    return artifact


def test_a_site_with_flipped_labels_is_found_and_its_labels_blamed(demo_run, tmp_path):
    """Biscoe's Gentoos relabelled Adelie in both splits, and the label-error finder's list naming them: the
    demo model (trained on the true labels) now errs on Biscoe, and the analysis must say why."""
    store = open_store(demo_run.metadata)
    consensus = [a for a in artifacts_of_type(store, standard_artifacts.Examples.TYPE_NAME)
                 if os.sep + "LabelConsistency" + os.sep in a.uri][-1]
    flipped = _copy_with_flipped_site(consensus.uri, tmp_path / "examples", "Biscoe", "Gentoo", "Adelie")
    assert len(flipped["eval"]) >= 10 and len(flipped["train"]) >= 10
    issues = tmp_path / "label_issues"
    issues.mkdir()
    with open(issues / ISSUES_FILE, "w") as f:
        f.write("example_id,given_label,suggested_label,quality_score\n")
        f.writelines(f"{i},Adelie,Gentoo,0.01\n" for ids in flipped.values() for i in ids)
    inputs = {
        "examples": [_artifact(standard_artifacts.Examples, tmp_path / "examples", '["train", "eval"]')],
        "model": [_artifact(standard_artifacts.Model, _only(store, standard_artifacts.Model.TYPE_NAME).uri)],
        "transform_graph": [_artifact(standard_artifacts.TransformGraph,
                                      _only(store, standard_artifacts.TransformGraph.TYPE_NAME).uri)],
        "label_issues": [_artifact(LabelIssues, issues)],
    }
    output = _artifact(contract.ErrorAnalysisResult, tmp_path / "analysis")
    properties = pipeline.error_analysis(  # what the demo pipeline gives the component
        Config(), types.Channel(type=standard_artifacts.Examples), types.Channel(type=standard_artifacts.Model),
        types.Channel(type=standard_artifacts.TransformGraph), types.Channel(type=LabelIssues)).exec_properties
    executor.Executor(executor.Executor.Context(beam_pipeline_args=beam_args(Config()))).Do(
        inputs, {"error_analysis": [output]}, properties)

    with open(tmp_path / "analysis" / contract.ANALYSIS_FILE) as f:
        analysis = json.load(f)
    top = analysis["weak_slices"][0]
    assert top["slice"] == "site = Biscoe"
    assert top["diagnosis"] == "labels"
    assert set(top["example_ids"]) >= set(flipped["eval"])  # the model predicts Gentoo for them
    low, high = top["worth_interval"]
    assert 0 < low <= top["worth"] <= high
    assert output.get_string_custom_property(contract.PROPERTY_TOP_SLICE) == "site = Biscoe"
    assert output.get_string_custom_property(contract.PROPERTY_TOP_DIAGNOSIS) == "labels"
    with open(tmp_path / "analysis" / contract.REVIEW_FILE) as f:
        review = list(csv.DictReader(f))
    assert {r["example_id"] for r in review} >= set(flipped["eval"])
    assert {r["predicted_label"] for r in review if r["example_id"] in flipped["eval"]} == {"Gentoo"}
    with open(tmp_path / "analysis" / contract.SUMMARY_FILE) as f:
        assert "site = Biscoe" in f.read()
