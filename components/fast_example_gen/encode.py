"""FastExampleGen's Beam work: each unit of work (a CSV chunk or a Parquet row group) parsed with pyarrow, typed as
stock types it, encoded with tfx_bsl, split as stock splits, and written as one gzipped TFRecord shard per split.

The parts: `csv_chunks.py` (cutting CSV files into chunks that parse independently), `type_inference.py` (stock's
column types, string cells to values), `split_hash.py` (stock's split hashing), and the shared shard writer
`components/examples_io/tfrecord.py`.

This module and those run on every Beam worker, so they import neither TensorFlow nor TFX: a worker starts in about
5 s instead of about 15 s. Files are read and written through pyarrow's filesystems (local, GCS, S3, HDFS).

Parquet files keep their declared column types (integers and booleans -> INT, floating point -> FLOAT, strings and
binary -> BYTES); nulls become an empty value list, like an empty CSV cell. Each row group is one unit of work.
"""
from typing import NamedTuple, Optional

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from absl import logging
from tfx.proto import example_gen_pb2
from tfx_bsl.coders import example_coder

from components.examples_io.tfrecord import Shard, open_input
from components.fast_example_gen.csv_chunks import Chunk, parse_csv
from components.fast_example_gen.split_hash import deterministic_examples, partition_keys, split_indices
from components.fast_example_gen.type_inference import to_feature_lists
from components.input_checks import InputError


class RowGroup(NamedTuple):
    path: str
    row_group: int
    index: int  # as Chunk.index


def open_parquet(path):
    return pq.ParquetFile(open_input(path))


class EncodeDoFn(beam.DoFn):
    """Reads one unit (a CSV chunk or a Parquet row group), shuffles its rows (seeded by the unit, so a rerun writes
    the same files; stock shuffles too) and encodes them into one Shard per output split."""

    def __init__(self, names, split_config: Optional[example_gen_pb2.SplitConfig], split_name: str,
                 missing_values=()):
        self._names = names
        self._missing_values = tuple(missing_values)
        self._split_name = split_name  # the one output split, when there is no split config
        self._split_names = [s.name for s in split_config.splits] if split_config else None
        self._buckets = np.cumsum([s.hash_buckets for s in split_config.splits]) if split_config else None
        # Like stock: a partition feature is used whenever the field is set, even to "".
        self._partition_feature = (split_config.partition_feature_name
                                   if split_config and split_config.HasField("partition_feature_name") else None)
        self._rows = beam.metrics.Metrics.counter("FastExampleGen", "rows")

    def process(self, unit, column_types):
        if isinstance(unit, Chunk):
            table, strings = parse_csv(unit, self._names), True
        else:
            table, strings = open_parquet(unit.path).read_row_group(unit.row_group), False
        if table is None or table.num_rows == 0:
            return
        logging.info("FastExampleGen: %d rows from %s", table.num_rows, unit)
        self._rows.inc(table.num_rows)
        table = table.take(np.random.default_rng(unit.index).permutation(table.num_rows))
        lists = {name: to_feature_lists(table.column(name).combine_chunks(), column_types[i], strings,
                                        self._missing_values)
                 for i, name in enumerate(self._names)}
        batch = pa.RecordBatch.from_arrays(list(lists.values()), list(lists.keys()))
        if self._split_names is None:
            yield Shard(self._split_name, f"{unit.index:05d}", example_coder.RecordBatchToExamples(batch))
            return
        if self._partition_feature is not None:
            if self._partition_feature not in lists:
                raise InputError(f"partition feature {self._partition_feature!r} is not a column of "
                                     f"{unit.path}; it has: {', '.join(self._names)}")
            keys = partition_keys(lists[self._partition_feature],
                                   column_types[self._names.index(self._partition_feature)], self._partition_feature)
        else:
            keys = deterministic_examples(batch)
        split_of_rows = split_indices(keys, self._buckets)
        for i, name in enumerate(self._split_names):
            rows = batch.filter(pa.array(split_of_rows == i))
            if rows.num_rows:
                yield Shard(name, f"{unit.index:05d}", example_coder.RecordBatchToExamples(rows))
