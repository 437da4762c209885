"""Drift: the span read against the baseline span, feature by feature (TFDV's effect, PSI, the test's p-value,
missing rates, the verdict and why), drifted features first (components/drift, drift.json)."""
from pipeline.report import charts, files
from pipeline.report.html import Section, render
from pipeline.report.run_outputs import DRIFT, prop

DRIFT_FILE = "drift.json"  # components/drift/component.py DRIFT_FILE
SUMMARY_FILE = "summary.md"
VERDICT_ORDER = ("drift", "possible drift", "no drift", "too little data")  # components/drift/measures.VERDICTS
GATE_VERDICTS = {"drift": "warn", "possible drift": "warn", "no drift": "pass", "too little data": "info"}
COLUMNS = ("feature", "is_label", "verdict", "kind", "effect_measure", "effect", "second_value", "verdict_measure",
           "verdict_effect", "effect_threshold", "test", "p_value", "baseline_count", "current_count",
           "baseline_missing_rate", "current_missing_rate", "reasons", "unseen_categories", "unseen_share")

TEMPLATE = """
<p class="verdict verdict-{{ gate }}">Span {{ f.current_span }} against span {{ f.baseline_span }}
({{ f.split }} split): <strong>{{ f.verdict }}</strong>{% if f.drifted_features %}; drift in
{{ f.drifted_features|join(", ") }}{% endif %}{% if f.possible_drift_features %}; possible drift in
{{ f.possible_drift_features|join(", ") }}{% endif %}.</p>
<div class="row">
<table>
  <thead><tr><th>feature</th><th>verdict</th><th>kind</th><th class="num">TFDV effect</th><th class="num">PSI</th>
  <th class="num">threshold measure</th><th class="num">test p</th><th class="num">values (baseline / current)</th>
  <th class="num">missing (baseline / current)</th><th>why</th></tr></thead>
  <tbody>
  {% for x in f.features %}
    <tr{% if x.verdict in ("drift", "possible drift") %} class="flag"{% endif %}><td>{{ x.feature }}{% if x.is_label %} (label){% endif %}</td>
    <td>{{ x.verdict }}</td><td>{{ x.kind }}</td><td class="num">{{ x.effect_measure }} {{ x.effect|number }}</td>
    <td class="num">{{ x.second_value|number }}</td>
    <td class="num">{{ x.verdict_effect|number }}{% if x.effect_threshold is not none %} (≥ {{ x.effect_threshold }}){% endif %}</td>
    <td class="num">{{ x.p_value|number(4) }}</td><td class="num">{{ x.baseline_count|number }} / {{ x.current_count|number }}</td>
    <td class="num">{{ x.baseline_missing_rate|percent }} / {{ x.current_missing_rate|percent }}</td>
    <td>{{ (x.reasons or [])|join("; ") }}{% if x.unseen_categories %}; unseen values: {{ x.unseen_categories|join(", ")|truncate(200, True) }}{% endif %}</td></tr>
  {% endfor %}
  </tbody>
</table>
{{ chart }}
</div>
<p class="note">Details: <code>{{ f.summary_uri }}</code></p>
"""


def build(run):
    artifact = run.artifact(DRIFT)
    if artifact is None:
        return None
    result = files.read_json(files.join(artifact.uri, DRIFT_FILE))
    if result is None:
        return None
    order = {verdict: i for i, verdict in enumerate(VERDICT_ORDER)}
    features = sorted(({k: f.get(k) for k in COLUMNS} for f in result.get("features", [])),
                      key=lambda f: (order.get(f["verdict"], len(order)), str(f["feature"])))
    verdict = result.get("verdict") or prop(artifact, "verdict", "unknown")
    facts = {"verdict": verdict, "current_span": result.get("current_span"),
             "baseline_span": result.get("baseline_span"), "split": result.get("split"),
             "drifted_features": result.get("drifted_features", []),
             "possible_drift_features": result.get("possible_drift_features", []), "features": features,
             "summary_uri": files.join(artifact.uri, SUMMARY_FILE)}
    gate = GATE_VERDICTS.get(verdict, "info")
    facts["gates"] = [{"gate": "Drift", "verdict": gate, "anchor": "drift",
                       "detail": f"span {facts['current_span']} vs {facts['baseline_span']}: {verdict}"
                       + (f" ({', '.join(facts['drifted_features'])})" if facts["drifted_features"] else "")}]
    if facts["drifted_features"] or facts["possible_drift_features"]:
        facts["data_card_issues"] = [f"drift from span {facts['baseline_span']} to {facts['current_span']}: "
                                     + ", ".join(facts["drifted_features"] + facts["possible_drift_features"])]
    charted = [f for f in features if f["verdict_effect"] is not None and f["effect_threshold"]]
    chart = charts.bars([f["feature"] for f in charted], [f["verdict_effect"] / f["effect_threshold"] for f in charted],
                        title="effect ÷ its threshold", value_format="{:.2f}", width=3.0) if charted else ""
    return Section("drift", "Drift", facts, render(TEMPLATE, f=facts, gate=gate, chart=chart))
