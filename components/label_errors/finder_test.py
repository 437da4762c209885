"""The finder on real data with planted label flips, and on the inputs a user can get wrong."""
import cleanlab.count
import cleanlab.dataset
import cleanlab.filter
import cleanlab.rank
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from components.label_errors.finder import MODELS, LabelErrorsError, find_label_errors
from pipeline.configs import LABEL_ERROR_MODELS, ConfigError, config_from_dict

QUIET = dict(log=lambda message: None)


def flipped_wine(seed, fraction=0.1):
    """sklearn's wine data (178 examples, 13 features, 3 classes) with `fraction` of the labels flipped."""
    x, y = load_wine(return_X_y=True)
    rng = np.random.default_rng(seed)
    flip = rng.choice(len(y), int(round(fraction * len(y))), replace=False)
    noisy = y.copy()
    noisy[flip] = (y[flip] + rng.integers(1, 3, len(flip))) % 3
    return pd.DataFrame(x), y, noisy


def test_planted_flips_in_wine_are_found():
    recalls, precisions = [], []
    for seed in range(5):
        features, true, noisy = flipped_wine(seed)
        findings = find_label_errors(features, noisy, **QUIET)
        flipped = noisy != true
        hits = findings.is_issue & flipped
        recalls.append(hits.sum() / flipped.sum())
        precisions.append(hits.sum() / findings.is_issue.sum())
        # A found flip's suggested label is mostly the label before the flip (measured: 88-100% per seed).
        assert (findings.suggested_label[hits] == true[hits]).mean() >= 0.8
    # Measured on seeds 0-4 (18 flips of 178 each): recall 0.67-0.94 (mean 0.86), precision 0.79-1.0 (mean 0.87).
    assert np.mean(recalls) >= 0.75 and min(recalls) >= 0.6, recalls
    assert np.mean(precisions) >= 0.75 and min(precisions) >= 0.7, precisions


def test_clean_labels_are_ranked_above_flipped_ones():
    features, true, noisy = flipped_wine(0)
    findings = find_label_errors(features, noisy, **QUIET)
    flipped = noisy != true
    assert np.median(findings.quality_score[flipped]) < np.median(findings.quality_score[~flipped])


def test_findings_and_summary_are_cleanlabs_on_the_same_out_of_sample_probabilities():
    """The finder's flags, scores and noise figures equal cleanlab's own, called here directly on out-of-sample
    probabilities computed here with sklearn (the documented model: median impute, scale, logistic regression; the
    documented folds: stratified 5-fold, shuffled with the seed)."""
    features, true, noisy = flipped_wine(0)
    findings = find_label_errors(features, noisy, **QUIET)
    summary = findings.summary

    model = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                          LogisticRegression(max_iter=2000, random_state=0))
    pred_probs = cross_val_predict(model, features.to_numpy(float), noisy, method="predict_proba",
                                   cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=0))
    expected_issues = cleanlab.filter.find_label_issues(noisy, pred_probs)
    joint = cleanlab.count.estimate_joint(noisy, pred_probs)
    np.testing.assert_array_equal(findings.is_issue, expected_issues)
    np.testing.assert_allclose(findings.quality_score, cleanlab.rank.get_label_quality_scores(noisy, pred_probs))
    np.testing.assert_array_equal(findings.suggested_label.astype(int), pred_probs.argmax(axis=1))
    assert summary["counts"] == {"examples": 178, "analysed": 178, "label_issues": int(expected_issues.sum()),
                                 "unlabelled": 0, "skipped_small_classes": 0}
    assert summary["estimated_noise_rate"] == pytest.approx(1 - np.trace(joint))
    per_class = cleanlab.dataset.rank_classes_by_label_quality(labels=noisy, pred_probs=pred_probs, joint=joint)
    expected_classes = {int(row["Class Index"]): row["Label Noise"] for _, row in per_class.iterrows()}
    assert {c["class"]: pytest.approx(c["estimated_noise_rate"]) for c in summary["classes"]} == expected_classes
    for c in summary["classes"]:
        assert c["examples"] == (noisy == c["class"]).sum()
        assert c["label_issues"] == (expected_issues & (noisy == c["class"])).sum()

    # Against the planted truth: 18 of 178 labels (10.1%) flipped, between every pair of classes.
    assert abs(summary["estimated_noise_rate"] - (noisy != true).mean()) < 0.05
    overlapping = {frozenset((str(o["class_a"]), str(o["class_b"]))) for o in summary["overlapping_classes"]}
    flipped_pairs = {frozenset((str(a), str(b))) for a, b in zip(true[noisy != true], noisy[noisy != true])}
    assert overlapping and overlapping <= flipped_pairs


def test_every_model_runs_and_is_the_one_the_config_allows():
    assert set(MODELS) == set(LABEL_ERROR_MODELS)
    features, _, noisy = flipped_wine(1)
    findings = find_label_errors(features, noisy, model="hist_gradient_boosting", folds=3, **QUIET)
    assert findings.summary["method"]["model"] == "hist_gradient_boosting"
    assert findings.is_issue.any()


def test_small_class_unlabelled_and_empty_feature_are_reported_not_dropped():
    features, _, noisy = flipped_wine(2)
    labels = noisy.astype(object)
    labels[np.flatnonzero(noisy == 2)[3:]] = None  # class 2 keeps 3 examples, fewer than 5 folds
    features["empty"] = np.nan
    features.iloc[:7, 0] = np.nan
    logged = []
    findings = find_label_errors(features, labels, log=logged.append)
    summary = findings.summary
    unlabelled = sum(label is None for label in labels)
    assert summary["counts"]["unlabelled"] == unlabelled
    assert summary["skipped_classes"] == [
        {"class": 2, "examples": 3, "reason": "fewer than 5 examples (one per cross-validation fold)"}]
    assert summary["counts"]["analysed"] == 178 - unlabelled - 3 == findings.analysed.sum()
    assert summary["excluded_features"] == [{"feature": "empty", "reason": "no values at all"}]
    # Column 0 lost its first 7 values; those of its rows that are analysed were imputed (the analysed rows only).
    analysed = np.array([label is not None and label != 2 for label in labels])
    assert summary["imputed_values"] == {0: int(analysed[:7].sum())}
    assert not findings.is_issue[~findings.analysed].any()
    assert any("class 2 has 3 example(s)" in line for line in logged)
    assert any("no values at all: empty" in line for line in logged)


@pytest.mark.parametrize("change, message", [
    (dict(model="svm"), "unknown label-error model 'svm'"),
    (dict(folds=1), "at least 2 folds"),
    (dict(folds=100), "need at least 2 classes with at least 100 examples"),
])
def test_bad_settings_are_clear_errors(change, message):
    features, _, noisy = flipped_wine(0)
    with pytest.raises(LabelErrorsError, match=message):
        find_label_errors(features, noisy, **change, **QUIET)


def test_no_feature_with_values_is_a_clear_error():
    with pytest.raises(LabelErrorsError, match="none of the features"):
        find_label_errors(pd.DataFrame({"a": [np.nan] * 20}), [0, 1] * 10, **QUIET)


@pytest.mark.parametrize("section, message", [
    ({"model": "svm"}, r"\[label_errors\] model must be one of"),
    ({"folds": 1}, r"\[label_errors\] folds must be at least 2"),
    ({"folds": "five"}, "'folds' must be int"),
    ({"max_fit_examples": 10}, r"\[label_errors\] max_fit_examples must be a whole number of at least 100"),
    ({"max_fit_examples": "lots"}, "'max_fit_examples' must be int"),
])
def test_config_errors_name_the_key(section, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"label_errors": section})
