"""ML Metadata's graph, read-only: artifacts, executions, the events between them and the runs' contexts.

Nothing here looks at directory names: an artifact's producer is the execution with an OUTPUT event to it, the
producer's parents are the artifacts of its INPUT events, and a pipeline run is a `pipeline_run` context.
`pipeline/lineage.py` (trees) and `pipeline/ledger.py` (one row per run) read the store through `Graph`.
"""
import datetime
import os

from google.protobuf import json_format
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

INPUT, OUTPUT = metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.OUTPUT
CACHED = metadata_store_pb2.Execution.CACHED
# TFX bookkeeping and ExampleGen internals: not provenance, left out of the printed properties.
HIDDEN_PROPERTIES = {"tfx_version", "state", "name", "producer_component", "is_external", "payload_format",
                     "file_format", "input_fingerprint", "split_names", "input_files", "data_fingerprint"}


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
    try:
        return metadata_store.MetadataStore(config)
    except RuntimeError as e:  # not a SQLite file, a damaged one, or another ML Metadata schema
        reason = str(e).split(" query:")[1].strip() if " query:" in str(e) else str(e)
        raise LineageError(f"{path} is not a readable ML Metadata store ({reason}); point "
                           f"--config at the config of the run you mean, or run the pipeline into a new "
                           f"[pipeline] output_dir") from None


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


def format_time(ms):
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
        """The pipeline node id (e.g. 'Trainer') of an execution, from its `node` context, else its type's name."""
        if execution.id not in self._components:
            names = [c.name.split(".", 1)[-1] for c in self.store.get_contexts_by_execution(execution.id)
                     if self.store.get_context_types_by_id([c.type_id])[0].name == "node"]
            # Outside a pipeline (e.g. the serving monitor) there is no node: the execution's type names it.
            self._components[execution.id] = names[0] if names else self.store.get_execution_types_by_id(
                [execution.type_id])[0].name
        return self._components[execution.id]

    def producer(self, artifact):
        """(execution, output key) that made the artifact; the original one, not a later cache hit."""
        events = [e for e in self.store.get_events_by_artifact_ids([artifact.id]) if e.type == OUTPUT]
        if not events:
            return None, None
        first = min(events, key=lambda e: e.execution_id)
        return self.execution(first.execution_id), event_key(first)

    def inputs(self, execution):
        """[(input key, artifact)] of an execution, in key order."""
        events = [e for e in self.store.get_events_by_execution_ids([execution.id]) if e.type == INPUT]
        return sorted(((event_key(e), self.artifact(e.artifact_id)) for e in events), key=lambda ka: (ka[0], ka[1].id))

    def outputs(self, execution):
        events = [e for e in self.store.get_events_by_execution_ids([execution.id]) if e.type == OUTPUT]
        return sorted(((event_key(e), self.artifact(e.artifact_id)) for e in events), key=lambda ka: (ka[0], ka[1].id))

    def consumers(self, artifact):
        """Executions that read the artifact, leaving out cache hits (they repeat an earlier execution)."""
        ids = sorted({e.execution_id for e in self.store.get_events_by_artifact_ids([artifact.id])
                      if e.type == INPUT})
        return [x for x in map(self.execution, ids) if x.last_known_state != CACHED]

    def properties(self, artifact):
        decoded = {k: decode(v) for k, v in sorted(artifact.custom_properties.items()) if k not in HIDDEN_PROPERTIES}
        return {k: v for k, v in decoded.items() if v not in ("", None, [], {})}


def is_external(artifact):
    """Imported (Importer) artifacts: their URI is the user's file, worth printing."""
    return "is_external" in artifact.custom_properties and bool(decode(artifact.custom_properties["is_external"]))


def event_key(event):
    return event.path.steps[0].key if event.path.steps else ""
