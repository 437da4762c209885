"""Benchmark: LabelConsistency's Beam pipeline against StatisticsGen on the same Examples.

    python -m benchmarks.label_consistency [--examples 1000000] [--out DIR] [--mode in_memory] [--method majority]
        [--skip-statistics] [--long-form]

Writes N synthetic examples (3 labelers with missing labels and class-dependent confusions, the label, two numeric
features) as an Examples artifact, runs the stock StatisticsGen executor (TFDV GenerateStatistics) and the
LabelConsistency executor on it with the local Beam runner (in `--mode`), and prints both wall times and the peak
resident memory of the whole process tree (benchmarks/peak_memory.py). Goal: LabelConsistency is no slower than
StatisticsGen. `--long-form` gives the labelers' labels as a long-form CSV instead (example_id, labeler_id, label:
one row per example and labeler who labeled it, about 2.7 per example, in a shuffled order), joined on the id.
"""
import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import tensorflow_data_validation as tfdv  # noqa: E402
from tensorflow_metadata.proto.v0 import schema_pb2  # noqa: E402
from tfx.components.statistics_gen import executor as statistics_executor  # noqa: E402
from tfx.types import standard_artifacts  # noqa: E402
from tfx.utils import json_utils  # noqa: E402

from benchmarks.peak_memory import PeakMemory  # noqa: E402
from benchmarks.synthetic_examples import output, write_examples_artifact  # noqa: E402
from components.label_consistency import executor  # noqa: E402
from components.label_consistency.component import LabelConsistencyReport  # noqa: E402
from pipeline.configs import Config  # noqa: E402
from pipeline.local_runner import beam_args  # noqa: E402

CLASSES = np.array([b"Adelie", b"Chinstrap", b"Gentoo"])
LABELERS = ["labeler_a", "labeler_b", "labeler_c"]


