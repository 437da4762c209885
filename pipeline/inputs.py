"""The pre-flight: every check of the user's input files that can run before the pipeline does, so a wrong path,
column, cell or corrections file fails in seconds, once, with a message naming the file, line and column.

`check_inputs(config, data_only)` streams each CSV file through pyarrow's CSV reader (Arrow speed, memory bounded
by one block plus the id and label columns) and checks, in this order:
  files and headers   the folder and pattern match files; the header is not empty, has no duplicate names, is the
                      same in every file and has every column the config names; a UTF-8 byte-order mark is dropped
  rows                every row has as many fields as the header; every byte is UTF-8 (else: file and line)
  cells               no cell is longer than [data] max_cell_bytes; every cell of a [model] numeric feature is a
                      finite number or one of [data] missing_values (else: file, line, column and the cell)
  ids                 no empty id, no id twice (else: the lines)
  labels              no leading or trailing whitespace ("Adelie " would be a class of its own: the lines);
                      training runs only: no example without a label, both splits non-empty, and every class with at
                      least one training example (a class only in eval crashes the Evaluator); for `--data-only`
                      runs these are notes, since the data checks handle unlabelled examples and have no splits to
                      train on
  corrections         the whole [labels] corrections_file: UTF-8, header, ragged rows, no correction at all,
                      conflicting or unknown ids, ids that name several examples, labels that are not classes
  features            with `config.infer_features` (other data than the demo, no [model] features set): every
                      column that is not id, label, labeler or metadata, typed from the data (numeric when every
                      present cell is a number, else categorical); the result is written into `config.model`

Parquet files are typed by their schema: only their ids, labels and the corrections are checked, and features are
typed from the declared column types. The checks themselves are pure functions in components/input_checks.py, which the executors call too for data that
reaches them another way (in a Kubeflow container there is no pre-flight). Remote input_dirs (gs://, s3://) are
not read here; the components report their problems. This module must not import TensorFlow.
"""
import csv
import os
import tempfile
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from components.input_checks import (InputError, duplicates, header_names, id_is_int, listed, missing_mask,
                                     not_numbers, oversized, positions, split_index, untrimmed)
from components.safe_text import truncate
from components.spans import current_span, has_spans, list_spans
from pipeline.configs import Config

__all__ = ["InputError", "Preflight", "check_inputs", "check_output_dir", "input_files", "required_columns"]

SPLITS = ("train", "eval")  # pipeline.example_gen's output splits, in order


@dataclass
class Preflight:
    """What the pre-flight found: the files, the row count, and notes to print at the start of the run."""
    files: list
    rows: int = 0
    notes: list = field(default_factory=list)


def check_output_dir(config: Config):
    """Raises InputError unless [pipeline] output_dir can be created and written (every artifact and the log go
    there)."""
    output_dir = config.pipeline.output_dir
    if "://" in output_dir:
        return
    try:
        os.makedirs(output_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=output_dir):
            pass
    except OSError as e:
        raise InputError(f"[pipeline] output_dir {output_dir!r} cannot be written: {e.strerror}; choose a folder "
                         f"you can write to") from None


def input_files(config: Config):
    """The files of the span the pipeline will read ([data] span, or the latest), sorted; raises InputError when
    there are none."""
    input_dir = config.data.input_dir
    if not os.path.isdir(input_dir):
        raise InputError(f"[data] input_dir {input_dir!r} is not a folder; point it at the folder holding your CSV files")
    spans = {span: [path for path in paths if not os.path.isdir(path)]
             for span, paths in list_spans(input_dir, config.data.file_pattern).items()}
    spans = {span: paths for span, paths in spans.items() if paths}
    if not spans:
        raise InputError(f"no file matches [data] file_pattern {config.data.file_pattern!r} in {input_dir!r}; "
                         f"it holds: {', '.join(sorted(os.listdir(input_dir))) or 'nothing'}")
    span = current_span(spans, config.data.span) if has_spans(config.data.file_pattern) else 0
    if span not in spans:
        raise InputError(f"[data] span = {span}, but {config.data.file_pattern!r} in {input_dir!r} matches spans "
                         f"{', '.join(map(str, sorted(spans)))}; set span = 0 for the latest")
    return spans[span]


