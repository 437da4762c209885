"""The estimates on synthetic predictions whose truth is known: calibrated by construction, or not."""
import numpy as np
import pytest

from components.drift import measures
from pipeline.monitor import estimates


def _calibrated(rng, rows, n_classes=3, concentration=1.0):
    """Probabilities from a Dirichlet and a true label drawn from them: calibrated by construction."""
    probabilities = rng.dirichlet(np.full(n_classes, concentration), size=rows)
    labels = (rng.random((rows, 1)) > probabilities.cumsum(axis=1)).sum(axis=1)
    return probabilities, labels


@pytest.mark.parametrize("rows", [50, 2000])
def test_cbpe_interval_covers_the_true_accuracy_of_a_calibrated_model(rows):
    rng = np.random.default_rng(rows)
    covered, repetitions = 0, 200
    for _ in range(repetitions):
        probabilities, labels = _calibrated(rng, rows)
        summary = estimates.PredictionSummary(3).add(probabilities, labels)
        low, high = estimates.cbpe(summary)["interval"]
        covered += low <= estimates.accuracy(summary)["accuracy"] <= high
    # 95% intervals: 200 repetitions give 190 covered on average, sd about 3.
    assert 180 <= covered <= 199


def test_cbpe_overestimates_an_overconfident_model():
    """The assumption matters: probabilities sharpened after the labels were drawn are no longer calibrated."""
    rng = np.random.default_rng(0)
    probabilities, labels = _calibrated(rng, 5000)
    sharpened = probabilities ** 4 / (probabilities ** 4).sum(axis=1, keepdims=True)
    summary = estimates.PredictionSummary(3).add(sharpened, labels)
    estimate = estimates.cbpe(summary)
    assert estimate["interval"][0] > estimates.accuracy(summary)["accuracy"] + 0.05


def test_summary_merges_to_the_same_sums_as_one_batch():
    rng = np.random.default_rng(1)
    probabilities, labels = _calibrated(rng, 300)
    labels[::7] = estimates.MISSING_LABEL
    labels[::11] = 3  # a label the model does not know
    whole = estimates.PredictionSummary(3).add(probabilities, labels)
    parts = estimates.PredictionSummary(3).add(probabilities[:100], labels[:100])
    parts.merge(estimates.PredictionSummary(3).add(probabilities[100:], labels[100:]))
    for name in ("rows", "labelled", "correct", "unknown_labels"):
        assert getattr(parts, name) == getattr(whole, name)
    np.testing.assert_array_equal(parts.predicted, whole.predicted)
    assert parts.confidence_sum == pytest.approx(whole.confidence_sum)
    missing, unknown = set(range(0, 300, 7)) - set(range(0, 300, 11)), set(range(0, 300, 11))
    assert (whole.labelled, whole.unknown_labels) == (300 - len(missing), len(unknown))
    assert whole.predicted.sum() == 300


def test_accuracy_has_a_wilson_interval():
    summary = estimates.PredictionSummary(2)
    summary.add(np.array([[0.9, 0.1]] * 10), np.array([0] * 8 + [1] * 2))
    result = estimates.accuracy(summary)
    assert result["accuracy"] == 0.8
    assert result["interval"] == pytest.approx([0.4902, 0.9433], abs=1e-4)  # Wilson, 8 of 10
    assert estimates.accuracy(estimates.PredictionSummary(2).add(np.array([[0.5, 0.5]]))) is None


def test_accuracy_drop_verdicts_need_size_and_significance():
    thresholds = estimates.AccuracyThresholds(max_drop=0.05, min_rows=30, alpha=0.01, possible_alpha=0.1)
    # 800 of 1000 against 0.95 on 1000: large and significant.
    assert estimates.accuracy_verdict(estimates.compare_accuracy(800, 1000, 0.95, 1000), thresholds) == "drift"
    # 36 of 40 against 0.99 on 40: a 9-point drop that 40 rows can only suggest.
    small = estimates.compare_accuracy(36, 40, 0.99, 40)
    assert 0.01 < small["p_value"] < 0.1
    assert estimates.accuracy_verdict(small, thresholds) == "possible drift"
    # 94,000 of 100,000 against 0.95 on 100,000: significant but smaller than max_drop.
    huge = estimates.compare_accuracy(94_000, 100_000, 0.95, 100_000)
    assert huge["p_value"] < 0.01
    assert estimates.accuracy_verdict(huge, thresholds) == "no drift"
    assert estimates.accuracy_verdict(estimates.compare_accuracy(990, 1000, 0.95, 1000), thresholds) == "no drift"
    assert estimates.accuracy_verdict(estimates.compare_accuracy(5, 10, 0.95, 1000), thresholds) == \
        "too little data"


def test_prediction_drift_uses_the_drift_measures():
    thresholds = measures.DriftThresholds()
    same = estimates.prediction_drift({"a": 480, "b": 320, "c": 200}, {"a": 500, "b": 300, "c": 200}, thresholds)
    assert same.verdict == "no drift" and same.effect == pytest.approx(0.02)
    shifted = estimates.prediction_drift({"a": 300, "b": 300, "c": 400}, {"a": 500, "b": 300, "c": 200}, thresholds)
    assert shifted.verdict == "drift" and shifted.effect == pytest.approx(0.2) and shifted.p_value < 1e-6
    assert shifted.max_difference_value in ("a", "c")
    assert estimates.prediction_drift({"a": 20}, {"a": 500, "b": 300}, thresholds).verdict == "too little data"


def test_compare_cbpe_finds_a_fall_in_confidence():
    rng = np.random.default_rng(2)
    sure, _ = _calibrated(rng, 2000, concentration=0.3)
    unsure, _ = _calibrated(rng, 2000, concentration=3.0)
    reference = estimates.cbpe(estimates.PredictionSummary(3).add(sure))
    fall = estimates.compare_cbpe(estimates.cbpe(estimates.PredictionSummary(3).add(unsure)), reference)
    assert fall["change"] < -0.1 and fall["p_value"] < 1e-6
    same = estimates.compare_cbpe(estimates.cbpe(estimates.PredictionSummary(3).add(_calibrated(
        rng, 2000, concentration=0.3)[0])), reference)
    assert same["interval"][0] < 0 < same["interval"][1]
