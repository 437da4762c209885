"""The data stage's executors work on artifact URIs of a filesystem that only Beam's FileSystems and TFX's fileio
know (tests/testfs.py's testfs://), and write there exactly what they write on local disk.

open(), os.path, pandas, pyarrow and TensorFlow's gfile cannot reach testfs://, so an executor that reads or writes
an artifact through any of them fails here (or, for os.makedirs and open(..., "w"), writes a "testfs:" folder into
the working directory, which the test checks is not there). gs:// is known to all of those layers but open() and
os.path; s3:// to all but those and (without apache-beam[aws]) Beam. The executors run in Beam's in_memory mode:
testfs:// is registered in this process only.

FastExampleGen -> Provenance -> (TFDV schema) -> LabelConsistency -> Conflicts -> LabelErrors -> CorrectionsApplier
-> ReviewQueue run once with every artifact under testfs:// and once on local disk; every output is compared.
ErrorAnalysis and Drift run on the shared demo run's model, transform graph and statistics: those they read with
TensorFlow (tft.TFTransformOutput, the SavedModel) and TFDV's loader (tf.io.gfile), whose filesystems are TensorFlow's
C++ registry, which a Python-registered scheme cannot extend; so those inputs stay local, and everything else
(examples, label issues, outputs) is on testfs://. TensorFlow reads gs:// natively (s3:// needs tensorflow-io since
TF 2.6, as for TFX's own Trainer and Transform).
"""
import json
import os

import pyarrow
import pyarrow.fs as pafs
import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import io_utils

from components.drift.component import DriftReport
from components.drift.executor import Executor as DriftExecutor
from components.drift.measures import DriftThresholds
from components.label_errors.component import LabelIssues
from pipeline.configs import Config
from pipeline.local_runner import beam_args
from tests import executor_runs as runs
from tests import testfs
from tests.pipeline_runs import REPO, artifacts_of_type, open_store

pytestmark = pytest.mark.slow

DEMO = os.path.join(REPO, "data", "demo", "span-1", "penguins.csv")


def test_only_beam_and_fileio_know_the_scheme(tmp_path, monkeypatch):
    """What the test relies on: the other layers cannot reach testfs://."""
    testfs.use_root(tmp_path)
    monkeypatch.chdir(tmp_path)
    with fileio.open("testfs://a.txt", "w") as f:
        f.write("x")
    assert (tmp_path / "a.txt").read_text() == "x"
    assert not os.path.exists("testfs://a.txt")
    with pytest.raises(FileNotFoundError):
        open("testfs://a.txt", encoding="utf-8")
    with pytest.raises(pyarrow.ArrowInvalid):
        pafs.FileSystem.from_uri("testfs://a.txt")
    with pytest.raises(tf.errors.UnimplementedError):
        tf.io.gfile.exists("testfs://a.txt")


def schema_run(examples, out):
    """What SchemaGen makes (TFDV's inferred schema of the train split), read and written through Beam and fileio."""
    split_uri = artifact_utils.get_split_uri([examples], "train")
    statistics = tfdv.generate_statistics_from_tfrecord(runs.join(split_uri, "*"), pipeline_options=None)
    schema = runs.artifact(standard_artifacts.Schema, out)
    io_utils.write_pbtxt_file(runs.join(out, "schema.pbtxt"), tfdv.infer_schema(statistics))
    return schema


def data_stage(root, csv_dir):
    """Every executor of the data stage, with every artifact (and temporary folder) under `root`."""
    args = beam_args(Config())
    made = {"FastExampleGen": runs.fast_example_gen_run(args, csv_dir, runs.join(root, "fast_example_gen"))}
    made["Provenance"] = runs.provenance_run(args, made["FastExampleGen"], csv_dir, runs.join(root, "provenance"))
    examples = made["Provenance"]
    schema = made["Schema"] = schema_run(examples, runs.join(root, "schema"))
    consensus, report, consensus_schema = runs.label_consistency_run(args, examples, schema,
                                                                      runs.join(root, "consistency"))
    made.update({"consensus": consensus, "LabelConsistency": report, "consensus_schema": consensus_schema})
    made["Conflicts"] = runs.conflicts_run(args, examples, schema, runs.join(root, "conflicts"))
    made["LabelErrors"] = runs.label_errors_run(args, consensus, consensus_schema, runs.join(root, "label_errors"))
    corrections = runs.join(root, "corrections.csv")
    with fileio.open(corrections, "w") as f:
        f.write("example_id,given_label,suggested_label,reasons,priority,corrected_label,reviewer,reason\n"
                "pg-0029,Chinstrap,Adelie,label error,1,Adelie,ana,checked\n")  # a planted label flip
    made["CorrectionsApplier"] = runs.corrections_applier_run(args, examples, schema, corrections,
                                                              runs.join(root, "corrected"))
    made["ReviewQueue"] = runs.review_queue_run(
        args, {"label_consistency": report, "conflicts": made["Conflicts"], "label_issues": made["LabelErrors"]},
        runs.join(root, "review_queue"))
    return {name: runs.contents(artifact, [root]) for name, artifact in made.items()}


