"""Which labelled examples can be in a conflict at all, decided on whole Arrow record batches with numpy.

Pure numpy/pyarrow, no Beam. A conflicting pair always shares a bucket (`matching.py`: every matching pair meets in
the home cell of one of them), so an example none of whose buckets holds another label cannot conflict. On real
data that is nearly every example: the executor keeps only the others (the candidates) and sends only them through
the Python matching and the pair shuffle, which are then small.

Each example's buckets are computed here for the whole batch at once, as 64-bit hashes: per present compared column
a term (a categorical or exact value's hash; for a tolerant numeric value its cell, over every cell a matching value
can lie in, as `Matcher._cells` reasons), summed, so a column absent from a batch counts as missing in every
example. Only the first MAX_KEYED_FEATURES present tolerant columns of an example (by name) contribute cells, the
others their presence, as in `Matcher.bucket_keys`. Two examples that match have the same present columns, equal
categorical and exact values and cells that meet, so they share a bucket hash (hash collisions merge buckets: more
candidates, never fewer).

`LabelFilter` is a Bloom filter of (bucket hash, label) pairs, a fixed number of bits whatever the number of rows. An
example is a candidate when, for some bucket of it and some other label seen, the filter holds (bucket, that label):
true for both members of every conflicting pair; a false positive only adds a candidate, so the result is exact.
"""
import hashlib
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from components.conflicts.matching import CELL_TOLERANCES, FLOAT32_EPS, MAX_KEYED_FEATURES
from components.examples_io.values import decoded

FILTER_HASHES = 3
MIN_FILTER_BITS, MAX_FILTER_BITS = 2 ** 16, 2 ** 29  # 8 KiB .. 64 MiB
FINE_CELL_TOLERANCES = 2  # the second filter's cells (over the first one's candidates only): ~8x the buckets
FILTER_BITS_PER_INPUT_BYTE = 2  # about 50 bits per bucket on gzipped tf.Examples: ~1e-4 false positives per test
FILTER_BITS_PER_BUCKET = 64  # the second filter, sized by its buckets: ~1e-4 false positives per test
_U64 = np.uint64
_GOLDEN = 0x9E3779B97F4A7C15  # 2**64 / golden ratio: spreads consecutive integers over 64 bits


def filter_bits(input_bytes):
    """The filter's size for examples stored in `input_bytes` bytes: a power of two within [MIN, MAX]_FILTER_BITS."""
    return _power_of_two_bits(int(input_bytes) * FILTER_BITS_PER_INPUT_BYTE)


def bucket_filter_bits(buckets):
    """The size of a filter of `buckets` (bucket, label) pairs: a power of two within [MIN, MAX]_FILTER_BITS."""
    return _power_of_two_bits(int(buckets) * FILTER_BITS_PER_BUCKET)


def _power_of_two_bits(wanted):
    return min(max(1 << (max(wanted, 1) - 1).bit_length(), MIN_FILTER_BITS), MAX_FILTER_BITS)


def _mix(x):
    """splitmix64's finaliser on a uint64 array (or scalar): the same bits in every process (unlike Python's str
    hash). Arithmetic is modulo 2**64."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> _U64(30))
        x = x * _U64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> _U64(27))
        x = x * _U64(0x94D049BB133111EB)
        return x ^ (x >> _U64(31))


def text_hash(text):
    """64 bits of a str (a label, a categorical value or a column name), the same in every process."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


