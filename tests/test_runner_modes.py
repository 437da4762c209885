"""Each custom Beam executor gives the same outputs in Beam's `in_memory` and `multi_processing` modes.

`multi_processing` runs the pipeline's stages in worker processes over the Fn API, the protocol Dataflow, Flink and
Spark workers speak, and splits the work into bundles differently; TFDV issue 247 saw it drop a third of the records.
So every file an executor writes is compared between the two modes on the same input, by content: Examples shards
as the multiset of their records per split (the shard files themselves may be cut differently), every other file
byte for byte (after the output folder's own path; a Beam text sink's rows in any order, see UNORDERED_FILES), and
the artifact's ML Metadata custom properties.

The input is the demo's span 1 five times over (1,130 rows in three CSV files; copies get new ids, so Conflicts
sees groups of exact duplicates). ReviewQueue and Drift are not Beam pipelines (plain Python over their inputs'
small files), so the runner mode does not reach them; ErrorAnalysis needs a trained model and is not covered here.
"""
import glob
import hashlib
import json
import os
from collections import Counter

import pandas as pd
import pytest
import tensorflow as tf
from google.protobuf import json_format
from tfx import v1 as tfx
from tfx.types import standard_artifacts
from tfx.utils import json_utils

from components.conflicts import executor as conflicts
from components.conflicts.component import LabelConflicts
from components.corrections import executor as corrections
from components.corrections.component import Corrections
from components.fast_example_gen import executor as fast_example_gen
from components.label_consistency import executor as label_consistency
from components.label_consistency.component import LabelConsistencyReport
from components.label_errors import executor as label_errors
from components.label_errors.component import LabelIssues
from components.provenance import executor as provenance
from pipeline.configs import Config
from pipeline.local_runner import beam_args
from tests.artifacts import examples_from_csv, schema_for
from tests.pipeline_runs import REPO

pytestmark = pytest.mark.slow

DEMO = os.path.join(REPO, "data", "demo", "span-1", "penguins.csv")
FLIPS = os.path.join(REPO, "data", "answer_keys", "planted_label_flips.csv")
MODES = ("in_memory", "multi_processing")
# Files a Beam text sink writes in the order the runner hands it the rows (it varies even between two in_memory
# runs): compared as their header and the multiset of their rows. ReviewQueue, which reads them, ranks by content
# with the example id last, so its queue does not depend on that order.
UNORDERED_FILES = {"disagreements.csv"}


