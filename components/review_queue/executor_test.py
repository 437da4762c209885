"""The ReviewQueue executor on finder outputs laid out exactly as the finders write them."""
import csv
import functools
import json
import os

import pytest

from benchmarks.review_queue import data
from components.conflicts.component import LabelConflicts
from components.corrections.executor import parse_corrections
from components.label_consistency.component import LabelConsistencyReport
from components.label_errors.component import LabelIssues
from components.label_errors.executor import ISSUE_COLUMNS
from components.examples_io import sorted_text
from components.review_queue import executor
from components.review_queue.component import LabelReviewQueue
from components.review_queue.executor import QUEUE_FILE, SUMMARY_FILE, Executor
from components.review_queue.queue import DEFAULT_MAX_ROWS, build_queue
from tests.artifacts import LOCAL_BEAM_ARGS

LABELERS = ["labeler_a", "labeler_b"]
# disagreements.csv as components/label_consistency writes it: id column, one per labeler, then these.
DISAGREEMENTS = [["example_id", *LABELERS, "consensus", "agreement", "label", "split"],
                 ["a", "Chinstrap", "Chinstrap", "Chinstrap", "0.5000", "Adelie", "train"],
                 ["b", "Adelie", "Gentoo", "Adelie", "0.0000", "Adelie", "eval"],
                 ["f", "Adelie", "Chinstrap", "Adelie", "0.3333", "Adelie", "train"],
                 ["g", "Gentoo", "Adelie", "Gentoo", "0.6667", "Gentoo", "train"]]
CONFLICTS = [["group_id", "example_id", "label", "split", "site", "bill_length_mm"],
             ["1", "a", "Adelie", "train", "Biscoe", "39.1"],
             ["1", "c", "Chinstrap", "eval", "Dream", "39.2"],
             ["1", "e", "Adelie", "train", "Biscoe", "39.1"]]
ISSUES = [[*ISSUE_COLUMNS, "site"],
          ["b", "Adelie", "Gentoo", "0.0100", "Torgersen"],
          ["d", "Gentoo", "Adelie", "0.0500", "Biscoe"],
          ["a", "Adelie", "Gentoo", "0.1000", "Biscoe"],
          ["c", "Chinstrap", "Adelie", "0.2000", "Dream"]]


def artifact(kind, folder, file_name, rows):
    a = kind()
    a.uri = str(folder)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, file_name), "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return a


def run_queue(tmp_path, max_rows=DEFAULT_MAX_ROWS, **inputs):
    output = LabelReviewQueue()
    output.uri = str(tmp_path / "queue")
    context = Executor.Context(beam_pipeline_args=LOCAL_BEAM_ARGS, tmp_dir=str(tmp_path / "tmp"),
                               unique_id="review_queue_test")
    Executor(context).Do({key: [value] for key, value in inputs.items()}, {"review_queue": [output]},
                         {"id_column": "example_id", "labeler_columns": json.dumps(LABELERS),
                          "metadata_columns": json.dumps(["site"]), "max_rows": max_rows})
    with open(os.path.join(output.uri, QUEUE_FILE)) as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(output.uri, SUMMARY_FILE)) as f:
        return output, rows, json.load(f)


def all_inputs(tmp_path):
    return {"label_consistency": artifact(LabelConsistencyReport, tmp_path / "lc", "disagreements.csv", DISAGREEMENTS),
            "conflicts": artifact(LabelConflicts, tmp_path / "cf", "conflicts.csv", CONFLICTS),
            "label_issues": artifact(LabelIssues, tmp_path / "le", "label_issues.csv", ISSUES)}


def test_queue_deduplicates_and_ranks(tmp_path):
    output, rows, summary = run_queue(tmp_path, **all_inputs(tmp_path))
    # a: 3 signals; b, c: 2 (lower quality first); then one signal: d (quality 0.05), f and g (by agreement),
    # e (no score, no agreement).
    assert [r["example_id"] for r in rows] == ["a", "b", "c", "d", "f", "g", "e"]
    assert [r["priority"] for r in rows] == [str(i) for i in range(1, 8)]
    assert [r["signals"] for r in rows] == ["3", "2", "2", "1", "1", "1", "1"]
    a = rows[0]
    assert a["finders"] == "label_consistency,conflicts,label_errors"
    assert a["given_label"] == "Adelie" and a["suggested_label"] == "Chinstrap"  # the labelers' consensus wins
    assert "labelers disagree (labeler_a=Chinstrap, labeler_b=Chinstrap" in a["reasons"]
    assert "X->y conflict: near-identical to c (Chinstrap) (group 1)" in a["reasons"]
    assert "likely label error (label quality 0.100" in a["reasons"]
    assert (a["quality_score"], a["labeler_agreement"], a["split"], a["site"]) == ("0.1000", "0.5000", "train",
                                                                                   "Biscoe")
    by_id = {r["example_id"]: r for r in rows}
    assert by_id["b"]["suggested_label"] == "Gentoo"  # consensus equals the given label: the model's suggestion
    assert by_id["e"]["suggested_label"] == "" and by_id["e"]["reasons"].startswith("X->y conflict")
    assert all(r["corrected_label"] == r["reviewer"] == r["reason"] == "" for r in rows)
    assert summary["rows"] == 7
    assert summary["rows_per_finder"] == {"label_consistency": 4, "conflicts": 3, "label_errors": 4}
    assert summary["rows_by_number_of_signals"] == {"3": 1, "2": 2, "1": 4}
    assert output.get_int_custom_property("rows_with_several_signals") == 3


