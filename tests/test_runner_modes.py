"""Each custom executor gives the same outputs in Beam's `in_memory` and `multi_processing` modes.

`multi_processing` runs the pipeline's stages in worker processes over the Fn API, the protocol Dataflow, Flink and
Spark workers speak, and splits the work into bundles differently; TFDV issue 247 saw it drop a third of the records.
So every file an executor writes is compared between the two modes on the same input, by content: Examples shards
as the multiset of their records per split (the shard files themselves may be cut differently) with their count,
every other file byte for byte (after the run's own folder), and the artifact's ML Metadata custom properties.

The input is the demo's span 1 five times over (1,130 rows in three CSV files; copies get new ids, so Conflicts
sees groups of exact duplicates). Each mode runs FastExampleGen, Provenance, CorrectionsApplier, LabelConsistency,
LabelErrors and Conflicts on it, and ReviewQueue on that mode's finder outputs. ErrorAnalysis runs in both modes on
the shared demo run's model (`demo_run`). Drift has no Beam pipeline (it compares two statistics protos in plain
Python), so the runner mode cannot reach it.
"""
import json
import os

import pandas as pd
import pytest
from tfx.dsl.io import fileio
from tfx.types import standard_artifacts

from components.error_analysis.contract import ANALYSIS_FILE
from components.label_errors.component import ISSUES_FILE, LabelIssues
from pipeline.configs import Config
from pipeline.local_runner import beam_args
from tests import executor_runs as runs
from tests.artifacts import examples_from_csv, schema_for
from tests.pipeline_runs import REPO, artifacts_of_type, open_store

pytestmark = pytest.mark.slow

DEMO = os.path.join(REPO, "data", "demo", "span-1", "penguins.csv")
FLIPS = os.path.join(REPO, "data", "answer_keys", "planted_label_flips.csv")
MODES = ("in_memory", "multi_processing")


def mode_args(mode):
    config = Config()
    config.pipeline.beam_mode = mode
    config.pipeline.beam_workers = 2
    return beam_args(config)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The CSV folder, Examples (stock CsvExampleGen) and Schema (TFDV) artifacts made from it, and a corrections
    file correcting the demo's planted label flips."""
    root = tmp_path_factory.mktemp("runner_modes")
    demo = pd.read_csv(DEMO, dtype=str, keep_default_na=False)
    copies = [demo] + [demo.assign(example_id=demo["example_id"] + f"-copy{k}") for k in range(1, 5)]
    frame = pd.concat(copies, ignore_index=True)
    os.makedirs(root / "csv")
    for part, rows in enumerate((frame.iloc[:400], frame.iloc[400:800], frame.iloc[800:])):
        rows.to_csv(root / "csv" / f"part{part}.csv", index=False)
    examples = examples_from_csv(root / "csv", root / "examples", id_column="example_id")
    examples.set_string_custom_property("data_fingerprint", "f" * 64)
    flips = pd.read_csv(FLIPS)
    lines = ["example_id,given_label,suggested_label,reasons,priority,corrected_label,reviewer,reason"]
    lines += [f"{r.example_id},{r.given_label},{r.true_species},label error,1,{r.true_species},ana,checked"
              for r in flips.itertuples()]
    (root / "corrections.csv").write_text("\n".join(lines) + "\n")
    return {"csv": str(root / "csv"), "examples": examples, "schema": schema_for(examples, root / "schema"),
            "corrections": str(root / "corrections.csv"), "rows": len(frame)}


