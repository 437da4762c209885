"""The Conflicts executor on real Examples (made by CsvExampleGen's executor) with a real Beam pipeline."""
import copy
import csv
import itertools
import json
import os
from collections import Counter

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts

from components.conflicts.component import LabelConflicts
from components.conflicts.candidates import LabelFilter, text_hash
from components.conflicts.candidates_test import schema_decoder
from components.conflicts.executor import (CONFLICTS_FILE, SUMMARY_FILE, BatchRows, ConflictsError, Executor,
                                          FeatureStats, FilterPart, FilterParts, merge_filter_files, parse_rows,
                                          read_filter, write_filter)
from components.conflicts.matching import Matcher, UnionFind
from components.examples_io.schema import read_schema
from components.examples_io.values import feature_values
from pipeline.configs import Config
from tests.artifacts import LOCAL_BEAM_ARGS, examples_from_csv, schema_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Planted cases, default tolerance 0.1 and body mass within 25. Expected groups in the last column ("" = none).
PLANTED = """\
example_id,label,x,y,mass,colour,comment,notes,site,labeler_a,expected_group
p1a,A,1.0,5.0,1000,red,a,,north,A,p1
p1b,B,1.1,5.0,1020,red,b,,south,A,p1
p2a,A,3.0,5.0,1000,red,c,,north,A,
p2b,B,3.11,5.0,1000,red,d,,north,B,
p3a,A,0.79,7.0,2000,blue,e,,north,A,p3
p3b,B,0.81,7.0,2000,blue,f,,north,B,p3
c1,A,10.0,9.0,3000,red,g,,north,A,c
c2,B,10.1,9.0,3000,red,h,,north,A,c
c3,A,10.2,9.0,3000,red,i,,north,A,c
c4,C,10.3,9.0,3000,red,j,,north,C,c
d1,A,30.0,9.0,3000,red,k,,north,A,
d2,B,30.0,9.0,3000,blue,l,,north,B,
m1,A,20.0,9.0,3000,,m,,north,A,m
m2,B,20.0,9.0,3000,,n,,north,B,m
m3,C,20.0,9.0,3000,red,o,,north,C,
s1,A,40.0,9.0,3000,red,p,,north,A,
s2,A,40.0,9.0,3000,red,q,,north,A,
e1,A,50.0,9.0,5000,red,r,,north,A,
e2,B,50.0,9.0,5026,red,s,,north,B,
u1,,1.0,5.0,1000,red,t,,north,A,
"""


def run_conflicts(examples, out_dir, schema=None, **overrides):
    """Runs the executor with the default config's settings (demo columns) overlaid with `overrides`, on `schema`
    (default: TFDV's inferred from the train split, as SchemaGen's)."""
    config = Config()
    properties = {
        "id_column": config.data.id_column, "label_column": config.labels.label_column,
        "labeler_columns": config.labels.labeler_columns, "metadata_columns": config.labels.metadata_columns,
        "exclude": config.conflicts.exclude, "tolerance": config.conflicts.tolerance,
        "relative": config.conflicts.relative, "absolute_tolerances": config.conflicts.absolute_tolerances,
        "relative_tolerances": config.conflicts.relative_tolerances}
    properties.update(overrides)
    properties = {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in properties.items()}
    output = LabelConflicts()
    output.uri = str(out_dir)
    schema = schema or schema_for(examples, f"{out_dir}-schema")
    Executor(Executor.Context(beam_pipeline_args=LOCAL_BEAM_ARGS)).Do(
        {"examples": [examples], "schema": [schema]}, {"conflicts": [output]}, properties)
    with open(os.path.join(output.uri, CONFLICTS_FILE)) as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(output.uri, SUMMARY_FILE)) as f:
        summary = json.load(f)
    return output, rows, summary


def groups_of(rows):
    groups = {}
    for row in rows:
        groups.setdefault(row["group_id"], set()).add(row["example_id"])
    return sorted(groups.values(), key=min)


