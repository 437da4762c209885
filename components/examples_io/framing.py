"""TensorFlow's TFRecord framing, read and checked without TensorFlow or Beam: per record its length (8 bytes,
little-endian), the masked CRC-32C of the length, the record, and the record's masked CRC-32C. `tfrecord.py` writes
shards in this framing; readers that must start fast (the runs ledger, the report, the serving monitor reading TFMA's
metrics) read files with `read_tfrecords`."""
import gzip
import os
import struct

import google_crc32c
import pyarrow.fs as pafs

LENGTH, CRC = struct.Struct("<Q"), struct.Struct("<I")
_GZIP_MAGIC = b"\x1f\x8b"


def masked_crc(data):
    """TensorFlow's masked CRC-32C of `data`, packed as the framing stores it."""
    crc = google_crc32c.value(data)
    return CRC.pack((((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def read_tfrecords(path):
    """The records of one TFRecord file (plain or gzipped; local path or URI), each checked against its CRCs.
    Raises ValueError naming the file and the byte offset when the file is truncated or corrupt."""
    filesystem, file_path = pafs.FileSystem.from_uri(path if "://" in path else os.path.abspath(path))
    with filesystem.open_input_stream(file_path) as stream:
        return parse_tfrecords(stream.read(), path)


def parse_tfrecords(content, path):
    """The records of a TFRecord file's `content` (plain or gzipped) read by any filesystem layer; `path` names the
    file in errors."""
    if content[:2] == _GZIP_MAGIC:
        content = gzip.decompress(content)
    records, offset, header_size = [], 0, LENGTH.size + CRC.size
    while offset < len(content):
        header = content[offset:offset + header_size]
        length = LENGTH.unpack_from(header)[0] if len(header) == header_size else None
        end = offset + header_size + (length or 0) + CRC.size
        if length is None or end > len(content) or header[LENGTH.size:] != masked_crc(header[:LENGTH.size]):
            raise ValueError(f"{path}: not a whole TFRecord file (bad record header at byte {offset})")
        record = content[offset + header_size:end - CRC.size]
        if content[end - CRC.size:end] != masked_crc(record):
            raise ValueError(f"{path}: TFRecord record at byte {offset} fails its CRC check (corrupt file)")
        records.append(record)
        offset = end
    return records