def _is_parquet(path):
    return path.endswith(".parquet")


def _header(path, example_gen="fast"):
    if _is_parquet(path):  # self-describing: its column names are its header
        try:
            return pq.read_schema(path).names
        except pa.ArrowException as e:
            raise InputError(f"{path}: not a readable Parquet file: {e}") from None
    with open(path, "rb") as f:
        first = f.readline()
    if example_gen == "csv" and first.startswith(b"\xef\xbb\xbf"):
        raise InputError(f"{path}: line 1 starts with a UTF-8 byte-order mark, which stock CsvExampleGen ([data] "
                         f'example_gen = "csv") reads as part of the first column\'s name; use example_gen = "fast" '
                         f"or save the file without it")
    return header_names(path, first)


def required_columns(config: Config):
    """Column -> the config key that names it."""
    named = {config.data.id_column: "[data] id_column", config.labels.label_column: "[labels] label_column"}
    for key in ("labeler_columns", "metadata_columns"):
        named.update({c: f"[labels] {key}" for c in getattr(config.labels, key)})
    if not config.infer_features:
        model = config.model
        named.update({c: "[model] numeric_features" for c in model.numeric_features})
        named.update({c: "[model] categorical_features" for c in model.categorical_features})
    return named


# --------------------------------------------------------------------------------------------------------------------
# Where a row is: file lines, found only on the error path.

def _record_lines(path, rows):
    """{row position (0-based, after the header): the file line it starts on}, for the given rows; exact with
    quoted newlines. Error path only: it reads the file with Python's csv module."""
    if _is_parquet(path):
        return {r: r + 1 for r in rows}
    wanted, lines = set(rows), {}
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = csv.reader(f)
        next(reader, None)
        start = reader.line_num + 1
        for row, _ in enumerate(reader):
            if row in wanted:
                lines[row] = start
                if len(lines) == len(wanted):
                    break
            start = reader.line_num + 1
    return lines


def _where(path, rows):
    """`file: line(s) 3, 7` (or `row(s)` for Parquet) for positions within one file."""
    lines = _record_lines(path, rows)
    unit = "row" if _is_parquet(path) else "line"
    return f"{path}: {unit}{'s' if len(rows) > 1 else ''} {listed(lines[r] for r in sorted(rows))}"


def _first_bad_utf8_line(path):
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as e:
                return number, line[e.start:e.start + 1]
    return None, None


def _locate_bad_row(path, n_columns):
    """Only on the error path: the line number of the first ragged row, which pyarrow does not report."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = csv.reader(f)
        for row in reader:
            if len(row) != n_columns:
                return (f"line {reader.line_num} has {len(row)} fields but the header has {n_columns}; "
                        f"fix or remove that row")
    return None


# --------------------------------------------------------------------------------------------------------------------
# Streaming the files.

def _csv_batches(path, names):
    """The file's rows in record batches of string columns; errors name the line."""
    options = pacsv.ReadOptions(block_size=1 << 22)
    convert = pacsv.ConvertOptions(column_types={n: pa.binary() for n in names}, strings_can_be_null=False,
                                   quoted_strings_can_be_null=False)
    try:
        reader = pacsv.open_csv(path, read_options=options, convert_options=convert)
        for batch in reader:
            try:
                yield pa.RecordBatch.from_arrays([c.cast(pa.string()) for c in batch.columns], names)
            except pa.ArrowInvalid:
                line, byte = _first_bad_utf8_line(path)
                raise InputError(f"{path}: line {line}: byte {byte!r} is not valid UTF-8; save the file as UTF-8 "
                                 f"(a byte-order mark at the start is fine)") from None
    except pa.ArrowInvalid as e:
        raise InputError(f"{path}: {_locate_bad_row(path, len(names)) or e}") from None


