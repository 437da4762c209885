"""Reading the splits of an Examples artifact, one way: through tfx_bsl's TFXIO for the artifact's payload format.

Components that compute on columns read Arrow record batches (`record_batches`), decoding only the columns they
need; components that pass examples through or parse them read the serialized records (`records`). Both come from
the same TFXIO, so every payload format TFXIO knows is read the same way everywhere. A component that rewrites
records and writes them again as shards reads them as lists, file by file (`record_lists_of_splits`): without
Beam's per-record TFRecord reader and a Beam element per record, which cost most of such a pass; one that also
computes on some columns decodes only those of each list (`ExampleDecoder`, the types TFXIO gives).

A component that treats several splits alike reads them as one source (`record_batches_of_splits`), never as one
read per split joined by `beam.Flatten`: Beam's FnApiRunner (the local runner, and the Fn API runners built on it)
materialises every multi-input Flatten as an in-memory buffer, so flattening the reads holds every example at once
(measured: two flattened streams of 300 MB held 2.8 GiB; reduced before flattening, 0.2 GiB).

A component that computes on a few columns of every split's tf.train.Examples (TFRecord files) can read those lists
decoded (`decoded_batches_of_splits`, `record_lists_of_splits` + `ExampleDecoder`): TFXIO's column types, less CPU
(no Beam element per record, only the asked features parsed); a feature present with no values is null there, an
empty list in TFXIO's batches. Before SchemaGen, `records_schema` types the asked features from the records.
"""
import apache_beam as beam
import numpy as np
import pyarrow as pa
import tensorflow as tf
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from tfx.components.util import examples_utils, tfxio_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.utils import io_utils
from tensorflow_metadata.proto.v0 import schema_pb2

from components.examples_io.framing import iter_tfrecords
from components.examples_io.schema import projected_schema
from components.examples_io.tfrecord import MAX_SHARD_RECORDS

_READ_CHUNK_BYTES = 1 << 20
_PARSED_TYPES = {schema_pb2.BYTES: (tf.string, pa.large_binary()), schema_pb2.INT: (tf.int64, pa.int64()),
                 schema_pb2.FLOAT: (tf.float32, pa.float32())}  # schema type: (parsed as, Arrow type as TFXIO's)
_KINDS = {"bytes_list": schema_pb2.BYTES, "int64_list": schema_pb2.INT, "float_list": schema_pb2.FLOAT}


def split_names(examples):
    return artifact_utils.decode_split_names(examples.split_names)


def _split_pattern(examples, split):
    return io_utils.all_files_pattern(artifact_utils.get_split_uri([examples], split))


def _tfxio(examples, split, component, schema=None, raw_record_column=None):
    factory = tfxio_utils.get_tfxio_factory_from_artifact(
        [examples], ["tfx-datacentric", component], schema=schema, raw_record_column_name=raw_record_column)
    return factory(_split_pattern(examples, split))


def record_batches(examples, split, schema, component, columns=None, raw_record_column=None):
    """A Beam source of Arrow record batches of one split: the `columns` given (all of the schema's when None),
    plus each example's serialized record in `raw_record_column` when named. With schema None (before SchemaGen),
    every feature is decoded and tfx_bsl infers its type (int64, float32 or bytes lists; null for no values)."""
    source = _tfxio(examples, split, component, schema, raw_record_column)
    if columns is not None:
        source = source.Project(list(columns))
    return source.BeamSource()


@beam.ptransform_fn
def record_batches_of_splits(pipeline, examples, splits, schema, component, columns=None,
                             raw_record_column=None):  # pylint: disable=invalid-name
    """Like `record_batches`, for several splits read as one source: the files of every split are listed, spread
    over the workers (a reshuffle of file names, not of records) and decoded by the artifact's TFXIO."""
    decoder = _tfxio(examples, splits[0], component, schema, raw_record_column)
    if columns is not None:
        decoder = decoder.Project(list(columns)).projected
    return (pipeline | "SplitPatterns" >> beam.Create([_split_pattern(examples, split) for split in splits])
            | "ReadRecords" >> beam.io.ReadAllFromTFRecord(coder=beam.coders.BytesCoder())
            | "Decode" >> decoder.RawRecordToRecordBatch())


def records(examples, split, component):
    """A Beam source of the serialized examples (bytes) of one split."""
    return _tfxio(examples, split, component).RawRecordBeamSource()


class _ReadRecordLists(beam.DoFn):
    """(split, file) -> (split, list of serialized records), the file's records in their order, at most
    `max_records` a list; the file streams in (memory holds one list, whatever the file's size)."""

    def __init__(self, max_records):
        self._max = max_records

    def process(self, split_and_path):
        split, path = split_and_path
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            records = []
            for record in iter_tfrecords(iter(lambda: f.read(_READ_CHUNK_BYTES), b""), path):
                records.append(record)
                if len(records) == self._max:
                    yield split, records
                    records = []
            if records:
                yield split, records


def require_tf_examples(examples, needs, error=ValueError):
    """Raises `error` unless the Examples hold tf.train.Example records; `needs` ends the message: what the caller
    does that needs them."""
    payload_format = examples_utils.get_payload_format(examples)
    if payload_format != example_gen_pb2.FORMAT_TF_EXAMPLE:
        raise error(f"examples {examples.uri} hold {example_gen_pb2.PayloadFormat.Name(payload_format)} records; "
                    f"{needs}")


