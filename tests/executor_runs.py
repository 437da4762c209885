"""Each custom executor run on given artifacts with the demo's settings, outside a pipeline: for the tests that run
the same executors in several Beam modes (tests/test_runner_modes.py) or on another filesystem
(tests/test_filesystems.py). Output folders are made through TFX's fileio, so they may be any URI it knows.
"""
import hashlib
import json
from collections import Counter

import tensorflow as tf
from google.protobuf import json_format
from tfx import types
from tfx import v1 as tfx
from tfx.dsl.io import fileio
from tfx.types import standard_artifacts
from tfx.utils import json_utils

from components.conflicts import executor as conflicts
from components.conflicts.component import LabelConflicts
from components.corrections import executor as corrections
from components.corrections.component import Corrections
from components.error_analysis import executor as error_analysis
from components.error_analysis.component import ErrorAnalysisResult
from components.examples_io.framing import parse_tfrecords
from components.fast_example_gen import executor as fast_example_gen
from components.label_consistency import executor as label_consistency
from components.label_consistency.component import LabelConsistencyReport
from components.label_errors import executor as label_errors
from components.label_errors.component import LabelIssues
from components.provenance import executor as provenance
from components.review_queue import executor as review_queue
from components.review_queue.component import DEFAULT_MAX_ROWS, LabelReviewQueue
from pipeline import pipeline
from pipeline.configs import Config

LABELERS = ["labeler_a", "labeler_b", "labeler_c"]
METADATA = ["site", "season"]
FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


def join(uri, *parts):
    return "/".join([str(uri).rstrip("/"), *parts])


def artifact(cls, uri):
    made = cls()
    made.uri = str(uri)
    fileio.makedirs(made.uri)
    return made


def _context(executor, args, out):
    """The executor's context; its temporary folder beside `out`, so that it is not part of the output."""
    return executor.Executor.Context(beam_pipeline_args=args, tmp_dir=str(out).rstrip("/") + ".tmp",
                                     unique_id="test")


def fast_example_gen_run(args, csv_dir, out):
    examples = artifact(standard_artifacts.Examples, out)
    split_config = tfx.proto.SplitConfig(
        splits=[tfx.proto.SplitConfig.Split(name="train", hash_buckets=4),
                tfx.proto.SplitConfig.Split(name="eval", hash_buckets=1)], partition_feature_name="example_id")
    fast_example_gen.Executor(fast_example_gen.Executor.Context(beam_pipeline_args=args)).Do(
        {}, {"examples": [examples]}, {
            "input_base": str(csv_dir),
            "input_config": json_format.MessageToJson(tfx.proto.Input(
                splits=[tfx.proto.Input.Split(name="single_split", pattern="*.csv")])),
            "output_config": json_format.MessageToJson(tfx.proto.Output(split_config=split_config))})
    return examples


def provenance_run(args, examples, csv_dir, out):
    target = artifact(standard_artifacts.Examples, join(out, "examples"))
    provenance.Executor(_context(provenance, args, out)).Do(
        {"examples": [examples]}, {"examples_with_provenance": [target]}, {
            "source": json.dumps({"source_name": "demo", "source_uri": "https://example.org/penguins",
                                  "owner": "field team", "collection_window": "2007-11/2010-01"}),
            "instructions_file": "data/labeling_instructions.md", "instructions_sha256": "abc123",
            "labelers": json.dumps(["labeler_a", "labeler_b"]), "data_inventory": json.dumps({}),
            "input_base": str(csv_dir), "file_pattern": "*.csv", "label_column": "species",
            "metadata_columns": json.dumps(METADATA)})
    return target