def _parquet_batches(path, names):
    """The id and label columns (and only they: Parquet columns are typed) as strings."""
    for batch in pq.ParquetFile(path).iter_batches(columns=names):
        yield pa.RecordBatch.from_arrays([c.cast(pa.string()) for c in batch.columns], names)


class _Scan:
    """What streaming the files gathers: ids and labels with their file and row, and per feature column whether it
    has any value and any cell that is not a number."""

    def __init__(self, config: Config, header):
        self.config = config
        self.missing = config.data.missing_values
        self.id_column, self.label_column = config.data.id_column, config.labels.label_column
        self.numeric = [] if config.infer_features else list(config.model.numeric_features)
        named = {self.id_column, self.label_column, *config.labels.labeler_columns, *config.labels.metadata_columns}
        self.candidates = [c for c in header if c not in named] if config.infer_features else []
        self.has_value = dict.fromkeys(self.candidates, False)
        self.has_text = dict.fromkeys(self.candidates, False)
        self.ids, self.labels, self.origins = [], [], []  # per batch: arrays, and (path, first row)
        self.rows = 0

    def add_csv(self, path, batch: pa.RecordBatch, first_row):
        for name, column in zip(batch.schema.names, batch.columns):
            big = oversized(column, self.config.data.max_cell_bytes)
            if big:
                raise InputError(f"{_where(path, [first_row + big[0]])}, column {name!r}: the cell has "
                                 f"{len(column[big[0]].as_py().encode())} bytes, more than [data] max_cell_bytes "
                                 f"({self.config.data.max_cell_bytes}); shorten it or raise the limit")
        for name in self.numeric:
            column = batch.column(name)
            bad = not_numbers(column, self.missing)
            if bad:
                cell = truncate(column[bad[0]].as_py(), 40)
                raise InputError(f"{_where(path, [first_row + bad[0]])}, column {name!r}: {cell!r} is not a "
                                 f"finite number, and [model] numeric_features names this column. Fix the cell; or, "
                                 f"if it means 'no value', add it to [data] missing_values")
            if self.config.data.example_gen == "csv":
                tokens = positions(pc.and_(missing_mask(column, self.missing), pc.not_equal(column, "")))
                if tokens:
                    raise InputError(f"{_where(path, [first_row + tokens[0]])}, column {name!r}: "
                                     f"{column[tokens[0]].as_py()!r} marks a missing value, which stock CsvExampleGen "
                                     f'([data] example_gen = "csv") reads as text; use example_gen = "fast" or '
                                     f"leave missing cells empty")
        for name in self.candidates:
            column = batch.column(name)
            self.has_value[name] |= not pc.all(missing_mask(column, self.missing)).as_py()
            self.has_text[name] |= bool(not self.has_text[name] and not_numbers(column, self.missing))
        self._add_ids_and_labels(path, batch, first_row)

    def add_parquet(self, path, batch, first_row):
        self._add_ids_and_labels(path, batch, first_row)

    def _add_ids_and_labels(self, path, batch, first_row):
        self.ids.append(batch.column(self.id_column))
        self.labels.append(batch.column(self.label_column))
        self.origins.append((path, first_row, batch.num_rows))
        self.rows += batch.num_rows

    def where(self, rows):
        """`file: lines ...` for global row positions, grouped by file."""
        by_file = {}
        batch_starts, start = [], 0
        for _, _, n in self.origins:
            batch_starts.append(start)
            start += n
        for row in rows:
            i = max(b for b, s in enumerate(batch_starts) if s <= row)
            path, first_row, _ = self.origins[i]
            by_file.setdefault(path, []).append(first_row + row - batch_starts[i])
        return "; ".join(_where(path, file_rows) for path, file_rows in by_file.items())


# --------------------------------------------------------------------------------------------------------------------
# The checks after the scan.

