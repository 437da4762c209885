"""Synthetic finder outputs for ReviewQueue at scale, laid out as the finders write them (their contracts' file
names and columns, cells through components/safe_text.py), shared by the benchmark (run.py) and the scale test
(components/review_queue/scale_test.py).

Of `examples` ids: about 60% in disagreements.csv (in shuffled order, as WriteToText leaves it), 40% in
label_issues.csv, 30% in conflicts.csv (groups of 2 to 8 and one group of 40, so a reason lists "and N more") and 5%
in weak_slice_examples.csv. Agreements and quality scores take few values, so the ranking's later keys and the id
tie-break decide often. Metadata cells hold commas, quotes, newlines, formula-like starts and, every 997th row, a
3,000-character text.
"""
import csv
import json
import os

import numpy as np

from components.conflicts.contract import CONFLICTS_FILE
from components.error_analysis.contract import REVIEW_COLUMNS, REVIEW_FILE
from components.label_consistency.contract import DISAGREEMENTS_FILE
from components.label_errors.contract import ISSUE_COLUMNS, ISSUES_FILE
from components.safe_text import restore_cell, spreadsheet_row

LABELS = np.array(["Adelie", "Chinstrap", "Gentoo"])
LABELERS = ["labeler_a", "labeler_b", "labeler_c"]
METADATA = ["site", "season"]
SITES = np.array(["Biscoe", "Dream, north", 'Torgersen "T"', "line\nbreak", "=HYPERLINK(\"x\")", "-"])


def _write(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(spreadsheet_row(row) for row in rows)


def _site(rng, i):
    return "long " * 600 if i % 997 == 0 else str(rng.choice(SITES))


def write_finder_outputs(root, examples, seed=0):
    """Writes the four finders' files under root/<finder>/; returns {input key: folder}."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"e{i:07d}" for i in range(examples)])
    given = rng.integers(0, 3, examples)
    folders = {key: os.path.join(root, key)
               for key in ("label_consistency", "conflicts", "label_issues", "error_analysis")}

    chosen = rng.permutation(np.flatnonzero(rng.random(examples) < 0.6))
    rows = []
    for i in chosen:
        votes = rng.integers(0, 3, len(LABELERS))
        consensus = LABELS[np.bincount(votes, minlength=3).argmax()]
        rows.append([ids[i], *LABELS[votes], consensus, f"{rng.choice([0.0, 1 / 3, 2 / 3]):.4f}", LABELS[given[i]],
                     rng.choice(["train", "eval"])])
    _write(os.path.join(folders["label_consistency"], DISAGREEMENTS_FILE),
           ["example_id", *LABELERS, "consensus", "agreement", "label", "split"], rows)

    in_conflict = np.flatnonzero(rng.random(examples) < 0.3)
    rows, start, group = [], 0, 0
    while start < len(in_conflict):
        size = 40 if group == 0 else int(rng.integers(2, 9))
        group += 1
        members = sorted(in_conflict[start:start + size], key=lambda i: ids[i])
        start += size
        for i in members:
            rows.append([group, ids[i], LABELS[given[i]], rng.choice(["train", "eval"]), _site(rng, i),
                         f"{2007 + i % 3}-{8 + i % 3:02d}", f"{rng.normal(45, 3):.1f}"])
    _write(os.path.join(folders["conflicts"], CONFLICTS_FILE),
           ["group_id", "example_id", "label", "split", *METADATA, "bill_length_mm"], rows)

    rows = []
    for i in np.flatnonzero(rng.random(examples) < 0.4):
        rows.append([ids[i], LABELS[given[i]], LABELS[(given[i] + 1) % 3], f"{rng.integers(0, 500) / 1000:.4f}",
                     _site(rng, i), ""])
    rows.sort(key=lambda row: row[3])  # worst first, as LabelErrors writes it
    _write(os.path.join(folders["label_issues"], ISSUES_FILE), [*ISSUE_COLUMNS, *METADATA], rows)

    rows = [[ids[i], LABELS[given[i]], LABELS[(given[i] + 2) % 3], "site=Dream", "ambiguous labels", "eval"]
            for i in np.flatnonzero(rng.random(examples) < 0.05)]
    _write(os.path.join(folders["error_analysis"], REVIEW_FILE), REVIEW_COLUMNS, rows)
    return folders


def read_finder_rows(folders):
    """{finder: its file's rows (csv.DictReader dicts, cells restored)} of the finder outputs `folders`, as
    queue.build_queue takes them."""
    from components.review_queue.executor import FINDER_OF_INPUT, INPUT_FILES

    csv.field_size_limit(1 << 30)
    rows = {}
    for key, folder in folders.items():
        with open(os.path.join(folder, INPUT_FILES[key]), newline="") as f:
            rows[FINDER_OF_INPUT[key]] = [{k: restore_cell(v) for k, v in row.items()} for row in csv.DictReader(f)]
    return rows


def run_queue(folders, out, beam_pipeline_args, max_rows, inputs=None):
    """Runs the ReviewQueue executor on the finder outputs `folders` (all, or the input keys in `inputs`); returns
    its output artifact (review_queue.csv and summary.json under `out`)."""
    from components.conflicts.component import LabelConflicts
    from components.error_analysis.component import ErrorAnalysisResult
    from components.label_consistency.component import LabelConsistencyReport
    from components.label_errors.component import LabelIssues
    from components.review_queue.component import LabelReviewQueue
    from components.review_queue.executor import Executor

    kinds = {"label_consistency": LabelConsistencyReport, "conflicts": LabelConflicts, "label_issues": LabelIssues,
             "error_analysis": ErrorAnalysisResult}
    given = {}
    for key in inputs or folders:
        given[key] = kinds[key]()
        given[key].uri = folders[key]
    output = LabelReviewQueue()
    output.uri = os.path.join(out, "queue")
    context = Executor.Context(beam_pipeline_args=beam_pipeline_args, tmp_dir=os.path.join(out, "tmp"),
                               unique_id="review_queue")
    Executor(context).Do({key: [a] for key, a in given.items()}, {"review_queue": [output]},
                         {"id_column": "example_id", "labeler_columns": json.dumps(LABELERS),
                          "metadata_columns": json.dumps(METADATA), "max_rows": max_rows})
    return output