def mode_args(mode):
    config = Config()
    config.pipeline.beam_mode = mode
    config.pipeline.beam_workers = 2
    return beam_args(config)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The CSV folder, and Examples (stock CsvExampleGen) and Schema (TFDV) artifacts made from it."""
    root = tmp_path_factory.mktemp("runner_modes")
    demo = pd.read_csv(DEMO, dtype=str, keep_default_na=False)
    copies = [demo] + [demo.assign(example_id=demo["example_id"] + f"-copy{k}") for k in range(1, 5)]
    frame = pd.concat(copies, ignore_index=True)
    os.makedirs(root / "csv")
    for part, rows in enumerate((frame.iloc[:400], frame.iloc[400:800], frame.iloc[800:])):
        rows.to_csv(root / "csv" / f"part{part}.csv", index=False)
    examples = examples_from_csv(root / "csv", root / "examples", id_column="example_id")
    examples.set_string_custom_property("data_fingerprint", "f" * 64)
    return {"csv": str(root / "csv"), "examples": examples, "schema": schema_for(examples, root / "schema"),
            "rows": len(frame)}


def _artifact(cls, uri):
    artifact = cls()
    artifact.uri = str(uri)
    os.makedirs(artifact.uri, exist_ok=True)
    return artifact


def contents(artifact):
    """What an output artifact holds, independent of how the runner cut its shards: {relative path or split folder:
    content}, and its custom properties."""
    found = {}
    for path in sorted(glob.glob(os.path.join(artifact.uri, "**", "*"), recursive=True)):
        if os.path.isdir(path):
            continue
        relative = os.path.relpath(path, artifact.uri)
        if path.endswith(".gz"):  # an Examples shard: its records, by split folder
            records = found.setdefault(os.path.dirname(relative), Counter())
            for record in tf.data.TFRecordDataset([path], compression_type="GZIP"):
                example = tf.train.Example.FromString(record.numpy())
                records[example.SerializeToString(deterministic=True)] += 1
        else:
            with open(path, "rb") as f:
                text = f.read().replace(artifact.uri.encode(), b"<output>")
            if os.path.basename(path) in UNORDERED_FILES:
                header, *rows = text.splitlines()
                text = (header, Counter(rows))
            found[relative] = text
    properties = {key: json_format.MessageToJson(value, sort_keys=True)
                  for key, value in artifact.mlmd_artifact.custom_properties.items()}
    return found, properties


def run_both_modes(tmp_path, run):
    """`run(beam_args, output_dir)` -> output artifacts, in each mode; returns the contents per mode."""
    return {mode: [contents(artifact) for artifact in run(mode_args(mode), tmp_path / mode)] for mode in MODES}


def assert_same(by_mode, expected_records=None):
    in_memory, multi_processing = by_mode["in_memory"], by_mode["multi_processing"]
    for (files_a, properties_a), (files_b, properties_b) in zip(in_memory, multi_processing):
        assert files_a.keys() == files_b.keys()
        for key in files_a:
            assert files_a[key] == files_b[key], f"{key} differs between in_memory and multi_processing"
        assert properties_a == properties_b
    if expected_records is not None:
        files, _ = in_memory[0]
        assert sum(sum(v.values()) for v in files.values() if isinstance(v, Counter)) == expected_records


def test_fast_example_gen(inputs, tmp_path):
    def run(args, out):
        examples = _artifact(standard_artifacts.Examples, out)
        split_config = tfx.proto.SplitConfig(
            splits=[tfx.proto.SplitConfig.Split(name="train", hash_buckets=4),
                    tfx.proto.SplitConfig.Split(name="eval", hash_buckets=1)], partition_feature_name="example_id")
        executor = fast_example_gen.Executor(fast_example_gen.Executor.Context(beam_pipeline_args=args))
        executor.Do({}, {"examples": [examples]}, {
            "input_base": inputs["csv"],
            "input_config": json_format.MessageToJson(tfx.proto.Input(
                splits=[tfx.proto.Input.Split(name="single_split", pattern="*.csv")])),
            "output_config": json_format.MessageToJson(tfx.proto.Output(split_config=split_config))})
        return [examples]
    assert_same(run_both_modes(tmp_path, run), expected_records=inputs["rows"])


def test_provenance(inputs, tmp_path):
    def run(args, out):
        target = _artifact(standard_artifacts.Examples, out / "examples")
        context = provenance.Executor.Context(beam_pipeline_args=args, tmp_dir=str(out / "tmp"), unique_id="modes")
        provenance.Executor(context).Do({"examples": [inputs["examples"]]}, {"examples_with_provenance": [target]}, {
            "source": json.dumps({"source_name": "demo", "source_uri": "https://example.org/penguins",
                                  "owner": "field team", "collection_window": "2007-11/2010-01"}),
            "instructions_file": "data/labeling_instructions.md", "instructions_sha256": "abc123",
            "labelers": json.dumps(["labeler_a", "labeler_b"]), "data_inventory": json.dumps({}),
            "input_base": inputs["csv"], "file_pattern": "*.csv", "label_column": "species",
            "metadata_columns": json.dumps(["site", "season"])})
        return [target]
    assert_same(run_both_modes(tmp_path, run), expected_records=inputs["rows"])


def test_corrections_applier(inputs, tmp_path):
    flips = pd.read_csv(FLIPS)
    rows = ["example_id,given_label,suggested_label,reasons,priority,corrected_label,reviewer,reason"]
    rows += [f"{r.example_id},{r.given_label},{r.true_species},label error,1,{r.true_species},ana,checked"
             for r in flips.itertuples()]
    text = "\n".join(rows) + "\n"
    (tmp_path / "corrections.csv").write_text(text)

    def run(args, out):
        corrections_file = Corrections()
        corrections_file.uri = str(tmp_path / "corrections.csv")
        corrections_file.set_string_custom_property("sha256", hashlib.sha256(text.encode()).hexdigest())
        target = _artifact(standard_artifacts.Examples, out / "examples")
        context = corrections.Executor.Context(beam_pipeline_args=args, tmp_dir=str(out / "tmp"), unique_id="modes")
        corrections.Executor(context).Do(
            {"examples": [inputs["examples"]], "schema": [inputs["schema"]], "corrections": [corrections_file]},
            {"corrected_examples": [target]}, {"id_column": "example_id", "label_column": "species"})
        return [target]
    by_mode = run_both_modes(tmp_path, run)
    assert_same(by_mode, expected_records=inputs["rows"])
    assert by_mode["in_memory"][0][1]  # it records what it corrected


def test_label_consistency(inputs, tmp_path):
    def run(args, out):
        outputs = {"label_consistency": _artifact(LabelConsistencyReport, out / "report"),
                   "consensus_examples": _artifact(standard_artifacts.Examples, out / "consensus"),
                   "consensus_schema": _artifact(standard_artifacts.Schema, out / "schema")}
        context = label_consistency.Executor.Context(beam_pipeline_args=args, tmp_dir=str(out / "tmp"),
                                                     unique_id="modes")
        label_consistency.Executor(context).Do(
            {"examples": [inputs["examples"]], "schema": [inputs["schema"]]}, {k: [v] for k, v in outputs.items()},
            {"labeler_columns": json_utils.dumps(["labeler_a", "labeler_b", "labeler_c"]),
             "label_column": "species", "id_column": "example_id", "long_form_file": "", "min_agreement": 0.8,
             "min_class_agreement": 0.667, "on_low_agreement": "warn", "consensus_method": "majority"})
        return [outputs["consensus_examples"], outputs["label_consistency"], outputs["consensus_schema"]]
    by_mode = run_both_modes(tmp_path, run)
    assert_same(by_mode, expected_records=inputs["rows"])
    _, disagreements = by_mode["in_memory"][1][0]["disagreements.csv"]
    assert sum(disagreements.values()) > 50  # the demo's labelers disagree on many birds, five times over


def test_label_errors(inputs, tmp_path):
    def run(args, out):
        output = _artifact(LabelIssues, out)
        label_errors.Executor(label_errors.Executor.Context(beam_pipeline_args=args)).Do(
            {"examples": [inputs["examples"]], "schema": [inputs["schema"]]}, {"label_issues": [output]},
            {"id_column": "example_id", "label_column": "species",
             "features": json.dumps(["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]),
             "metadata_columns": json.dumps(["site", "season"]), "folds": 5, "model": "logistic_regression",
             "seed": 0})
        return [output]
    by_mode = run_both_modes(tmp_path, run)
    assert_same(by_mode)
    files, properties = by_mode["in_memory"][0]
    assert json.loads(properties["num_analysed"])["intValue"] == str(inputs["rows"])


def test_conflicts(inputs, tmp_path):
    config = Config()

    def run(args, out):
        output = _artifact(LabelConflicts, out)
        conflicts.Executor(conflicts.Executor.Context(beam_pipeline_args=args)).Do(
            {"examples": [inputs["examples"]]}, {"conflicts": [output]},
            {"id_column": "example_id", "label_column": "species",
             "labeler_columns": json.dumps(config.labels.labeler_columns),
             "metadata_columns": json.dumps(config.labels.metadata_columns),
             "exclude": json.dumps(config.conflicts.exclude), "tolerance": config.conflicts.tolerance,
             "relative": config.conflicts.relative,
             "absolute_tolerances": json.dumps(config.conflicts.absolute_tolerances),
             "relative_tolerances": json.dumps(config.conflicts.relative_tolerances)})
        return [output]
    by_mode = run_both_modes(tmp_path, run)
    assert_same(by_mode)
    summary = json.loads(by_mode["in_memory"][0][0]["summary.json"])
    # The demo's three planted conflict pairs, each now five copies a side: 5 * 5 pairs per planted pair.
    assert summary["examples"] == inputs["rows"] and summary["groups"] == 3
    assert summary["examples_in_conflict"] == 30 and summary["conflicting_pairs"] == 75
