"""Confident learning with bounded memory, for data above `[label_errors] max_fit_examples` (no TFX, no Beam).

Above the cap the finder cannot hold every example, so the method is split into pieces whose state does not grow
with the number of examples; the executor runs each piece as a Beam combine over its cache of the read columns:

1. A deterministic stratified sample: per class, the `quotas(...)` examples with the smallest `sample_keys` (a hash
   of the seed and the example id), so the sample is the same under any runner split or order.
2. `FoldModels.fit`: K models on the sample; within each class the sampled examples take folds by their rank, so
   every fold model has every class and each sampled example gets the model that did not see it.
3. Every example is scored out of sample by `FoldModels.predict` (a sampled example by its out-of-fold model, any
   other by the model of fold `key % K`: none of them saw it).
4. cleanlab's method with K x K state: the per-class confident thresholds (`cleanlab.count.get_confident_thresholds`,
   a mean per class) and a histogram of the margin p(j) - p(k) per (given k, other j) cell (`margin_statistics`);
   then the confident joint counts (`confident_counts`, as `cleanlab.count.compute_confident_joint` counts them),
   calibrated (`calibrated_joint`) and turned into the number to prune per cell by cleanlab's own
   `filter._keep_at_least_n_per_class` (what `find_label_issues(filter_by="prune_by_noise_rate")` does); the margin
   histogram gives each cell's cutoff (`margin_cutoffs`), and `flag` marks the examples at or above it, less those
   whose prediction is their given label (cleanlab's `count._reduce_issues`).
Quality scores are cleanlab's per-row `rank.get_label_quality_scores` (self-confidence).

What differs from the in-memory finder: the models see the sample, not all examples; non-sampled examples are scored
by one fold model; and a cell's cutoff is found at the histogram's resolution (`MARGIN_BINS` bins over [-1, 1]), so
a cell may flag a few more examples than cleanlab's exact top-n (the ties within the cutoff's bin).
"""
import functools
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from cleanlab import rank
from cleanlab.count import _reduce_issues
from cleanlab.filter import _keep_at_least_n_per_class
from cleanlab.internal.constants import CONFIDENT_THRESHOLDS_LOWER_BOUND, TINY_VALUE
from cleanlab.internal.util import round_preserving_row_totals
from threadpoolctl import ThreadpoolController

from components.label_errors.finder import MODELS, LabelErrorsError

MARGIN_BINS = 4096  # per (given, other) class cell: 32 KB of counts; margin resolution 2 / 4096 ~ 0.0005
# Probabilities are rounded to this many decimals so that scoring a row alone or in any batch gives the same bits
# (BLAS may sum in another order for another batch shape); the runner's batching then cannot change a result.
PROBABILITY_DECIMALS = 12
_FIXED_POINT = 2 ** 32  # probability sums as exact integers: the same total in any order of addition


def sample_keys(ids, seed):
    """A 64-bit hash of (seed, id) per id (`ids`: text, an Arrow string array or a sequence of str; 0 for a missing
    id): the sample is the examples with the smallest keys, per class."""
    texts = _string_array(ids).cast(pa.binary()).to_pylist()
    prefix = f"{seed}\0".encode()
    digests = b"".join(b"\0" * 8 if text is None else hashlib.blake2b(prefix + text, digest_size=8).digest()
                       for text in texts)
    return np.frombuffer(digests, ">u8").astype(np.uint64)


def _string_array(ids):
    return ids.cast(pa.string()) if isinstance(ids, (pa.Array, pa.ChunkedArray)) else pa.array(ids, pa.string())


