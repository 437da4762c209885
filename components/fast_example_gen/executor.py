"""FastExampleGen's executor: CSV and Parquet to tf.Examples at Arrow speed, equal to stock CsvExampleGen's output.

Stock CsvExampleGen parses every CSV line with Python's csv module, builds each tf.Example in pure-Python protobuf
(about 1 ms per row here), then shuffles and writes one Beam element per row. This executor plans the work (files,
headers, byte ranges, Parquet row groups), and its Beam pipeline (`encode.py` and the modules it names) parses with
pyarrow, encodes whole record batches with tfx_bsl's C++ encoder and writes each unit of work's rows as one gzipped
TFRecord shard per split.
Spans, versions, the output artifact, caching and MLMD stay TFX's own (`BaseExampleGenExecutor`, `FileBasedExampleGen`).
"""
import functools
import os
from typing import Optional

import apache_beam as beam
import pyarrow as pa
import tensorflow as tf
from absl import logging
from google.protobuf import struct_pb2
from tfx.components.example_gen import driver as example_gen_driver
from tfx.components.example_gen import utils, write_split
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.util import examples_utils
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

from components.examples_io.tfrecord import WriteShards, write_empty_shards
from components.fast_example_gen.csv_chunks import count_range, resolve_chunks
from components.fast_example_gen.encode import EncodeDoFn, RowGroup, open_parquet
from components.fast_example_gen.type_inference import ColumnType, CombineTypes, chunk_types
from components.input_checks import InputError
from components.progress import say, warn

DEFAULT_CHUNK_BYTES = 16 << 20

# --------------------------------------------------------------------------------------------------------------------
# Planning (runs where the pipeline is built): list files, check headers or Parquet schemas.

def _is_parquet(path):
    return path.endswith(".parquet")


def _list_files(input_base, pattern):
    files = sorted(fileio.glob(os.path.join(input_base, pattern)))
    if not files:
        raise InputError(f"split pattern {pattern!r} matches no file under {input_base}")
    kinds = {_is_parquet(f) for f in files}
    if len(kinds) > 1:
        raise InputError(f"split pattern {pattern!r} matches both Parquet and CSV files under {input_base}; "
                             f"one split must be one format")
    return files


def _csv_header(files):
    """The column names, read as stock reads them (first line, split on commas); every file must match."""
    header = None
    for path in files:
        with fileio.open(path, "rb") as f:
            first = f.read(1)
        if not first:
            raise InputError(f"{path}: line 1: the file is empty; a CSV file needs at least a header line")
        names = io_utils.load_csv_column_names(path)
        names[0] = names[0].removeprefix("\ufeff")  # a UTF-8 byte-order mark (pyarrow skips it in the rows too)
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InputError(f"{path}: line 1: duplicate column name(s) {duplicates} in the header")
        if header is None:
            header, first_path = names, path
        elif names != header:
            raise InputError(f"{path}: line 1: the header {names} differs from {first_path}'s {header}; "
                                 f"all files of a split need the same columns in the same order")
    return header


def _parquet_column_type(arrow_type, path, name):
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_integer(arrow_type) or pa.types.is_boolean(arrow_type):
        return ColumnType.INT
    if pa.types.is_floating(arrow_type):
        return ColumnType.FLOAT
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_binary(
            arrow_type) or pa.types.is_large_binary(arrow_type):
        return ColumnType.STRING
    if pa.types.is_null(arrow_type):
        return ColumnType.UNKNOWN
    raise InputError(f"{path}: column {name!r} has Parquet type {arrow_type}, which has no tf.Example "
                         f"equivalent here; cast it to an integer, float or string column")


