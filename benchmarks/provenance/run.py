"""Provenance's value counting at scale: the one pass over the examples that counts the label and metadata values
(the split copy and the input fingerprint are file copies and hashes, not measured here).

    python benchmarks/provenance/run.py [--rows 200000] [--mode in_memory] [--splits 2]

Rows: a unique id, a label (3 classes, 5% missing), two metadata columns (`site`, `season`), four float32
measurements and a categorical feature, written as an Examples artifact by the shared shard writer
(benchmarks/synthetic_examples.py). Counted: the label, site, season and the id (an id-like metadata column: one
distinct value per example, trimmed to the most frequent). `--splits 2` adds an 'eval' split holding a copy of the
train split's files (so the splits' counts must be merged; each id then occurs twice). Prints time, CPU seconds and peak memory of the whole
process tree (benchmarks/peak_memory.py) and the counts found.
"""
import argparse
import os
import shutil
import sys
import tempfile

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from benchmarks.peak_memory import PeakMemory  # noqa: E402
from benchmarks.synthetic_examples import write_examples_artifact  # noqa: E402
from components.provenance.executor import Executor  # noqa: E402
from pipeline.configs import Config  # noqa: E402
from pipeline.local_runner import beam_args  # noqa: E402
from tfx.types import artifact_utils  # noqa: E402


def make_batch(n, rng):
    labels = np.array([b"Adelie", b"Chinstrap", b"Gentoo"])[rng.integers(0, 3, n)].tolist()
    columns = {
        "example_id": [[f"r{i:08d}".encode()] for i in range(n)],
        "species": [None if missing else [label] for label, missing in zip(labels, rng.random(n) < 0.05)],
        "site": [[s] for s in np.array([b"Biscoe", b"Dream", b"Torgersen"])[rng.integers(0, 3, n)].tolist()],
        "season": [[s] for s in np.array([b"2007-08", b"2008-09"])[rng.integers(0, 2, n)].tolist()],
        "sex": [[s] for s in np.array([b"male", b"female"])[rng.integers(0, 2, n)].tolist()],
        **{f"x{j}": [[v] for v in np.round(rng.normal(50, 10, n), 1).astype(np.float32).tolist()] for j in range(4)},
    }
    return pa.RecordBatch.from_arrays(
        [pa.array(v, pa.list_(pa.float32() if k.startswith("x") else pa.binary())) for k, v in columns.items()],
        list(columns))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--mode", default="in_memory", choices=["in_memory", "multi_processing"])
    parser.add_argument("--columns", nargs="+", default=["species", "site", "season", "example_id"],
                        help="columns counted (x0..x3: about 750 distinct values each)")
    parser.add_argument("--splits", type=int, default=1, choices=[1, 2], help="2: an 'eval' copy of the train split")
    args = parser.parse_args()
    config = Config()
    config.pipeline.beam_mode = args.mode
    with tempfile.TemporaryDirectory() as tmp:
        batch = make_batch(args.rows, np.random.default_rng(0))
        examples = write_examples_artifact(os.path.join(tmp, "examples"), batch)
        del batch
        splits = ["train", "eval"][:args.splits]
        if args.splits == 2:
            shutil.copytree(os.path.join(examples.uri, "Split-train"), os.path.join(examples.uri, "Split-eval"))
            examples.split_names = artifact_utils.encode_split_names(splits)
        executor = Executor(Executor.Context(beam_pipeline_args=beam_args(config), tmp_dir=os.path.join(tmp, "tmp"),
                                             unique_id="benchmark"))
        with PeakMemory() as peak:
            per_split, counts = executor._count_values(examples, splits, args.columns)
    print(f"examples: {args.rows:,} per split, splits {splits}; Beam {args.mode}")
    print(f"Provenance value counting: {peak.describe()}")
    print(f"per split: {per_split}")
    for column, (pairs, distinct) in sorted(counts.items()):
        print(f"{column}: {distinct:,} distinct; most frequent {pairs[:3]}")


if __name__ == "__main__":
    main()
