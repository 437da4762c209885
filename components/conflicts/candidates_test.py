"""The candidates (numpy buckets + the (bucket, label) filter) hold both examples of every conflicting pair that a
brute-force search finds, on random record batches (decoded as the executor decodes them) with ties, missing values,
a column absent from some batches, int and float columns, and more tolerant columns than are keyed, after the first
filter and after the second, finer one over the first one's candidates; and few others."""
import itertools

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.types import standard_artifacts

from components.conflicts.candidates import FINE_CELL_TOLERANCES, LabelFilter, filter_bits, text_hash
from components.conflicts.executor import BatchRows, parse_rows
from components.conflicts.matching import CELL_TOLERANCES, MAX_KEYED_FEATURES, Matcher
from components.examples_io.read import ExampleDecoder

CONFIG = {"id_column": "id", "label_column": "y", "metadata_columns": [], "excluded": ["id", "y"]}


def _record(example_id, label, features):
    proto = tf.train.Example()
    proto.features.feature["id"].bytes_list.value.append(example_id.encode())
    if label is not None:
        proto.features.feature["y"].bytes_list.value.append(label.encode())
    for name, value in features.items():
        feature = proto.features.feature[name]
        if isinstance(value, str):
            feature.bytes_list.value.append(value.encode())
        elif isinstance(value, int):
            feature.int64_list.value.append(value)
        elif value is not None:
            feature.float_list.value.append(value)
    return proto.SerializeToString()


def schema_decoder(**types):
    """The executor's decoder of lists of records (`read.ExampleDecoder`) on a schema of `types` ({name: schema_pb2
    type})."""
    schema = schema_pb2.Schema()
    for name, kind in types.items():
        schema.feature.add(name=name, type=kind)
    return ExampleDecoder(standard_artifacts.Examples(), schema)


def _random_records(rng, rows, tolerant_columns):
    """Records and their decoder: float columns t00.., an int column n, a string column colour, and a float column z
    that only the last quarter of the examples can have (a null column in the other batches)."""
    records = []
    for i in range(rows):
        values = [0.0, -0.0, 0.05, 0.1, 0.11, 0.75, 0.8, 0.85, 1.5, -0.8] if tolerant_columns < 5 else [0.75, 0.85]
        features = {f"t{j:02d}": float(rng.choice(values)) if rng.random() > 0.02 else None
                    for j in range(tolerant_columns)}
        features["n"] = int(rng.choice([1, 2, 3]))
        features["colour"] = str(rng.choice(["red", "blue"])) if rng.random() > 0.1 else None
        features["z"] = 0.5 if i >= rows * 3 // 4 and rng.random() < 0.5 else None
        label = str(rng.choice(["A", "B", "C"])) if rng.random() > 0.05 else None
        records.append(_record(f"e{i:04d}", label, features))
    decode = schema_decoder(id=schema_pb2.BYTES, y=schema_pb2.BYTES, n=schema_pb2.INT, colour=schema_pb2.BYTES,
                            z=schema_pb2.FLOAT, **{f"t{j:02d}": schema_pb2.FLOAT for j in range(tolerant_columns)})
    return records, decode


def _filtered(batches, matcher, cell_tolerances):
    """The candidates of each batch: a filter built from every batch (cells `cell_tolerances` wide), then tested
    batch by batch (one of the executor's filters)."""
    label_filter = LabelFilter(filter_bits(10_000_000))  # 2**24 bits
    for batch in batches:
        rows = BatchRows(batch, CONFIG, matcher, cell_tolerances)
        label_filter.add(rows.buckets, rows.label_hashes[rows.example], rows.labels)
    found = []
    for batch in batches:
        rows = BatchRows(batch, CONFIG, matcher, cell_tolerances)
        held = label_filter.holds_other_label(rows.buckets, rows.label_hashes[rows.example])
        found.append(batch.take(np.unique(rows.rows[rows.example[held]])))
    return found


def _ids(batches):
    return {record[0] for batch in batches for record in parse_rows(batch, "train", CONFIG)}


def _candidates(batches, matcher):
    """The candidate ids of the first filter, and of the second, finer one built from the first one's candidates
    (the executor's passes)."""
    coarse = _filtered(batches, matcher, CELL_TOLERANCES)
    return _ids(coarse), _ids(_filtered(coarse, matcher, FINE_CELL_TOLERANCES))


@pytest.mark.parametrize("matcher,tolerant_columns", [
    (Matcher(tolerance=0.1), 3), (Matcher(tolerance=0.1, relative=True), 3),
    (Matcher(tolerance=0.0, absolute_tolerances={"t00": 0.05}), 3), (Matcher(tolerance=0.1), MAX_KEYED_FEATURES + 2)])
