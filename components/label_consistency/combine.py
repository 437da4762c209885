"""The Beam combiner that sums agreement statistics over all record batches, and the Dawid-Skene fit of its label
patterns. Global state is K-by-K sized (`metrics.LabelStats`), plus, for Dawid-Skene, the counts of distinct label
patterns (at most (K+1)^L, L labelers, K classes). Patterns are counted and looked up per batch in numpy, each row's
pattern as one key (`pattern_keys`): no Python step per example."""
from collections import Counter

import apache_beam as beam
import numpy as np

from components.label_consistency import metrics as M
from components.label_consistency.encoding import merge_unknown


class StatsCombine(beam.CombineFn):
    """Sums LabelStats, unknown-value counts and (for Dawid-Skene) label-pattern counts over all batches."""

    def __init__(self, n_labelers, n_classes, with_patterns):
        self.shape = (n_labelers, n_classes)
        self.with_patterns = with_patterns

    def create_accumulator(self):
        return M.LabelStats.empty(*self.shape), {}, Counter()

    def add_input(self, accumulator, encoded):
        stats, unknown, patterns = accumulator
        stats = M.merge(stats, M.accumulate(encoded["codes"], self.shape[1]))
        if self.with_patterns:
            codes = encoded["codes"]
            keys, counts = np.unique(pattern_keys(codes), return_counts=True)
            rows = np.ascontiguousarray(keys).view(np.int64).reshape(len(keys), codes.shape[1])
            patterns.update(dict(zip(map(tuple, rows.tolist()), counts.tolist())))
        return stats, merge_unknown(unknown, encoded["unknown"]), patterns

    def merge_accumulators(self, accumulators):
        stats, unknown, patterns = self.create_accumulator()
        for s, u, p in accumulators:
            stats, unknown = M.merge(stats, s), merge_unknown(unknown, u)
            patterns.update(p)
        return stats, unknown, patterns

    def extract_output(self, accumulator):
        return accumulator


def pattern_keys(codes):
    """One key per row of a class-code matrix [n, L]: the row's bytes as one numpy void value, which numpy sorts,
    counts (`np.unique`) and searches (`np.searchsorted`) like any scalar."""
    codes = np.ascontiguousarray(codes, np.int64)
    return codes.view(np.dtype((np.void, codes.itemsize * codes.shape[1]))).ravel()


class PatternConsensus:
    """A consensus class code per label pattern (-1 for the pattern with no label), applied to a whole batch of class
    codes with one search of sorted pattern keys. Picklable (a DoFn carries it to the workers)."""

    def __init__(self, patterns, classes):
        """`patterns` [P, L] class codes, `classes` [P] their consensus class codes."""
        order = np.argsort(pattern_keys(patterns))
        self._patterns, self._classes = np.asarray(patterns, np.int64)[order], np.asarray(classes, np.int64)[order]

    def __call__(self, codes):
        """The consensus class code of each row of `codes` [n, L]; every row's pattern must be one of the model's."""
        known, found = pattern_keys(self._patterns), pattern_keys(codes)
        at = np.minimum(np.searchsorted(known, found), len(known) - 1)
        if len(found) and (known[at] != found).any():
            raise ValueError("label patterns the Dawid-Skene model was not fitted on: the examples changed between "
                             "its two reads")
        return self._classes[at]


def fit_dawid_skene(patterns, n_classes):
    """The consensus of each label pattern (the class its Dawid-Skene posterior favours) from the pattern counts."""
    keys = list(patterns)
    matrix = np.array(keys, np.int64).reshape(len(keys), -1)
    posterior = M.dawid_skene(matrix, [patterns[k] for k in keys], n_classes)
    return PatternConsensus(matrix, np.where((matrix >= 0).any(axis=1), posterior.argmax(axis=1), -1))


def patterns_to_json(patterns):
    return sorted([list(pattern), count] for pattern, count in patterns.items())


def patterns_from_json(saved):
    return Counter({tuple(pattern): count for pattern, count in saved})


def stats_to_json(stats):
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in vars(stats).items()}


def stats_from_json(saved):
    return M.LabelStats(**{k: (np.array(v) if isinstance(v, list) else v) for k, v in saved.items()})
