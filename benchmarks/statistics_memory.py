"""What stock StatisticsGen holds on Beam's local runner, per StatsOptions variant, and what each variant changes in
the statistics and in what SchemaGen and ExampleValidator make of them.

    .venv/bin/python -m benchmarks.statistics_memory WORKDIR [--variants default sketch no_id] [--out DIR]

WORKDIR is a `benchmarks.scale` workdir (/tmp/scale/rows-N) whose Provenance node has run. Each variant runs
TFX's own StatisticsGen executor (`Do`, the pipeline's beam args) on those Examples in a fresh process and prints
its CPU time, the peak resident memory of the process tree and the three largest shuffles FnApiRunner held (keys,
values, encoded bytes); then every variant's statistics are compared with the first one's, feature by feature,
and so are the schemas SchemaGen would infer from them (`infer_feature_shape=True`, as the pipeline's) and the
anomalies ExampleValidator would report.

Why StatisticsGen grew with the rows (TFDV 1.16.1, Beam 2.74): with `use_sketch_based_topk_uniques` unset, TFDV
computes top-k and uniques with `TopKUniquesStatsGenerator` (statistics/stats_impl.py `_get_default_generators`),
which emits one ((slice, feature, value), count) pair per distinct value of every string column and sums them in a
`beam.CombinePerKey(sum)` (generators/top_k_uniques_stats_generator.py, `_to_topk_tuples`, `CombineCountsAndWeights`).
Lifted or not, that combine's keys pass through a GroupByKey, and FnApiRunner's GroupByKey is a `GroupingBuffer`
(fn_api_runner/execution.py): a dict with one entry per key, holding every key of the split until the next stage
reads it, and then its encoded copy as well. The id column has one distinct value per row, so that dict grows
with N. Measured on the 1M benchmark (2026-11-26, loaded machine): the largest shuffle held 799,890 keys for
train (799,870 ids + 20 other values) and 200,150 for eval; peak 1.20-1.25 GiB vs 0.77 GiB before `Do` (about
450 bytes per distinct value). With `use_sketch_based_topk_uniques=True` (Misra-Gries, 1,024 buckets; KMV, 16,384)
the largest shuffle holds 1 key (one merged accumulator, 0.48 MB): peak 0.87-0.91 GiB, CPU 30-38 s vs 45-54 s.
Dropping the id column (`no_id`, diagnostic only) gave 0.92 GiB: the id column is the growth. The rest is bounded:
the combiner generators' accumulators (quantile sketches at epsilon 0.01, per feature) and TFDV's Flattens,
which flatten only per-generator statistics protos, never rows. What the sketch changes: the id column's count of
distinct values becomes an estimate (train 799,870 -> 789,591) and its top values the sketch's upper bounds
(781 each); every other column has at most 1,024 distinct values and is exact. SchemaGen's schema and
ExampleValidator's anomalies are identical. `mean` and `std_dev` of numeric columns differ in the last digits
between any two runs, default against default too: TFDV's hot-key fanout merges in a random order.
At 10M rows (`python -m benchmarks.scale --rows 10000000 --only StatisticsGen`, the pipeline with the sketch):
peak 0.90 GiB (3.79 GiB with TFDV's default), Do CPU 291.5 s (415.3 s); the id column's distinct count is
7,991,895 for 8,001,510 train rows and 2,007,919 for 1,998,490 eval rows; schema, anomalies and Drift's
comparisons against the baseline span are identical to those from the default's statistics.
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
    # Diagnostic only (it drops the id column from the statistics): what the id column costs. Takes the feature
    # names from the default variant's statistics in the same --out.
    "no_id": {"feature_allowlist": "ALL_BUT_ID"},
}
ID_COLUMN = "example_id"


def _stats_options_json(variant, out):
    import tensorflow_data_validation as tfdv
    options = dict(VARIANTS[variant])
    if options.get("feature_allowlist") == "ALL_BUT_ID":  # the feature names from the default variant's run
        options["feature_allowlist"] = sorted(set(_features(_load(out, "default", "eval"))) - {ID_COLUMN})
    return tfdv.StatsOptions(**options).to_json()


def _record_shuffles():
    """Patches FnApiRunner's GroupingBuffer, the runner's in-memory shuffle (apache_beam/runners/portability/
    fn_api_runner/execution.py), to record the keys, values and encoded bytes each one held when it was read."""
    from apache_beam.runners.portability.fn_api_runner import execution
    shuffles = []
    partition = execution.GroupingBuffer.partition

    def recorded(self, n):
        held = None if self._grouped_output else (len(self._table), sum(map(len, self._table.values())))
        output = partition(self, n)
        if held:
            shuffles.append(held + (sum(len(b) for part in output for b in part),))
        return output
    execution.GroupingBuffer.partition = recorded
    return shuffles


def run_variant(workdir, variant, out):
    """One StatisticsGen `Do` in this process; prints a JSON line with its figures and its three largest
    shuffles (keys, values, encoded bytes)."""
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
    shuffles = _record_shuffles()
    with PeakMemory() as peak:
        executor.Do({"examples": examples}, {"statistics": [statistics]}, properties)
    print(json.dumps({"variant": variant, "cpu_seconds": round(peak.cpu_seconds, 1),
                      "seconds": round(peak.seconds, 1), "peak_rss_gib": round(peak.peak / 2**30, 3),
                      "start_rss_gib": round(peak.start / 2**30, 3),
                      "largest_shuffles": sorted(shuffles, reverse=True)[:3]}), flush=True)


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
