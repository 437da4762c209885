"""Confident learning on a table in memory: out-of-sample probabilities by K-fold cross-validation, then cleanlab.

`find_label_errors(features, labels)` is the whole method, with no TFX in it, so the executor and
`benchmarks/clean_vs_noisy` run exactly the same code. The statistics are cleanlab's own:
`cleanlab.filter.find_label_issues` flags examples, `cleanlab.rank.get_label_quality_scores` ranks them,
`cleanlab.count.estimate_joint` estimates P(given label, true label), from which the per-class noise rates
(`cleanlab.dataset.rank_classes_by_label_quality`) and the most overlapping class pairs
(`cleanlab.dataset.find_overlapping_classes`) follow.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd
from cleanlab import count, dataset, filter as cl_filter, rank
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from components.input_checks import InputError


def _logistic_regression(seed):
    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                         LogisticRegression(max_iter=2000, random_state=seed))


def _hist_gradient_boosting(seed):
    return make_pipeline(SimpleImputer(strategy="median"), HistGradientBoostingClassifier(random_state=seed))


# Model name (as `[label_errors] model` spells it) -> factory(seed) of an sklearn classifier with predict_proba.
# Missing values are imputed with the median of the training folds, inside each fold, so no test fold leaks in.
MODELS = {"logistic_regression": _logistic_regression, "hist_gradient_boosting": _hist_gradient_boosting}


class LabelErrorsError(InputError):
    """Input the finder cannot work with; the message says what to change."""


@dataclass
class Findings:
    """Per input row (aligned with the inputs) plus the dataset-level summary.

    Rows that were not analysed (no label, or a class too small for the folds) have analysed=False,
    is_issue=False, suggested_label=None and quality_score=NaN."""
    analysed: np.ndarray  # bool
    is_issue: np.ndarray  # bool: cleanlab.filter.find_label_issues
    suggested_label: np.ndarray  # object: the class with the highest out-of-sample probability
    quality_score: np.ndarray  # float in [0, 1]: cleanlab.rank.get_label_quality_scores, low = likely wrong
    summary: dict  # JSON-ready: counts, noise rates, overlapping classes, what was skipped or excluded


def _is_missing_label(value):
    return value is None or (isinstance(value, float) and np.isnan(value)) or value == "" or value == b""


def find_label_errors(features: pd.DataFrame, labels, *, folds=5, model="logistic_regression", seed=0, log=print):
    """Flags likely label errors in (features, labels); see `Findings`.

    `features` are numeric columns (NaN = missing). A column with no value at all is excluded and reported; other
    missing values are imputed with the training folds' median. Examples with no label, and classes with fewer
    than `folds` examples (stratified K-fold needs one per fold), are left out and reported in the summary.
    """
    if model not in MODELS:
        raise LabelErrorsError(f"unknown label-error model {model!r}; choose one of {', '.join(MODELS)}")
    if folds < 2:
        raise LabelErrorsError(f"cross-validation needs at least 2 folds, got {folds}")
    labels = pd.Series(list(labels), index=features.index, dtype=object)
    features = features.apply(pd.to_numeric, errors="raise").astype(float)
    n = len(features)

    empty_features = [c for c in features.columns if features[c].isna().all()]
    if empty_features:
        log(f"label errors: excluding feature(s) with no values at all: {', '.join(empty_features)}")
    used = [c for c in features.columns if c not in empty_features]
    if not used:
        raise LabelErrorsError(f"none of the features {list(features.columns)} has any value; "
                               "configure numeric features that the data has")

    has_label = ~labels.map(_is_missing_label).to_numpy(bool)
    if not has_label.all():
        log(f"label errors: {int((~has_label).sum())} example(s) have no label and are not analysed")
    class_sizes = labels[has_label].value_counts()
    small = class_sizes[class_sizes < folds]
    for name, size in small.items():
        log(f"label errors: class {name!r} has {size} example(s), fewer than the {folds} folds; "
            f"it is skipped (its examples are not analysed); lower [label_errors] folds or label more examples")
    classes = sorted(class_sizes[class_sizes >= folds].index)
    if len(classes) < 2:
        raise LabelErrorsError(f"need at least 2 classes with at least {folds} examples each; class sizes: "
                               f"{dict(class_sizes)}")
    analysed = has_label & labels.isin(classes).to_numpy(bool)
    index_of = {name: i for i, name in enumerate(classes)}
    y = labels[analysed].map(index_of).to_numpy(int)
    x = features.loc[analysed, used].to_numpy(float)

    log(f"label errors: {folds}-fold cross-validation of {model} on {len(y)} examples, "
        f"{len(used)} feature(s), {len(classes)} classes")
    # One OpenMP thread: on a busy machine HistGradientBoosting's thread pool spins against other work (wine, 3
    # folds, 2 shared cores: 32 s with 2 threads, 1.8 s with 1); the models here are small.
    with threadpool_limits(limits=1, user_api="openmp"):
        pred_probs = cross_val_predict(MODELS[model](seed), x, y, method="predict_proba",
                                       cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed))
    flagged = cl_filter.find_label_issues(y, pred_probs)
    quality = rank.get_label_quality_scores(y, pred_probs)
    joint = count.estimate_joint(y, pred_probs)

    is_issue = np.zeros(n, bool)
    is_issue[analysed] = flagged
    suggested = np.full(n, None, dtype=object)
    suggested[analysed] = np.asarray(classes, dtype=object)[pred_probs.argmax(axis=1)]
    quality_score = np.full(n, np.nan)
    quality_score[analysed] = quality
    log(f"label errors: {int(flagged.sum())} likely label error(s) among {len(y)} examples")
    summary = summarise(joint, classes, np.bincount(y, minlength=len(classes)),
                        np.bincount(y[flagged], minlength=len(classes)), folds, model, seed, used, empty_features,
                        missing=features.loc[analysed, used].isna().sum(), unlabelled=int((~has_label).sum()),
                        skipped=small, n=n)
    return Findings(analysed, is_issue, suggested, quality_score, summary)


def summarise(joint, classes, examples_per_class, flagged_per_class, folds, model, seed, used, empty_features,
              missing, unlabelled, skipped, n):
    """Dataset-level health, all from cleanlab's estimate of the joint P(given label, true label); the per-class
    counts are of analysed examples (given label) and of flagged ones."""
    analysed = int(examples_per_class.sum())
    per_class = dataset.rank_classes_by_label_quality(joint=joint, num_examples=analysed)
    overlap = dataset.find_overlapping_classes(joint=joint, num_examples=analysed,
                                               class_names=[str(c) for c in classes])
    return {
        "method": {"model": model, "folds": folds, "seed": seed, "features": used,
                   "imputation": "median of the training folds", "finder": "cleanlab.filter.find_label_issues"},
        "counts": {"examples": n, "analysed": analysed, "label_issues": int(flagged_per_class.sum()),
                   "unlabelled": unlabelled, "skipped_small_classes": int(skipped.sum())},
        # 1 - trace(joint): the estimated share of analysed examples whose given label is not the true one.
        "estimated_noise_rate": float(1.0 - np.trace(joint)),
        "classes": [{"class": _json_label(classes[int(row["Class Index"])]),
                     "examples": int(examples_per_class[int(row["Class Index"])]),
                     "label_issues": int(flagged_per_class[int(row["Class Index"])]),
                     # share of examples GIVEN this label whose true label is another class
                     "estimated_noise_rate": float(row["Label Noise"]),
                     # share of examples truly of this class that were given another label
                     "estimated_inverse_noise_rate": float(row["Inverse Label Noise"]),
                     "label_quality_score": float(row["Label Quality Score"])}
                    for _, row in per_class.iterrows()],
        "overlapping_classes": [{"class_a": row["Class Name A"], "class_b": row["Class Name B"],
                                 "overlapping_examples": int(row["Num Overlapping Examples"]),
                                 "joint_probability": float(row["Joint Probability"])}
                                for _, row in overlap.iterrows() if row["Num Overlapping Examples"] > 0],
        "skipped_classes": [{"class": _json_label(name), "examples": int(size),
                             "reason": f"fewer than {folds} examples (one per cross-validation fold)"}
                            for name, size in skipped.items()],
        "excluded_features": [{"feature": name, "reason": "no values at all"} for name in empty_features],
        "imputed_values": {name: int(k) for name, k in missing.items() if k},
    }


def _json_label(value):
    """Class names as JSON can hold them (numpy ints become ints, everything else a string)."""
    return int(value) if isinstance(value, (int, np.integer)) else str(value)
