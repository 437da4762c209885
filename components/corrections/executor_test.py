"""The CorrectionsApplier executor on real Examples (CsvExampleGen's executor) and a TFDV-inferred schema."""
import hashlib
import os

import pandas as pd
import pytest
import tensorflow as tf
from tfx.types import artifact_utils, standard_artifacts

from components.corrections import executor
from components.corrections.component import Corrections
from components.examples_io.framing import read_tfrecords
from tests.artifacts import LOCAL_BEAM_ARGS, examples_from_csv, schema_for
from tests.pipeline_runs import REPO

DEMO = os.path.join(REPO, "data", "demo", "span-1")
FLIPS = pd.read_csv(os.path.join(REPO, "data", "answer_keys", "planted_label_flips.csv"))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    examples = examples_from_csv(DEMO, tmp_path_factory.mktemp("examples"), id_column="example_id")
    examples.set_string_custom_property("data_fingerprint", "f" * 64)
    examples.set_string_custom_property("data_version", "f" * 12)
    examples.set_string_custom_property("owner", "field team")
    return examples, schema_for(examples, tmp_path_factory.mktemp("schema"))


def _apply(inputs, tmp_path, csv_text, sha256=None):
    examples, schema = inputs
    path = tmp_path / "corrections.csv"
    path.write_text(csv_text)
    corrections = Corrections()
    corrections.uri = str(path)
    corrections.set_string_custom_property("sha256", sha256 or hashlib.sha256(csv_text.encode()).hexdigest())
    target = standard_artifacts.Examples()
    target.uri = str(tmp_path / "out")
    context = executor.Executor.Context(beam_pipeline_args=LOCAL_BEAM_ARGS, tmp_dir=str(tmp_path / "tmp"),
                                        unique_id="corrections_test")
    executor.Executor(context).Do({"examples": [examples], "schema": [schema], "corrections": [corrections]},
                                  {"corrected_examples": [target]},
                                  {"id_column": "example_id", "label_column": "species"})
    return target


def _labels(examples):
    labels = {}
    for split in artifact_utils.decode_split_names(examples.split_names):
        files = tf.io.gfile.glob(os.path.join(artifact_utils.get_split_uri([examples], split), "*"))
        for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
            feature = tf.train.Example.FromString(record.numpy()).features.feature
            labels[feature["example_id"].bytes_list.value[0].decode()] = \
                feature["species"].bytes_list.value[0].decode()
    return labels


def test_filled_in_review_queue_corrects_three_labels(inputs, tmp_path):
    fixed = FLIPS.head(3)
    rows = ["example_id,given_label,suggested_label,reasons,priority,corrected_label,reviewer,reason"]
    rows += [f"{r.example_id},{r.given_label},{r.true_species},label error,1,{r.true_species},ana,photo checked"
             for r in fixed.itertuples()]
    rows += [f"{r.example_id},{r.given_label},{r.true_species},label error,2,,," for r in FLIPS.iloc[3:].itertuples()]
    rows.append(f"{fixed.example_id.iloc[0]},x,y,z,1,{fixed.true_species.iloc[0]},bo,second look")  # same again
    target = _apply(inputs, tmp_path, "\n".join(rows) + "\n")

    before, after = _labels(inputs[0]), _labels(target)
    changed = {i for i in before if before[i] != after[i]}
    assert changed == set(fixed.example_id)
    assert all(after[r.example_id] == r.true_species for r in fixed.itertuples())
    assert target.get_int_custom_property("corrections_applied") == 3
    assert target.get_int_custom_property("labels_changed") == 3
    assert target.get_int_custom_property("corrections_skipped_empty") == len(FLIPS) - 3
    assert target.get_int_custom_property("corrections_repeated") == 1
    assert target.get_string_custom_property("base_data_version") == "f" * 12
    assert target.get_string_custom_property("data_version") not in ("", "f" * 12)
    assert target.get_string_custom_property("owner") == "field team"  # provenance carried over
    assert target.get_json_value_custom_property("label_counts") == pd.Series(after).value_counts().to_dict()
    assert {c["example_id"] for c in target.get_json_value_custom_property("corrections")} == set(fixed.example_id)
    assert target.split_names == inputs[0].split_names


def _id(record):
    return tf.train.Example.FromString(record).features.feature["example_id"].bytes_list.value[0].decode()


