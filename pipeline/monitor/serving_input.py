"""The serving data: a folder of CSV or Parquet files with the requests a deployed model received. Each file has the
model's features, optionally the label (when it arrived later), and any other columns (kept when the training data
had them, e.g. a site to compare, else ignored).

`check_serving` runs before TensorFlow loads, as the pipeline's pre-flight (pipeline/inputs.py) does: an empty
folder, mixed formats, headers that differ, a missing model feature, non-UTF-8 bytes, a ragged row, or a cell that is
not of the type the model's schema gives its column end in an InputError naming the file, line and column.
`read_batches` is the Beam step: one file as Arrow RecordBatches typed by the schema (list columns, an empty list
for a missing cell), the form TFDV's statistics and tfx_bsl's Example encoder take. Memory is one block of a file.
"""
import csv
import dataclasses
import io
import os
from typing import Dict, List

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from tensorflow_metadata.proto.v0 import schema_pb2

from components.input_checks import header_names, listed
from pipeline.inputs import InputError

FORMATS = (".csv", ".parquet")
_READ_TYPE = {schema_pb2.INT: pa.int64(), schema_pb2.FLOAT: pa.float32(), schema_pb2.BYTES: pa.string()}
_LIST_TYPE = {schema_pb2.INT: pa.int64(), schema_pb2.FLOAT: pa.float32(), schema_pb2.BYTES: pa.large_binary()}
_TYPE_WORD = {schema_pb2.INT: "an integer", schema_pb2.FLOAT: "a number", schema_pb2.BYTES: "UTF-8 text"}
_BLOCK_BYTES = 1 << 22


@dataclasses.dataclass
class ServingLayout:
    """What the serving files hold, relative to the model's schema."""
    files: List[str]
    types: Dict[str, int]  # schema column -> schema_pb2 type, for the schema columns the files have
    has_label: bool
    ignored: List[str]  # columns of the files that are not in the schema
    absent: List[str]  # schema columns the files lack (none of them a model feature)


def _filesystem(path):
    return pafs.FileSystem.from_uri(path if "://" in path else os.path.abspath(path))


def serving_files(folder):
    """The CSV or Parquet files directly in `folder`, sorted."""
    filesystem, root = _filesystem(folder)
    info = filesystem.get_file_info(root)
    if info.type != pafs.FileType.Directory:
        raise InputError(f"--serving {folder!r} is not a folder; point it at the folder holding the serving CSV or "
                         f"Parquet files")
    entries = filesystem.get_file_info(pafs.FileSelector(root))
    names = sorted(os.path.basename(e.path) for e in entries if e.type == pafs.FileType.File)
    files = [os.path.join(folder, n) for n in names if n.endswith(FORMATS)]
    if not files:
        raise InputError(f"--serving {folder!r} holds no .csv or .parquet file; it holds: "
                         f"{listed(names) or 'nothing'}")
    if len({os.path.splitext(f)[1] for f in files}) > 1:
        raise InputError(f"--serving {folder!r} mixes CSV and Parquet files; put one format in a folder")
    return files


def _open(path):
    filesystem, file_path = _filesystem(path)
    return filesystem.open_input_file(file_path)


def _header(path):
    if path.endswith(".parquet"):
        try:
            return pq.ParquetFile(_open(path)).schema_arrow.names
        except pa.ArrowException as e:
            raise InputError(f"{path}: not a readable Parquet file: {e}") from None
    with _open(path) as f:
        first = f.read(1 << 16).split(b"\n", 1)[0].rstrip(b"\r")
    return header_names(path, first)


def check_serving(folder, schema: schema_pb2.Schema, features, label, missing_values):
    """The ServingLayout of the files in `folder`, after checking every row against the schema's types; raises
    InputError naming the file, line and column of the first problem."""
    files = serving_files(folder)
    header = _header(files[0])
    for path in files[1:]:
        if _header(path) != header:
            raise InputError(f"{path}: its columns {_header(path)} differ from {files[0]}'s {header}; all serving "
                             f"files need the same columns in the same order")
    schema_types = {f.name: f.type for f in schema.feature}
    missing = [f for f in features if f not in header]
    if missing:
        raise InputError(f"{files[0]}: missing the model's feature column(s) {', '.join(missing)}; the model "
                         f"needs {', '.join(features)}. The file has: {', '.join(header)}")
    untyped = [f for f in features if schema_types.get(f) not in _READ_TYPE]
    if untyped:
        raise InputError(f"the model's schema gives feature(s) {', '.join(untyped)} no INT, FLOAT or BYTES type")
    layout = ServingLayout(files=files, types={c: schema_types[c] for c in header if c in schema_types},
                           has_label=label in header, ignored=[c for c in header if c not in schema_types],
                           absent=[c for c in schema_types if c not in header and c != label])
    for path in files:
        for _ in read_batches(path, layout.types, missing_values):
            pass
    return layout