class Column:
    """One feature column of a record batch as one value per example: `counts` (values per example), `present`
    (exactly one value, finite when a float), `python_values()` (as `parse_rows` gives them), and `values()`: for a bytes column (`text`) the
    hash of the decoded value, else the number as float64 (-0.0 as 0.0, as Python compares them); `text_hashes()`:
    the hash of each value's str(), as labels are hashed."""

    def __init__(self, array, rows):
        self.text, self.rows = False, rows
        self.counts, self.present, self._values = np.zeros(rows, np.int64), np.zeros(rows, bool), np.zeros(rows)
        self._flat, self._where, self._encoded = None, None, None
        if pa.types.is_null(array.type) or pa.types.is_null(array.type.value_type):
            return
        self.counts = pc.fill_null(pc.list_value_length(array), 0).to_numpy(zero_copy_only=False).astype(np.int64)
        self._flat, single = pc.list_flatten(array), self.counts == 1
        self._where = np.cumsum(self.counts) - 1  # the flat position of each example's single value
        kind = self._flat.type
        self.text = (pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_string(kind)
                     or pa.types.is_large_string(kind))
        if self.text:
            self.present, self._values = single, None  # hashed when asked for
        else:
            numbers = self._flat.to_numpy(zero_copy_only=False)
            self._values[single] = numbers[self._where[single]].astype(np.float64) + 0.0
            self.present = single & np.isfinite(self._values)

    def _dictionary(self):
        """Each flat value's index in the distinct decoded texts, and those texts' hashes (`text_hash`)."""
        if self._encoded is None:
            self._encoded = self._flat.dictionary_encode()
            self._texts = np.array([decoded(v) for v in self._encoded.dictionary.to_pylist()], dtype=object)
            self._hashes = np.array([text_hash(text) for text in self._texts], _U64)
        return self._encoded.indices.to_numpy(zero_copy_only=False), self._hashes

    def python_values(self):
        """Per example, its value as a parsed tf.Example gives it (str for bytes, int, or the float32 value exactly
        as a float) where `present`, else None: an object array."""
        values = np.full(self.rows, None, dtype=object)
        rows = np.flatnonzero(self.present)
        if len(rows) and self.text:
            indices, _ = self._dictionary()
            values[rows] = self._texts[indices[self._where[rows]]]
        elif len(rows):
            values[rows] = self._flat.to_numpy(zero_copy_only=False)[self._where[rows]].astype(object)
        return values

    def values(self):
        if self._values is None:
            indices, hashes = self._dictionary()
            self._values = np.zeros(self.rows, _U64)
            self._values[self.present] = hashes[indices[self._where[self.present]]]
        return self._values

    def text_hashes(self, rows):
        """`text_hash` of str() of the value of each of `rows` (all present; str() as `parse_rows` gives it,
        so a label has one hash in every batch and process), and the set of those hashes (as ints). No str per
        example: a text column's distinct values are hashed once, a numeric one's distinct numbers."""
        if not len(rows):
            return np.array([], _U64), set()
        if self.text:
            indices, hashes = self._dictionary()
            used = indices[self._where[rows]]
            return hashes[used], set(hashes[np.bincount(used, minlength=len(hashes)) > 0].tolist())
        numbers = self._flat.to_numpy(zero_copy_only=False)[self._where[rows]]
        unique, inverse = np.unique(numbers, return_inverse=True)
        hashes = np.array([text_hash(str(v)) for v in unique.tolist()], _U64)
        return hashes[inverse], set(hashes.tolist())


def bucket_hashes(columns, rows, matcher, cell_tolerances=CELL_TOLERANCES):
    """(example index, bucket hash) per bucket of each example in `rows` (an index array): its home bucket and every
    bucket it visits, from its compared `columns` ({name: Column}, every compared column of the batch), with tolerant
    cells `cell_tolerances` tolerances wide. Any width is exact (a matching value lies in one of the cells an example
    visits); a narrower one gives more buckets per example and fewer examples that share one."""
    fixed = np.zeros(len(rows), _U64)
    tolerant = []
    for name in sorted(columns):
        column, salt = columns[name], _U64(text_hash(name))
        present = column.present[rows]
        if column.text or matcher.tolerance(name).value == 0:
            value = column.values()[rows] if column.text else column.values()[rows].view(_U64)
            term = _mix(value ^ salt) + _U64(1 if column.text else 2)
            with np.errstate(over="ignore"):
                fixed += np.where(present, term, _U64(0))
        else:
            tolerant.append((name, salt, present))
    # The first MAX_KEYED_FEATURES present tolerant columns of an example (by name) contribute cells.
    ranks = np.zeros(len(rows), np.int64)
    example = np.arange(len(rows))
    partial = fixed
    for name, salt, present in tolerant:
        ranks += present
        keyed = present & (ranks <= MAX_KEYED_FEATURES)
        fixed_term = np.where(present & ~keyed, _mix(salt ^ _U64(3)), _U64(0))
        lowest, highest, side = _cell_ranges(matcher.tolerance(name), columns[name].values()[rows], keyed,
                                             cell_tolerances)
        counts = np.where(keyed, highest - lowest + 1, 1)[example]
        starts = np.cumsum(counts) - counts
        offsets = np.arange(int(counts.sum())) - np.repeat(starts, counts)
        example, partial = np.repeat(example, counts), np.repeat(partial, counts)
        cells = lowest[example] + offsets
        with np.errstate(over="ignore"):
            cell_term = _mix(salt ^ ((cells * 4 + side[example]).view(_U64) * _U64(_GOLDEN)))
        with np.errstate(over="ignore"):
            partial = partial + np.where(keyed[example], cell_term, fixed_term[example])
    return example, _mix(partial)


