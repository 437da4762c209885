"""record_batches_of_splits reads every split once, as one source, with the same rows and columns as the per-split
reads; record lists come file by file, and ExampleDecoder decodes them as TFXIO does (real Beam pipelines over a
real Examples artifact)."""
import json
import os

import apache_beam as beam
import pyarrow as pa
import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx_bsl.coders import example_coder

from components.examples_io import read
from components.examples_io.schema import projected_schema
from components.examples_io.tfrecord import shard_path, write_tfrecords


def _example(i, split):
    return tf.train.Example(features=tf.train.Features(feature={
        "id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[f"{split}-{i}".encode()])),
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=[i / 2])),
        "label": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"ab"[i % 2:i % 2 + 1]])),
    })).SerializeToString()


def _artifact(tmp_path, sizes, example=_example):
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    examples.split_names = artifact_utils.encode_split_names(list(sizes))
    for split, size in sizes.items():
        uri = artifact_utils.get_split_uri([examples], split)
        for shard in range(2):  # two files per split: every file of every split is read
            write_tfrecords(shard_path(uri, str(shard)), [example(i, split) for i in range(shard, size, 2)])
    return examples


def _rows(batches_path):
    rows = []
    for name in sorted(os.listdir(os.path.dirname(batches_path))):
        with open(os.path.join(os.path.dirname(batches_path), name)) as f:
            rows += [json.loads(line) for line in f]
    return sorted(map(json.dumps, rows))


def _read(tmp_path, name, source):
    out = str(tmp_path / name / "rows")
    with beam.Pipeline() as p:
        _ = (source(p) | beam.FlatMap(lambda batch: pa.Table.from_batches([batch]).to_pylist())
             | beam.Map(lambda row: json.dumps({k: (v.hex() if isinstance(v, bytes) else
                                                    [x.hex() if isinstance(x, bytes) else x for x in v])
                                                for k, v in sorted(row.items())}))
             | beam.io.WriteToText(out))
    return _rows(out)


def test_all_splits_as_one_source_equal_the_per_split_reads(tmp_path):
    examples = _artifact(tmp_path, {"train": 301, "eval": 77})
    splits = read.split_names(examples)

    def per_split(p):
        return ([p | f"Read[{s}]" >> read.record_batches(examples, s, None, "test", raw_record_column="raw")
                 for s in splits] | beam.Flatten())

    together = _read(tmp_path, "together", lambda p: p | read.record_batches_of_splits(
        examples, splits, None, "test", raw_record_column="raw"))
    assert len(together) == 378
    assert together == _read(tmp_path, "apart", per_split)


def test_projected_columns_only(tmp_path):
    examples = _artifact(tmp_path, {"train": 40, "eval": 9})
    schema = schema_pb2.Schema()
    for name, kind in (("id", schema_pb2.BYTES), ("x", schema_pb2.FLOAT), ("label", schema_pb2.BYTES)):
        schema.feature.add(name=name, type=kind)
    rows = _read(tmp_path, "projected", lambda p: p | read.record_batches_of_splits(
        examples, ["train", "eval"], schema, "test", columns=["id", "x"]))
    assert len(rows) == 49
    assert all(sorted(json.loads(row)) == ["id", "x"] for row in rows)


def test_record_lists_are_each_files_records_in_order(tmp_path):
    """Every file of every split read as lists of at most max_records, each list a run of one file in order."""
    examples = _artifact(tmp_path, {"train": 301, "eval": 77})
    out = str(tmp_path / "lists" / "out")
    with beam.Pipeline() as p:
        _ = (p | read.record_lists_of_splits(examples, ["train", "eval"], max_records=40)
             | beam.Map(lambda split_records: json.dumps([split_records[0], [r.hex() for r in split_records[1]]]))
             | beam.io.WriteToText(out))
    lists = [json.loads(row) for row in _rows(out)]
    assert max(len(records) for _, records in lists) == 40
    for split, size in (("train", 301), ("eval", 77)):
        for shard in range(2):  # each file's lists, joined in their order, are the file's records
            written = [_example(i, split).hex() for i in range(shard, size, 2)]
            runs = [records for s, records in lists if s == split and records[0] in written]
            runs.sort(key=lambda records: written.index(records[0]))
            assert sum(runs, []) == written