def _parquet_plan(files):
    """(column names, column types, row groups); every file must have the same column names and kinds."""
    names = kinds = None
    row_groups = []
    for path in files:
        try:
            meta = open_parquet(path)
            schema, n_groups = meta.schema_arrow, meta.num_row_groups
        except pa.ArrowException as e:
            raise InputError(f"{path}: not a readable Parquet file: {e}") from None
        file_kinds = [_parquet_column_type(field.type, path, field.name) for field in schema]
        if names is None:
            names, kinds, first_path = schema.names, file_kinds, path
        elif schema.names != names or file_kinds != kinds:
            raise InputError(f"{path}: its columns {list(zip(schema.names, map(str, file_kinds)))} differ from "
                                 f"{first_path}'s {list(zip(names, map(str, kinds)))}; all files of a split need "
                                 f"the same columns with the same kinds")
        row_groups += [RowGroup(path, i, len(row_groups) + i) for i in range(n_groups)]
    return names, kinds, row_groups


class _EncodeUnits(beam.PTransform):
    """The files of one input split to Shards: parallel over files, CSV byte ranges and Parquet row groups. With
    `split_config`, rows go to the output splits it hashes them to; without, all go to `split_name`."""

    def __init__(self, input_base: str, split_pattern: str, chunk_bytes: int,
                 split_config: Optional[example_gen_pb2.SplitConfig] = None, split_name: str = "",
                 missing_values=()):
        super().__init__()
        self._missing_values = tuple(missing_values)
        self._input_base = input_base
        self._pattern = split_pattern
        self._chunk_bytes = chunk_bytes
        self._split_config = split_config
        self._split_name = split_name

    def expand(self, pipeline):
        files = _list_files(self._input_base, self._pattern)
        if _is_parquet(files[0]):
            names, kinds, row_groups = _parquet_plan(files)
            units = pipeline | "RowGroups" >> beam.Create(row_groups) | "SpreadRowGroups" >> beam.Reshuffle()
            column_types = pipeline | "ParquetTypes" >> beam.Create([kinds])
        else:
            names = _csv_header(files)
            ranges = []
            for path in files:
                size = fileio.stat(path).length
                ranges += [(path, start, min(start + self._chunk_bytes, size), len(ranges) + i)
                           for i, start in enumerate(range(0, size, self._chunk_bytes))]
            units = (pipeline
                     | "Ranges" >> beam.Create(ranges)
                     | "SpreadRanges" >> beam.Reshuffle()
                     | "CountQuotes" >> beam.Map(count_range)
                     | "GroupByFile" >> beam.GroupByKey()
                     | "ResolveChunks" >> beam.FlatMap(resolve_chunks)
                     | "SpreadChunks" >> beam.Reshuffle())
            column_types = (units
                            | "ChunkTypes" >> beam.Map(chunk_types, names, self._missing_values)
                            | "InferTypes" >> beam.CombineGlobally(CombineTypes(len(names))))
        logging.info("FastExampleGen: %d file(s) matching %s, columns %s", len(files), self._pattern, names)
        return units | "Encode" >> beam.ParDo(EncodeDoFn(names, self._split_config, self._split_name,
                                                         self._missing_values),
                                              beam.pvalue.AsSingleton(column_types))


def _as_examples(shard):
    """As tf.train.Example protos, which TFX's split step needs to find a partition feature (and hashes, as it hashes
    stock's, in deterministic serialization)."""
    return map(tf.train.Example.FromString, shard.records)


@beam.ptransform_fn
def _ToExamples(pipeline, exec_properties, split_pattern, chunk_bytes):  # pylint: disable=invalid-name
    """tf.train.Examples of one input split, for TFX's own per-row split and write path."""
    return (pipeline
            | "EncodeUnits" >> _EncodeUnits(exec_properties[standard_component_specs.INPUT_BASE_KEY], split_pattern,
                                            chunk_bytes, missing_values=missing_values(exec_properties))
            | "AsExamples" >> beam.FlatMap(_as_examples))


def missing_values(exec_properties):
    """The `missing_values` list of the component's custom config (see component.py), or none."""
    text = exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY)
    if not text:
        return ()
    custom = proto_utils.json_to_proto(text, example_gen_pb2.CustomConfig())
    config = struct_pb2.Struct()
    if not custom.custom_config.Unpack(config):
        return ()
    return tuple(config["missing_values"]) if "missing_values" in config else ()