def _check_ids(scan: _Scan, ids):
    key = f"[data] id_column {scan.id_column!r}"
    empty = positions(missing_mask(ids, scan.missing))
    if empty:
        raise InputError(f"{len(empty)} row(s) have no id in {key}: {scan.where(empty)}. Every example needs a "
                         f"unique id (the split hashes it, corrections and findings name it): fill them in")
    repeated = duplicates(ids)
    if repeated:
        shown = [f"{value!r} at {scan.where(rows)}" for value, rows in list(repeated.items())[:5]]
        more = f"; and {len(repeated) - 5} more repeated id(s)" if len(repeated) > 5 else ""
        raise InputError(f"{len(repeated)} id(s) in {key} occur more than once: " + "; ".join(shown) + more
                         + ". Ids must be unique: fix the rows, or set [data] id_column to a column that is a "
                           "per-example id")


def _corrected_labels(config: Config, ids, labels, missing):
    """Checks the whole corrections file against the data; returns the labels with the corrections applied."""
    path = config.labels.corrections_file
    if not path or "://" in path:
        return labels
    # Here, not at the top: the components.corrections package imports its component (TFX, TensorFlow) first.
    from components.corrections import parse
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise InputError(f"[labels] corrections_file {path!r} cannot be read: {e.strerror}") from None
    present = labels.filter(pc.invert(missing_mask(labels, missing)))
    classes = set(pc.unique(present).to_pylist())
    corrections, _, _ = parse.parse_corrections(path, parse.decode(path, raw), classes,
                                                labels_from="the data's labels")
    counts = pc.value_counts(ids)
    id_counts = dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()))
    problems = parse.check_ids(path, corrections, id_counts)
    if problems:
        parse.fail(path, problems)
    new = {i: c.label for i, c in corrections.items()}
    return pa.array([new.get(i, label) for i, label in zip(ids.to_pylist(), labels.to_pylist())], pa.string())


def _check_labels(scan: _Scan, ids, labels, data_only, preflight: Preflight):
    config = scan.config
    key = f"[labels] label_column {scan.label_column!r}"
    spaced = untrimmed(labels)
    if spaced:
        raise InputError(f"{len(spaced)} label(s) in {key} have leading or trailing whitespace (e.g. "
                         f"{labels[spaced[0]].as_py()!r}), which would make a class of its own: {scan.where(spaced)}."
                         f" Remove the spaces in the file")
    labels = _corrected_labels(config, ids, labels, scan.missing)
    trains = not data_only and config.label_consistency.train_on == "label"

    def problem(message):
        if trains:
            raise InputError(message)
        preflight.notes.append("note: " + message)

    unlabelled = positions(missing_mask(labels, scan.missing))
    if unlabelled:
        problem(f"{len(unlabelled)} example(s) have no label in {key}: {scan.where(unlabelled)}. Training needs a "
                f"label on every example: label them, remove the rows, or run with --data-only (the data checks "
                f"skip unlabelled examples)")
    split = split_index(ids.to_pylist(), [config.data.train_buckets, config.data.eval_buckets],
                        id_is_int(ids, scan.missing))
    sizes = [int((split == i).sum()) for i in range(len(SPLITS))]
    for name, size in zip(SPLITS, sizes):
        if size == 0:
            problem(f"the {name} split is empty: all {scan.rows} example(s) hash to the other split by [data] "
                    f"id_column {scan.id_column!r}; add examples, or change [data] train_buckets / eval_buckets")
    if 0 in sizes:
        return
    labelled = pc.invert(missing_mask(labels, scan.missing)).to_numpy(zero_copy_only=False)
    train_classes = set(pc.unique(labels.filter(pa.array(labelled & (split == 0)))).to_pylist())
    for label in sorted(set(pc.unique(labels.filter(pa.array(labelled))).to_pylist()) - train_classes):
        rows = positions(pc.equal(labels, label))
        problem(f"class {label!r} of {key} has {len(rows)} example(s), all in the eval split ({scan.where(rows)}): "
                f"the model cannot learn a class it never trains on. Label more examples of it, fix the labels, or "
                f"change [data] train_buckets / eval_buckets")
    counts = pc.value_counts(labels.filter(pa.array(labelled)))
    folds = config.label_errors.folds
    small = {v: n for v, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist())
             if n < folds}
    if small and config.label_errors.enabled:
        preflight.notes.append(f"note: class(es) {', '.join(f'{v!r} ({n})' for v, n in sorted(small.items()))} have "
                               f"fewer examples than [label_errors] folds ({folds}); LabelErrors skips them")


