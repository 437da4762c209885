"""Scale benchmark: the pipeline's data stage at N rows, one component at a time, with wall time and peak memory.

    python -m benchmarks.scale --rows N [--only NODE ...] [--workdir DIR] [--mode in_memory|multi_processing]
    python -m benchmarks.scale --compare /tmp/scale/rows-1000000 /tmp/scale/rows-10000000

Generates N penguin-like rows as one CSV span (benchmarks/scale/data.py: labelers, metadata, planted label errors,
exact duplicates and conflicting near-duplicates; a corrections file for half of the label errors) plus a small
baseline span (BASELINE_ROWS) so that Drift runs, and a config that points the pipeline at them. Then runs every node
of `create_pipeline(config, data_only=True)` in the pipeline's order (FastExampleGen through ReviewQueue), each in
its own subprocess calling the real executor's Do on the previous nodes' real output artifacts
(benchmarks/scale/stage.py), and measures its wall time and the peak resident memory of its whole process tree
(the sum of the RSS of the process and all its descendants, Beam's worker processes included, sampled every
POLL_SECONDS). Each time is also given as a ratio to StatisticsGen's on the same Examples.

With --only, only the named nodes run, on the inputs already in the workdir (re-measure StatisticsGen with them
when the machine's load has changed: the ratio uses the latest StatisticsGen measurement). Results accumulate in
WORKDIR/results.json (the latest measurement of each node, with the load average when it ran) and the table is
printed as markdown. Default workdir: /tmp/scale/rows-N. --compare prints the issue's goals (memory flat within 1.5x,
time within 12x from 1M to 10M rows, no slower than StatisticsGen) node by node from two workdirs.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time

import psutil

from benchmarks.peak_memory import tree_rss
from benchmarks.scale import data
from benchmarks.scale.stage import CONFIG_FILE, timing_file
from pipeline.configs import write_config

BASELINE_ROWS = 10_000  # the baseline span Drift compares with: its size does not change the comparison's cost
POLL_SECONDS = 0.2
HEARTBEAT_SECONDS = 60
RESULTS_FILE = "results.json"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def prepare(workdir, rows, mode):
    """The input spans, the corrections file and the config, unless the workdir already holds them for `rows`."""
    marker = os.path.join(workdir, "input", "rows.json")
    if os.path.exists(marker):
        with open(marker) as f:
            if json.load(f)["rows"] == rows:
                print(f"input: {rows:,} rows already in {workdir}/input", flush=True)
                _write_config(workdir, mode)
                return
        raise SystemExit(f"{workdir} holds another row count; give another --workdir or delete it")
    start = time.monotonic()
    data.write_span(os.path.join(workdir, "input", "span-1"), BASELINE_ROWS, seed=1)

    def progress(written):
        elapsed = time.monotonic() - start
        print(f"  generated {written:,} / {rows:,} rows ({elapsed:.0f} s, "
              f"about {elapsed / written * (rows - written):.0f} s left)", flush=True)
    data.write_span(os.path.join(workdir, "input", "span-2"), rows, seed=2,
                    corrections_path=os.path.join(workdir, "input", "corrections.csv"), progress=progress)
    size = os.path.getsize(os.path.join(workdir, "input", "span-2", "data.csv"))
    print(f"input: {rows:,} rows, {size / 1e9:.2f} GB CSV, in {time.monotonic() - start:.0f} s", flush=True)
    with open(marker, "w") as f:
        json.dump({"rows": rows}, f)
    _write_config(workdir, mode)


def _write_config(workdir, mode):
    """The pipeline's config for the generated data (columns named as in benchmarks/scale/data.py)."""
    write_config(os.path.join(workdir, CONFIG_FILE), {
        "pipeline": {"output_dir": os.path.join(workdir, "outputs"), "beam_mode": mode, "enable_cache": False},
        "data": {"input_dir": os.path.join(workdir, "input"), "file_pattern": "span-{SPAN}/*.csv"},
        "labels": {"label_column": "species", "labeler_columns": list(data.LABELERS),
                   "metadata_columns": ["site", "season"],
                   "corrections_file": os.path.join(workdir, "input", "corrections.csv")},
        "model": {"numeric_features": list(data.MEASUREMENTS), "categorical_features": ["sex"]},
        "drift": {"exclude": ["season"]},
        "provenance": {"source_name": "benchmarks/scale synthetic rows", "labelers": list(data.LABELERS),
                       "instructions_file": os.path.join(REPO, "data", "labeling_instructions.md")},
    })


