"""The more-data-or-cleaner-labels advice on scikit-learn's digits (independent of the demo), with the real
label-error finder's flags: clean but scarce data asks for more data; heavily mislabelled data asks for cleaning."""
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from components.error_analysis import levers
from components.label_errors.finder import find_label_errors


def digits_case(train_size, noise, seed=0):
    """Train and eval rows of digits with `noise` of both splits' labels flipped, and the finder's flags over both
    (as the pipeline's finder reads every split)."""
    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    x_train, x_eval, y_train, y_eval = train_test_split(x, y, train_size=train_size, stratify=y, random_state=seed)
    x_eval, y_eval = x_eval[:400], y_eval[:400]

    def flip(labels):
        flipped = rng.uniform(size=len(labels)) < noise
        return np.where(flipped, (labels + rng.integers(1, 10, len(labels))) % 10, labels)

    y_train, y_eval = flip(y_train), flip(y_eval)
    flags = find_label_errors(pd.DataFrame(np.vstack([x_train, x_eval])), np.concatenate([y_train, y_eval]),
                              log=lambda *_: None).is_issue
    return x_train, y_train, x_eval, y_eval, flags[:train_size], flags[train_size:]


def test_scarce_clean_data_asks_for_more_data():
    result = levers.advise(*digits_case(150, 0.0), bootstraps=300)
    assert result["lever"] == "more_data"
    curve = [point["accuracy"] for point in result["learning_curve"]]
    assert curve == sorted(curve)  # more data, better accuracy
    assert result["answer"].startswith("more data: doubling the data is projected to add +")


def test_heavily_mislabelled_data_asks_for_cleaner_labels():
    result = levers.advise(*digits_case(150, 0.3), bootstraps=300)
    assert result["lever"] == "cleaner_labels"
    low, high = result["cleaning"]["interval"]
    assert 0 < low <= result["cleaning"]["gain"] <= high
    assert result["flagged_training_examples"] > 20


def test_overlapping_intervals_say_cannot_tell():
    result = {"learning_curve": [{"accuracy": 0.9}], "doubling": {"gain": 0.02, "interval": [0.01, 0.03]},
              "cleaning": {"gain": 0.025, "interval": [0.0, 0.05]}, "flagged_training_examples": 5,
              "model": "logistic_regression"}
    words, lever = levers.answer(result)
    assert lever == "cannot_tell" and words.startswith("cannot tell")
    assert "+2.0 points [+1.0, +3.0]" in words and "removing the 5 flagged labels adds +2.5 points" in words


def test_power_law_extrapolation_recovers_a_planted_law():
    sizes = np.array([100, 200, 300, 400])
    errors = 2.0 * sizes ** -0.5
    assert levers.power_law_accuracy(sizes, errors, 800) == pytest.approx(1 - 2.0 * 800 ** -0.5)
