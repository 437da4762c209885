"""CorrectionsApplier executor: validates the corrections CSV, then rewrites the corrected labels in one Beam pass.

The corrections (a human-reviewed list, small) are held in memory and broadcast as a side input; the examples stream
through, so memory does not grow with the number of examples. What only the data can tell (ids that do not exist,
labels never seen when the schema has no label domain) is checked after the pass, and the run fails listing every
problem; a failed execution publishes nothing.
"""
import hashlib
from collections import Counter

import apache_beam as beam
import tensorflow as tf
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.corrections.contract import (BASE_DATA_VERSION, CORRECTIONS_APPLIED, CORRECTIONS_FILE,
                                              CORRECTIONS_LISTED, CORRECTIONS_REPEATED, CORRECTIONS_SKIPPED_EMPTY,
                                              CORRECTIONS_VERSION, LABELS_CHANGED, SHA256)
from components.corrections.parse import CorrectionsError, check_ids, decode, fail, parse_corrections
from components.examples_io import read
from components.examples_io.artifacts import carry_over
from components.examples_io.results import Results
from components.examples_io.schema import check_columns, is_integer, label_domain, read_schema
from components.examples_io.tfrecord import WriteSplit, write_empty_shards
from components.examples_io.values import feature_value
from components.progress import say
from components.provenance.contract import DATA_FINGERPRINT, DATA_VERSION, LABEL_COUNTS

MAX_LISTED = 100  # the `corrections` custom property lists at most this many changes


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
        corrections_artifact = artifact_utils.get_single_instance(input_dict["corrections"])
        target = artifact_utils.get_single_instance(output_dict["corrected_examples"])
        id_column, label_column = exec_properties["id_column"], exec_properties["label_column"]

        path = corrections_artifact.uri
        if not fileio.exists(path) or fileio.isdir(path):
            raise CorrectionsError(f"corrections file {path} ([labels] corrections_file) does not exist")
        with fileio.open(path, "rb") as f:
            raw = f.read()
        pinned = corrections_artifact.get_string_custom_property(SHA256)
        if pinned and hashlib.sha256(raw).hexdigest() != pinned:
            raise CorrectionsError(f"corrections file {path} changed after the pipeline was built; run it again")
        schema = read_schema(input_dict["schema"])
        check_columns(schema, {"[labels] label_column": [label_column]}, error=CorrectionsError, what="the schema")
        domain, integer_labels = label_domain(schema, label_column), is_integer(schema, label_column)
        allowed = set(domain) if domain is not None else None
        corrections, skipped, repeated = parse_corrections(path, decode(path, raw), allowed, integer_labels)
        say("CorrectionsApplier", f"{len(corrections)} correction(s) from {path}, {skipped} row(s) without a "
                                  f"corrected_label skipped")

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
        base_fingerprint = source.get_string_custom_property(DATA_FINGERPRINT)
        fingerprint = hashlib.sha256(f"{base_fingerprint}\n{version}".encode()).hexdigest()
        target.set_string_custom_property(CORRECTIONS_FILE, path)
        target.set_string_custom_property(CORRECTIONS_VERSION, version)
        target.set_int_custom_property(CORRECTIONS_APPLIED, len(corrections))
        target.set_int_custom_property(LABELS_CHANGED, len(changes))
        target.set_int_custom_property(CORRECTIONS_SKIPPED_EMPTY, skipped)
        target.set_int_custom_property(CORRECTIONS_REPEATED, repeated)
        target.set_json_value_custom_property(CORRECTIONS_LISTED, changes[:MAX_LISTED])
        target.set_string_custom_property(BASE_DATA_VERSION, source.get_string_custom_property(DATA_VERSION))
        target.set_string_custom_property(DATA_FINGERPRINT, fingerprint)
        target.set_string_custom_property(DATA_VERSION, fingerprint[:12])
        target.set_json_value_custom_property(LABEL_COUNTS, new_counts)
        say("CorrectionsApplier", f"{len(corrections)} correction(s) applied, {len(changes)} label(s) changed; data "
                                  f"version {fingerprint[:12]}")

    def _rewrite(self, source, target, corrections, id_column, label_column, integer_labels):
        """Writes every split with corrected labels; returns ({id: old label} of corrected examples, {id: number
        of examples with it} of those, the set of labels in the data before correction, {label: count} after
        correction)."""
        side = {i: c.label for i, c in corrections.items()}
        split_uris = {split: artifact_utils.get_split_uri([target], split) for split in read.split_names(source)}
        for uri in split_uris.values():
            fileio.makedirs(uri)
        results = Results(self._get_tmp_dir())
        with self._make_beam_pipeline() as p:
            side_input = p | "Corrections" >> beam.Create([side])
            matched, labels, new_labels = [], [], []
            for split in split_uris:
                rewritten = (p | f"Read[{split}]" >> read.records(source, split, "CorrectionsApplier")
                           | f"Rewrite[{split}]" >> beam.ParDo(
                               _Rewrite(id_column, label_column, integer_labels),
                               beam.pvalue.AsSingleton(side_input)).with_outputs(
                                   _Rewrite.MATCHED, _Rewrite.LABELS, main="examples"))
                _ = rewritten.examples | f"Write[{split}]" >> WriteSplit(split, split_uris, "CorrectionsApplier")
                matched.append(rewritten[_Rewrite.MATCHED])
                labels.append(rewritten[_Rewrite.LABELS])
                new_labels.append(rewritten.examples | f"NewLabel[{split}]" >> beam.Map(
                    lambda r: feature_value(tf.train.Example.FromString(r), label_column)))
            results.collect("matched", matched | "AllMatched" >> beam.Flatten())
            results.collect("labels", labels | "AllLabels" >> beam.Flatten() | beam.Distinct())
            results.collect("counts", new_labels | "AllNewLabels" >> beam.Flatten()
                            | beam.Filter(lambda x: x is not None) | beam.combiners.Count.PerElement())
        write_empty_shards(split_uris)
        matched_pairs = [tuple(pair) for pair in results["matched"]]
        counts = dict(tuple(pair) for pair in results["counts"])
        return dict(matched_pairs), Counter(i for i, _ in matched_pairs), set(results["labels"]), counts
