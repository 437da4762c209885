"""The Evaluator's metrics (TFMA's MetricsForSlice records), read without TensorFlow: the one reader for the runs
ledger, the run report and the serving monitor.

`tfma.load_metrics` imports all of TFMA and TensorFlow (15-60 s on a loaded machine) to read a small TFRecord file.
Here the file is read with components/examples_io/framing.py and parsed with TFMA's own generated proto module,
loaded from its file so that TFMA's package (whose __init__ imports TensorFlow) is not run. tests/test_quick_cli.py
checks the values equal `tfma.load_metrics`'s on a real run.
"""
import importlib.util
import os
import sys

import pyarrow.fs as pafs

from components.examples_io.framing import read_tfrecords

ACCURACY_METRIC = "sparse_categorical_accuracy"  # TFMA's name for SparseCategoricalAccuracy; the eval config blesses on it
EXAMPLE_COUNT = "example_count"
METRICS_FILE_PREFIX = "metrics"  # TFMA's constants.METRICS_KEY: <evaluation folder>/metrics*.tfrecord
_PROTO_MODULE = "tensorflow_model_analysis.proto.metrics_for_slice_pb2"


def _metrics_for_slice_pb2():
    """TFMA's metrics_for_slice_pb2 (it imports only google.protobuf), registered under its own name so that a later
    `import tensorflow_model_analysis` in this process reuses it rather than defining its messages twice."""
    if _PROTO_MODULE not in sys.modules:
        package = importlib.util.find_spec("tensorflow_model_analysis")  # finds the package without running it
        path = os.path.join(package.submodule_search_locations[0], "proto", "metrics_for_slice_pb2.py")
        spec = importlib.util.spec_from_file_location(_PROTO_MODULE, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[_PROTO_MODULE] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[_PROTO_MODULE]
            raise
    return sys.modules[_PROTO_MODULE]


def _metrics_files(evaluation_uri):
    """TFMA's metrics files in an evaluation folder, as tfma.load_metrics finds them (metrics*.tfrecord, else
    metrics* for older outputs)."""
    filesystem, path = pafs.FileSystem.from_uri(evaluation_uri if "://" in evaluation_uri
                                                else os.path.abspath(evaluation_uri))
    infos = filesystem.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    names = sorted(os.path.basename(i.path) for i in infos
                   if i.type == pafs.FileType.File and os.path.basename(i.path).startswith(METRICS_FILE_PREFIX))
    chosen = [n for n in names if n.endswith(".tfrecord")] or names
    return ["/".join([evaluation_uri.rstrip("/"), n]) if "://" in evaluation_uri else os.path.join(evaluation_uri, n)
            for n in chosen]


def load_metrics(evaluation_uri):
    """The MetricsForSlice protos of a ModelEvaluation folder, as `tfma.load_metrics(evaluation_uri)` yields them."""
    message = _metrics_for_slice_pb2().MetricsForSlice
    for path in _metrics_files(evaluation_uri):
        for record in read_tfrecords(path):
            yield message.FromString(record)


def slice_values(evaluation_uri):
    """[(SliceKey proto, {metric name: value})] for every slice, the metrics that are plain numbers."""
    return [(metrics.slice_key, {entry.key.name: entry.value.double_value.value
                                 for entry in metrics.metric_keys_and_values if entry.value.HasField("double_value")})
            for metrics in load_metrics(evaluation_uri)]


def overall(evaluation_uri):
    """{metric name: value} of the overall slice (no slice key); empty when there is none."""
    found = [values for key, values in slice_values(evaluation_uri) if not key.single_slice_keys]
    return found[-1] if found else {}