def test_filled_in_queue_is_a_corrections_file(tmp_path):
    output, rows, _ = run_queue(tmp_path, **all_inputs(tmp_path))
    rows[0].update(corrected_label="Chinstrap", reviewer="maria", reason="bill shape")
    path = os.path.join(output.uri, QUEUE_FILE)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(path) as f:
        corrections, skipped, _ = parse_corrections(path, f.read())
    assert list(corrections) == ["a"] and corrections["a"].label == "Chinstrap"
    assert skipped == 6


def test_any_subset_of_finders(tmp_path):
    inputs = all_inputs(tmp_path)
    _, rows, summary = run_queue(tmp_path, conflicts=inputs["conflicts"])
    assert [r["example_id"] for r in rows] == ["a", "c", "e"]
    assert summary["sources"] == {"conflicts": {"uri": inputs["conflicts"].uri, "rows": 3}}
    _, rows, _ = run_queue(tmp_path, label_consistency=inputs["label_consistency"],
                           label_issues=inputs["label_issues"])
    assert [r["example_id"] for r in rows] == ["b", "a", "d", "c", "f", "g"]


def test_capped_queue_is_the_head_of_the_full_one(tmp_path):
    """The cap cuts across examples merged from several finders (a, b, c) and examples one finder flagged (d, f)."""
    _, full, _ = run_queue(tmp_path / "full", **all_inputs(tmp_path))
    _, rows, summary = run_queue(tmp_path / "capped", max_rows=5, **all_inputs(tmp_path))
    assert rows == full[:5] and [r["example_id"] for r in rows] == ["a", "b", "c", "d", "f"]
    assert (summary["rows"], summary["rows_flagged"], summary["rows_left_out"]) == (5, 7, 2)
    assert summary["rows_per_finder"] == {"label_consistency": 4, "conflicts": 3, "label_errors": 4}
    assert not list((tmp_path / "capped" / "tmp").rglob("ranked-lines*"))  # the keyed lines and runs are deleted


def test_example_twice_in_one_file(tmp_path):
    """A finder file naming an example twice: one queue row, the later row's reason and numbers, as for the rows of
    several finders."""
    again = ["b", "Gentoo", "Gentoo", "Gentoo", "0.2500", "Adelie", "eval"]
    inputs = {"label_consistency": artifact(LabelConsistencyReport, tmp_path / "lc", "disagreements.csv",
                                            DISAGREEMENTS + [again])}
    _, rows, summary = run_queue(tmp_path, **inputs)
    assert [r["example_id"] for r in rows] == ["b", "f", "a", "g"]  # by agreement: b's is 0.25 now
    b = rows[0]
    assert (b["labeler_agreement"], b["suggested_label"], b["signals"]) == ("0.2500", "Gentoo", "1")
    assert b["reasons"] == "labelers disagree (labeler_a=Gentoo, labeler_b=Gentoo, agreement 0.25, consensus Gentoo)"
    assert summary["rows_per_finder"] == {"label_consistency": 4}
    assert summary["sources"]["label_consistency"]["rows"] == 5


@pytest.mark.parametrize("max_rows", [DEFAULT_MAX_ROWS, 150], ids=["full", "capped"])
def test_ranking_merged_in_many_passes_is_the_in_memory_sort(tmp_path, monkeypatch, max_rows):
    """2,000 examples' synthetic finder files (benchmarks/review_queue/data.py), ranked in runs of 7 rows merged at
    most 3 at a time (many passes through intermediate runs, each cut to max_rows): review_queue.csv is byte for
    byte the file of one in-memory sort (the default run size holds all these rows), in build_queue's order."""
    folders = data.write_finder_outputs(str(tmp_path / "finders"), 2_000)
    one_sort = data.run_queue(folders, str(tmp_path / "one-sort"), LOCAL_BEAM_ARGS, max_rows)
    merges = []
    merge_runs = sorted_text._merge_runs

    def counted_merge(runs, merged, max_lines):
        merges.append(len(runs))
        merge_runs(runs, merged, max_lines)

    monkeypatch.setattr(sorted_text, "_merge_runs", counted_merge)
    monkeypatch.setattr(executor, "write_sorted", functools.partial(sorted_text.write_sorted, run_lines=7, fan_in=3))
    merged = data.run_queue(folders, str(tmp_path / "merged"), LOCAL_BEAM_ARGS, max_rows)
    assert len(merges) > 100 and max(merges) == 3
    with open(os.path.join(one_sort.uri, QUEUE_FILE), "rb") as f, open(os.path.join(merged.uri, QUEUE_FILE), "rb") as g:
        expected, got = f.read(), g.read()
    assert got == expected
    expected_ids = [r["example_id"] for r in build_queue(data.read_finder_rows(folders), labeler_columns=data.LABELERS,
                                                         metadata_columns=data.METADATA)][:max_rows]
    rows = list(csv.DictReader(got.decode().splitlines(keepends=True)))
    assert [r["example_id"] for r in rows] == expected_ids and len(rows) > 100
