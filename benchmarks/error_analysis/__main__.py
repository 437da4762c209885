"""Benchmark: ErrorAnalysis against TFX's Evaluator (TFMA) on the same eval Examples and the same model.

    .venv/bin/python -m benchmarks.error_analysis --config RUN.toml [--examples 100000] [--copies K] [--out DIR]

Takes the model, transform graph and consensus Examples of a finished pipeline run (the newest in the ML Metadata
store of RUN.toml, e.g. `make demo-loop`'s outputs/demo-loop/run1.toml or the config of a `make run`), and writes an
Examples artifact whose eval split holds `--examples` examples resampled from the run's examples with the numeric
features jittered (so quantile bins and predictions vary) and new ids, and whose train split is the run's. Then it
runs, one after the other with the pipeline's local Beam arguments: the stock Evaluator executor with the
pipeline's eval config (unless --skip-evaluator), and the ErrorAnalysis executor as the pipeline configures it
(label-error flags from the run, so the levers run too). `--copies K` makes the eval split K copies of those
examples (ids renamed in place, `bench-` -> `benc1-`, ...: seconds instead of minutes of protobuf copying). Prints both wall times, their ratio, and ErrorAnalysis's
peak resident memory of the whole process tree (benchmarks/peak_memory.py).

To compare code versions, run each from its own tree with a config whose `[data] input_dir` is that tree's
data/demo, or one that names `[labels] metadata_columns`: pipeline/configs.py takes any other folder for other data
and drops the demo's metadata columns (site, season), so the analysis tests fewer slices (a note says so).
"""
import argparse
import glob
import json
import os
import tempfile
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from tfx.components.evaluator import executor as evaluator_executor  # noqa: E402
from tfx import types  # noqa: E402
from tfx.types import artifact_utils, standard_artifacts  # noqa: E402

from components.error_analysis import executor as analysis_executor  # noqa: E402
from components.examples_io.framing import read_tfrecords  # noqa: E402
from components.examples_io.tfrecord import write_tfrecords  # noqa: E402
from components.error_analysis.component import ErrorAnalysisResult  # noqa: E402
from components.label_errors.component import LabelIssues  # noqa: E402
from pipeline import pipeline as pipeline_module  # noqa: E402
from pipeline.configs import load_config  # noqa: E402
from pipeline.local_runner import beam_args  # noqa: E402
from pipeline.mlmd_graph import open_store  # noqa: E402
from benchmarks.peak_memory import PeakMemory  # noqa: E402


def newest(store, type_name, under=""):
    found = [a for a in store.get_artifacts_by_type(type_name) if under in a.uri]
    if not found:
        raise SystemExit(f"no {type_name} artifact{' under ' + under if under else ''} in the run's ML Metadata")
    return max(found, key=lambda a: a.id)


def artifact(cls, uri, split_names=None):
    made = cls()
    made.uri = uri
    if split_names:
        made.split_names = artifact_utils.encode_split_names(split_names)
    return made


