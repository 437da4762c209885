"""Wall time of the commands that only read a run's store: `runs`, `lineage` and `report` (issue 15: about a second,
no TensorFlow). Each command runs --repeat times as a fresh process; the median and the range are printed.

    .venv/bin/python -m benchmarks.store_commands --config RUN.toml [--project DIR] [--repeat 3]

--project runs another checkout of this project (e.g. an older commit unpacked with `git archive`) for a before/after
comparison on the same store. The report is written to a temporary file, not into the run's reports folder.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def time_command(project, args, repeat):
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=project, capture_output=True, text=True,
                                env=dict(os.environ, PYTHONPATH=project))
        seconds.append(time.perf_counter() - start)
        if result.returncode != 0:
            sys.exit(f"{' '.join(args)} failed in {project}:\n{result.stderr[-2000:]}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the config of a run whose store is read")
    parser.add_argument("--project", default=REPO, help="the checkout whose code runs (default: this one)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config = os.path.abspath(args.config)
    with tempfile.TemporaryDirectory() as tmp:
        commands = {"runs": ["runs", "--config", config], "lineage": ["lineage", "--config", config],
                    "report": ["report", "--config", config, "--output", os.path.join(tmp, "r.html")]}
        print(f"project {args.project}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for name, command in commands.items():
            seconds = time_command(args.project, command, args.repeat)
            print(f"{name:8s} median {statistics.median(seconds):6.1f} s  (min {min(seconds):.1f}, max "
                  f"{max(seconds):.1f}, {len(seconds)} runs)", flush=True)


if __name__ == "__main__":
    main()
