"""The bounded method's pieces against cleanlab's own functions on the same out-of-sample probabilities, summed over
batches the way the Beam combines sum them."""
import cleanlab.count
import cleanlab.filter
import cleanlab.rank
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits, load_wine
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from components.label_errors import capped
from components.label_errors.finder import MODELS, LabelErrorsError


def noisy_probabilities(load, seed, fraction=0.12):
    """(labels with `fraction` flipped, out-of-sample probabilities from 5-fold cross-validation, flipped mask)."""
    x, y = load(return_X_y=True)
    rng = np.random.default_rng(seed)
    k = len(np.unique(y))
    flipped = np.zeros(len(y), bool)
    flipped[rng.choice(len(y), int(fraction * len(y)), replace=False)] = True
    noisy = np.where(flipped, (y + rng.integers(1, k, len(y))) % k, y)
    probs = cross_val_predict(MODELS["logistic_regression"](seed), x, noisy, method="predict_proba",
                              cv=StratifiedKFold(5, shuffle=True, random_state=seed))
    return noisy, probs, flipped


def summed(statistic, y, probs, *args, batches=7):
    """`statistic` of the rows in `batches` uneven pieces, summed as BatchStatistics sums it."""
    cuts = np.sort(np.random.default_rng(1).choice(np.arange(1, len(y)), batches - 1, replace=False))
    parts = [statistic(y[rows], probs[rows], *args) for rows in np.split(np.arange(len(y)), cuts)]
    total = parts[0]
    for part in parts[1:]:
        total = capped.add_statistics(total, part)
    return total


@pytest.mark.parametrize("load", [load_wine, load_digits])
def test_thresholds_and_joint_are_cleanlabs(load):
    y, probs, _ = noisy_probabilities(load, 0)
    margins = summed(capped.margin_statistics, y, probs)
    thresholds = capped.confident_thresholds(margins)
    np.testing.assert_allclose(thresholds, cleanlab.count.get_confident_thresholds(y, probs), rtol=0, atol=1e-9)
    # With cleanlab's thresholds the calibrated confident joint is cleanlab's, count for count.
    exact = cleanlab.count.get_confident_thresholds(y, probs)
    joint = capped.calibrated_joint(summed(capped.confident_counts, y, probs, exact))
    np.testing.assert_array_equal(joint, cleanlab.count.compute_confident_joint(y, probs))
    np.testing.assert_array_equal(margins["counts"], np.bincount(y))


@pytest.mark.parametrize("load", [load_wine, load_digits])
def test_flags_are_cleanlabs_up_to_the_histograms_resolution(load):
    """prune_by_noise_rate flags the n largest margins of each cell; the cutoff at the histogram's bin keeps all of
    them and, at most, the other examples that share the cutoff's bin."""
    for seed in range(3):
        y, probs, _ = noisy_probabilities(load, seed)
        margins = summed(capped.margin_statistics, y, probs)
        joint = capped.calibrated_joint(summed(capped.confident_counts, y, probs,
                                               capped.confident_thresholds(margins)))
        cutoffs = capped.margin_cutoffs(margins["histogram"], capped.prune_counts(joint))
        ours = capped.flag(y, probs, cutoffs)
        theirs = cleanlab.filter.find_label_issues(y, probs, n_jobs=1)
        assert (ours >= theirs).all()  # every example cleanlab flags
        assert ours.sum() - theirs.sum() <= max(2, 0.02 * theirs.sum()), (ours.sum(), theirs.sum())


def test_quality_scores_are_cleanlabs_per_row():
    y, probs, _ = noisy_probabilities(load_wine, 0)
    np.testing.assert_array_equal(capped.quality_scores(y[:50], probs[:50]),
                                  cleanlab.rank.get_label_quality_scores(y, probs)[:50])


def test_quotas_are_proportional_at_least_one_per_fold_and_within_the_cap():
    quota = capped.quotas({"a": 899_995, "b": 99_000, "c": 1_000, "d": 5}, 10_000, 5)
    # 1% of each class; "d" gets one example per fold instead of none, which the largest class pays for.
    assert quota == {"a": 8_995, "b": 990, "c": 10, "d": 5}
    with pytest.raises(LabelErrorsError, match=r"\[label_errors\] max_fit_examples 8"):
        capped.quotas({"a": 100, "b": 100}, 8, 5)


def test_fold_models_score_sampled_examples_out_of_fold():
    x, y = load_wine(return_X_y=True)
    ids = [f"w{i}" for i in range(len(y))]
    keys = capped.sample_keys(ids, 0)
    sample = pd.DataFrame({"id": ids, "label": y, "key": keys, **{f"f{j}": x[:, j] for j in range(x.shape[1])}})
    features = [f"f{j}" for j in range(x.shape[1])]
    models = capped.FoldModels.fit(sample, classes=[0, 1, 2], features=features, folds=5,
                                   model="logistic_regression", seed=0)
    folds = models.folds_of(ids)
    # Folds are balanced within each class, and every fold model knows every class.
    for label in range(3):
        sizes = np.bincount(folds[y == label], minlength=5)
        assert sizes.max() - sizes.min() <= 1
    assert all(list(m.classes_) == [0, 1, 2] for m in models.models)
    # A sampled example's probabilities come from the model it was held out of, whatever batch it is scored in.
    probs = models.predict(ids, x)
    held_out = models.models[folds[0]].predict_proba(x[:1])
    np.testing.assert_allclose(probs[0], held_out[0], atol=1e-11)
    np.testing.assert_array_equal(models.predict(ids[::-1], x[::-1])[::-1], probs)
    np.testing.assert_array_equal(models.predict(ids[:1], x[:1]), probs[:1])
    # An example not in the sample is scored by the model of its hashed fold (none of the models saw it).
    assert models.folds_of(["new"])[0] == int(capped.sample_keys(["new"], 0)[0]) % 5


def test_sampled_folds_are_found_by_key_and_id_when_keys_collide():
    """Scoring finds a sampled example's fold by its key in the sorted sampled keys, then checks the id: two sampled
    ids with one key (a 64-bit hash collision, made here) and an unsampled id with a sampled key keep their folds."""
    x, y = load_wine(return_X_y=True)
    ids = [f"w{i}" for i in range(len(y))]
    keys = capped.sample_keys(ids, 0)
    keys[1] = keys[2] = keys[0]  # the first three are all class 0
    sample = pd.DataFrame({"id": ids, "label": y, "key": keys, **{f"f{j}": x[:, j] for j in range(x.shape[1])}})
    models = capped.FoldModels.fit(sample, classes=[0, 1, 2], features=[f"f{j}" for j in range(x.shape[1])],
                                   folds=5, model="logistic_regression", seed=0)
    ranked = sample.sort_values(["label", "key", "id"], kind="stable")
    expected = dict(zip(ranked["id"], ranked.groupby("label").cumcount() % 5))
    np.testing.assert_array_equal(models.folds_of(ids, keys), [expected[i] for i in ids])
    np.testing.assert_array_equal(models.folds_of(["new"], keys[:1]), [int(keys[0]) % 5])
