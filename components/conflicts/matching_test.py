"""The matching rule and the bucketing: bucketed search finds exactly the pairs an all-pairs search finds."""
import itertools

import numpy as np
import pytest

from components.conflicts import matching
from components.conflicts.matching import Matcher, UnionFind, pairs_in_bucket


def f32(x):
    """A value as a tf.Example float_list holds it."""
    return float(np.float32(x))


def test_absolute_tolerance_counts_float32_rounding_but_not_more():
    matcher = Matcher(tolerance=0.1)
    assert matcher.values_match("x", f32(39.1), f32(39.2))  # 0.1000023 in float32
    assert matcher.values_match("x", f32(-0.05), f32(0.05))
    assert not matcher.values_match("x", f32(39.1), f32(39.21))
    assert not matcher.values_match("x", "a", "b") and matcher.values_match("x", "a", "a")


def test_relative_and_per_feature_tolerances():
    matcher = Matcher(tolerance=0.0, absolute_tolerances={"mass": 25}, relative_tolerances={"price": 0.01})
    assert matcher.values_match("mass", 4000, 4025) and not matcher.values_match("mass", 4000, 4026)
    assert matcher.values_match("price", f32(100.0), f32(99.0)) and not matcher.values_match("price", 100.0, 98.9)
    assert not matcher.values_match("price", 0.5, -0.5) and matcher.values_match("price", 0.0, 0.0)
    assert not matcher.values_match("other", 1.0, 1.0000001)  # the global tolerance 0: exact


def test_missing_matches_only_missing():
    matcher = Matcher(tolerance=0.1)
    assert matcher.features_match((("sex", "m"), ("x", 1.0)), (("sex", "m"), ("x", 1.05)))
    assert matcher.features_match((("x", 1.0),), (("x", 1.05),))  # both missing sex
    assert not matcher.features_match((("sex", "m"), ("x", 1.0)), (("x", 1.0),))


def brute_force_pairs(records, matcher):
    return {(a[0], b[0]) if a[0] < b[0] else (b[0], a[0])
            for a, b in itertools.combinations(records, 2)
            if a[1] != b[1] and matcher.features_match(a[2], b[2])}


def bucketed_pairs(records, matcher):
    """(pairs found, pairs compared) by the bucketing the executor uses: buckets named by 64-bit ids."""
    buckets = {}
    for example_id, label, features in records:
        home, visits = matcher.bucket_ids(features)
        member = (example_id, label, features)
        buckets.setdefault(home, []).append((True, member))
        for key in visits:
            buckets.setdefault(key, []).append((False, member))
    found = {(a[0], b[0]) for members in buckets.values() for a, b in pairs_in_bucket(members, matcher)}
    homes = [sum(is_home for is_home, _ in members) for members in buckets.values()]
    compared = sum(h * (h - 1) / 2 + h * (len(members) - h) for h, members in zip(homes, buckets.values()))
    return found, compared


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("matcher", [
    Matcher(tolerance=0.1),
    Matcher(tolerance=0.05, relative=True),
    Matcher(tolerance=0.1, absolute_tolerances={"f2": 0.0}, relative_tolerances={"f3": 0.02}),
], ids=["absolute", "relative", "mixed"])
def test_buckets_find_exactly_the_pairs_all_pairs_finds(seed, matcher):
    """Dense random data: values are a few bases, each times 1, 1.025 or 1.05, plus a random offset per feature, so
    that many pairs sit at, within and just beyond the tolerance, and straddle cell boundaries; some values are
    missing, negative or zero."""
    rng = np.random.default_rng(seed)
    offsets = rng.uniform(-1, 1, size=4)
    records = []
    for i in range(600):
        features = []
        for j, name in enumerate(("f0", "f1", "f2", "f3")):
            if rng.random() < 0.1:
                continue  # missing
            base = rng.integers(-1, 3) + offsets[j] * (seed % 2)
            features.append((name, f32(base * (1 + 0.025 * rng.integers(0, 3)))))
        if rng.random() < 0.5:
            features.append(("colour", str(rng.choice(["red", "blue"]))))
        records.append((f"e{i:03d}", str(rng.integers(0, 3)), tuple(sorted(features))))
    expected = brute_force_pairs(records, matcher)
    assert len(expected) >= 5  # the test data does exercise the matching
    found, compared = bucketed_pairs(records, matcher)
    assert found == expected
    assert compared < len(records) ** 2 / 2 / 4  # buckets cut the comparisons well below all pairs


def test_more_tolerant_features_than_keyed_ones_still_exact():
    matcher = Matcher(tolerance=0.1)
    rng = np.random.default_rng(7)
    records = [(f"e{i:03d}", str(rng.integers(0, 2)),
                tuple((f"f{j:02d}", f32(rng.integers(0, 3) * 0.1)) for j in range(11)))
               for i in range(300)]
    expected = brute_force_pairs(records, matcher)
    assert expected
    assert bucketed_pairs(records, matcher)[0] == expected


def test_union_find_groups_chains_and_orders_by_smallest_member():
    union_find = UnionFind()
    for a, b in [("c", "d"), ("a", "z"), ("d", "e"), ("b", "a")]:
        union_find.union(a, b)
    assert union_find.groups() == [["a", "b", "z"], ["c", "d", "e"]]


def test_bucket_ids_that_collide_cost_comparisons_never_pairs(monkeypatch):
    """Every bucket merged into one (all ids equal): members are compared on every feature, so the pairs found are
    still exactly the brute-force ones."""
    matcher = Matcher(tolerance=0.1)
    rng = np.random.default_rng(3)
    records = [(f"e{i:03d}", str(rng.integers(0, 2)), tuple(sorted(
        [("colour", str(rng.choice(["red", "blue"]))), ("x", f32(rng.integers(0, 4) * 0.07))])))
        for i in range(200)]
    monkeypatch.setattr(matching, "bucket_id", lambda key: 0)
    expected = brute_force_pairs(records, matcher)
    assert expected and any(a[2][0] != b[2][0] and matcher.features_match(a[2][1:], b[2][1:]) and a[1] != b[1]
                            for a, b in itertools.combinations(records, 2))  # pairs a bucket key alone kept apart
    assert bucketed_pairs(records, matcher)[0] == expected
