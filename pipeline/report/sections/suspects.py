"""Suspect examples: likely label errors (noise rate per class, overlapping class pairs; LabelErrors), X->y
conflicts (Conflicts), and the top of the review queue (ReviewQueue), with the path of the queue's CSV and how to
turn it into a corrections file."""
from components.safe_text import restore_cell
from pipeline.report import charts, files
from pipeline.report.html import Section, render
from pipeline.report.run_outputs import LABEL_CONFLICTS, LABEL_ISSUES, REVIEW_QUEUE

ISSUES_SUMMARY = "summary.json"  # components/label_errors/executor.py
CONFLICTS_SUMMARY, CONFLICTS_FILE = "summary.json", "conflicts.csv"  # components/conflicts/executor.py
QUEUE_SUMMARY, QUEUE_FILE = "summary.json", "review_queue.csv"  # components/review_queue/executor.py
QUEUE_SHOWN = 15  # rows of the review queue on the page
CONFLICT_ROWS_SHOWN = 30
QUEUE_COLUMNS = ("priority", "example_id", "given_label", "suggested_label", "reasons")

TEMPLATE = """
{% if "review_queue" in f %}{% set q = f.review_queue %}
<h3 id="review-queue">Review queue: {{ q.rows|number }} example(s), top {{ q.top|length }}</h3>
<p>Ranked by the number of independent signals, then label quality, then labeler agreement
({% for finder, n in q.rows_per_finder.items() %}{{ n }} from {{ finder }}{% if not loop.last %}, {% endif %}{% endfor %}).</p>
<table class="queue">
  <thead><tr>{% for column in q.columns %}<th>{{ column }}</th>{% endfor %}</tr></thead>
  <tbody>
  {% for row in q.top %}
    <tr>{% for column in q.columns %}<td>{{ row[column]|truncate(300, True) }}</td>{% endfor %}</tr>
  {% endfor %}
  </tbody>
</table>
<p>The full queue: <code>{{ q.uri }}</code>. To fix labels with the code held fixed: fill in its
<code>corrected_label</code>, <code>reviewer</code> and <code>reason</code> columns for the rows you reviewed, save it,
set <code>[labels] corrections_file</code> to that file in your config and run again; the run gets a new data version.</p>
{% endif %}
{% if "label_errors" in f %}{% set e = f.label_errors %}
<h3 id="label-errors">Likely label errors (confident learning)</h3>
<p>{{ e.label_issues|number }} likely label error(s) among {{ e.analysed|number }} examples; estimated noise rate
<strong>{{ e.estimated_noise_rate|percent }}</strong> ({{ e.method }}).</p>
<div class="row">
<table>
  <thead><tr><th>class</th><th class="num">examples</th><th class="num">flagged</th><th class="num">estimated noise rate</th></tr></thead>
  <tbody>
  {% for c in e.classes %}
    <tr><td>{{ c["class"] }}</td><td class="num">{{ c.examples|number }}</td><td class="num">{{ c.label_issues|number }}</td>
    <td class="num">{{ c.estimated_noise_rate|percent }}</td></tr>
  {% endfor %}
  </tbody>
</table>
{{ noise_chart }}
</div>
{% if e.overlapping_classes %}
<p>Most overlapping class pairs (candidates to merge or define more clearly):
{% for o in e.overlapping_classes %}<strong>{{ o.class_a }}</strong> / <strong>{{ o.class_b }}</strong>
({{ o.overlapping_examples }} examples, joint probability {{ o.joint_probability|number }}){% if not loop.last %}; {% endif %}{% endfor %}.</p>
{% endif %}
<p class="note">All flagged examples: <code>{{ e.uri }}</code></p>
{% endif %}
{% if "conflicts" in f %}{% set c = f.conflicts %}
<h3 id="conflicts">X->y conflicts</h3>
<p>{{ c.groups|number }} group(s) of near-identical examples with different labels, {{ c.examples_in_conflict|number }}
examples ({% for p in c.label_pairs %}{{ p.labels|join(" vs ") }}: {{ p.pairs }}{% if not loop.last %}; {% endif %}{% else %}none{% endfor %}).</p>
{% if c.rows %}
<table>
  <thead><tr>{% for column in c.columns %}<th>{{ column }}</th>{% endfor %}</tr></thead>
  <tbody>
  {% for row in c.rows %}
    <tr>{% for column in c.columns %}<td>{{ row[column]|truncate(300, True) }}</td>{% endfor %}</tr>
  {% endfor %}
  </tbody>
</table>
{% endif %}
<p class="note">All groups: <code>{{ c.uri }}</code></p>
{% endif %}
"""


def _label_errors(artifact):
    summary = files.read_json(files.join(artifact.uri, ISSUES_SUMMARY))
    if summary is None:
        return None
    method = summary.get("method", {})
    return {"label_issues": summary["counts"]["label_issues"], "analysed": summary["counts"]["analysed"],
            "estimated_noise_rate": summary.get("estimated_noise_rate"),
            "method": f"{method.get('model', '?')}, {method.get('folds', '?')}-fold out-of-sample probabilities",
            "classes": summary.get("classes", []), "overlapping_classes": summary.get("overlapping_classes", [])[:5],
            "uri": artifact.uri}


def _conflicts(artifact):
    summary = files.read_json(files.join(artifact.uri, CONFLICTS_SUMMARY))
    if summary is None:
        return None
    columns, rows, total = files.read_csv(files.join(artifact.uri, CONFLICTS_FILE), CONFLICT_ROWS_SHOWN)
    return {"groups": summary["groups"], "examples_in_conflict": summary["examples_in_conflict"],
            "label_pairs": summary.get("label_pairs", []), "columns": columns or [],
            "rows": [{k: restore_cell(v) for k, v in row.items()} for row in rows],
            "rows_total": total, "uri": files.join(artifact.uri, CONFLICTS_FILE)}


def _review_queue(artifact):
    summary = files.read_json(files.join(artifact.uri, QUEUE_SUMMARY))
    uri = files.join(artifact.uri, QUEUE_FILE)
    header, top, total = files.read_csv(uri, QUEUE_SHOWN)
    if header is None:
        return None
    columns = [c for c in QUEUE_COLUMNS if c in header]
    return {"rows": total, "rows_per_finder": (summary or {}).get("rows_per_finder", {}), "columns": columns,
            "top": [{c: restore_cell(row.get(c) or "") for c in columns} for row in top], "uri": uri}


def build(run):
    found = {"label_errors": run.artifact(LABEL_ISSUES), "conflicts": run.artifact(LABEL_CONFLICTS),
             "review_queue": run.artifact(REVIEW_QUEUE)}
    readers = {"label_errors": _label_errors, "conflicts": _conflicts, "review_queue": _review_queue}
    facts = {name: readers[name](artifact) for name, artifact in found.items() if artifact is not None}
    facts = {name: value for name, value in facts.items() if value is not None}
    if not facts:
        return None
    noise_chart = ""
    if "label_errors" in facts and facts["label_errors"]["classes"]:
        classes = facts["label_errors"]["classes"]
        noise_chart = charts.bars([c["class"] for c in classes], [100 * c["estimated_noise_rate"] for c in classes],
                                  title="estimated noise rate per class (%)", value_format="{:.1f}")
    if "review_queue" in facts:
        facts["gates"] = [{"gate": "Review queue", "verdict": "info", "anchor": "review-queue",
                           "detail": f"{facts['review_queue']['rows']} example(s) to review"}]
    return Section("suspects", "Suspect examples", facts, render(TEMPLATE, f=facts, noise_chart=noise_chart))
