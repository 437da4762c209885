"""CorrectionsApplier executor: validates the corrections CSV, then rewrites the corrected labels in one Beam pass.

Memory grows with the number of corrections, never with the number of examples: the corrections ({id: label}, about
150 bytes each) are a side input; the examples stream through file by file as lists of serialized records (at most a
shard's worth), each record is parsed by protobuf's C parser only to read its id and label, a corrected record gets
its label replaced in its bytes (relabel.py), and each list is written back, in its order, as one shard. Nothing is
shuffled but the file names. What only the data can tell (ids that do not exist or name several examples, labels
never seen when the schema has no label domain) comes back as the corrected ids and small per-list counts, is checked
after the pass, and the run fails listing every problem by line; a failed execution publishes nothing.
"""
import hashlib
from collections import Counter

import apache_beam as beam
from tensorflow.core.example.example_pb2 import Example
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.corrections.contract import (BASE_DATA_VERSION, CORRECTIONS_APPLIED, CORRECTIONS_FILE,
                                              CORRECTIONS_LISTED, CORRECTIONS_REPEATED, CORRECTIONS_SKIPPED_EMPTY,
                                              CORRECTIONS_VERSION, LABELS_CHANGED, SHA256)
from components.corrections.parse import CorrectionsError, check_ids, decode, fail, parse_corrections
from components.corrections.relabel import with_feature
from components.examples_io import read
from components.examples_io.artifacts import carry_over
from components.examples_io.results import Results
from components.examples_io.schema import check_columns, is_integer, label_domain, read_schema
from components.examples_io.tfrecord import Shard, WriteShards, content_name, write_empty_shards
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
    """(split, list of serialized records) -> one Shard of the same records in the same order, each corrected one
    with its label replaced in its bytes (relabel.py; the others are the very bytes read). Tagged: (id, old label)
    of each corrected example, the list's distinct labels before correction, and its {label: count} after.

    Ids and labels are read as `values.feature_value` gives them (the first value, as a string)."""
    MATCHED = "matched"
    LABELS = "labels"
    COUNTS = "counts"

    def __init__(self, id_column, label_column, integer_labels):
        self._id_column, self._label_column, self._integer = id_column, label_column, integer_labels

    def process(self, split_and_records, corrections):
        split, records = split_and_records
        rewritten, labels, counts = [], set(), Counter()
        for record in records:
            example = Example.FromString(record)
            example_id, old = feature_value(example, self._id_column), feature_value(example, self._label_column)
            labels.add(old)
            new = corrections.get(example_id)
            if new is None:
                counts[old] += 1
                rewritten.append(record)
                continue
            counts[new] += 1
            yield beam.pvalue.TaggedOutput(self.MATCHED, (example_id, old))
            rewritten.append(with_feature(record, self._label_column, new, self._integer))
        yield Shard(split, content_name(rewritten), rewritten)
        for label in labels - {None}:
            yield beam.pvalue.TaggedOutput(self.LABELS, label)
        counts.pop(None, None)
        yield beam.pvalue.TaggedOutput(self.COUNTS, dict(counts))


def _sum_counts(all_counts):
    total = Counter()
    for counts in all_counts:
        total.update(counts)
    return dict(total)


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
        check_columns(schema, {"[data] id_column": [id_column], "[labels] label_column": [label_column]},
                      error=CorrectionsError, what="the schema")
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

        changed = sorted(i for i, c in corrections.items() if matched[i] != c.label)
        listed = [{"example_id": i, "from": matched[i], "to": corrections[i].label, "reviewer": corrections[i].reviewer,
                   "reason": corrections[i].reason} for i in changed[:MAX_LISTED]]
        version = corrections_version(corrections)
        base_fingerprint = source.get_string_custom_property(DATA_FINGERPRINT)
        fingerprint = hashlib.sha256(f"{base_fingerprint}\n{version}".encode()).hexdigest()
        target.set_string_custom_property(CORRECTIONS_FILE, path)
        target.set_string_custom_property(CORRECTIONS_VERSION, version)
        target.set_int_custom_property(CORRECTIONS_APPLIED, len(corrections))
        target.set_int_custom_property(LABELS_CHANGED, len(changed))
        target.set_int_custom_property(CORRECTIONS_SKIPPED_EMPTY, skipped)
        target.set_int_custom_property(CORRECTIONS_REPEATED, repeated)
        target.set_json_value_custom_property(CORRECTIONS_LISTED, listed)
        target.set_string_custom_property(BASE_DATA_VERSION, source.get_string_custom_property(DATA_VERSION))
        target.set_string_custom_property(DATA_FINGERPRINT, fingerprint)
        target.set_string_custom_property(DATA_VERSION, fingerprint[:12])
        target.set_json_value_custom_property(LABEL_COUNTS, new_counts)
        say("CorrectionsApplier", f"{len(corrections)} correction(s) applied, {len(changed)} label(s) changed; data "
                                  f"version {fingerprint[:12]}")

    def _rewrite(self, source, target, corrections, id_column, label_column, integer_labels):
        """Writes every split with corrected labels; returns ({id: old label} of corrected examples, {id: number
        of examples with it} of those, the set of labels in the data before correction, {label: count} after
        correction)."""
        read.require_tf_examples(source, "CorrectionsApplier rewrites labels of tf.train.Example records only",
                                 CorrectionsError)
        side = {i: c.label for i, c in corrections.items()}
        splits = read.split_names(source)
        split_uris = {split: artifact_utils.get_split_uri([target], split) for split in splits}
        for uri in split_uris.values():
            fileio.makedirs(uri)
        results = Results(self._get_tmp_dir())
        with self._make_beam_pipeline() as p:
            # All splits as one source: Beam's local runner holds a multi-input Flatten whole.
            rewritten = (p | "Read" >> read.record_lists_of_splits(source, splits)
                         | "Rewrite" >> beam.ParDo(
                             _Rewrite(id_column, label_column, integer_labels),
                             beam.pvalue.AsSingleton(p | "Corrections" >> beam.Create([side]))).with_outputs(
                                 _Rewrite.MATCHED, _Rewrite.LABELS, _Rewrite.COUNTS, main="shards"))
            _ = rewritten.shards | "Write" >> WriteShards(split_uris, "CorrectionsApplier")
            results.collect("matched", rewritten[_Rewrite.MATCHED])  # one per corrected example
            results.collect("labels", rewritten[_Rewrite.LABELS] | "Labels" >> beam.Distinct())
            results.collect("counts", rewritten[_Rewrite.COUNTS] | "SumCounts" >> beam.CombineGlobally(_sum_counts))
        write_empty_shards(split_uris)
        matched_pairs = [tuple(pair) for pair in results["matched"]]
        (counts,) = results["counts"]
        return dict(matched_pairs), Counter(i for i, _ in matched_pairs), set(results["labels"]), counts
