"""One pipeline run as ML Metadata records it: its executions, in order, and the artifacts each one output.

A section finds its component's results here by artifact type and output key, never by directory name, so a run
on Kubeflow (artifacts on cloud storage) reads the same. A cached execution has OUTPUT events to the artifacts it
reused, so a cached re-run's report shows the same findings (and gate verdicts) as the run that computed them.
"""
from pipeline.mlmd_graph import CACHED, LineageError, decode, format_time

# Artifact type names, as strings: importing the TFX classes would import TensorFlow. tests/test_report_units.py
# checks they equal the components' TYPE_NAMEs.
from pipeline.tfx_names import ANOMALIES, BLESSING, EVALUATION, EXAMPLES, MODEL, PUSHED_MODEL, SCHEMA, STATISTICS  # noqa: E402,F401
# A type renamed since: the current name first, then the name older runs recorded.
LABEL_CONSISTENCY = ("components.LabelConsistencyReport", "components.LabelConsistency")
LABEL_ISSUES = "components.LabelIssues"
LABEL_CONFLICTS = "components.LabelConflicts"
REVIEW_QUEUE = "components.LabelReviewQueue"
CORRECTIONS = "components.Corrections"
ERROR_ANALYSIS = "components.ErrorAnalysisResult"
DRIFT = "components.DriftReport"

STATES = {1: "new", 2: "running", 3: "complete", 4: "failed", 5: "cached", 6: "canceled"}


def find_run(graph, run="latest"):
    """The `pipeline_run` context named `run` (a run id, or a unique prefix of one), or the newest."""
    contexts = sorted(graph.store.get_contexts_by_type("pipeline_run"), key=lambda c: (c.create_time_since_epoch, c.id))
    if not contexts:
        raise LineageError("the ML Metadata store holds no pipeline run yet; run the pipeline first")
    if run == "latest":
        return contexts[-1]
    matches = [c for c in contexts if c.name == run] or [c for c in contexts if c.name.startswith(run)]
    if len(matches) != 1:
        known = ", ".join(c.name for c in contexts[-5:])
        what = "no run" if not matches else f"{len(matches)} runs"
        raise LineageError(f"{what} with id {run!r} in the ML Metadata store; the newest runs are: {known} "
                           f"(python -m pipeline runs lists them all)")
    return matches[0]


class RunOutputs:
    def __init__(self, graph, context):
        self.graph = graph
        self.context = context
        self.run_id = context.name
        self.time = format_time(context.create_time_since_epoch)
        self.executions = sorted(graph.store.get_executions_by_context(context.id), key=lambda e: e.id)
        # (component id, output key, artifact) for every output of every execution, in execution order.
        self.outputs = [(graph.component(e), key, a) for e in self.executions for key, a in graph.outputs(e)]

    def components(self):
        return [self.graph.component(e) for e in self.executions]

    def artifact(self, type_name, key=None):
        """The run's last output of `type_name` (or of any name in a tuple of names), under output key `key` when
        given; None when the run made none."""
        names = (type_name,) if isinstance(type_name, str) else type_name
        found = [a for _, k, a in self.outputs
                 if self.graph.type_name(a) in names and (key is None or k == key)]
        return found[-1] if found else None

    def inputs_of(self, artifact):
        """{input key: artifact} of the run's execution that output `artifact`."""
        execution = self.execution_of(artifact)
        return dict(self.graph.inputs(execution)) if execution else {}

    def producer_component(self, artifact):
        execution, _ = self.graph.producer(artifact)
        return self.graph.component(execution) if execution else None

    def execution_of(self, artifact):
        """The run's execution that output `artifact` (a cache hit when the run reused it)."""
        for execution in self.executions:
            if any(a.id == artifact.id for _, a in self.graph.outputs(execution)):
                return execution
        return None

    def steps(self):
        """One dict per execution: component, state, start, seconds, and the execution it reused when cached."""
        rows = []
        for execution in self.executions:
            state = STATES.get(execution.last_known_state, str(execution.last_known_state))
            seconds = (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000
            rows.append({"component": self.graph.component(execution), "execution_id": execution.id,
                         "state": state, "start": format_time(execution.create_time_since_epoch),
                         "start_ms": execution.create_time_since_epoch, "seconds": round(seconds, 1),
                         "cached": execution.last_known_state == CACHED})
        return rows


def prop(artifact, key, default=None):
    """A custom property of an artifact or execution, decoded; `default` when absent."""
    if artifact is None or key not in artifact.custom_properties:
        return default
    return decode(artifact.custom_properties[key])
