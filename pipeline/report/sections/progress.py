"""Progress over runs: the runs ledger up to this run as a chart, labeler agreement and accuracy per run with the
data version and corrections, the picture of "hold the code fixed, improve the data"."""
from pipeline.report import charts
from pipeline.report.html import Section, render

TEMPLATE = """
{{ chart }}
<table>
  <thead><tr><th>run</th><th>data version</th><th>instructions</th><th class="num">corrections</th>
  <th class="num">labeler alpha</th><th class="num">accuracy</th><th>blessed</th><th class="num">cached</th></tr></thead>
  <tbody>
  {% for r in f.runs %}
    <tr{% if r.run_id == f.this_run %} class="this-run"{% endif %}><td>{{ r.run_id }}</td><td><code>{{ r.data_version or "–" }}</code></td>
    <td><code>{{ r.instructions_version or "–" }}</code></td><td class="num">{{ r.corrections|number }}</td>
    <td class="num">{{ r.labeler_agreement|number }}</td><td class="num">{{ r.accuracy|number }}</td>
    <td>{{ r.blessed|number }}</td><td class="num">{{ r.cached }}/{{ r.executions }}</td></tr>
  {% endfor %}
  </tbody>
</table>
<p class="note"><code>python -m pipeline runs</code> prints the whole ledger.</p>
"""


def build(run):
    from pipeline.ledger import ledger  # reads every run's evaluation: only when the report is built
    rows = ledger(run.graph)
    shown = []
    for row in rows:
        shown.append(row)
        if row["run_id"] == run.run_id:
            break
    facts = {"this_run": run.run_id, "runs": shown}
    labels = [f"{r['run_id'][:19]}\n{r['data_version'] or ''}" for r in shown]
    series = {"labeler agreement (alpha)": [r["labeler_agreement"] for r in shown],
              "accuracy": [r["accuracy"] for r in shown]}
    chart = charts.lines(labels, series, title="Per run: labeler agreement and accuracy (data version below)")
    return Section("progress", "Progress over runs", facts, render(TEMPLATE, f=facts, chart=chart))
