"""The executor's slice counting (CountSlices, a lifted CombineGlobally over batches of rows) in real Beam pipelines,
in both of Beam's local modes: its search equals the in-memory search (slices.find_weak_slices) on the same rows,
and its output is the same in `in_memory` and `multi_processing` mode. Rows: the synthetic table of slices_test with
flipped labels at one site, a region missing from training, missing values and labeler agreement."""
import json

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to
from tfx.types import artifact_utils, standard_artifacts

from components.error_analysis import executor, slices
from components.error_analysis.slices_test import CATEGORICALS, FEATURES, predict, table
from components.examples_io import read
from components.examples_io.tfrecord import write_tfrecords
from components.examples_io.values import feature_value
from pipeline.configs import Config
from pipeline.local_runner import beam_args


@pytest.fixture(scope="module")
def rows():
    """Executor-shaped rows: eval rows carry the prediction, others do not; a flagged set of ids."""
    frame, rng = table(7, n=4000)
    flip = (frame["site"] == "C") & (rng.uniform(size=len(frame)) < 0.5)
    frame.loc[flip, "label"] = (frame.loc[flip, "label"] + 1) % 3
    frame["flipped"] = flip
    frame = frame[~((frame["x0"] > 0.85) & (frame["split"] == "train"))].reset_index(drop=True)
    frame = predict(frame, FEATURES)
    frame["predicted_label"] = np.where(frame["correct"] == True, frame["label"], (frame["label"] + 1) % 3)  # noqa: E712
    frame.loc[rng.uniform(size=len(frame)) < 0.05, "x2"] = np.nan
    frame.loc[rng.uniform(size=len(frame)) < 0.05, "device"] = None
    frame["agreement"] = np.where(rng.uniform(size=len(frame)) < np.where(frame["site"] == "B", 0.3, 0.1), 0.5, 1.0)
    flagged = set(frame.loc[frame.pop("flipped") & (rng.uniform(size=len(frame)) < 0.7), "example_id"])
    records = []
    for record in frame.to_dict("records"):
        if record["split"] != "eval":
            del record["correct"], record["predicted_label"]
        records.append({k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in record.items()})
    return records, flagged


@pytest.mark.slow
def test_beam_counts_give_the_in_memory_search_in_both_modes(rows, tmp_path):
    records, flagged = rows
    frame = executor.analysed_rows(records, flagged)
    settings = slices.Settings()
    plan = slices.plan_for(frame, CATEGORICALS, FEATURES, settings, metadata_columns=["site"])
    expected = slices.find_weak_slices(frame, CATEGORICALS, FEATURES, settings)
    assert [s["diagnosis"] for s in expected["weak_slices"]][:2] and expected["tested"]["pairs"] > 100

    outputs = {}
    for mode in ("in_memory", "multi_processing"):
        path = tmp_path / mode
        with beam.Pipeline(options=PipelineOptions(mode_args(mode))) as pipeline:
            _ = (pipeline | beam.Create(records, reshuffle=True)
                 | beam.BatchElements(min_batch_size=97, max_batch_size=97)  # many batches: counts must add up
                 | beam.CombineGlobally(executor.CountSlices(plan, flagged))
                 | beam.Map(json.dumps)
                 | beam.io.WriteToText(str(path), num_shards=1, shard_name_template=""))
        outputs[mode] = path.read_text()
    assert outputs["in_memory"] == outputs["multi_processing"]

    counts = slices.counts_from_json(json.loads(outputs["in_memory"]))
    assert counts == slices.count_rows(frame, plan)  # the same counts as all rows at once
    assert slices.search_counts(counts, plan, settings) == expected
    assert slices.metadata_table_of_counts(counts, ["site"]) == slices.metadata_table(frame, ["site"])


def test_split_counts_merge_to_the_counts_of_all_rows(rows):
    """The executor counts each split on its own (no Flatten of rows) and merges the JSON counts: equal, down to the
    JSON text, to the counts of all rows at once, also when the eval rows come in several parts whose error ids
    compete for a slice's few listed ids."""
    records, flagged = rows
    frame = executor.analysed_rows(records, flagged)
    plan = slices.plan_for(frame, CATEGORICALS, FEATURES, slices.Settings(), metadata_columns=["site"],
                           listed_ids=5)

    def document(part):
        return json.loads(json.dumps(slices.counts_to_json(slices.count_rows(part, plan))))

    whole = document(frame)
    by_split = [document(frame[frame["split"] == split]) for split in ("eval", "train")]
    evaluated = frame[frame["split"] == "eval"]
    parts = [document(frame[frame["split"] == "train"])] + [document(evaluated.iloc[i::3]) for i in range(3)]
    for documents in (by_split, parts, parts[::-1]):
        merged = executor.merged_split_counts(documents, plan)
        assert merged == slices.counts_from_json(whole)
        assert json.dumps(slices.counts_to_json(merged)) == json.dumps(whole)


