"""Conflicts at scale: synthetic rows with planted near-duplicate conflicts; prints time and what was found.

    python benchmarks/conflicts/run.py [--rows 20000] [--planted 50] [--copies 0]

Rows: 4 numeric columns (one decimal place, like the demo's measurements) and one categorical column, 3 labels.
Planted: copies of random rows with one column moved by 0.1 (within the default tolerance) and another label, plus
as many copies moved by 0.2 (outside it). Chance near-duplicates are possible and reported separately.
Copies: that many exact copies of the first row (same label, new ids) and one row 0.05 away with another label, so
one grid cell holds them all and they form one more group (copies + the first row + that row).
"""
import argparse
import csv
import json
import os
import tempfile
import time

import numpy as np

from components.conflicts.component import LabelConflicts
from components.conflicts.executor import CONFLICTS_FILE, SUMMARY_FILE, Executor
from tests.artifacts import LOCAL_BEAM_ARGS, examples_from_csv

LABELS = ["a", "b", "c"]


def write_rows(path, n, planted, copies, rng):
    header = ["example_id", "label", "x0", "x1", "x2", "x3", "colour"]
    rows = [[f"r{i:07d}", rng.choice(LABELS), *np.round(rng.normal(50, 10, 4), 1), rng.choice(["red", "blue"])]
            for i in range(n)]
    expected = set()
    for k, i in enumerate(rng.choice(n, size=2 * planted, replace=False)):
        copy = list(rows[i])
        column = 2 + k % 4
        inside = k < planted
        copy[column] = round(copy[column] + (0.1 if inside else 0.2), 1)
        copy[0] = f"{'in' if inside else 'out'}{k:05d}"
        copy[1] = LABELS[(LABELS.index(copy[1]) + 1) % 3]
        rows.append(copy)
        if inside:
            expected.add(frozenset((rows[i][0], copy[0])))
    if copies:
        first = rows[0]
        rows += [[f"copy{k:07d}", *first[1:]] for k in range(copies)]
        rows.append(["near", LABELS[(LABELS.index(first[1]) + 1) % 3], round(first[2] + 0.05, 2), *first[3:]])
        expected.add(frozenset([first[0], "near"] + [f"copy{k:07d}" for k in range(copies)]))
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header] + rows)
    return expected


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--planted", type=int, default=50)
    parser.add_argument("--copies", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "csv"))
        expected = write_rows(os.path.join(tmp, "csv", "rows.csv"), args.rows, args.planted, args.copies, rng)
        examples = examples_from_csv(os.path.join(tmp, "csv"), os.path.join(tmp, "examples"), "example_id")
        output = LabelConflicts()
        output.uri = os.path.join(tmp, "conflicts")
        start = time.perf_counter()
        Executor(Executor.Context(beam_pipeline_args=LOCAL_BEAM_ARGS)).Do(
            {"examples": [examples]}, {"conflicts": [output]},
            {"id_column": "example_id", "label_column": "label", "labeler_columns": "[]", "metadata_columns": "[]",
             "exclude": "[]", "tolerance": 0.1, "relative": False, "absolute_tolerances": "{}",
             "relative_tolerances": "{}"})
        seconds = time.perf_counter() - start
        with open(os.path.join(output.uri, CONFLICTS_FILE)) as f:
            found = {}
            for row in csv.DictReader(f):
                found.setdefault(row["group_id"], set()).add(row["example_id"])
        with open(os.path.join(output.uri, SUMMARY_FILE)) as f:
            summary = json.load(f)
    groups = {frozenset(g) for g in found.values()}
    planted_outside = sum(any(m.startswith("out") for m in g) for g in groups)
    total = args.rows + 2 * args.planted + (args.copies + 1 if args.copies else 0)
    print(f"examples: {total}  (all pairs would be {total * (total - 1) // 2:,})")
    print(f"Conflicts executor: {seconds:.1f} s")
    print(f"planted within tolerance: {len(expected)}, found as groups: {len(expected & groups)}")
    print(f"planted just outside tolerance found: {planted_outside} (expected 0)")
    print(f"other groups (chance near-duplicates): {len(groups - expected) - planted_outside}")
    print(f"summary: groups {summary['groups']}, examples in conflict {summary['examples_in_conflict']}")


if __name__ == "__main__":
    main()
