"""TensorFlow's TFRecord framing, read and checked without TensorFlow or Beam: per record its length (8 bytes,
little-endian), the masked CRC-32C of the length, the record, and the record's masked CRC-32C. `tfrecord.py` writes
shards in this framing; readers that must start fast (the runs ledger, the report, the serving monitor reading TFMA's
metrics) read files with `read_tfrecords`; a Beam step reads a file of any size as it streams in with
`iter_tfrecords`."""
import itertools
import os
import struct
import zlib

import google_crc32c
import pyarrow.fs as pafs

LENGTH, CRC = struct.Struct("<Q"), struct.Struct("<I")
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 31  # zlib's window bits for a gzip container
_MAX_CHECKED_HEADERS = 1 << 16  # distinct record lengths remembered per file (a dict of at most a few MB)


def _mask(crc):
    """TensorFlow's mask of a CRC-32C (as an int)."""
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def masked_crc(data):
    """TensorFlow's masked CRC-32C of `data`, packed as the framing stores it."""
    return CRC.pack(_mask(google_crc32c.value(data)))


def read_tfrecords(path):
    """The records of one TFRecord file (plain or gzipped; local path or URI), each checked against its CRCs.
    Raises ValueError naming the file and the byte offset when the file is truncated or corrupt."""
    filesystem, file_path = pafs.FileSystem.from_uri(path if "://" in path else os.path.abspath(path))
    with filesystem.open_input_stream(file_path) as stream:
        return parse_tfrecords(stream.read(), path)


def parse_tfrecords(content, path):
    """The records of a TFRecord file's `content` (plain or gzipped) read by any filesystem layer; `path` names the
    file in errors."""
    return list(iter_tfrecords([content], path))


def _decompressed(chunks, path):
    """The bytes of a plain or gzipped file given as chunks, decompressed as they come (a gzip file may hold several
    members, one after another)."""
    chunks, first = iter(chunks), b""
    for chunk in chunks:  # enough bytes to tell a gzip file by its magic number
        first += chunk
        if len(first) >= len(_GZIP_MAGIC):
            break
    if first[:2] != _GZIP_MAGIC:
        yield first
        yield from chunks
        return
    decompressor, in_member = zlib.decompressobj(_GZIP_WBITS), False
    for chunk in itertools.chain([first], chunks):
        while chunk:
            yield decompressor.decompress(chunk)
            chunk, in_member = decompressor.unused_data, not decompressor.eof
            if decompressor.eof:
                decompressor = zlib.decompressobj(_GZIP_WBITS)
    if in_member:
        raise ValueError(f"{path}: not a whole gzip file (it ends inside a compressed member)")


def iter_tfrecords(chunks, path):
    """The records of a TFRecord file (plain or gzipped) given as an iterable of byte chunks, each checked against
    its CRCs, one by one: memory holds a chunk and a record, whatever the file's size. Raises ValueError naming
    `path` and the byte offset (in the uncompressed file) when the file is truncated or corrupt."""
    header_size = LENGTH.size + CRC.size
    crc32c, unpack_crc = google_crc32c.value, CRC.unpack_from  # bound once: this loop runs per record
    lengths = {}  # header -> record length, of headers already checked (records of one length share a header)
    buffer, offset, start = b"", 0, 0  # start: the buffer's offset in the uncompressed file
    for data in _decompressed(chunks, path):
        if not data:
            continue
        buffer, start, offset = buffer[offset:] + data, start + offset, 0
        while len(buffer) - offset >= header_size:
            header = buffer[offset:offset + header_size]
            length = lengths.get(header)
            if length is None:
                if header[LENGTH.size:] != masked_crc(header[:LENGTH.size]):
                    raise ValueError(f"{path}: not a whole TFRecord file (bad record header at byte "
                                     f"{start + offset})")
                length = LENGTH.unpack_from(header)[0]
                if len(lengths) < _MAX_CHECKED_HEADERS:
                    lengths[header] = length
            end = offset + header_size + length + CRC.size
            if end > len(buffer):
                break  # the record continues in the next chunk
            record = buffer[offset + header_size:end - CRC.size]
            if unpack_crc(buffer, end - CRC.size)[0] != _mask(crc32c(record)):
                raise ValueError(f"{path}: TFRecord record at byte {start + offset} fails its CRC check (corrupt "
                                 f"file)")
            yield record
            offset = end
    if offset < len(buffer):
        raise ValueError(f"{path}: not a whole TFRecord file (bad record header at byte {start + offset})")
