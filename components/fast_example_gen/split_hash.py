"""Splits: the same bytes hashed as stock ExampleGen hashes them.

Stock hashes the deterministic serialization of the partition feature, or of the whole Example when no partition
feature is named; so the same output config puts every row in the same split. No TensorFlow or TFX here (see
encode.py).
"""
import hashlib
from typing import List

import numpy as np
import pyarrow as pa
from tfx_bsl.coders import example_coder

from components.fast_example_gen.type_inference import ColumnType
from components.input_checks import InputError, length_delimited


def _present_rows(values: pa.LargeListArray) -> List[bool]:
    """Which rows have a value; a CSV cell or a Parquet scalar gives at most one."""
    return np.diff(values.offsets.to_numpy()).astype(bool).tolist()


def _int_keys(values: pa.LargeListArray) -> List[bytes]:
    """Per row, an Int64List feature's deterministic serialization: `1a <len> 0a <len> <varint>`, or `1a 00` for an
    empty cell. Built as a fixed-width byte table with numpy: a Python varint loop costs more than the encoding."""
    ints = values.values.to_numpy().astype(np.int64).view(np.uint64)  # negative ints are 10-byte varints
    n_bytes = np.ones(len(ints), np.uint8)
    for k in range(1, 10):
        n_bytes += ints >= np.uint64(1 << (7 * k))
    table = np.zeros((len(ints), 14), np.uint8)
    table[:, 0], table[:, 1], table[:, 2], table[:, 3] = 0x1A, n_bytes + 2, 0x0A, n_bytes
    for k in range(10):
        group = ((ints >> np.uint64(7 * k)) & np.uint64(0x7F)).astype(np.uint8)
        table[:, 4 + k] = np.where(k + 1 < n_bytes, group | 0x80, group)
    buf = table.tobytes()
    keys = iter([buf[14 * i:14 * i + 4 + n] for i, n in enumerate(n_bytes.tolist())])
    return [next(keys) if present else b"\x1a\x00" for present in _present_rows(values)]


def _bytes_keys(values: pa.LargeListArray) -> List[bytes]:
    """Per row, a BytesList feature's deterministic serialization: `0a <len> 0a <len> <bytes>`, or `0a 00`."""
    strings = iter(values.values.to_pylist())
    return [length_delimited(b"\n", length_delimited(b"\n", next(strings))) if present else b"\n\x00"
            for present in _present_rows(values)]


def partition_keys(values: pa.LargeListArray, column_type: ColumnType, name: str):
    """Per row, the deterministic serialization of the partition feature, as stock's `_GeneratePartitionKey`."""
    if column_type == ColumnType.INT:
        return _int_keys(values)
    if column_type == ColumnType.STRING:
        return _bytes_keys(values)
    kind = "has no value in any row" if column_type == ColumnType.UNKNOWN else "is a float feature"
    raise InputError(f"partition feature {name!r} {kind}; splits need an int or string partition feature "
                         f"(the output config's partition_feature_name)")


def deterministic_examples(batch: pa.RecordBatch):
    """Serialized Examples with features in sorted name order, byte-equal to stock's SerializeToString(
    deterministic=True), which stock hashes to split when no partition feature is named."""
    per_column = []
    for name in sorted(batch.schema.names):
        single = example_coder.RecordBatchToExamples(
            pa.RecordBatch.from_arrays([batch.column(name)], [name]))
        # Each is `0a <varint len> <one map entry>`: keep the map entry.
        per_column.append([e[_entry_offset(e):] for e in single])
    return [length_delimited(b"\n", b"".join(entries)) for entries in zip(*per_column)]


def _entry_offset(example):
    """Length of the `0a <varint length>` prefix of a serialized Example."""
    i = 1
    while example[i] & 0x80:
        i += 1
    return i + 1


def split_indices(keys, cumulative_buckets) -> np.ndarray:
    """Per row, the index of its split: SHA-256 of the key modulo the total of hash buckets, as stock's
    `_PartitionFn`."""
    total = int(cumulative_buckets[-1])
    buckets = np.fromiter((int.from_bytes(hashlib.sha256(key).digest(), "big") % total for key in keys),
                          np.int64, len(keys))
    return np.searchsorted(cumulative_buckets, buckets, side="right")
