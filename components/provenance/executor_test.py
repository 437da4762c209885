"""The Provenance executor on real Examples made by CsvExampleGen's executor from the demo CSV, and on TFRecord files
written here (columns absent from a file's first records, or of different types)."""
import hashlib
import json
import os
import shutil
from collections import Counter

import pandas as pd
import pytest
import tensorflow as tf
from apache_beam.pvalue import TaggedOutput
from tfx.types import artifact_utils, standard_artifacts

from components.examples_io.tfrecord import shard_path, write_tfrecords
from components.examples_io.values import feature_value
from components.provenance import executor
from tests.artifacts import LOCAL_BEAM_ARGS, examples_from_csv
from tests.pipeline_runs import REPO

DEMO = os.path.join(REPO, "data", "demo", "span-1")


def _run(examples, out_dir, metadata_columns=("site", "season"), input_base=DEMO):
    target = standard_artifacts.Examples()
    target.uri = str(out_dir)
    exec_properties = {
        "source": json.dumps({"source_name": "demo", "source_uri": "https://example.org/penguins",
                              "owner": "field team", "collection_window": "2007-11/2010-01"}),
        "instructions_file": "data/labeling_instructions.md", "instructions_sha256": "abc123",
        "labelers": json.dumps(["labeler_a", "labeler_b"]),
        "data_inventory": json.dumps({"amount": "226 rows", "cost": "1 season"}),
        "input_base": input_base, "file_pattern": "*.csv", "label_column": "species",
        "metadata_columns": json.dumps(list(metadata_columns)),
    }
    context = executor.Executor.Context(beam_pipeline_args=LOCAL_BEAM_ARGS, tmp_dir=str(out_dir) + "_tmp",
                                       unique_id="provenance_test")
    executor.Executor(context).Do({"examples": [examples]}, {"examples_with_provenance": [target]}, exec_properties)
    return target


@pytest.fixture(scope="module")
def demo_examples(tmp_path_factory):
    return examples_from_csv(DEMO, tmp_path_factory.mktemp("examples"), id_column="example_id")


def _ids(examples, split):
    files = tf.io.gfile.glob(os.path.join(artifact_utils.get_split_uri([examples], split), "*"))
    return sorted(tf.train.Example.FromString(r.numpy()).features.feature["example_id"].bytes_list.value[0]
                  for r in tf.data.TFRecordDataset(files, compression_type="GZIP"))


def test_records_provenance_and_copies_examples(demo_examples, tmp_path):
    target = _run(demo_examples, tmp_path / "out")
    frame = pd.read_csv(os.path.join(DEMO, "penguins.csv"), keep_default_na=False)

    assert target.get_string_custom_property("owner") == "field team"
    assert target.get_string_custom_property("instructions_version") == "abc123"
    assert target.get_json_value_custom_property("labelers") == ["labeler_a", "labeler_b"]
    assert target.get_json_value_custom_property("data_inventory")["cost"] == "1 season"
    with open(os.path.join(DEMO, "penguins.csv"), "rb") as f:
        file_sha = hashlib.sha256(f.read()).hexdigest()
    assert target.get_string_custom_property("data_fingerprint") == hashlib.sha256(file_sha.encode()).hexdigest()
    assert target.get_string_custom_property("data_version") == hashlib.sha256(file_sha.encode()).hexdigest()[:12]
    assert target.get_json_value_custom_property("input_files")["files"][0]["name"] == "penguins.csv"

    per_split = target.get_json_value_custom_property("examples_per_split")
    assert sum(per_split.values()) == len(frame) and set(per_split) == {"train", "eval"}
    counts = target.get_json_value_custom_property("metadata_counts")
    for column in ("site", "season"):
        assert counts[column] == frame[column].value_counts().to_dict()
    assert target.get_json_value_custom_property("label_counts") == frame["species"].value_counts().to_dict()

    assert target.split_names == demo_examples.split_names
    assert target.get_string_custom_property("payload_format") == "FORMAT_TF_EXAMPLE"
    for split in ("train", "eval"):
        assert _ids(target, split) == _ids(demo_examples, split)


def test_data_version_follows_content_not_file_names(demo_examples, tmp_path):
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    shutil.copy(os.path.join(DEMO, "penguins.csv"), renamed / "other_name.csv")
    edited = tmp_path / "edited"
    edited.mkdir()
    with open(os.path.join(DEMO, "penguins.csv")) as f:
        (edited / "penguins.csv").write_text(f.read().replace("Torgersen", "Torgersen ", 1))
    original = executor.fingerprint_inputs(DEMO, "*.csv")[0]
    assert executor.fingerprint_inputs(str(renamed), "*.csv")[0] == original
    assert executor.fingerprint_inputs(str(edited), "*.csv")[0] != original


def test_metadata_column_without_values_is_an_error(demo_examples, tmp_path):
    with pytest.raises(ValueError, match=r"\[labels\] metadata_columns names \['inspector'\]"):
        _run(demo_examples, tmp_path / "out", metadata_columns=("site", "inspector"))


