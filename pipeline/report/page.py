"""The page around the sections: one self-contained HTML file, no script, no network.

The Content-Security-Policy allows nothing to load (`default-src 'none'`) and no script to run (no `script-src`
falls back to 'none'); inline styles are allowed because matplotlib's SVG charts carry style attributes, and CSS
cannot reach the network when every fetch directive is 'none'. The facts are embedded as JSON in a non-executable
`application/json` block, through Jinja's `tojson`, which escapes `<`, `>`, `&` and `'` so no value can close it.
"""
import markupsafe

from pipeline.report.html import render

CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
VERDICT_ORDER = {"fail": 0, "warn": 1, "pass": 2, "info": 3}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:0;background:#fafafa}
header{background:#243447;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#cdd6e0}nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;
padding:6px 24px;z-index:1}nav a{margin-right:14px;color:#2a5d9f;text-decoration:none}main{padding:0 24px 40px;
max-width:1200px}section{background:#fff;border:1px solid #e2e2e2;border-radius:6px;margin:18px 0;padding:6px 18px 14px}
h2{font-size:18px;border-bottom:1px solid #eee;padding-bottom:4px}h3{font-size:15px;margin-top:18px}
table{border-collapse:collapse;margin:8px 0;font-size:13px;display:block;overflow-x:auto;max-width:100%}th,td{border-bottom:1px solid #eee;padding:3px 8px;
text-align:left;vertical-align:top;overflow-wrap:break-word;max-width:520px}th{background:#f4f6f8}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}code,pre{font:12px ui-monospace,Menlo,Consolas,monospace}
pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:420px;white-space:pre-wrap;overflow-wrap:anywhere}
.gates{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}.gate{border-radius:6px;padding:8px 12px;min-width:200px;
border:1px solid #ccc;background:#fff}.gate a{color:inherit}.gate b{display:block}
.verdict-pass{border-color:#2e7d32;background:#eef7ee}.verdict-warn{border-color:#b26a00;background:#fff6e5}
.verdict-fail{border-color:#c62828;background:#fdeceb}.verdict-info{border-color:#3b6ea5;background:#eef3f9}
p.verdict{padding:8px 12px;border:1px solid;border-radius:6px}.row{display:flex;flex-wrap:wrap;gap:18px;
align-items:flex-start}figure{margin:0}figcaption{font-size:12px;color:#555}svg.chart{max-width:100%;height:auto}
tr.flag td{background:#fff6e5}tr.this-run td{font-weight:600}.note{color:#666;font-size:12px}.ok{color:#2e7d32}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:2px 14px}dl.facts dt{color:#555}dl.facts dd{margin:0;
overflow-wrap:anywhere}.state-failed{color:#c62828;font-weight:600}.state-cached{color:#777}
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Run report {{ facts.run_id }} · {{ facts.pipeline }}</title>
<style>{{ css }}</style>
</head>
<body>
<header><h1>Run report: {{ facts.pipeline }}</h1>
<p>run <code>{{ facts.run_id }}</code> · {{ facts.time }} · built from ML Metadata <code>{{ facts.metadata }}</code></p></header>
<nav>{% for s in sections %}<a href="#{{ s.anchor }}">{{ s.title }}</a>{% endfor %}</nav>
<main>
<div class="gates" id="gates">
{% for g in gates %}
  <div class="gate verdict-{{ g.verdict }}"><a href="#{{ g.anchor }}"><b>{{ g.gate }}: {{ g.verdict|upper }}</b></a>{{ g.detail }}</div>
{% else %}
  <div class="gate verdict-info"><b>No gates ran in this run.</b></div>
{% endfor %}
</div>
{% for s in sections %}
<section id="{{ s.anchor }}"><h2>{{ s.title }}</h2>
{{ s.html }}
</section>
{% endfor %}
<p class="note">Rebuild this page: <code>python -m pipeline report --run {{ facts.run_id }}</code>.
Made by tfx-datacentric; the same facts are in the JSON block below and in the report's .json file.</p>
</main>
<script type="application/json" id="report-facts">{{ facts|tojson }}</script>
</body>
</html>
"""


def gates(facts_by_section):
    """Every section's gate verdicts, failures first."""
    found = [gate for facts in facts_by_section.values() for gate in facts.get("gates", [])]
    return sorted(found, key=lambda g: VERDICT_ORDER.get(g["verdict"], 1))


def page(facts, sections):
    """The whole HTML document for a report's facts and its rendered sections."""
    return str(render(TEMPLATE, facts=facts, sections=sections, gates=facts["gates"], css=markupsafe.Markup(CSS),
                      csp=CONTENT_SECURITY_POLICY))