def parsed_row(record, split, columns, numeric):
    """The analysed row of one serialized example as a Python parse of its tf.Example gives it (the executor's way
    before it read Arrow record batches): what batch_rows must reproduce."""
    example = tf.train.Example.FromString(record)
    row = {"split": split}
    for source, name in columns.items():
        value = feature_value(example, source)
        row[name] = (float(value) if value not in (None, "") else None) if name in numeric | {"agreement"} else value
    return row


def test_batch_rows_equal_a_parse_of_each_example(tmp_path):
    """Strings (one not UTF-8), ints, float32s, an empty string, features missing from some examples or all, empty
    value lists: the rows from TFXIO's C++-decoded batches (schema-free, with each serialized record) equal the
    Python parse, and each row's record is its example."""
    def example(i):
        features = {"id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[f"id-{i:03d}".encode()])),
                    "label": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"a\xff" if i % 7 else b"b"]))}
        if i % 3:
            features["size"] = tf.train.Feature(float_list=tf.train.FloatList(value=[0.1 * i, 5.0]))
        if i % 4:
            features["site"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[i % 5]))
        if i % 5 == 0:
            features["site"] = tf.train.Feature(int64_list=tf.train.Int64List())
        features["note"] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"" if i % 2 else "é".encode()]))
        features["agree"] = tf.train.Feature(float_list=tf.train.FloatList(value=[1 / (1 + i % 3)]))
        return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()

    records = [example(i) for i in range(60)]
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path)
    examples.split_names = artifact_utils.encode_split_names(["eval"])
    (tmp_path / "Split-eval").mkdir()
    write_tfrecords(str(tmp_path / "Split-eval" / "data.gz"), records)
    columns = {"id": "example_id", "label": "label", "size": "size", "site": "site", "note": "note",
               "agree": "agreement", "absent": "absent"}
    numeric = {"size"}
    expected = [(json.dumps(parsed_row(r, "eval", columns, numeric)), r) for r in records]
    assert {row["size"] for row in (json.loads(k) for k, _ in expected)} > {None}

    with beam.Pipeline() as pipeline:
        keyed = (pipeline | read.record_batches(examples, "eval", executor.NO_SCHEMA, "test",
                                                raw_record_column=executor.RAW_RECORD)
                 | beam.FlatMap(executor.keyed_records, "eval", columns, numeric))
        assert_that(keyed, equal_to(expected))


def mode_args(mode):
    config = Config()
    config.pipeline.beam_mode = mode
    config.pipeline.beam_workers = 2
    return beam_args(config)


def test_review_rows_are_the_first_errors_of_label_slices_by_id():
    frame, rng = table(2, n=4000)
    frame["correct"] = (rng.uniform(size=len(frame)) > np.where(frame["site"] == "A", 0.5, 0.1)).astype(object)
    frame["predicted_label"] = "p"
    plan = slices.plan_for(frame, ["site"], [], slices.Settings(), listed_ids=120)
    counts = slices.count_rows(frame, plan)
    weak = [{"slice": "site = A", "diagnosis": "labels",
             "example_ids": [e[0] for e in counts["slices"][(("site", "A"),)]["ids"]]},
            {"slice": "site = B", "diagnosis": "model", "example_ids": ["x"]}]
    review = executor.review_rows(weak, counts, 110)
    errors_at_a = frame[(frame["site"] == "A") & (frame["split"] == "eval") & (frame["correct"] == False)]  # noqa: E712
    assert len(errors_at_a) > 110
    assert [r["example_id"] for r in review] == sorted(errors_at_a["example_id"])[:110]
    assert {r["slice"] for r in review} == {"site = A"} and {r["predicted_label"] for r in review} == {"p"}
    by_id = frame.set_index("example_id")
    assert all(r["given_label"] == by_id.loc[r["example_id"], "label"] for r in review)