def test_candidates_hold_every_conflicting_pair(matcher, tolerant_columns):
    rng = np.random.default_rng(tolerant_columns)
    records, decode = _random_records(rng, 600, tolerant_columns)
    batches = [decode(records[i:i + 150]) for i in range(0, len(records), 150)]
    assert batches[0].column("z").null_count == 150 and batches[-1].column("z").null_count < 150
    parsed = [record for batch in batches for record in parse_rows(batch, "train", CONFIG)]
    in_pairs = set()
    for a, b in itertools.combinations(parsed, 2):
        if a[1] != b[1] and matcher.features_match(a[2], b[2]):
            in_pairs |= {a[0], b[0]}
    assert len(in_pairs) > 10  # the random data has conflicts to find
    coarse, fine = _candidates(batches, matcher)
    assert in_pairs <= fine <= coarse


def test_examples_whose_buckets_hold_one_label_are_not_candidates():
    """Well separated examples: only the planted pair is a candidate (a false positive of the filter is possible in
    principle; at this size and filter it has probability below 1e-6)."""
    rng = np.random.default_rng(0)
    records = [_record(f"e{i:04d}", str(rng.choice(["A", "B"])), {"x": float(i), "z": "red"}) for i in range(2000)]
    records.append(_record("planted", "C", {"x": 7.05, "z": "red"}))
    batch = schema_decoder(id=schema_pb2.BYTES, y=schema_pb2.BYTES, x=schema_pb2.FLOAT, z=schema_pb2.BYTES)(records)
    assert _candidates([batch], Matcher(tolerance=0.1)) == ({"e0007", "planted"},) * 2


def test_the_finer_filter_keeps_fewer_candidates():
    """Examples 0.5 apart (5 tolerances) with alternating labels: the cells they visit (0.1 either side) are 0.3
    apart, so they share 8-tolerance cells (0.8) but never 2-tolerance ones (0.2): the first filter keeps most, the
    second only the planted pair."""
    records = [_record(f"e{i:04d}", "AB"[i % 2], {"x": 0.5 * i}) for i in range(400)]
    records.append(_record("planted", "C", {"x": 0.5 * 7 + 0.05}))
    batch = schema_decoder(id=schema_pb2.BYTES, y=schema_pb2.BYTES, x=schema_pb2.FLOAT)(records)
    coarse, fine = _candidates([batch], Matcher(tolerance=0.1))
    assert len(coarse) > 300
    assert fine == {"e0007", "planted"}


def test_label_hashes_are_the_hashes_of_the_labels_the_parse_gives():
    """The filter's labels are `text_hash`es of what parse_rows gives as the label (str of bytes, or of an int), one
    per labelled example with an id, and the set of them."""
    decode = schema_decoder(id=schema_pb2.BYTES, y=schema_pb2.BYTES, k=schema_pb2.INT)
    records = [_record("a", "red", {"k": 3}), _record("b", None, {"k": 7}), _record("c", "blue", {"k": -1}),
               _record("d", "red", {"k": 3})]
    for label_column in ("y", "k"):
        config = dict(CONFIG, label_column=label_column, excluded=["id", label_column])
        batch = decode(records)
        rows = BatchRows(batch, config, Matcher(tolerance=0.1))
        labels = [record[1] for record in parse_rows(batch, "train", config)]
        assert list(rows.label_hashes) == [text_hash(label) for label in labels]
        assert rows.labels == {text_hash(label) for label in labels} and len(rows.labels) == len(set(labels))


def test_the_filter_holds_every_bit_when_one_add_names_a_word_many_times():
    """Adding many (bucket, label) pairs at once, most of whose bits share a 64-bit word with another's (a plain
    fancy-index OR would keep one bit per word), sets the same bits as adding them one at a time."""
    rng = np.random.default_rng(1)
    buckets = rng.integers(0, 2 ** 63, 20_000, dtype=np.int64).astype(np.uint64)
    labels = np.array([text_hash(label) for label in ("A", "B", "C")], np.uint64)[rng.integers(0, 3, 20_000)]
    at_once, one_by_one = LabelFilter(2 ** 16), LabelFilter(2 ** 16)
    at_once.add(buckets, labels, set(labels.tolist()))
    for i in range(len(buckets)):
        one_by_one.add(buckets[i:i + 1], labels[i:i + 1], {int(labels[i])})
    np.testing.assert_array_equal(at_once.words, one_by_one.words)
    assert 0.5 < np.unpackbits(at_once.words.view(np.uint8)).mean() < 0.7  # most words got several bits
    assert at_once.labels == one_by_one.labels == {text_hash(label) for label in ("A", "B", "C")}
