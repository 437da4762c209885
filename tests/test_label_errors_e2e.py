"""LabelErrors inside the default demo pipeline (the shared `demo_run`): it runs, and finds the planted flips."""
import os

import pandas as pd

from tests.pipeline_runs import REPO, artifacts_of_type, executions_by_component, open_store


def test_label_errors_runs_in_the_demo_pipeline_and_finds_the_planted_flips(demo_run):
    store = open_store(demo_run.metadata)
    assert "LabelErrors" in executions_by_component(store)
    assert "] LabelErrors done" in demo_run.result.stdout
    (artifact,) = artifacts_of_type(store, "components.LabelIssues")
    issues = pd.read_csv(os.path.join(artifact.uri, "label_issues.csv"))
    assert artifact.custom_properties["num_issues"].int_value == len(issues) > 0
    assert 0 < artifact.custom_properties["estimated_noise_rate"].double_value < 0.2
    flips = pd.read_csv(os.path.join(REPO, "data", "answer_keys", "planted_label_flips.csv"))
    assert flips["example_id"].isin(issues["example_id"]).sum() >= 6  # measured: 7 of 7
    assert os.path.exists(os.path.join(artifact.uri, "summary.json"))
