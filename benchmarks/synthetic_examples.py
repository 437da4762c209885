"""Synthetic Examples artifacts for the benchmarks: Arrow columns serialized by tfx_bsl's C++ encoder and written as
gzipped TFRecord shards by the shared shard writer (components/examples_io/tfrecord.py), as the pipeline writes them."""
import os

import numpy as np
from tfx.types import artifact_utils, standard_artifacts
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


def output(cls, root, name):
    """An empty output artifact of type `cls` at `root`/`name`, for calling an executor directly."""
    artifact = cls()
    artifact.uri = os.path.join(root, name)
    os.makedirs(artifact.uri, exist_ok=True)
    return artifact
