"""Peak memory of the LabelErrors executor above [label_errors] max_fit_examples: flat in the number of examples.

    .venv/bin/python -m benchmarks.clean_vs_noisy.memory --examples 200000 [--max-fit-examples 100000]

A child process writes N synthetic examples (three Gaussian classes in four numeric features, 6% of labels flipped,
an id and two metadata strings: the demo's columns) as an Examples artifact; then this process runs the real
executor (Beam FnApiRunner, `--mode`) and prints its wall time and the peak resident memory of the process tree
(benchmarks/peak_memory.py). Run it once per size and compare the peaks.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.types import artifact_utils, standard_artifacts

from benchmarks.clean_vs_noisy.blobs import FEATURES, planted_blobs
from benchmarks.peak_memory import PeakMemory
from benchmarks.synthetic_examples import output, write_examples_artifact
from components.label_errors import executor
from components.label_errors.component import LabelIssues
from pipeline.configs import Config
from pipeline.local_runner import beam_args

TEXT = ["example_id", "species", "site", "season"]


def synthetic(n, seed=0, flip_share=0.06):
    rng, x, given, _ = planted_blobs(n, flip_share, seed)

    def listed(values, kind):
        return pa.ListArray.from_arrays(np.arange(n + 1, dtype=np.int32), pa.array(values, kind))
    columns = {"example_id": listed([f"x{i:08d}".encode() for i in range(n)], pa.binary()),
               "species": listed([v.encode() for v in given], pa.binary()),
               "site": listed(rng.choice([b"Biscoe", b"Dream", b"Torgersen"], n), pa.binary()),
               "season": listed([b"2008-09"] * n, pa.binary())}
    columns.update({name: listed(x[:, j].astype(np.float32), pa.float32()) for j, name in enumerate(FEATURES)})
    return pa.RecordBatch.from_arrays(list(columns.values()), list(columns))


def schema_artifact(root):
    schema = schema_pb2.Schema()
    for name in TEXT + FEATURES:
        schema.feature.add(name=name, type=schema_pb2.FLOAT if name in FEATURES else schema_pb2.BYTES)
    artifact = output(standard_artifacts.Schema, root, "schema")
    with open(os.path.join(artifact.uri, "schema.pbtxt"), "w") as f:
        f.write(text_format.MessageToString(schema))
    return artifact


def main():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.clean_vs_noisy.memory")
    parser.add_argument("--examples", type=int, default=200_000)
    parser.add_argument("--max-fit-examples", type=int, default=100_000)
    parser.add_argument("--mode", default="in_memory", choices=["in_memory", "multi_processing"])
    parser.add_argument("--write-to", help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = Config()
    config.pipeline.beam_mode = args.mode
    if args.write_to:  # the child process: write the data and leave (its memory is not the executor's)
        write_examples_artifact(os.path.join(args.write_to, "examples"), synthetic(args.examples))
        schema_artifact(args.write_to)
        return
    root = tempfile.mkdtemp(prefix="bench_label_errors_")
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "benchmarks.clean_vs_noisy.memory", "--examples", str(args.examples),
                    "--write-to", root], check=True)
    examples = standard_artifacts.Examples()
    examples.uri = os.path.join(root, "examples")
    examples.split_names = artifact_utils.encode_split_names(["train"])
    schema = standard_artifacts.Schema()
    schema.uri = os.path.join(root, "schema")
    print(f"wrote {args.examples:,} examples in {time.monotonic() - start:.1f} s ({root}) in a child process",
          flush=True)
    result = output(LabelIssues, root, "label_issues")
    props = {"id_column": "example_id", "label_column": "species", "features": json.dumps(FEATURES),
             "metadata_columns": json.dumps(["site", "season"]), "folds": 5, "model": "logistic_regression",
             "seed": 0, "max_fit_examples": args.max_fit_examples}
    with PeakMemory() as peak:
        executor.Executor(executor.Executor.Context(beam_pipeline_args=beam_args(config))).Do(
            {"examples": [examples], "schema": [schema]}, {"label_issues": [result]}, props)
    with open(os.path.join(result.uri, "summary.json")) as f:
        summary = json.load(f)
    print(f"\n{args.examples:,} examples, max_fit_examples {args.max_fit_examples:,}, Beam FnApiRunner {args.mode}: "
          f"{summary['counts']['label_issues']:,} flagged, estimated noise rate "
          f"{summary['estimated_noise_rate']:.3f} (6% planted)")
    print(f"  LabelErrors: {peak.describe()}")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
