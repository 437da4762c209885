"""Synthetic inputs for CorrectionsApplier at scale, shared by the benchmark (run.py) and the scale test
(components/corrections/scale_test.py): Examples, a Schema with the label's domain, and a corrections CSV."""
import hashlib
import os

import numpy as np
import pyarrow as pa
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.types import standard_artifacts

from benchmarks.synthetic_examples import write_examples_artifact
from components.corrections import executor
from components.corrections.component import Corrections

LABELS = ("a", "b", "c")
UNREVIEWED_EVERY = 7  # every 7th corrections row has no corrected_label, as in a partly reviewed queue


def example_id(i):
    return f"e{i:07d}"


def given_label(i):
    return LABELS[i % len(LABELS)]


def corrected_label(i):
    return LABELS[(i + 1) % len(LABELS)]


def is_reviewed(i):
    return i % UNREVIEWED_EVERY != UNREVIEWED_EVERY - 1


def inputs(root, examples, corrections):
    """(Examples, Schema, Corrections) artifacts under `root`: `examples` examples e0000000..., and a corrections
    file of `corrections` rows for the first ones, in reverse id order (the file's order must not matter)."""
    ids = np.array([example_id(i) for i in range(examples)], dtype=object)
    batch = pa.RecordBatch.from_arrays(
        [pa.array([[i.encode()] for i in ids], pa.list_(pa.binary())),
         pa.array([[given_label(i).encode()] for i in range(examples)], pa.list_(pa.binary())),
         pa.array([[float(i % 1000) / 10] for i in range(examples)], pa.list_(pa.float32()))],
        ["example_id", "species", "x"])
    examples_artifact = write_examples_artifact(os.path.join(root, "examples"), batch)
    examples_artifact.set_string_custom_property("data_fingerprint", "f" * 64)
    examples_artifact.set_string_custom_property("data_version", "f" * 12)

    schema = schema_pb2.Schema()
    schema.feature.add(name="example_id", type=schema_pb2.BYTES)
    schema.feature.add(name="species", type=schema_pb2.BYTES).string_domain.value.extend(LABELS)
    schema.feature.add(name="x", type=schema_pb2.FLOAT)
    schema_artifact = standard_artifacts.Schema()
    schema_artifact.uri = os.path.join(root, "schema")
    os.makedirs(schema_artifact.uri)
    with open(os.path.join(schema_artifact.uri, "schema.pbtxt"), "w") as f:
        f.write(str(schema))

    lines = ["example_id,given_label,corrected_label,reviewer,reason\n"]
    lines += [f"{example_id(i)},{given_label(i)},{corrected_label(i) if is_reviewed(i) else ''},"
              f"{'ana' if is_reviewed(i) else ''},\"checked, twice\"\n" for i in reversed(range(corrections))]
    text = "".join(lines)
    corrections_artifact = Corrections()
    corrections_artifact.uri = os.path.join(root, "corrections.csv")
    with open(corrections_artifact.uri, "w") as f:
        f.write(text)
    corrections_artifact.set_string_custom_property("sha256", hashlib.sha256(text.encode()).hexdigest())
    return examples_artifact, schema_artifact, corrections_artifact


def apply(root, inputs, beam_pipeline_args, name="out"):
    """Runs the CorrectionsApplier executor; returns the corrected Examples artifact."""
    examples, schema, corrections = inputs
    target = standard_artifacts.Examples()
    target.uri = os.path.join(root, name)
    context = executor.Executor.Context(beam_pipeline_args=beam_pipeline_args,
                                        tmp_dir=os.path.join(root, "tmp-" + name), unique_id="corrections_" + name)
    executor.Executor(context).Do({"examples": [examples], "schema": [schema], "corrections": [corrections]},
                                  {"corrected_examples": [target]},
                                  {"id_column": "example_id", "label_column": "species"})
    return target
