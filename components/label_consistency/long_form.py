"""Labels given in long form (a CSV of example_id, labeler_id, label) joined to the Examples on their id, as one
record batch per group of examples with one column per labeler, the shape the encoder reads.

The join is a Beam CoGroupByKey (a shuffle) with one input per split, not the splits flattened first: on Dataflow,
Flink or Spark nothing is held per example in one process; the local FnApiRunner holds the shuffle (and the
CoGroupByKey's own flatten of its inputs) in memory, so there long-form input grows with the examples.
"""
import csv
from collections import Counter

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import tensorflow as tf
from tfx.dsl.io import fileio

from components.label_consistency.encoding import LabelConsistencyError, flat_strings

RAW_RECORD = "__raw_record__"  # the column of record batches that holds each example's serialized record

LONG_FORM_COLUMNS = ("example_id", "labeler_id", "label")
_LABELS = "labels"  # the CoGroupByKey tag of the long-form rows; a split's examples are tagged by _records_tag


def _records_tag(split):
    return f"records:{split}"


def long_form_labelers(path):
    """Sorted labeler ids of a long-form CSV (one streaming pass; memory grows with the labelers only)."""
    try:
        with fileio.open(path) as f:
            reader = csv.reader(f)
            header = next(reader, [])
            if tuple(header) != LONG_FORM_COLUMNS:
                raise LabelConsistencyError(f"[label_consistency] long_form_file {path}: the header must be "
                                            f"{','.join(LONG_FORM_COLUMNS)}, got {','.join(header) or 'nothing'}")
            labelers = sorted({row[1] for row in reader if len(row) == 3 and row[1]})
    except (OSError, tf.errors.NotFoundError) as e:
        raise LabelConsistencyError(f"[label_consistency] long_form_file {path} cannot be read: {e}") from None
    if len(labelers) < 2:
        raise LabelConsistencyError(f"[label_consistency] long_form_file {path} names {len(labelers)} labeler(s); "
                                    f"agreement needs at least two")
    return labelers


def _parse_long_form(line):
    """(example_id, (labeler_id, label)), or ("", None) for a malformed line."""
    row = next(csv.reader([line]), [])
    return (row[0], (row[1], row[2])) if len(row) == 3 and row[0] and row[1] else ("", None)


def _keyed_records(batch, id_column, label_column):
    """(example id, (label, raw record)) per example of a record batch."""
    ids, labels = np.full(batch.num_rows, "", object), np.full(batch.num_rows, "", object)
    for column, out in ((id_column, ids), (label_column, labels)):
        if column in batch.schema.names:
            parents, values = flat_strings(batch.column(column))
            out[parents] = values.to_pylist()
    raw = pc.list_flatten(batch.column(RAW_RECORD)).to_pylist()
    return [(ids[i], (labels[i], raw[i])) for i in range(batch.num_rows)]


def _join_row(joined, labelers, splits):
    """One example's labels from the long form: rows per split, plus problem counts (tagged 'problems')."""
    example_id, grouped = joined
    given = [v for v in grouped[_LABELS] if v is not None]
    counts = Counter()
    if example_id == "":
        counts["malformed long-form rows (not 3 fields, or no example_id / labeler_id)"] += len(given) + len(
            [v for v in grouped[_LABELS] if v is None])
        given = []
    by_labeler = {}
    for labeler, label in given:
        by_labeler.setdefault(labeler, []).append(label)
    labels = {}
    for labeler, values in by_labeler.items():
        if len(values) > 1:
            counts["duplicate (example_id, labeler_id) rows"] += len(values) - 1
        if len(set(values)) > 1:
            counts["conflicting duplicates (that labeler's label treated as missing)"] += 1
        else:
            labels[labeler] = values[0]
    if given and not any(grouped[_records_tag(split)] for split in splits):
        counts["long-form rows whose example_id is not in the Examples"] += len(given)
    for split in splits:
        for label, raw in grouped[_records_tag(split)]:
            yield split, (example_id, label, [labels.get(l, "") for l in labelers], raw)
    if counts:
        yield beam.pvalue.TaggedOutput("problems", dict(counts))


def _to_record_batch(rows, id_column, label_column, labelers):
    """The columns the encoder reads, as a record batch: one list cell per example, empty where missing."""
    def cells(values):
        return pa.array([[v] if v else [] for v in values], pa.list_(pa.string()))

    columns = {id_column: cells([r[0] for r in rows]), label_column: cells([r[1] for r in rows])}
    for i, labeler in enumerate(labelers):
        columns[labeler] = cells([r[2][i] for r in rows])
    columns[RAW_RECORD] = pa.array([[r[3]] for r in rows], pa.list_(pa.binary()))
    return pa.RecordBatch.from_arrays(list(columns.values()), list(columns))


def join_long_form(p, batches, path, labelers, id_column, label_column):
    """({split: record batches with one column per labeler id}, the summed problem counts as one dict), built by
    joining the long-form rows to the Examples on the id (a shuffle: see the module docstring)."""
    labels = (p | "ReadLongForm" >> beam.io.ReadFromText(path, skip_header_lines=1)
              | "ParseLongForm" >> beam.Map(_parse_long_form))
    split_names = list(batches)
    records = {_records_tag(split): batch | f"Key[{split}]" >> beam.FlatMap(_keyed_records, id_column, label_column)
               for split, batch in batches.items()}
    joined = ({_LABELS: labels, **records} | "Join" >> beam.CoGroupByKey()
              | "Rows" >> beam.FlatMap(_join_row, labelers, split_names).with_outputs("problems", main="rows"))
    problems = joined.problems | "SumProblems" >> beam.CombineGlobally(
        lambda dicts: dict(sum((Counter(d) for d in dicts), Counter())))
    parts = joined.rows | "BySplit" >> beam.Partition(lambda row, n: split_names.index(row[0]), len(split_names))
    return {split: (part | f"Values[{split}]" >> beam.Values() | f"Batch[{split}]" >> beam.BatchElements(
        min_batch_size=100, max_batch_size=10000)
        | f"ToRecordBatch[{split}]" >> beam.Map(_to_record_batch, id_column, label_column, labelers))
        for split, part in zip(split_names, parts)}, problems
