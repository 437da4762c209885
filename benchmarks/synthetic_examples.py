"""Synthetic Examples artifacts for the benchmarks: Arrow columns serialized by tfx_bsl's C++ encoder and written as
gzipped TFRecord shards by the shared shard writer (components/examples_io/tfrecord.py), as the pipeline writes them."""
import os

import numpy as np
import pyarrow as pa
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import io_utils
from tfx_bsl.coders import example_coder

from components.examples_io.tfrecord import write_tfrecords

CHUNK_ROWS = 100_000  # rows encoded at a time, so memory stays bounded


def write_examples_artifact(uri, batch, shards=4, span=None):
    """An Examples artifact at `uri` with one split, 'train', holding the rows of the Arrow record batch `batch`
    (list columns) in `shards` files."""
    artifact = standard_artifacts.Examples()
    artifact.uri = uri
    if span is not None:
        artifact.span = span
    artifact.split_names = artifact_utils.encode_split_names(["train"])
    split_dir = os.path.join(uri, "Split-train")
    os.makedirs(split_dir)
    bounds = np.linspace(0, batch.num_rows, shards + 1).astype(int)
    for shard in range(shards):
        start, end = bounds[shard], bounds[shard + 1]
        records = (record for chunk_start in range(start, end, CHUNK_ROWS)
                   for record in example_coder.RecordBatchToExamples(
                       batch.slice(chunk_start, min(CHUNK_ROWS, end - chunk_start))))
        write_tfrecords(os.path.join(split_dir, f"data_tfrecord-{shard:05d}-of-{shards:05d}.gz"), records)
    return artifact


def write_schema_artifact(uri, batch):
    """A Schema artifact at `uri` naming each list column of `batch` with its type (floats FLOAT, integers INT,
    bytes or strings BYTES), as SchemaGen would infer it from the Examples `write_examples_artifact` writes."""
    schema = schema_pb2.Schema()
    for field in batch.schema:
        kind = field.type.value_type
        schema.feature.add(name=field.name, type=schema_pb2.FLOAT if pa.types.is_floating(kind) else
                           schema_pb2.INT if pa.types.is_integer(kind) else schema_pb2.BYTES)
    artifact = standard_artifacts.Schema()
    artifact.uri = uri
    io_utils.write_pbtxt_file(os.path.join(uri, "schema.pbtxt"), schema)
    return artifact


def output(cls, root, name):
    """An empty output artifact of type `cls` at `root`/`name`, for calling an executor directly."""
    artifact = cls()
    artifact.uri = os.path.join(root, name)
    os.makedirs(artifact.uri, exist_ok=True)
    return artifact
