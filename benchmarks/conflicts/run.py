"""Conflicts at scale: synthetic rows with planted near-duplicate conflicts; prints time, peak memory and what was
found.

    python benchmarks/conflicts/run.py [--rows 20000] [--planted 50] [--copies 0] [--mode in_memory]

Rows: 4 numeric columns (one decimal place, like the demo's measurements) and one categorical column, 3 labels.
Planted: copies of random rows with one column moved by 0.1 (within the default tolerance) and another label, plus
as many copies moved by 0.2 (outside it). Chance near-duplicates are possible and reported separately.
Copies: that many exact copies of the first row (same label, new ids) and one row 0.05 away with another label, so
one grid cell holds them all and they form one more group (copies + the first row + that row).
The rows are written as an Examples artifact by the shared shard writer (benchmarks/synthetic_examples.py), with
their schema, then the Conflicts executor runs on them with the local Beam runner in `--mode`; the memory is the peak
RSS of the whole process tree (benchmarks/peak_memory.py).
"""
import argparse
import csv
import json
import os
import sys
import tempfile

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from benchmarks.peak_memory import PeakMemory  # noqa: E402
from benchmarks.synthetic_examples import write_examples_artifact, write_schema_artifact  # noqa: E402
from components.conflicts.component import LabelConflicts  # noqa: E402
from components.conflicts.executor import CONFLICTS_FILE, SUMMARY_FILE, Executor  # noqa: E402
from pipeline.configs import Config  # noqa: E402
from pipeline.local_runner import beam_args  # noqa: E402

LABELS = np.array(["a", "b", "c"])


def make_rows(n, planted, copies, rng):
    """(columns as numpy arrays, the planted groups within tolerance as frozensets of ids)."""
    ids = np.char.add("r", np.char.zfill(np.arange(n).astype(str), 7)).astype(object)
    labels = rng.integers(0, 3, n)
    x = np.round(rng.normal(50, 10, (n, 4)), 1)
    colour = rng.choice(np.array(["red", "blue"], dtype=object), n)
    chosen = rng.choice(n, size=2 * planted, replace=False)
    extra_ids, expected = [], set()
    extra_x = x[chosen].copy()
    for k, i in enumerate(chosen):
        inside = k < planted
        extra_x[k, k % 4] = round(extra_x[k, k % 4] + (0.1 if inside else 0.2), 1)
        extra_ids.append(f"{'in' if inside else 'out'}{k:05d}")
        if inside:
            expected.add(frozenset((ids[i], extra_ids[-1])))
    ids = np.concatenate([ids, np.array(extra_ids, dtype=object)])
    labels = np.concatenate([labels, (labels[chosen] + 1) % 3])
    x = np.concatenate([x, extra_x])
    colour = np.concatenate([colour, colour[chosen]])
    if copies:
        copy_ids = [f"copy{k:07d}" for k in range(copies)]
        near = x[0].copy()
        near[0] = round(near[0] + 0.05, 2)
        ids = np.concatenate([ids, np.array(copy_ids + ["near"], dtype=object)])
        labels = np.concatenate([labels, np.full(copies, labels[0]), [(labels[0] + 1) % 3]])
        x = np.concatenate([x, np.repeat(x[:1], copies, axis=0), near[None]])
        colour = np.concatenate([colour, np.repeat(colour[:1], copies + 1)])
        expected.add(frozenset([ids[0], "near"] + copy_ids))
    columns = {"example_id": ids.astype("S"), "label": LABELS[labels].astype("S"), "colour": colour.astype("S"),
               **{f"x{j}": x[:, j].astype(np.float32) for j in range(4)}}
    return columns, expected


def _lists(values):
    return pa.ListArray.from_arrays(pa.array(np.arange(len(values) + 1, dtype=np.int32)), pa.array(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--planted", type=int, default=50)
    parser.add_argument("--copies", type=int, default=0)
    parser.add_argument("--mode", default="in_memory", choices=["in_memory", "multi_processing"])
    args = parser.parse_args()
    config = Config()
    config.pipeline.beam_mode = args.mode
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        columns, expected = make_rows(args.rows, args.planted, args.copies, rng)
        batch = pa.RecordBatch.from_arrays([_lists(v) for v in columns.values()], list(columns))
        examples = write_examples_artifact(os.path.join(tmp, "examples"), batch)
        schema = write_schema_artifact(os.path.join(tmp, "schema"), batch)
        total = batch.num_rows
        del columns, batch
        output = LabelConflicts()
        output.uri = os.path.join(tmp, "conflicts")
        with PeakMemory() as peak:
            Executor(Executor.Context(beam_pipeline_args=beam_args(config), tmp_dir=os.path.join(tmp, "tmp"))).Do(
                {"examples": [examples], "schema": [schema]}, {"conflicts": [output]},
                {"id_column": "example_id", "label_column": "label", "labeler_columns": "[]",
                 "metadata_columns": "[]", "exclude": "[]", "tolerance": 0.1, "relative": False,
                 "absolute_tolerances": "{}", "relative_tolerances": "{}"})
        with open(os.path.join(output.uri, CONFLICTS_FILE)) as f:
            found = {}
            for row in csv.DictReader(f):
                found.setdefault(row["group_id"], set()).add(row["example_id"])
        with open(os.path.join(output.uri, SUMMARY_FILE)) as f:
            summary = json.load(f)
    groups = {frozenset(g) for g in found.values()}
    planted_outside = sum(any(m.startswith("out") for m in g) for g in groups)
    print(f"examples: {total:,}  (all pairs would be {total * (total - 1) // 2:,}); Beam {args.mode}")
    print(f"Conflicts executor: {peak.describe()}")
    print(f"planted within tolerance: {len(expected)}, found as groups: {len(expected & groups)}")
    print(f"planted just outside tolerance found: {planted_outside} (expected 0)")
    print(f"other groups (chance near-duplicates): {len(groups - expected) - planted_outside}")
    print(f"summary: groups {summary['groups']}, examples in conflict {summary['examples_in_conflict']}")


if __name__ == "__main__":
    main()
