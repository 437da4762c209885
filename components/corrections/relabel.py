"""Setting one feature of a serialized tf.train.Example without parsing it: the label of a corrected example is
replaced in the record's bytes, every other feature's bytes kept as they are. Pure Python.

Why not parse, set and serialize again: protobuf keeps no order for a map's entries, so a re-serialized Example has
its features in another order (measured: every one of 1,000 records of benchmarks/scale came back with other bytes,
with `deterministic=True` too), and every record of a corrected dataset would change, not only the corrected ones.
The wire format is small and stable: Example {1: Features}, Features {1: map entry}, entry {1: key, 2: Feature}, Feature {1: BytesList,
3: Int64List (packed)}.
"""
from components.input_checks import length_delimited, varint

_LEN = 2  # wire type of a length-delimited field
_TAG_1 = b"\x0a"  # field 1, length-delimited: Example.features, Features.feature, entry key, BytesList/Int64List.value
_TAG_VALUE = b"\x12"  # field 2 of a map entry: the Feature
_TAG_BYTES_LIST, _TAG_INT64_LIST = b"\x0a", b"\x1a"  # Feature.bytes_list (1), Feature.int64_list (3)


def _read_varint(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(data):
    """(field number, wire type, payload for a length-delimited field else None, the field's raw bytes)."""
    pos = 0
    while pos < len(data):
        start = pos
        tag, pos = _read_varint(data, pos)
        number, wire = tag >> 3, tag & 7
        payload = None
        if wire == _LEN:
            length, pos = _read_varint(data, pos)
            payload, pos = data[pos:pos + length], pos + length
        elif wire == 0:
            _, pos = _read_varint(data, pos)
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"not a tf.train.Example: wire type {wire} at byte {start}")
        yield number, wire, payload, data[start:pos]


def _feature(value, integer):
    if integer:
        return length_delimited(_TAG_INT64_LIST, length_delimited(_TAG_1, varint(int(value) & ((1 << 64) - 1))))
    return length_delimited(_TAG_BYTES_LIST, length_delimited(_TAG_1, value.encode("utf-8")))


def with_feature(record: bytes, name: str, value: str, integer=False) -> bytes:
    """`record` (a serialized tf.train.Example) with feature `name` set to the single value `value` (int64 when
    `integer`, else UTF-8 bytes), in the place it had (appended when absent); all other bytes unchanged."""
    key = name.encode("utf-8")
    key_field = length_delimited(_TAG_1, key)
    entry = length_delimited(_TAG_1, key_field + length_delimited(_TAG_VALUE, _feature(value, integer)))
    example, replaced = [], False
    for number, wire, features, raw in _fields(record):
        if number != 1 or wire != _LEN:
            example.append(raw)
            continue
        kept = []
        for entry_number, entry_wire, payload, entry_raw in _fields(features):
            is_name = entry_number == 1 and entry_wire == _LEN and (
                payload.startswith(key_field) if payload[:1] == _TAG_1  # the key comes first, as encoders write it
                else any(n == 1 and w == _LEN and p == key for n, w, p, _ in _fields(payload)))
            if is_name:
                if not replaced:
                    kept.append(entry)
                replaced = True
            else:
                kept.append(entry_raw)
        example.append(length_delimited(_TAG_1, b"".join(kept)))
    if not replaced:
        example.append(length_delimited(_TAG_1, entry))  # Features messages merge: this adds the entry
    return b"".join(example)
