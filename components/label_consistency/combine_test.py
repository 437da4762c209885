"""The label-pattern counts of StatsCombine and the lookup of each pattern's consensus (PatternConsensus), against
a per-row Python count and dictionary on random patterns."""
from collections import Counter

import numpy as np
import pytest

from components.label_consistency.combine import PatternConsensus, StatsCombine, fit_dawid_skene


def _codes(rng, n, labelers=5, classes=4):
    return rng.integers(-1, classes, (n, labelers))


def test_pattern_counts_are_the_rows_counted_one_by_one():
    rng = np.random.default_rng(0)
    batches = [_codes(rng, n) for n in (1000, 1, 250)]
    combine = StatsCombine(5, 4, with_patterns=True)
    accumulator = combine.create_accumulator()
    for codes in batches:
        accumulator = combine.add_input(accumulator, {"codes": codes, "unknown": {}})
    expected = Counter(tuple(int(v) for v in row) for codes in batches for row in codes)
    assert accumulator[2] == expected and accumulator[0].n_examples == 1251


def test_each_row_gets_its_patterns_consensus():
    rng = np.random.default_rng(1)
    patterns = np.unique(_codes(rng, 3000), axis=0)[rng.permutation(700)]  # not in any sorted order
    classes = rng.integers(-1, 4, len(patterns))
    by_pattern = {tuple(p): c for p, c in zip(patterns.tolist(), classes.tolist())}
    lookup = PatternConsensus(patterns, classes)
    rows = patterns[rng.integers(0, len(patterns), 5000)]
    assert lookup(rows).tolist() == [by_pattern[tuple(row)] for row in rows.tolist()]
    assert lookup(rows[:0]).tolist() == []
    unseen = np.array([[9, 9, 9, 9, 9]])
    with pytest.raises(ValueError, match="not fitted on"):
        lookup(np.concatenate([rows[:3], unseen]))


def test_fitted_consensus_is_the_posteriors_class_and_none_without_labels():
    patterns = Counter({(0, 0, -1): 50, (1, 1, 1): 40, (0, 1, 1): 5, (-1, -1, -1): 3, (2, -1, 2): 7})
    lookup = fit_dawid_skene(patterns, 3)
    assert lookup(np.array(list(patterns))).tolist() == [0, 1, 1, -1, 2]
