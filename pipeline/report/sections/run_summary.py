"""Run: every component's state, time and cache use as a timeline; the versions of data, instructions and code;
the configuration each component ran with (its execution properties in ML Metadata)."""
import json

from pipeline.mlmd_graph import decode
from pipeline.report import charts
from pipeline.report.html import Section, render
from pipeline.report.run_outputs import EXAMPLES, prop

# Execution properties that are TFX bookkeeping or restate the pipeline's wiring, not choices a user made.
HIDDEN = {"__schema__relative__", "output_data_format", "output_file_format", "input_fingerprint", "span",
          "version", "fairness_indicator_thresholds", "example_splits", "custom_config"}
CODE_PROPERTIES = ("preprocessing_fn", "run_fn", "module_file", "module_path")
MAX_VALUE_CHARS = 400

TEMPLATE = """
<p>Run <code>{{ f.run_id }}</code>, started {{ f.time }}: <strong>{{ f.status }}</strong>;
{{ f.steps|length }} components, {{ f.cached }} served from TFX's cache.</p>
<dl class="facts">
  <dt>data version</dt><dd><code>{{ f.versions.data_version or "–" }}</code>
  {% if f.versions.base_data_version %} (corrected from <code>{{ f.versions.base_data_version }}</code>,
  {{ f.versions.corrections_applied }} correction(s)){% endif %}</dd>
  <dt>labeling instructions</dt><dd><code>{{ (f.versions.instructions_version or "–")[:12] }}</code>
  {% if f.versions.instructions_file %}({{ f.versions.instructions_file }}){% endif %}</dd>
  <dt>code</dt><dd>{% for key, value in f.versions.code.items() %}{{ key }} <code>{{ value }}</code>{% if not loop.last %}, {% endif %}{% else %}–{% endfor %}</dd>
</dl>
{{ chart }}
<table>
  <thead><tr><th>component</th><th>state</th><th>started</th><th class="num">seconds</th><th>execution</th></tr></thead>
  <tbody>
  {% for step in f.steps %}
    <tr><td>{{ step.component }}</td><td class="state-{{ step.state }}">{{ step.state }}</td><td>{{ step.start }}</td>
    <td class="num">{{ step.seconds }}</td><td>#{{ step.execution_id }}</td></tr>
  {% endfor %}
  </tbody>
</table>
<details><summary>Configuration (each component's execution properties)</summary>
<table class="config">
  {% for component, values in f.config.items() %}
    {% for key, value in values.items() %}
    <tr>{% if loop.first %}<th rowspan="{{ values|length }}">{{ component }}</th>{% endif %}<td>{{ key }}</td>
    <td><code>{{ value|truncate(max_chars, True) }}</code></td></tr>
    {% endfor %}
  {% endfor %}
</table>
</details>
"""


def _value(value):
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def build(run):
    steps = run.steps()
    examples = [a for _, _, a in run.outputs if run.graph.type_name(a) == EXAMPLES
                and "data_version" in a.custom_properties]
    data = examples[-1] if examples else None
    config, code = {}, {}
    for execution in run.executions:
        values = {k: _value(decode(v)) for k, v in sorted(execution.custom_properties.items()) if k not in HIDDEN}
        config[run.graph.component(execution)] = {k: v for k, v in values.items() if v not in ("", "null")}
        code.update({k: v for k, v in values.items() if k in CODE_PROPERTIES and v})
    tfx_versions = sorted({prop(a, "tfx_version") for _, _, a in run.outputs if prop(a, "tfx_version")})
    if tfx_versions:
        code["tfx"] = ", ".join(tfx_versions)
    failed = [s["component"] for s in steps if s["state"] == "failed"]
    unfinished = [s["component"] for s in steps if s["state"] not in ("complete", "cached", "failed")]
    status = (f"failed in {', '.join(failed)}" if failed else
              f"not finished ({', '.join(unfinished)})" if unfinished else "complete")
    facts = {
        "run_id": run.run_id, "time": run.time, "status": status, "steps": steps,
        "cached": sum(s["cached"] for s in steps),
        "versions": {
            "data_version": prop(data, "data_version"), "base_data_version": prop(data, "base_data_version"),
            "corrections_applied": prop(data, "corrections_applied", 0),
            "instructions_version": prop(data, "instructions_version"),
            "instructions_file": prop(data, "instructions_file"), "code": code},
        "config": config,
    }
    start = min((s["start_ms"] for s in steps), default=0)
    chart = charts.timeline([(s["component"], (s["start_ms"] - start) / 1000, s["seconds"], s["cached"])
                             for s in steps], title="Components over time") if steps else ""
    return Section("run", "Run", facts, render(TEMPLATE, f=facts, chart=chart, max_chars=MAX_VALUE_CHARS))
