"""FastExampleGen's executor against stock CsvExampleGen's, both run for real on the same nasty files."""
import collections
import glob
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tensorflow as tf
from google.protobuf import json_format
from tfx import v1 as tfx
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.types import standard_artifacts

from components.fast_example_gen import executor as fast_executor
from pipeline.configs import Config
from pipeline.local_runner import beam_args

BEAM_ARGS = beam_args(Config())

# Quoted commas and newlines, escaped quotes, empty and quoted-empty cells, unicode, CRLF line ends, ints written as
# floats ("1.0"), a signed int, nan, an int beyond int64, a column mixing numbers and text, a column that is always
# empty, and a blank line (skipped by both).
NASTY_CSV = (
    'id,name,score,whole,mixed,note,nothing,big\n'
    '1,"Smith, John",1.5,1.0,3,"line one\nline two",,12\n'
    '2,Zoë ☃ 東京,2,2.0,abc,"",,99999999999999999999\n'
    '3,,nan,3.0,4.5,"he said ""hi""",,\n'
    '\n'
    '4,"multi\nline, with ""comma""\n",1e3,+4,,plain,,7\r\n'
    '5,  padded  ,-0.1,5,-7,"a,b,c",,-3\n'
    '6,x,3.4028236e38,6.0,1e2,"ends with newline\n",,0\n'
)
NASTY_TYPES = {"id": pa.int64(), "name": pa.string(), "score": pa.float64(), "whole": pa.float64(),
               "mixed": pa.string(), "note": pa.string(), "nothing": pa.null(), "big": pa.string()}


def run_example_gen(executor, input_dir, output_dir, pattern, partition_feature="", input_splits=None):
    """Runs `executor` with a 3:2 output split of the files matching `pattern`, or, given `input_splits` (split name
    -> pattern), with those splits and no output split config."""
    examples = standard_artifacts.Examples()
    examples.uri = str(output_dir)
    split_config = tfx.proto.SplitConfig(splits=[tfx.proto.SplitConfig.Split(name="train", hash_buckets=3),
                                                 tfx.proto.SplitConfig.Split(name="eval", hash_buckets=2)])
    if partition_feature:
        split_config.partition_feature_name = partition_feature
    input_config = tfx.proto.Input(splits=[tfx.proto.Input.Split(name=name, pattern=split_pattern) for name, split_pattern
                                           in (input_splits or {"single_split": pattern}).items()])
    output_config = tfx.proto.Output() if input_splits else tfx.proto.Output(split_config=split_config)
    executor.Do({}, {"examples": [examples]}, {
        "input_base": str(input_dir),
        "input_config": json_format.MessageToJson(input_config),
        "output_config": json_format.MessageToJson(output_config),
    })
    return read_splits(output_dir)


def read_splits(output_dir):
    """Split name -> Counter of deterministic serializations of every written Example (byte-exact, NaN-safe)."""
    splits = {}
    for split_dir in sorted(glob.glob(os.path.join(output_dir, "Split-*"))):
        records = tf.data.TFRecordDataset(sorted(glob.glob(os.path.join(split_dir, "*.gz"))), compression_type="GZIP")
        splits[os.path.basename(split_dir)] = collections.Counter(
            tf.train.Example.FromString(r.numpy()).SerializeToString(deterministic=True) for r in records)
    return splits


def stock():
    return csv_executor.Executor(csv_executor.Executor.Context(beam_pipeline_args=BEAM_ARGS))


def fast(chunk_bytes=fast_executor.DEFAULT_CHUNK_BYTES):
    executor = fast_executor.Executor(fast_executor.Executor.Context(beam_pipeline_args=BEAM_ARGS))
    executor.chunk_bytes = chunk_bytes
    return executor


@pytest.fixture(scope="module")
def nasty_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nasty")
    (folder / "a.csv").write_bytes(NASTY_CSV.encode())
    (folder / "b_header_only.csv").write_bytes(NASTY_CSV.split("\n")[0].encode() + b"\n")
    return folder


@pytest.fixture(scope="module", params=["", "id"], ids=["hash-whole-record", "hash-id"])
def stock_splits(request, nasty_dir, tmp_path_factory):
    splits = run_example_gen(stock(), nasty_dir, tmp_path_factory.mktemp("stock"), "*.csv", request.param)
    return request.param, splits


@pytest.mark.parametrize("chunk_bytes", [7, 64 << 20], ids=["7-byte-chunks", "one-chunk"])
def test_csv_examples_and_splits_equal_stock(stock_splits, nasty_dir, tmp_path, chunk_bytes):
    partition, expected = stock_splits
    got = run_example_gen(fast(chunk_bytes), nasty_dir, tmp_path, "*.csv", partition)
    assert sum(sum(c.values()) for c in expected.values()) == 6
    assert got == expected  # every Example byte for byte, in the same split


class PerRowWrite(fast_executor.Executor):
    Do = BaseExampleGenExecutor.Do


def test_tfx_per_row_write_path_equals_stock(stock_splits, nasty_dir, tmp_path):
    """GetInputSourceToExamplePTransform, TFX's extension point, under TFX's own Do (per-row split and write)."""
    partition, expected = stock_splits
    executor = PerRowWrite(PerRowWrite.Context(beam_pipeline_args=BEAM_ARGS))
    assert run_example_gen(executor, nasty_dir, tmp_path, "*.csv", partition) == expected