def test_a_column_with_a_value_per_example_keeps_the_most_frequent_and_sums_the_rest(demo_examples, tmp_path):
    """An id-like metadata column (226 distinct values): only the 50 most frequent reach the artifact (ties by value,
    as the combiner trims them in Beam), the other examples are counted under '(other values)'."""
    target = _run(demo_examples, tmp_path / "out", metadata_columns=("site", "example_id"))
    frame = pd.read_csv(os.path.join(DEMO, "penguins.csv"), dtype=str, keep_default_na=False)
    counts = target.get_json_value_custom_property("metadata_counts")
    kept = sorted(frame["example_id"])[:executor.MAX_VALUES_PER_COLUMN]
    assert counts["example_id"] == {**{example_id: 1 for example_id in kept},
                                    executor.OTHER: len(frame) - executor.MAX_VALUES_PER_COLUMN}
    assert counts["site"] == frame["site"].value_counts().to_dict()  # few values: all kept, no OTHER


def _example(**features):
    """A serialized tf.train.Example: bytes, float or int values by the first value's type; None: a Feature with no
    kind (a missing cell as TFX's ExampleGens write it); []: an empty int64 list."""
    proto = tf.train.Example()
    for name, values in features.items():
        feature = proto.features.feature[name]
        if values is None:
            feature.SetInParent()
        elif values and isinstance(values[0], bytes):
            feature.bytes_list.value.extend(values)
        elif values and isinstance(values[0], float):
            feature.float_list.value.extend(values)
        else:
            feature.int64_list.SetInParent()
            feature.int64_list.value.extend(values)
    return proto.SerializeToString()


def test_counts_of_record_lists_equal_counts_from_parsed_examples():
    """Counting lists of records gives each example's first value as parsing the tf.Example gives it: float32
    values, NaN, -0.0, undecodable bytes, empty and absent features, a feature with no kind anywhere, a column absent
    from a list's first records; and each list's size and column types."""
    records = [_example(a=[1], b=[b"x"], c=[39.2], e=None), _example(a=[2, 3], c=[float("nan")], d=[], e=None),
               _example(b=[b"\xff"], c=[-0.0]), _example(c=[0.0], b=[b""]), _example(a=[1], c=[3.4e38])]
    columns = ["a", "b", "c", "d", "e", "not_there"]
    expected = Counter()
    for record in records:
        for column in columns:
            value = feature_value(tf.train.Example.FromString(record), column)
            expected[column, executor.MISSING if value is None else value] += 1
    count = executor.CountValues(standard_artifacts.Examples(), columns)
    counted, tagged = Counter(), Counter()
    for part in (records[:2], records[2:]):  # in the second list, a is in the last record only, d in none
        for output in count.process(("train", part)):
            if isinstance(output, TaggedOutput):
                tagged[output.tag, output.value] += 1
            else:
                counted[output[0]] += output[1]
    assert counted == expected
    assert counted["c", "39.20000076293945"] == 1 and counted["b", "\\xff"] == 1
    assert tagged == {(executor.SPLIT_SIZES, ("train", 2)): 1, (executor.SPLIT_SIZES, ("train", 3)): 1,
                      **{(executor.COLUMN_TYPES, (column, kind, "train")): lists
                         for column, kind, lists in (("a", "INT", 2), ("b", "BYTES", 2), ("c", "FLOAT", 2),
                                                     ("d", "INT", 1))}}


def _examples_of_files(tmp_path, files):
    """An Examples artifact with a 'train' split of one TFRecord file per list of serialized records in `files`."""
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    examples.split_names = artifact_utils.encode_split_names(["train"])
    for index, records in enumerate(files):
        write_tfrecords(shard_path(artifact_utils.get_split_uri([examples], "train"), str(index)), records)
    return examples


def test_a_column_absent_from_the_first_records_of_a_file_is_counted(tmp_path):
    """site appears only after 300 examples of the first file (and not at all in the second), season is kind-less
    in the first 200: each is typed from the first record that gives it a kind."""
    first = [_example(species=[b"a"], season=None) for _ in range(200)]
    first += [_example(species=[b"b"], season=[b"2007"]) for _ in range(100)]
    first += [_example(species=[b"a"], site=[7], season=[b"2008"]) for _ in range(50)]
    second = [_example(species=[b"c"], season=[b"2007"]) for _ in range(20)]
    target = _run(_examples_of_files(tmp_path, [first, second]), tmp_path / "out")
    assert target.get_json_value_custom_property("examples_per_split") == {"train": 370}
    assert target.get_json_value_custom_property("label_counts") == {"a": 250, "b": 100, "c": 20}
    assert target.get_json_value_custom_property("metadata_counts") == {
        "site": {"7": 50, executor.MISSING: 320}, "season": {executor.MISSING: 200, "2007": 120, "2008": 50}}


def test_a_column_of_another_type_in_another_file_is_an_error_naming_it(tmp_path):
    """site holds numbers in one file and text in the other: its values cannot be counted as one column."""
    files = [[_example(species=[b"a"], site=[1], season=[b"s"])] * 3, [_example(species=[b"a"], site=[b"1"])] * 2]
    with pytest.raises(ValueError, match=r"column 'site' holds BYTES values \(split train\) and INT values "
                                         r"\(split train\) in different files"):
        _run(_examples_of_files(tmp_path, files), tmp_path / "out")


def test_a_column_of_two_types_in_one_file_is_an_error_naming_it(tmp_path):
    files = [[_example(species=[b"a"], site=[1], season=[b"s"]), _example(species=[b"a"], site=[1.5])]]
    with pytest.raises(ValueError, match=r"feature 'site' holds FLOAT values in record 1 of 2 read together, INT"):
        _run(_examples_of_files(tmp_path, files), tmp_path / "out")