def read_split(examples_uri, split):
    files = sorted(glob.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    return [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def write_split(uri, split, examples, shards=4):
    os.makedirs(os.path.join(uri, f"Split-{split}"))
    bounds = np.linspace(0, len(examples), shards + 1).astype(int)
    for shard in range(shards):
        path = os.path.join(uri, f"Split-{split}", f"data_tfrecord-{shard:05d}-of-{shards:05d}.gz")
        with tf.io.TFRecordWriter(path, options="GZIP") as writer:
            for example in examples[bounds[shard]:bounds[shard + 1]]:
                writer.write(example.SerializeToString())


def resampled(source, n, id_column, numeric, seed=0):
    """n copies of random source examples with new ids and the numeric features jittered by 2% of their value."""
    rng = np.random.default_rng(seed)
    made = []
    for i, pick in enumerate(rng.integers(0, len(source), n)):
        example = tf.train.Example()
        example.CopyFrom(source[pick])
        features = example.features.feature
        features[id_column].bytes_list.value[:] = [f"bench-{i:07d}".encode()]
        for name in numeric:
            feature = features[name]
            if feature.HasField("float_list") and feature.float_list.value:
                feature.float_list.value[0] *= 1 + rng.normal(0, 0.02)
            elif feature.HasField("int64_list") and feature.int64_list.value:
                feature.int64_list.value[0] = int(round(feature.int64_list.value[0] * (1 + rng.normal(0, 0.02))))
        made.append(example)
    return made


def copy_eval(examples_uri, copies):
    """Adds copies 1..copies-1 of every eval shard, each id's `bench-` renamed to `benc<k>-` (same length, so the
    serialized example stays valid)."""
    for path in sorted(glob.glob(os.path.join(examples_uri, "Split-eval", "*"))):
        records = read_tfrecords(path)
        for k in range(1, copies):
            write_tfrecords(path.replace(".gz", f"-copy{k}.gz"),
                            [r.replace(b"bench-", f"benc{k}-".encode()) for r in records])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="TOML config of a finished run (its ML Metadata is read)")
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--copies", type=int, default=1, help="eval split = this many copies (at most 10)")
    parser.add_argument("--skip-evaluator", action="store_true", help="time ErrorAnalysis alone")
    parser.add_argument("--out", help="working folder (default: a temporary one); its examples are reused if there")
    args = parser.parse_args()
    config = load_config(args.config)
    if not config.labels.metadata_columns:
        print(f"note: no metadata columns to slice by: {args.config} names no [labels] metadata_columns, and a "
              f"[data] input_dir other than this tree's data/demo starts from none (pipeline/configs.py)", flush=True)
    store = open_store(config.pipeline.metadata_path or os.path.join(config.pipeline.output_dir, "metadata.sqlite"))
    source_uri = newest(store, standard_artifacts.Examples.TYPE_NAME, os.sep + "LabelConsistency" + os.sep).uri
    model = artifact(standard_artifacts.Model, newest(store, standard_artifacts.Model.TYPE_NAME).uri)
    transform_graph = artifact(standard_artifacts.TransformGraph,
                               newest(store, standard_artifacts.TransformGraph.TYPE_NAME).uri)
    label_issues = artifact(LabelIssues, newest(store, LabelIssues.TYPE_NAME).uri)
    work = args.out or tempfile.mkdtemp(prefix="error-analysis-bench-")

    started = time.time()
    examples_uri = os.path.join(work, "examples")
    if os.path.exists(examples_uri):  # made by an earlier call with the same --out (and --examples)
        print(f"reusing the examples in {examples_uri}", flush=True)
    else:
        source = read_split(source_uri, "train") + read_split(source_uri, "eval")
        write_split(examples_uri, "train", read_split(source_uri, "train"))
        write_split(examples_uri, "eval", resampled(source, args.examples, config.data.id_column,
                                                    config.model.numeric_features))
        print(f"wrote {args.examples} eval examples to {examples_uri} ({time.time() - started:.0f} s)", flush=True)
        copy_eval(examples_uri, args.copies)
    examples = artifact(standard_artifacts.Examples, examples_uri, ["train", "eval"])

    evaluator_seconds = None if args.skip_evaluator else run_evaluator(config, examples, model, work)
    properties = pipeline_module.error_analysis(  # the exec properties the pipeline gives the component
        config, types.Channel(type=standard_artifacts.Examples), types.Channel(type=standard_artifacts.Model),
        types.Channel(type=standard_artifacts.TransformGraph), types.Channel(type=LabelIssues)).exec_properties
    with PeakMemory() as peak:
        analysis_executor.Executor(analysis_executor.Executor.Context(beam_pipeline_args=beam_args(config))).Do(
            {"examples": [examples], "model": [model], "transform_graph": [transform_graph],
             "label_issues": [label_issues]},
            {"error_analysis": [artifact(ErrorAnalysisResult, os.path.join(work, "analysis"))]}, properties)
    print(f"\n{args.examples} eval examples: ErrorAnalysis {peak.describe()}"
          + (f"; Evaluator {evaluator_seconds:.1f} s, ratio {peak.seconds / evaluator_seconds:.2f}"
             if evaluator_seconds else ""), flush=True)


def run_evaluator(config, examples, model, work):
    """The stock Evaluator on the same examples and model, as the pipeline configures it: its wall time."""
    label = pipeline_module.training_label(config)
    started = time.time()
    evaluator_executor.Executor(evaluator_executor.Executor.Context(beam_pipeline_args=beam_args(config))).Do(
        {"examples": [examples], "model": [model]},
        {"evaluation": [artifact(standard_artifacts.ModelEvaluation, os.path.join(work, "evaluation"))],
         "blessing": [artifact(standard_artifacts.ModelBlessing, os.path.join(work, "blessing"))]},
        {"eval_config": json_format.MessageToJson(pipeline_module.eval_config(config, label)),
         "example_splits": json.dumps(["eval"])})
    evaluator_seconds = time.time() - started
    print(f"Evaluator (TFMA): {evaluator_seconds:.1f} s", flush=True)

    return evaluator_seconds


if __name__ == "__main__":
    main()
