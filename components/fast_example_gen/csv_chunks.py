"""CSV files cut into byte-range chunks that parse independently (the quote-parity rule), parsed with pyarrow.

Stock joins physical lines into one record while the count of `"` seen so far is odd. So a newline ends a record
exactly when the number of quote characters before it in the file is even. The pipeline cuts every file into raw
byte ranges of `chunk_bytes`, counts the quotes (and newlines, for line numbers) in each range in parallel, and
turns the counts into each range's parity at its start with a per-file prefix sum. A chunk then owns the records
that start after the first even-parity newline in its range, and reads on past its range end to the first
even-parity newline there. Every record is read by exactly one chunk, quoted newlines included, and memory per
worker is one chunk plus one record. No TensorFlow or TFX here (see encode.py).
"""
import csv
import io
from typing import NamedTuple

import pyarrow as pa
import pyarrow.csv as pacsv

from components.examples_io.tfrecord import open_input
from components.input_checks import InputError

_READ_AHEAD_BYTES = 1 << 20


class Chunk(NamedTuple):
    """A byte range of a CSV file, with the parity of quotes and the line number at its start."""
    path: str
    start: int
    end: int
    quote_parity: int
    line: int  # 1-based line number of byte `start`
    size: int  # file size
    index: int  # unique among the units of one input split; names the shard files it writes


def _read_range(path, start, length):
    with open_input(path) as f:
        return f.read_at(length, start)


def count_range(raw_range):
    """(path, (start, end, quotes, newlines, index)) for a raw byte range."""
    path, start, end, index = raw_range
    data = _read_range(path, start, end - start)
    return path, (start, end, data.count(b'"'), data.count(b"\n"), index)


def resolve_chunks(path_and_counts):
    """Per file: the quote parity and line number at each range start (a prefix sum over the ranges)."""
    path, counts = path_and_counts
    counts = sorted(counts)
    size = counts[-1][1]
    quotes, lines = 0, 1
    for start, end, n_quotes, n_lines, index in counts:
        yield Chunk(path, start, end, quotes % 2, lines, size, index)
        quotes += n_quotes
        lines += n_lines


def _even_newline(data, pos, parity):
    """Index of the first newline at or after `pos` with an even count of quotes before it (given `parity` of the
    quotes before `pos`), or -1."""
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            return -1
        parity = (parity + data.count(b'"', pos, nl)) % 2
        if parity == 0:
            return nl
        pos = nl + 1


def _chunk_records(chunk: Chunk):
    """(bytes of the whole records this chunk owns, line number of their first line)."""
    data = _read_range(chunk.path, chunk.start, chunk.end - chunk.start)
    parity_at_end = (chunk.quote_parity + data.count(b'"')) % 2
    first_nl = _even_newline(data, 0, chunk.quote_parity)
    if first_nl < 0:
        if chunk.end >= chunk.size and parity_at_end:
            _raise_unterminated(chunk)
        return b"", chunk.line
    begin = first_nl + 1
    tail = b""
    if chunk.end < chunk.size:  # read on to the first even-parity newline at or after the range end
        with open_input(chunk.path) as f:
            f.seek(chunk.end)
            pieces, parity = [], parity_at_end
            while True:
                block = f.read(_READ_AHEAD_BYTES)
                if not block:
                    break
                nl = _even_newline(block, 0, parity)
                if nl >= 0:
                    pieces.append(block[:nl + 1])
                    break
                pieces.append(block)
                parity = (parity + block.count(b'"')) % 2
            tail = b"".join(pieces)
            parity_at_end = (parity_at_end + tail.count(b'"')) % 2
            at_eof = not block
    else:
        at_eof = True
    if at_eof and parity_at_end:
        _raise_unterminated(chunk)
    return data[begin:] + tail, chunk.line + data.count(b"\n", 0, begin)


def _raise_unterminated(chunk: Chunk):
    """Error path only: finds the line where the record with the unbalanced quote starts."""
    with open_input(chunk.path) as f:
        data = f.read()
    pos, parity, record_start = 0, 0, 0
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            break
        parity = (parity + data.count(b'"', pos, nl)) % 2
        if parity == 0:
            record_start = nl + 1
        pos = nl + 1
    line = 1 + data.count(b"\n", 0, record_start)
    raise InputError(f"{chunk.path}: line {line}: unterminated quote; the record starting on that line opens a "
                         f"quoted field that never closes before the end of the file")


def parse_csv(chunk: Chunk, names):
    """The chunk's records as a table of string columns; errors name the file and the line."""
    data, line = _chunk_records(chunk)
    if not data.strip(b"\r\n"):
        return None
    try:
        return pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(newlines_in_values=b'"' in data),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except pa.ArrowInvalid as e:
        raise InputError(f"{chunk.path}: {_locate_bad_record(data, line, len(names)) or e}") from None


def _locate_bad_record(data, first_line, n_columns):
    """Error path only: the line of the first undecodable byte or ragged record in a chunk."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = first_line + data.count(b"\n", 0, e.start)
        return f"line {line}: byte {data[e.start:e.start + 1]!r} is not valid UTF-8; re-encode the file as UTF-8"
    reader = csv.reader(io.StringIO(text, newline=""))
    record_line = first_line
    for row in reader:
        if row and len(row) != n_columns:
            return (f"line {record_line}: the record has {len(row)} fields but the header has {n_columns}; fix or "
                    f"remove that row")
        record_line = first_line + reader.line_num
    return None
