"""CorrectionsApplier at scale: N synthetic examples and a corrections file of M rows; prints time and peak memory.

    python benchmarks/corrections/run.py [--examples 300000] [--corrections 300000] [--mode in_memory]

Examples: an id, a label out of 3 (a schema with that string domain) and one numeric feature, written as an Examples
artifact by the shared shard writer (benchmarks/synthetic_examples.py). Corrections: one row per example for the
first M examples (every 7th row left without a corrected_label, as a partly reviewed queue), each setting another
label. The CorrectionsApplier executor runs with the local Beam runner in `--mode`; the memory is the peak RSS of
the whole process tree (benchmarks/peak_memory.py).
"""
import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from benchmarks.peak_memory import PeakMemory  # noqa: E402
from benchmarks.corrections import data as synthetic  # noqa: E402
from pipeline.configs import Config  # noqa: E402
from pipeline.local_runner import beam_args  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300_000)
    parser.add_argument("--corrections", type=int, default=300_000)
    parser.add_argument("--mode", default="in_memory", choices=["in_memory", "multi_processing"])
    args = parser.parse_args()
    config = Config()
    config.pipeline.beam_mode = args.mode
    with tempfile.TemporaryDirectory() as root:
        inputs = synthetic.inputs(root, args.examples, args.corrections)
        with PeakMemory() as peak:
            target = synthetic.apply(root, inputs, beam_args(config))
        print(f"CorrectionsApplier, {args.examples:,} examples, {args.corrections:,} corrections rows, "
              f"{args.mode}: {peak.describe()}; corrections_applied "
              f"{target.get_int_custom_property('corrections_applied'):,}, labels_changed "
              f"{target.get_int_custom_property('labels_changed'):,}")


if __name__ == "__main__":
    main()
