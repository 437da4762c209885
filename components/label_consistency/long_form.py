"""Labels given in long form (a CSV of example_id, labeler_id, label) joined to the Examples on their id, as one
record batch per group of examples with one column per labeler, the shape the encoder reads.

The join is a partitioned hash join through scratch files, not a Beam shuffle: Beam's local FnApiRunner holds every
GroupByKey's values in memory, so a CoGroupByKey of the rows and the examples' serialized records grew with them.
Both sides are hash-partitioned on the id into `buckets` (sized so that one bucket's long-form rows are a few MB):
a step per side streams its bundle's rows into one scratch file per bucket (`_BucketFiles`) and emits only the
files' paths; a small GroupByKey brings each bucket's paths together, and a step per bucket loads that bucket's
long-form rows into a dict and streams its examples past it (`_join_bucket`). Memory: one bucket's long-form rows
and one batch of examples, at any size. Readers take the paths the committed bundles emitted, never a listing of
the folder, so a retried bundle's leftover files are never read (as Beam's file sinks do); the executor removes the
folder afterwards.
"""
import csv
import json
import math
import os
import uuid
import zlib
from collections import Counter

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import tensorflow as tf
from apache_beam.transforms.window import GlobalWindows
from tfx.dsl.io import fileio

from components.label_consistency.encoding import LabelConsistencyError, flat_strings

RAW_RECORD = "__raw_record__"  # the column of record batches that holds each example's serialized record

LONG_FORM_COLUMNS = ("example_id", "labeler_id", "label")
BUCKET_BYTES = 4 << 20  # long-form CSV bytes per bucket (about 130,000 rows): one bucket's rows are held at a time
FLUSH_BYTES = 32 << 20  # a bundle's example rows pending for their bucket files, written when they pass this
_EXAMPLE_COLUMNS = ("example_id", "label", "record")  # the examples' bucket files (Arrow IPC streams)
_LABEL_ROWS = None  # the tag of a bucket's long-form files; an examples file is tagged with its split
MALFORMED = "malformed long-form rows (not 3 fields, or no example_id / labeler_id)"
DUPLICATES = "duplicate (example_id, labeler_id) rows"
CONFLICTING = "conflicting duplicates (that labeler's label treated as missing)"
NOT_IN_EXAMPLES = "long-form rows whose example_id is not in the Examples"


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


def bucket_count(path):
    """Buckets of the join for the long-form file at `path`: about BUCKET_BYTES of it in each."""
    return max(1, math.ceil(fileio.stat(path).length / BUCKET_BYTES))


def _bucket(example_id, buckets):
    return zlib.crc32(example_id.encode()) % buckets  # the same in every process (Python's hash() is not)


def _parse_long_form(line):
    """[example_id, [labeler_id, label]], or ["", None] for a malformed line."""
    row = next(csv.reader([line]), [])
    return [row[0], [row[1], row[2]]] if len(row) == 3 and row[0] and row[1] else ["", None]


class _ArrowFile:
    """A file opened through fileio, as pyarrow's IPC reader and writer take a Python file (fileio's has no
    `closed`)."""

    def __init__(self, f):
        self._f, self.closed = f, False

    def write(self, data):
        self._f.write(bytes(data))
        return len(data)

    def read(self, size=-1):
        return self._f.read(size)

    def flush(self):
        self._f.flush()

    def close(self):
        self._f.close()
        self.closed = True


class _BucketFiles(beam.DoFn):
    """Streams a bundle's rows into one scratch file per bucket under `folder` (a name of the attempt's own) and, at
    the end of the bundle, emits (bucket, (tag, path)) per file it wrote. Subclasses say how rows are written."""

    def __init__(self, folder, buckets):
        self._folder, self._buckets = folder, buckets

    def start_bundle(self):
        self._files = {}  # bucket -> (tag, path, open file)

    def _file(self, bucket, tag):
        if bucket not in self._files:
            fileio.makedirs(self._folder)
            path = os.path.join(self._folder, f"{bucket:05d}-{uuid.uuid4().hex}")
            self._files[bucket] = (tag, path, fileio.open(path, "wb"))
        return self._files[bucket][2]

    def _close(self, bucket):
        self._files[bucket][2].close()

    def finish_bundle(self):
        for bucket in sorted(self._files):
            self._close(bucket)
            tag, path, _ = self._files[bucket]
            yield GlobalWindows.windowed_value((bucket, (tag, path)))


class _LabelRowFiles(_BucketFiles):
    """Long-form CSV lines -> JSON lines [example_id, [labeler_id, label]] (["", null]: malformed) by bucket."""

    def process(self, line):
        row = _parse_long_form(line)
        self._file(_bucket(row[0], self._buckets), _LABEL_ROWS).write((json.dumps(row) + "\n").encode())


