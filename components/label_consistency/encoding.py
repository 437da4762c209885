"""Label columns of Arrow record batches to class codes: what every later step (the sums, the consensus) reads.

Pure: pyarrow and numpy in, numpy out; no TFX.
"""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from components.input_checks import InputError

_SAMPLE_VALUES = 10  # unknown label values listed per column in the report


class LabelConsistencyError(InputError):
    """Input the user must fix; the message names the column or file."""


def flat_strings(column):
    """(per-example parent index, values as strings) of a list<...> Arrow column."""
    values = pc.list_flatten(column)
    parents = pc.list_parent_indices(column).to_numpy()
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    return parents, values


class LabelEncoder:
    """Turns a record batch into class codes (-1 missing) and counts label values that are not classes."""

    def __init__(self, classes, label_column, labeler_columns, id_column):
        self.value_set = pa.array(classes, pa.string())
        self.label_column, self.labeler_columns, self.id_column = label_column, labeler_columns, id_column

    def codes(self, batch, column, unknown):
        n = batch.num_rows
        codes = np.full(n, -1, np.int64)
        if column not in batch.schema.names:
            return codes
        parents, values = flat_strings(batch.column(column))
        if len(parents) and np.bincount(parents).max() > 1:
            raise LabelConsistencyError(f"column {column!r} holds several values for one example; label columns "
                                        f"must hold one label per example")
        index = pc.fill_null(pc.index_in(values, value_set=self.value_set), -1).to_numpy(zero_copy_only=False)
        empty = (pc.fill_null(pc.equal(values, ""), True).to_numpy(zero_copy_only=False))
        bad = (index < 0) & ~empty
        if bad.any():
            seen = unknown.setdefault(column, {"count": 0, "values": []})
            seen["count"] += int(bad.sum())
            for value in values.filter(pa.array(bad)).to_pylist():
                if value not in seen["values"] and len(seen["values"]) < _SAMPLE_VALUES:
                    seen["values"].append(value)
        codes[parents] = index
        return codes

    def strings(self, batch, column):
        out = np.full(batch.num_rows, "", dtype=object)
        if column in batch.schema.names:
            parents, values = flat_strings(batch.column(column))
            out[parents] = values.to_pylist()
        return out

    def encode(self, batch):
        """{"codes": [n, L], "label": [n] codes, "unknown": {column: counts}} for one record batch."""
        unknown = {}
        codes = np.stack([self.codes(batch, c, unknown) for c in self.labeler_columns], axis=1)
        label = self.codes(batch, self.label_column, unknown)
        return {"codes": codes, "label": label, "unknown": unknown}


def merge_unknown(a, b):
    merged = {k: {"count": v["count"], "values": list(v["values"])} for k, v in a.items()}
    for column, seen in b.items():
        into = merged.setdefault(column, {"count": 0, "values": []})
        into["count"] += seen["count"]
        into["values"] += [v for v in seen["values"] if v not in into["values"]][:_SAMPLE_VALUES - len(into["values"])]
    return merged