def test_many_files_and_chunks_and_input_splits_equal_stock(tmp_path):
    """Three files per input split, each cut into several chunks: every shard is named by its own unit of work,
    none overwrites another, and input splits map to output splits as stock maps them."""
    for split in ("train", "eval"):
        (tmp_path / "in" / split).mkdir(parents=True)
        for part in range(3):
            rows = [f"{split}-{part}-{i},{'x' * (i % 5)},{i / 7:.4f}" for i in range(25)]
            (tmp_path / "in" / split / f"part-{part}.csv").write_text("id,s,v\n" + "\n".join(rows) + "\n")
    splits = {"train": "train/*.csv", "eval": "eval/*.csv"}
    expected = run_example_gen(stock(), tmp_path / "in", tmp_path / "stock", "", input_splits=splits)
    got = run_example_gen(fast(chunk_bytes=100), tmp_path / "in", tmp_path / "fast", "", input_splits=splits)
    assert {name: sum(c.values()) for name, c in got.items()} == {"Split-train": 75, "Split-eval": 75}
    assert got == expected
    assert len(glob.glob(str(tmp_path / "fast" / "Split-train" / "*.gz"))) >= 9  # several shards per file


def test_nasty_csv_exercises_each_stock_rule(stock_splits):
    """What the equality above covers: stock's output on the nasty file shows each rule we claim to match."""
    _, expected = stock_splits
    examples = [tf.train.Example.FromString(e) for c in expected.values() for e in c.elements()]
    row = {e.features.feature["id"].int64_list.value[0]: e.features.feature for e in examples}
    assert row[1]["whole"].float_list.value == [1.0]  # ints written as floats make a FLOAT column
    assert row[4]["whole"].float_list.value == [4.0]  # "+4" in it
    assert row[2]["big"].bytes_list.value == [b"99999999999999999999"]  # beyond int64: BYTES
    assert row[1]["mixed"].bytes_list.value == [b"3"]  # numbers and text: BYTES
    assert row[3]["name"].HasField("bytes_list") and not row[3]["name"].bytes_list.value  # empty cell
    assert row[2]["note"].HasField("bytes_list") and not row[2]["note"].bytes_list.value  # quoted empty cell
    assert not row[1]["nothing"].HasField("kind")  # a column with no value anywhere
    assert row[4]["name"].bytes_list.value == ['multi\nline, with "comma"\n'.encode()]
    assert row[2]["name"].bytes_list.value == ["Zoë ☃ 東京".encode()]
    assert row[6]["score"].float_list.value == [float("inf")]  # beyond float32's range


def test_parquet_equals_stock_csv(stock_splits, nasty_dir, tmp_path):
    """The same table as Parquet (typed as stock infers the CSV, empty cells as nulls, two row groups per file)."""
    partition, expected = stock_splits
    table = pa.csv.read_csv(str(nasty_dir / "a.csv"), convert_options=pa.csv.ConvertOptions(
        column_types={name: pa.string() for name in NASTY_TYPES}, null_values=[""],
        strings_can_be_null=True, quoted_strings_can_be_null=True))
    columns = {}
    for name, arrow_type in NASTY_TYPES.items():
        column = table.column(name)
        if name == "whole":  # "+4" is an int to Python but not to Arrow's cast
            column = pa.array([None if v is None else float(v) for v in column.to_pylist()])
        columns[name] = pa.nulls(len(column)) if arrow_type == pa.null() else column.cast(arrow_type)
    parquet_dir = tmp_path / "parquet"
    parquet_dir.mkdir()
    typed = pa.table(columns)
    pq.write_table(typed.slice(0, 4), parquet_dir / "part-0.parquet", row_group_size=2)
    pq.write_table(typed.slice(4), parquet_dir / "part-1.parquet", row_group_size=2)
    got = run_example_gen(fast(), parquet_dir, tmp_path / "out", "*.parquet", partition)
    assert got == expected


@pytest.mark.parametrize("name,content,message", [
    ("ragged.csv", b"a,b\n1,2\n3,4\n5\n6,7\n", "ragged.csv: line 4: the record has 1 fields but the header has 2"),
    ("quote.csv", b"a,b\n1,2\n3,\"open\n4,5\n", "quote.csv: line 3: unterminated quote"),
    ("latin1.csv", b"a,b\n1,2\n3,caf\xe9\n", "latin1.csv: line 3: byte b'\\xe9' is not valid UTF-8"),
    ("empty.csv", b"", "empty.csv: line 1: the file is empty"),
])
def test_bad_csv_names_file_and_line(tmp_path, name, content, message):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / name).write_bytes(content)
    with pytest.raises(Exception, match=message.replace("\\", "\\\\").replace("(", r"\(")) as info:
        run_example_gen(fast(chunk_bytes=5), tmp_path / "in", tmp_path / "out", "*.csv")
    assert message in str(info.value)


def test_header_differing_between_files_names_the_file(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"a,b\n1,2\n")
    (tmp_path / "b.csv").write_bytes(b"a,c\n1,2\n")
    with pytest.raises(fast_executor.InputError, match=r"b.csv: line 1: the header \['a', 'c'\] differs"):
        run_example_gen(fast(), tmp_path, tmp_path / "out", "*.csv")