def _infer_features(scan: _Scan, header, parquet_types, data_only, preflight: Preflight):
    config = scan.config
    if parquet_types:
        numeric = [c for c in scan.candidates if pa.types.is_integer(parquet_types[c])
                   or pa.types.is_floating(parquet_types[c])]
        categorical = [c for c in scan.candidates if c not in numeric]
        empty = []
    else:
        empty = [c for c in scan.candidates if not scan.has_value[c]]
        numeric = [c for c in scan.candidates if scan.has_value[c] and not scan.has_text[c]]
        categorical = [c for c in scan.candidates if scan.has_value[c] and scan.has_text[c]]
    if not numeric and not categorical and not data_only:
        raise InputError(f"no feature columns: every column of the data is the id, the label, a labeler or "
                         f"metadata column ({', '.join(header)}); name [model] numeric_features or "
                         f"categorical_features")
    config.model.numeric_features, config.model.categorical_features = numeric, categorical
    config.infer_features = False
    preflight.notes.append(f"features (typed from the data; set [model] numeric_features / categorical_features "
                           f"to choose): numeric: {', '.join(numeric) or 'none'}; categorical: "
                           f"{', '.join(categorical) or 'none'}"
                           + (f"; skipped, no value in any row: {', '.join(empty)}" if empty else ""))


def check_inputs(config: Config, data_only=False):
    """Raises InputError (naming the file, line, column or key) unless the input files and the corrections file
    pass every check in the module docstring. Returns a `Preflight`; may fill in `config.model`'s features."""
    if "://" in config.data.input_dir:
        return Preflight(files=[])
    files = input_files(config)
    first_header = _header(files[0], config.data.example_gen)
    for path in files:
        header = _header(path, config.data.example_gen)
        if header != first_header:
            raise InputError(f"{path}: its header differs from {files[0]}'s; all input files need the same columns "
                             f"in the same order")
        missing = {c: key for c, key in required_columns(config).items() if c not in header}
        if missing:
            details = "; ".join(f"{key} names {column!r}" for column, key in missing.items())
            raise InputError(f"{path}: missing column(s): {details}. The file has: {', '.join(header)}. "
                             f"Fix the config or the file")
    preflight = Preflight(files=files)
    scan = _Scan(config, first_header)
    parquet_types = pq.read_schema(files[0]) if _is_parquet(files[0]) else None
    for path in files:
        first_row = 0
        if _is_parquet(path):
            for batch in _parquet_batches(path, [scan.id_column, scan.label_column]):
                scan.add_parquet(path, batch, first_row)
                first_row += batch.num_rows
        else:
            for batch in _csv_batches(path, first_header):
                scan.add_csv(path, batch, first_row)
                first_row += batch.num_rows
    preflight.rows = scan.rows
    if scan.rows == 0:
        raise InputError(f"the input has a header but no rows: {', '.join(files)}; add data rows")
    ids, labels = pa.concat_arrays(scan.ids), pa.concat_arrays(scan.labels)
    _check_ids(scan, ids)
    _check_labels(scan, ids, labels, data_only, preflight)
    if config.infer_features:
        types = {name: parquet_types.field(name).type for name in parquet_types.names} if parquet_types else None
        _infer_features(scan, first_header, types, data_only, preflight)
    return preflight
