"""Compiles `create_pipeline` for Kubeflow Pipelines v2 (or Vertex AI Pipelines) into a PipelineJob JSON; no cluster.

The same pipeline definition as the local run. KFP provides the ML Metadata connection, so none is passed. Every
executor, component and model function is named by its importable module path and the image from `make image`
carries them all, so the JSON refers to nothing on the compiling machine except data paths the configuration gives.
"""
import os

from pipeline.configs import Config, ConfigError

TARGETS = ("kubeflow",)


def _is_uri(path):
    return "://" in path


def check(config: Config, source="the configuration"):
    """Raises ConfigError for settings that cannot work on a cluster; returns warnings for paths that might not.

    The pipeline root must be a URI: KFP stores every artifact there. Data paths may be local only if the same path
    exists inside the cluster's containers (a volume, or Vertex AI's /gcs/<bucket> mount), so they only warn."""
    kf = config.kubeflow
    for key, value in kf.required_keys().items():
        if not value:
            hint = {"image": "build it with `make image`, push it to a registry the cluster can pull from and set "
                             "its name, e.g. gcr.io/PROJECT/tfx-datacentric:0.1.0",
                    "pipeline_root": "set a URI the cluster can write, e.g. gs://BUCKET/tfx-datacentric"}
            raise ConfigError(f"{source}: [kubeflow] {key} is empty but compiling for Kubeflow needs it"
                              f"{' (beam_profile = ' + repr(kf.beam_profile) + ')' if key not in hint else ''}; "
                              f"{hint.get(key, 'set it in the [kubeflow] section')}")
    remote = {"pipeline_root": kf.pipeline_root}
    if kf.beam_profile == "dataflow":
        remote["temp_location"] = kf.temp_location
    for key, value in remote.items():
        if not _is_uri(value):
            raise ConfigError(f"{source}: [kubeflow] {key} is the local path {value!r}; pods on the cluster cannot "
                              f"write there. Use a URI such as gs://BUCKET/tfx-datacentric")
    maybe_local = {"[data] input_dir": config.data.input_dir, "[data] schema_file": config.data.schema_file,
                   "[labels] corrections_file": config.labels.corrections_file,
                   "[label_consistency] long_form_file": config.label_consistency.long_form_file,
                   "[kubeflow] serving_dir": kf.serving_dir}
    return [f"{key} is the local path {value!r}: the compiled pipeline reads it as "
            f"{os.path.abspath(value)!r} inside the cluster's containers. Use a gs:// (or other remote) URI unless "
            f"that path is mounted there." for key, value in maybe_local.items() if value and not _is_uri(value)]


def beam_args(config: Config):
    """The Beam arguments every Beam-based executor gets, for `[kubeflow] beam_profile`; extra_beam_args last."""
    from pipeline import local_runner  # TensorFlow loads with it; compiling loads it anyway
    kf = config.kubeflow
    harness = ["--environment_type=DOCKER", f"--environment_config={kf.image}"]  # Beam workers run in our image
    profiles = {
        # Beam's local engine inside each pod, as a local run has it; the image installs the package.
        "direct": lambda: local_runner.engine_args(config.pipeline) + list(config.pipeline.extra_beam_args),
        "dataflow": lambda: ["--runner=DataflowRunner", f"--project={kf.project}", f"--region={kf.region}",
                             f"--temp_location={kf.temp_location}", f"--sdk_container_image={kf.image}"],
        "flink": lambda: ["--runner=FlinkRunner", f"--flink_master={kf.flink_master}"] + harness,
        "spark": lambda: ["--runner=SparkRunner", f"--spark_master_url={kf.spark_master_url}"] + harness,
    }
    return profiles[kf.beam_profile]() + list(kf.extra_beam_args)


def check_artifact_types(pipeline):
    """Raises ConfigError unless each custom artifact type imports by its TYPE_NAME.

    KFP v2 records a custom type only by TYPE_NAME and the container entrypoint imports the class from that name
    (TFX requires the form `module.Class`), so a name that does not import breaks the run on the cluster."""
    from tfx.utils import import_utils
    for component in pipeline.components:
        for key, channel in component.outputs.items():
            cls = channel.type
            if cls.__module__.startswith("tfx."):
                continue
            try:
                imported = import_utils.import_class_by_path(cls.TYPE_NAME)
            except (ImportError, AttributeError, ValueError):
                imported = None
            if imported is not cls:
                raise ConfigError(
                    f"{component.id} output {key!r}: artifact type {cls.__module__}.{cls.__name__} has TYPE_NAME "
                    f"{cls.TYPE_NAME!r}, which does not import as that class. Kubeflow's container imports custom "
                    f"artifact types by TYPE_NAME, which must be '<top-level module>.<Class>': e.g. TYPE_NAME = "
                    f"'components.{cls.__name__}' with the class imported in components/__init__.py.")


def compile_pipeline(config: Config, output_path, data_only=False):
    """Writes the PipelineJob JSON for `config` to `output_path`; returns the compiled `tfx.dsl.Pipeline`.

    Pipeline spec schema 2.1: the KFP v2 backend passes parameters as `parameterValues` only, and the TFX container
    entrypoint reads those (typed by the inputs spec in the command line) only in 2.1; 2.0 specs read the older
    `parameters` field, which only Vertex AI still fills."""
    from tfx import v1 as tfx  # TensorFlow loads here, after `check` passed

    from pipeline.pipeline import create_pipeline
    kf = config.kubeflow
    serving = kf.serving_dir or kf.pipeline_root.rstrip("/") + "/serving_model"
    pipeline = create_pipeline(config, pipeline_root=kf.pipeline_root, beam_pipeline_args=beam_args(config),
                               data_only=data_only, serving_dir=serving)
    check_artifact_types(pipeline)
    output_path = os.path.abspath(output_path)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=kf.image,
                                                                         use_pipeline_spec_2_1=True),
        output_dir=os.path.dirname(output_path), output_filename=os.path.basename(output_path))
    runner.run(pipeline)
    return pipeline


def default_output(config: Config):
    return os.path.join(config.pipeline.output_dir, "kubeflow", config.pipeline.name + ".json")

