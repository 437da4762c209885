"""Model: overall accuracy, accuracy per slice with example counts and a 95% Wilson interval (TFMA's metrics from
the Evaluator), the blessing and the threshold it was judged against, and whether Pusher pushed the model."""
from statsmodels.stats.proportion import proportion_confint

from pipeline.report import charts, files
from pipeline.report.html import Section, number, render
from pipeline.report.run_outputs import BLESSING, EVALUATION, MODEL, PUSHED_MODEL, prop
from pipeline.tfma_metrics import ACCURACY_METRIC, EXAMPLE_COUNT, slice_values
EVAL_CONFIG_FILE = "eval_config.json"  # written by TFMA beside its metrics

TEMPLATE = """
<p class="verdict verdict-{{ 'pass' if f.blessed else 'fail' }}">Model #{{ f.model_id }}:
<strong>{{ "blessed" if f.blessed else "not blessed" }}</strong> (overall accuracy {{ f.overall.accuracy|number }}
{% if f.threshold is not none %}against the bar {{ f.threshold|number }}{% endif %}, on {{ f.overall.examples|number }}
evaluation examples){% if f.pushed %}; pushed to <code>{{ f.pushed_destination }}</code>{% elif f.pushed is not none %}; not pushed{% endif %}.</p>
<div class="row">
<table>
  <thead><tr><th>slice</th><th class="num">accuracy</th><th class="num">95% interval</th><th class="num">examples</th></tr></thead>
  <tbody>
  {% for s in f.slices %}
    <tr><td>{{ s.slice }}</td><td class="num">{{ s.accuracy|number }}</td>
    <td class="num">{% if s.interval %}[{{ s.interval[0]|number }}, {{ s.interval[1]|number }}]{% else %}–{% endif %}</td>
    <td class="num">{{ s.examples|number }}</td></tr>
  {% endfor %}
  </tbody>
</table>
{{ chart }}
</div>
<p class="note">Intervals: Wilson 95% for a proportion (statsmodels); a slice with few examples is wide.
TFMA's output: <code>{{ f.evaluation_uri }}</code></p>
"""


def _slice_name(slice_key):
    parts = []
    for key in slice_key.single_slice_keys:
        kind = key.WhichOneof("kind")
        value = getattr(key, kind) if kind else ""
        parts.append(f"{key.column} = {value.decode('utf-8', 'replace') if isinstance(value, bytes) else value}")
    return ", ".join(parts) or "overall"


def read_slices(evaluation_uri):
    """[{slice, accuracy, examples}] from TFMA's metrics file, overall first."""
    rows = []
    for slice_key, values in slice_values(evaluation_uri):
        accuracy = values.get(ACCURACY_METRIC)
        examples = int(values[EXAMPLE_COUNT]) if EXAMPLE_COUNT in values else None
        interval = None
        if accuracy is not None and examples:
            low, high = proportion_confint(round(accuracy * examples), examples, alpha=0.05, method="wilson")
            interval = [float(low), float(high)]
        rows.append({"slice": _slice_name(slice_key), "accuracy": accuracy, "examples": examples,
                     "interval": interval})
    return sorted(rows, key=lambda r: (r["slice"] != "overall", r["slice"]))


def _threshold(evaluation_uri):
    """The lower bound on accuracy in the eval config TFMA wrote, or None."""
    config = (files.read_json(files.join(evaluation_uri, EVAL_CONFIG_FILE)) or {}).get("evalConfig", {})
    for spec in config.get("metricsSpecs", []):
        for metric in spec.get("metrics", []):
            bound = metric.get("threshold", {}).get("valueThreshold", {}).get("lowerBound")
            if bound is not None:
                return bound
    return None


def build(run):
    evaluation = run.artifact(EVALUATION)
    if evaluation is None:
        return None
    blessing, pushed, model = run.artifact(BLESSING), run.artifact(PUSHED_MODEL), run.artifact(MODEL)
    slices = read_slices(evaluation.uri)
    overall = next((s for s in slices if s["slice"] == "overall"), {"accuracy": None, "examples": None})
    facts = {"model_id": model.id if model else prop(blessing, "current_model_id"),
             "blessed": bool(prop(blessing, "blessed", 0)), "threshold": _threshold(evaluation.uri),
             "overall": overall, "slices": slices,
             "pushed": bool(prop(pushed, "pushed", 0)) if pushed else None,
             "pushed_destination": prop(pushed, "pushed_destination"), "evaluation_uri": evaluation.uri}
    facts["gates"] = [{"gate": "Model blessing", "verdict": "pass" if facts["blessed"] else "fail", "anchor": "model",
                       "detail": f"accuracy {number(overall['accuracy'])} against the bar {number(facts['threshold'])}"
                       + ("; pushed" if facts["pushed"] else "; not pushed" if pushed else "")}]
    shown = [s for s in slices if s["interval"] is not None]
    chart = charts.intervals([f"{s['slice']} (n={s['examples']})" for s in shown], [s["accuracy"] for s in shown],
                             [s["interval"][0] for s in shown], [s["interval"][1] for s in shown],
                             title="accuracy, 95% interval (dashed: bar)", width=4.0,
                             reference=facts["threshold"]) if shown else ""
    return Section("model", "Model", facts, render(TEMPLATE, f=facts, chart=chart))
