"""Data: per feature its type, count, missing share and a small distribution chart, from StatisticsGen's TFDV
statistics; ExampleValidator's anomalies against the schema, with their descriptions."""
import json

from tensorflow_metadata.proto.v0 import anomalies_pb2, statistics_pb2

from pipeline.report import charts, files
from pipeline.report.html import Section, render
from pipeline.report.run_outputs import ANOMALIES, STATISTICS

STATISTICS_FILE = "FeatureStats.pb"  # TFX's statistics file per split (tfx/components/statistics_gen)
ANOMALIES_FILE = "SchemaDiff.pb"  # ExampleValidator's anomalies file per split
MAX_CHARTED_VALUES = 8  # a categorical feature's chart shows its most frequent values
MAX_CHARTS = 60  # features beyond this get a table row but no chart, to keep the page small
# A column with at least this share of distinct values is id-like: nothing to chart. Not 1.0: above 16,383 distinct
# values StatisticsGen's count of them is a sketch's estimate (pipeline.statistics_gen_for), about 1% off.
ID_LIKE_DISTINCT_SHARE = 0.95
TYPES = {0: "INT", 1: "FLOAT", 2: "STRING", 3: "BYTES", 4: "STRUCT"}

TEMPLATE = """
<p>{{ f.splits|join(", ") }}: {% for split, n in f.examples.items() %}{{ n|number }} examples in {{ split }}{% if not loop.last %}, {% endif %}{% endfor %}.
Statistics by TFDV; charts show the <em>{{ f.splits[0] }}</em> split.</p>
<table class="features">
  <thead><tr><th>feature</th><th>type</th>
  {% for split in f.splits %}<th class="num">count ({{ split }})</th><th class="num">missing</th>{% endfor %}
  <th>summary ({{ f.splits[0] }})</th><th>distribution</th></tr></thead>
  <tbody>
  {% for feature in f.features %}
    <tr id="feature-{{ loop.index }}"><td>{{ feature.name }}</td><td>{{ feature.type }}</td>
    {% for split in f.splits %}{% set s = feature.splits.get(split, {}) %}
      <td class="num">{{ s.count|default(none)|number }}</td><td class="num">{{ s.missing_share|default(none)|percent }}</td>
    {% endfor %}
    <td class="summary">{% if feature.numeric %}mean {{ feature.numeric.mean|number(2) }}, sd {{ feature.numeric.std|number(2) }},
      range {{ feature.numeric.min|number(2) }} to {{ feature.numeric.max|number(2) }}{% elif feature.unique is not none %}{{ feature.unique|number }} distinct
      {% endif %}</td>
    <td>{{ charts[loop.index0] }}</td></tr>
  {% endfor %}
  </tbody>
</table>
<h3 id="anomalies">Anomalies (ExampleValidator, against the schema)</h3>
{% if f.anomalies %}
<table>
  <thead><tr><th>split</th><th>feature</th><th>severity</th><th>anomaly</th><th>description</th></tr></thead>
  <tbody>
  {% for a in f.anomalies %}
    <tr><td>{{ a.split }}</td><td>{{ a.feature }}</td><td>{{ a.severity }}</td><td>{{ a.short_description }}</td><td>{{ a.description }}</td></tr>
  {% endfor %}
  </tbody>
</table>
{% elif f.anomalies_checked %}
<p class="ok">No anomalies: every split matches the schema.</p>
{% else %}
<p>ExampleValidator did not run.</p>
{% endif %}
"""


def split_names(artifact):
    """The artifact's split names, from its `split_names` property (a JSON list)."""
    return json.loads(artifact.properties["split_names"].string_value) if "split_names" in artifact.properties else []


def _feature_name(feature):
    return ".".join(feature.path.step) if feature.HasField("path") else feature.name


def _common(feature):
    kind = feature.WhichOneof("stats")
    if kind == "num_stats":
        return feature.num_stats.common_stats
    if kind == "string_stats":
        return feature.string_stats.common_stats
    if kind == "bytes_stats":
        return feature.bytes_stats.common_stats
    if kind == "struct_stats":
        return feature.struct_stats.common_stats
    return None


def read_statistics(artifact):
    """{split: DatasetFeatureStatistics} of an ExampleStatistics artifact."""
    result = {}
    for split in split_names(artifact):
        content = files.read_bytes(files.join(artifact.uri, f"Split-{split}", STATISTICS_FILE))
        if content is not None:
            statistics = statistics_pb2.DatasetFeatureStatisticsList.FromString(content)
            if statistics.datasets:
                result[split] = statistics.datasets[0]
    return result


