"""The runs ledger: one row per pipeline run, the table behind 'improve the data with the code fixed'.

A row is built from `COLUMNS`, a list of `Column`s, each with its key (in `runs --format json`), its title in the
table (None: JSON only), how to read its value from a `Run`, and how to print it. Adding a column is one entry
there; the property names it reads are constants of the component that sets them.
"""
import dataclasses
import json
from typing import Any, Callable, Optional

from ml_metadata.proto import metadata_store_pb2

from components.corrections.contract import BASE_DATA_VERSION, CORRECTIONS_APPLIED
from components.drift.contract import ARTIFACT_TYPE_NAME as DRIFT_REPORT, DRIFTED_FEATURES, VERDICT
from components.error_analysis.contract import (PROPERTY_LEVER, PROPERTY_TOP_DIAGNOSIS, PROPERTY_TOP_SLICE,
                                                 PROPERTY_WEAK_SLICES)
from components.label_consistency.contract import KRIPPENDORFF_ALPHA
from components.provenance.contract import DATA_VERSION, INSTRUCTIONS_VERSION
from pipeline import tfma_metrics, tfx_names
from pipeline.mlmd_graph import CACHED, decode, format_time


class Run:
    """One pipeline run's executions and outputs, with the look-ups the columns need."""

    def __init__(self, graph, context):
        self.graph, self.context = graph, context
        self.executions = sorted(graph.store.get_executions_by_context(context.id), key=lambda e: e.id)
        self.outputs = [a for e in self.executions for _, a in graph.outputs(e)]
        examples = _training_examples(graph, self.executions)
        self.examples = examples
        self.example_properties = {k: decode(v) for k, v in examples.custom_properties.items()} if examples else {}
        self.later_runs = 0  # how many runs started after this one; ledger() sets it

    def newest(self, type_name):
        """The run's last output of an artifact type, or None."""
        found = [a for a in self.outputs if self.graph.type_name(a) == type_name]
        return found[-1] if found else None

    def newest_property(self, key):
        """The value of custom property `key` on the run's last output that has it, or None."""
        found = [decode(a.custom_properties[key]) for a in self.outputs if key in a.custom_properties]
        return found[-1] if found else None

    def flag(self, type_name, key):
        """A 0/1 custom property of the run's last output of `type_name` as a bool, or None."""
        artifact = self.newest(type_name)
        return bool(decode(artifact.custom_properties[key])) if artifact else None


@dataclasses.dataclass(frozen=True)
class Column:
    key: str
    title: Optional[str]  # None: in the JSON rows only
    value: Callable[[Run], Any]
    text: Callable[[Any, dict], str] = lambda value, row: str(value)


def _three_digits(value, row):
    return f"{value:.3f}"


COLUMNS = [
    Column("run_id", "run id", lambda run: run.context.name),
    Column("time", "time", lambda run: format_time(run.context.create_time_since_epoch)),
    Column("status", "status", lambda run: _status(run)),
    Column("data_version", "data version", lambda run: run.example_properties.get(DATA_VERSION)),
    Column("base_data_version", None, lambda run: run.example_properties.get(BASE_DATA_VERSION)),
    Column("instructions_version", "instructions",
           lambda run: (run.example_properties.get(INSTRUCTIONS_VERSION) or "")[:12] or None),
    Column("corrections", "corrections",
           lambda run: run.example_properties.get(CORRECTIONS_APPLIED, 0) if run.examples else None),
    Column("span", "span", lambda run: _span(run.examples)),
    Column("drifted_features", None, lambda run: _drift(run, DRIFTED_FEATURES)),
    Column("drift", "drift", lambda run: _drift(run, VERDICT),
           lambda value, row: f"{value} ({', '.join(row['drifted_features'])})" if row["drifted_features"] else value),
    Column("labeler_agreement", "labeler alpha", lambda run: run.newest_property(KRIPPENDORFF_ALPHA),
           _three_digits),
    Column("accuracy", "accuracy", lambda run: _accuracy(run.newest(tfx_names.EVALUATION)),
           _three_digits),
    Column("top_weak_slice", None, lambda run: run.newest_property(PROPERTY_TOP_SLICE) or None),
    Column("lever", None, lambda run: run.newest_property(PROPERTY_LEVER)),  # more data, cleaner labels, cannot tell
    Column("top_diagnosis", None, lambda run: run.newest_property(PROPERTY_TOP_DIAGNOSIS) or None),
    Column("weak_slices", "weak slices", lambda run: run.newest_property(PROPERTY_WEAK_SLICES),
           lambda value, row: f"{value} ({row['top_diagnosis']})" if value else "0"),
    Column("blessed", "blessed",
           lambda run: run.flag(tfx_names.BLESSING, tfx_names.BLESSED)),
    Column("pushed", None, lambda run: run.flag(tfx_names.PUSHED_MODEL, tfx_names.PUSHED)),
    Column("model_id", "model", lambda run: getattr(run.newest(tfx_names.MODEL), "id", None),
           lambda value, row: f"#{value}"),
    Column("executions", None, lambda run: len(run.executions)),
    Column("cached", "cached",
           lambda run: sum(e.last_known_state == CACHED for e in run.executions),
           lambda value, row: f"{value}/{row['executions']}"),
]


