"""CorrectionsApplier executor: validates the corrections CSV, then rewrites the corrected labels in one Beam pass.

The corrections (a human-reviewed list, small) are held in memory and broadcast as a side input; the examples stream
through, so memory does not grow with the number of examples. What only the data can tell (ids that do not exist,
labels never seen when the schema has no label domain) is checked after the pass, and the run fails listing every
problem; a failed execution publishes nothing.
"""
import hashlib
import json
import os
from collections import Counter

import apache_beam as beam
import tensorflow as tf
from absl import logging
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils

from components.corrections.parse import CorrectionsError, check_ids, decode, fail, parse_corrections
from components.examples_io import carry_over, feature_value, split_files_pattern

MAX_LISTED = 100  # the `corrections` custom property lists at most this many changes


def label_domain(schema, label_column):
    """(allowed label values or None when the schema has no domain for the label, whether labels are integers)."""
    feature = next((f for f in schema.feature if f.name == label_column), None)
    if feature is None:
        raise ValueError(f"[labels] label_column {label_column!r} is not a feature of the schema")
    if feature.HasField("string_domain"):
        return set(feature.string_domain.value), False
    if feature.HasField("domain"):
        named = next((d for d in schema.string_domain if d.name == feature.domain), None)
        if named is not None:
            return set(named.value), False
    return None, feature.type == schema_pb2.INT


def corrections_version(corrections):
    """SHA-256 of the applied corrections in canonical form: the same label changes give the same version,
    whatever the file's row order, extra columns or comments."""
    canonical = "".join(f"{i}\t{c.label}\n" for i, c in sorted(corrections.items()))
    return hashlib.sha256(canonical.encode()).hexdigest()


class _Rewrite(beam.DoFn):
    """Sets the corrected label; tags each corrected example's (id, old label) and every original label."""
    MATCHED = "matched"
    LABELS = "labels"

    def __init__(self, id_column, label_column, integer_labels):
        self._id_column, self._label_column, self._integer = id_column, label_column, integer_labels

    def process(self, record, corrections):
        example = tf.train.Example.FromString(record)
        old = feature_value(example, self._label_column)
        if old is not None:
            yield beam.pvalue.TaggedOutput(self.LABELS, old)
        example_id = feature_value(example, self._id_column)
        new = corrections.get(example_id)
        if new is None:
            yield record
            return
        yield beam.pvalue.TaggedOutput(self.MATCHED, (example_id, old))
        feature = example.features.feature[self._label_column]
        feature.Clear()
        if self._integer:
            feature.int64_list.value.append(int(new))
        else:
            feature.bytes_list.value.append(new.encode("utf-8"))
        yield example.SerializeToString(deterministic=True)


