"""Column types inferred as stock CsvExampleGen infers them, and string cells converted to the values it writes.

Stock's rule (tfx_bsl `csv_decoder._InferValueType`, over the whole split): INT if every non-empty cell parses as a
64-bit int, else FLOAT if every one parses as a float, else BYTES; a column with no non-empty cell gets
`tf.train.Feature()` with no kind. It runs as a Beam combine over the chunks before the encoding pass. Cells match
a conservative regex first (vectorised); only the cells that do not match go through stock's own Python function.
No TensorFlow or TFX here (see encode.py).

Missing values: stock reads only an empty cell as missing, so one `NA` turns a numeric column into text. With
`missing_values` (the pipeline passes [data] missing_values; components/input_checks.py), a cell whose whole text is
one of them is missing like an empty cell: left out of type inference and written as an empty value list. The
default, none, keeps stock's behaviour.
"""
from typing import List

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tfx_bsl.coders import csv_decoder

from components.fast_example_gen.csv_chunks import parse_csv
from components.input_checks import missing_mask

ColumnType = csv_decoder.ColumnType
_INFER_BATCH = 256  # cells converted to Python at a time while inferring a column type the regexes do not settle

# Subsets of what Python's int() and float() accept, in forms Arrow's cast parses to the same value. Ints of up to 18
# digits always fit int64; longer digit strings are ints out of range to stock (so STRING), and they, like anything
# else unmatched, go through stock's own per-cell function.
_INT_RE = r"^-?[0-9]{1,18}$"
_FLOAT_RE = r"^-?(([0-9]+\.[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)$"  # a point or an exponent
_FLOAT32_MAX = float(np.finfo(np.float32).max)

_ARROW_TYPE = {ColumnType.INT: pa.int64(), ColumnType.FLOAT: pa.float32(), ColumnType.STRING: pa.large_binary(),
               ColumnType.UNKNOWN: pa.int64()}


def _present(column: pa.Array, missing_values=()) -> pa.Array:
    """True where a string cell holds a value: not empty and not one of `missing_values`."""
    present = pc.not_equal(pc.binary_length(column), 0)
    return pc.and_(present, pc.invert(missing_mask(column, missing_values))) if missing_values else present


def _infer_column_type(column: pa.Array, missing_values=()) -> ColumnType:
    cells = column.filter(_present(column, missing_values))
    if len(cells) == 0:
        return ColumnType.UNKNOWN
    is_int = pc.match_substring_regex(cells, _INT_RE)
    inferred = ColumnType.INT if pc.any(is_int).as_py() else ColumnType.UNKNOWN
    rest = cells.filter(pc.invert(is_int))
    is_float = pc.match_substring_regex(rest, _FLOAT_RE)
    if pc.any(is_float).as_py():
        inferred = ColumnType.FLOAT
    unmatched = rest.filter(pc.invert(is_float))
    for start in range(0, len(unmatched), _INFER_BATCH):  # a text column is usually settled by its first cell
        for cell in unmatched.slice(start, _INFER_BATCH).to_pylist():
            inferred = max(inferred, csv_decoder._InferValueType(cell.encode()))  # pylint: disable=protected-access
            if inferred == ColumnType.STRING:
                return inferred
    return inferred


def _chunk_column_types(table: pa.Table, missing_values=()) -> List[ColumnType]:
    return [_infer_column_type(column.combine_chunks(), missing_values) for column in table.columns]


def _merge_types(type_lists):
    merged = None
    for types in type_lists:
        merged = list(types) if merged is None else [max(a, b) for a, b in zip(merged, types)]
    return merged


def _convert_strings(cells: pa.Array, column_type: ColumnType) -> pa.Array:
    """Non-empty string cells to the values stock writes: int(cell), float(cell) as float32, or the UTF-8 bytes."""
    if column_type == ColumnType.STRING:
        return cells.cast(pa.large_binary())
    pattern = _INT_RE if column_type == ColumnType.INT else f"({_INT_RE})|({_FLOAT_RE})"
    try:
        if not pc.all(pc.match_substring_regex(cells, pattern)).as_py():
            raise pa.ArrowInvalid("not all cells are in the fast form")
        values = cells.cast(pa.int64() if column_type == ColumnType.INT else pa.float64())
    except pa.ArrowInvalid:
        parse = int if column_type == ColumnType.INT else float
        values = pa.array([parse(c.encode()) for c in cells.to_pylist()],
                          pa.int64() if column_type == ColumnType.INT else pa.float64())
    if column_type == ColumnType.FLOAT:
        # Pure-Python protobuf (what stock writes with) stores doubles beyond float32's range as +-inf.
        doubles = values.to_numpy(zero_copy_only=False)
        with np.errstate(over="ignore"):
            floats = np.where(np.abs(doubles) > _FLOAT32_MAX, np.copysign(np.inf, doubles), doubles).astype(np.float32)
        values = pa.array(floats)
    return values


def to_feature_lists(column: pa.Array, column_type: ColumnType, strings: bool, missing_values=()) -> pa.Array:
    """A column as a large_list array: one value per non-empty cell, an empty list for an empty (or missing-value)
    cell, and a null (encoded as `tf.train.Feature()`, as stock does) for every row of a column with no type."""
    if column_type == ColumnType.UNKNOWN:
        return pa.nulls(len(column), pa.large_list(pa.int64()))
    present = _present(column, missing_values) if strings else pc.is_valid(column)
    present = present.fill_null(False)
    if strings:
        values = _convert_strings(column.filter(present), column_type)
    else:
        values = column.filter(present)
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        values = values.cast(_ARROW_TYPE[column_type])
    offsets = np.zeros(len(column) + 1, dtype=np.int64)
    np.cumsum(present.to_numpy(zero_copy_only=False), out=offsets[1:])
    return pa.LargeListArray.from_arrays(pa.array(offsets), values.cast(_ARROW_TYPE[column_type]))


class CombineTypes(beam.CombineFn):
    """Merges per-chunk column types up the INT < FLOAT < STRING lattice, as stock's ColumnTypeInferrer does."""

    def __init__(self, n_columns):
        self._n = n_columns

    def create_accumulator(self):
        return [ColumnType.UNKNOWN] * self._n

    def add_input(self, accumulator, types):
        return _merge_types([accumulator, types])

    def merge_accumulators(self, accumulators):
        return _merge_types(accumulators)

    def extract_output(self, accumulator):
        return accumulator


def chunk_types(chunk, names, missing_values=()):
    table = parse_csv(chunk, names)
    return [ColumnType.UNKNOWN] * len(names) if table is None else _chunk_column_types(table, missing_values)
