"""`runs`, `lineage` and `report` read the store without TensorFlow (issue 15, "a quiet console"): the contracts
they read come from TFX-free modules, TFMA's metrics from pipeline/tfma_metrics.py, and the values equal TFMA's."""
import glob
import os
import subprocess
import sys

import pytest

from tests.pipeline_runs import REPO, write_config

HEAVY = ("tensorflow", "tfx", "tensorflow_model_analysis", "tensorflow_data_validation", "tensorflow_transform")

# Runs the CLI in this interpreter, then prints the heavy packages it imported (their top-level modules only: TFMA's
# metrics_for_slice_pb2, loaded from its file, is not the package).
_CLI_THEN_MODULES = """
import runpy, sys
sys.argv = ["pipeline"] + sys.argv[1:]
try:
    runpy.run_module("pipeline", run_name="__main__")
except SystemExit as exit:
    status = exit.code
print("IMPORTED:" + ",".join(sorted(m for m in sys.modules if m in %r)))
sys.exit(status)
""" % (HEAVY,)


def _cli_imports(*args):
    result = subprocess.run([sys.executable, "-c", _CLI_THEN_MODULES, *args], cwd=REPO, capture_output=True,
                            text=True, timeout=600, env=dict(os.environ, PYTHONPATH=REPO))
    imported = [line for line in result.stdout.splitlines() if line.startswith("IMPORTED:")]
    assert imported, f"{args}: no module list\n{result.stdout}\n{result.stderr[-3000:]}"
    return result, imported[-1][len("IMPORTED:"):]


def test_contracts_and_store_readers_import_without_tensorflow():
    code = ("import sys\n"
            "import pipeline.ledger, pipeline.lineage, pipeline.report, pipeline.tfma_metrics\n"
            "import " + ", ".join(f"components.{os.path.basename(os.path.dirname(p))}.contract"
                                  for p in sorted(glob.glob(os.path.join(REPO, "components", "*", "contract.py")))) +
            f"\nprint(sorted(m for m in sys.modules if m in {HEAVY!r}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"


def test_contract_modules_equal_the_components_and_tfx():
    """component.py re-exports its contract; tfx_names equals TFX's own constants."""
    import importlib
    from tfx.components.evaluator.constants import ARTIFACT_PROPERTY_BLESSED_KEY
    from tfx.types import standard_artifacts, standard_component_specs
    from pipeline import tfx_names
    for path in glob.glob(os.path.join(REPO, "components", "*", "contract.py")):
        name = os.path.basename(os.path.dirname(path))
        contract = importlib.import_module(f"components.{name}.contract")
        component = importlib.import_module(f"components.{name}.component")
        public = [n for n in vars(contract) if n.isupper()]
        assert public and all(getattr(component, n) is getattr(contract, n) for n in public), name
        if hasattr(contract, "ARTIFACT_TYPE_NAME"):
            artifact_classes = [c for c in vars(component).values()
                                if isinstance(c, type) and getattr(c, "TYPE_NAME", None) == contract.ARTIFACT_TYPE_NAME]
            assert artifact_classes, f"{name}: no artifact class with TYPE_NAME {contract.ARTIFACT_TYPE_NAME}"
    for constant, cls in [("EXAMPLES", "Examples"), ("STATISTICS", "ExampleStatistics"),
                          ("ANOMALIES", "ExampleAnomalies"), ("SCHEMA", "Schema"),
                          ("TRANSFORM_GRAPH", "TransformGraph"), ("MODEL", "Model"), ("EVALUATION", "ModelEvaluation"),
                          ("BLESSING", "ModelBlessing"), ("PUSHED_MODEL", "PushedModel")]:
        assert getattr(tfx_names, constant) == getattr(standard_artifacts, cls).TYPE_NAME
    assert tfx_names.EXAMPLES_KEY == standard_component_specs.EXAMPLES_KEY
    assert tfx_names.BLESSED == ARTIFACT_PROPERTY_BLESSED_KEY


def test_tfrecord_reader_reads_what_the_writer_wrote_and_refuses_corruption(tmp_path):
    from components.examples_io.framing import read_tfrecords
    from components.examples_io.tfrecord import write_tfrecords
    records = [b"", b"a", os.urandom(70_000), b"x" * 300]
    write_tfrecords(str(tmp_path / "shard.gz"), records)
    assert list(read_tfrecords(str(tmp_path / "shard.gz"))) == records
    import gzip
    plain = bytearray(gzip.decompress((tmp_path / "shard.gz").read_bytes()))
    (tmp_path / "plain.tfrecord").write_bytes(bytes(plain))
    assert list(read_tfrecords(str(tmp_path / "plain.tfrecord"))) == records
    plain[30] ^= 1  # inside the second record's payload
    (tmp_path / "bad.tfrecord").write_bytes(bytes(plain))
    with pytest.raises(ValueError, match="bad.tfrecord.*CRC"):
        list(read_tfrecords(str(tmp_path / "bad.tfrecord")))
    (tmp_path / "cut.tfrecord").write_bytes(bytes(plain[:-3]))
    with pytest.raises(ValueError, match="cut.tfrecord"):
        list(read_tfrecords(str(tmp_path / "cut.tfrecord")))


def test_missing_store_is_a_clear_error_without_tensorflow(tmp_path):
    config = write_config(tmp_path / "c.toml", {"pipeline": {"output_dir": str(tmp_path / "nothing")}})
    result, imported = _cli_imports("runs", "--config", config)
    assert result.returncode == 2
    assert f"no ML Metadata store at {tmp_path / 'nothing' / 'metadata.sqlite'}" in result.stderr
    assert imported == ""


@pytest.mark.parametrize("command", [("runs",), ("runs", "--format", "json"), ("lineage",), ("report",)])
def test_store_commands_run_without_tensorflow(demo_run, tmp_path, command):
    extra = ("--output", str(tmp_path / "r.html")) if command[0] == "report" else ()
    result, imported = _cli_imports(*command, "--config", demo_run.config_path, *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    assert imported == ""
    assert "cuFFT" not in result.stdout + result.stderr


def test_metrics_equal_tfma_load_metrics(demo_run):
    """The ledger's accuracy, the report's slices and the monitor's overall figures come from tfma_metrics: every
    slice's values equal tfma.load_metrics's on the demo run."""
    import tensorflow_model_analysis as tfma
    from pipeline import ledger, tfma_metrics
    from pipeline.mlmd_graph import Graph, open_store
    (evaluation,) = glob.glob(os.path.join(demo_run.pipeline_root, "Evaluator", "evaluation", "*"))
    ours = tfma_metrics.slice_values(evaluation)
    theirs = [(m.slice_key, {e.key.name: e.value.double_value.value for e in m.metric_keys_and_values
                             if e.value.HasField("double_value")}) for m in tfma.load_metrics(evaluation)]
    assert len(ours) > 1 and ours == theirs
    (overall,) = [values for key, values in theirs if not key.single_slice_keys]
    # Other tests may add runs to the demo store (a cached re-run reuses this evaluation; a data-only run has none).
    accuracies = [row["accuracy"] for row in ledger.ledger(Graph(open_store(demo_run.metadata)))
                  if row["accuracy"] is not None]
    assert accuracies and set(accuracies) == {overall[tfma_metrics.ACCURACY_METRIC]}
