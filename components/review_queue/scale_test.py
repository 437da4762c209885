"""ReviewQueue on synthetic finder outputs of 300,000 examples (benchmarks/review_queue/data.py: quoted newlines,
long cells, formula-like cells, a 40-member conflict group, many ties) through the real executor: every flagged
example ranked once, in the order the pure rule (queue.build_queue) gives; a capped run writes exactly the first
max_rows rows of the full queue, byte for byte, and counts the rest."""
import csv
import io
import json
import os

import pytest

from benchmarks.review_queue.data import LABELERS, METADATA, read_finder_rows, run_queue, write_finder_outputs
from components.review_queue.contract import QUEUE_FILE, SUMMARY_FILE
from components.review_queue.executor import FINDER_OF_INPUT
from components.review_queue.queue import build_queue
from tests.artifacts import LOCAL_BEAM_ARGS

EXAMPLES = 300_000
CAP = 1_000


def _read(output):
    with open(os.path.join(output.uri, QUEUE_FILE), "rb") as f:
        queue = f.read()
    with open(os.path.join(output.uri, SUMMARY_FILE)) as f:
        return queue, json.load(f)


@pytest.mark.slow
def test_queue_of_300k_examples(tmp_path):
    folders = write_finder_outputs(str(tmp_path / "finders"), EXAMPLES)
    finder_rows = read_finder_rows(folders)
    expected = build_queue(finder_rows, labeler_columns=LABELERS, metadata_columns=METADATA)
    assert len(expected) > 200_000

    queue, summary = _read(run_queue(folders, str(tmp_path / "full"), LOCAL_BEAM_ARGS, max_rows=len(expected)))
    rows = list(csv.DictReader(io.StringIO(queue.decode(), newline="")))
    assert [r["example_id"] for r in rows] == [r["example_id"] for r in expected]
    assert [r["priority"] for r in rows] == [str(i) for i in range(1, len(expected) + 1)]
    for got, want in zip(rows[::997], expected[::997]):  # columns never cut for display
        assert [got[c] for c in ("given_label", "suggested_label", "signals", "finders", "quality_score",
                                 "labeler_agreement", "split")] == \
               [str(want[c]) for c in ("given_label", "suggested_label", "signals", "finders", "quality_score",
                                       "labeler_agreement", "split")]
    assert (summary["rows"], summary["rows_flagged"], summary["rows_left_out"]) == (len(expected), len(expected), 0)
    assert {key: source["rows"] for key, source in summary["sources"].items()} == \
           {key: len(finder_rows[FINDER_OF_INPUT[key]]) for key in folders}

    capped, capped_summary = _read(run_queue(folders, str(tmp_path / "capped"), LOCAL_BEAM_ARGS, max_rows=CAP))
    assert queue.startswith(capped) and len(list(csv.DictReader(io.StringIO(capped.decode(), newline="")))) == CAP
    assert (capped_summary["rows"], capped_summary["rows_flagged"], capped_summary["rows_left_out"]) == \
           (CAP, len(expected), len(expected) - CAP)
    assert capped_summary["rows_per_finder"] == summary["rows_per_finder"]  # counted over every flagged example

