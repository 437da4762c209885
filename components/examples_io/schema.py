"""Schemas: reading one, the label domain, checking that configured columns exist, and projecting for a read."""
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.types import artifact_utils
from tfx.utils import io_utils

from components.input_checks import InputError


def read_schema(schema_artifacts):
    """The Schema proto of a (single) Schema artifact channel, as given in an executor's input_dict."""
    return io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(artifact_utils.get_single_uri(schema_artifacts)))


def label_domain(schema, column):
    """Sorted values of the string domain of `column` (its own or a named one), or None when it has none."""
    feature = next((f for f in schema.feature if f.name == column), None)
    if feature is None:
        return None
    if feature.HasField("string_domain"):
        return sorted(feature.string_domain.value)
    if feature.HasField("domain"):
        named = next((d for d in schema.string_domain if d.name == feature.domain), None)
        if named is not None:
            return sorted(named.value)
    return None


def is_integer(schema, column):
    feature = next((f for f in schema.feature if f.name == column), None)
    return feature is not None and feature.type == schema_pb2.INT


def check_columns(available, columns_by_key, error=InputError, what="the data"):
    """Raises `error` naming every configured column that is not in `available` (a schema, or column names), with
    the config key that names it. `columns_by_key`: {"[labels] label_column": ["species"], ...}."""
    if isinstance(available, schema_pb2.Schema):
        available = [f.name for f in available.feature]
    present = set(available)
    problems = []
    for key, columns in columns_by_key.items():
        missing = [c for c in columns if c not in present]
        if missing:
            problems.append(f"{key}: column(s) {', '.join(map(repr, missing))} not found in {what}")
    if problems:
        raise error(f"{'; '.join(problems)} (its columns: {', '.join(sorted(present))}); fix the column name in the "
                    f"config")


def projected_schema(schema, columns):
    """The schema restricted to `columns`, every one read as variable length (some examples may lack a value), so
    TFXIO decodes only those and tolerates missing values."""
    projected = schema_pb2.Schema()
    projected.CopyFrom(schema)
    del projected.feature[:]
    projected.feature.extend(f for f in schema.feature if f.name in set(columns))
    for feature in projected.feature:
        feature.ClearField("shape")
    return projected
