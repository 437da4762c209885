"""The Beam combiner that sums agreement statistics over all record batches, and the Dawid-Skene fit of its label
patterns. Global state is K-by-K sized (`metrics.LabelStats`), plus, for Dawid-Skene, the counts of distinct label
patterns (at most (K+1)^L, L labelers, K classes)."""
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
            rows, counts = np.unique(encoded["codes"], axis=0, return_counts=True)
            patterns.update({tuple(int(v) for v in row): int(c) for row, c in zip(rows, counts)})
        return stats, merge_unknown(unknown, encoded["unknown"]), patterns

    def merge_accumulators(self, accumulators):
        stats, unknown, patterns = self.create_accumulator()
        for s, u, p in accumulators:
            stats, unknown = M.merge(stats, s), merge_unknown(unknown, u)
            patterns.update(p)
        return stats, unknown, patterns

    def extract_output(self, accumulator):
        return accumulator


def fit_dawid_skene(patterns, n_classes):
    """{pattern tuple: (class code, posterior)} from the pattern counts."""
    keys = list(patterns)
    posterior = M.dawid_skene(np.array(keys).reshape(len(keys), -1), [patterns[k] for k in keys], n_classes)
    return {k: (int(p.argmax()), float(p.max())) for k, p in zip(keys, posterior)}


def patterns_to_json(patterns):
    return sorted([list(pattern), count] for pattern, count in patterns.items())


def patterns_from_json(saved):
    return Counter({tuple(pattern): count for pattern, count in saved})


def stats_to_json(stats):
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in vars(stats).items()}


def stats_from_json(saved):
    return M.LabelStats(**{k: (np.array(v) if isinstance(v, list) else v) for k, v in saved.items()})
