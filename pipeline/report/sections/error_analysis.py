"""Error analysis: the trained model's weak slices on the eval split, most valuable first, with their evidence,
diagnosis and advice; "more data or cleaner labels?"; every metadata slice's accuracy with its interval
(components/error_analysis, error_analysis.json)."""
from pipeline.report import charts, files
from pipeline.report.html import Section, render
from pipeline.report.run_outputs import ERROR_ANALYSIS

ANALYSIS_FILE = "error_analysis.json"  # components/error_analysis/component.py ANALYSIS_FILE
REVIEW_FILE = "weak_slice_examples.csv"

TEMPLATE = """
<p class="verdict verdict-{{ 'warn' if f.weak_slices else 'pass' }}">{{ f.verdict }}</p>
{% if f.weak_slices %}
<h3>Weak slices, most valuable first</h3>
<table>
  <thead><tr><th class="num">rank</th><th>slice</th><th class="num">eval examples</th><th class="num">error rate (rest)</th>
  <th class="num">worth, accuracy points [95%]</th><th class="num">q</th><th>diagnosis</th><th>what to do</th></tr></thead>
  <tbody>
  {% for s in f.weak_slices %}
    <tr><td class="num">{{ s.rank }}</td><td>{{ s.slice }}</td><td class="num">{{ s.eval_examples|number }}</td>
    <td class="num">{{ s.error_rate|percent }} ({{ s.error_rate_rest|percent }})</td>
    <td class="num">{{ (100 * s.worth)|number(1) }} [{{ (100 * s.worth_interval[0])|number(1) }}, {{ (100 * s.worth_interval[1])|number(1) }}]</td>
    <td class="num">{{ s.q_value|number }}</td><td>{{ s.diagnosis }}</td><td>{{ s.advice }}</td></tr>
  {% endfor %}
  </tbody>
</table>
<p class="note">{{ f.method_note }} Examples to review: <code>{{ f.review_uri }}</code></p>
{% endif %}
{% if f.levers %}<h3>More data or cleaner labels?</h3><p>{{ f.levers }}</p>{% endif %}
{% if f.metadata_slices %}
<h3>Metadata slices</h3>
<div class="row">
<table>
  <thead><tr><th>column</th><th>value</th><th class="num">eval examples</th><th class="num">accuracy [95% Wilson]</th></tr></thead>
  <tbody>
  {% for m in f.metadata_slices %}
    <tr><td>{{ m.column }}</td><td>{{ m.value }}</td><td class="num">{{ m.examples|number }}</td>
    <td class="num">{{ m.accuracy|percent }} [{{ m.accuracy_interval[0]|percent }}, {{ m.accuracy_interval[1]|percent }}]</td></tr>
  {% endfor %}
  </tbody>
</table>
{{ chart }}
</div>
{% endif %}
"""


def build(run):
    artifact = run.artifact(ERROR_ANALYSIS)
    if artifact is None:
        return None
    analysis = files.read_json(files.join(artifact.uri, ANALYSIS_FILE))
    if analysis is None:
        return None
    levers = analysis.get("levers") or {}
    method = analysis.get("method", {})
    facts = {
        "verdict": analysis.get("verdict", ""),
        "overall": analysis.get("overall", {}),
        "weak_slices": [{k: s.get(k) for k in ("rank", "slice", "eval_examples", "error_rate", "error_rate_rest",
                                               "worth", "worth_interval", "q_value", "diagnosis", "advice")}
                        for s in analysis.get("weak_slices", [])],
        "levers": levers.get("answer") or (f"Not estimated: {levers['skipped']}." if "skipped" in levers else ""),
        "metadata_slices": [{k: m.get(k) for k in ("column", "value", "examples", "accuracy", "accuracy_interval")}
                            for m in analysis.get("metadata_slices", [])],
        "method_note": "; ".join(str(method[k]) for k in ("test", "false_discoveries") if method.get(k)),
        "review_uri": files.join(artifact.uri, REVIEW_FILE),
    }
    facts["gates"] = [{"gate": "Error analysis", "verdict": "warn" if facts["weak_slices"] else "pass",
                       "anchor": "error-analysis",
                       "detail": f"{len(facts['weak_slices'])} weak slice(s) beyond noise"}]
    shown = [m for m in facts["metadata_slices"] if m["accuracy_interval"]]
    chart = charts.intervals([f"{m['column']} = {m['value']}" for m in shown], [m["accuracy"] for m in shown],
                             [m["accuracy_interval"][0] for m in shown], [m["accuracy_interval"][1] for m in shown],
                             title="eval accuracy, 95% interval", width=4.0) if shown else ""
    return Section("error-analysis", "Error analysis", facts, render(TEMPLATE, f=facts, chart=chart))
