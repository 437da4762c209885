"""Benchmark: the Drift component against StatisticsGen on the same spans.

    python -m benchmarks.drift [--rows 1000000] [--out DIR]

Writes two spans of N rows x 10 columns (6 numeric, 4 categorical; the second span with a 0.2-standard-deviation
shift in one numeric column and a changed mix in one categorical column) as gzipped TFRecord Examples artifacts,
runs the stock StatisticsGen executor (TFDV GenerateStatistics) on each with the local run's Beam arguments, then the
Drift executor on the two statistics, and prints the wall times. The drift step of the pipeline costs one more
ExampleGen and StatisticsGen (the baseline span's, cached after its first run) plus the comparison timed here.
"""
import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
from tfx.components.statistics_gen import executor as statistics_executor  # noqa: E402
from tfx.types import standard_artifacts  # noqa: E402

from benchmarks.synthetic_examples import output, write_examples_artifact  # noqa: E402
from components.drift import component  # noqa: E402
from components.drift.executor import Executor as DriftExecutor  # noqa: E402
from components.drift.measures import DriftThresholds  # noqa: E402
from pipeline.configs import Config  # noqa: E402
from pipeline.local_runner import beam_args  # noqa: E402

BEAM_ARGS = beam_args(Config())
NUMERIC = [f"x{i}" for i in range(6)]
CATEGORICAL = [f"c{i}" for i in range(4)]
SHIFT_SD = 0.2


def span_columns(rng, n, shifted):
    columns = {name: rng.normal(SHIFT_SD if shifted and name == "x0" else 0.0, 1.0, n).astype(np.float32)
               for name in NUMERIC}
    for name in CATEGORICAL:
        mix = [0.3, 0.3, 0.4] if shifted and name == "c0" else [0.4, 0.3, 0.3]
        columns[name] = np.array([b"a", b"b", b"c"])[rng.choice(3, size=n, p=mix)]
    return columns


def write_examples(uri, span, columns, shards=4):
    """An Examples artifact of `span` with one split, 'train', from equal-length numpy columns."""
    n = len(next(iter(columns.values())))
    offsets = pa.array(np.arange(n + 1, dtype=np.int32))
    batch = pa.RecordBatch.from_arrays([pa.ListArray.from_arrays(offsets, pa.array(v)) for v in columns.values()],
                                       list(columns))
    return write_examples_artifact(uri, batch, shards, span=span)


def statistics_gen(examples, root, name):
    statistics = output(standard_artifacts.ExampleStatistics, root, name)
    start = time.monotonic()
    statistics_executor.Executor(statistics_executor.Executor.Context(beam_pipeline_args=BEAM_ARGS)).Do(
        {"examples": [examples]}, {"statistics": [statistics]}, {"exclude_splits": "[]"})
    return statistics, time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.drift")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", default=None, help="working folder (default: a new temporary folder)")
    args = parser.parse_args()
    root = args.out or tempfile.mkdtemp(prefix="bench_drift_")
    rng = np.random.default_rng(0)

    start = time.monotonic()
    spans = [write_examples(os.path.join(root, f"span-{i}"), i, span_columns(rng, args.rows, shifted=i == 2))
             for i in (1, 2)]
    print(f"wrote 2 spans of {args.rows:,} rows x {len(NUMERIC) + len(CATEGORICAL)} columns in "
          f"{time.monotonic() - start:.1f} s ({root})", flush=True)
    baseline, baseline_seconds = statistics_gen(spans[0], root, "statistics-1")
    current, stats_seconds = statistics_gen(spans[1], root, "statistics-2")
    print(f"StatisticsGen: span 1 {baseline_seconds:.1f} s, span 2 {stats_seconds:.1f} s", flush=True)

    report = output(component.DriftReport, root, "drift")
    props = {"label_column": "", "exclude": "[]", "thresholds": json.dumps(vars(DriftThresholds())),
             "on_drift": "warn", "split": "train", "baseline_span": 1}
    start = time.monotonic()
    DriftExecutor().Do({"statistics": [current], "baseline_statistics": [baseline]}, {"drift": [report]}, props)
    drift_seconds = time.monotonic() - start
    with open(os.path.join(report.uri, component.DRIFT_FILE)) as f:
        drifted = json.load(f)["drifted_features"]
    print(f"\n{args.rows:,} rows x 10 columns per span, Beam FnApiRunner in_memory:")
    print(f"  StatisticsGen (span 2):  {stats_seconds:8.2f} s")
    print(f"  Drift (the comparison):  {drift_seconds:8.2f} s  ratio {drift_seconds / stats_seconds:.4f}")
    print(f"  drift step in a pipeline run, the baseline's statistics not cached: "
          f"{baseline_seconds + drift_seconds:.1f} s, ratio {(baseline_seconds + drift_seconds) / stats_seconds:.2f}"
          f" (plus the baseline span's ExampleGen)")
    print(f"  drifted: {', '.join(drifted) or 'none'} (planted: x0 moved {SHIFT_SD} sd, c0's mix 10 points)")


if __name__ == "__main__":
    main()
