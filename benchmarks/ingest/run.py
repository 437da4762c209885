"""Ingest benchmark: FastExampleGen vs stock CsvExampleGen, in both local Beam modes, against the pyarrow floor.

    .venv/bin/python benchmarks/ingest/run.py [--rows 1000000] [--modes in_memory,multi_processing] [--skip-stock]

Generates a deterministic CSV (`--rows` x 10 columns: ints, floats, strings with quoted commas, empty cells), then
times: the floor (pyarrow.csv.read_csv of the whole file + tfx_bsl RecordBatchToExamples of every row), the floor
plus writing gzipped TFRecords (what any ExampleGen must also do), and each executor with the pipeline's output
config (train:eval 4:1 hashed on the id column). Prints times, ratios, the record counts each run wrote and each
executor's peak resident memory of the whole process tree (benchmarks/peak_memory.py).
"""
import argparse
import glob
import gzip
import os
import struct
import sys
import tempfile
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402
import tensorflow as tf  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from tfx import v1 as tfx  # noqa: E402
from tfx.components.example_gen.csv_example_gen import executor as csv_executor  # noqa: E402
from tfx.types import standard_artifacts  # noqa: E402
from tfx_bsl.coders import example_coder  # noqa: E402

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
from benchmarks.peak_memory import PeakMemory  # noqa: E402
from components.fast_example_gen import executor as fast_executor  # noqa: E402
from pipeline.configs import Config, PipelineConfig  # noqa: E402
from pipeline.local_runner import beam_args as local_beam_args  # noqa: E402


def make_csv(path, rows):
    rng = np.random.default_rng(0)
    words = np.array(["alpha", "beta, gamma", "delta", "épsilon", "zeta \"z\""])
    frame = pd.DataFrame({
        "example_id": np.arange(rows),
        "f1": rng.normal(size=rows).round(4), "f2": rng.uniform(0, 100, rows).round(2),
        "f3": np.where(rng.random(rows) < 0.05, np.nan, rng.normal(size=rows).round(3)),  # 5% empty cells
        "i1": rng.integers(0, 1000, rows), "i2": rng.integers(-50, 50, rows),
        "c1": rng.choice(["a", "b", "c", "d"], rows), "c2": rng.choice(words, rows),
        "text": np.char.add("row ", np.arange(rows).astype(str)), "label": rng.choice(["yes", "no"], rows),
    })
    frame.to_csv(path, index=False)


def floor(path, write_dir=None):
    """pyarrow read + tfx_bsl encode of every row; with `write_dir`, also writes them as gzipped TFRecords."""
    table = pacsv.read_csv(path)
    columns = []
    for column in table.columns:
        column = column.combine_chunks()
        if pa.types.is_string(column.type):
            column = column.cast(pa.large_binary())
        elif pa.types.is_floating(column.type):
            column = column.cast(pa.float32())
        offsets = np.arange(len(column) + 1, dtype=np.int64)
        columns.append(pa.LargeListArray.from_arrays(pa.array(offsets), column))
    batch_table = pa.Table.from_arrays(columns, table.column_names)
    count = 0
    writer = None
    if write_dir:
        writer = tf.io.TFRecordWriter(os.path.join(write_dir, "floor.gz"), options="GZIP")
    for batch in batch_table.to_batches(max_chunksize=65536):
        records = example_coder.RecordBatchToExamples(batch)
        count += len(records)
        if writer:
            for record in records:
                writer.write(record)
    if writer:
        writer.close()
    return count


def run_executor(executor_cls, input_dir, output_dir, beam_args):
    examples = standard_artifacts.Examples()
    examples.uri = output_dir
    split_config = tfx.proto.SplitConfig(splits=[tfx.proto.SplitConfig.Split(name="train", hash_buckets=4),
                                                 tfx.proto.SplitConfig.Split(name="eval", hash_buckets=1)],
                                         partition_feature_name="example_id")
    executor_cls(executor_cls.Context(beam_pipeline_args=beam_args)).Do({}, {"examples": [examples]}, {
        "input_base": input_dir,
        "input_config": json_format.MessageToJson(tfx.proto.Input(splits=[
            tfx.proto.Input.Split(name="single_split", pattern="*.csv")])),
        "output_config": json_format.MessageToJson(tfx.proto.Output(split_config=split_config)),
    })


def count_records(output_dir):
    """Records per split, by walking the TFRecord framing (8-byte length, 4-byte CRC, data, 4-byte CRC)."""
    counts = {}
    for split_dir in sorted(glob.glob(os.path.join(output_dir, "Split-*"))):
        count = 0
        for path in glob.glob(os.path.join(split_dir, "*.gz")):
            with gzip.open(path, "rb") as f:
                data = f.read()
            pos = 0
            while pos < len(data):
                pos += 16 + struct.unpack_from("<Q", data, pos)[0]
                count += 1
        counts[os.path.basename(split_dir)] = count
    return counts


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--modes", default="in_memory,multi_processing")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-stock", action="store_true",
                        help="stock took 26 min (in_memory) and 16 min (multi_processing) at 1M rows here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ingest_bench_") as root:
        input_dir = os.path.join(root, "input")
        os.makedirs(input_dir)
        csv_path = os.path.join(input_dir, "data.csv")
        make_csv(csv_path, args.rows)
        print(f"input: {args.rows:,} rows x 10 columns, {os.path.getsize(csv_path) / 1e6:.1f} MB CSV", flush=True)

        results = []  # (name, seconds, records)
        seconds, count = timed(floor, csv_path)
        results.append(("floor: pyarrow read_csv + tfx_bsl encode", seconds, count))
        print(f"{results[-1][0]}: {seconds:.2f} s", flush=True)
        os.makedirs(os.path.join(root, "floor"))
        seconds, count = timed(floor, csv_path, os.path.join(root, "floor"))
        results.append(("floor + write gzipped TFRecords", seconds, count))
        print(f"{results[-1][0]}: {seconds:.2f} s", flush=True)

        executors = [("FastExampleGen", fast_executor.Executor)]
        if not args.skip_stock:
            executors.append(("stock CsvExampleGen", csv_executor.Executor))
        for mode in args.modes.split(","):
            beam_args = local_beam_args(Config(pipeline=PipelineConfig(beam_mode=mode, beam_workers=args.workers)))
            for name, cls in executors:
                out = os.path.join(root, f"{name}-{mode}".replace(" ", "_"))
                with PeakMemory() as peak:
                    run_executor(cls, input_dir, out, beam_args)
                counts = count_records(out)
                results.append((f"{name}, {mode}", peak.seconds, sum(counts.values())))
                print(f"{results[-1][0]}: {peak.describe()}, records {counts}", flush=True)

        floor_seconds = results[0][1]
        print(f"\n| run ({args.rows:,} rows) | time (s) | x floor | records |\n|---|---:|---:|---:|")
        for name, seconds, count in results:
            print(f"| {name} | {seconds:.2f} | {seconds / floor_seconds:.1f} | {count:,} |")
        by_mode = {name: seconds for name, seconds, _ in results}
        for mode in args.modes.split(","):
            if f"stock CsvExampleGen, {mode}" in by_mode:
                print(f"speed-up over stock, {mode}: "
                      f"{by_mode[f'stock CsvExampleGen, {mode}'] / by_mode[f'FastExampleGen, {mode}']:.1f}x")
        if len({count for _, _, count in results}) != 1:
            print("RECORD COUNTS DIFFER", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
