"""What Beam's local runner holds while a pipeline writes N text lines: one shard (`WriteToText(num_shards=1)`, a
GroupByKey on one key) against `examples_io.sorted_text` (`WriteKeyedLines`, then `write_sorted`'s external merge
into one file).

    .venv/bin/python -m benchmarks.sorted_text [--lines N] [--mode in_memory|multi_processing]

The lines (about 35 bytes, like eval_predictions.csv's) are made inside the pipeline, so nothing but the writer can
hold them. Each variant runs in a fresh process and prints the peak resident memory of its process tree
(benchmarks/peak_memory.py) over the pipeline, and over `write_sorted` for the sorted writer.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from benchmarks.peak_memory import PeakMemory
from components.examples_io.sorted_text import WriteKeyedLines, write_sorted

_CHUNK = 10_000  # lines made per element of the seed PCollection
VARIANTS = ("one_shard", "sorted_text")


def _lines(start, total):
    for i in range(start, min(start + _CHUNK, total)):
        example_id = f"ex-{(i * 7919) % total:09d}"  # not in id order
        yield [example_id, f"{example_id},class_{i % 3},class_{i % 5},{i % 3 == i % 5}"]


def run(variant, lines, mode, folder):
    options = PipelineOptions(["--runner=FnApiRunner", f"--direct_running_mode={mode}"]
                              + (["--direct_num_workers=2"] if mode == "multi_processing" else []))
    prefix = os.path.join(folder, "lines")
    with PeakMemory() as peak:
        with beam.Pipeline(options=options) as p:
            keyed = (p | beam.Create(range(0, lines, _CHUNK)) | beam.Reshuffle()
                     | beam.FlatMap(_lines, lines))
            if variant == "one_shard":
                _ = (keyed | beam.Map(lambda item: item[-1])
                     | beam.io.WriteToText(os.path.join(folder, "out.csv"), num_shards=1, shard_name_template=""))
            else:
                _ = keyed | WriteKeyedLines(prefix)
    print(f"{variant} ({mode}, {lines:,} lines): pipeline {peak.describe()}", flush=True)
    if variant == "sorted_text":
        with PeakMemory() as peak:
            written = write_sorted(prefix, os.path.join(folder, "out.csv"), "example_id,label,predicted,correct")
        print(f"{variant} ({mode}, {lines:,} lines): write_sorted of {written:,} lines {peak.describe()}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--mode", choices=["in_memory", "multi_processing"], default="in_memory")
    parser.add_argument("--variant", choices=VARIANTS, nargs="+", default=list(VARIANTS))
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        with tempfile.TemporaryDirectory() as folder:
            run(args.variant[0], args.lines, args.mode, folder)
        return
    for variant in args.variant:  # each in its own process: a peak is per process
        subprocess.run([sys.executable, "-m", "benchmarks.sorted_text", "--lines", str(args.lines), "--mode",
                        args.mode, "--variant", variant, "--in-process"], check=True)


if __name__ == "__main__":
    main()