def _feature_facts(features_by_split, splits):
    features = {}
    for split in splits:
        for feature in features_by_split[split].features:
            name = _feature_name(feature)
            entry = features.setdefault(name, {"name": name, "type": TYPES.get(feature.type, str(feature.type)),
                                               "splits": {}, "numeric": None, "unique": None, "chart": None})
            common = _common(feature)
            if common is not None:
                present, missing = common.num_non_missing, common.num_missing
                entry["splits"][split] = {"count": present,
                                          "missing_share": missing / (present + missing) if present + missing else None}
            if split != splits[0]:
                continue
            if feature.HasField("num_stats"):
                stats = feature.num_stats
                entry["numeric"] = {"mean": stats.mean, "std": stats.std_dev, "min": stats.min, "max": stats.max,
                                    "median": stats.median, "zeros": stats.num_zeros}
                standard = [h for h in stats.histograms if h.type == statistics_pb2.Histogram.STANDARD]
                if standard and standard[0].buckets:
                    buckets = standard[0].buckets
                    entry["chart"] = ("histogram", [b.low_value for b in buckets], [b.high_value for b in buckets],
                                      [b.sample_count for b in buckets])
            elif feature.HasField("string_stats"):
                stats = feature.string_stats
                entry["unique"] = stats.unique
                top = list(stats.top_values)[:MAX_CHARTED_VALUES]
                if top and stats.unique < ID_LIKE_DISTINCT_SHARE * common.num_non_missing:
                    entry["top_values"] = [{"value": t.value, "count": t.frequency} for t in top]
                    entry["chart"] = ("bars", [t.value for t in top], [t.frequency for t in top])
    return list(features.values())


def _chart(spec):
    if spec is None:
        return ""
    if spec[0] == "histogram":
        return charts.histogram(*spec[1:], width=2.6, height=0.9)
    return charts.bars(spec[1], spec[2], width=2.6)


def read_anomalies(artifact):
    rows = []
    for split in split_names(artifact):
        content = files.read_bytes(files.join(artifact.uri, f"Split-{split}", ANOMALIES_FILE))
        if content is None:
            continue
        anomalies = anomalies_pb2.Anomalies.FromString(content)
        for feature, info in sorted(anomalies.anomaly_info.items()):
            rows.append({"split": split, "feature": feature,
                         "severity": anomalies_pb2.AnomalyInfo.Severity.Name(info.severity),
                         "short_description": info.short_description, "description": info.description})
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            rows.append({"split": split, "feature": "(dataset)",
                         "severity": anomalies_pb2.AnomalyInfo.Severity.Name(info.severity),
                         "short_description": info.short_description, "description": info.description})
    return rows


def build(run):
    # The statistics ExampleValidator checked: those of the data the run reads (a drift baseline's StatisticsGen
    # outputs the same type under the same key).
    anomalies_artifact = run.artifact(ANOMALIES, key="anomalies")  # Transform's have other keys
    statistics = (run.inputs_of(anomalies_artifact).get("statistics") if anomalies_artifact else None) \
        or run.artifact(STATISTICS, key="statistics")
    if statistics is None:
        return None
    by_split = read_statistics(statistics)
    if not by_split:
        return None
    splits = list(by_split)
    features = _feature_facts(by_split, splits)
    anomalies = read_anomalies(anomalies_artifact) if anomalies_artifact else []
    chart_specs = [feature.pop("chart") for feature in features]
    facts = {"splits": splits, "examples": {s: by_split[s].num_examples for s in splits}, "features": features,
             "anomalies": anomalies, "anomalies_checked": anomalies_artifact is not None,
             "statistics_uri": statistics.uri}
    if anomalies_artifact is not None:
        verdict = "warn" if anomalies else "pass"
        detail = f"{len(anomalies)} anomal{'y' if len(anomalies) == 1 else 'ies'} against the schema" \
            if anomalies else "no anomalies against the schema"
        facts["gates"] = [{"gate": "Data validation", "verdict": verdict, "detail": detail, "anchor": "anomalies"}]
    rendered = [_chart(spec) if i < MAX_CHARTS else "" for i, spec in enumerate(chart_specs)]
    return Section("data", "Data", facts, render(TEMPLATE, f=facts, charts=rendered))
