"""Labels: the agreement gate; per class Krippendorff's alpha, Fleiss' kappa and positive specific agreement;
Cohen's kappa per labeler pair with its interval; each labeler's confusion matrix against the consensus of the
others; the classes whose labeling instructions need revision, worst first (LabelConsistency's metrics.json)."""
from pipeline.report import charts, files
from pipeline.report.html import Section, number, render
from pipeline.report.run_outputs import LABEL_CONSISTENCY, prop

METRICS_FILE = "metrics.json"  # components/label_consistency/executor.py
SUMMARY_FILE = "summary.md"

TEMPLATE = """
<p class="verdict verdict-{{ f.gate.status }}">Agreement gate: <strong>{{ f.gate.status|upper }}</strong>{% if f.gate.reasons %}: {{ f.gate.reasons|join("; ") }}{% endif %}

 (thresholds: alpha {{ f.gate.min_agreement }} overall, {{ f.gate.min_class_agreement }} per class).</p>
{% if f.classes_to_review %}
<p id="revise">Revise the labeling instructions for, worst first:
{% for c in f.classes_to_review %}<strong>{{ c }}</strong>{% if not loop.last %}, {% endif %}{% endfor %}.</p>
{% endif %}
<dl class="facts">
  <dt>Krippendorff's alpha (nominal, all labels)</dt><dd>{{ f.krippendorff_alpha|number }}</dd>
  <dt>Fleiss' kappa</dt><dd>{{ f.fleiss_kappa|number }} ({{ f.fleiss_n_examples|number }} examples labeled by every labeler)</dd>
  <dt>human-level performance estimate</dt><dd>{{ f.hlp_estimate|number }}</dd>
  <dt>examples, labelers</dt><dd>{{ f.n_examples|number }} examples, {{ f.n_labelers }} labelers;
  {{ f.n_examples_fewer_than_two_labels|number }} with fewer than two labels</dd>
</dl>
<div class="row">
<table>
  <thead><tr><th>class (worst first)</th><th class="num">alpha (class vs rest)</th><th class="num">Fleiss kappa</th>
  <th class="num">positive specific agreement</th><th class="num">labels</th></tr></thead>
  <tbody>
  {% for c in f.per_class %}
    <tr{% if c.name in f.classes_to_review %} class="flag"{% endif %}><td>{{ c.name }}</td>
    <td class="num">{{ c.krippendorff_alpha|number }}</td><td class="num">{{ c.fleiss_kappa|number }}</td>
    <td class="num">{{ c.positive_specific_agreement|number }}</td><td class="num">{{ c.support|number }}</td></tr>
  {% endfor %}
  </tbody>
</table>
{{ class_chart }}
</div>
<h3>Labeler pairs: Cohen's kappa with 95% interval</h3>
<table>
  <thead><tr><th>pair</th><th class="num">kappa</th><th class="num">95% interval</th><th class="num">examples</th></tr></thead>
  <tbody>
  {% for p in f.cohen_kappa %}
    <tr><td>{{ p.pair }}</td><td class="num">{{ p.value|number }}</td>
    <td class="num">{% if p.ci95 %}[{{ p.ci95[0]|number }}, {{ p.ci95[1]|number }}]{% else %}–{% endif %}</td>
    <td class="num">{{ p.n|number }}</td></tr>
  {% endfor %}
  </tbody>
</table>
<p class="note">{{ f.cohen_kappa_ci_method }}</p>
<h3>Each labeler against the consensus of the others</h3>
<div class="row">
{% for l in f.labelers %}
  <figure><figcaption>{{ l.name }}: agreement {{ l.agreement_with_consensus|number }} on {{ l.n_compared|number }} examples</figcaption>
  {{ heatmaps[loop.index0] }}</figure>
{% endfor %}
</div>
<p class="note">Rows: the leave-one-out consensus of the other labelers; columns: this labeler. Details:
<code>{{ f.summary_uri }}</code></p>
"""


def build(run):
    artifact = run.artifact(LABEL_CONSISTENCY)
    if artifact is None:
        return None
    metrics = files.read_json(files.join(artifact.uri, METRICS_FILE))
    if metrics is None:
        return None
    gate = metrics.get("gate") or {"status": prop(artifact, "gate", "unknown"), "reasons": []}
    per_class = [{"name": name, **metrics["per_class"][name]}
                 for name in metrics.get("class_ranking", sorted(metrics.get("per_class", {})))]
    labelers = [{"name": name, **values} for name, values in metrics.get("labelers", {}).items()]
    facts = {
        "gate": {"status": gate.get("status", "unknown"), "reasons": gate.get("reasons", []),
                 "min_agreement": gate.get("min_agreement"), "min_class_agreement": gate.get("min_class_agreement")},
        "classes_to_review": metrics.get("classes_to_review", []),
        "krippendorff_alpha": metrics.get("krippendorff_alpha"), "fleiss_kappa": metrics.get("fleiss_kappa"),
        "fleiss_n_examples": metrics.get("fleiss_n_examples"), "hlp_estimate": metrics.get("hlp_estimate"),
        "n_examples": metrics.get("n_examples"), "n_labelers": metrics.get("n_labelers"),
        "n_examples_fewer_than_two_labels": metrics.get("n_examples_fewer_than_two_labels"),
        "per_class": per_class,
        "cohen_kappa": [{"pair": pair.replace("|", " / "), **values}
                        for pair, values in metrics.get("cohen_kappa", {}).items()],
        "cohen_kappa_ci_method": metrics.get("cohen_kappa_ci_method", ""),
        "labelers": labelers,
        "summary_uri": files.join(artifact.uri, SUMMARY_FILE),
    }
    facts["gates"] = [{"gate": "Labeler agreement", "verdict": facts["gate"]["status"], "anchor": "labels",
                       "detail": "; ".join(facts["gate"]["reasons"]) or
                       f"Krippendorff's alpha {number(facts['krippendorff_alpha'])}"}]
    charted = [c for c in per_class if c.get("krippendorff_alpha") is not None]
    class_chart = charts.bars([c["name"] for c in charted], [c["krippendorff_alpha"] for c in charted],
                              title="alpha per class (worst first)", value_format="{:.3f}") if charted else ""
    heatmaps = []
    for labeler in labelers:
        matrix = labeler.get("confusion_vs_consensus") or {}
        heatmaps.append(charts.heatmap(matrix["matrix"], matrix["classes"], matrix["classes"],
                                       xlabel=labeler["name"], ylabel="others' consensus")
                        if matrix.get("matrix") else "")
    return Section("labels", "Labels", facts, render(TEMPLATE, f=facts, class_chart=class_chart, heatmaps=heatmaps))
