"""Provenance, lineage and the runs ledger on real pipeline runs (issue 5).

The first run is the shared `demo_run`. The corrections test copies its ML Metadata store and runs the pipeline again
with a corrections file, so the unchanged components come from cache and only the corrections and training re-run.
"""
import hashlib
import json
import os

import pandas as pd
import pytest

from components.corrections.component import Corrections
from pipeline import mlmd_graph
from pipeline.configs import ProvenanceConfig
from tests.pipeline_runs import REPO, open_store, run_cli, write_config

DEMO = os.path.join(REPO, "data", "demo")
SPAN_1 = os.path.join(DEMO, "span-1", "penguins.csv")  # the span the demo_run fixture reads
FLIPS = pd.read_csv(os.path.join(REPO, "data", "answer_keys", "planted_label_flips.csv"))


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _provenance_examples(graph):
    found = [a for a in graph.store.get_artifacts_by_type("Examples")
             if graph.component(graph.producer(a)[0]) == "Provenance"]
    assert found, "no Examples artifact made by the Provenance component"
    return found[-1]


def _upstream_components(graph, artifact):
    """Names of every component upstream of `artifact`, by walking producer and input events."""
    found, frontier, seen = set(), [artifact], set()
    while frontier:
        current = frontier.pop()
        execution, _ = graph.producer(current)
        if execution is None or execution.id in seen:
            continue
        seen.add(execution.id)
        found.add(graph.component(execution))
        frontier += [parent for _, parent in graph.inputs(execution)]
    return found


def test_provenance_is_recorded_on_the_examples(demo_run):
    graph = mlmd_graph.Graph(open_store(demo_run.metadata))
    props = {k: mlmd_graph.decode(v) for k, v in _provenance_examples(graph).custom_properties.items()}
    defaults = ProvenanceConfig()
    frame = pd.read_csv(SPAN_1, keep_default_na=False)

    assert props["source_uri"] == defaults.source_uri and props["owner"] == defaults.owner
    assert props["collection_window"] == defaults.collection_window
    assert props["instructions_version"] == _sha256(os.path.join(REPO, "data", "labeling_instructions.md"))
    assert props["labelers"] == defaults.labelers
    assert props["data_inventory"]["cost"] == defaults.cost
    expected_fingerprint = hashlib.sha256(_sha256(SPAN_1).encode()).hexdigest()
    assert props["data_version"] == expected_fingerprint[:12]
    assert props["metadata_counts"]["site"] == frame["site"].value_counts().to_dict()
    assert props["metadata_counts"]["season"] == frame["season"].value_counts().to_dict()
    assert sum(props["examples_per_split"].values()) == len(frame)


def test_lineage_reaches_the_source_from_the_pushed_model(demo_run):
    graph = mlmd_graph.Graph(open_store(demo_run.metadata))
    (pushed,) = [a for a in graph.store.get_artifacts_by_type("PushedModel")
                 if mlmd_graph.decode(a.custom_properties["pushed"])][:1]
    ((_, raw_examples),) = graph.inputs(graph.producer(_provenance_examples(graph))[0])
    example_gen = graph.component(graph.producer(raw_examples)[0])  # CsvExampleGen, or whichever reads the CSV
    assert {"Pusher", "Trainer", "Transform", "Provenance", example_gen} <= _upstream_components(graph, pushed)

    result = run_cli("lineage", "--model", str(pushed.id), "--config", demo_run.config_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"Lineage of PushedModel #{pushed.id}" in out
    for step in ("Pusher", "Trainer", "Transform", "Provenance", example_gen):
        assert f"<- {step} (execution #" in out
    assert f"source: {DEMO} (input_base of {example_gen})" in out
    assert "instructions_version: " + _sha256(os.path.join(REPO, "data", "labeling_instructions.md")) in out


@pytest.fixture(scope="module")
def corrected_run(demo_run, tmp_path_factory):
    """The pipeline run again on a copy of the demo run's store, with 3 planted flips corrected: the data checks come
    from its cache, the corrections, label consistency and training run. The other finders are off: nothing here
    reads them."""
    root = tmp_path_factory.mktemp("corrected_run")
    fixed = FLIPS.head(3)
    queue = pd.DataFrame({"example_id": FLIPS.example_id, "given_label": FLIPS.given_label,
                          "suggested_label": FLIPS.true_species, "reasons": "label error", "priority": 1,
                          "corrected_label": [t if i in set(fixed.example_id) else ""
                                              for i, t in zip(FLIPS.example_id, FLIPS.true_species)],
                          "reviewer": "ana", "reason": "checked the photo"})
    queue.to_csv(root / "corrections.csv", index=False)
    config = demo_run.variant(root, labels={"corrections_file": str(root / "corrections.csv")},
                              label_errors={"enabled": False}, conflicts={"enabled": False},
                              error_analysis={"enabled": False})
    result = run_cli("run", "--config", config)
    assert result.returncode == 0, f"corrected run failed:\n{result.stdout}\n{result.stderr[-5000:]}"
    assert "] LabelErrors " not in result.stdout and "] ExampleValidator done (from cache)" in result.stdout
    return root, config, fixed


def test_runs_ledger_shows_both_data_versions_and_the_corrections(corrected_run):
    root, config, fixed = corrected_run
    result = run_cli("runs", "--format", "json", "--config", config)
    assert result.returncode == 0, result.stderr
    *earlier, after = json.loads(result.stdout)
    # The run before that trained a model; runs in between may be cached or data-only runs of the same data.
    before = [row for row in earlier if row["model_id"] is not None][-1]
    assert before["corrections"] == 0 and after["corrections"] == len(fixed)
    assert after["data_version"] != before["data_version"]
    assert after["base_data_version"] == before["data_version"]
    assert after["instructions_version"] == before["instructions_version"]
    assert 0 < before["accuracy"] <= 1 and 0 < after["accuracy"] <= 1
    assert before["model_id"] != after["model_id"]

    table = run_cli("runs", "--config", config)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[:3] == ["run", "id", "time"] and len(rows) >= 2
    assert after["data_version"] in rows[-1] and before["data_version"] in rows[-2]
    assert not any(after["data_version"] in row for row in rows[:-1])


def test_corrected_examples_link_to_the_data_and_the_corrections(corrected_run):
    root, config, fixed = corrected_run
    graph = mlmd_graph.Graph(open_store(str(root / "metadata.sqlite")))
    (corrected,) = [a for a in graph.store.get_artifacts_by_type("Examples")
                    if graph.component(graph.producer(a)[0]) == "CorrectionsApplier"]
    parents = {key: graph.type_name(a) for key, a in graph.inputs(graph.producer(corrected)[0])}
    assert parents == {"examples": "Examples", "schema": "Schema", "corrections": Corrections.TYPE_NAME}
    (corrections_file,) = [a for _, a in graph.inputs(graph.producer(corrected)[0]) if _ == "corrections"]
    assert corrections_file.uri == str(root / "corrections.csv")

    model_report = run_cli("lineage", "--config", config)
    assert model_report.returncode == 0, model_report.stderr
    assert "<- CorrectionsApplier" in model_report.stdout and "corrections_applied: 3" in model_report.stdout
    assert f"uri: {root / 'corrections.csv'}" in model_report.stdout

    version = mlmd_graph.decode(corrected.custom_properties["data_version"])
    data_report = run_cli("lineage", "--data", version, "--config", config)
    assert data_report.returncode == 0, data_report.stderr
    newest_model = max(graph.store.get_artifacts_by_type("Model"), key=lambda a: a.id)
    assert f"Models trained on it: Model #{newest_model.id}" in data_report.stdout