def read_batches(path, types, missing_values):
    """Yields the file's rows as RecordBatches of list columns typed by `types` (schema column -> type); a missing
    cell (empty or one of `missing_values`) is an empty list."""
    if path.endswith(".parquet"):
        batches = _parquet_batches(path, types, missing_values)
    else:
        batches = _csv_batches(path, types, missing_values)
    for batch in batches:
        yield pa.RecordBatch.from_arrays(
            [_as_lists(batch.column(name), types[name]) for name in batch.schema.names], batch.schema.names)


def _csv_batches(path, types, missing_values):
    header = _header(path)
    convert = pacsv.ConvertOptions(
        column_types={name: _READ_TYPE[types[name]] for name in types}, include_columns=list(types),
        null_values=list(missing_values) or [""], strings_can_be_null=True, quoted_strings_can_be_null=True)
    try:
        with _open(path) as f:
            yield from pacsv.open_csv(f, read_options=pacsv.ReadOptions(block_size=_BLOCK_BYTES),
                                      convert_options=convert)
    except pa.ArrowInvalid as e:
        raise InputError(f"{path}: {_locate_csv_problem(path, header, types, missing_values) or e}") from None


def _parquet_batches(path, types, missing_values):
    for batch in pq.ParquetFile(_open(path)).iter_batches(columns=list(types)):
        columns = []
        for name in batch.schema.names:
            column = batch.column(name)
            if pa.types.is_dictionary(column.type):
                column = column.dictionary_decode()
            if types[name] == schema_pb2.BYTES and (pa.types.is_string(column.type) or
                                                    pa.types.is_large_string(column.type)):
                column = pc.if_else(pc.is_in(column, value_set=pa.array(list(missing_values), column.type)),
                                    pa.scalar(None, column.type), column)
            try:
                columns.append(column.cast(_READ_TYPE[types[name]]))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise InputError(f"{path}: column {name!r} has Parquet type {column.type}, but the model's schema "
                                 f"needs {_TYPE_WORD[types[name]]}; fix the column's type") from None
        yield pa.RecordBatch.from_arrays(columns, batch.schema.names)


def _as_lists(column: pa.Array, schema_type) -> pa.LargeListArray:
    """One value per present cell, an empty list per missing one (as ExampleGen encodes an empty CSV cell)."""
    present = column.is_valid()
    offsets = np.zeros(len(column) + 1, np.int64)
    np.cumsum(present.to_numpy(zero_copy_only=False), out=offsets[1:])
    return pa.LargeListArray.from_arrays(pa.array(offsets), column.filter(present).cast(_LIST_TYPE[schema_type]))


def _parses_as(text, schema_type):
    try:
        if schema_type == schema_pb2.INT:
            return -(1 << 63) <= int(text) < (1 << 63)
        if schema_type == schema_pb2.FLOAT:
            float(text)
        return True
    except ValueError:
        return False


def _locate_csv_problem(path, header, types, missing_values):
    """Error path only: the line of the first non-UTF-8 byte, ragged record or cell of the wrong type."""
    with _open(path) as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = 1 + data.count(b"\n", 0, e.start)
        return f"line {line}: byte {data[e.start:e.start + 1]!r} is not valid UTF-8; save the file as UTF-8"
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    typed = [(i, name, types[name]) for i, name in enumerate(header) if name in types]
    for row in reader:
        line = reader.line_num  # the record's last line; a record with a quoted newline spans several
        if not row:
            continue
        if len(row) != len(header):
            return (f"line {line}: the record has {len(row)} fields but the header has {len(header)}; fix or remove "
                    f"that row")
        for i, name, schema_type in typed:
            if row[i] not in missing_values and row[i] != "" and not _parses_as(row[i], schema_type):
                return (f"line {line}, column {name!r}: {row[i]!r} is not {_TYPE_WORD[schema_type]}, which the "
                        f"model's schema needs there; fix the value or leave the cell empty")
    return None