def test_each_input_file_becomes_one_shard_in_its_order_with_only_the_corrected_records_changed(inputs, tmp_path):
    fixed = FLIPS.head(5)
    rows = ["example_id,corrected_label,reviewer,reason"] + [f"{r.example_id},{r.true_species},ana,checked"
                                                            for r in fixed.itertuples()]
    target = _apply(inputs, tmp_path, "\n".join(rows) + "\n")
    changed = 0
    for split in artifact_utils.decode_split_names(target.split_names):
        def shards(examples):  # each file's records, files in the order of their first example's id
            folder = artifact_utils.get_split_uri([examples], split)
            files = [read_tfrecords(os.path.join(folder, name)) for name in os.listdir(folder)]
            return sorted((f for f in files if f), key=lambda records: _id(records[0]))
        for before, after in zip(shards(inputs[0]), shards(target), strict=True):
            assert [_id(record) for record in before] == [_id(record) for record in after]
            for old, new in zip(before, after):
                old_id = _id(old)
                assert (old != new) == (old_id in set(fixed.example_id))
                changed += old != new
    assert changed == target.get_int_custom_property("labels_changed") == 5


@pytest.mark.parametrize("csv_text, message", [
    ("example_id,corrected_label,reviewer,reason\npg-9999,Adelie,ana,typo\n",
     r"line 2: example_id 'pg-9999' is not in the examples"),
    ("example_id,corrected_label,reviewer,reason\npg-0029,Adelie,ana,\npg-0029,Gentoo,bo,\n",
     r"line 3: example pg-0029 corrected to 'Gentoo', but line 2 corrects it to 'Adelie'"),
    ("example_id,corrected_label,reviewer,reason\npg-0029,Emperor,ana,\n",
     r"line 2: example pg-0029: label 'Emperor' is not in the schema's labels \(Adelie, Chinstrap, Gentoo\)"),
    ("example_id,label,reviewer\npg-0029,Adelie,ana\n",
     r"lacks column\(s\) corrected_label, reason; .* its header is example_id, label, reviewer"),
    ("example_id,corrected_label,reviewer,reason\npg-0029,Adelie,,\n", r"line 2: example pg-0029: no reviewer"),
])
def test_bad_corrections_files_fail_clearly(inputs, tmp_path, csv_text, message):
    with pytest.raises(executor.CorrectionsError, match=message) as error:
        _apply(inputs, tmp_path, csv_text)
    assert str(tmp_path / "corrections.csv") in str(error.value)


def test_changed_file_after_import_is_refused(inputs, tmp_path):
    with pytest.raises(executor.CorrectionsError, match="changed after the pipeline was built"):
        _apply(inputs, tmp_path, "example_id,corrected_label,reviewer,reason\n", sha256="0" * 64)


def test_integer_ids_are_matched_as_the_corrections_file_writes_them(tmp_path):
    """An integer id column (int64 in the Examples) is matched by its text, as ids appear in the corrections file."""
    demo = pd.read_csv(os.path.join(DEMO, os.listdir(DEMO)[0]))
    demo["example_id"] = range(1000, 1000 + len(demo))
    (tmp_path / "csv").mkdir()
    demo.to_csv(tmp_path / "csv" / "data.csv", index=False)
    examples = examples_from_csv(tmp_path / "csv", tmp_path / "examples", id_column="example_id")
    examples.set_string_custom_property("data_fingerprint", "f" * 64)
    examples.set_string_custom_property("data_version", "f" * 12)
    flipped = {1000: "Gentoo" if demo.species[0] != "Gentoo" else "Adelie",
               1007: "Chinstrap" if demo.species[7] != "Chinstrap" else "Adelie"}
    rows = ["example_id,given_label,suggested_label,reasons,priority,corrected_label,reviewer,reason"]
    rows += [f"{i},x,{label},label error,1,{label},ana,checked" for i, label in flipped.items()]
    target = _apply((examples, schema_for(examples, tmp_path / "schema")), tmp_path, "\n".join(rows) + "\n")

    labels = {}
    for split in artifact_utils.decode_split_names(target.split_names):
        files = tf.io.gfile.glob(os.path.join(artifact_utils.get_split_uri([target], split), "*"))
        for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
            feature = tf.train.Example.FromString(record.numpy()).features.feature
            labels[feature["example_id"].int64_list.value[0]] = feature["species"].bytes_list.value[0].decode()
    assert len(labels) == len(demo)
    assert {i: labels[i] for i in flipped} == flipped
    assert target.get_int_custom_property("labels_changed") == 2
