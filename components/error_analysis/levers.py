"""More data or cleaner labels? What each lever is worth on this data, with the code held fixed.

`advise(...)` trains one fixed proxy model (the label-error finder's, `components/label_errors/finder.MODELS`) many
times and scores it on the same eval rows:
  - learning curve: on `fractions` of the training rows (stratified subsamples, `repeats` each);
  - doubling: the curve extrapolated to 2x the training rows with a power law in the error, error(n) = a * n^-b
    (a straight line in log-log, fitted by least squares to the mean error per fraction);
  - cleaning: trained on the training rows minus those the label-error finder flagged, against all of them.
Uncertainty: a bootstrap (`bootstraps` replicates) that resamples the eval rows (the same rows for every model, so
gains are paired) and, for the learning curve, the repeats of each fraction; intervals are its 2.5 and 97.5
percentiles. The eval rows scored are those the finder did not flag: their labels are the best available truth, and
scoring against flagged labels would count a cleaner model's right answers as errors.

Why a proxy and not the real Trainer: the levers need tens of fits, which costs seconds with logistic regression and
minutes with the Keras Trainer; the proxy answers "which lever moves a model of this data", and
benchmarks/lever_advice measures how often its answer matches what really happens.
"""
from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from components.label_errors.finder import MODELS


def _points(x):
    return f"{100 * x:+.1f}"


def power_law_accuracy(sizes, errors, at):
    """Accuracy at size `at` from error(n) = a * n^-b fitted in log-log to (sizes, errors). A zero error is floored
    at 1e-6 so the log is defined."""
    log_errors = np.log(np.maximum(errors, 1e-6))
    slope, intercept = np.polyfit(np.log(sizes), log_errors, 1)
    return 1.0 - float(np.exp(intercept + slope * np.log(at)))


def _subsample(n, labels, fraction, seed):
    if fraction >= 1:
        return np.arange(n)
    index, _ = train_test_split(np.arange(n), train_size=fraction, random_state=seed,
                                stratify=labels if np.bincount(labels).min() >= 2 else None)
    return np.sort(index)


def advise(x_train, y_train, x_eval, y_eval, flagged_train, flagged_eval=None, *, model="logistic_regression",
           fractions=(0.25, 0.5, 0.75, 1.0), repeats=5, bootstraps=1000, seed=0):
    """The two levers' estimated gains in eval accuracy, with intervals, and the answer in words.

    Labels are integer-coded; `flagged_*` are boolean masks of the finder's flags. Returns a JSON-ready dict."""
    y_train, y_eval = np.asarray(y_train, int), np.asarray(y_eval, int)
    flagged_train = np.asarray(flagged_train, bool)
    keep_eval = ~np.asarray(flagged_eval, bool) if flagged_eval is not None else np.ones(len(y_eval), bool)
    x_scored, y_scored = x_eval[keep_eval], y_eval[keep_eval]
    n = len(y_train)

    def correct(index):
        with threadpool_limits(limits=1, user_api="openmp"):
            fitted = MODELS[model](seed).fit(x_train[index], y_train[index])
        return fitted.predict(x_scored) == y_scored

    curve = {f: np.array([correct(_subsample(n, y_train, f, seed + r)) for r in range(repeats if f < 1 else 1)])
             for f in fractions}
    noisy = curve[max(fractions)][0]
    cleaned = correct(np.flatnonzero(~flagged_train))
    sizes = np.array([f * n for f in fractions])

    def doubling_gain(curve_accuracy):
        """From {fraction: accuracies of its repeats}: the projected gain of 2x over 1x."""
        errors = np.array([1 - np.mean(curve_accuracy[f]) for f in fractions])
        return power_law_accuracy(sizes, errors, 2 * n) - power_law_accuracy(sizes, errors, n)

    # Every model's correctness as one row; a replicate's eval rows become counts per row, so a replicate's
    # accuracies are one matrix product (cost linear in the eval rows, memory bounded by the chunk).
    models = np.vstack([*curve.values(), noisy, cleaned]).astype(np.float32)
    owners = np.concatenate([[i] * len(c) for i, c in enumerate(curve.values())])
    rng = np.random.default_rng(seed)
    doubling, cleaning = [], []
    for start in range(0, bootstraps, 100):
        chunk = min(100, bootstraps - start)
        drawn = rng.integers(0, len(y_scored), size=(chunk, len(y_scored)))
        counts = np.stack([np.bincount(rows, minlength=len(y_scored)) for rows in drawn]).astype(np.float32)
        accuracies = counts @ models.T / len(y_scored)  # replicate x model
        for replicate in accuracies:
            resampled = {}
            for i, f in enumerate(fractions):
                repeats_of_f = replicate[:-2][owners == i]
                resampled[f] = repeats_of_f[rng.integers(0, len(repeats_of_f), len(repeats_of_f))]
            doubling.append(doubling_gain(resampled))
            cleaning.append(replicate[-1] - replicate[-2])
    result = {
        "model": model, "training_examples": n, "eval_examples_scored": int(len(y_scored)),
        "eval_examples_left_out_as_flagged": int((~keep_eval).sum()),
        "learning_curve": [{"fraction": f, "examples": int(round(f * n)), "repeats": len(c),
                            "accuracy": float(c.mean()), "accuracy_std": float(c.mean(axis=1).std(ddof=1))
                            if len(c) > 1 else 0.0} for f, c in curve.items()],
        "doubling": _lever(doubling_gain({f: c.mean(axis=1) for f, c in curve.items()}), doubling,
                           "power law error(n) = a n^-b fitted to the curve, extrapolated to 2x"),
        "cleaning": _lever(float(cleaned.mean() - noisy.mean()), cleaning,
                           f"the {int(flagged_train.sum())} flagged training examples removed"),
        "flagged_training_examples": int(flagged_train.sum()),
        "method": {"bootstrap": f"{bootstraps} replicates over eval rows and repeats; 95% percentile intervals",
                   "fractions": list(fractions), "repeats": repeats},
    }
    result["answer"], result["lever"] = answer(result)
    return result


def _lever(gain, replicates, how):
    low, high = np.percentile(replicates, [2.5, 97.5])
    return {"gain": float(gain), "interval": [float(low), float(high)], "how": how}


def answer(result):
    """(plain words, the lever: "more_data", "cleaner_labels" or "cannot_tell"). A lever wins only when its
    interval lies wholly above the other's."""
    d, c = result["doubling"], result["cleaning"]

    def said(lever):
        low, high = lever["interval"]
        return f"{_points(lever['gain'])} points [{_points(low)}, {_points(high)}]"

    if result["learning_curve"][-1]["accuracy"] == 1.0:
        return (f"cannot tell: the proxy model already makes no error on the {result['eval_examples_scored']} eval "
                "examples scored, so neither lever can show a gain; a larger or harder eval set is needed",
                "cannot_tell")
    words = (f"doubling the data is projected to add {said(d)}; removing the {result['flagged_training_examples']} "
             f"flagged labels adds {said(c)} (proxy: {result['model']}, eval rows not flagged)")
    if d["interval"][0] > c["interval"][1]:
        return f"more data: {words}", "more_data"
    if c["interval"][0] > d["interval"][1]:
        return f"cleaner labels: {words}", "cleaner_labels"
    return f"cannot tell, the intervals overlap: {words}", "cannot_tell"
