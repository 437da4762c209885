"""Inter-labeler agreement as small pure numpy functions, computed from sums that stream.

Labels arrive as a code matrix `codes` of shape (n_examples, n_labelers): class indices 0..K-1, and -1 where a
labeler gave no label (missing labels are normal). `accumulate(codes, K)` turns a batch of rows into `LabelStats`:
K-by-K sized sums (pairwise confusion counts, Krippendorff's coincidence matrix, Fleiss' per-category sums,
confusion of each labeler against the leave-one-out consensus). Stats of two batches add up with `merge`, so a Beam
combiner computes them with memory that does not depend on the number of examples, and every figure below is
exact, not an approximation:

- Cohen's kappa per labeler pair, on the examples both labeled, with a 95% interval from the large-sample
  (asymptotic) standard error of Fleiss, Cohen & Everitt (1969), as computed by `statsmodels`' `cohens_kappa`.
- Fleiss' kappa (Fleiss 1971) and its per-category kappa, on the examples labeled by every labeler.
- Krippendorff's alpha, nominal, from the coincidence matrix: uses every example with at least two labels, so
  missing labels are handled as Krippendorff defines. Per class, the same alpha with the class against the rest.
- Positive specific agreement per class (Uebersax): of the labeler pairs where at least one said class c, the share
  where both did.
- Human-level performance (HLP): the expected accuracy of one labeler scored against another labeler as the
  ground truth, pooled over every pair of labels given to the same example.

A figure that is undefined (one class only, or no example with two labels) is `None`, never a division by zero.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from statsmodels.stats import inter_rater

HLP_METHOD = ("pairwise: share of ordered pairs of labels on the same example (from different labelers) that "
              "agree, pooled over all labeler pairs; the expected accuracy of one labeler scored against another")


@dataclasses.dataclass
class LabelStats:
    """Streaming sums over examples; all sizes depend on labelers L and classes K only."""
    n_examples: int
    n_unlabeled: int  # examples no labeler labeled
    n_fewer_than_two: int  # examples with 0 or 1 labels: excluded from every pairwise figure
    labels: np.ndarray  # [L, K] labels given, per labeler and class
    pair_confusion: np.ndarray  # [L, L, K, K]; [i, j, a, b] = examples labeler i called a and j called b (i < j)
    coincidence: np.ndarray  # [K, K] Krippendorff's coincidence matrix
    fleiss_n: int  # examples labeled by every labeler
    fleiss_sum: np.ndarray  # [K] sum over those examples of n_ec (labels of class c on example e)
    fleiss_sq_sum: np.ndarray  # [K] sum of n_ec ** 2
    loo_confusion: np.ndarray  # [L, K, K]; [l, a, b] = the others' majority said a, labeler l said b
    loo_undecided: np.ndarray  # [L] labels of l where the other labelers had no label or tied

    @classmethod
    def empty(cls, n_labelers, n_classes):
        L, K = n_labelers, n_classes
        return cls(0, 0, 0, np.zeros((L, K), np.int64), np.zeros((L, L, K, K), np.int64),
                   np.zeros((K, K)), 0, np.zeros(K, np.int64), np.zeros(K, np.int64),
                   np.zeros((L, K, K), np.int64), np.zeros(L, np.int64))


def merge(a: LabelStats, b: LabelStats) -> LabelStats:
    """The stats of the union of two disjoint sets of examples."""
    return LabelStats(*(getattr(a, f.name) + getattr(b, f.name) for f in dataclasses.fields(LabelStats)))


def class_counts(codes, n_classes):
    """[n, K]: how many labelers gave each class to each example."""
    counts = np.zeros((codes.shape[0], n_classes), np.int64)
    rows = np.arange(codes.shape[0])
    for column in codes.T:
        given = column >= 0
        np.add.at(counts, (rows[given], column[given]), 1)
    return counts


def _majority(counts, preferred=None):
    """(winner per row or -1 where no votes, True where the top count is tied); ties go to `preferred` if it is
    among the tied classes, else to the first tied class in class order."""
    top = counts.max(axis=1)
    at_top = counts == top[:, None]
    tied = at_top.sum(axis=1) > 1
    winner = at_top.argmax(axis=1)
    if preferred is not None:
        rows = np.arange(len(counts))
        use = tied & (preferred >= 0) & at_top[rows, np.clip(preferred, 0, None)]
        winner = np.where(use, preferred, winner)
    winner = np.where(top > 0, winner, -1)
    return winner, tied & (top > 0)


def majority_vote(codes, n_classes, preferred=None):
    """Consensus class per example (-1 where nobody labeled it).

    Tie rule: among the classes with the most votes, the example's current label (`preferred`, codes, -1 for none)
    if it is one of them, otherwise the first of them in class order (classes are sorted by name)."""
    return _majority(class_counts(codes, n_classes), preferred)[0]


def example_agreement(codes, n_classes):
    """Per example, the share of ordered pairs of its labels that agree; NaN with fewer than two labels."""
    counts = class_counts(codes, n_classes)
    m = counts.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(m >= 2, (counts * (counts - 1)).sum(axis=1) / (m * (m - 1)), np.nan)


def accumulate(codes, n_classes) -> LabelStats:
    """The LabelStats of one batch of label rows."""
    codes = np.asarray(codes)
    n, L = codes.shape
    K = n_classes
    counts = class_counts(codes, K)
    m = counts.sum(axis=1)
    stats = LabelStats.empty(L, K)
    stats.n_examples = n
    stats.n_unlabeled = int((m == 0).sum())
    stats.n_fewer_than_two = int((m < 2).sum())
    for i in range(L):
        stats.labels[i] = np.bincount(codes[codes[:, i] >= 0, i], minlength=K)
        for j in range(i + 1, L):
            both = (codes[:, i] >= 0) & (codes[:, j] >= 0)
            cells = codes[both, i] * K + codes[both, j]
            stats.pair_confusion[i, j] = np.bincount(cells, minlength=K * K).reshape(K, K)
    # Coincidences: each unit with m_u >= 2 values contributes n_uc * n_uk / (m_u - 1) (minus self-pairs).
    weight = np.where(m >= 2, 1.0 / np.maximum(m - 1, 1), 0.0)
    weighted = counts * weight[:, None]
    stats.coincidence = weighted.T @ counts - np.diag(weighted.sum(axis=0))
    complete = counts[m == L] if L >= 2 else counts[:0]
    stats.fleiss_n = len(complete)
    stats.fleiss_sum = complete.sum(axis=0)
    stats.fleiss_sq_sum = (complete ** 2).sum(axis=0)
    for i in range(L):
        has = codes[:, i] >= 0
        others = counts[has].copy()
        others[np.arange(has.sum()), codes[has, i]] -= 1
        consensus, tied = _majority(others)
        decided = (consensus >= 0) & ~tied
        stats.loo_undecided[i] = int((~decided).sum())
        cells = consensus[decided] * K + codes[has, i][decided]
        stats.loo_confusion[i] = np.bincount(cells, minlength=K * K).reshape(K, K)
    return stats


def cohen_kappa(table):
    """{"value", "ci95", "n"} for a K-by-K confusion table of two labelers; value None when undefined (fewer than
    two examples, or chance agreement is 1, i.e. both used a single class). CI: asymptotic SE (statsmodels)."""
    table = np.asarray(table, float)
    n = int(table.sum())
    if n < 2:
        return {"value": None, "ci95": None, "n": n}
    expected = (table.sum(axis=0) * table.sum(axis=1)).sum() / n ** 2
    if np.isclose(expected, 1.0):
        return {"value": None, "ci95": None, "n": n}
    result = inter_rater.cohens_kappa(table)
    return {"value": float(result.kappa), "ci95": [float(result.kappa_low), float(result.kappa_upp)], "n": n}


def fleiss_kappa(n_examples, n_raters, category_sum, category_sq_sum):
    """(overall kappa, per-category kappas) of Fleiss (1971) from the sums over examples rated by all `n_raters`;
    None where undefined."""
    category_sum = np.asarray(category_sum, float)
    category_sq_sum = np.asarray(category_sq_sum, float)
    total = n_examples * n_raters
    if n_examples == 0 or n_raters < 2:
        return None, [None] * len(category_sum)
    p = category_sum / total
    observed = (category_sq_sum.sum() - total) / (total * (n_raters - 1))
    chance = (p ** 2).sum()
    overall = None if np.isclose(chance, 1.0) else float((observed - chance) / (1 - chance))
    per_category = []
    for s, sq, pj in zip(category_sum, category_sq_sum, p):
        if pj <= 0 or pj >= 1:
            per_category.append(None)
        else:
            disagreement = n_raters * s - sq  # sum_e n_ec * (m - n_ec)
            per_category.append(float(1 - disagreement / (total * (n_raters - 1) * pj * (1 - pj))))
    return overall, per_category


def krippendorff_alpha(coincidence):
    """Nominal alpha = 1 - D_o / D_e from the coincidence matrix; None when undefined (one class, or no pairs)."""
    o = np.asarray(coincidence, float)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    expected = n * n - (n_c ** 2).sum()
    if n <= 1 or expected <= 1e-12:
        return None
    return float(1 - (n - 1) * (o.sum() - np.trace(o)) / expected)


def class_alpha(coincidence, c):
    """Nominal alpha of class c against all other classes (the coincidence matrix collapsed to 2 x 2)."""
    o = np.asarray(coincidence, float)
    n_c, n = o[c].sum(), o.sum()
    both, c_other = o[c, c], n_c - o[c, c]
    return krippendorff_alpha([[both, c_other], [c_other, n - 2 * n_c + both]])


def positive_specific_agreement(pair_confusion):
    """Per class: of the labeler pairs where at least one said c, the share where both did (None if c unused)."""
    summed = pair_confusion.sum(axis=(0, 1))
    symmetric = summed + summed.T
    involving = symmetric.sum(axis=1)
    return [None if involving[c] == 0 else float(symmetric[c, c] / involving[c]) for c in range(len(involving))]


def hlp_estimate(pair_confusion):
    """Expected accuracy of one labeler against another (see HLP_METHOD); None with no doubly labeled example."""
    total = pair_confusion.sum()
    return None if total == 0 else float(np.trace(pair_confusion, axis1=2, axis2=3).sum() / total)


def dawid_skene(patterns, weights, n_classes, max_iterations=200, tolerance=1e-8, smoothing=0.01):
    """Posterior class probabilities [P, K] for each distinct label pattern (rows of codes, -1 missing).

    Dawid & Skene (1979) EM with one confusion matrix per labeler and class priors, run on the distinct patterns
    weighted by how many examples show them: examples with the same pattern have the same posterior, so this is
    the same EM as over the examples, at a cost that depends on the number of distinct patterns only.
    Initialised from the vote shares; `smoothing` is added to every confusion count (no zero probabilities).
    Patterns with no label get the class priors."""
    patterns = np.asarray(patterns)
    weights = np.asarray(weights, float)
    counts = class_counts(patterns, n_classes).astype(float)
    votes = counts.sum(axis=1, keepdims=True)
    posterior = np.where(votes > 0, counts / np.maximum(votes, 1), 1.0 / n_classes)
    n_labelers = patterns.shape[1]
    for _ in range(max_iterations):
        weighted = posterior * weights[:, None]
        prior = weighted.sum(axis=0) + smoothing
        prior /= prior.sum()
        log_posterior = np.tile(np.log(prior), (len(patterns), 1))
        for l in range(n_labelers):
            given = patterns[:, l] >= 0
            confusion = np.full((n_classes, n_classes), smoothing)  # [true, said]
            np.add.at(confusion.T, patterns[given, l], weighted[given])
            confusion /= confusion.sum(axis=1, keepdims=True)
            log_posterior[given] += np.log(confusion[:, patterns[given, l]]).T
        updated = np.exp(log_posterior - log_posterior.max(axis=1, keepdims=True))
        updated /= updated.sum(axis=1, keepdims=True)
        change = np.abs(updated - posterior).max()
        posterior = updated
        if change < tolerance:
            break
    return posterior
