"""`python -m pipeline new-component NAME`: what it writes runs, is tested and compiles for Kubeflow.

The slow test does what a user does, in a copy of this project: scaffold, run the new component's own tests (among
them the compile for Kubeflow with the component wired in), wire it in with `[pipeline] extra_components` and run
the data stage through the command line. It also stands for `run --data-only`: the data stage runs, training not.
"""
import csv
import os
import shutil
import subprocess
import sys

import pytest

from pipeline import scaffold
from tests.pipeline_runs import REPO, artifacts_of_type, executions_by_component, open_store, run_cli, write_config

NAME = "label_balance"
PLUG_IN = f"components.{NAME}.component.from_config"
TRAINING = ("Transform", "Trainer", "Evaluator", "Pusher")


def copy_project(target):
    """This project without its git history, virtualenv, outputs and caches, as a user's checkout would be."""
    shutil.copytree(REPO, target, ignore=shutil.ignore_patterns(".git", ".venv", "outputs", "__pycache__",
                                                                 ".pytest_cache", "*.egg-info"))
    return str(target)


@pytest.fixture
def small_project(tmp_path):
    """Just enough of a project for the scaffold: the templates' target folder and the artifact registry."""
    os.makedirs(tmp_path / "components")
    shutil.copy(os.path.join(REPO, "components", "__init__.py"), tmp_path / "components")
    return str(tmp_path)


def test_writes_the_house_shape_and_registers_the_artifact_type(small_project):
    written = scaffold.new_component("label_balance", small_project)
    folder = os.path.join(small_project, "components", "label_balance")
    assert sorted(os.listdir(folder)) == sorted(scaffold.FILES.values())
    assert written[-1] == os.path.join(small_project, "components", "__init__.py")
    with open(written[-1]) as f:
        registry = f.read()
    assert '    "LabelBalanceResult": "components.label_balance.component",\n}' in registry
    with open(os.path.join(folder, "component.py")) as f:
        component = f.read()
    with open(os.path.join(folder, "contract.py")) as f:
        contract = f.read()
    assert 'ARTIFACT_TYPE_NAME = "components.LabelBalanceResult"' in contract and "\nfrom " not in contract
    assert "TYPE_NAME = ARTIFACT_TYPE_NAME" in component and "class LabelBalance(" in component
    for name in scaffold.FILES.values():  # every placeholder was filled
        with open(os.path.join(folder, name)) as f:
            assert "${" not in f.read(), name
    with pytest.raises(scaffold.ScaffoldError, match="label_balance already exists"):
        scaffold.new_component("label_balance", small_project)


@pytest.mark.parametrize("name, message", [
    ("LabelBalance", "must be snake_case"),
    ("label-balance", "must be snake_case"),
    ("2nd_check", "must be snake_case"),
    ("label__balance", "must be snake_case"),
    ("class", "is a Python keyword"),
    ("conflicts", "conflicts already exists"),
    ("examples_io", "examples_io already exists"),
    ("label_issues", "already registers an artifact type 'LabelIssues'"),
])
def test_bad_or_taken_names_are_refused(small_project, name, message):
    os.makedirs(os.path.join(small_project, "components", "conflicts"))
    os.makedirs(os.path.join(small_project, "components", "examples_io"))
    with pytest.raises(scaffold.ScaffoldError, match=message):
        scaffold.new_component(name, small_project)
    assert sorted(os.listdir(os.path.join(small_project, "components"))) == ["__init__.py", "conflicts",
                                                                             "examples_io"]


def test_the_command_line_refuses_a_taken_name_with_exit_2():
    result = run_cli("new-component", "conflicts", timeout=120)
    assert result.returncode == 2 and "components/conflicts already exists" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_scaffolded_component_passes_its_tests_compiles_for_kubeflow_and_runs_in_the_data_stage(tmp_path):
    project = copy_project(tmp_path / "project")
    made = run_cli("new-component", NAME, cwd=project, timeout=120)
    assert made.returncode == 0, made.stderr
    assert PLUG_IN in made.stdout

    # Its own tests, as the user runs them: the executor on real Examples, and the pipeline with the component
    # wired in through [pipeline] extra_components compiled for Kubeflow, its artifact type imported by TYPE_NAME.
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"components/{NAME}"],
                           cwd=project, env=dict(os.environ, PYTHONPATH=project), capture_output=True, text=True,
                           timeout=1200)
    assert tests.returncode == 0, tests.stdout[-5000:]
    assert "5 passed" in tests.stdout

    # Wired in through the config, on a lean data stage: the demo's first span, no labelers, no other finders.
    out = tmp_path / "out"
    sections = {"pipeline": {"output_dir": str(out), "extra_components": [PLUG_IN]},
                "data": {"input_dir": os.path.join(project, "data", "demo"), "span": 1},
                "labels": {"labeler_columns": []},
                "label_errors": {"enabled": False}, "conflicts": {"enabled": False}, "drift": {"enabled": False}}
    config = write_config(tmp_path / "with_component.toml", sections)
    run = run_cli("run", "--config", config, "--data-only", cwd=project)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    assert "] LabelBalance done" in run.stdout
    for component in TRAINING:
        assert f"] {component} " not in run.stdout
    assert "pushed models" not in run.stdout
    store = open_store(out / "metadata.sqlite")
    assert not set(TRAINING) & set(executions_by_component(store))
    (result,) = artifacts_of_type(store, "components.LabelBalanceResult")
    with open(os.path.join(REPO, "data", "demo", "span-1", "penguins.csv")) as f:
        demo = list(csv.DictReader(f))
    assert result.custom_properties["examples"].int_value == len(demo)
    with open(os.path.join(result.uri, "label_counts.csv")) as f:
        counts = {}
        for row in csv.DictReader(f):
            counts[row["label"]] = counts.get(row["label"], 0) + int(row["examples"])
    assert counts == {label: sum(r["species"] == label for r in demo) for label in {r["species"] for r in demo}}