def test_record_lists_decoded_equal_the_record_batches(tmp_path):
    """ExampleDecoder gives the projected columns of each list as `record_batches` does, row for row."""
    examples = _artifact(tmp_path, {"train": 301, "eval": 77})
    schema = schema_pb2.Schema()
    for name, kind in (("id", schema_pb2.BYTES), ("x", schema_pb2.FLOAT), ("label", schema_pb2.BYTES)):
        schema.feature.add(name=name, type=kind)
    decode = read.ExampleDecoder(examples, projected_schema(schema, ["id", "label"]))
    decoded = _read(tmp_path, "decoded", lambda p: p | read.record_lists_of_splits(
        examples, ["train", "eval"], max_records=40) | beam.MapTuple(lambda split, records: decode(records)))
    assert len(decoded) == 378
    assert decoded == _read(tmp_path, "batches", lambda p: p | read.record_batches_of_splits(
        examples, ["train", "eval"], schema, "test", columns=["id", "label"]))


def _varied_example(i, split):
    """x: present with no values (i % 3 == 0), one or two values; n: absent (i % 4 == 0), a Feature with no kind
    (i % 4 == 1: what TFX's ExampleGens write for a missing cell, tfx_bsl's RecordBatchToExamples) or one value."""
    feature = {"id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[f"{split}-{i}".encode()])),
               "x": tf.train.Feature(float_list=tf.train.FloatList(value=[i / 2, i][:i % 3])),
               "label": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"ab"[i % 2:i % 2 + 1]]))}
    if i % 4:
        feature["n"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[i])) if i % 4 > 1 else tf.train.Feature()
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _batches(tmp_path, name, source):
    """Each record batch as (its Arrow schema, its rows {column: list of values or None}), bytes as hex."""
    out = str(tmp_path / name / "batches")
    with beam.Pipeline() as p:
        _ = (source(p) | beam.Map(lambda batch: json.dumps([
            sorted(f"{field.name}: {field.type}" for field in batch.schema),
            [{k: None if v is None else [x.hex() if isinstance(x, bytes) else x for x in v]
              for k, v in row.items()} for row in pa.Table.from_batches([batch]).to_pylist()]]))
             | beam.io.WriteToText(out))
    return [json.loads(line) for line in _rows(out)]


def test_decoded_batches_equal_tfxios_but_a_present_feature_with_no_values_is_null(tmp_path):
    """decoded_batches_of_splits gives TFXIO's types and values, at most `rows` examples a batch, with one
    difference: a feature present in an Example with a kind but no values is null (TFXIO: an empty list), as an
    absent one and one with no kind (a missing cell as TFX's ExampleGens write it) are in both. A reader of one value
    per example (first_values, a count of non-null cells) cannot tell them apart; a reader that counts present
    features (TFDV's num_non_missing counts an empty list) could."""
    examples = _artifact(tmp_path, {"train": 301, "eval": 77}, _varied_example)
    splits, columns = ["train", "eval"], ["id", "x", "n"]
    schema = schema_pb2.Schema()
    for name, kind in (("id", schema_pb2.BYTES), ("x", schema_pb2.FLOAT), ("n", schema_pb2.INT),
                       ("label", schema_pb2.BYTES)):
        schema.feature.add(name=name, type=kind)
    decoded = _batches(tmp_path, "decoded", lambda p: p | read.decoded_batches_of_splits(
        examples, splits, schema, columns, rows=16))
    tfxio = _batches(tmp_path, "tfxio", lambda p: p | read.record_batches_of_splits(
        examples, splits, schema, "test", columns=columns))
    assert max(len(rows) for _, rows in decoded) == 16
    assert {tuple(types) for types, _ in decoded} == {tuple(types) for types, _ in tfxio} == {
        ("id: large_list<item: large_binary>", "n: large_list<item: int64>", "x: large_list<item: float>")}

    def by_id(batches):
        return {row["id"][0]: row for _, rows in batches for row in rows}

    decoded, tfxio = by_id(decoded), by_id(tfxio)
    assert len(decoded) == 378 and decoded.keys() == tfxio.keys()
    empty = {(i, column) for i, row in tfxio.items() for column, values in row.items() if values == []}
    assert {column for _, column in empty} == {"x"}
    assert len(empty) == len([i for size in (301, 77) for i in range(size) if i % 3 == 0])
    for i, row in tfxio.items():
        assert decoded[i] == {column: None if (i, column) in empty else values for column, values in row.items()}
    assert sum(row["n"] is None for row in tfxio.values()) == len([i for size in (301, 77)
                                                                      for i in range(size) if i % 4 < 2])


