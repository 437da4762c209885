"""TFRecord shards written whole: one gzipped file per unit of work, in TensorFlow's framing, through Beam's
filesystems (local, gs://, and every scheme Beam has a filesystem for: the same reach as TFX's own readers).

Any component that makes Examples writes them this way: a Beam step gathers a unit of work's serialized records and
writes them as one file, instead of one Beam element per row through `WriteToTFRecord` (whose per-element cost is
many times the encoding's). No TensorFlow or TFX here: FastExampleGen's Beam workers import this module and start in
about 5 s instead of about 15 s.

A runner may retry a bundle, run it twice at once (speculative execution), or bundle the same records differently
on a retry; only the outputs of the attempt it commits count. So, as Beam's own file sinks do (`FileBasedSink`:
write to a temporary folder, rename in a finalize step), each attempt writes its shard under a name of its own in a
temporary folder beside the split, and a later step renames the committed shards to their final names (from their
content) and deletes the folder with whatever failed attempts left there. A split never holds a partial file or a
shard of an attempt that did not count.
"""
import hashlib
import os
import uuid
import zlib
from typing import Dict, List, NamedTuple

import apache_beam as beam
import pyarrow.fs as pafs
from absl import logging
from apache_beam.io.filesystem import BeamIOError, CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows

from components.examples_io.framing import LENGTH as _LENGTH, masked_crc as _masked_crc

MAX_SHARD_RECORDS = 200_000  # records per gathered shard at most (tens of MB before compression)

SHARD_PREFIX = "data_tfrecord"  # as TFX names its shards: <split dir>/<prefix>-<unit>.gz
_GZIP_LEVEL = 1  # shards about 20% larger than stock's level 6, compressed 3x faster; readers do not care


def filesystem_path(path):
    """(pyarrow filesystem, path in it) for a local path or a URI."""
    return pafs.FileSystem.from_uri(path if "://" in path else os.path.abspath(path))


def open_input(path):
    """A seekable file: CSV chunks and Parquet row groups need random access."""
    filesystem, file_path = filesystem_path(path)
    return filesystem.open_input_file(file_path)


def shard_path(split_uri, name):
    """Where the shard called `name` (e.g. a unit-of-work index) of a split goes."""
    return os.path.join(split_uri, f"{SHARD_PREFIX}-{name}.gz")


def write_tfrecords(path, records):
    """Records as one gzipped TFRecord file, in TensorFlow's framing: per record its length, the masked CRC-32C of
    the length, the record, and the record's masked CRC-32C. Records share few lengths, so length headers are
    cached. Through Beam's filesystems, which create the file's folder where folders exist."""
    compressor = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, 31)  # wbits 31: a gzip container
    headers = {}
    with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as out:
        frames = []
        for record in records:
            header = headers.get(len(record))
            if header is None:
                length = _LENGTH.pack(len(record))
                header = headers[len(record)] = length + _masked_crc(length)
            frames += (header, record, _masked_crc(record))
            if len(frames) >= 1 << 14:
                out.write(compressor.compress(b"".join(frames)))
                frames = []
        out.write(compressor.compress(b"".join(frames)) + compressor.flush())


class Shard(NamedTuple):
    """Serialized records that go into one file of one split."""
    split: str
    name: str  # unique within the split, and the same when a bundle is retried, so a retry rewrites its file
    records: List[bytes]


def content_name(records):
    """A shard name from the records' content (the same on a retry), for units of work that have no index."""
    digest = hashlib.sha256(len(records).to_bytes(8, "little"))
    for record in records:
        digest.update(record)
    return digest.hexdigest()[:16]


class GatherShards(beam.DoFn):
    """Gathers the serialized records of one split (elements that are one record, or a list of records) into
    Shards: one per bundle, or per `max_records`, named by their content."""

    def __init__(self, split, max_records=MAX_SHARD_RECORDS):
        self._split, self._max = split, max_records

    def start_bundle(self):
        self._pending = []

    def _shard(self):
        records, self._pending = self._pending, []
        return Shard(self._split, content_name(records), records)

    def process(self, records):
        if isinstance(records, bytes):
            self._pending.append(records)
        else:
            self._pending += records
        if len(self._pending) >= self._max:
            yield self._shard()

    def finish_bundle(self):
        if self._pending:
            yield GlobalWindows.windowed_value(self._shard())


