"""The demo pipeline, run once per test session through its real command line into a temporary root.

Tests that need a full run share `demo_run` rather than paying for their own; it costs a few minutes. A test that
needs a run with one setting changed starts it from a copy of the demo run's ML Metadata store (`DemoRun.variant`),
so only the components the change touches run; tests that check a cached re-run share `cached_rerun`.
"""
import os
import shutil

import pytest

from tests.pipeline_runs import REPO, open_store, run_cli, write_config


# Fixtures that run the pipeline. A test that uses one, directly or through another fixture, is marked `slow`
# (pytest.ini), so `make test-fast` skips it; a test that starts a run itself carries @pytest.mark.slow.
PIPELINE_FIXTURES = {"demo_run", "cached_rerun"}


def pytest_collection_modifyitems(items):
    for item in items:
        if PIPELINE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


class DemoRun:
    def __init__(self, root, sections, config_path, result):
        self.root = root
        self.sections = sections  # what demo.toml holds, {section: {key: value}}
        self.config_path = config_path
        self.result = result
        self.metadata = os.path.join(root, "metadata.sqlite")
        self.serving_dir = os.path.join(root, "serving_model")
        self.pipeline_root = os.path.join(root, "pipeline_root")

    def variant(self, root, **sections):
        """The path of a config for a run under `root` on a copy of this run's ML Metadata store: the demo's config
        with `sections` overlaid. Components whose inputs and settings are unchanged come from the copy's cache."""
        shutil.copy(self.metadata, os.path.join(root, "metadata.sqlite"))
        values = {name: dict(keys) for name, keys in self.sections.items()}
        for name, keys in sections.items():
            values.setdefault(name, {}).update(keys)
        values["pipeline"].update(output_dir=str(root), metadata_path=os.path.join(root, "metadata.sqlite"))
        return write_config(os.path.join(root, "variant.toml"), values)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_run")
    sections = {
        "pipeline": {"output_dir": str(root)},
        # Span 1 (the planted label errors and conflicts); the drift of span 2 has its own test.
        "data": {"input_dir": os.path.join(REPO, "data", "demo"), "span": 1},
    }
    config_path = write_config(root / "demo.toml", sections)
    result = run_cli("run", "--config", config_path)
    assert result.returncode == 0, f"demo run failed:\n{result.stdout}\n{result.stderr[-5000:]}"
    return DemoRun(str(root), sections, config_path, result)


@pytest.fixture(scope="session")
def cached_rerun(demo_run):
    """The demo run's config run again, into the same store, so every component is served from TFX's cache.
    Returns the CompletedProcess and the number of artifacts in the store before it."""
    artifacts_before = len(open_store(demo_run.metadata).get_artifacts())
    result = run_cli("run", "--config", demo_run.config_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, artifacts_before
