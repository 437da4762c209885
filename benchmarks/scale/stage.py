"""The data stage as a plan of nodes, and one node run on the previous nodes' real output artifacts:

    python -m benchmarks.scale.stage WORKDIR NODE_ID
    python -m benchmarks.scale.stage WORKDIR --plan

`write_plan` takes the nodes, executors, execution properties and wiring from the pipeline that
`create_pipeline(config, data_only=True)` builds from WORKDIR/config.toml (so the benchmark runs the pipeline as it
stands) and writes them to WORKDIR/plan.json; ExampleGen's span, version and input fingerprint are resolved there by
TFX's own driver. Running a node imports only its executor: inputs are read from WORKDIR/artifacts/<producer>.json,
outputs written under WORKDIR/outputs/<node>/ and recorded in WORKDIR/artifacts/<node>.json. An Importer (the
corrections file) only records its artifact.
"""
import importlib
import json
import os
import resource
import shutil
import sys
import time

import psutil

CONFIG_FILE = "config.toml"
PLAN_FILE = "plan.json"


def _dotted(cls):
    return f"{cls.__module__}:{cls.__qualname__}"


def _load(dotted):
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


def _property(value):
    """An execution property as the TFX launcher hands it to an executor: protos as JSON text."""
    from google.protobuf import json_format, message
    if isinstance(value, message.Message):
        return json_format.MessageToJson(value, sort_keys=True, preserving_proto_field_name=True)
    return value


def write_plan(workdir):
    """WORKDIR/plan.json from the pipeline; returns the node ids in the pipeline's (topological) order."""
    from tfx.components.example_gen import driver as example_gen_driver
    from tfx.dsl.components.base import base_beam_executor
    from tfx.dsl.components.common.importer import Importer

    from pipeline.configs import load_config
    from pipeline.local_runner import beam_args
    from pipeline.pipeline import create_pipeline

    config = load_config(os.path.join(workdir, CONFIG_FILE))
    pipeline = create_pipeline(config, os.path.join(workdir, "outputs"), beam_args(config), data_only=True)
    plan = []
    for node in pipeline.components:
        step = {"id": node.id, "outputs": {key: _dotted(channel.type) for key, channel in node.outputs.items()}}
        if isinstance(node, Importer):
            step["import"] = {"uri": node.exec_properties["artifact_uri"],
                              "custom_properties": dict(node.outputs["result"].additional_custom_properties)}
        else:
            properties = {k: _property(v) for k, v in node.exec_properties.items() if v is not None}
            step["example_gen"] = issubclass(node.driver_class, example_gen_driver.Driver)
            if step["example_gen"]:
                properties = node.driver_class(None).resolve_exec_properties(properties, None, None)
            executor_class = node.executor_spec.executor_class
            step.update(executor=_dotted(executor_class), exec_properties=properties,
                        beam_pipeline_args=(beam_args(config) if issubclass(
                            executor_class, base_beam_executor.BaseBeamExecutor) else None),
                        inputs={key: [channel.producer_component_id, channel.output_key]
                                for key, channel in node.inputs.items()})
        plan.append(step)
    with open(os.path.join(workdir, PLAN_FILE), "w") as f:
        json.dump(plan, f, indent=1)
    return [step["id"] for step in plan]


def _artifacts_file(workdir, node_id):
    return os.path.join(workdir, "artifacts", node_id + ".json")


def timing_file(workdir, node_id):
    """The executor's own wall and CPU time (Do only, without Python's start and the imports) and this process's
    resident memory just before Do."""
    return os.path.join(workdir, "artifacts", node_id + ".timing.json")


def _cpu_seconds():
    """CPU time of this process and of its ended children (Beam's multi_processing workers): on a loaded machine
    a fairer measure of the work than wall time."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run(workdir, node_id):
    from tfx.utils import json_utils

    with open(os.path.join(workdir, PLAN_FILE)) as f:
        step = {s["id"]: s for s in json.load(f)}[node_id]
    outputs = {}
    for key, type_name in step["outputs"].items():
        artifact = _load(type_name)()
        artifact.uri = os.path.join(workdir, "outputs", node_id, key)
        shutil.rmtree(artifact.uri, ignore_errors=True)
        os.makedirs(artifact.uri)
        outputs[key] = [artifact]
    timing = {}
    if "import" in step:  # the source file itself is the artifact
        artifact = outputs["result"][0]
        os.rmdir(artifact.uri)
        artifact.uri = step["import"]["uri"]
        for key, value in step["import"]["custom_properties"].items():
            artifact.set_string_custom_property(key, value)
    else:
        inputs = {}
        for key, (producer, output_key) in step["inputs"].items():
            with open(_artifacts_file(workdir, producer)) as f:
                inputs[key] = json_utils.loads(f.read())[output_key]
        executor_class = _load(step["executor"])
        context = {"tmp_dir": os.path.join(workdir, "tmp", node_id) + os.sep, "unique_id": node_id}
        if step["beam_pipeline_args"] is not None:
            context["beam_pipeline_args"] = step["beam_pipeline_args"]
        executor = executor_class(executor_class.Context(**context))
        rss_before = psutil.Process().memory_info().rss
        start, cpu = time.monotonic(), _cpu_seconds()
        executor.Do(inputs, outputs, dict(step["exec_properties"]))
        timing = {"do_seconds": time.monotonic() - start, "do_cpu_seconds": _cpu_seconds() - cpu,
                  "rss_before_do_bytes": rss_before}
        if step["example_gen"]:
            from tfx.components.example_gen import driver as example_gen_driver
            for artifact in outputs["examples"]:
                example_gen_driver.update_output_artifact(step["exec_properties"], artifact.mlmd_artifact)
    os.makedirs(os.path.dirname(_artifacts_file(workdir, node_id)), exist_ok=True)
    with open(_artifacts_file(workdir, node_id), "w") as f:
        f.write(json_utils.dumps(outputs))
    with open(timing_file(workdir, node_id), "w") as f:
        json.dump(timing, f)


if __name__ == "__main__":
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if sys.argv[2] == "--plan":
        print(json.dumps(write_plan(sys.argv[1])))
    else:
        run(*sys.argv[1:3])
