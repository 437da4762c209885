"""What Beam's local runner holds for a multi-input Flatten: the reason no component flattens its per-split reads.

    .venv/bin/python -m benchmarks.runner_flatten [--rows N] [--bytes B]

Two streams of N elements of B bytes each, produced inside the pipeline, are either flattened and then summed, or
summed each and only the two sums flattened. FnApiRunner materialises every multi-input Flatten as one in-memory
buffer (`apache_beam/runners/portability/fn_api_runner/translations.py`, `sink_flattens`), so the first holds
every element at once and the second holds nothing that grows with N. Each variant runs in a fresh process and
prints its peak resident memory (measured 2026-11-26, 300,000 x 1,000 bytes: 2.8 GiB flattened, 0.2 GiB summed
first).
"""
import argparse
import resource
import subprocess
import sys

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions


def _stream(marker, rows, size):
    def elements(_):
        for _ in range(rows):
            yield bytes([marker]) * size
    return elements


def run(variant, rows, size):
    options = PipelineOptions(["--runner=FnApiRunner", "--direct_running_mode=in_memory"])
    with beam.Pipeline(options=options) as p:
        a = p | "A" >> beam.Create([0]) | "ElementsA" >> beam.FlatMap(_stream(1, rows, size))
        b = p | "B" >> beam.Create([0]) | "ElementsB" >> beam.FlatMap(_stream(2, rows, size))
        if variant == "flattened":
            sums = (a, b) | "Flatten" >> beam.Flatten() | beam.Map(len) | "Sum" >> beam.CombineGlobally(sum)
        else:
            sums = ((a | "LenA" >> beam.Map(len) | "SumA" >> beam.CombineGlobally(sum),
                     b | "LenB" >> beam.Map(len) | "SumB" >> beam.CombineGlobally(sum))
                    | "FlattenSums" >> beam.Flatten())
        _ = sums | beam.Map(lambda total: print(f"  {variant}: a sum of {total:,} bytes", flush=True))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{variant}: peak RSS {peak_mib:,.0f} MiB", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=300_000, help="elements per stream")
    parser.add_argument("--bytes", type=int, default=1000, help="bytes per element")
    parser.add_argument("--variant", choices=["flattened", "summed_first"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        run(args.variant, args.rows, args.bytes)
        return
    for variant in ("flattened", "summed_first"):  # each in its own process: a peak is per process
        subprocess.run([sys.executable, "-m", "benchmarks.runner_flatten", "--rows", str(args.rows), "--bytes",
                        str(args.bytes), "--variant", variant], check=True)


if __name__ == "__main__":
    main()