def _cell_ranges(tolerance, values, keyed, cell_tolerances):
    """Per example, the lowest and highest cell (int64) a value matching its own can lie in, and a side that tells
    apart cells that never meet (relative tolerances: a log-scale cell of negative values, of positive values, or
    zero). 0, 0, 0 where not `keyed`."""
    values = np.where(keyed, values, 1.0)
    if tolerance.relative:
        margin = -math.log1p(-(tolerance.value + 4 * FLOAT32_EPS))
        width = cell_tolerances * margin
        zero = values == 0
        coordinate = np.log(np.abs(np.where(zero, 1.0, values)))
        side = np.where(zero, 3, np.where(values > 0, 1, 2))
    else:
        margin = tolerance.value + 4 * FLOAT32_EPS * (np.abs(values) + tolerance.value)
        width = cell_tolerances * tolerance.value
        coordinate, zero, side = values, np.zeros(len(values), bool), np.zeros(len(values), np.int64)
    lowest = np.where(keyed & ~zero, np.floor((coordinate - margin) / width), 0).astype(np.int64)
    highest = np.where(keyed & ~zero, np.floor((coordinate + margin) / width), 0).astype(np.int64)
    return lowest, highest, np.where(keyed, side, 0).astype(np.int64)


def _positions(buckets, label_hashes, bits):
    """The FILTER_HASHES bit positions of each (bucket, label) pair (`label_hashes`: an array, or one for all)."""
    key = _mix(buckets ^ _mix(label_hashes))
    mask = _U64(bits - 1)
    return [(_mix(key ^ _U64(_GOLDEN * i % 2 ** 64)) & mask).astype(np.int64) for i in range(FILTER_HASHES)]


class LabelFilter:
    """A Bloom filter of (bucket hash, label hash) pairs, `bits` bits, and the label hashes seen (a set of ints).
    Labels are given as their `text_hash`es (`Column.text_hashes`), so no str per example is compared or sorted;
    two labels with one 64-bit hash would count as one label (chance about 1e-19 per pair of labels)."""

    def __init__(self, bits):
        self.bits, self.labels, self.words = bits, set(), None

    def add(self, buckets, label_hashes, labels):
        """Adds each (bucket hash, label hash), two uint64 arrays of the same length; `labels`: the label hashes
        among them (a set of ints)."""
        if not len(buckets):
            return
        if self.words is None:
            self.words = np.zeros(self.bits // 64, _U64)
        self.labels |= labels
        for position in _positions(buckets, label_hashes, self.bits):
            words, bits = position >> 6, _U64(1) << (position & 63).astype(_U64)
            self.words[words] |= bits  # where a word is named twice, one of its bits is kept: the others below
            missed = self.words[words] & bits == 0
            if missed.any():
                np.bitwise_or.at(self.words, words[missed], bits[missed])

    def merge(self, other):
        self.labels |= other.labels
        if other.words is not None:
            if self.words is None:
                self.words, self.bits = other.words.copy(), other.bits
            else:
                self.words |= other.words

    def holds_other_label(self, buckets, label_hashes):
        """Per (bucket hash, label hash): whether the filter holds the bucket with some other label seen."""
        found = np.zeros(len(buckets), bool)
        if self.words is None:
            return found
        for label_hash in sorted(self.labels):
            other = np.flatnonzero(label_hashes != _U64(label_hash))
            held = np.ones(len(other), bool)
            for position in _positions(buckets[other], _U64(label_hash), self.bits):
                held &= (self.words[position >> 6] >> (position & 63).astype(_U64)) & _U64(1) == 1
            found[other[held]] = True
        return found
