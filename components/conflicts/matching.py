"""The matching rule for X->y conflicts, the bucket keys that make it scale, and grouping into conflict groups.

Pure Python, no Beam: the executor's Beam pipeline calls these per example, per bucket and per pair.

An example's features are a sorted tuple of (name, value) for the compared features that have a value: a float or
int for numeric features, a str for categorical ones. A missing value is simply absent, so a missing value matches
only a missing value (two examples can only match when the same features are present).

Bucketing (why it is exact). Each tolerant numeric feature is cut into cells CELL_TOLERANCES tolerances wide (on a
log scale for relative tolerances). A value x goes to its home cell and, as a visitor, to every other cell that
holds some value within tolerance (plus rounding margin) of x: with cells 8 tolerances wide, that is a neighbour
for about 1 value in 4. So any matching pair meets in the home cell of one of them, and only
home-home and home-visitor pairs in a bucket are compared: never all pairs. Categorical and exact (tolerance 0)
features enter the key as their value. Only the first MAX_KEYED_FEATURES tolerant features (by name) enter the key, so
an example visits at most 2**MAX_KEYED_FEATURES cells (about 1.25 per keyed feature on average); any further tolerant
features are only checked on the candidate pairs, which keeps the result exact.
"""
import hashlib
import itertools
import math
from dataclasses import dataclass

import numpy as np

# Values in tf.Example float_lists are float32 (CsvExampleGen stores decimals that way): 39.2 - 39.1 is 0.1000023
# there. Differences are compared up to that rounding: 2 float32 ulps of the larger magnitude.
FLOAT32_EPS = float(np.finfo(np.float32).eps)
CELL_TOLERANCES = 8  # cell width in tolerances: wider cells mean fewer neighbour visits but bigger buckets
MAX_KEYED_FEATURES = 8


@dataclass(frozen=True)
class Tolerance:
    value: float  # 0: exact equality
    relative: bool  # |a - b| <= value * max(|a|, |b|) instead of <= value

    def describe(self):
        if self.value == 0:
            return "exact"
        return f"{self.value:g} relative" if self.relative else f"{self.value:g} absolute"


class Matcher:
    """The matching rule for one configuration: which tolerance each numeric feature has, and how it buckets."""

    def __init__(self, tolerance=0.0, relative=False, absolute_tolerances=None, relative_tolerances=None):
        self.default = Tolerance(float(tolerance), bool(relative))
        self.per_feature = {name: Tolerance(float(v), False) for name, v in (absolute_tolerances or {}).items()}
        self.per_feature.update({name: Tolerance(float(v), True) for name, v in (relative_tolerances or {}).items()})

    def tolerance(self, name):
        return self.per_feature.get(name, self.default)

    def values_match(self, name, a, b):
        if isinstance(a, str) or isinstance(b, str):
            return a == b
        tolerance = self.tolerance(name)
        if tolerance.value == 0:
            return a == b
        larger = max(abs(a), abs(b))
        allowed = tolerance.value * larger if tolerance.relative else tolerance.value
        return abs(a - b) <= allowed + 2 * FLOAT32_EPS * larger

    def features_match(self, a, b):
        """Whether two feature tuples (sorted (name, value) pairs) match: same features present, every value
        within its tolerance."""
        if len(a) != len(b):
            return False
        return all(name_a == name_b and self.values_match(name_a, value_a, value_b)
                   for (name_a, value_a), (name_b, value_b) in zip(a, b))

    def _cells(self, name, value):
        """(home cell, every cell a matching value can lie in) of one tolerant numeric value."""
        tolerance = self.tolerance(name)
        if tolerance.relative:
            if value == 0:  # under a relative tolerance below 1, zero matches only zero
                return ("zero",), [("zero",)]
            # |a - b| <= r * max(|a|, |b|) (+ rounding) implies same signs and |log|a| - log|b|| <= margin.
            margin = -math.log1p(-(tolerance.value + 4 * FLOAT32_EPS))
            width = CELL_TOLERANCES * margin
            coordinate, sign = math.log(abs(value)), value > 0
        else:
            margin = tolerance.value + 4 * FLOAT32_EPS * (abs(value) + tolerance.value)
            width = CELL_TOLERANCES * tolerance.value
            coordinate, sign = float(value), None
        lowest, highest = math.floor((coordinate - margin) / width), math.floor((coordinate + margin) / width)
        return (sign, math.floor(coordinate / width)), [(sign, cell) for cell in range(lowest, highest + 1)]

    def is_tolerant(self, name, value):
        """Whether the value is numeric with a tolerance above 0 (else it matches only by equality)."""
        return not isinstance(value, str) and self.tolerance(name).value != 0

    def bucket_keys(self, features):
        """(home key, visitor keys) of one example's feature tuple."""
        fixed, tolerant = [], []
        for name, value in features:
            if not self.is_tolerant(name, value):
                fixed.append((name, value))
            elif len(tolerant) < MAX_KEYED_FEATURES:
                tolerant.append((name,) + self._cells(name, value))
            else:
                fixed.append((name, "present"))  # only checked pair by pair; its presence still must match
        fixed = tuple(fixed)
        home = fixed + tuple((name, cell) for name, cell, _ in tolerant)
        choices = [[(name, cell) for cell in cells] for name, _, cells in tolerant]
        visits = (fixed + combination for combination in itertools.product(*choices))
        return home, [key for key in visits if key != home]

    def bucket_ids(self, features):
        """(home, visitors) of one example's feature tuple as `bucket_id`s."""
        home, visits = self.bucket_keys(features)
        return bucket_id(home), [bucket_id(key) for key in visits]


def bucket_id(key):
    """A bucket key as a signed 64-bit int, the same in every process: what the executor shuffles (a key tuple of
    (name, cell) pairs costs many times that in FnApiRunner's memory). Keys that share an id merge their buckets;
    members are compared on every feature, so that costs comparisons, never adds a pair."""
    return int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "little", signed=True)


def pairs_in_bucket(members, matcher):
    """Conflicting pairs among one bucket's members, each an (is_home, record) with record (id, label, features, ...):
    the executor passes distinct rows (smallest example id, label, features, count, row key). Yields
    (record_a, record_b) with a's id first; a pair may come from several buckets, so the caller de-duplicates."""
    homes, visitors = [], []
    for is_home, record in members:
        (homes if is_home else visitors).append(record)
    candidates = itertools.chain(itertools.combinations(homes, 2), itertools.product(homes, visitors))
    for a, b in candidates:
        if a[1] != b[1] and matcher.features_match(a[2], b[2]):
            yield (a, b) if a[0] <= b[0] else (b, a)


class UnionFind:
    """Connected components over the conflicting pairs; holds only examples that are in some conflict."""

    def __init__(self):
        self.parent = {}

    def find(self, item):
        root = item
        while self.parent.setdefault(root, root) != root:
            root = self.parent[root]
        while self.parent[item] != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a, b):
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)

    def groups(self):
        """Components as sorted lists, ordered by their smallest member."""
        components = {}
        for item in self.parent:
            components.setdefault(self.find(item), []).append(item)
        return sorted((sorted(members) for members in components.values()), key=lambda members: members[0])