class ModeRuns:
    """Each executor run in each mode on first request (so one failing executor fails its own test only), its
    output artifacts kept for the executors downstream (ReviewQueue reads the finders' outputs of its own mode)."""

    def __init__(self, inputs, tmp_path_factory):
        self._inputs, self._artifacts = inputs, {}
        self._folders = {mode: tmp_path_factory.mktemp(mode) for mode in MODES}

    def artifacts(self, component, mode):
        if (component, mode) not in self._artifacts:
            self._artifacts[component, mode] = self._run(component, mode)
        return self._artifacts[component, mode]

    def _run(self, component, mode):
        args, out = mode_args(mode), self._folders[mode]
        examples, schema, csv_dir = self._inputs["examples"], self._inputs["schema"], self._inputs["csv"]
        if component == "FastExampleGen":
            return [runs.fast_example_gen_run(args, csv_dir, out / "fast_example_gen")]
        if component == "Provenance":
            return [runs.provenance_run(args, examples, csv_dir, out / "provenance")]
        if component == "CorrectionsApplier":
            return [runs.corrections_applier_run(args, examples, schema, self._inputs["corrections"],
                                                 out / "corrections")]
        if component == "LabelConsistency":  # consensus Examples, report, consensus Schema
            return runs.label_consistency_run(args, examples, schema, out / "consistency")
        if component == "Conflicts":
            return [runs.conflicts_run(args, examples, schema, out / "conflicts")]
        if component == "LabelErrors":
            return [runs.label_errors_run(args, examples, schema, out / "label_errors")]
        assert component == "ReviewQueue"
        finders = {"label_consistency": self.artifacts("LabelConsistency", mode)[1],
                   "conflicts": self.artifacts("Conflicts", mode)[0],
                   "label_issues": self.artifacts("LabelErrors", mode)[0]}
        return [runs.review_queue_run(args, finders, out / "review_queue")]

    def contents(self, component):
        """{mode: [contents() of each output artifact]}."""
        return {mode: [runs.contents(artifact, [self._folders[mode]]) for artifact in self.artifacts(component, mode)]
                for mode in MODES}


@pytest.fixture(scope="module")
def outputs(inputs, tmp_path_factory):
    return ModeRuns(inputs, tmp_path_factory)


def assert_same(by_mode, component):
    """`by_mode`: {mode: [contents() of each output artifact]}; returns in_memory's."""
    in_memory, multi_processing = by_mode["in_memory"], by_mode["multi_processing"]
    assert len(in_memory) == len(multi_processing)
    for (files_a, properties_a), (files_b, properties_b) in zip(in_memory, multi_processing):
        assert files_a.keys() == files_b.keys()
        for key in files_a:
            assert files_a[key] == files_b[key], f"{component}: {key} differs between in_memory and multi_processing"
        assert properties_a == properties_b, f"{component}: custom properties differ"
    return in_memory


@pytest.mark.parametrize("component", ["FastExampleGen", "Provenance", "CorrectionsApplier"])
def test_examples_writers_keep_every_record(outputs, inputs, component):
    ((files, properties),) = assert_same(outputs.contents(component), component)
    assert runs.examples_count(files) == inputs["rows"]
    if component == "CorrectionsApplier":
        assert properties  # it records what it corrected


def test_label_consistency(outputs, inputs):
    (consensus, _), (report, _), _ = assert_same(outputs.contents("LabelConsistency"), "LabelConsistency")
    assert runs.examples_count(consensus) == inputs["rows"]
    assert len(report["disagreements.csv"].splitlines()) > 50  # the demo's labelers disagree on many birds, 5x over


def test_label_errors(outputs, inputs):
    ((files, properties),) = assert_same(outputs.contents("LabelErrors"), "LabelErrors")
    assert '"intValue": "%d"' % inputs["rows"] in properties["num_analysed"]
    assert len(files[ISSUES_FILE].splitlines()) > 1


def test_conflicts(outputs, inputs):
    ((files, _),) = assert_same(outputs.contents("Conflicts"), "Conflicts")
    summary = json.loads(files["summary.json"])
    # The demo's three planted conflict pairs, each now five copies a side: 5 * 5 pairs per planted pair.
    assert summary["examples"] == inputs["rows"] and summary["groups"] == 3
    assert summary["examples_in_conflict"] == 30 and summary["conflicting_pairs"] == 75


def test_review_queue(outputs):
    ((files, _),) = assert_same(outputs.contents("ReviewQueue"), "ReviewQueue")
    assert len(files["review_queue.csv"].splitlines()) > 50


def test_error_analysis(demo_run, tmp_path):
    """On the demo run's consensus examples, model, transform graph and label issues."""
    store = open_store(demo_run.metadata)

    def newest(cls, where=""):
        made = cls()
        made.set_mlmd_artifact([a for a in artifacts_of_type(store, cls.TYPE_NAME) if where in a.uri][-1])
        return made

    inputs = (newest(standard_artifacts.Examples, os.sep + "LabelConsistency" + os.sep),
              newest(standard_artifacts.Model), newest(standard_artifacts.TransformGraph), newest(LabelIssues))
    assert fileio.exists(os.path.join(inputs[3].uri, ISSUES_FILE))
    by_mode = {mode: [runs.contents(runs.error_analysis_run(mode_args(mode), *inputs, tmp_path / mode),
                                    [tmp_path / mode])] for mode in MODES}
    ((files, properties),) = assert_same(by_mode, "ErrorAnalysis")
    assert ANALYSIS_FILE in files and properties