def quotas(class_sizes, cap, folds):
    """Examples to sample per class: proportional to its size, at least `folds` (one per fold), at most `cap` in all
    (taken off the largest classes). `class_sizes` maps each analysed class to its number of examples."""
    total = sum(class_sizes.values())
    quota = {name: min(size, max(folds, cap * size // total)) for name, size in class_sizes.items()}
    while sum(quota.values()) > cap:
        largest = max(quota, key=lambda name: (quota[name], str(name)))
        if quota[largest] <= folds:
            raise LabelErrorsError(f"[label_errors] max_fit_examples {cap} is too small to sample {folds} examples "
                                   f"(one per fold) of each of the {len(quota)} classes; raise it")
        quota[largest] -= 1
    return quota


@functools.lru_cache(maxsize=None)
def _threadpools():
    return ThreadpoolController()


def one_openmp_thread():
    """threadpool_limits(limits=1, user_api="openmp") without its scan of the loaded libraries on every call (a
    controller made once: the scan cost more than the predictions it wrapped, once per record batch)."""
    return _threadpools().limit(limits=1, user_api="openmp")


@dataclass
class FoldModels:
    """K models fitted on the sample, and which fold each sampled example was held out of: the sampled examples'
    sample keys (sorted), ids and folds as arrays, so that scoring a record batch looks them up without a Python
    step per row."""
    models: list
    classes: list
    features: list  # the feature columns the models use
    sampled_keys: np.ndarray  # uint64, ascending
    sampled_ids: pa.Array  # aligned with sampled_keys
    sampled_folds: np.ndarray  # aligned with sampled_keys
    fold_of_colliding: dict  # id -> fold of the sampled examples whose key another sampled example shares (rare)
    seed: int

    @classmethod
    def fit(cls, sample: pd.DataFrame, *, classes, features, folds, model, seed):
        """`sample` has columns id, label, key (the sample key) and the features; labels are among `classes`."""
        sample = sample.sort_values(["label", "key", "id"], kind="stable", ignore_index=True)
        fold = sample.groupby("label", sort=False).cumcount().to_numpy() % folds
        y = sample["label"].map({name: i for i, name in enumerate(classes)}).to_numpy(int)
        x = sample[features].to_numpy(float)
        models = []
        with one_openmp_thread():  # see finder.find_label_errors
            for held_out in range(folds):
                models.append(MODELS[model](seed).fit(x[fold != held_out], y[fold != held_out]))
        keys = sample["key"].to_numpy(np.uint64)
        by_key = np.argsort(keys, kind="stable")  # among equal keys, the sample's order: the last one wins below
        shared = np.isin(keys, keys[by_key][1:][np.diff(keys[by_key]) == 0])
        return cls(models, list(classes), list(features), keys[by_key],
                   _string_array(sample["id"].to_numpy(object)[by_key]), fold[by_key],
                   dict(zip(sample["id"][shared], fold[shared].tolist())), seed)

    def folds_of(self, ids, keys=None):
        """The fold whose model did not see each example: its own for a sampled one, else `key % K` (`keys`: their
        `sample_keys`, when known)."""
        ids = _string_array(ids)
        keys = sample_keys(ids, self.seed) if keys is None else np.asarray(keys, np.uint64)
        fold = (keys % np.uint64(len(self.models))).astype(np.int64)
        at = np.searchsorted(self.sampled_keys, keys, side="right") - 1  # the last sampled key <= each key
        candidates = np.nonzero((at >= 0) & (self.sampled_keys[np.maximum(at, 0)] == keys))[0]
        at = at[candidates]
        same = pc.equal(ids.take(pa.array(candidates, pa.int64())),
                        self.sampled_ids.take(pa.array(at, pa.int64()))).fill_null(False).to_numpy(
                            zero_copy_only=False)
        fold[candidates[same]] = self.sampled_folds[at[same]]
        for row in candidates[~same]:  # a sampled key shared by another id (a 64-bit hash collision)
            fold[row] = self.fold_of_colliding.get(ids[int(row)].as_py(), fold[row])
        return fold

    def predict(self, ids, x, keys=None):
        """Out-of-sample P(class) per row of `x` (rows x classes), rounded to PROBABILITY_DECIMALS."""
        probs = np.zeros((len(x), len(self.classes)))
        fold = self.folds_of(ids, keys)
        with one_openmp_thread():
            for f, fitted in enumerate(self.models):
                rows = fold == f
                if rows.any():
                    probs[np.ix_(rows, fitted.classes_)] = fitted.predict_proba(x[rows])
        return np.round(probs, PROBABILITY_DECIMALS)


def margin_bins(margins):
    return np.clip(np.floor((margins + 1.0) / 2.0 * MARGIN_BINS), 0, MARGIN_BINS - 1).astype(np.int64)


def margin_statistics(y, probs):
    """Mergeable (by summing) per-class sums of p(given label) and counts, and the margin histograms."""
    k = probs.shape[1]
    own = probs[np.arange(len(y)), y]
    histogram = np.zeros((k, k, MARGIN_BINS), np.int64)
    for given in range(k):
        rows = probs[y == given]
        for other in range(k):
            if other != given and len(rows):
                histogram[given, other] = np.bincount(margin_bins(rows[:, other] - rows[:, given]),
                                                      minlength=MARGIN_BINS)
    fixed = np.round(own * _FIXED_POINT).astype(np.int64)
    return {"own_sum": [int(fixed[y == c].sum()) for c in range(k)],
            "counts": np.bincount(y, minlength=k).astype(np.int64), "histogram": histogram}


def add_statistics(a, b):
    """The sum of two `margin_statistics`/`confident_counts`/... dicts (lists of Python ints add element-wise)."""
    return {key: ([x + y for x, y in zip(a[key], b[key])] if isinstance(a[key], list) else a[key] + b[key])
            for key in a}


def confident_thresholds(statistics):
    """cleanlab.count.get_confident_thresholds from the summed statistics: mean p(k) over examples labelled k."""
    counts = statistics["counts"]
    means = np.array([s / _FIXED_POINT / n if n else 2.0 for s, n in zip(statistics["own_sum"], counts)])
    return np.clip(means, CONFIDENT_THRESHOLDS_LOWER_BOUND, None)


def confident_counts(y, probs, thresholds):
    """The uncalibrated confident joint of these rows (given x guessed true), as compute_confident_joint counts it
    before it fills the diagonal: mergeable by summing."""
    k = probs.shape[1]
    confident = probs >= thresholds - 1e-6
    how_many = confident.sum(axis=1)
    guess = np.where(how_many > 1, probs.argmax(axis=1), confident.argmax(axis=1))
    counted = how_many > 0
    joint = np.zeros((k, k), np.int64)
    np.add.at(joint, (y[counted], guess[counted]), 1)
    return {"joint": joint, "counts": np.bincount(y, minlength=k).astype(np.int64)}


def calibrated_joint(counts):
    """compute_confident_joint(calibrate=True) from summed `confident_counts`: every class keeps at least one count
    on the diagonal, then cleanlab's calibrate_confident_joint (its formula, with the class counts given)."""
    joint = counts["joint"].copy()
    np.fill_diagonal(joint, joint.diagonal().clip(min=1))
    label_counts = counts["counts"]
    calibrated = (joint.T / np.clip(joint.sum(axis=1), TINY_VALUE, None) * label_counts).T
    calibrated = calibrated / np.clip(np.sum(calibrated), TINY_VALUE, None) * label_counts.sum()
    return round_preserving_row_totals(calibrated)


def prune_counts(joint):
    """How many examples of each (given k, other j) cell to flag: cleanlab's prune-count matrix (transposed back)."""
    return _keep_at_least_n_per_class(joint.T, n=1).T


def margin_cutoffs(histogram, to_prune):
    """Per (given k, other j): the lowest margin bin to flag, so that the bins from it up hold at least the
    `to_prune[k, j]` largest margins (-1 where nothing is pruned)."""
    k = histogram.shape[0]
    cutoffs = np.full((k, k), -1, np.int64)
    for given in range(k):
        for other in range(k):
            n = to_prune[given, other]
            if other != given and n > 0:
                from_top = np.cumsum(histogram[given, other][::-1])
                reached = np.nonzero(from_top >= n)[0]
                cutoffs[given, other] = MARGIN_BINS - 1 - (reached[0] if len(reached) else MARGIN_BINS - 1)
    return cutoffs


def flag(y, probs, cutoffs):
    """find_label_issues(prune_by_noise_rate) per row given the cutoffs: a margin at or above a cell's cutoff, and
    a prediction that is not the given label."""
    flagged = np.zeros(len(y), bool)
    for given, other in zip(*np.nonzero(cutoffs >= 0)):
        rows = y == given
        flagged[rows] |= margin_bins(probs[rows, other] - probs[rows, given]) >= cutoffs[given, other]
    flagged[_reduce_issues(probs, y)] = False
    return flagged


def quality_scores(y, probs):
    return rank.get_label_quality_scores(y, probs)


def find_label_errors_bounded(features: pd.DataFrame, labels, ids, *, max_fit_examples, folds=5,
                              model="logistic_regression", seed=0):
    """The bounded method on a table in memory, step for step as the executor runs it in Beam (for benchmarks and
    tests; every label must be present and every class have at least `folds` examples). Returns (is_issue,
    suggested_label, quality_score), aligned with the rows."""
    labels, ids = np.asarray(labels, dtype=object), [str(i) for i in ids]
    classes = sorted(set(labels))
    y = np.array([classes.index(label) for label in labels])
    x = features.to_numpy(float)
    quota = quotas({name: int((labels == name).sum()) for name in classes}, max_fit_examples, folds)
    keys = sample_keys(ids, seed)
    table = pd.DataFrame({"id": ids, "label": labels, "key": keys,
                          **{name: features[name].to_numpy(float) for name in features.columns}})
    table = table.sort_values(["key", "id"]).groupby("label", sort=False, group_keys=False).apply(
        lambda rows: rows.head(quota[rows.name]))
    models = FoldModels.fit(table, classes=classes, features=list(features.columns), folds=folds, model=model,
                            seed=seed)
    probs = models.predict(ids, x, keys)
    margins = margin_statistics(y, probs)
    joint = calibrated_joint(confident_counts(y, probs, confident_thresholds(margins)))
    flagged = flag(y, probs, margin_cutoffs(margins["histogram"], prune_counts(joint)))
    return flagged, np.asarray(classes, dtype=object)[probs.argmax(axis=1)], quality_scores(y, probs)