def test_data_stage_on_a_scheme_only_beam_and_fileio_know(tmp_path, monkeypatch):
    testfs.use_root(tmp_path / "store")
    os.makedirs(tmp_path / "store")
    os.makedirs(tmp_path / "cwd")
    monkeypatch.chdir(tmp_path / "cwd")
    csv_dir = tmp_path / "csv"  # the input files stay local: [data] input_dir is not an artifact
    os.makedirs(csv_dir)
    with open(DEMO, encoding="utf-8") as source, open(csv_dir / "penguins.csv", "w", encoding="utf-8") as copy:
        copy.write(source.read())

    on_testfs = data_stage(f"{testfs.PREFIX}stage", str(csv_dir))
    assert os.listdir(tmp_path / "cwd") == []  # nothing went to a local "testfs:" folder
    on_local_disk = data_stage(str(tmp_path / "local"), str(csv_dir))

    assert on_testfs.keys() == on_local_disk.keys()
    for name, (files, properties) in on_local_disk.items():
        assert on_testfs[name][0].keys() == files.keys(), name
        for key, content in files.items():
            assert on_testfs[name][0][key] == content, f"{name}: {key} differs between testfs:// and local disk"
        assert on_testfs[name][1] == properties, name
    assert runs.examples_count(on_testfs["FastExampleGen"][0]) == 226
    assert runs.examples_count(on_testfs["CorrectionsApplier"][0]) == 226
    assert len(on_testfs["ReviewQueue"][0]["review_queue.csv"].splitlines()) > 10


def _newest(store, cls, where=""):
    made = cls()
    made.set_mlmd_artifact([a for a in artifacts_of_type(store, cls.TYPE_NAME) if where in a.uri][-1])
    return made


def _copy_tree(local_folder, uri):
    """A local artifact folder copied under a URI, through fileio."""
    for folder, _, files in os.walk(local_folder):
        target = runs.join(uri, *os.path.relpath(folder, local_folder).split(os.sep)) if folder != local_folder else uri
        fileio.makedirs(target)
        for name in files:
            fileio.copy(os.path.join(folder, name), runs.join(target, name))


def _error_analysis_and_drift(store, root, examples_uri, issues_uri):
    """ErrorAnalysis and Drift writing under `root`, reading examples and label issues from the URIs given; the
    model, transform graph and statistics (read by TensorFlow and TFDV) from the demo run's local folders."""
    args = beam_args(Config())
    examples = _newest(store, standard_artifacts.Examples, os.sep + "LabelConsistency" + os.sep)
    examples.uri = examples_uri
    issues = _newest(store, LabelIssues)
    issues.uri = issues_uri
    analysis = runs.error_analysis_run(args, examples, _newest(store, standard_artifacts.Model),
                                  _newest(store, standard_artifacts.TransformGraph), issues,
                                  runs.join(root, "error_analysis"))
    statistics = _newest(store, standard_artifacts.ExampleStatistics, os.sep + "StatisticsGen" + os.sep)
    drift = runs.artifact(DriftReport, runs.join(root, "drift"))
    config = Config().drift
    DriftExecutor().Do(
        {"statistics": [statistics], "baseline_statistics": [statistics]}, {"drift": [drift]},
        {"split": config.split, "thresholds": json.dumps(vars(DriftThresholds.from_config(config))),
         "label_column": "species", "exclude": json.dumps(["example_id"]), "baseline_span": statistics.span,
         "on_drift": "warn"})
    return {"ErrorAnalysis": runs.contents(analysis, [root]), "Drift": runs.contents(drift, [root])}


def test_error_analysis_and_drift_write_through_fileio(demo_run, tmp_path, monkeypatch):
    """ErrorAnalysis reads its examples and label issues and writes its outputs on testfs://, Drift writes there;
    the same as on local disk. (Their TensorFlow-read inputs stay local: see the module docstring.)"""
    store = open_store(demo_run.metadata)
    testfs.use_root(tmp_path / "store")
    os.makedirs(tmp_path / "cwd")
    monkeypatch.chdir(tmp_path / "cwd")
    local_examples = _newest(store, standard_artifacts.Examples, os.sep + "LabelConsistency" + os.sep).uri
    local_issues = _newest(store, LabelIssues).uri
    _copy_tree(local_examples, f"{testfs.PREFIX}inputs/examples")
    _copy_tree(local_issues, f"{testfs.PREFIX}inputs/issues")

    on_testfs = _error_analysis_and_drift(store, f"{testfs.PREFIX}out", f"{testfs.PREFIX}inputs/examples",
                                          f"{testfs.PREFIX}inputs/issues")
    assert os.listdir(tmp_path / "cwd") == []
    on_local_disk = _error_analysis_and_drift(store, str(tmp_path / "local"), local_examples, local_issues)
    assert on_testfs == on_local_disk
    assert on_testfs["ErrorAnalysis"][0] and on_testfs["Drift"][0]
