"""Real TFX artifacts for component tests, made by TFX's own code rather than by hand.

`examples_from_csv` runs the stock CsvExampleGen executor (a real Beam pipeline) over a folder of CSV files, so a
component test reads exactly what the pipeline would hand it. `schema_for` infers a schema with TFDV.
"""
import os

import tensorflow_data_validation as tfdv
from google.protobuf import json_format
from tfx import v1 as tfx
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.types import standard_artifacts

from pipeline.configs import Config
from pipeline.local_runner import beam_args

LOCAL_BEAM_ARGS = beam_args(Config())


def examples_from_csv(csv_dir, output_dir, id_column=None, split_buckets=(("train", 4), ("eval", 1))):
    """An Examples artifact under `output_dir` holding every CSV in `csv_dir`, split like the pipeline splits.

    With `id_column`, the split hashes that column (as the pipeline does); otherwise it hashes whole rows."""
    examples = standard_artifacts.Examples()
    examples.uri = str(output_dir)
    split_config = tfx.proto.SplitConfig(
        splits=[tfx.proto.SplitConfig.Split(name=name, hash_buckets=buckets) for name, buckets in split_buckets],
        partition_feature_name=id_column or "")
    exec_properties = {
        "input_base": str(csv_dir),
        "input_config": json_format.MessageToJson(tfx.proto.Input(splits=[
            tfx.proto.Input.Split(name="single_split", pattern="*.csv")])),
        "output_config": json_format.MessageToJson(tfx.proto.Output(split_config=split_config)),
    }
    csv_executor.Executor(csv_executor.Executor.Context(beam_pipeline_args=LOCAL_BEAM_ARGS)).Do(
        {}, {"examples": [examples]}, exec_properties)
    return examples


def schema_for(examples, output_dir):
    """A Schema artifact under `output_dir` inferred by TFDV from the examples' train split."""
    pattern = os.path.join(examples.uri, "Split-train", "*")
    stats = tfdv.generate_statistics_from_tfrecord(
        pattern, pipeline_options=None, stats_options=tfdv.StatsOptions())
    schema = tfdv.infer_schema(stats)
    artifact = standard_artifacts.Schema()
    artifact.uri = str(output_dir)
    os.makedirs(artifact.uri, exist_ok=True)
    tfdv.write_schema_text(schema, os.path.join(artifact.uri, "schema.pbtxt"))
    return artifact
