"""Provenance and lineage: where the data came from (source, owner, collection window, labelers, the
data-inventory facts, what it holds), as the Provenance component recorded it in ML Metadata, and the chain of
artifacts and executions behind the run's final output."""
from pipeline import lineage
from pipeline.report import charts
from pipeline.report.html import Section, render
from pipeline.report.run_outputs import EXAMPLES, MODEL, PUSHED_MODEL, prop

SOURCE_KEYS = ("source_name", "source_uri", "owner", "collection_window", "instructions_file",
               "instructions_version", "data_version", "base_data_version", "corrections_applied")

TEMPLATE = """
<dl class="facts">
{% for key, value in f.source.items() %}<dt>{{ key|replace("_", " ") }}</dt><dd>{{ value }}</dd>{% endfor %}
  <dt>labelers</dt><dd>{{ f.labelers|join(", ") or "–" }}</dd>
{% for key, value in f.inventory.items() %}<dt>{{ key|replace("_", " ") }}</dt><dd>{{ value }}</dd>{% endfor %}
  <dt>examples per split</dt><dd>{% for split, n in f.examples_per_split.items() %}{{ split }} {{ n|number }}{% if not loop.last %}, {% endif %}{% endfor %}</dd>
  <dt>input files</dt><dd>{% for file in f.input_files %}<code>{{ file.name }}</code> ({{ file.bytes|number }} bytes, sha256 <code>{{ (file.sha256 or "")[:12] }}</code>){% if not loop.last %}, {% endif %}{% else %}–{% endfor %}</dd>
</dl>
<div class="row">{% for chart in counts_charts %}{{ chart }}{% endfor %}</div>
<h3 id="lineage">Lineage of {{ f.lineage_of }}</h3>
<p>Each artifact, the execution that made it, what that execution recorded, then its inputs (from ML Metadata's events;
<code>python -m pipeline lineage</code> prints the same).</p>
<pre class="lineage">{{ f.lineage|join("\n") }}</pre>
"""


def _by_count(counts):
    """Counts most frequent first (ML Metadata keeps a JSON property's keys in no fixed order)."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def build(run):
    versioned = [a for _, _, a in run.outputs if run.graph.type_name(a) == EXAMPLES
                 and "data_version" in a.custom_properties]
    if not versioned:
        return None
    examples = versioned[-1]
    source = {key: prop(examples, key) for key in SOURCE_KEYS if prop(examples, key) not in (None, "", 0)}
    files = prop(examples, "input_files", {})
    facts = {"source": source, "labelers": prop(examples, "labelers", []),
             "inventory": {k: v for k, v in (prop(examples, "data_inventory") or {}).items() if v},
             "examples_per_split": prop(examples, "examples_per_split", {}),
             "label_counts": _by_count(prop(examples, "label_counts", {})),
             "metadata_counts": {column: _by_count(counts)
                                 for column, counts in sorted(prop(examples, "metadata_counts", {}).items())},
             "input_files": files.get("files", []) if isinstance(files, dict) else []}
    final = run.artifact(PUSHED_MODEL) or run.artifact(MODEL) or run.outputs[-1][2]
    facts["lineage_of"] = f"{run.graph.type_name(final)} #{final.id}"
    facts["lineage"] = lineage.upstream_lines(run.graph, final)
    counts = {"label": facts["label_counts"], **facts["metadata_counts"]}
    counts_charts = [charts.bars(list(values), list(values.values()), title=f"examples per {name}", width=2.4)
                     for name, values in counts.items() if values]
    return Section("provenance", "Provenance and lineage", facts, render(TEMPLATE, f=facts, counts_charts=counts_charts))
