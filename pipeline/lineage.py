"""Lineage and the runs ledger, read from ML Metadata's graph (events between artifacts and executions).

Nothing here looks at directory names: an artifact's producer is the execution with an OUTPUT event to it, the
producer's parents are the artifacts of its INPUT events, and a pipeline run is a `pipeline_run` context.
`python -m pipeline lineage` and `python -m pipeline runs` print what these functions return.
"""
import datetime
import json
import os

from google.protobuf import json_format
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

INPUT, OUTPUT = metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.OUTPUT
CACHED = metadata_store_pb2.Execution.CACHED
# TFX bookkeeping and ExampleGen internals: not provenance, left out of the printed properties.
HIDDEN_PROPERTIES = {"tfx_version", "state", "name", "producer_component", "is_external", "payload_format",
                     "file_format", "input_fingerprint", "split_names", "input_files", "data_fingerprint"}
ACCURACY = "sparse_categorical_accuracy"  # the metric pipeline/pipeline.py's eval_config blesses on


class LineageError(ValueError):
    """A question ML Metadata cannot answer as asked (no store, no such model or data version)."""


def open_store(path):
    """A read-only connection to the SQLite ML Metadata store at `path`."""
    if not os.path.isfile(path):
        raise LineageError(f"no ML Metadata store at {path}; run the pipeline first (python -m pipeline run), "
                           f"or point --config at the config of the run you mean ([pipeline] metadata_path)")
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def decode(value):
    """A custom property's value as plain Python (JSON properties as dicts/lists, numbers as int where whole)."""
    kind = value.WhichOneof("value")
    if kind == "struct_value":
        result = json_format.MessageToDict(value.struct_value)
        result = result.get("__value__", result)  # TFX wraps non-dict JSON values this way
        return _whole_numbers(result)
    return getattr(value, kind) if kind else None


