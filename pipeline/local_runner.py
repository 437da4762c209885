"""Runs `create_pipeline` locally: LocalDagRunner, Beam's DirectRunner, a SQLite ML Metadata store.

TFX logs a great deal; the full log goes to <output_dir>/logs/ and the console gets one line per component.
"""
import logging
import os
import sys
import time

from absl import logging as absl_logging

from pipeline import run_log
from pipeline.configs import Config, metadata_path

# This checkout's setup.py: a remote runner would stage it; the local engine ignores it, and its presence stops TFX
# from building a throwaway TFX sdist for every Beam component (tfx.utils.dependency_utils), which costs seconds each.
SETUP_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "setup.py")


def engine_args(pipeline_config):
    """Beam's local engine, in [pipeline] beam_mode: for this runner, and for a Kubeflow pod that runs Beam inside
    itself. The runner is FnApiRunner, the engine Beam's DirectRunner uses for batch pipelines, named directly
    because Beam 2.74's DirectRunner first tries its Prism runner, which downloads a binary at run time. The running
    mode is always explicit."""
    args = ["--runner=FnApiRunner", "--direct_running_mode=" + pipeline_config.beam_mode]
    if pipeline_config.beam_mode == "multi_processing":
        args.append(f"--direct_num_workers={pipeline_config.beam_workers}")
    return args


def beam_args(config: Config):
    """The Beam arguments every Beam-based component gets in a local run; [pipeline] extra_beam_args come last."""
    return engine_args(config.pipeline) + ["--setup_file=" + SETUP_FILE] + list(config.pipeline.extra_beam_args)


def cpu_seconds():
    """CPU time of this process (components and in_memory Beam run in it) and of its ended child processes: on a
    loaded machine the wall time of a component says little, its CPU time is what the demo budget can compare."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class ComponentProgress(logging.Handler):
    """Turns LocalDagRunner's log records into one console line per component, with wall and CPU time and cache
    hits."""

    def __init__(self, component_ids, stream=sys.stdout):
        super().__init__(logging.INFO)
        self.total = len(component_ids)
        self.stream = stream
        self.done = 0
        self.started = {}
        self.cached = set()
        self.current = None

    def emit(self, record):
        if not record.args:
            return
        message, arg = record.msg, record.args[0]
        if message == "Component %s is running.":
            self.current = arg
            self.started[arg] = (time.monotonic(), cpu_seconds())
            self._print(f"[{self.done + 1}/{self.total}] {arg} ...")
        elif message == "A cached execution %d is used.":
            self.cached.add(self.current)
        elif message == "Component %s is finished.":
            self.done += 1
            wall, cpu = time.monotonic() - self.started[arg][0], cpu_seconds() - self.started[arg][1]
            note = "from cache" if arg in self.cached else f"{wall:.1f} s, CPU {cpu:.1f} s"
            self._print(f"[{self.done}/{self.total}] {arg} done ({note})")
        elif message == "Skipping component %s.":
            self.done += 1
            self._print(f"[{self.done}/{self.total}] {arg} skipped")

    def _print(self, line):
        print(line, file=self.stream, flush=True)


class PipelineFailed(Exception):
    """The run stopped on a component's error (the cause); the full trace is in the log at `log_path`."""

    def __init__(self, log_path):
        super().__init__(f"the pipeline failed; full log: {log_path}")
        self.log_path = log_path


def _log_to_file(path):
    """Sends TFX's INFO log to the run's own log file (pipeline/run_log.py) instead of the console; returns the
    handler."""
    # Through absl's flag, not Logger.setLevel: TensorFlow saves and restores the verbosity via that flag.
    absl_logging.set_verbosity(absl_logging.INFO)
    absl_logging.use_python_logging(quiet=True)
    file_handler = logging.FileHandler(path)
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for logger in (logging.getLogger(), logging.getLogger("tensorflow")):  # TensorFlow's does not propagate
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:
                handler.setLevel(logging.ERROR)
        logger.addHandler(file_handler)
        logger.setLevel(logging.INFO)
    return file_handler


def run(config: Config, data_only=False, log_path=None):
    """Runs the pipeline to completion, logging to `log_path` (default: a new file under <output_dir>/logs);
    returns the paths a user wants afterwards."""
    # Here, not at the top: executor tests and benchmarks import this module for `beam_args` alone. Not through
    # `tfx.v1`, which imports Google's Vertex AI client (pipeline/pipeline.py says why).
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    from tfx.orchestration.metadata import sqlite_metadata_connection_config

    from pipeline.pipeline import create_pipeline
    output_dir = os.path.abspath(config.pipeline.output_dir)
    os.makedirs(output_dir, exist_ok=True)
    metadata = os.path.abspath(metadata_path(config))
    os.makedirs(os.path.dirname(metadata), exist_ok=True)
    serving_dir = os.path.abspath(config.pipeline.serving_dir or os.path.join(output_dir, "serving_model"))
    pipeline = create_pipeline(
        config,
        pipeline_root=os.path.join(output_dir, "pipeline_root"),
        beam_pipeline_args=beam_args(config),
        metadata_connection_config=sqlite_metadata_connection_config(metadata),
        data_only=data_only, serving_dir=serving_dir)
    log_path = log_path or run_log.new_log_path(output_dir)
    file_handler = _log_to_file(log_path)
    progress = ComponentProgress([c.id for c in pipeline.components])
    logging.getLogger("absl").addHandler(progress)
    print(f"Running {len(pipeline.components)} components (Beam {config.pipeline.beam_mode}); "
          f"full log: {log_path}", flush=True)
    try:
        LocalDagRunner().run(pipeline)
    except Exception as e:
        trace = logging.getLogger("pipeline.failure")  # to the log file only, not the console
        trace.propagate = False
        trace.addHandler(file_handler)
        trace.exception("The pipeline failed")
        trace.removeHandler(file_handler)
        raise PipelineFailed(log_path) from e
    finally:
        logging.getLogger("absl").removeHandler(progress)
        for logger in (logging.getLogger(), logging.getLogger("tensorflow")):
            logger.removeHandler(file_handler)
        file_handler.close()
    return {"pipeline_root": os.path.join(output_dir, "pipeline_root"), "metadata": metadata,
            "serving_model": serving_dir, "log": log_path}
