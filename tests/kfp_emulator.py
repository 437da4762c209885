"""Test scaffolding: runs a compiled KFP v2 PipelineJob's tasks on this machine the way KFP's launcher would.

Not a product runner. For each task, in dependency order (independent tasks two at a time), it builds the
ExecutorInput that KFP's driver hands the launcher (constant `parameterValues`, upstream output artifacts with the
metadata their producer reported, output artifacts under <root>/<job>/<task>/, an `outputFile`), substitutes it for
the `{{$}}` placeholder in the task's container command and runs that command as a subprocess. A lifecycle
`preCacheCheck` hook (the file-based ExampleGen driver) runs first, as Vertex AI Pipelines does; its output file
updates the executor's parameters. The same layout as kfp.local (kfp/local/executor_input_utils.py), which builds
ExecutorInput for KFP's own local runs.

Remote storage is emulated by mapping one bucket prefix (e.g. gs://emulated-bucket/) to a local folder in the job
JSON, so the compiled spec is exercised exactly as written for the cluster.
"""
import concurrent.futures
import dataclasses
import graphlib
import json
import os
import subprocess
import sys


@dataclasses.dataclass
class TaskRun:
    name: str
    executor_class: str
    commands: list  # each command line run, driver first
    returncode: int
    log_path: str
    output: dict  # the ExecutorOutput JSON the task wrote (empty if it failed)
    driver_output: dict  # the ExecutorOutput its preCacheCheck driver wrote, if it has one


def _input_artifacts(task, results):
    artifacts = {}
    for key, source in task.get("inputs", {}).get("artifacts", {}).items():
        producer = source["taskOutputArtifact"]
        produced = results[producer["producerTask"]].output["artifacts"][producer["outputArtifactKey"]]
        artifacts[key] = produced
    return artifacts


def executor_input(spec, name, results, task_root):
    """The ExecutorInput (as a dict) for task `name`, given the upstream tasks' results."""
    task = spec["root"]["dag"]["tasks"][name]
    component = spec["components"][task["componentRef"]["name"]]
    parameters = {key: source["runtimeValue"]["constant"]
                  for key, source in task.get("inputs", {}).get("parameters", {}).items()}
    # The runtime artifact keeps the type from the consumer's input definition, as KFP's driver does.
    input_types = component.get("inputDefinitions", {}).get("artifacts", {})
    inputs = {}
    for key, produced in _input_artifacts(task, results).items():
        inputs[key] = {"artifacts": [dict(artifact, type=input_types[key]["artifactType"])
                                     for artifact in produced["artifacts"]]}
    outputs = {key: {"artifacts": [{"name": f"{name}.{key}", "type": definition["artifactType"],
                                    "uri": os.path.join(task_root, key), "metadata": {}}]}
               for key, definition in component.get("outputDefinitions", {}).get("artifacts", {}).items()}
    return {"inputs": {"parameterValues": parameters, "artifacts": inputs},
            "outputs": {"artifacts": outputs, "outputFile": os.path.join(task_root, "executor_output.json")}}


def _command(exec_spec, placeholder_value):
    args = [placeholder_value if arg == "{{$}}" else arg for arg in exec_spec.get("args", [])]
    unresolved = [arg for arg in args if "{{$" in arg]
    assert not unresolved, f"placeholders the emulator does not know: {unresolved}"
    return list(exec_spec["command"]) + args


def _run_task(spec, name, results, job_root, env):
    task = spec["root"]["dag"]["tasks"][name]
    component = spec["components"][task["componentRef"]["name"]]
    container = spec["deploymentSpec"]["executors"][component["executorLabel"]]["container"]
    task_root = os.path.join(job_root, name)
    os.makedirs(task_root, exist_ok=True)
    invocation = json.dumps(executor_input(spec, name, results, task_root))
    steps = []
    if "preCacheCheck" in container.get("lifecycle", {}):
        steps.append(_command(container["lifecycle"]["preCacheCheck"], invocation))
    steps.append(_command(container, invocation))
    log_path = os.path.join(task_root, "task.log")
    output_file = os.path.join(task_root, "executor_output.json")
    outputs = []
    with open(log_path, "w") as log:
        for command in steps:
            returncode = subprocess.run(command, cwd=task_root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        timeout=1200).returncode
            if returncode:
                break
            with open(output_file) as f:  # the executor overwrites the driver's; keep each
                outputs.append(json.load(f))
    output = outputs[-1] if not returncode else {}
    driver_output = outputs[0] if len(steps) == 2 and outputs else {}
    executor_class = container["args"][container["args"].index("--executor_class_path") + 1]
    return TaskRun(name, executor_class, steps, returncode, log_path, output, driver_output)


def run_job(job_path, local_root, bucket_prefix, job_name="emulated-job", parallel=2):
    """Runs every task of the PipelineJob JSON at `job_path`; `bucket_prefix` maps to `local_root`.

    Returns {task name: TaskRun}; stops scheduling after the first failed task."""
    with open(job_path) as f:
        text = f.read().replace(bucket_prefix.rstrip("/") + "/", local_root.rstrip("/") + "/")
    job = json.loads(text)
    spec = job["pipelineSpec"]
    job_root = os.path.join(job["runtimeConfig"]["gcsOutputDirectory"], job_name)
    tasks = spec["root"]["dag"]["tasks"]
    order = graphlib.TopologicalSorter({name: task.get("dependentTasks", []) for name, task in tasks.items()})
    order.prepare()
    # The image's environment: `python` is the interpreter with the project installed (this venv's), and the
    # Dockerfile sets TF_USE_LEGACY_KERAS=1 for TFX 1.16's Keras 2 components.
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2",
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    results = {}
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        while order.is_active():
            ready = order.get_ready()
            for run in pool.map(lambda name: _run_task(spec, name, results, job_root, env), ready):
                results[run.name] = run
                if run.returncode:
                    return results
                order.done(run.name)
    return results


def log_tail(run, chars=4000):
    with open(run.log_path) as f:
        return f.read()[-chars:]
