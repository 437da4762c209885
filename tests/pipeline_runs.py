"""Helpers for tests that run the real pipeline through its command line and read its ML Metadata store."""
import os
import subprocess
import sys

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline.configs import write_config  # noqa: F401 (the tests write their configs with it)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args, cwd=REPO, timeout=1800):
    """Runs `python -m pipeline ARGS` in the project at `cwd` (this one, or a copy: its code is imported) and returns
    the CompletedProcess (stdout and stderr as text)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(cwd))
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def open_store(sqlite_path):
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(sqlite_path)
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def component_of(store, execution):
    """The pipeline node id (e.g. 'Trainer') an execution belongs to, from its 'node' context."""
    for context in store.get_contexts_by_execution(execution.id):
        if store.get_context_types_by_id([context.type_id])[0].name == "node":
            return context.name.split(".", 1)[1]
    raise AssertionError(f"execution {execution.id} has no node context")


def executions_by_component(store):
    """{component id: [executions, oldest first]}."""
    result = {}
    for execution in sorted(store.get_executions(), key=lambda e: e.id):
        result.setdefault(component_of(store, execution), []).append(execution)
    return result


def artifacts_of_type(store, type_name):
    return store.get_artifacts_by_type(type_name)