@beam.ptransform_fn
def WriteSplit(records, split, split_uris, component):  # pylint: disable=invalid-name
    """Serialized records (or lists of them) of `split` written as whole shards into its folder: the way a component
    writes Examples, instead of one Beam element per record through WriteToTFRecord."""
    return (records | "GatherShards" >> beam.ParDo(GatherShards(split))
            | "WriteShards" >> WriteShards(split_uris, component))


_TEMP_INFIX = ".writing-"  # <split folder>.writing-<id>: where attempts write before the commit renames


def _temp_folder(split_uri, write_id):
    return f"{split_uri.rstrip('/')}{_TEMP_INFIX}{write_id}"


class _WriteAttempt(beam.DoFn):
    """Writes each Shard under a name of this attempt's own in the split's temporary folder; emits (split, (final
    name, temporary path)) for the commit. Counts the records per split under `component`'s Beam metrics (Beam
    keeps the counts of committed bundles only)."""

    def __init__(self, split_uris: Dict[str, str], component: str, write_id: str):
        self._split_uris, self._component, self._write_id = split_uris, component, write_id

    def process(self, shard: Shard):
        temp_path = shard_path(_temp_folder(self._split_uris[shard.split], self._write_id),
                               f"{shard.name}-{uuid.uuid4().hex}")
        write_tfrecords(temp_path, shard.records)
        beam.metrics.Metrics.counter(self._component, f"examples_{shard.split}").inc(len(shard.records))
        yield shard.split, (shard.name, temp_path)


class _Commit(beam.DoFn):
    """Renames a split's committed shards to their final names and deletes its temporary folder. Safe to retry: a
    shard already renamed is not renamed again."""

    def __init__(self, split_uris: Dict[str, str], component: str, write_id: str):
        self._split_uris, self._component, self._write_id = split_uris, component, write_id

    def process(self, split_and_written):
        split, written = split_and_written
        split_uri = self._split_uris[split]
        sources, destinations, names = [], [], {}
        for name, temp_path in sorted(written):
            names[name] = names.get(name, -1) + 1  # shards of equal content (equal names) each keep their file
            final = shard_path(split_uri, name if not names[name] else f"{name}-{names[name]}")
            if FileSystems.exists(temp_path):
                sources.append(temp_path)
                destinations.append(final)
        if sources:
            if not FileSystems.exists(split_uri):
                FileSystems.mkdirs(split_uri)  # a no-op on object stores
            FileSystems.rename(sources, destinations)
        _delete_temp_folder(_temp_folder(split_uri, self._write_id))
        logging.info("%s: committed %d shard(s) of split %s to %s", self._component, len(names), split, split_uri)


def _delete_temp_folder(folder):
    """Deletes what failed attempts left in `folder`, then the folder (object stores have no folder to delete)."""
    try:
        leftovers = [found.path for found in FileSystems.match([FileSystems.join(folder, "*")])[0].metadata_list]
        for paths in (leftovers, [folder]):
            if paths:
                FileSystems.delete(paths)
    except BeamIOError:  # already gone (a retried commit), or no folder on an object store
        pass


class WriteShards(beam.PTransform):
    """Writes each Shard as one gzipped TFRecord file in its split's folder, safely under retries (see the module's
    docstring); counts the records per split under `component`'s Beam metrics."""

    def __init__(self, split_uris: Dict[str, str], component: str):
        super().__init__()
        # One id per write, fixed when the pipeline is built: every attempt and the commit agree on the folder.
        self._split_uris, self._component, self._write_id = split_uris, component, uuid.uuid4().hex[:12]

    def expand(self, shards):
        return (shards
                | "WriteAttempt" >> beam.ParDo(_WriteAttempt(self._split_uris, self._component, self._write_id))
                | "BySplit" >> beam.GroupByKey()  # one small (name, path) pair per shard, not the records
                | "Commit" >> beam.ParDo(_Commit(self._split_uris, self._component, self._write_id)))


def write_empty_shards(split_uris):
    """After the pipeline: writes an empty shard into each split folder that has no file, so that every split reads
    (as stock does), and deletes temporary folders that failed attempts left in a split that got no shard."""
    for uri in split_uris.values():
        leftovers = FileSystems.match([FileSystems.join(_temp_folder(uri, "*"), "*")])[0].metadata_list
        for folder in sorted({os.path.dirname(leftover.path) for leftover in leftovers}):
            _delete_temp_folder(folder)
        if not FileSystems.match([FileSystems.join(uri, "*")])[0].metadata_list:
            write_tfrecords(shard_path(uri, "empty"), [])
