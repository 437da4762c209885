"""The agreement math against published numbers and reference implementations, plus its invariances."""
import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats import inter_rater
from statsmodels.stats.tests.test_inter_rater import diagnoses  # Fleiss (1971): 30 subjects x 6 raters

from components.label_consistency import metrics as M


def stats_of(codes, n_classes):
    return M.accumulate(np.asarray(codes), n_classes)


def fleiss_of(codes, n_classes):
    s = stats_of(codes, n_classes)
    return M.fleiss_kappa(s.fleiss_n, np.asarray(codes).shape[1], s.fleiss_sum, s.fleiss_sq_sum)


def with_missing(seed, n=300, n_labelers=4, n_classes=3, missing=0.3, noise=0.4):
    """Labels from noisy labelers around a true class, some missing (-1)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_classes, n)
    codes = np.where(rng.random((n, n_labelers)) < noise, rng.integers(0, n_classes, (n, n_labelers)),
                     truth[:, None])
    codes[rng.random(codes.shape) < missing] = -1
    return codes


def reliability(codes):
    data = np.asarray(codes, float).T
    data[data < 0] = np.nan
    return data


def test_fleiss_kappa_matches_fleiss_1971():
    overall, per_category = fleiss_of(diagnoses - 1, 5)
    assert overall == pytest.approx(0.4302, abs=5e-5)
    # Fleiss (1971), per-category kappas (also R irr::kappam.fleiss(detail=TRUE)).
    assert per_category == pytest.approx([0.245, 0.245, 0.520, 0.471, 0.566], abs=5e-4)
    table, _ = inter_rater.aggregate_raters(diagnoses)
    assert overall == pytest.approx(inter_rater.fleiss_kappa(table), abs=1e-12)


def test_fleiss_uses_only_examples_labeled_by_everyone():
    codes = with_missing(1, missing=0.15)
    complete = codes[(codes >= 0).all(axis=1)]
    overall, _ = fleiss_of(codes, 3)
    assert stats_of(codes, 3).fleiss_n == len(complete)
    assert overall == pytest.approx(inter_rater.fleiss_kappa(inter_rater.aggregate_raters(complete)[0]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cohen_kappa_matches_sklearn_and_statsmodels(seed):
    codes = with_missing(seed)
    stats = stats_of(codes, 3)
    for i, j in [(0, 1), (1, 3), (2, 3)]:
        both = (codes[:, i] >= 0) & (codes[:, j] >= 0)
        result = M.cohen_kappa(stats.pair_confusion[i, j])
        assert result["n"] == both.sum()
        assert result["value"] == pytest.approx(cohen_kappa_score(codes[both, i], codes[both, j]))
        reference = inter_rater.cohens_kappa(inter_rater.to_table(codes[both][:, [i, j]], bins=np.arange(4))[0])
        assert result["ci95"] == pytest.approx([reference.kappa_low, reference.kappa_upp])
        assert result["ci95"][0] < result["value"] < result["ci95"][1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_krippendorff_alpha_matches_package_with_missing_labels(seed):
    codes = with_missing(seed, missing=0.45)
    assert (codes < 0).sum(axis=1).max() >= 3  # some examples have fewer than two labels
    alpha = M.krippendorff_alpha(stats_of(codes, 3).coincidence)
    assert alpha == pytest.approx(krippendorff.alpha(reliability_data=reliability(codes),
                                                     level_of_measurement="nominal"))


def test_class_alpha_is_alpha_of_the_binarised_labels():
    codes = with_missing(3)
    stats = stats_of(codes, 3)
    for c in range(3):
        binary = np.where(codes < 0, -1, (codes == c).astype(int))
        assert M.class_alpha(stats.coincidence, c) == pytest.approx(M.krippendorff_alpha(
            stats_of(binary, 2).coincidence))
        assert M.class_alpha(stats.coincidence, c) == pytest.approx(krippendorff.alpha(
            reliability_data=reliability(binary), level_of_measurement="nominal"))


def test_streaming_sums_equal_the_whole():
    codes = with_missing(4)
    whole = stats_of(codes, 3)
    parts = [stats_of(part, 3) for part in np.array_split(codes, 7)]
    merged = parts[0]
    for part in parts[1:]:
        merged = M.merge(merged, part)
    for name, value in vars(whole).items():
        np.testing.assert_allclose(getattr(merged, name), value)


def test_examples_with_fewer_than_two_labels_are_counted_and_left_out():
    codes = np.array([[0, 0, -1], [1, -1, -1], [-1, -1, -1], [1, 1, 0]])
    stats = stats_of(codes, 2)
    assert (stats.n_fewer_than_two, stats.n_unlabeled) == (2, 1)
    assert stats.pair_confusion.sum() == 1 + 3  # one pair in row 0, three in row 3
    assert stats.coincidence.sum() == 2 + 3  # pairable values only


def test_single_class_is_undefined_not_a_division_by_zero():
    codes = np.zeros((20, 3), int)
    stats = stats_of(codes, 1)
    with np.errstate(all="raise"):
        assert M.krippendorff_alpha(stats.coincidence) is None
        assert M.cohen_kappa(stats.pair_confusion[0, 1])["value"] is None
        assert fleiss_of(codes, 1) == (None, [None])
    assert M.hlp_estimate(stats.pair_confusion) == 1.0


def test_hlp_and_specific_agreement_by_hand():
    # Pairs: ex0 (a,a) agree; ex1 (a,b) disagree; ex2 (b,b) agree.
    stats = stats_of([[0, 0], [0, 1], [1, 1]], 2)
    assert M.hlp_estimate(stats.pair_confusion) == pytest.approx(2 / 3)
    assert M.positive_specific_agreement(stats.pair_confusion) == pytest.approx([2 / 3, 2 / 3])


def test_majority_vote_tie_rule():
    codes = np.array([[0, 1, -1], [0, 1, -1], [2, 2, 1], [-1, -1, -1], [1, 0, -1]])
    preferred = np.array([1, 2, 0, 0, -1])
    # tie 0/1 with label 1 -> 1; tie 0/1 with label 2 (not tied) -> first in class order 0; clear majority;
    # no labels -> -1; tie without a label -> 0.
    assert M.majority_vote(codes, 3, preferred).tolist() == [1, 0, 2, -1, 0]


def test_leave_one_out_consensus_confusion():
    codes = np.array([[0, 0, 1], [1, 1, 1], [0, 1, -1]])
    stats = stats_of(codes, 2)
    # labeler 2: others say 0 on ex0 (it said 1), 1 on ex1 (it said 1); ex2 unlabeled by it.
    assert stats.loo_confusion[2].tolist() == [[0, 1], [0, 1]]
    # labeler 0 on ex2: the others' consensus is labeler 1's single label (1).
    assert stats.loo_confusion[0].tolist() == [[0, 0], [1, 1]]
    assert stats.loo_undecided.tolist() == [1, 1, 0]  # ex0 for labeler 0 and 1: others tie 0 vs 1


def test_dawid_skene_downweights_a_bad_labeler():
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 3, 2000)
    good = [np.where(rng.random(2000) < 0.9, truth, rng.integers(0, 3, 2000)) for _ in range(2)]
    bad = [np.where(rng.random(2000) < 0.2, truth, (truth + 1) % 3) for _ in range(2)]  # systematic confusions
    codes = np.stack(good + bad, axis=1)
    patterns, weights = np.unique(codes, axis=0, return_counts=True)
    posterior = M.dawid_skene(patterns, weights, 3)
    lookup = {tuple(p): q.argmax() for p, q in zip(patterns, posterior)}
    ds = np.array([lookup[tuple(row)] for row in codes])
    majority = M.majority_vote(codes, 3)
    assert (ds == truth).mean() > 0.97 > (majority == truth).mean()
    np.testing.assert_allclose(posterior.sum(axis=1), 1)


labels_matrix = st.integers(2, 5).flatmap(lambda k: st.tuples(
    st.just(k), st.lists(st.lists(st.integers(-1, k - 1), min_size=3, max_size=3), min_size=4, max_size=40)))


def figures(codes, k):
    s = stats_of(codes, k)
    fleiss = M.fleiss_kappa(s.fleiss_n, codes.shape[1], s.fleiss_sum, s.fleiss_sq_sum)[0]
    return M.krippendorff_alpha(s.coincidence), fleiss, M.hlp_estimate(s.pair_confusion)


def same(a, b):
    return all((x is None and y is None) or (x is not None and y is not None and np.isclose(x, y))
               for x, y in zip(a, b))


@settings(max_examples=60, deadline=None)
@given(labels_matrix, st.randoms(use_true_random=False))
def test_invariant_to_permuting_labelers_examples_and_class_names(data, rnd):
    k, rows = data
    codes = np.array(rows)
    base = figures(codes, k)
    labelers = list(range(3))
    rnd.shuffle(labelers)
    examples = list(range(len(codes)))
    rnd.shuffle(examples)
    names = list(range(k))
    rnd.shuffle(names)
    renamed = np.where(codes >= 0, np.array(names)[np.clip(codes, 0, None)], -1)
    assert same(base, figures(codes[:, labelers], k))
    assert same(base, figures(codes[examples], k))
    assert same(base, figures(renamed, k))


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6), st.lists(st.integers(0, 5), min_size=2, max_size=50), st.integers(2, 5))
def test_perfect_agreement_is_one(k, truth, n_labelers):
    truth = np.array(truth) % k
    codes = np.repeat(truth[:, None], n_labelers, axis=1)
    alpha, fleiss, hlp = figures(codes[:, :3] if n_labelers >= 3 else codes, k)
    if len(set(truth)) < 2:
        assert alpha is None and fleiss is None  # one class: undefined
    else:
        assert alpha == pytest.approx(1) and fleiss == pytest.approx(1)
        assert M.cohen_kappa(stats_of(codes, k).pair_confusion[0, 1])["value"] == pytest.approx(1)
    assert hlp == 1


@pytest.mark.parametrize("k", [2, 4])
def test_chance_level_labels_give_about_zero(k):
    rng = np.random.default_rng(k)
    codes = rng.integers(0, k, (20000, 3))
    codes[rng.random(codes.shape) < 0.2] = -1
    alpha, fleiss, hlp = figures(codes, k)
    assert abs(alpha) < 0.02 and abs(fleiss) < 0.02
    assert hlp == pytest.approx(1 / k, abs=0.02)
    assert abs(M.cohen_kappa(stats_of(codes, k).pair_confusion[0, 1])["value"]) < 0.03
