"""Checks of input values that the pre-flight (pipeline/inputs.py, on the raw files before any component runs) and
the executors (on data that reaches them another way, e.g. in a Kubeflow container) share.

Pure: pyarrow, numpy and Python in, problems out; no TFX, no TensorFlow. Each check takes a column as a pyarrow
array and returns the row positions (0-based, within that array) that break it; the caller turns positions into
file lines or example ids and raises `InputError` with a message that says what to do.

Missing values: a cell whose whole text is one of `missing_values` ([data] missing_values; default
`DEFAULT_MISSING_VALUES`) is missing, in every column: it is never a value, never a class, never text that turns a
numeric column into a string column. The list is matched exactly (case-sensitive, no trimming).
"""
import csv
import hashlib
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Spellings of "no value" that spreadsheets, R, pandas and databases write. `inf` is here because an infinite
# measurement is a missing one in practice, and numeric code downstream (tolerances, scaling) cannot use it.
DEFAULT_MISSING_VALUES = ("", "NA", "N/A", "n/a", "#N/A", "nan", "NaN", "NAN", "null", "NULL", "None",
                          "inf", "-inf", "+inf", "Inf", "-Inf", "Infinity", "-Infinity")
DEFAULT_MAX_CELL_BYTES = 1 << 20  # [data] max_cell_bytes: one cell of more is an input error
MAX_LISTED = 10  # a message lists at most this many lines or ids

_INT64_RE = re.compile(r"-?[0-9]{1,18}")


class InputError(ValueError):
    """Input data the user must fix; the message names the file, line, column or key, and what to do."""


def listed(items, limit=MAX_LISTED):
    """`a, b, c and 7 more`: a bounded list for a message."""
    items = [str(i) for i in items]
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def header_names(path, first_line: bytes):
    """The column names of a CSV file's first line (a UTF-8 byte-order mark dropped); raises InputError naming the
    file when the line is not UTF-8, is blank, or names a column twice."""
    try:
        line = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: line 1: byte {first_line[e.start:e.start + 1]!r} is not valid UTF-8; save the "
                         f"file as UTF-8") from None
    if not line.strip():
        raise InputError(f"{path}: the file is empty or its first line is blank; the first line must be the header")
    names = next(csv.reader([line]))
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"{path}: line 1: column name(s) {', '.join(map(repr, repeated))} appear more than once in "
                         f"the header; give every column its own name")
    return names


def positions(mask: pa.Array):
    """Row positions where a boolean array is true (nulls count as false)."""
    return np.flatnonzero(mask.fill_null(False).to_numpy(zero_copy_only=False)).tolist()


def missing_mask(cells: pa.Array, missing_values) -> pa.Array:
    """True where a string cell is missing: null, or exactly one of `missing_values`."""
    return pc.or_(pc.is_null(cells), pc.is_in(cells, value_set=pa.array(list(missing_values), pa.string())))


def untrimmed(cells: pa.Array):
    """Positions of cells with leading or trailing whitespace ("Adelie " would be a class of its own)."""
    return positions(pc.not_equal(cells, pc.utf8_trim_whitespace(cells)))


def not_numbers(cells: pa.Array, missing_values):
    """Positions of cells that are neither missing nor a finite number as Python's float() reads it (which is
    what stock CsvExampleGen's type inference uses): the cells that would turn a numeric column into text."""
    present = pc.invert(missing_mask(cells, missing_values))
    values = cells.filter(present)
    where = positions(present)
    try:  # fast path: Arrow parses the common forms; anything it rejects is decided by float() below
        finite = pc.is_finite(values.cast(pa.float64())).to_numpy(zero_copy_only=False)
        return [where[i] for i in np.flatnonzero(~finite)]
    except pa.ArrowInvalid:
        return [where[i] for i, text in enumerate(values.to_pylist()) if not _is_finite_number(text)]


def _is_finite_number(text):
    try:
        return bool(np.isfinite(float(text)))
    except ValueError:
        return False


def oversized(cells: pa.Array, max_bytes):
    """Positions of cells longer than `max_bytes` bytes."""
    return positions(pc.greater(pc.binary_length(cells), max_bytes))


def duplicates(ids: pa.Array):
    """{id: [positions]} for every id that occurs more than once (missing ids excluded)."""
    counts = pc.value_counts(ids.drop_null())
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if len(repeated) == 0:
        return {}
    found = {}
    for position in positions(pc.is_in(ids, value_set=repeated)):
        found.setdefault(ids[position].as_py(), []).append(position)
    return found


def id_and_label_problems(ids, labels, id_key, label_key):
    """For an executor, which has examples rather than file lines: empty or repeated ids and labels with stray
    whitespace, as messages naming the ids (the pre-flight makes the same checks naming lines)."""
    ids = pa.array(["" if i is None else str(i) for i in ids], pa.string())
    labels = pa.array([None if v is None else str(v) for v in labels], pa.string())
    problems = []
    empty = positions(missing_mask(ids, ("",)))
    if empty:
        problems.append(f"{len(empty)} example(s) have no id in {id_key}")
    repeated = duplicates(ids)
    if repeated:
        problems.append(f"{len(repeated)} id(s) in {id_key} occur more than once: "
                        + listed(f"{i!r} ({len(rows)} times)" for i, rows in repeated.items()))
    spaced = untrimmed(labels)
    if spaced:
        problems.append(f"{len(spaced)} label(s) in {label_key} have leading or trailing whitespace, e.g. "
                        f"{labels[spaced[0]].as_py()!r} (examples " + listed(ids[i].as_py() for i in spaced) + ")")
    return problems


def id_is_int(ids: pa.Array, missing_values=("",)):
    """Whether stock type inference makes the id column INT (every present cell a 64-bit int), which changes the
    bytes its split hashes."""
    present = ids.filter(pc.invert(missing_mask(ids, missing_values)))
    return len(present) > 0 and all(_is_int64(text) for text in present.to_pylist())


def _is_int64(text):
    if _INT64_RE.fullmatch(text):
        return True
    try:
        return -(1 << 63) <= int(text) < (1 << 63)
    except ValueError:
        return False


def varint(n):
    """Protobuf's base-128 varint of a non-negative int (the split keys are serialized protos)."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def length_delimited(tag, payload):
    """A protobuf length-delimited field: its tag, the payload's length as a varint, the payload."""
    return tag + varint(len(payload)) + payload


def partition_key(id_text, as_int):
    """The bytes ExampleGen hashes to split an example by its partition feature: the deterministic serialization
    of the one-value Feature (an Int64List for an INT column, else a BytesList)."""
    if as_int:
        return length_delimited(b"\x1a", length_delimited(b"\n", varint(int(id_text) & ((1 << 64) - 1))))
    value = id_text.encode("utf-8")
    if len(value) < 126:  # both lengths fit one varint byte: the common case, built directly
        return bytes((10, len(value) + 2, 10, len(value))) + value
    return length_delimited(b"\n", length_delimited(b"\n", value))


def split_index(ids, buckets, as_int):
    """Per id, the index of the split ExampleGen puts it in: SHA-256 of its partition key modulo the total of the
    splits' hash buckets (TFX's `_PartitionFn`)."""
    cumulative = np.cumsum(buckets)
    total, sha256, from_bytes = int(cumulative[-1]), hashlib.sha256, int.from_bytes
    hashed = np.fromiter((from_bytes(sha256(partition_key(i, as_int)).digest(), "big") % total for i in ids),
                         np.int64, len(ids))
    return np.searchsorted(cumulative, hashed, side="right")
