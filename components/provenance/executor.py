"""Provenance executor: copies the examples and writes provenance onto the copy as ML Metadata custom properties.

The split files are copied byte for byte (the examples are not re-encoded), so the copy is exactly the data
ExampleGen wrote. The value counts come from one Beam pass whose memory grows with the number of distinct values,
not with the number of examples; only the MAX_VALUES_PER_COLUMN most frequent per column reach this process. That
pass reads every split as one source of lists of serialized records and parses only the counted columns of each.
"""
import hashlib
import json
import os
from collections import Counter, defaultdict

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.examples_io import read
from components.examples_io.artifacts import carry_over
from components.examples_io.results import Results
from components.examples_io.values import decoded
from components.input_checks import InputError
from components.progress import say
from components.provenance.contract import (DATA_FINGERPRINT, DATA_INVENTORY, DATA_VERSION, EXAMPLES_PER_SPLIT,
                                             INPUT_FILES, INSTRUCTIONS_FILE, INSTRUCTIONS_VERSION, LABEL_COUNTS,
                                             LABELERS, METADATA_COUNTS, SOURCE_PROPERTIES)
from components.spans import artifact_span, span_files

MISSING = "(missing)"  # the value counted for an example that has no value in a column
MAX_VALUES_PER_COLUMN = 50  # more distinct values than this are summed into OTHER, to keep MLMD rows small
OTHER = "(other values)"
MAX_LISTED_FILES = 100  # input_files lists each file up to this many; beyond, only the totals
_CHUNK = 1 << 20
_LIST_RECORDS = 50_000  # records decoded and counted together: memory holds a list, whatever the data's size
SPLIT_SIZES, COLUMN_TYPES = "split_sizes", "column_types"  # CountValues' tagged outputs


def file_sha256(path):
    """SHA-256 hex digest and size of a file, streamed in chunks (works for gs:// through fileio)."""
    digest, size = hashlib.sha256(), 0
    with fileio.open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def fingerprint_inputs(input_base, file_pattern, span=0):
    """(data_fingerprint, files): the SHA-256 over the sorted content hashes of the input files (of `span` when the
    pattern has {SPAN}), and per file its name, hash and size. Content only: renaming or moving a file keeps the
    data version, editing one byte changes it."""
    paths = [p for p in span_files(input_base, file_pattern, span, glob=fileio.glob) if not fileio.isdir(p)]
    if not paths:
        raise InputError(f"Provenance: no input file matches {file_pattern!r} in {input_base!r}, although "
                         f"ExampleGen read some; did the input folder change during the run?")
    files = []
    for path in paths:
        sha, size = file_sha256(path)
        files.append({"name": os.path.relpath(path, input_base), "sha256": sha, "bytes": size})
    combined = hashlib.sha256("".join(sorted(f["sha256"] for f in files)).encode()).hexdigest()
    return combined, files


def data_version(fingerprint):
    """The short form shown to people and accepted by `python -m pipeline lineage --data`."""
    return fingerprint[:12]


def _first_values(column: pa.Array):
    """The first value of each example that has one in an Arrow list column, as an Arrow array."""
    offsets = column.offsets.to_numpy()
    return column.values.take(pa.array(offsets[:-1][np.diff(offsets) > 0]))


def _value_counts(batch: pa.RecordBatch, columns, rows):
    """((column, value), count) of a record batch of `rows` examples holding some of `columns` (None: none of them):
    each example's first value as a string (as `feature_value` gives it), MISSING for an example without one (and
    for every example in a column the batch does not hold). Counting in Arrow and keying the few distinct values in
    Python costs microseconds per example, not a Python parse of each tf.Example."""
    for name in columns:
        counts = Counter()
        index = -1 if batch is None else batch.schema.get_field_index(name)
        if index >= 0:
            for pair in pc.value_counts(_first_values(batch.column(index))).to_pylist():
                counts[str(decoded(pair["values"]))] += pair["counts"]
        if rows > sum(counts.values()):
            counts[MISSING] += rows - sum(counts.values())
        yield from (((name, value), count) for value, count in counts.items())


