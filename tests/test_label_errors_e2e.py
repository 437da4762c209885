"""LabelErrors inside the default demo pipeline (the shared `demo_run`): it runs, its three records of the result
(label_issues.csv, summary.json, ML Metadata) agree, and what it finds is what was planted (data/answer_keys)."""
import json
import os

import pandas as pd
import pytest

from components.label_errors.component import LabelIssues
from components.label_errors.executor import ISSUES_FILE, SUMMARY_FILE
from tests.pipeline_runs import REPO, artifacts_of_type, executions_by_component, open_store

ANSWER_KEYS = os.path.join(REPO, "data", "answer_keys")


def test_label_errors_runs_in_the_demo_pipeline_and_finds_the_planted_flips(demo_run):
    store = open_store(demo_run.metadata)
    assert "LabelErrors" in executions_by_component(store)
    assert "] LabelErrors done" in demo_run.result.stdout
    (artifact,) = artifacts_of_type(store, LabelIssues.TYPE_NAME)
    issues = pd.read_csv(os.path.join(artifact.uri, ISSUES_FILE), keep_default_na=False)
    with open(os.path.join(artifact.uri, SUMMARY_FILE)) as f:
        summary = json.load(f)
    demo = pd.read_csv(os.path.join(REPO, "data", "demo", "span-1", "penguins.csv"), keep_default_na=False)
    species = demo.set_index("example_id")["species"]

    # The CSV, the summary and ML Metadata tell the same story, and the given labels are the data's.
    properties = artifact.custom_properties
    assert properties["num_issues"].int_value == summary["counts"]["label_issues"] == len(issues) > 0
    assert properties["num_analysed"].int_value == summary["counts"]["analysed"] == len(demo)
    assert properties["estimated_noise_rate"].double_value == pytest.approx(summary["estimated_noise_rate"],
                                                                            abs=1e-6)
    assert list(issues["given_label"]) == list(species[issues["example_id"]])
    assert {c["class"]: c["label_issues"] for c in summary["classes"]} == {
        name: int((issues["given_label"] == name).sum()) for name in species.unique()}
    assert list(issues["quality_score"]) == sorted(issues["quality_score"])  # worst first

    # Against the planted truth: 7 flips, and 3 near-duplicate copies that carry another species (10 of 226).
    flips = pd.read_csv(os.path.join(ANSWER_KEYS, "planted_label_flips.csv"))
    found = issues.merge(flips, on="example_id")
    assert len(found) >= 6  # measured: 7 of 7
    assert (found["suggested_label"] == found["true_species"]).all()
    planted_rate = (len(flips) + len(pd.read_csv(os.path.join(ANSWER_KEYS, "planted_conflicts.csv")))) / len(demo)
    assert abs(summary["estimated_noise_rate"] - planted_rate) < 0.03  # measured: 4.9% against 4.4% planted
    planted_pairs = {frozenset(pair) for pair in zip(flips["true_species"], flips["given_label"])}
    overlapping = [frozenset((o["class_a"], o["class_b"])) for o in summary["overlapping_classes"]]
    assert overlapping[0] == frozenset(("Adelie", "Chinstrap")) and set(overlapping) <= planted_pairs
