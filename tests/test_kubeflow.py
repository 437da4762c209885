"""The Kubeflow Pipelines v2 path: `python -m pipeline compile --target kubeflow`, checked without a cluster.

The compiled JSON is parsed by KFP's own protobuf, compared with the components `create_pipeline` builds for the same
config (so it follows the pipeline as components are added), every name its containers import is imported from the
installed project, and the data stage is run task by task through its container commands (tests/kfp_emulator.py).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from pipeline import kubeflow_runner
from pipeline.configs import ConfigError, load_config
from tests import kfp_emulator
from tests.pipeline_runs import REPO, run_cli, write_config

IMAGE = "registry.example.com/team/tfx-datacentric:test"
BUCKET = "gs://emulated-bucket"


def kubeflow_config(path, **kubeflow):
    sections = {"kubeflow": dict({"image": IMAGE, "pipeline_root": f"{BUCKET}/pipelines"}, **kubeflow),
                "data": {"input_dir": os.path.join(REPO, "data", "demo")}}
    return write_config(path, sections)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """The full pipeline compiled through the command line, and the pipeline `create_pipeline` builds for it (its
    tests are `slow`: the command line loads TensorFlow and TFX)."""
    root = tmp_path_factory.mktemp("kubeflow_compile")
    config_path = kubeflow_config(root / "kubeflow.toml")
    output = root / "job.json"
    result = run_cli("compile", "--target", "kubeflow", "--config", config_path, "--output", str(output))
    assert result.returncode == 0, result.stderr[-5000:]
    from pipeline.pipeline import create_pipeline
    config = load_config(config_path)
    pipeline = create_pipeline(config, pipeline_root=config.kubeflow.pipeline_root,
                               beam_pipeline_args=kubeflow_runner.beam_args(config))
    with open(output) as f:
        return {"job": json.load(f), "text": output.read_text(), "pipeline": pipeline, "config": config,
                "result": result}


@pytest.mark.slow
def test_compiled_spec_parses_into_kfp_protobuf_with_every_component_and_dependency(compiled):
    job = compiled["job"]
    json_format.ParseDict(job, pipeline_spec_pb2.PipelineJob(), ignore_unknown_fields=False)
    spec = json_format.ParseDict(job["pipelineSpec"], pipeline_spec_pb2.PipelineSpec(), ignore_unknown_fields=False)
    assert spec.schema_version == "2.1.0"
    assert job["runtimeConfig"]["gcsOutputDirectory"] == f"{BUCKET}/pipelines"
    tasks = spec.root.dag.tasks
    components = {c.id: c for c in compiled["pipeline"].components}
    assert set(tasks) == set(components)
    for node_id, component in components.items():
        task = tasks[node_id]
        assert set(task.dependent_tasks) == {node.id for node in component.upstream_nodes}, node_id
        wired = {key: (a.task_output_artifact.producer_task, a.task_output_artifact.output_artifact_key)
                 for key, a in task.inputs.artifacts.items()}
        expected = {key: (channel.producer_component_id, channel.output_key)
                    for key, channel in component.inputs.items()}
        assert wired == expected, node_id
        executor = spec.deployment_spec["executors"][spec.components[task.component_ref.name].executor_label]
        assert executor["container"]["image"] == IMAGE
    custom = [c.id for c in components.values() if not type(c).__module__.startswith("tfx.")]
    assert custom, "create_pipeline has no custom components to check"


@pytest.mark.slow
def test_executors_get_the_profile_beam_args(compiled):
    args = kubeflow_runner.beam_args(compiled["config"])
    assert args[0] == "--runner=FnApiRunner"  # beam_profile "direct": the local run's Beam, inside each pod
    for name, executor in compiled["job"]["pipelineSpec"]["deploymentSpec"]["executors"].items():
        assert executor["container"]["args"][-len(args):] == args, name


def test_beam_profiles_for_distributed_runners():
    def args(**kubeflow):
        with tempfile.TemporaryDirectory() as tmp:
            return kubeflow_runner.beam_args(load_config(kubeflow_config(os.path.join(tmp, "c.toml"), **kubeflow)))
    assert args(beam_profile="dataflow", project="p", region="europe-west4", temp_location="gs://b/tmp",
                extra_beam_args=["--max_num_workers=4"]) == [
        "--runner=DataflowRunner", "--project=p", "--region=europe-west4", "--temp_location=gs://b/tmp",
        f"--sdk_container_image={IMAGE}", "--max_num_workers=4"]
    assert args(beam_profile="flink", flink_master="flink-jobmanager:8081") == [
        "--runner=FlinkRunner", "--flink_master=flink-jobmanager:8081", "--environment_type=DOCKER",
        f"--environment_config={IMAGE}"]
    assert args(beam_profile="spark", spark_master_url="spark://spark-master:7077")[:2] == [
        "--runner=SparkRunner", "--spark_master_url=spark://spark-master:7077"]


@pytest.mark.slow
def test_every_container_command_imports_in_the_installed_project(compiled, tmp_path):
    """Entrypoint modules, executor classes, artifact types and model functions the containers will import."""
    from tfx.orchestration.kubeflow.v2 import compiler_utils
    spec = compiled["job"]["pipelineSpec"]
    modules, classes, functions = set(), set(), set()
    for executor in spec["deploymentSpec"]["executors"].values():
        container = executor["container"]
        for step in [container] + list(container.get("lifecycle", {}).values()):
            assert step["command"][:2] == ["python", "-m"], step["command"]
            modules.add(step["command"][2])
        classes.add(container["args"][container["args"].index("--executor_class_path") + 1])
    for component in spec["components"].values():
        for side in ("inputDefinitions", "outputDefinitions"):
            for artifact in component.get(side, {}).get("artifacts", {}).values():
                title = artifact["artifactType"]["instanceSchema"].split("\n")[0].removeprefix("title: ")
                classes.add(compiler_utils.TITLE_TO_CLASS_PATH.get(title, title))
    for task in spec["root"]["dag"]["tasks"].values():
        for key, parameter in task.get("inputs", {}).get("parameters", {}).items():
            value = parameter["runtimeValue"]["constant"]
            assert not (key.startswith("module_file") and value), f"{key} is a file path: {value}"
            if key.endswith("_fn"):
                functions.add(value)
    assert {"models.preprocessing.preprocessing_fn", "models.model.run_fn"} <= functions
    script = ("import importlib, sys; from tfx.utils import import_utils; from tfx.dsl.components.base import "
              "base_executor; a = sys.argv[1:]; m, c, f = a[:a.index('--')], a[a.index('--') + 1:a.index('---')], "
              "a[a.index('---') + 1:]\n"
              "[importlib.import_module(x) for x in m]\n"
              "[import_utils.import_class_by_path(x) for x in c]\n"
              "[import_utils.import_func_from_module(*x.rsplit('.', 1)) for x in f]\n"
              "print('imported', len(m) + len(c) + len(f))")
    # From an empty folder, so only installed packages resolve, as in the image.
    result = subprocess.run([sys.executable, "-c", script, *sorted(modules), "--", *sorted(classes), "---",
                             *sorted(functions)], cwd=tmp_path, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=""))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"imported {len(modules) + len(classes) + len(functions)}" in result.stdout


@pytest.mark.slow
def test_compiled_json_names_no_path_of_the_compiling_machine_but_the_configured_data(compiled):
    text = compiled["text"].replace(compiled["config"].data.input_dir, "<input_dir>")
    assert "<input_dir>" in text
    for machine_path in {REPO, sys.prefix, os.path.realpath(sys.prefix), tempfile.gettempdir() + "/"}:
        assert machine_path not in text, machine_path


@pytest.mark.slow
def test_local_input_dir_warns_naming_the_key(compiled):
    assert "warning: [data] input_dir is the local path" in compiled["result"].stderr


@pytest.mark.parametrize("kubeflow, args, message", [
    ({"image": ""}, [], "[kubeflow] image is empty"),
    ({"pipeline_root": "outputs/kfp"}, [], "[kubeflow] pipeline_root is the local path 'outputs/kfp'"),
    ({"pipeline_root": "/srv/kfp"}, [], "[kubeflow] pipeline_root is the local path '/srv/kfp'"),
    ({"beam_profile": "dataflow", "project": "p", "region": "r"}, [], "[kubeflow] temp_location is empty"),
    ({"beam_profile": "dataflow", "project": "p", "region": "r", "temp_location": "/tmp/x"}, [],
     "[kubeflow] temp_location is the local path"),
    ({"beam_profile": "flink"}, [], "[kubeflow] flink_master is empty"),
    ({"beam_profile": "samza"}, [], "[kubeflow] beam_profile must be one of direct, dataflow, flink, spark"),
    ({}, ["--target", "argo"], "invalid choice: 'argo' (choose from 'kubeflow')"),
])
def test_bad_input_is_a_clear_error(tmp_path, kubeflow, args, message):
    config_path = kubeflow_config(tmp_path / "bad.toml", **kubeflow)
    output = tmp_path / "job.json"
    result = run_cli("compile", *(args or ["--target", "kubeflow"]), "--config", config_path,
                     "--output", str(output))
    assert result.returncode == 2
    assert message in result.stderr
    assert not output.exists()


def test_custom_artifact_type_that_does_not_import_by_its_type_name_is_a_clear_error():
    """The container finds a custom artifact class only by TYPE_NAME, so compiling checks it imports."""
    from tfx.types import artifact, standard_artifacts

    class Report(artifact.Artifact):
        TYPE_NAME = "components.Report"  # components/__init__.py does not export it

    def pipeline_with(artifact_type):
        channel = types.SimpleNamespace(type=artifact_type)
        return types.SimpleNamespace(components=[types.SimpleNamespace(id="Reporter", outputs={"report": channel})])
    with pytest.raises(ConfigError, match=r"Reporter output 'report'.*TYPE_NAME 'components.Report'"):
        kubeflow_runner.check_artifact_types(pipeline_with(Report))
    kubeflow_runner.check_artifact_types(pipeline_with(standard_artifacts.Examples))

@pytest.mark.slow
def test_emulated_run_of_the_compiled_data_stage(tmp_path):
    """Compiles the data stage (`--data-only`) for gs://emulated-bucket, copies the demo CSV there and runs every
    task through its container command; every custom component must run through TFX's KFP v2 entrypoint and write
    the artifacts it declares."""
    bucket = tmp_path / "bucket"
    shutil.copytree(os.path.join(REPO, "data", "demo"), bucket / "data")
    config = load_config(write_config(tmp_path / "emulated.toml", {
        "kubeflow": {"image": IMAGE, "pipeline_root": f"{BUCKET}/pipelines"},
        "data": {"input_dir": f"{BUCKET}/data"},
        "drift": {"baseline": "pinned", "baseline_span": 1}}))  # a remote input_dir is not listed when compiling
    assert kubeflow_runner.check(config) == []
    pipeline = kubeflow_runner.compile_pipeline(config, str(tmp_path / "job.json"), data_only=True)

    runs = kfp_emulator.run_job(str(tmp_path / "job.json"), str(bucket), BUCKET)

    failed = [run for run in runs.values() if run.returncode]
    assert not failed, f"{failed[0].name} failed:\n{kfp_emulator.log_tail(failed[0])}"
    assert set(runs) == {c.id for c in pipeline.components}
    custom = {c.id for c in pipeline.components if not type(c).__module__.startswith("tfx.")}
    assert custom, "create_pipeline has no custom components in the data stage"
    entrypoint = "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"
    for component in pipeline.components:
        run = runs[component.id]
        assert run.commands[-1][:3] == ["python", "-m", entrypoint]
        assert run.executor_class.startswith("tfx.") == (component.id not in custom)
        assert set(run.output["artifacts"]) == set(component.outputs), component.id
        for key, produced in run.output["artifacts"].items():
            uri = produced["artifacts"][0]["uri"]
            assert uri.startswith(str(bucket / "pipelines")), uri
            written = [files for _, _, files in os.walk(uri) if files] if os.path.isdir(uri) else [uri]
            assert os.path.exists(uri) and written, f"{component.id}.{key} wrote nothing at {uri}"
    # Each ExampleGen's driver ran first and resolved the span (the latest, and the pinned drift baseline) and the
    # input fingerprint that KFP caches on; the Drift step compared them.
    gens = {run.name: run for run in runs.values() if len(run.commands) == 2}
    assert set(gens) == {"FastExampleGen", "BaselineExampleGen"}
    for name, span in (("FastExampleGen", 2), ("BaselineExampleGen", 1)):
        assert gens[name].commands[0][:3] == ["python", "-m",
                                              "tfx.orchestration.kubeflow.v2.file_based_example_gen.driver"]
        resolved = gens[name].driver_output["parameterValues"]
        assert resolved["span"] == span and "num_files:1" in resolved["input_fingerprint"]
    drift_uri = runs["Drift"].output["artifacts"]["drift"]["artifacts"][0]["uri"]
    with open(os.path.join(drift_uri, "drift.json")) as f:
        drift = json.load(f)
    assert (drift["current_span"], drift["baseline_span"]) == (2, 1) and drift["drifted_features"] == ["site"]