class Executor(BaseExampleGenExecutor):
    """CSV or Parquet files to Examples; splits by the output config exactly as stock ExampleGen does."""

    chunk_bytes = DEFAULT_CHUNK_BYTES  # CSV byte-range size per unit of work; tests set it small

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        """TFX's extension point, used by `BaseExampleGenExecutor.Do` (one Beam element per row). Our `Do` writes
        whole shards instead; both write the same Examples in the same splits."""
        return functools.partial(_ToExamples, chunk_bytes=self.chunk_bytes)

    def Do(self, input_dict, output_dict, exec_properties):
        """TFX's Do, with the write changed: TFX shuffles and writes one Beam element per row, which costs many times
        the parse and encode; here each unit of work's rows go straight into one gzipped TFRecord file per split."""
        self._log_startup(input_dict, output_dict, exec_properties)
        input_config = proto_utils.json_to_proto(
            exec_properties[standard_component_specs.INPUT_CONFIG_KEY], example_gen_pb2.Input())
        output_config = proto_utils.json_to_proto(
            exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], example_gen_pb2.Output())
        payload_format = exec_properties.get(standard_component_specs.OUTPUT_DATA_FORMAT_KEY)
        file_format = exec_properties.get(standard_component_specs.OUTPUT_FILE_FORMAT_KEY)
        if payload_format not in (None, example_gen_pb2.FORMAT_TF_EXAMPLE) or file_format not in (
                None, example_gen_pb2.FILE_FORMAT_UNSPECIFIED, example_gen_pb2.FORMAT_TFRECORDS_GZIP):
            raise InputError("FastExampleGen writes tf.Examples as gzipped TFRecords only; leave output_data_format "
                             "and output_file_format unset, or use CsvExampleGen")

        examples = artifact_utils.get_single_instance(output_dict[standard_component_specs.EXAMPLES_KEY])
        split_names = utils.generate_output_split_names(input_config, output_config)  # also validates the configs
        examples.split_names = artifact_utils.encode_split_names(split_names)
        split_uris = {name: artifact_utils.get_split_uri([examples], name) for name in split_names}
        for uri in split_uris.values():
            fileio.makedirs(uri)
        input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
        missing = missing_values(exec_properties)
        if output_config.split_config.splits:
            encoders = {"": _EncodeUnits(input_base, input_config.splits[0].pattern, self.chunk_bytes,
                                         split_config=output_config.split_config, missing_values=missing)}
        else:
            encoders = {f"[{split.name}]": _EncodeUnits(input_base, split.pattern, self.chunk_bytes,
                                                        split_name=split.name, missing_values=missing)
                        for split in input_config.splits}
        with self._make_beam_pipeline() as pipeline:
            for label, encoder in encoders.items():  # encode and write fuse into one step: no per-row traffic
                _ = (pipeline | f"Encode{label}" >> encoder
                     | f"WriteShards{label}" >> WriteShards(split_uris, "FastExampleGen"))

        empty = [name for name, uri in split_uris.items() if not fileio.glob(os.path.join(uri, "*"))]
        if empty:
            warn("FastExampleGen", f"split(s) {', '.join(empty)} have no examples")
        write_empty_shards(split_uris)  # an empty split is still a readable one, as stock writes it
        if payload_format:
            examples_utils.set_payload_format(examples, payload_format)
        if file_format:
            examples_utils.set_file_format(examples, write_split.to_file_format_str(file_format))
        if utils.SPAN_PROPERTY_NAME in exec_properties:
            # Span, version and fingerprint as TFX's ExampleGen driver records them; set here too because on
            # Kubeflow the driver runs in another process and only its parameters reach this executor.
            recorded = {key: exec_properties.get(key) for key in (utils.FINGERPRINT_PROPERTY_NAME,
                                                                 utils.SPAN_PROPERTY_NAME, utils.VERSION_PROPERTY_NAME)}
            for key in (utils.SPAN_PROPERTY_NAME, utils.VERSION_PROPERTY_NAME):  # Kubeflow passes numbers as floats
                recorded[key] = None if recorded[key] is None else int(recorded[key])
            example_gen_driver.update_output_artifact(recorded, examples.mlmd_artifact)
        say("FastExampleGen", f"examples written to {examples.uri}")

