"""Feature values, one way: of a parsed tf.train.Example (no TensorFlow import: works on any parsed Example), and of
an Arrow list column as TFXIO decodes Examples. Bytes are decoded as UTF-8 (undecodable bytes as \\xNN escapes)."""
import pyarrow as pa


def decoded(value):
    """A feature value as Python gives it, bytes decoded as UTF-8 (undecodable bytes as \\xNN escapes)."""
    return value.decode("utf-8", errors="backslashreplace") if isinstance(value, bytes) else value


def feature_values(example, name):
    """The values of feature `name` of a tf.train.Example as Python values (str, int or float); [] when absent."""
    feature = example.features.feature.get(name)
    kind = feature.WhichOneof("kind") if feature is not None else None
    return [decoded(v) for v in getattr(feature, kind).value] if kind else []


def feature_value(example, name):
    """The first value of feature `name` as a string, or None when it has none. Decodes that value only: a
    component reads it from every example."""
    feature = example.features.feature.get(name)
    kind = feature.WhichOneof("kind") if feature is not None else None
    values = getattr(feature, kind).value if kind else ()
    return str(decoded(values[0])) if values else None


def first_values(column: pa.ChunkedArray):
    """One value per example from an Arrow list column (each feature is a list); None where it has none."""
    return [decoded(v[0]) if v else None for v in column.to_pylist()]