def write_examples(n, uri, shards=4, seed=0):
    """An Examples artifact with one split, 'train', of n examples in `shards` gzipped TFRecord files; serialized
    by tfx_bsl's C++ encoder from Arrow columns (a missing label is an empty list)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    columns = {"example_id": _lists(np.char.add(b"ex-", np.arange(n).astype("S8"))),
               "species": _lists(CLASSES[truth]),
               "bill_length_mm": _lists(rng.normal(44, 5, n).astype(np.float32)),
               "body_mass_g": _lists(rng.normal(4200, 800, n).astype(np.float32))}
    for name, accuracy, coverage in zip(LABELERS, (0.95, 0.8, 0.85), (0.9, 1.0, 0.8)):
        drawn = np.where(rng.random(n) < accuracy, truth, rng.integers(0, 3, n))
        columns[name] = _lists(CLASSES[drawn], present=rng.random(n) < coverage)
    batch = pa.RecordBatch.from_arrays(list(columns.values()), list(columns))
    return write_examples_artifact(uri, batch, shards), batch


def write_long_form(examples, path, seed=1):
    """The labeler columns of `examples` (the record batch `write_examples` wrote) as a long-form CSV, rows
    shuffled; returns the number of rows."""
    ids = np.asarray(examples.column("example_id").flatten().to_pylist(), object)
    parts = []
    for labeler in LABELERS:
        column = examples.column(labeler)
        present = np.asarray(column.value_lengths().fill_null(0)) > 0
        labels = np.asarray(column.flatten().to_pylist(), object)
        parts.append(np.stack([ids[present], np.full(present.sum(), labeler, object), labels], axis=1))
    rows = np.concatenate(parts)
    rows = rows[np.random.default_rng(seed).permutation(len(rows))]
    with open(path, "w") as f:
        f.write("example_id,labeler_id,label\n")
        f.writelines(f"{i.decode()},{labeler},{label.decode()}\n" for i, labeler, label in rows)
    return len(rows)


def known_schema():
    """The schema StatisticsGen + TFDV infer for these examples: the label columns with the classes as domain."""
    schema = schema_pb2.Schema()
    schema.feature.add(name="example_id", type=schema_pb2.BYTES)
    for name in ["species"] + LABELERS:
        feature = schema.feature.add(name=name, type=schema_pb2.BYTES)
        feature.string_domain.value.extend(c.decode() for c in CLASSES)
    for name in ("bill_length_mm", "body_mass_g"):
        schema.feature.add(name=name, type=schema_pb2.FLOAT)
    return schema


def _lists(values, present=None):
    """A list<...> Arrow column with one value per row, or an empty list where `present` is False."""
    present = np.ones(len(values), bool) if present is None else present
    offsets = np.concatenate([[0], np.cumsum(present)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values[present]))


def main():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.label_consistency")
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument("--out", default=None, help="working folder (default: a new temporary folder)")
    parser.add_argument("--mode", default="in_memory", choices=["in_memory", "multi_processing"])
    parser.add_argument("--method", default="majority", choices=["majority", "dawid_skene"])
    parser.add_argument("--skip-statistics", action="store_true",
                        help="write the known schema instead of running StatisticsGen (no ratio printed)")
    parser.add_argument("--long-form", action="store_true",
                        help="the labelers' labels from a long-form CSV joined on the id, not from the columns")
    args = parser.parse_args()
    config = Config()
    config.pipeline.beam_mode = args.mode
    beam_pipeline_args = beam_args(config)  # the local run's arguments, as in the pipeline
    root = args.out or tempfile.mkdtemp(prefix="bench_label_consistency_")

    start = time.monotonic()
    examples, batch = write_examples(args.examples, os.path.join(root, "examples"))
    print(f"wrote {args.examples:,} examples x {len(LABELERS)} labelers in {time.monotonic() - start:.1f} s "
          f"({root})", flush=True)
    long_form = ""
    if args.long_form:
        long_form = os.path.join(root, "labels_long.csv")
        print(f"wrote {write_long_form(batch, long_form):,} long-form label rows", flush=True)
    del batch

    schema = output(standard_artifacts.Schema, root, "schema")
    stats_seconds = None
    if args.skip_statistics:
        tfdv.write_schema_text(known_schema(), os.path.join(schema.uri, "schema.pbtxt"))
    else:
        statistics = output(standard_artifacts.ExampleStatistics, root, "statistics")
        start, cpu = time.monotonic(), time.process_time()
        statistics_executor.Executor(statistics_executor.Executor.Context(
            beam_pipeline_args=beam_pipeline_args)).Do(
                {"examples": [examples]}, {"statistics": [statistics]}, {"exclude_splits": "[]"})
        stats_seconds, stats_cpu = time.monotonic() - start, time.process_time() - cpu
        print(f"StatisticsGen (TFDV GenerateStatistics): {stats_seconds:.1f} s", flush=True)
        stats = tfdv.load_stats_binary(os.path.join(statistics.uri, "Split-train", "FeatureStats.pb"))
        tfdv.write_schema_text(tfdv.infer_schema(stats), os.path.join(schema.uri, "schema.pbtxt"))

    outputs = {"label_consistency": output(LabelConsistencyReport, root, "label_consistency"),
               "consensus_examples": output(standard_artifacts.Examples, root, "consensus_examples"),
               "consensus_schema": output(standard_artifacts.Schema, root, "consensus_schema")}
    props = {"labeler_columns": json_utils.dumps(LABELERS), "label_column": "species", "id_column": "example_id",
             "long_form_file": long_form, "min_agreement": 0.0, "min_class_agreement": 0.0, "on_low_agreement": "warn",
             "consensus_method": args.method}
    start, cpu = time.monotonic(), time.process_time()
    with PeakMemory() as peak:
        executor.Executor(executor.Executor.Context(beam_pipeline_args=beam_pipeline_args,
                                                   tmp_dir=os.path.join(root, "tmp"), unique_id="benchmark")).Do(
            {"examples": [examples], "schema": [schema]}, {k: [v] for k, v in outputs.items()}, props)
    consistency_seconds, consistency_cpu = time.monotonic() - start, time.process_time() - cpu
    print(f"\n{args.examples:,} examples, Beam FnApiRunner {args.mode}, consensus {args.method}:")
    print(f"  LabelConsistency: {peak.describe()}; CPU time of this process {consistency_cpu:.1f} s")
    if stats_seconds is not None:
        print(f"  StatisticsGen:    {stats_seconds:8.1f} s  ({args.examples / stats_seconds:,.0f} examples/s)")
        print(f"  LabelConsistency: {consistency_seconds:8.1f} s  ({args.examples / consistency_seconds:,.0f} "
              f"examples/s)  ratio {consistency_seconds / stats_seconds:.2f}")
        # CPU time of this process (the in_memory runner works in it): a fairer comparison on a loaded machine.
        print(f"  CPU time: StatisticsGen {stats_cpu:.1f} s, LabelConsistency {consistency_cpu:.1f} s, "
              f"ratio {consistency_cpu / stats_cpu:.2f}")


if __name__ == "__main__":
    main()