def corrections_applier_run(args, examples, schema, corrections_uri, out):
    """`corrections_uri`: a corrections CSV file."""
    with fileio.open(corrections_uri, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    corrections_file = Corrections()
    corrections_file.uri = corrections_uri
    corrections_file.set_string_custom_property("sha256", digest)
    target = artifact(standard_artifacts.Examples, join(out, "examples"))
    corrections.Executor(_context(corrections, args, out)).Do(
        {"examples": [examples], "schema": [schema], "corrections": [corrections_file]},
        {"corrected_examples": [target]}, {"id_column": "example_id", "label_column": "species"})
    return target


def label_consistency_run(args, examples, schema, out):
    """(consensus Examples, LabelConsistencyReport, consensus Schema)."""
    outputs = {"consensus_examples": artifact(standard_artifacts.Examples, join(out, "consensus")),
               "label_consistency": artifact(LabelConsistencyReport, join(out, "report")),
               "consensus_schema": artifact(standard_artifacts.Schema, join(out, "schema"))}
    label_consistency.Executor(_context(label_consistency, args, out)).Do(
        {"examples": [examples], "schema": [schema]}, {k: [v] for k, v in outputs.items()},
        {"labeler_columns": json_utils.dumps(LABELERS), "label_column": "species", "id_column": "example_id",
         "long_form_file": "", "min_agreement": 0.8, "min_class_agreement": 0.667, "on_low_agreement": "warn",
         "consensus_method": "majority"})
    return list(outputs.values())


def label_errors_run(args, examples, schema, out):
    output = artifact(LabelIssues, out)
    label_errors.Executor(_context(label_errors, args, out)).Do(
        {"examples": [examples], "schema": [schema]}, {"label_issues": [output]},
        {"id_column": "example_id", "label_column": "species", "features": json.dumps(FEATURES),
         "metadata_columns": json.dumps(METADATA), "folds": 5, "model": "logistic_regression", "seed": 0})
    return output


def conflicts_run(args, examples, schema, out):
    config = Config()
    output = artifact(LabelConflicts, out)
    conflicts.Executor(_context(conflicts, args, out)).Do(
        {"examples": [examples], "schema": [schema]}, {"conflicts": [output]},
        {"id_column": "example_id", "label_column": "species",
         "labeler_columns": json.dumps(config.labels.labeler_columns),
         "metadata_columns": json.dumps(config.labels.metadata_columns),
         "exclude": json.dumps(config.conflicts.exclude), "tolerance": config.conflicts.tolerance,
         "relative": config.conflicts.relative,
         "absolute_tolerances": json.dumps(config.conflicts.absolute_tolerances),
         "relative_tolerances": json.dumps(config.conflicts.relative_tolerances)})
    return output


def review_queue_run(args, finders, out):
    """`finders`: {input key (label_consistency, conflicts, label_issues, error_analysis): artifact}."""
    output = artifact(LabelReviewQueue, out)
    review_queue.Executor(_context(review_queue, args, out)).Do(
        {key: [found] for key, found in finders.items()}, {"review_queue": [output]},
        {"id_column": "example_id", "labeler_columns": json.dumps(LABELERS),
         "metadata_columns": json.dumps(METADATA), "max_rows": DEFAULT_MAX_ROWS})
    return output



def error_analysis_run(args, examples, model, transform_graph, label_issues, out):
    """With the exec properties the demo pipeline gives the component."""
    properties = pipeline.error_analysis(
        Config(), types.Channel(type=standard_artifacts.Examples), types.Channel(type=standard_artifacts.Model),
        types.Channel(type=standard_artifacts.TransformGraph), types.Channel(type=LabelIssues)).exec_properties
    output = artifact(ErrorAnalysisResult, out)
    error_analysis.Executor(_context(error_analysis, args, out)).Do(
        {"examples": [examples], "model": [model], "transform_graph": [transform_graph],
         "label_issues": [label_issues]}, {"error_analysis": [output]}, properties)
    return output


def contents(output, roots):
    """What an output artifact holds, independent of how the runner cut its shards and of where it was written:
    ({relative path, or split folder for Examples shards: content}, custom properties), with every one of `roots`
    (folders or URIs the run wrote under) replaced by "<root>". Read through fileio, so on any filesystem it knows."""
    def placed(text):
        for root in roots:
            text = text.replace(str(root).rstrip("/"), "<root>")
        return text

    found = {}
    for folder, _, files in fileio.walk(output.uri):
        for name in sorted(files):
            path = join(folder, name)
            relative = path[len(output.uri.rstrip("/")) + 1:]
            with fileio.open(path, "rb") as f:
                content = f.read()
            if name.endswith(".gz"):  # an Examples shard: its records, by split folder
                records = found.setdefault(relative.rpartition("/")[0], Counter())
                records.update(tf.train.Example.FromString(record).SerializeToString(deterministic=True)
                               for record in parse_tfrecords(content, path))
                continue
            found[relative] = placed(content.decode())
    properties = {key: placed(json_format.MessageToJson(value, sort_keys=True))
                  for key, value in output.mlmd_artifact.custom_properties.items()}
    return found, properties


def examples_count(found):
    """The number of records in a contents() result's Examples splits."""
    return sum(sum(records.values()) for records in found.values() if isinstance(records, Counter))

