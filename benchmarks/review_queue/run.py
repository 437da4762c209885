"""ReviewQueue at scale: synthetic finder outputs for N examples (benchmarks/review_queue/data.py); prints time,
peak memory and the queue's size, per Beam mode, and whether the modes wrote the same bytes.

    python benchmarks/review_queue/run.py [--examples 300000] [--modes in_memory multi_processing]
                                          [--max-rows 1000000]

The memory is the peak RSS of the whole process tree (benchmarks/peak_memory.py), Beam's workers included.
"""
import argparse
import json
import os
import sys
import tempfile

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from benchmarks.peak_memory import PeakMemory  # noqa: E402
from benchmarks.review_queue.data import run_queue, write_finder_outputs  # noqa: E402
from components.review_queue.component import ReviewQueue  # noqa: E402,F401 (TFX loaded before measuring)
from components.review_queue.contract import QUEUE_FILE, SUMMARY_FILE  # noqa: E402
from components.review_queue.queue import DEFAULT_MAX_ROWS  # noqa: E402
from pipeline.configs import Config  # noqa: E402
from pipeline.local_runner import beam_args  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300_000)
    parser.add_argument("--modes", nargs="+", default=["in_memory"], choices=["in_memory", "multi_processing"])
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        folders = write_finder_outputs(os.path.join(root, "finders"), args.examples)
        read = sum(sum(1 for _ in open(os.path.join(folder, name)))
                   for folder in folders.values() for name in os.listdir(folder))
        queues = {}
        for mode in args.modes:
            config = Config()
            config.pipeline.beam_mode = mode
            with PeakMemory() as peak:
                output = run_queue(folders, os.path.join(root, mode), beam_args(config), args.max_rows)
            with open(os.path.join(output.uri, SUMMARY_FILE)) as f:
                summary = json.load(f)
            with open(os.path.join(output.uri, QUEUE_FILE), "rb") as f:
                queues[mode] = f.read()
            print(f"ReviewQueue, {args.examples:,} examples ({read:,} finder file lines), {mode}: {peak.describe()}; "
                  f"{summary['rows']:,} rows written of {summary['rows_flagged']:,} flagged, "
                  f"{len(queues[mode]) / (1 << 20):,.0f} MiB", flush=True)
        if len(queues) > 1:
            print("same bytes in every mode:", len(set(queues.values())) == 1)


if __name__ == "__main__":
    main()
