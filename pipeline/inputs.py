"""Checks on the raw input (CSV, or Parquet for [data] example_gen = "fast") that run before the pipeline, so a wrong
path or column fails in seconds, clearly.

The row check streams each file through pyarrow's CSV reader, so it runs at Arrow speed with bounded memory.
Only local folders are checked here (this module must not import TensorFlow); for remote URIs (gs://, s3://) the
pipeline's own components report input problems.
"""
import csv
import glob
import os

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipeline.configs import Config


class InputError(ValueError):
    """A problem with the input data the user must fix; the message names the file and column."""


def input_files(config: Config):
    """The CSV files the pipeline will read, sorted; raises InputError when there are none."""
    input_dir = config.data.input_dir
    if not os.path.isdir(input_dir):
        raise InputError(f"[data] input_dir {input_dir!r} is not a folder; point it at the folder holding your CSV files")
    pattern = os.path.join(input_dir, config.data.file_pattern)
    files = sorted(path for path in glob.glob(pattern) if not os.path.isdir(path))
    if not files:
        raise InputError(f"no file matches [data] file_pattern {config.data.file_pattern!r} in {input_dir!r}; "
                         f"it holds: {', '.join(sorted(os.listdir(input_dir))) or 'nothing'}")
    return files


def _header(path):
    if path.endswith(".parquet"):  # self-describing: its column names are its header; its rows need no check
        try:
            return pq.read_schema(path).names
        except pa.ArrowException as e:
            raise InputError(f"{path}: not a readable Parquet file: {e}") from None
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        line = f.readline()
    if not line.strip():
        raise InputError(f"{path}: the file is empty or its first line is blank; the first line must be the header")
    return next(csv.reader([line]))


def required_columns(config: Config):
    """Column -> the config key that names it."""
    named = {config.data.id_column: "[data] id_column", config.labels.label_column: "[labels] label_column"}
    for key in ("labeler_columns", "metadata_columns"):
        named.update({c: f"[labels] {key}" for c in getattr(config.labels, key)})
    model = config.model
    named.update({c: "[model] numeric_features" for c in model.numeric_features})
    named.update({c: "[model] categorical_features" for c in model.categorical_features})
    return named


def _check_rows(path, n_columns):
    """Streams the file; raises InputError naming the line of a ragged row or of undecodable bytes."""
    options = pacsv.ReadOptions(block_size=1 << 22)
    convert = pacsv.ConvertOptions(column_types={}, strings_can_be_null=False)
    try:
        for _ in pacsv.open_csv(path, read_options=options, convert_options=convert):
            pass
    except pa.ArrowInvalid as e:
        raise InputError(f"{path}: {_locate_bad_row(path, n_columns) or e}") from None


def _locate_bad_row(path, n_columns):
    """Only on the error path: the line number of the first ragged row, which pyarrow does not report."""
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        reader = csv.reader(f)
        for row in reader:
            if len(row) != n_columns:
                return (f"line {reader.line_num} has {len(row)} fields but the header has {n_columns}; "
                        f"fix or remove that row")
    return None


def check_inputs(config: Config):
    """Raises InputError unless every input file exists, has the same header with the named columns, and is
    rectangular. Returns the list of files checked."""
    if "://" in config.data.input_dir:
        return []
    files = input_files(config)
    first_header = _header(files[0])
    for path in files:
        header = _header(path)
        if header != first_header:
            raise InputError(f"{path}: its header differs from {files[0]}'s; all input files need the same columns "
                             f"in the same order")
        missing = {c: key for c, key in required_columns(config).items() if c not in header}
        if missing:
            details = "; ".join(f"{key} names {column!r}" for column, key in missing.items())
            raise InputError(f"{path}: missing column(s): {details}. The file has: {', '.join(header)}. "
                             f"Fix the config or the file")
        if not path.endswith(".parquet"):
            _check_rows(path, len(header))
    return files
