"""Reading the splits of an Examples artifact, one way: through tfx_bsl's TFXIO for the artifact's payload format.

Components that compute on columns read Arrow record batches (`record_batches`), decoding only the columns they
need; components that pass examples through or parse them read the serialized records (`records`). Both come from
the same TFXIO, so every payload format TFXIO knows is read the same way everywhere.
"""
from tfx.components.util import tfxio_utils
from tfx.types import artifact_utils
from tfx.utils import io_utils


def split_names(examples):
    return artifact_utils.decode_split_names(examples.split_names)


def _tfxio(examples, split, component, schema=None, raw_record_column=None):
    factory = tfxio_utils.get_tfxio_factory_from_artifact(
        [examples], ["tfx-datacentric", component], schema=schema, raw_record_column_name=raw_record_column)
    return factory(io_utils.all_files_pattern(artifact_utils.get_split_uri([examples], split)))


def record_batches(examples, split, schema, component, columns=None, raw_record_column=None):
    """A Beam source of Arrow record batches of one split: the `columns` given (all of the schema's when None),
    plus each example's serialized record in `raw_record_column` when named. With schema None (before SchemaGen),
    every feature is decoded and tfx_bsl infers its type (int64, float32 or bytes lists; null for no values)."""
    source = _tfxio(examples, split, component, schema, raw_record_column)
    if columns is not None:
        source = source.Project(list(columns))
    return source.BeamSource()


def records(examples, split, component):
    """A Beam source of the serialized examples (bytes) of one split."""
    return _tfxio(examples, split, component).RawRecordBeamSource()