@beam.ptransform_fn
def record_lists_of_splits(pipeline, examples, splits,
                           max_records=MAX_SHARD_RECORDS):  # pylint: disable=invalid-name
    """(split, list of serialized records) of every file of `splits`, read as one source: the files are listed
    (through Beam's filesystems), spread over the workers (a reshuffle of file names, not of records), and each is
    read in order as lists of at most `max_records` (at most a shard's worth, so a list can be written as one
    shard). Examples must be TFRecord files (plain or gzipped), as every TFX ExampleGen writes by default."""
    file_format = examples_utils.get_file_format(examples)
    if not file_format.startswith("tfrecords"):
        raise ValueError(f"examples {examples.uri} are stored as {file_format!r}; reading them as lists of "
                         f"records needs TFRecord files")
    files = [(split, found.path) for split in splits
             for found in sorted(FileSystems.match([_split_pattern(examples, split)])[0].metadata_list,
                                 key=lambda found: found.path)]
    return (pipeline | "SplitFiles" >> beam.Create(files) | "SpreadFiles" >> beam.Reshuffle()
            | "ReadRecordLists" >> beam.ParDo(_ReadRecordLists(max_records)))


@beam.ptransform_fn
def decoded_batches_of_splits(pipeline, examples, splits, schema, columns, rows):  # pylint: disable=invalid-name
    """Arrow record batches of `columns` of every split (at most `rows` examples each), read as one source: each file
    as lists of serialized records (`record_lists_of_splits`: no Beam element per record) decoded by
    `ExampleDecoder` (only those columns parsed). The column types are `record_batches`'; a feature present with no
    values is null, not an empty list (ExampleDecoder). tf.train.Example records in TFRecord files only."""
    decode = ExampleDecoder(examples, projected_schema(schema, columns))
    return (pipeline | "ReadRecordLists" >> record_lists_of_splits(examples, splits, max_records=rows)
            | "Decode" >> beam.MapTuple(lambda _, records: decode(records)))


def _kind(record, name):
    """The schema type of feature `name` in one serialized tf.train.Example; None when it has none (absent, or a
    Feature with no kind: a missing cell as TFX's ExampleGens write it)."""
    feature = tf.train.Example.FromString(record).features.feature.get(name)
    return None if feature is None else _KINDS.get(feature.WhichOneof("kind"))


def records_schema(records, names):
    """A schema for `ExampleDecoder` where there is none yet (before SchemaGen): each of `names` with its type in the
    first of the serialized tf.train.Examples `records` that gives it a kind; a name that no record gives a kind
    (absent, or only kind-less) is left out. Only records holding the name's bytes are parsed: a feature costs a
    parse of the first record or few that have it, a name absent from the first records a substring test per record.
    A later record that gives the feature another kind makes ExampleDecoder raise, naming the feature."""
    schema = schema_pb2.Schema()
    for name in names:
        key = name.encode()
        kind = next((kind for kind in (_kind(record, name) for record in records if key in record)
                     if kind is not None), None)
        if kind is not None:
            schema.feature.add(name=name, type=kind)
    return schema


class ExampleDecoder:
    """A list of serialized tf.train.Examples (as `record_lists_of_splits` reads them) to one Arrow record batch of
    the features of `schema` (BYTES, INT or FLOAT), with the types TFXIO gives them (large lists of large_binary,
    int64 or float32). Parsed by TensorFlow's example parser, which reads only the features asked for (about 4x less
    CPU than tfx_bsl's decoder, which parses the whole Example, on 10-feature Examples). One difference from TFXIO:
    a feature present with no values reads as null, as an absent one does (TFXIO gives an empty list).
    Picklable."""

    def __init__(self, examples, schema):
        require_tf_examples(examples, "decoding lists of records needs tf.train.Example records")
        unsupported = [f.name for f in schema.feature if f.type not in _PARSED_TYPES]
        if unsupported:
            raise ValueError(f"features {unsupported} are not BYTES, INT or FLOAT; they cannot be decoded from lists")
        self._features = [(f.name, f.type) for f in schema.feature]

    def __call__(self, records):
        try:
            parsed = tf.io.parse_example(records, {name: tf.io.VarLenFeature(_PARSED_TYPES[kind][0])
                                                   for name, kind in self._features})
        except tf.errors.InvalidArgumentError as error:
            raise ValueError(self._other_kind(records) or error.message) from error
        columns = []
        for name, kind in self._features:
            counts = np.bincount(parsed[name].indices.numpy()[:, 0], minlength=len(records))
            offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int64())
            values = pa.array(parsed[name].values.numpy(), _PARSED_TYPES[kind][1])
            columns.append(pa.LargeListArray.from_arrays(offsets, values, mask=pa.array(counts == 0)))
        return pa.RecordBatch.from_arrays(columns, [name for name, _ in self._features])

    def _other_kind(self, records):
        """The first record and feature whose kind is not the schema's, as a message; None if there is none."""
        for index, record in enumerate(records):
            for name, kind in self._features:
                found = _kind(record, name)
                if found not in (None, kind):
                    return (f"feature {name!r} holds {schema_pb2.FeatureType.Name(found)} values in record {index} of "
                            f"{len(records)} read together, {schema_pb2.FeatureType.Name(kind)} in the schema (or in "
                            f"the first of those records that has it); a feature must hold one type of values "
                            f"(INT, FLOAT or BYTES) in every example")
        return None
