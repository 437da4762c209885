"""relabel.with_feature against protobuf's own parser: the record it writes parses to the Example with only that
feature changed, for bytes and int64 labels, a feature that was absent, and an empty Example."""
import pytest
from tensorflow.core.example import example_pb2

from components.corrections.relabel import with_feature


def _example():
    example = example_pb2.Example()
    feature = example.features.feature
    feature["example_id"].bytes_list.value.append(b"pg-0001")
    feature["species"].bytes_list.value.append(b"Adelie")
    feature["bill_length_mm"].float_list.value.extend([39.1, 40.2])
    feature["year"].int64_list.value.extend([-3, 2009])
    feature["notes"].bytes_list.value.append("é, long ".encode() * 100)  # lengths above one varint byte
    feature["empty"].SetInParent()
    return example


@pytest.mark.parametrize("name, value, integer", [
    ("species", "Gentoo", False), ("year", "-7", True), ("year", "123456789012", True), ("new_label", "x", False),
])
def test_only_that_feature_changes(name, value, integer):
    example = _example()
    expected = example_pb2.Example()
    expected.CopyFrom(example)
    expected.features.feature[name].Clear()
    if integer:
        expected.features.feature[name].int64_list.value.append(int(value))
    else:
        expected.features.feature[name].bytes_list.value.append(value.encode())
    written = with_feature(example.SerializeToString(), name, value, integer)
    assert example_pb2.Example.FromString(written) == expected
    assert written != example.SerializeToString()


def test_other_features_keep_their_bytes():
    record = _example().SerializeToString()
    written = with_feature(record, "species", "Gentoo")
    assert len(written) == len(record) + len("Gentoo") - len("Adelie")
    assert written.replace(b"Gentoo", b"Adelie") == record


def test_empty_example_gets_the_feature():
    written = with_feature(example_pb2.Example().SerializeToString(), "species", "Adelie")
    assert example_pb2.Example.FromString(written).features.feature["species"].bytes_list.value == [b"Adelie"]


def test_not_an_example_is_refused():
    with pytest.raises(ValueError, match="wire type"):
        with_feature(b"\x0f", "species", "Adelie")
