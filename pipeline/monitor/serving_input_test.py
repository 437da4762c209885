"""Serving files against a model's schema: what is read, and what is refused with which message."""
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tensorflow_metadata.proto.v0 import schema_pb2

from components.input_checks import DEFAULT_MISSING_VALUES, InputError
from pipeline.monitor import serving_input

FEATURES = ["bill_length_mm", "body_mass_g"]
HEADER = "request_id,site,bill_length_mm,body_mass_g,species\n"


def _schema():
    schema = schema_pb2.Schema()
    for name, kind in (("site", schema_pb2.BYTES), ("bill_length_mm", schema_pb2.FLOAT),
                       ("body_mass_g", schema_pb2.INT), ("species", schema_pb2.BYTES),
                       ("labeler_a", schema_pb2.BYTES)):
        schema.feature.add(name=name, type=kind)
    return schema


def _check(folder):
    return serving_input.check_serving(str(folder), _schema(), FEATURES, "species", DEFAULT_MISSING_VALUES)


def test_reads_typed_list_columns_with_missing_cells_as_empty_lists(tmp_path):
    (tmp_path / "a.csv").write_text(HEADER + "r1,Dream,39.1,3750,Adelie\nr2,,NA,,\nr3,Biscoe,,4100,Gentoo\n")
    layout = _check(tmp_path)
    assert layout.has_label and layout.ignored == ["request_id"] and layout.absent == ["labeler_a"]
    (batch,) = serving_input.read_batches(layout.files[0], layout.types, DEFAULT_MISSING_VALUES)
    assert batch.schema.names == ["site", "bill_length_mm", "body_mass_g", "species"]
    assert batch.column(1).type == pa.large_list(pa.float32())
    assert batch.column(2).to_pylist() == [[3750], [], [4100]]
    assert batch.column(0).to_pylist() == [[b"Dream"], [], [b"Biscoe"]]
    assert batch.column(1).to_pylist()[1:] == [[], []]


def test_parquet_is_cast_to_the_schema_types(tmp_path):
    pq.write_table(pa.table({"bill_length_mm": pa.array([39.1, None], pa.float64()),
                             "body_mass_g": pa.array([3750, 4100], pa.int32()),
                             "site": pa.array(["Dream", "NA"])}), tmp_path / "a.parquet")
    layout = _check(tmp_path)
    assert not layout.has_label
    (batch,) = serving_input.read_batches(layout.files[0], layout.types, DEFAULT_MISSING_VALUES)
    assert batch.column(batch.schema.names.index("body_mass_g")).to_pylist() == [[3750], [4100]]
    assert batch.column(batch.schema.names.index("site")).to_pylist() == [[b"Dream"], []]


def test_parquet_column_of_the_wrong_type_is_named(tmp_path):
    pq.write_table(pa.table({"bill_length_mm": ["long"], "body_mass_g": [1]}), tmp_path / "a.parquet")
    with pytest.raises(InputError, match="column 'bill_length_mm' has Parquet type string, but the model's schema "
                                         "needs a number"):
        _check(tmp_path)


@pytest.mark.parametrize("files, message", [
    ({}, "holds no .csv or .parquet file; it holds: nothing"),
    ({"notes.txt": b"x"}, "it holds: notes.txt"),
    ({"a.csv": b"", }, "a.csv: the file is empty or its first line is blank"),
    ({"a.csv": b"request_id,site,bill_length_mm\nr1,Dream,39.1\n"},
     "missing the model's feature column(s) body_mass_g"),
    ({"a.csv": b"request_id,site,site,bill_length_mm,body_mass_g\n"}, "column name(s) 'site' appear more than once"),
    ({"a.csv": (HEADER + "r1,Dream,39.1,3750,Adelie\nr2,Dr\xe9am,39.1,3750,Adelie\n").encode("latin-1")},
     "a.csv: line 3: byte b'\\xe9' is not valid UTF-8"),
    ({"a.csv": (HEADER + "r1,Dream,39.1,3750,Adelie\n" * 2 + "r3,Dream,39.1\n").encode()},
     "a.csv: line 4: the record has 3 fields but the header has 5"),
    ({"a.csv": (HEADER + "r1,Dream,39.1,3750,Adelie\nr2,Dream,39.1,8.3,Adelie\n").encode()},
     "a.csv: line 3, column 'body_mass_g': '8.3' is not an integer"),
    ({"a.csv": (HEADER + "r1,Dream,thirty,3750,Adelie\n").encode()},
     "a.csv: line 2, column 'bill_length_mm': 'thirty' is not a number"),
    ({"a.csv": (HEADER + "r1,Dream,39.1,3750,Adelie\n").encode(),
      "b.csv": b"request_id,bill_length_mm,body_mass_g\nr1,39.1,3750\n"}, "b.csv: its columns"),
    ({"a.csv": HEADER.encode(), "b.parquet": b"PAR1"}, "mixes CSV and Parquet files"),
])
def test_bad_serving_input_is_named(tmp_path, files, message):
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError) as error:
        _check(tmp_path)
    assert message in str(error.value)


def test_a_file_is_not_a_folder(tmp_path):
    (tmp_path / "a.csv").write_text(HEADER)
    with pytest.raises(InputError, match="is not a folder"):
        _check(tmp_path / "a.csv")
