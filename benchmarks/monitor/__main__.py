"""Benchmark: the serving monitor against StatisticsGen on the same rows.

    python -m benchmarks.monitor [--rows 1000000] [--config FILE.toml] [--out DIR]

Needs a trained model in the config's ML Metadata store (`make run` first, or `--config` of another run). Writes
N serving rows x 10 columns (the demo's columns, resampled from the config's input rows with measurement noise) as
one CSV, then times, each with the local run's Beam arguments:
  1. StatisticsGen: the stock executor (TFDV GenerateStatistics) on the same rows as a gzipped TFRecord Examples
     artifact (written beforehand, not timed);
  2. the monitor's reader and TFDV statistics alone (serving_input.read_batches -> GenerateStatistics);
  3. the whole monitor (`monitor.plan` + `monitor.run`): pre-flight scan, reading, statistics, RunInference on every
     row and on the eval split, comparison, report, ML Metadata record.
and prints the wall times and the ratios to StatisticsGen.
"""
import argparse
import glob
import os
import tempfile
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import apache_beam as beam  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_data_validation as tfdv  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402
from tfx.components.statistics_gen import executor as statistics_executor  # noqa: E402
from tfx.types import artifact_utils, standard_artifacts  # noqa: E402
from tfx_bsl.coders import example_coder  # noqa: E402

from pipeline.configs import load_config, metadata_path  # noqa: E402
from pipeline.local_runner import beam_args as local_beam_args  # noqa: E402
from pipeline.monitor import monitor, preflight, serving_input  # noqa: E402
from pipeline.pipeline import statistics_options  # noqa: E402

COLUMNS = ["example_id", "species", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex",
           "site", "season", "labeler_a"]  # 10 columns, all in the demo model's schema
NOISE = {"bill_length_mm": 0.5, "bill_depth_mm": 0.2, "flipper_length_mm": 2, "body_mass_g": 50}


def demo_rows(config):
    """The rows of the config's input files (every span): what the serving rows are resampled from."""
    pattern = config.data.file_pattern.replace("{SPAN}", "*")
    files = sorted(glob.glob(os.path.join(config.data.input_dir, pattern)))
    return pd.concat([pd.read_csv(f, keep_default_na=False) for f in files])


def write_serving(rows, n, path, seed=0):
    rng = np.random.default_rng(seed)
    frame = rows.iloc[rng.integers(0, len(rows), n)][COLUMNS].reset_index(drop=True)
    frame["example_id"] = [f"req-{i:07d}" for i in range(n)]
    for column, sd in NOISE.items():
        noisy = frame[column].astype(float) + rng.normal(0, sd, n)
        frame[column] = noisy.round().astype(int) if frame[column].dtype.kind == "i" else noisy.round(1)
    frame.to_csv(path, index=False)


def write_examples(plan, csv_path, uri, shards=4):
    """The serving rows as an Examples artifact (split 'train'), typed by the model's schema, for StatisticsGen."""
    artifact = standard_artifacts.Examples()
    artifact.uri = uri
    artifact.split_names = artifact_utils.encode_split_names(["train"])
    split_dir = os.path.join(uri, "Split-train")
    os.makedirs(split_dir)
    writers = [tf.io.TFRecordWriter(os.path.join(split_dir, f"data_tfrecord-{i:05d}-of-{shards:05d}.gz"),
                                    options="GZIP") for i in range(shards)]
    for i, batch in enumerate(serving_input.read_batches(csv_path, plan.layout.types, plan.config.data.missing_values)):
        for record in example_coder.RecordBatchToExamples(batch):
            writers[i % shards].write(record)
    for writer in writers:
        writer.close()
    return artifact


def timed(label, function):
    start = time.monotonic()
    function()
    seconds = time.monotonic() - start
    print(f"{label}: {seconds:.1f} s", flush=True)
    return seconds


def main():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.monitor")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--config", help="config of the run whose model is monitored (default: the defaults)")
    parser.add_argument("--out", default=None, help="working folder (default: a new temporary folder)")
    args = parser.parse_args()
    root = args.out or tempfile.mkdtemp(prefix="bench_monitor_")
    serving = os.path.join(root, "serving")
    os.makedirs(serving)
    config = load_config(args.config)
    config.pipeline.metadata_path = os.path.abspath(metadata_path(config))  # the monitored run's store ...
    config.pipeline.output_dir = os.path.join(root, "out")  # ... but the monitor's reports go here

    csv_path = os.path.join(serving, "requests.csv")
    start = time.monotonic()
    write_serving(demo_rows(config), args.rows, csv_path)
    print(f"wrote {args.rows:,} rows x {len(COLUMNS)} columns ({os.path.getsize(csv_path) / 1e6:.1f} MB) in "
          f"{time.monotonic() - start:.1f} s ({root})", flush=True)
    plan = preflight.plan(config, serving)
    examples = write_examples(plan, csv_path, os.path.join(root, "examples"))

    statistics = standard_artifacts.ExampleStatistics()
    statistics.uri = os.path.join(root, "statistics")
    os.makedirs(statistics.uri)
    beam_args = local_beam_args(config)
    statistics_gen = statistics_executor.Executor(statistics_executor.Executor.Context(beam_pipeline_args=beam_args))
    stats_seconds = timed("StatisticsGen (stock executor, TFDV GenerateStatistics)", lambda: statistics_gen.Do(
        {"examples": [examples]}, {"statistics": [statistics]}, {"exclude_splits": "[]"}))

    def reader_and_statistics():
        with beam.Pipeline(options=PipelineOptions(beam_args)) as pipeline:
            _ = (pipeline
                 | beam.Create(plan.layout.files)
                 | beam.FlatMap(serving_input.read_batches, plan.layout.types, config.data.missing_values)
                 | tfdv.GenerateStatistics(statistics_options())
                 | tfdv.WriteStatisticsToBinaryFile(os.path.join(root, "reader_statistics.pb")))
    reader_seconds = timed("monitor's reader + TFDV statistics", reader_and_statistics)

    def whole_monitor():
        result, out_dir = monitor.run(preflight.plan(config, serving), log=lambda line: None)
        print(f"  verdict {result['verdict']}, {result['predictions']['scored_rows']:,} rows scored; {out_dir}")
    monitor_seconds = timed("whole monitor (pre-flight, statistics, RunInference, report, MLMD)", whole_monitor)

    print(f"\n{args.rows:,} rows x {len(COLUMNS)} columns, Beam {config.pipeline.beam_mode}:")
    for label, seconds in (("StatisticsGen", stats_seconds), ("monitor's reader + statistics", reader_seconds),
                           ("whole monitor", monitor_seconds)):
        print(f"  {label:<30} {seconds:8.1f} s  {args.rows / seconds:>10,.0f} rows/s  "
              f"x{seconds / stats_seconds:.2f} StatisticsGen")


if __name__ == "__main__":
    main()
