"""The demo pipeline, run once per test session through its real command line into a temporary root.

Tests that need a full run share `demo_run` rather than paying for their own; it costs a few minutes.
"""
import os

import pytest

from tests.pipeline_runs import REPO, run_cli, write_config


# Fixtures that run the pipeline. A test that uses one, directly or through another fixture, is marked `slow`
# (pytest.ini), so `make test-fast` skips it; a test that starts a run itself carries @pytest.mark.slow.
PIPELINE_FIXTURES = {"demo_run"}


def pytest_collection_modifyitems(items):
    for item in items:
        if PIPELINE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


class DemoRun:
    def __init__(self, root, config_path, result):
        self.root = root
        self.config_path = config_path
        self.result = result
        self.metadata = os.path.join(root, "metadata.sqlite")
        self.serving_dir = os.path.join(root, "serving_model")
        self.pipeline_root = os.path.join(root, "pipeline_root")


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_run")
    config_path = write_config(root / "demo.toml", {
        "pipeline": {"output_dir": str(root)},
        # Span 1 (the planted label errors and conflicts); the drift of span 2 has its own test.
        "data": {"input_dir": os.path.join(REPO, "data", "demo"), "span": 1},
    })
    result = run_cli("run", "--config", config_path)
    assert result.returncode == 0, f"demo run failed:\n{result.stdout}\n{result.stderr[-5000:]}"
    return DemoRun(str(root), config_path, result)