def test_decoder_gives_tfxio_types_and_values_of_missing_and_multi_valued_features():
    """Against tfx_bsl's decoder (TFXIO's): the same Arrow types and values; a feature present with no values reads as
    null (as an absent one), where tfx_bsl gives an empty list."""
    schema = schema_pb2.Schema()
    for name, kind in (("b", schema_pb2.BYTES), ("i", schema_pb2.INT), ("f", schema_pb2.FLOAT)):
        schema.feature.add(name=name, type=kind)

    def example(b=None, i=None, f=None):
        feature = {}
        if b is not None:
            feature["b"] = tf.train.Feature(bytes_list=tf.train.BytesList(value=b))
        if i is not None:
            feature["i"] = tf.train.Feature(int64_list=tf.train.Int64List(value=i))
        if f is not None:
            feature["f"] = tf.train.Feature(float_list=tf.train.FloatList(value=f))
        return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()

    records = [example([b"x"], [1], [0.5]), example(), example([], [], []), example([b"y", b"\xff"], [2, -3]),
               example(f=[1.25, 2.0])]
    decoded = read.ExampleDecoder(standard_artifacts.Examples(), schema)(records)
    expected = example_coder.ExamplesToRecordBatchDecoder(schema.SerializeToString()).DecodeBatch(records)
    assert decoded.schema == expected.schema
    assert decoded.to_pydict() == {name: [values or None for values in column]
                                   for name, column in expected.to_pydict().items()}
    assert decoded.to_pydict()["b"] == [[b"x"], None, None, [b"y", b"\xff"], None]


def test_records_schema_types_each_feature_from_the_first_record_that_gives_it_a_kind():
    """A feature absent from the first records, or kind-less there (a missing cell as TFX's ExampleGens write it),
    is typed from the first record that gives it a kind, even an empty one; a name no record gives a kind is left
    out, and so is one whose bytes only occur inside other features' values."""
    def example(**features):
        feature = {}
        for name, values in features.items():
            if values is None:
                feature[name] = tf.train.Feature()
            elif isinstance(values, list) and values and isinstance(values[0], bytes):
                feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
            elif isinstance(values, list) and values and isinstance(values[0], float):
                feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
            else:
                feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()

    records = [example(id=[b"inside"], kindless=None, x=None), example(id=[b"x"], x=None),
               example(id=[b"y"], later=[1.5], x=[]), example(id=[b"z"], later=[b"text"], x=[b"b"])]
    schema = read.records_schema(records, ["later", "x", "kindless", "inside", "absent", "id"])
    assert [(f.name, schema_pb2.FeatureType.Name(f.type)) for f in schema.feature] == [
        ("later", "FLOAT"), ("x", "INT"), ("id", "BYTES")]


def test_decoder_names_a_feature_that_holds_another_type_in_a_record():
    """The first feature and record whose kind is not the schema's (here: from records_schema, the first record's),
    named in a ValueError rather than TensorFlow's parser error."""
    records = [tf.train.Example(features=tf.train.Features(feature={
        "n": tf.train.Feature(int64_list=tf.train.Int64List(value=[1])) if i != 2 else
        tf.train.Feature(float_list=tf.train.FloatList(value=[1.0]))})).SerializeToString() for i in range(4)]
    decode = read.ExampleDecoder(standard_artifacts.Examples(), read.records_schema(records, ["n"]))
    with pytest.raises(ValueError, match=r"^feature 'n' holds FLOAT values in record 2 of 4 read together, INT in "
                                         r"the schema"):
        decode(records)
    assert decode(records[:2]).to_pydict() == {"n": [[1], [1]]}