class CountValues(beam.DoFn):
    """(split, list of serialized records) -> the list's ((column, value), count) pairs (`_value_counts`), and
    tagged: (split, number of records) as SPLIT_SIZES and (column, type, split) as COLUMN_TYPES. There is no schema
    before SchemaGen: each list is decoded to the counted columns only (`read.ExampleDecoder`), with the types its
    own records give them (`read.records_schema`); a column with another type in another list is caught by the
    executor from COLUMN_TYPES."""

    def __init__(self, examples, columns):
        self._examples, self._columns = examples, columns

    def process(self, split_and_records):
        split, records = split_and_records
        yield beam.pvalue.TaggedOutput(SPLIT_SIZES, (split, len(records)))
        schema = read.records_schema(records, self._columns)
        for feature in schema.feature:
            yield beam.pvalue.TaggedOutput(COLUMN_TYPES,
                                           (feature.name, schema_pb2.FeatureType.Name(feature.type), split))
        batch = read.ExampleDecoder(self._examples, schema)(records) if schema.feature else None
        yield from _value_counts(batch, self._columns, len(records))


def _require_one_type(column_types):
    """Raises InputError naming each column that holds values of different types in different lists of records
    ((column, type, split) of each list): its first values would be counted as different strings ("1" and "1.0")."""
    splits = defaultdict(lambda: defaultdict(set))  # column -> type -> splits
    for column, kind, split in column_types:
        splits[column][kind].add(split)
    mixed = [f"{column!r} holds " + " and ".join(f"{kind} values (split {', '.join(sorted(splits[column][kind]))})"
                                                 for kind in sorted(splits[column]))
             for column in sorted(splits) if len(splits[column]) > 1]
    if mixed:
        raise InputError(f"Provenance: column {'; column '.join(mixed)} in different files of the examples; a column "
                         f"must hold one type of values in every input file (e.g. numbers in every file, or text in "
                         f"every file): fix the input files")


class MostFrequent(beam.CombineFn):
    """The MAX_VALUES_PER_COLUMN most frequent (value, count) pairs of one column, most frequent first (ties by
    value), and how many distinct values it has: the executor gets at most that many values per column, whatever
    the number of distinct values (an id-like metadata column has one per example)."""

    def create_accumulator(self):
        return [], 0

    @staticmethod
    def _trim(pairs):
        return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))[:MAX_VALUES_PER_COLUMN]

    def add_input(self, acc, pair):
        pairs, distinct = acc
        pairs.append(pair)
        return (self._trim(pairs) if len(pairs) > 4 * MAX_VALUES_PER_COLUMN else pairs), distinct + 1

    def merge_accumulators(self, accumulators):
        merged = [pair for pairs, _ in accumulators for pair in pairs]
        return self._trim(merged), sum(distinct for _, distinct in accumulators)

    def extract_output(self, acc):
        return self._trim(acc[0]), acc[1]


def _cap(most_frequent, examples):
    """{value: count} of the most frequent values, and OTHER: the examples with any other value."""
    kept = dict(most_frequent[0])
    if most_frequent[1] > len(kept):
        kept[OTHER] = examples - sum(kept.values())
    return kept