def _status(run):
    """complete; data-only (complete, no training stage); failed (an execution failed); killed (an execution was
    left running and a later run started); running (an execution is running in the newest run: it is running, or it
    was killed, which MLMD cannot tell: a process killed with SIGKILL never marks its execution)."""
    states = {e.last_known_state for e in run.executions}
    if metadata_store_pb2.Execution.FAILED in states:
        return "failed"
    if states & {metadata_store_pb2.Execution.RUNNING, metadata_store_pb2.Execution.NEW}:
        return "killed" if run.later_runs else "running"
    if not any(run.graph.component(e) == "Trainer" for e in run.executions):
        return "data-only"
    return "complete"


def _versioned(graph, examples):
    """The nearest Examples at or above `examples` that carry a data version (components that derive Examples
    without carrying provenance over sit between it and the training stage)."""
    frontier = [examples]
    while frontier:
        artifact = frontier.pop(0)
        if DATA_VERSION in artifact.custom_properties:
            return artifact
        execution, _ = graph.producer(artifact)
        if execution is not None:
            frontier += [a for _, a in graph.inputs(execution)
                         if graph.type_name(a) == tfx_names.EXAMPLES]
    return None


def _training_examples(graph, executions):
    """The versioned Examples the run trained on (above Transform's input), or for a data-only run the newest
    versioned Examples it made or reused."""
    for execution in executions:
        outputs = [graph.type_name(a) for _, a in graph.outputs(execution)]
        if tfx_names.TRANSFORM_GRAPH in outputs:
            for key, artifact in graph.inputs(execution):
                if key == tfx_names.EXAMPLES_KEY:
                    return _versioned(graph, artifact)
    candidates = [a for e in executions for _, a in graph.outputs(e)
                  if graph.type_name(a) == tfx_names.EXAMPLES
                  and DATA_VERSION in a.custom_properties]
    return max(candidates, key=lambda a: a.id) if candidates else None


def _span(examples):
    """The span of Examples: ExampleGen records it as a custom property, Examples derived from them as a property."""
    if examples is None:
        return None
    for properties in (examples.custom_properties, examples.properties):
        if "span" in properties:
            return properties["span"].int_value
    return None


def _drift(run, key):
    """A custom property of the run's DriftReport (components/drift), JSON lists decoded; None without one."""
    report = run.newest(DRIFT_REPORT)
    if report is None or key not in report.custom_properties:
        return None
    value = decode(report.custom_properties[key])
    return json.loads(value) if key == DRIFTED_FEATURES and isinstance(value, str) else value


def _accuracy(evaluation):
    """Overall accuracy from the Evaluator's output files (TFMA does not put metrics in MLMD)."""
    return None if evaluation is None else tfma_metrics.overall(evaluation.uri).get(tfma_metrics.ACCURACY_METRIC)


def ledger(graph):
    """One dict per pipeline run (keys: the COLUMNS' keys), oldest first."""
    contexts = graph.store.get_contexts_by_type("pipeline_run")
    runs = [Run(graph, c) for c in sorted(contexts, key=lambda c: (c.create_time_since_epoch, c.id))]
    for i, run in enumerate(runs):
        run.later_runs = len(runs) - 1 - i
    return [{column.key: column.value(run) for column in COLUMNS} for run in runs]


def format_ledger(rows):
    """The ledger as an aligned text table of the columns that have a title."""
    shown = [column for column in COLUMNS if column.title]

    def cell(row, column):
        value = row[column.key]
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else "no"
        return column.text(value, row)

    table = [[column.title for column in shown]] + [[cell(row, column) for column in shown] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(shown))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table)