def _whole_numbers(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def _time(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


class Graph:
    """Cached look-ups over one MLMD store: artifacts, executions, the events between them, component names."""

    def __init__(self, store):
        self.store = store
        self._artifact_types = {t.id: t.name for t in store.get_artifact_types()}
        self._artifacts, self._executions, self._components = {}, {}, {}

    def artifact(self, artifact_id):
        if artifact_id not in self._artifacts:
            found = self.store.get_artifacts_by_id([artifact_id])
            if not found:
                raise LineageError(f"no artifact with id {artifact_id} in the ML Metadata store")
            self._artifacts[artifact_id] = found[0]
        return self._artifacts[artifact_id]

    def execution(self, execution_id):
        if execution_id not in self._executions:
            self._executions[execution_id] = self.store.get_executions_by_id([execution_id])[0]
        return self._executions[execution_id]

    def type_name(self, artifact):
        return self._artifact_types[artifact.type_id]

    def component(self, execution):
        """The pipeline node id (e.g. 'Trainer') of an execution, from its `node` context."""
        if execution.id not in self._components:
            names = [c.name.split(".", 1)[-1] for c in self.store.get_contexts_by_execution(execution.id)
                     if self.store.get_context_types_by_id([c.type_id])[0].name == "node"]
            self._components[execution.id] = names[0] if names else f"execution {execution.id}"
        return self._components[execution.id]

    def producer(self, artifact):
        """(execution, output key) that made the artifact; the original one, not a later cache hit."""
        events = [e for e in self.store.get_events_by_artifact_ids([artifact.id]) if e.type == OUTPUT]
        if not events:
            return None, None
        first = min(events, key=lambda e: e.execution_id)
        return self.execution(first.execution_id), _key(first)

    def inputs(self, execution):
        """[(input key, artifact)] of an execution, in key order."""
        events = [e for e in self.store.get_events_by_execution_ids([execution.id]) if e.type == INPUT]
        return sorted(((_key(e), self.artifact(e.artifact_id)) for e in events), key=lambda ka: (ka[0], ka[1].id))

    def outputs(self, execution):
        events = [e for e in self.store.get_events_by_execution_ids([execution.id]) if e.type == OUTPUT]
        return sorted(((_key(e), self.artifact(e.artifact_id)) for e in events), key=lambda ka: (ka[0], ka[1].id))

    def consumers(self, artifact):
        """Executions that read the artifact, leaving out cache hits (they repeat an earlier execution)."""
        ids = sorted({e.execution_id for e in self.store.get_events_by_artifact_ids([artifact.id])
                      if e.type == INPUT})
        return [x for x in map(self.execution, ids) if x.last_known_state != CACHED]

    def properties(self, artifact):
        decoded = {k: decode(v) for k, v in sorted(artifact.custom_properties.items()) if k not in HIDDEN_PROPERTIES}
        return {k: v for k, v in decoded.items() if v not in ("", None, [], {})}


def _is_external(artifact):
    """Imported (Importer) artifacts: their URI is the user's file, worth printing."""
    return "is_external" in artifact.custom_properties and bool(decode(artifact.custom_properties["is_external"]))


def _key(event):
    return event.path.steps[0].key if event.path.steps else ""


def _describe_execution(graph, execution):
    return f"{graph.component(execution)} (execution #{execution.id}, {_time(execution.create_time_since_epoch)})"


def _new_properties(graph, artifact, execution):
    """The artifact's properties that its producer set or changed: those not equal on any input of the same type,
    so provenance copied along the chain is printed once, where it was recorded."""
    props = graph.properties(artifact)
    if execution is None:
        return props
    same_type = [a for _, a in graph.inputs(execution) if a.type_id == artifact.type_id]
    inherited = {}
    for parent in same_type:
        inherited.update(graph.properties(parent))
    return {k: v for k, v in props.items() if inherited.get(k, object()) != v}


def _format_value(value, width=100):
    text = value if isinstance(value, str) else json.dumps(value, separators=(", ", ": "))
    return text if len(text) <= width else text[:width - 3] + "..."


def upstream_lines(graph, artifact, key="", indent="", seen=None):
    """Lines of the upstream tree of `artifact`: each artifact, the execution that made it, what that execution
    recorded, then its inputs, down to ExampleGen's source. An artifact already printed is referred to, not
    repeated."""
    seen = set() if seen is None else seen
    execution, _ = graph.producer(artifact)
    label = f"{indent}{key + ': ' if key else ''}{graph.type_name(artifact)} #{artifact.id}"
    if artifact.id in seen:
        return [f"{label} (shown above)"]
    seen.add(artifact.id)
    lines = [label + (f"  <- {_describe_execution(graph, execution)}" if execution else "")]
    detail = indent + "    "
    if graph.type_name(artifact) == "PushedModel" or _is_external(artifact):  # imported files, e.g. corrections
        lines.append(f"{detail}uri: {artifact.uri}")
    for name, value in _new_properties(graph, artifact, execution).items():
        lines.append(f"{detail}{name}: {_format_value(value)}")
    if execution is None:
        return lines
    parents = graph.inputs(execution)
    if not parents and "input_base" in execution.custom_properties:
        lines.append(f"{detail}source: {decode(execution.custom_properties['input_base'])} "
                     f"(input_base of {graph.component(execution)})")
    for parent_key, parent in parents:
        lines += upstream_lines(graph, parent, parent_key, indent + "  ", seen)
    return lines


def downstream_lines(graph, artifact, indent="", seen=None, models=None):
    """Lines of the downstream tree of `artifact`: the executions that read it and what they made; the Model
    artifacts met on the way are added to `models`."""
    seen = set() if seen is None else seen
    models = [] if models is None else models
    lines = []
    for execution in graph.consumers(artifact):
        if execution.id in seen:
            lines.append(f"{indent}-> {_describe_execution(graph, execution)} (shown above)")
            continue
        seen.add(execution.id)
        lines.append(f"{indent}-> {_describe_execution(graph, execution)}")
        for key, output in graph.outputs(execution):
            lines.append(f"{indent}     {key}: {graph.type_name(output)} #{output.id}")
            if graph.type_name(output) == "Model":
                models.append(output)
            lines += downstream_lines(graph, output, indent + "       ", seen, models)
    return lines


def find_model(graph, model):
    """The Model (or PushedModel) artifact named by `model`: 'latest' or an artifact id."""
    if model == "latest":
        models = graph.store.get_artifacts_by_type("Model")
        if not models:
            raise LineageError("the ML Metadata store holds no model; run the pipeline with training first")
        return max(models, key=lambda a: a.id)
    if not str(model).isdigit():
        raise LineageError(f"--model must be 'latest' or an artifact id (a number), got {model!r}")
    artifact = graph.artifact(int(model))
    if graph.type_name(artifact) not in ("Model", "PushedModel"):
        raise LineageError(f"artifact {model} is a {graph.type_name(artifact)}, not a Model or PushedModel")
    return artifact


def model_fate(graph, model):
    """[(what, artifact)] downstream of a Model: its blessing and whether Pusher pushed it."""
    fate = []
    for execution in graph.consumers(model):
        for key, output in graph.outputs(execution):
            if graph.type_name(output) in ("ModelBlessing", "PushedModel"):
                fate.append((f"{graph.component(execution)} #{execution.id} {key}", output))
    return fate


def model_lineage(graph, model="latest"):
    """The report of `python -m pipeline lineage --model`: the model, its blessing and push, its upstream tree."""
    artifact = find_model(graph, model)
    lines = [f"Lineage of {graph.type_name(artifact)} #{artifact.id} ({artifact.uri})"]
    if graph.type_name(artifact) == "Model":
        for what, output in model_fate(graph, artifact):
            flag = "blessed" if graph.type_name(output) == "ModelBlessing" else "pushed"
            value = decode(output.custom_properties[flag]) if flag in output.custom_properties else None
            where = f" to {decode(output.custom_properties['pushed_destination'])}" \
                if value and "pushed_destination" in output.custom_properties else ""
            lines.append(f"  {what}: {graph.type_name(output)} #{output.id}, {flag}: "
                         f"{'yes' if value else 'no'}{where}")
    lines.append("Upstream (each artifact <- the execution that made it; indented lines are its inputs):")
    lines += upstream_lines(graph, artifact, indent="  ")
    return "\n".join(lines)


def find_data(graph, version):
    """Examples artifacts whose data version starts with `version`, oldest first."""
    found = [a for a in graph.store.get_artifacts_by_type("Examples")
             if "data_version" in a.custom_properties
             and decode(a.custom_properties["data_version"]).startswith(version)]
    if not found:
        known = sorted({decode(a.custom_properties["data_version"])
                        for a in graph.store.get_artifacts_by_type("Examples")
                        if "data_version" in a.custom_properties})
        raise LineageError(f"no Examples artifact has data version {version!r}; known versions: "
                           f"{', '.join(known) or 'none (no run has recorded provenance yet)'}")
    return sorted(found, key=lambda a: a.id)


def data_lineage(graph, version):
    """The report of `python -m pipeline lineage --data`: what was made from a data version, and which models."""
    lines = []
    for examples in find_data(graph, version):
        execution, _ = graph.producer(examples)
        lines.append(f"Downstream of data version {decode(examples.custom_properties['data_version'])}: "
                     f"Examples #{examples.id}" + (f" <- {_describe_execution(graph, execution)}" if execution else ""))
        models = []
        lines += downstream_lines(graph, examples, indent="  ", models=models)
        lines.append(f"  Models trained on it: {', '.join(f'Model #{m.id}' for m in models) or 'none'}")
    return "\n".join(lines)


def _run_executions(graph, context):
    return sorted(graph.store.get_executions_by_context(context.id), key=lambda e: e.id)


def _versioned(graph, examples):
    """The nearest Examples at or above `examples` that carry a data version (components that derive Examples
    without carrying provenance over, such as consensus labelling, sit between it and the training stage)."""
    frontier = [examples]
    while frontier:
        artifact = frontier.pop(0)
        if "data_version" in artifact.custom_properties:
            return artifact
        execution, _ = graph.producer(artifact)
        if execution is not None:
            frontier += [a for _, a in graph.inputs(execution) if graph.type_name(a) == "Examples"]
    return None


def _training_examples(graph, executions):
    """The versioned Examples the run trained on (above Transform's input), or for a data-only run the newest
    versioned Examples it made or reused."""
    for execution in executions:
        if graph.component(execution) == "Transform":
            for key, artifact in graph.inputs(execution):
                if key == "examples":
                    return _versioned(graph, artifact)
    candidates = [a for e in executions for _, a in graph.outputs(e)
                  if graph.type_name(a) == "Examples" and "data_version" in a.custom_properties]
    return max(candidates, key=lambda a: a.id) if candidates else None


def _accuracy(evaluation):
    """Overall accuracy from the Evaluator's output files (TFMA does not put metrics in MLMD)."""
    import tensorflow_model_analysis as tfma  # heavy (TensorFlow); only when a run has an evaluation
    for metrics in tfma.load_metrics(evaluation.uri):
        if metrics.slice_key.single_slice_keys:
            continue
        for entry in metrics.metric_keys_and_values:
            if entry.key.name == ACCURACY:
                return entry.value.double_value.value
    return None


def ledger(graph):
    """One dict per pipeline run, oldest first: the table behind 'improve the data with the code fixed'."""
    rows = []
    runs = graph.store.get_contexts_by_type("pipeline_run")
    for context in sorted(runs, key=lambda c: (c.create_time_since_epoch, c.id)):
        executions = _run_executions(graph, context)
        outputs = [(graph.component(e), key, a) for e in executions for key, a in graph.outputs(e)]
        examples = _training_examples(graph, executions)
        props = {k: decode(v) for k, v in examples.custom_properties.items()} if examples else {}
        alpha = [decode(a.custom_properties["krippendorff_alpha"]) for _, _, a in outputs
                 if "krippendorff_alpha" in a.custom_properties]
        evaluation = [a for _, _, a in outputs if graph.type_name(a) == "ModelEvaluation"]
        blessing = [a for _, _, a in outputs if graph.type_name(a) == "ModelBlessing"]
        pushed = [a for _, _, a in outputs if graph.type_name(a) == "PushedModel"]
        models = [a for _, _, a in outputs if graph.type_name(a) == "Model"]
        rows.append({
            "run_id": context.name,
            "time": _time(context.create_time_since_epoch),
            "data_version": props.get("data_version"),
            "base_data_version": props.get("base_data_version"),
            "instructions_version": (props.get("instructions_version") or "")[:12] or None,
            "corrections": props.get("corrections_applied", 0) if examples else None,
            "labeler_agreement": alpha[-1] if alpha else None,
            "accuracy": _accuracy(evaluation[-1]) if evaluation else None,
            "blessed": bool(decode(blessing[-1].custom_properties["blessed"])) if blessing else None,
            "pushed": bool(decode(pushed[-1].custom_properties["pushed"])) if pushed else None,
            "model_id": models[-1].id if models else None,
            "executions": len(executions),
            "cached": sum(e.last_known_state == CACHED for e in executions),
        })
    return rows


LEDGER_COLUMNS = [("run_id", "run id"), ("time", "time"), ("data_version", "data version"),
                  ("instructions_version", "instructions"), ("corrections", "corrections"),
                  ("labeler_agreement", "labeler alpha"), ("accuracy", "accuracy"), ("blessed", "blessed"),
                  ("model_id", "model"), ("cached", "cached")]


def format_ledger(rows):
    """The ledger as an aligned text table."""
    def cell(row, key):
        value = row[key]
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if key in ("accuracy", "labeler_agreement"):
            return f"{value:.3f}"
        if key == "model_id":
            return f"#{value}"
        if key == "cached":
            return f"{value}/{row['executions']}"
        return str(value)
    table = [[title for _, title in LEDGER_COLUMNS]]
    for row in rows:
        table.append([cell(row, key) for key, _ in LEDGER_COLUMNS])
    widths = [max(len(r[i]) for r in table) for i in range(len(LEDGER_COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table)
