"""Scratch files of one Arrow record batch each, for a component's passes over the same rows (Conflicts' spill,
LabelErrors' cache above its cap): written from a Beam step, read back by a later one.

A file is named by its content, so a retried bundle that batches its rows alike rewrites the same file, and it is
written under a temporary name first, so no reader sees a partial file. A retried bundle that batches its rows
otherwise leaves its failed attempt's files behind: readers take the paths the committed bundles emitted, never a
listing of the folder (as Beam's file sinks do). Through `tfx.dsl.io.fileio` (local disk, gs://, s3://).
"""
import hashlib
import os

import pyarrow as pa
from tfx.dsl.io import fileio


def write_batch(batch, folder, compression=None):
    """Writes `batch` as an Arrow IPC stream (`compression`: None, "lz4" or "zstd") into `folder`; returns its
    path."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema, options=pa.ipc.IpcWriteOptions(compression=compression)) as writer:
        writer.write_batch(batch)
    content = sink.getvalue().to_pybytes()
    path = os.path.join(folder, hashlib.blake2b(content, digest_size=16).hexdigest() + ".arrow")
    fileio.makedirs(folder)
    with fileio.open(path + ".tmp", "wb") as f:
        f.write(content)
    fileio.rename(path + ".tmp", path, overwrite=True)
    return path


def read_batch(path):
    """The record batch `write_batch` wrote to `path`."""
    with fileio.open(path, "rb") as f:
        return pa.ipc.open_stream(f.read()).read_next_batch()
