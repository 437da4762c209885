"""The run report: one self-contained HTML page, the same facts as JSON, and a data card, for one pipeline run,
built from ML Metadata and the artifacts alone (so any past run, local or on Kubeflow, can be reported).

Each section is a module in `pipeline/report/sections/` with `build(run) -> Section | None`: it finds its
component's outputs through ML Metadata (the run's executions and their output artifacts), returns None when that
component did not run, and otherwise its facts (a dict, its part of the JSON) and its HTML (a Jinja2 template with
autoescaping). Adding a section is one new module and one entry in `SECTIONS`; see README.md in this folder.
"""
import dataclasses
import json
import os
import re

from pipeline.mlmd_graph import Graph, open_store
from pipeline.report import data_card, files, page
from pipeline.report.run_outputs import RunOutputs, find_run
from pipeline.report.sections import (data, drift, error_analysis, labels, model, progress, provenance,
                                     run_summary, suspects)

# Page order. Each entry is a module with `build(run)`.
SECTIONS = [run_summary, data, drift, labels, suspects, model, error_analysis, provenance, progress]


@dataclasses.dataclass
class Report:
    facts: dict  # report.json
    html: str
    data_card: str  # data_card.md
    warnings: list  # what the user should fix, e.g. a data card file that does not exist


def build(graph, run="latest", metadata="", pipeline_name="", data_card_file=""):
    """The report of `run` ('latest' or a run id) in the ML Metadata store behind `graph`."""
    outputs = RunOutputs(graph, find_run(graph, run))
    sections = [s for s in (module.build(outputs) for module in SECTIONS) if s is not None]
    by_anchor = {s.anchor: s.facts for s in sections}
    facts = {"run_id": outputs.run_id, "time": outputs.time, "metadata": metadata,
             "pipeline": pipeline_name or _pipeline_name(graph, outputs.context),
             "gates": page.gates(by_anchor), "sections": by_anchor}
    card_text = files.read_text(data_card_file) if data_card_file else None
    warnings = [] if card_text is not None or not data_card_file else [
        f"[report] data_card_file {data_card_file!r} does not exist: the data card's people-written part "
        f"(motivation, intended use, risks) is missing; write it there (data/data_card.md is the demo's) or set "
        f"the key to \"\""]
    return Report(facts, page.page(facts, sections), data_card.render(facts, card_text, data_card_file), warnings)


def _pipeline_name(graph, context):
    names = [c.name for c in graph.store.get_parent_contexts_by_context(context.id)]
    return names[0] if names else context.name


def file_stem(run_id):
    """A run id as a file name: characters other than letters, digits, '.', '_' and '-' become '-'."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", run_id)


def write(report, html_path):
    """Writes the page to `html_path`, and beside it `<stem>.json` and `<stem>.data_card.md`; returns the paths."""
    stem = html_path[:-len(".html")] if html_path.endswith(".html") else html_path
    paths = {"html": html_path, "json": stem + ".json", "data_card": stem + ".data_card.md"}
    files.write_text(paths["html"], report.html)
    files.write_text(paths["json"], json.dumps(report.facts, indent=1, ensure_ascii=False, default=str) + "\n")
    files.write_text(paths["data_card"], report.data_card)
    return paths


def default_path(output_dir, run_id):
    return os.path.join(output_dir, "reports", file_stem(run_id) + ".html")


def write_for_config(config, run="latest", output=None):
    """Builds the report of `run` from the ML Metadata store `config` names, writes it (by default to
    <output_dir>/reports/<run id>.html) and returns the paths written."""
    from pipeline.configs import metadata_path
    store = metadata_path(config)
    report = build(Graph(open_store(store)), run, metadata=store, pipeline_name=config.pipeline.name,
                   data_card_file=config.report.data_card_file)
    paths = write(report, output or default_path(config.pipeline.output_dir, report.facts["run_id"]))
    paths["warnings"] = report.warnings
    return paths