def code_version():
    """The commit the components ran from, with "+changes" when components/ or pipeline/ differ from it."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO, stdout=subprocess.PIPE, text=True).stdout.strip()
    changed = git("status", "--porcelain", "--", "components", "pipeline")
    return git("rev-parse", "--short", "HEAD") + ("+changes" if changed else "")


def measure(workdir, node_id):
    """Runs the node in a subprocess; returns (seconds, peak tree RSS bytes, exit code). Its output goes to
    WORKDIR/logs/<node>.log."""
    os.makedirs(os.path.join(workdir, "logs"), exist_ok=True)
    log_path = os.path.join(workdir, "logs", node_id + ".log")
    with open(log_path, "w") as log:
        start = time.monotonic()
        child = subprocess.Popen([sys.executable, "-m", "benchmarks.scale.stage", workdir, node_id],
                                 stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        process, peak, heartbeat = psutil.Process(child.pid), 0, start
        while child.poll() is None:
            try:
                peak = max(peak, tree_rss(process))
            except psutil.Error:
                pass
            if time.monotonic() - heartbeat >= HEARTBEAT_SECONDS:
                heartbeat = time.monotonic()
                print(f"  ... {node_id}: {heartbeat - start:.0f} s, peak {peak / 2**30:.2f} GiB so far", flush=True)
            time.sleep(POLL_SECONDS)
        seconds = time.monotonic() - start
    if child.returncode:
        with open(log_path) as f:
            print("".join(f.readlines()[-30:]), file=sys.stderr)
    return seconds, peak, child.returncode


def table(results, rows, nodes):
    """The markdown table: per node, the executor's Do wall and CPU time and the subprocess's wall time, the peak
    memory of the process tree and the RSS before Do (imports), the ratios of Do wall and CPU time to
    StatisticsGen's, and the load when it ran."""
    statistics = results.get("StatisticsGen") or {}
    lines = [f"| component ({rows:,} rows) | Do wall (s) | Do CPU (s) | process wall (s) | peak RSS, process tree "
             "(GiB) | RSS before Do (GiB) | wall / StatisticsGen's | CPU / StatisticsGen's | load avg at start | "
             "measured (UTC) | code |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]

    def number(value, digits=1):
        return "" if value is None else f"{value:.{digits}f}"

    def ratio(r, key):
        return number(r[key] / statistics[key], 2) if r.get(key) is not None and statistics.get(key) else ""
    for node_id in nodes:
        r = results.get(node_id)
        if not r:
            continue
        before = r.get("rss_before_do_bytes")
        do = f"failed (exit {r['exit_code']})" if r["exit_code"] else number(r.get("do_seconds"))
        lines.append(f"| {node_id} | {do} | {number(r.get('do_cpu_seconds'))} | {r['seconds']:.1f} | "
                     f"{r['peak_rss_bytes'] / 2**30:.2f} | {'' if before is None else f'{before / 2**30:.2f}'} | "
                     f"{ratio(r, 'do_seconds')} | {ratio(r, 'do_cpu_seconds')} | {r['load_average']:.1f} | "
                     f"{r['measured_at']} | {r.get('code', '')} |")
    return "\n".join(lines)


MEMORY_GOAL, TIME_GOAL = 1.5, 12  # issue 14: peak memory 10M/1M within 1.5x, time within 12x


def comparison(small_dir, large_dir):
    """The issue's goals, node by node, from two workdirs' results.json (e.g. 1M and 10M rows): peak memory and Do
    CPU time of the larger run over the smaller's, and each run's Do CPU time over StatisticsGen's of the same run
    (CPU time, not wall time: the load differs between measurements on a shared machine)."""
    runs = []
    for workdir in (small_dir, large_dir):
        with open(os.path.join(workdir, RESULTS_FILE)) as f:
            runs.append(json.load(f))
    small, large = (run["components"] for run in runs)
    factor = runs[1]["rows"] / runs[0]["rows"]
    lines = [f"| component | peak RSS {runs[0]['rows']:,} / {runs[1]['rows']:,} (GiB) | memory ratio (goal <= "
             f"{MEMORY_GOAL}) | Do CPU {runs[0]['rows']:,} / {runs[1]['rows']:,} (s) | time ratio (linear: "
             f"{factor:g}; goal <= {TIME_GOAL}) | Do CPU / StatisticsGen's, {runs[0]['rows']:,} / "
             f"{runs[1]['rows']:,} |", "|---|---|---:|---|---:|---|"]

    def done(r):
        return r is not None and not r["exit_code"] and r.get("do_cpu_seconds") is not None

    def to_statistics(r, run):
        statistics = run.get("StatisticsGen")
        return f"{r['do_cpu_seconds'] / statistics['do_cpu_seconds']:.2f}" if done(r) and done(statistics) else "-"
    def gib(r):
        return f"{r['peak_rss_bytes'] / 2**30:.2f}"

    def seconds(r):
        return f"{r['do_cpu_seconds']:.1f}"

    def both(a, b, value):
        return f"{value(a)} / {value(b) if done(b) else '-'}"
    for node_id, a in small.items():
        b = large.get(node_id)
        if not done(a):
            continue
        memory = f"{b['peak_rss_bytes'] / a['peak_rss_bytes']:.2f}" if done(b) else "-"
        time_ratio = f"{b['do_cpu_seconds'] / a['do_cpu_seconds']:.1f}" if done(b) and a["do_cpu_seconds"] >= 1 else "-"
        lines.append(f"| {node_id} | {both(a, b, gib)} | {memory} | {both(a, b, seconds)} | {time_ratio} | "
                     f"{to_statistics(a, small)} / {to_statistics(b, large)} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int)
    parser.add_argument("--compare", nargs=2, metavar=("SMALL_WORKDIR", "LARGE_WORKDIR"),
                        help="print the goals table of two finished workdirs (e.g. 1M and 10M rows) and exit")
    parser.add_argument("--only", nargs="+", metavar="NODE", help="node ids to run (default: all, in order)")
    parser.add_argument("--workdir", help="default: /tmp/scale/rows-N")
    parser.add_argument("--mode", choices=["in_memory", "multi_processing"], default="in_memory",
                        help="Beam's FnApiRunner mode (multi_processing: 2 workers)")
    args = parser.parse_args()
    if args.compare:
        print(comparison(*args.compare))
        return
    if not args.rows:
        parser.error("--rows is required")
    workdir = os.path.abspath(args.workdir or f"/tmp/scale/rows-{args.rows}")
    prepare(workdir, args.rows, args.mode)

    # In a subprocess, so this process (whose own memory is not measured) stays small: it loads TensorFlow.
    nodes = json.loads(subprocess.run([sys.executable, "-m", "benchmarks.scale.stage", workdir, "--plan"], cwd=REPO,
                                      check=True, stdout=subprocess.PIPE, text=True).stdout.splitlines()[-1])
    unknown = sorted(set(args.only or []) - set(nodes))
    if unknown:
        raise SystemExit(f"--only: no node {', '.join(unknown)}; the data stage's nodes: {', '.join(nodes)}")
    results_path = os.path.join(workdir, RESULTS_FILE)
    results = {}
    if os.path.exists(results_path):
        with open(results_path) as f:
            results = json.load(f)["components"]
    version = code_version()
    for node_id in [n for n in nodes if not args.only or n in args.only]:
        load = os.getloadavg()[0]
        measured_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
        print(f"{node_id} ...", flush=True)
        seconds, peak, code = measure(workdir, node_id)
        results[node_id] = {"seconds": round(seconds, 2), "peak_rss_bytes": peak, "exit_code": code,
                            "load_average": load, "measured_at": measured_at, "mode": args.mode,
                            "code": version}
        if not code:
            with open(timing_file(workdir, node_id)) as f:
                results[node_id].update(json.load(f))
        print(f"{node_id}: {seconds:.1f} s (Do {results[node_id].get('do_seconds', 0):.1f} s), peak {peak / 2**30:.2f} GiB" + (f", FAILED (exit {code})" if code
                                                                            else ""), flush=True)
        if os.path.exists(results_path):  # another run may have measured other nodes meanwhile: keep theirs
            with open(results_path) as f:
                results = {**json.load(f)["components"], node_id: results[node_id]}
        with open(results_path, "w") as f:
            json.dump({"rows": args.rows, "components": results,
                       "table": table(results, args.rows, nodes)}, f, indent=1)
        if code:
            break  # what follows needs its outputs
    print("\n" + table(results, args.rows, nodes))
    print(f"\n(also in {results_path}; logs in {workdir}/logs)")


if __name__ == "__main__":
    main()
