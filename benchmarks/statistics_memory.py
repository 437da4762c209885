"""What stock StatisticsGen holds on Beam's local runner, per StatsOptions variant, and what each variant changes in
the statistics and in what SchemaGen and ExampleValidator make of them.

    .venv/bin/python -m benchmarks.statistics_memory WORKDIR [--variants default sketch ...] [--out DIR]

WORKDIR is a `benchmarks.scale` workdir (/tmp/scale/rows-N) whose Provenance node has run. Each variant runs
TFX's own StatisticsGen executor (`Do`, the pipeline's beam args) on those Examples in a fresh process and prints
its `Do` CPU time and the peak resident memory of the process tree; then every variant's statistics are compared
with the first one's, feature by feature, and so are the schemas SchemaGen would infer from them
(`infer_feature_shape=True`, as the pipeline's) and the anomalies ExampleValidator would report.
"""
import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# StatsOptions as JSON (what StatisticsGen's `stats_options` becomes), by variant name.
VARIANTS = {
    "default": {},
    "sketch": {"use_sketch_based_topk_uniques": True},
    # Diagnostic only (it drops the id column from the statistics): what the id column costs.
    "no_id": {"feature_allowlist": "ALL_BUT_ID"},
}
ID_COLUMN = "example_id"


def _stats_options_json(variant, out):
    import tensorflow_data_validation as tfdv
    options = dict(VARIANTS[variant])
    if options.get("feature_allowlist") == "ALL_BUT_ID":  # the feature names from the default variant's run
        options["feature_allowlist"] = sorted(set(_features(_load(out, "default", "eval"))) - {ID_COLUMN})
    return tfdv.StatsOptions(**options).to_json()


def run_variant(workdir, variant, out):
    """One StatisticsGen `Do` in this process; prints a JSON line with its figures."""
    from tfx.components.statistics_gen.executor import Executor
    from tfx.types import standard_artifacts
    from tfx.utils import json_utils

    from benchmarks.peak_memory import PeakMemory

    with open(os.path.join(workdir, "artifacts", "Provenance.json")) as f:
        examples = json_utils.loads(f.read())["examples_with_provenance"]
    with open(os.path.join(workdir, "plan.json")) as f:
        beam_args = {s["id"]: s for s in json.load(f)}["StatisticsGen"]["beam_pipeline_args"]
    statistics = standard_artifacts.ExampleStatistics()
    statistics.uri = os.path.join(out, variant)
    os.makedirs(statistics.uri, exist_ok=True)
    executor = Executor(Executor.Context(beam_pipeline_args=beam_args, tmp_dir=os.path.join(out, "tmp") + os.sep,
                                         unique_id=variant))
    properties = {"exclude_splits": "[]", "stats_options_json": _stats_options_json(variant, out)}
    with PeakMemory() as peak:
        executor.Do({"examples": examples}, {"statistics": [statistics]}, properties)
    print(json.dumps({"variant": variant, "cpu_seconds": round(peak.cpu_seconds, 1),
                      "seconds": round(peak.seconds, 1), "peak_rss_gib": round(peak.peak / 2**30, 3),
                      "start_rss_gib": round(peak.start / 2**30, 3)}), flush=True)


def _load(out, variant, split):
    from tensorflow_data_validation.utils import stats_util
    return stats_util.load_stats_binary(os.path.join(out, variant, f"Split-{split}", "FeatureStats.pb"))


def _features(statistics):
    return {f.path.step[0]: f for f in statistics.datasets[0].features}


def compare(out, reference, variant):
    """Prints which features' statistics differ from `reference`'s, and whether SchemaGen's schema and
    ExampleValidator's anomalies differ."""
    import tensorflow_data_validation as tfdv
    from google.protobuf import text_format

    schemas, anomalies = {}, {}
    for split in ("train", "eval"):
        a, b = _features(_load(out, reference, split)), _features(_load(out, variant, split))
        for name in sorted(set(a) | set(b)):
            if name not in a or name not in b:
                print(f"  {split} {name}: only in {reference if name in a else variant}")
            elif a[name] != b[name]:
                fields = [field.name for field, _ in a[name].string_stats.ListFields()
                          if getattr(a[name].string_stats, field.name) != getattr(b[name].string_stats, field.name)]
                kind = a[name].WhichOneof("stats")
                unique = (f" (unique {a[name].string_stats.unique:,} -> {b[name].string_stats.unique:,})"
                          if kind == "string_stats" else "")
                print(f"  {split} {name}: {kind} differs in {fields or 'other fields'}{unique}")
    for v in (reference, variant):
        schemas[v] = tfdv.infer_schema(_load(out, v, "train"), infer_feature_shape=True)
        anomalies[v] = tfdv.validate_statistics(_load(out, v, "eval"), schemas[v])
    same_schema = text_format.MessageToString(schemas[reference]) == text_format.MessageToString(schemas[variant])
    same_anomalies = anomalies[reference] == anomalies[variant]
    print(f"  SchemaGen's schema {'identical' if same_schema else 'DIFFERS'}; ExampleValidator's anomalies "
          f"{'identical' if same_anomalies else 'DIFFER'} ({len(anomalies[variant].anomaly_info)} features with "
          f"anomalies)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdir")
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=["default", "sketch"])
    parser.add_argument("--out", help="where the statistics go (default: WORKDIR/statistics_memory)")
    parser.add_argument("--only-variant", help=argparse.SUPPRESS)
    parser.add_argument("--compare-only", action="store_true", help="compare the statistics already in --out")
    args = parser.parse_args()
    out = args.out or os.path.join(args.workdir, "statistics_memory")
    if args.only_variant:
        run_variant(args.workdir, args.only_variant, out)
        return
    if not args.compare_only:
        for variant in args.variants:  # each in its own process: a peak is per process
            started = time.strftime("%H:%M:%S")
            load = os.getloadavg()[0]
            subprocess.run([sys.executable, "-m", "benchmarks.statistics_memory", args.workdir, "--out", out,
                            "--only-variant", variant], cwd=REPO, check=True)
            print(f"  ({variant}: started {started}, load average {load:.1f})", flush=True)
    for variant in args.variants[1:]:
        print(f"{variant} vs {args.variants[0]}:")
        compare(out, args.variants[0], variant)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
