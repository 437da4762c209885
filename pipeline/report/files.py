"""Reading artifact files by URI, local or remote (gs://, s3://, hdfs://), through pyarrow's filesystems.

pyarrow rather than tfx.dsl.io.fileio: both read cloud storage, but fileio imports TensorFlow (seconds), and the
report must be quick to rebuild. A missing file reads as None: a section shows what exists.
"""
import csv
import io
import json
import os

import pyarrow.fs as pafs


def _filesystem(uri):
    return pafs.FileSystem.from_uri(uri if "://" in uri else os.path.abspath(uri))


def join(uri, *parts):
    return "/".join([uri.rstrip("/"), *parts]) if "://" in uri else os.path.join(uri, *parts)


def read_bytes(uri):
    """The file's content, or None when it does not exist."""
    filesystem, path = _filesystem(uri)
    if filesystem.get_file_info(path).type != pafs.FileType.File:
        return None
    with filesystem.open_input_stream(path) as f:
        return f.read()


def read_text(uri):
    content = read_bytes(uri)
    return None if content is None else content.decode("utf-8", errors="replace")


def read_json(uri):
    text = read_text(uri)
    return None if text is None else json.loads(text)


def read_csv(uri, limit):
    """(header, the first `limit` rows as dicts, the number of rows) of a CSV file; (None, [], 0) when absent."""
    text = read_text(uri)
    if text is None:
        return None, [], 0
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows, total = [], 0
    for row in reader:
        total += 1
        if total <= limit:
            rows.append(row)
    return reader.fieldnames, rows, total


def list_dir(uri):
    """Names of the entries directly under `uri` (empty when it does not exist)."""
    filesystem, path = _filesystem(uri)
    selector = pafs.FileSelector(path, allow_not_found=True)
    return sorted(os.path.basename(info.path.rstrip("/")) for info in filesystem.get_file_info(selector))


def write_text(uri, text):
    filesystem, path = _filesystem(uri)
    filesystem.create_dir(os.path.dirname(path), recursive=True)
    with filesystem.open_output_stream(path) as f:
        f.write(text.encode("utf-8"))