@pytest.fixture(scope="module")
def planted_examples(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    os.makedirs(root / "csv")
    (root / "csv" / "planted.csv").write_text(PLANTED)
    return examples_from_csv(root / "csv", root / "examples", id_column="example_id")


def test_planted_conflicts_found_exactly(planted_examples, tmp_path):
    output, rows, summary = run_conflicts(
        planted_examples, tmp_path / "conflicts", label_column="label", labeler_columns=["labeler_a"],
        metadata_columns=["site"], exclude=["comment", "expected_group"], absolute_tolerances={"mass": 25.0})

    expected = {}
    for row in csv.DictReader(PLANTED.splitlines()):
        if row["expected_group"]:
            expected.setdefault(row["expected_group"], set()).add(row["example_id"])
    assert groups_of(rows) == sorted(expected.values(), key=min)
    # Groups are numbered by their smallest member id; each row carries its label, split, metadata and values.
    assert [row["example_id"] for row in rows if row["group_id"] == "1"] == ["c1", "c2", "c3", "c4"]
    p1b = next(row for row in rows if row["example_id"] == "p1b")
    assert (p1b["label"], p1b["site"], p1b["x"], p1b["mass"]) == ("B", "south", "1.1", "1020")
    assert p1b["split"] in ("train", "eval")

    assert summary["groups"] == 4 and summary["examples_in_conflict"] == 10
    # Pairs: p1, p3, m, and c1-c2, c2-c3, c3-c4 in the chain.
    assert summary["conflicting_pairs"] == 6
    assert summary["label_pairs"] == [{"labels": ["A", "B"], "pairs": 5}, {"labels": ["A", "C"], "pairs": 1}]
    assert summary["examples"] == 20 and summary["examples_without_label"] == 1
    assert summary["excluded_all_missing"] == ["notes"]
    assert summary["compared_features"] == {"colour": "exact (categorical)", "mass": "25 absolute",
                                            "x": "0.1 absolute", "y": "0.1 absolute"}
    assert output.get_int_custom_property("groups") == 4
    assert output.get_int_custom_property("examples_in_conflict") == 10
    assert output.get_json_value_custom_property("excluded_all_missing") == ["notes"]
    assert sorted(os.listdir(output.uri)) == [CONFLICTS_FILE, SUMMARY_FILE]  # the scratch lines are gone


def test_relative_tolerance_and_exclusions_change_what_matches(planted_examples, tmp_path):
    """x within 10% (so p2, 3.0 vs 3.11, now matches too), y exact; colour excluded, so d1/d2 match, and m3 joins
    the m group."""
    _, rows, _ = run_conflicts(
        planted_examples, tmp_path / "conflicts", label_column="label", labeler_columns=["labeler_a"],
        metadata_columns=["site"], exclude=["comment", "expected_group", "colour"], tolerance=0.0,
        relative_tolerances={"x": 0.1}, absolute_tolerances={"mass": 25.0})
    assert groups_of(rows) == [{"c1", "c2", "c3", "c4"}, {"d1", "d2"}, {"m1", "m2", "m3"}, {"p1a", "p1b"},
                               {"p2a", "p2b"}, {"p3a", "p3b"}]


def test_missing_label_column_and_unknown_excluded_column_are_clear_errors(planted_examples, tmp_path):
    schema = schema_for(planted_examples, tmp_path / "schema")
    with pytest.raises(ConflictsError, match=r"\[labels\] label_column: column\(s\) 'species' not found in the "
                                             r"examples' schema \(its columns: colour, comment, example_id"):
        run_conflicts(planted_examples, tmp_path / "a", schema, labeler_columns=[], metadata_columns=[])
    with pytest.raises(ConflictsError, match=r"\[conflicts\] exclude: column\(s\) 'colour_typo' not found in the "
                                             r"examples' schema"):
        run_conflicts(planted_examples, tmp_path / "b", schema, label_column="label", labeler_columns=[],
                      metadata_columns=[], exclude=["colour_typo"])
    assert not os.path.exists(tmp_path / "a" / CONFLICTS_FILE)
    # A label column in the schema with no value in any example: the finder cannot run; said, or an error.
    output, rows, summary = run_conflicts(planted_examples, tmp_path / "c", schema, label_column="notes",
                                          labeler_columns=[], metadata_columns=[], exclude=["comment"])
    assert rows == [] and summary["skipped"].startswith("the label column 'notes' has no value in any of the 20 "
                                                        "examples; a conflict needs two labels")
    assert output.get_string_custom_property("skipped") == summary["skipped"]
    with pytest.raises(ConflictsError, match="'notes' has no value in any of the 20 examples; a conflict needs two "
                                             "labels: set \\[labels\\] label_column"):
        run_conflicts(planted_examples, tmp_path / "d", schema, label_column="notes", labeler_columns=[],
                      metadata_columns=[], exclude=["comment"], on_cannot_run="fail")


def test_examples_that_are_not_tf_examples_are_a_clear_error(planted_examples, tmp_path):
    other = copy.deepcopy(planted_examples)
    examples_utils.set_payload_format(other, example_gen_pb2.FORMAT_PROTO)
    with pytest.raises(ConflictsError, match="hold FORMAT_PROTO records; Conflicts reads tf.train.Example records "
                                             "only"):
        run_conflicts(other, tmp_path / "conflicts", label_column="label")
    assert not os.path.exists(tmp_path / "conflicts" / CONFLICTS_FILE)


def test_the_schema_decides_which_features_are_compared(planted_examples, tmp_path):
    """A feature in the data but not in the schema is not compared (without colour, d1 and d2 conflict; m3 joins
    the m group); a schema feature no example has is listed in excluded_all_missing, and its null column counts as
    missing everywhere (the other groups are found as before)."""
    inferred = schema_for(planted_examples, tmp_path / "inferred")
    proto = read_schema([inferred])
    kept = [feature for feature in proto.feature if feature.name != "colour"]
    del proto.feature[:]
    proto.feature.extend(kept)
    proto.feature.add(name="wing_span", type=schema_pb2.FLOAT)
    schema = standard_artifacts.Schema()
    schema.uri = str(tmp_path / "schema")
    os.makedirs(schema.uri)
    tfdv.write_schema_text(proto, os.path.join(schema.uri, "schema.pbtxt"))
    _, rows, summary = run_conflicts(
        planted_examples, tmp_path / "conflicts", schema, label_column="label", labeler_columns=["labeler_a"],
        metadata_columns=["site"], exclude=["comment", "expected_group"], absolute_tolerances={"mass": 25.0})
    assert groups_of(rows) == [{"c1", "c2", "c3", "c4"}, {"d1", "d2"}, {"m1", "m2", "m3"}, {"p1a", "p1b"},
                               {"p3a", "p3b"}]
    assert sorted(summary["compared_features"]) == ["mass", "x", "y"]
    assert summary["excluded_all_missing"] == ["notes", "wing_span"]


def test_demo_planted_conflicts_are_the_groups_found(tmp_path):
    """The demo's three planted near-duplicates (bill 0.1 mm longer, another species) are exactly what the
    default configuration finds."""
    examples = examples_from_csv(os.path.join(REPO, "data", "demo", "span-1"), tmp_path / "examples", "example_id")
    _, rows, summary = run_conflicts(examples, tmp_path / "conflicts")
    with open(os.path.join(REPO, "data", "answer_keys", "planted_conflicts.csv")) as f:
        planted = list(csv.DictReader(f))
    assert groups_of(rows) == sorted(({p["original_id"], p["copy_id"]} for p in planted), key=min)
    labels = {row["example_id"]: row["label"] for row in rows}
    for p in planted:
        assert (labels[p["original_id"]], labels[p["copy_id"]]) == (p["original_label"], p["copy_label"])
    assert summary["examples"] == 226 and summary["examples_without_label"] == 0


def _write_csv(path, header, rows):
    os.makedirs(path.parent, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def test_duplicated_rows_give_what_all_pairs_gives(tmp_path):
    """Rows drawn from few values, so most have exact copies (with the same and with other labels): the groups,
    pair counts and pairs per label pair equal a brute-force all-pairs search over the examples themselves."""
    rng = np.random.default_rng(3)
    rows = [(f"e{i:03d}", str(rng.choice(["A", "B", "C"])), f"{rng.choice([1.0, 1.05, 1.2, 2.0]):g}",
             str(rng.choice(["red", "blue"]))) for i in range(400)]
    _write_csv(tmp_path / "csv" / "dups.csv", ["example_id", "label", "x", "colour"], rows)
    examples = examples_from_csv(tmp_path / "csv", tmp_path / "examples", id_column="example_id")
    _, found, summary = run_conflicts(examples, tmp_path / "conflicts", label_column="label", labeler_columns=[],
                                      metadata_columns=[], exclude=[], absolute_tolerances={},
                                      relative_tolerances={}, tolerance=0.1)

    matcher = Matcher(tolerance=0.1)
    records = [(i, label, tuple(sorted([("colour", colour), ("x", float(np.float32(x)))])))
               for i, label, x, colour in rows]
    union_find, label_pairs = UnionFind(), Counter()
    for a, b in itertools.combinations(records, 2):
        if a[1] != b[1] and matcher.features_match(a[2], b[2]):
            union_find.union(a[0], b[0])
            label_pairs[tuple(sorted((a[1], b[1])))] += 1
    assert 1000 < sum(label_pairs.values())  # copies make many pairs per distinct row pair
    assert groups_of(found) == sorted(map(set, union_find.groups()), key=min)
    assert len(found) == sum(len(group) for group in union_find.groups())  # every member listed once
    assert summary["conflicting_pairs"] == sum(label_pairs.values())
    assert summary["label_pairs"] == [{"labels": list(k), "pairs": n} for k, n in sorted(label_pairs.items())]
    assert [row["example_id"] for row in found if row["group_id"] == "1"] == sorted(union_find.groups()[0])
    # Rows sorted by group number, then example id; groups numbered by their smallest id.
    assert [(int(row["group_id"]), row["example_id"]) for row in found] == sorted(
        (int(row["group_id"]), row["example_id"]) for row in found)
    smallest = {}
    for row in found:
        smallest[int(row["group_id"])] = min(smallest.get(int(row["group_id"]), row["example_id"]), row["example_id"])
    assert [smallest[number] for number in sorted(smallest)] == sorted(smallest.values())


@pytest.mark.slow
def test_a_cell_of_100000_copies_and_one_conflicting_row(tmp_path):
    """100,000 exact copies in one cell cost one comparison with their partner (all pairs would be 5 * 10^9);
    every copy is still listed in the group."""
    copies = 100_000
    rows = [(f"copy{i:06d}", "A", "1.0", "red") for i in range(copies)]
    rows += [("other", "B", "1.05", "red"), ("far", "B", "9.0", "red")]
    _write_csv(tmp_path / "csv" / "copies.csv", ["example_id", "label", "x", "colour"], rows)
    examples = examples_from_csv(tmp_path / "csv", tmp_path / "examples", id_column="example_id")
    _, found, summary = run_conflicts(examples, tmp_path / "conflicts", label_column="label", labeler_columns=[],
                                      metadata_columns=[], exclude=[], absolute_tolerances={},
                                      relative_tolerances={}, tolerance=0.1)
    assert groups_of(found) == [{f"copy{i:06d}" for i in range(copies)} | {"other"}]
    assert len(found) == copies + 1
    assert summary["groups"] == 1 and summary["examples_in_conflict"] == copies + 1
    assert summary["conflicting_pairs"] == copies
    assert summary["label_pairs"] == [{"labels": ["A", "B"], "pairs": copies}]


def _example(**features):
    proto = tf.train.Example()
    for name, values in features.items():
        kind = ("bytes_list" if isinstance(values[0], bytes) else "float_list" if isinstance(values[0], float)
                else "int64_list") if values else "int64_list"
        getattr(proto.features.feature[name], kind).SetInParent()
        getattr(proto.features.feature[name], kind).value.extend(values)
    return proto.SerializeToString()


def test_record_batches_give_the_values_a_parsed_example_gives():
    """parse_rows on the decoder's record batches = the values read from each parsed tf.Example: float32 exact, NaN
    and inf as missing, undecodable bytes escaped, ints as ints, empty and absent features missing (a schema
    feature no example has too); BatchRows' numpy counts = those of the parsed examples."""
    decode = schema_decoder(id=schema_pb2.BYTES, y=schema_pb2.BYTES, x=schema_pb2.FLOAT, k=schema_pb2.INT,
                      t=schema_pb2.BYTES, site=schema_pb2.INT, w=schema_pb2.FLOAT)
    records = [_example(id=[b"a"], y=[b"p"], x=[39.2], k=[3], t=[b"\xff"], site=[7]),
               _example(id=[b"b"], y=[b"q"], x=[float("nan")], k=[], t=[b"red"]),
               _example(id=[b"c"], x=[float("inf")], k=[-1]),
               _example(id=[b"d"], y=[b"p"], x=[-0.0], t=[b""], site=[1]),
               _example(y=[b"q"], x=[1e-45])]
    config = {"id_column": "id", "label_column": "y", "metadata_columns": ["site"], "excluded": ["id", "y", "site"]}
    batch = decode(records)
    outputs = list(parse_rows(batch, "train", config))
    rows = BatchRows(batch, config, Matcher(tolerance=0.1))

    def value(example, name):
        values = feature_values(example, name)
        ok = len(values) == 1 and not (isinstance(values[0], float) and not np.isfinite(values[0]))
        return values[0] if ok else None

    expected, present = [], Counter()
    for record in records:
        example = tf.train.Example.FromString(record)
        features = tuple((n, value(example, n)) for n in sorted(example.features.feature)
                         if n not in ("id", "y", "site") and value(example, n) is not None)
        present.update((n, isinstance(v, str)) for n, v in features)
        if value(example, "id") is not None and value(example, "y") is not None:
            expected.append((value(example, "id"), value(example, "y"), features, "train", (value(example, "site"),)))
    assert outputs == expected
    assert outputs[0][2] == (("k", 3), ("t", "\\xff"), ("x", float(np.float32(39.2))))
    assert (rows.stats["examples"], rows.stats["unlabelled"], rows.stats["without_id"]) == (5, 1, 1)
    assert rows.stats["present"] == present and ("w", False) not in present
    assert list(rows.rows) == [0, 1, 3] and list(rows.label_hashes) == [text_hash(label) for label in "pqp"]
    several = decode([_example(id=[b"f"], y=[b"p"], k=[1]), _example(id=[b"e"], y=[b"p"], k=[1, 2])])
    with pytest.raises(ConflictsError, match="column 'k' has 2 values in example 'e'"):
        list(parse_rows(several, "train", config))
    with pytest.raises(ConflictsError, match="column 'k' has 2 values in example 'e'"):
        BatchRows(several, config, Matcher(tolerance=0.1))
    # Metadata is read only for labelled examples; an id with several values names no example.
    assert len(list(parse_rows(decode([_example(id=[b"g"], site=[1, 2])]), "train", config))) == 0
    with pytest.raises(ConflictsError, match="column 'site' has 2 values in example 'g'"):
        list(parse_rows(decode([_example(id=[b"f"], y=[b"p"]), _example(id=[b"g"], y=[b"p"], site=[1, 2])]),
                        "train", config))
    with pytest.raises(ConflictsError, match="column 'id' has 2 values in example '\\?'"):
        list(parse_rows(decode([_example(id=[b"f", b"g"], y=[b"p"], k=[1, 2])]), "train", config))


def test_bundle_filters_merged_from_their_files_are_the_or_of_them(tmp_path):
    """Each bundle's filter goes to a content-named file (a retry that adds alike rewrites the same one); merging
    the files gives the filter of all the bundles' pairs; a bundle that added no pair leaves no file."""
    bits, rng = 2 ** 16, np.random.default_rng(0)
    buckets = rng.integers(0, 2 ** 63, 3000, dtype=np.int64).astype(np.uint64)
    labels = np.array([text_hash(label) for label in ["a", "b", "c"] * 1000], np.uint64)
    parts, whole = [], LabelFilter(bits)
    for bundle in (slice(0, 1000), slice(1000, 3000)):
        bundle_filter = LabelFilter(bits)
        bundle_filter.add(buckets[bundle], labels[bundle], set(labels[bundle].tolist()))
        whole.add(buckets[bundle], labels[bundle], set(labels[bundle].tolist()))
        path = write_filter(bundle_filter, str(tmp_path))
        assert write_filter(bundle_filter, str(tmp_path)) == path
        parts.append(FilterPart(path, bits, FeatureStats().create_accumulator(), bundle_filter.labels))
    assert write_filter(LabelFilter(bits), str(tmp_path)) is None
    parts.append(FilterPart(None, bits, FeatureStats().create_accumulator(), {}))
    combine = FilterParts()
    gathered = combine.extract_output(combine.merge_accumulators(
        [combine.add_input(combine.create_accumulator(), part) for part in parts]))
    assert len(gathered.path) == 2
    merged = read_filter(merge_filter_files(gathered, str(tmp_path)))
    np.testing.assert_array_equal(merged.words, whole.words)
    assert merged.labels == whole.labels
    others = np.roll(labels, -1)  # b, c, a, ...
    np.testing.assert_array_equal(merged.holds_other_label(buckets, others), whole.holds_other_label(buckets, others))
    nothing = merge_filter_files(combine.extract_output(combine.create_accumulator()), str(tmp_path))
    assert nothing.path is None and not read_filter(nothing).holds_other_label(buckets, labels).any()