class _ExampleFiles(_BucketFiles):
    """Record batches of one split's examples -> their id, label and serialized record by bucket, as Arrow IPC
    streams; rows wait in memory until FLUSH_BYTES of them are pending, then every bucket's are written."""

    def __init__(self, folder, buckets, split, id_column, label_column):
        super().__init__(folder, buckets)
        self._split, self._id_column, self._label_column = split, id_column, label_column

    def start_bundle(self):
        super().start_bundle()
        self._writers, self._pending, self._pending_bytes = {}, {}, 0

    def process(self, batch):
        ids, labels = np.full(batch.num_rows, "", object), np.full(batch.num_rows, "", object)
        for column, out in ((self._id_column, ids), (self._label_column, labels)):
            if column in batch.schema.names:
                parents, values = flat_strings(batch.column(column))
                out[parents] = values.to_pylist()
        rows = pa.RecordBatch.from_arrays([pa.array(ids, pa.string()), pa.array(labels, pa.string()),
                                           pc.list_flatten(batch.column(RAW_RECORD))], _EXAMPLE_COLUMNS)
        buckets = np.fromiter((_bucket(i, self._buckets) for i in ids), np.int64, len(ids))
        order = np.argsort(buckets, kind="stable")
        rows, buckets = rows.take(pa.array(order)), buckets[order]
        present, starts = np.unique(buckets, return_index=True)
        for bucket, start, end in zip(present, starts, list(starts[1:]) + [len(buckets)]):
            self._pending.setdefault(int(bucket), []).append(rows.slice(start, end - start))
        self._pending_bytes += rows.nbytes
        if self._pending_bytes >= FLUSH_BYTES:
            self._flush()

    def _flush(self):
        for bucket, parts in self._pending.items():
            if bucket not in self._writers:
                self._writers[bucket] = pa.ipc.new_stream(_ArrowFile(self._file(bucket, self._split)),
                                                          parts[0].schema)
            for batch in pa.Table.from_batches(parts).combine_chunks().to_batches():
                self._writers[bucket].write_batch(batch)
        self._pending, self._pending_bytes = {}, 0

    def _close(self, bucket):
        self._writers[bucket].close()
        super()._close(bucket)

    def finish_bundle(self):
        self._flush()
        yield from super().finish_bundle()


def _resolved_labels(example_id, given, counts):
    """{labeler: label} of one example id from its long-form rows ([labeler, label] each; all malformed under the
    id ""); adds its problems to `counts`."""
    if example_id == "":
        counts[MALFORMED] += len(given)
        return {}
    by_labeler = {}
    for labeler, label in given:
        by_labeler.setdefault(labeler, []).append(label)
    labels = {}
    for labeler, values in by_labeler.items():
        if len(values) > 1:
            counts[DUPLICATES] += len(values) - 1
        if len(set(values)) > 1:
            counts[CONFLICTING] += 1
        else:
            labels[labeler] = values[0]
    return labels


def _join_bucket(bucket_files, labelers):
    """One bucket: its long-form rows loaded into a dict, its examples streamed past it. Yields (split, (example id,
    label, the labelers' labels, serialized record)) per example, and its problem counts (tagged 'problems')."""
    _, files = bucket_files
    given = {}
    for path in (path for tag, path in files if tag is _LABEL_ROWS):
        with fileio.open(path, "rb") as f:
            for line in f:
                example_id, row = json.loads(line)
                given.setdefault(example_id, []).append(row)
    counts = Counter()
    labels = {example_id: _resolved_labels(example_id, rows, counts) for example_id, rows in given.items()}
    unmatched = {example_id: len(rows) for example_id, rows in given.items() if example_id}  # rows per id
    del given
    for split, path in (f for f in files if f[0] is not _LABEL_ROWS):
        with fileio.open(path, "rb") as f:
            for batch in pa.ipc.open_stream(_ArrowFile(f)):
                ids, example_labels, records = (batch.column(i).to_pylist() for i in range(3))
                for example_id, label, record in zip(ids, example_labels, records):
                    found = labels.get(example_id, {})
                    unmatched.pop(example_id, None)
                    yield split, (example_id, label, [found.get(l, "") for l in labelers], record)
    counts[NOT_IN_EXAMPLES] += sum(unmatched.values())
    counts = {problem: count for problem, count in counts.items() if count}
    if counts:
        yield beam.pvalue.TaggedOutput("problems", counts)


def _to_record_batch(rows, id_column, label_column, labelers):
    """The columns the encoder reads, as a record batch: one list cell per example, empty where missing."""
    def cells(values):
        return pa.array([[v] if v else [] for v in values], pa.list_(pa.string()))

    columns = {id_column: cells([r[0] for r in rows]), label_column: cells([r[1] for r in rows])}
    for i, labeler in enumerate(labelers):
        columns[labeler] = cells([r[2][i] for r in rows])
    columns[RAW_RECORD] = pa.array([[r[3]] for r in rows], pa.list_(pa.binary()))
    return pa.RecordBatch.from_arrays(list(columns.values()), list(columns))


def join_long_form(p, batches, path, labelers, id_column, label_column, scratch):
    """({split: record batches with one column per labeler id}, the summed problem counts as one dict), built by
    joining the long-form rows to the Examples on the id through bucket files under `scratch` (see the module
    docstring; the caller removes the folder after the pipeline)."""
    buckets = bucket_count(path)
    files = [p | "ReadLongForm" >> beam.io.ReadFromText(path, skip_header_lines=1)
             | "LongFormBuckets" >> beam.ParDo(_LabelRowFiles(scratch, buckets))]
    files += [batch | f"ExampleBuckets[{split}]" >> beam.ParDo(
        _ExampleFiles(scratch, buckets, split, id_column, label_column)) for split, batch in batches.items()]
    split_names = list(batches)
    joined = (files | "FlattenFiles" >> beam.Flatten()  # one (bucket, file) pair per bundle and bucket: small
              | "FilesByBucket" >> beam.GroupByKey()
              | "Join" >> beam.FlatMap(_join_bucket, labelers).with_outputs("problems", main="rows"))
    problems = joined.problems | "SumProblems" >> beam.CombineGlobally(
        lambda dicts: dict(sum((Counter(d) for d in dicts), Counter())))
    parts = joined.rows | "BySplit" >> beam.Partition(lambda row, n: split_names.index(row[0]), len(split_names))
    return {split: (part | f"Values[{split}]" >> beam.Values() | f"Batch[{split}]" >> beam.BatchElements(
        min_batch_size=100, max_batch_size=10000)
        | f"ToRecordBatch[{split}]" >> beam.Map(_to_record_batch, id_column, label_column, labelers))
        for split, part in zip(split_names, parts)}, problems
