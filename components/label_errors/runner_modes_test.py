"""Above [label_errors] max_fit_examples the findings come from combines over a cache of one read of the Examples:
the same bytes in Beam's in_memory and multi_processing modes (worker processes over the Fn API, other bundle
splits). tests/test_runner_modes.py covers the path under the cap."""
import json
import os

import pytest

from components.label_errors import executor
from components.label_errors.contract import ISSUES_FILE, SUMMARY_FILE
from components.label_errors.executor_test import artifacts, planted_blobs, run_executor
from pipeline.configs import Config
from pipeline.local_runner import beam_args

pytestmark = pytest.mark.slow


def mode_args(mode):
    config = Config()
    config.pipeline.beam_mode = mode
    config.pipeline.beam_workers = 2
    return beam_args(config)


def test_above_the_cap_both_runner_modes_write_the_same_files(tmp_path, monkeypatch):
    monkeypatch.setattr(executor, "DECODED_ROWS", 256)  # many record batches to combine
    frame, _ = planted_blobs(n=1500)
    inputs = artifacts(tmp_path, frame)
    written = {}
    for mode in ("in_memory", "multi_processing"):
        output = run_executor(inputs, tmp_path / mode, max_fit_examples=300, beam_args=mode_args(mode))
        files = {}
        for name in (ISSUES_FILE, SUMMARY_FILE):
            with open(os.path.join(output.uri, name)) as f:
                files[name] = f.read()
        written[mode] = files, output.mlmd_artifact.custom_properties
    assert written["in_memory"] == written["multi_processing"]
    assert json.loads(written["in_memory"][0][SUMMARY_FILE])["above_cap"]["fitted_on"] <= 300
    assert len(written["in_memory"][0][ISSUES_FILE].splitlines()) > 50  # about 90 flips of 1,500