class Executor(base_beam_executor.BaseBeamExecutor):

    def Do(self, input_dict, output_dict, exec_properties):
        source = artifact_utils.get_single_instance(input_dict["examples"])
        target = artifact_utils.get_single_instance(output_dict["examples_with_provenance"])
        splits = read.split_names(source)
        label_column = exec_properties["label_column"]
        metadata_columns = json.loads(exec_properties["metadata_columns"])
        carry_over(source, target)

        for split in splits:
            source_dir = artifact_utils.get_split_uri([source], split)
            target_dir = artifact_utils.get_split_uri([target], split)
            fileio.makedirs(target_dir)
            for path in fileio.glob(os.path.join(source_dir, "*")):
                fileio.copy(path, os.path.join(target_dir, os.path.basename(path)), overwrite=True)
        say("Provenance", f"copied splits {', '.join(splits)} to {target.uri}")

        per_split, counts = self._count_values(source, splits, [label_column] + metadata_columns)
        examples = sum(per_split.values())
        counts = {column: _cap(counts.get(column, ([], 0)), examples) for column in [label_column] + metadata_columns}
        absent = [c for c in metadata_columns if set(counts[c]) <= {MISSING}]
        if absent:
            raise InputError(f"[labels] metadata_columns names {absent}, but no example has a value in "
                             f"{'that column' if len(absent) == 1 else 'those columns'}; fix the column names or "
                             f"remove them from the list")

        fingerprint, files = fingerprint_inputs(exec_properties["input_base"], exec_properties["file_pattern"],
                                                artifact_span(source))
        source_facts = json.loads(exec_properties["source"])
        for key in SOURCE_PROPERTIES:
            target.set_string_custom_property(key, source_facts[key])
        target.set_string_custom_property(INSTRUCTIONS_FILE, exec_properties["instructions_file"])
        target.set_string_custom_property(INSTRUCTIONS_VERSION, exec_properties["instructions_sha256"])
        target.set_json_value_custom_property(LABELERS, json.loads(exec_properties["labelers"]))
        target.set_json_value_custom_property(DATA_INVENTORY, json.loads(exec_properties["data_inventory"]))
        target.set_json_value_custom_property(INPUT_FILES, {
            "count": len(files), "bytes": sum(f["bytes"] for f in files),
            "files": files if len(files) <= MAX_LISTED_FILES else []})
        target.set_string_custom_property(DATA_FINGERPRINT, fingerprint)
        target.set_string_custom_property(DATA_VERSION, data_version(fingerprint))
        target.set_json_value_custom_property(EXAMPLES_PER_SPLIT, per_split)
        target.set_json_value_custom_property(LABEL_COUNTS, counts[label_column])
        target.set_json_value_custom_property(METADATA_COUNTS, {c: counts[c] for c in metadata_columns})
        say("Provenance", f"data version {data_version(fingerprint)}, examples per split {per_split}")

    def _count_values(self, examples, splits, columns):
        """({split: number of examples}, {column: (most frequent [value, count] pairs, distinct values)}) over all
        splits, in one Beam pipeline. Every split's files are read as one source of lists of serialized records
        (`read.record_lists_of_splits`: no Beam element per record, no Flatten of per-split reads, which Beam's local
        runner would hold whole); each list's counts are summed before they leave it, then by lifted combines:
        memory grows with the distinct values on a local runner, the engine's shuffle on a distributed one; only the
        most frequent reach this process."""
        read.require_tf_examples(examples, "Provenance counts values of tf.train.Example records only")
        results = Results(self._get_tmp_dir())
        with self._make_beam_pipeline() as p:
            counted = (p | "ReadRecordLists" >> read.record_lists_of_splits(examples, splits, _LIST_RECORDS)
                       | "CountLists" >> beam.ParDo(CountValues(examples, columns)).with_outputs(
                           SPLIT_SIZES, COLUMN_TYPES, main="values"))
            results.collect(SPLIT_SIZES, counted[SPLIT_SIZES] | "SumSplits" >> beam.CombinePerKey(sum))
            results.collect(COLUMN_TYPES, counted[COLUMN_TYPES] | "DistinctTypes" >> beam.Distinct())
            results.collect("value_counts", counted["values"] | "SumValues" >> beam.CombinePerKey(sum)
                            | "ByColumn" >> beam.Map(lambda kv: (kv[0][0], (kv[0][1], kv[1])))
                            | "MostFrequent" >> beam.CombinePerKey(MostFrequent()))
        _require_one_type(results[COLUMN_TYPES])
        return {split: 0 for split in splits} | dict(results[SPLIT_SIZES]), dict(results["value_counts"])