class Executor(base_beam_executor.BaseBeamExecutor):

    def Do(self, input_dict, output_dict, exec_properties):
        source = artifact_utils.get_single_instance(input_dict["examples"])
        schema_artifact = artifact_utils.get_single_instance(input_dict["schema"])
        corrections_artifact = artifact_utils.get_single_instance(input_dict["corrections"])
        target = artifact_utils.get_single_instance(output_dict["corrected_examples"])
        id_column, label_column = exec_properties["id_column"], exec_properties["label_column"]

        path = corrections_artifact.uri
        if not fileio.exists(path) or fileio.isdir(path):
            raise CorrectionsError(f"corrections file {path} ([labels] corrections_file) does not exist")
        with fileio.open(path, "rb") as f:
            raw = f.read()
        pinned = corrections_artifact.get_string_custom_property("sha256")
        if pinned and hashlib.sha256(raw).hexdigest() != pinned:
            raise CorrectionsError(f"corrections file {path} changed after the pipeline was built; run it again")
        schema = io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(schema_artifact.uri))
        allowed, integer_labels = label_domain(schema, label_column)
        corrections, skipped, repeated = parse_corrections(path, decode(path, raw), allowed, integer_labels)
        logging.info("CorrectionsApplier: %d correction(s) from %s, %d row(s) without a corrected_label skipped",
                     len(corrections), path, skipped)

        carry_over(source, target)
        matched, matched_counts, observed, new_counts = self._rewrite(source, target, corrections, id_column,
                                                                      label_column, integer_labels)
        problems = check_ids(path, corrections, matched_counts)
        if allowed is None and not integer_labels:
            problems += [f"line {c.line}: example {i}: label {c.label!r} never occurs in the data (labels: "
                         f"{', '.join(sorted(observed))}) and the schema has no label domain to allow it"
                         for i, c in sorted(corrections.items(), key=lambda ic: ic[1].line)
                         if c.label not in observed]
        if problems:
            fail(path, problems)

        changes = [{"example_id": i, "from": matched[i], "to": c.label, "reviewer": c.reviewer, "reason": c.reason}
                   for i, c in sorted(corrections.items()) if matched[i] != c.label]
        version = corrections_version(corrections)
        base_fingerprint = source.get_string_custom_property("data_fingerprint")
        fingerprint = hashlib.sha256(f"{base_fingerprint}\n{version}".encode()).hexdigest()
        target.set_string_custom_property("corrections_file", path)
        target.set_string_custom_property("corrections_version", version)
        target.set_int_custom_property("corrections_applied", len(corrections))
        target.set_int_custom_property("labels_changed", len(changes))
        target.set_int_custom_property("corrections_skipped_empty", skipped)
        target.set_int_custom_property("corrections_repeated", repeated)
        target.set_json_value_custom_property("corrections", changes[:MAX_LISTED])
        target.set_string_custom_property("base_data_version", source.get_string_custom_property("data_version"))
        target.set_string_custom_property("data_fingerprint", fingerprint)
        target.set_string_custom_property("data_version", fingerprint[:12])
        target.set_json_value_custom_property("label_counts", new_counts)
        logging.info("CorrectionsApplier: %d correction(s) applied, %d label(s) changed; data version %s",
                     len(corrections), len(changes), fingerprint[:12])

    def _rewrite(self, source, target, corrections, id_column, label_column, integer_labels):
        """Writes every split with corrected labels; returns ({id: old label} of corrected examples, {id: number
        of examples with it} of those, the set of labels in the data before correction, {label: count} after
        correction)."""
        side = {i: c.label for i, c in corrections.items()}
        tmp = self._get_tmp_dir()
        with self._make_beam_pipeline() as p:
            side_input = p | "Corrections" >> beam.Create([side])
            matched, labels, new_labels = [], [], []
            for split in artifact_utils.decode_split_names(source.split_names):
                out_dir = artifact_utils.get_split_uri([target], split)
                results = (p | f"Read[{split}]" >> beam.io.ReadFromTFRecord(split_files_pattern(source, split))
                           | f"Rewrite[{split}]" >> beam.ParDo(
                               _Rewrite(id_column, label_column, integer_labels),
                               beam.pvalue.AsSingleton(side_input)).with_outputs(
                                   _Rewrite.MATCHED, _Rewrite.LABELS, main="examples"))
                _ = results.examples | f"Write[{split}]" >> beam.io.WriteToTFRecord(
                    os.path.join(out_dir, "data_tfrecord"), file_name_suffix=".gz")
                matched.append(results[_Rewrite.MATCHED])
                labels.append(results[_Rewrite.LABELS])
                new_labels.append(results.examples | f"NewLabel[{split}]" >> beam.Map(
                    lambda r: feature_value(tf.train.Example.FromString(r), label_column)))
            _ = (matched | "AllMatched" >> beam.Flatten() | "MatchedJson" >> beam.Map(json.dumps)
                 | "WriteMatched" >> beam.io.WriteToText(os.path.join(tmp, "matched"), shard_name_template=""))
            _ = (labels | "AllLabels" >> beam.Flatten() | beam.Distinct() | "LabelsJson" >> beam.Map(json.dumps)
                 | "WriteLabels" >> beam.io.WriteToText(os.path.join(tmp, "labels"), shard_name_template=""))
            _ = (new_labels | "AllNewLabels" >> beam.Flatten() | beam.Filter(lambda x: x is not None)
                 | beam.combiners.Count.PerElement() | "CountsJson" >> beam.Map(json.dumps)
                 | "WriteCounts" >> beam.io.WriteToText(os.path.join(tmp, "counts"), shard_name_template=""))
        matched_pairs = _read_json_lines(os.path.join(tmp, "matched"))
        observed = set(_read_json_lines(os.path.join(tmp, "labels")))
        counts = dict(_read_json_lines(os.path.join(tmp, "counts")))
        return dict(matched_pairs), Counter(i for i, _ in matched_pairs), observed, counts


def _read_json_lines(path):
    with fileio.open(path, "r") as f:
        return [tuple(v) if isinstance(v, list) else v for v in map(json.loads, f)]
