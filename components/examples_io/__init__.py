"""What every component does with Examples and schemas, in one place:

- `read`: the splits of an Examples artifact through TFXIO, as Arrow record batches (of one split, or of several
  as one source: never flatten per-split reads, the local runner holds a Flatten whole) or serialized records
  (one by one, or as lists of up to a shard's worth, file by file, for a component that rewrites and writes them;
  or those lists decoded to a few columns, for a component that reads Examples only to compute on them).
- `tfrecord`: whole gzipped TFRecord shards (`WriteSplit` for a PCollection of records, `Shard`, `WriteShards`,
  `write_tfrecords`, `write_empty_shards`) through Beam's filesystems, safe under retried bundles (each attempt
  writes into a temporary folder, a commit step renames the committed shards); no TensorFlow or TFX.
- `framing`: TensorFlow's TFRecord framing, `read_tfrecords` (plain or gzipped, CRC-checked, through pyarrow's
  filesystems), `parse_tfrecords` (of bytes read any other way) and `iter_tfrecords` (streamed chunks); no TensorFlow,
  TFX or Beam, so quick readers (the runs ledger, the report) can use it.
- `schema`: read a schema, a column's label domain, check configured columns, project for a read.
- `values`: feature values of a tf.train.Example or of an Arrow list column.
- `results`: a small result (counts, ids) brought out of a Beam pipeline.
- `spill`: scratch files of one Arrow record batch each, between a component's passes over the same rows.
- `artifacts`: carry an Examples artifact's splits, payload format and properties over to one made from it.

Names are resolved lazily (`from components.examples_io import carry_over` imports `artifacts` only), so a Beam
worker that needs the shard writer does not import TFX and TensorFlow with the rest.
"""
import importlib

_PUBLIC = {
    "record_batches": "read", "record_batches_of_splits": "read", "records": "read", "split_names": "read",
    "record_lists_of_splits": "read", "decoded_batches_of_splits": "read",
    "Shard": "tfrecord", "WriteShards": "tfrecord", "write_tfrecords": "tfrecord", "shard_path": "tfrecord",
    "content_name": "tfrecord", "GatherShards": "tfrecord", "WriteSplit": "tfrecord", "write_empty_shards": "tfrecord",
    "read_schema": "schema", "label_domain": "schema", "is_integer": "schema", "check_columns": "schema",
    "projected_schema": "schema",
    "feature_values": "values", "feature_value": "values", "first_values": "values", "decoded": "values",
    "Results": "results",
    "write_batch": "spill", "read_batch": "spill",
    "carry_over": "artifacts", "split_files_pattern": "artifacts",
}


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
