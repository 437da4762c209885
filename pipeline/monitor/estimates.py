"""How a classifier does on serving data, with and without labels: numpy and statsmodels, no TFX.

`PredictionSummary` holds sums over a model's predicted probabilities (and the true labels, where known), so the
monitor's Beam pipeline combines it in memory that does not grow with the rows. From it:

- `cbpe`: confidence-based performance estimation of accuracy, as NannyML's CBPE does it. A calibrated model's
  top-class probability p is the chance that its prediction is right, so the expected accuracy of n predictions is
  mean(p), and, the rows being independent, the accuracy they will show once labelled varies around it with
  variance sum(p (1 - p)) / n^2. Both hold only if the model is calibrated on the serving data: covariate shift
  can make a model confidently wrong, which no label-free estimate sees.
- `accuracy`: the real accuracy where labels are present, with a Wilson interval.
- `compare_cbpe`, `compare_accuracy`: the serving figure against the eval split's (the gap that labels reveal
  is concept drift, or skew the features did not show), with a two-sided test and the size of the drop.
- `accuracy_verdict`: the drift vocabulary (`drift`, `possible drift`, `no drift`, `too little data`) for a drop.
- `prediction_drift`: the predicted class mix against the eval split's, through the drift measures.
"""
import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, test_proportions_2indep
from tensorflow_metadata.proto.v0 import statistics_pb2

from components.drift import measures

CONFIDENCE = 0.95
_Z = stats.norm.ppf(0.5 + CONFIDENCE / 2)
PREDICTED_CLASS = "predicted class"
MISSING_LABEL = -1  # label index of a row without a label; a label outside the model's classes is n_classes


@dataclass
class PredictionSummary:
    """Sums over predictions: per predicted class counts, the top-class probabilities' sum and Bernoulli variance,
    and, over the rows with a label, how many predictions were right."""
    n_classes: int
    rows: int = 0
    predicted: np.ndarray = None  # rows per predicted class index
    confidence_sum: float = 0.0  # sum of max probability
    confidence_variance_sum: float = 0.0  # sum of p (1 - p) for p = max probability
    labelled: int = 0
    correct: int = 0
    unknown_labels: int = 0  # labelled rows whose label is none of the model's classes (always wrong)

    def __post_init__(self):
        if self.predicted is None:
            self.predicted = np.zeros(self.n_classes, np.int64)

    def add(self, probabilities, labels=None):
        """Adds a batch: `probabilities` [rows, n_classes]; `labels` class indices, MISSING_LABEL where unknown,
        n_classes for a label the model does not know."""
        probabilities = np.asarray(probabilities, np.float64).reshape(-1, self.n_classes)
        top = probabilities.argmax(axis=1)
        confidence = probabilities[np.arange(len(top)), top]
        self.rows += len(top)
        self.predicted += np.bincount(top, minlength=self.n_classes)
        self.confidence_sum += float(confidence.sum())
        self.confidence_variance_sum += float((confidence * (1 - confidence)).sum())
        if labels is not None:
            labels = np.asarray(labels, np.int64)
            known = labels != MISSING_LABEL
            self.labelled += int(known.sum())
            self.correct += int((labels[known] == top[known]).sum())
            self.unknown_labels += int((labels == self.n_classes).sum())
        return self

    def merge(self, other):
        self.rows += other.rows
        self.predicted += other.predicted
        self.confidence_sum += other.confidence_sum
        self.confidence_variance_sum += other.confidence_variance_sum
        self.labelled += other.labelled
        self.correct += other.correct
        self.unknown_labels += other.unknown_labels
        return self

    def to_dict(self):
        return dict(dataclasses.asdict(self), predicted=[int(c) for c in self.predicted])

    @classmethod
    def from_dict(cls, values):
        return cls(**dict(values, predicted=np.array(values["predicted"], np.int64)))

    def class_mix(self, class_names):
        """{class name: rows predicted as that class}."""
        return {name: int(count) for name, count in zip(class_names, self.predicted)}


def _interval(low, high):
    return [max(0.0, float(low)), min(1.0, float(high))]


def cbpe(summary: PredictionSummary):
    """Estimated accuracy from the model's confidence, assuming calibration; None without predictions."""
    if summary.rows == 0:
        return None
    estimate = summary.confidence_sum / summary.rows
    standard_error = np.sqrt(summary.confidence_variance_sum) / summary.rows
    return {"estimate": estimate, "standard_error": float(standard_error),
            "interval": _interval(estimate - _Z * standard_error, estimate + _Z * standard_error),
            "rows": summary.rows, "assumes": "the model's probabilities are calibrated on this data"}


def accuracy(summary: PredictionSummary):
    """Accuracy over the labelled rows with its Wilson interval; None when no row has a label."""
    if summary.labelled == 0:
        return None
    low, high = proportion_confint(summary.correct, summary.labelled, alpha=1 - CONFIDENCE, method="wilson")
    return {"accuracy": summary.correct / summary.labelled, "interval": _interval(low, high),
            "labelled": summary.labelled, "correct": summary.correct, "unknown_labels": summary.unknown_labels}


def compare_cbpe(serving: dict, reference: dict):
    """Serving's estimated accuracy against the reference's (both from `cbpe`): the change, its interval and the
    p-value of a two-sided z-test. Comparing estimate with estimate cancels a miscalibration both share."""
    change = serving["estimate"] - reference["estimate"]
    standard_error = float(np.hypot(serving["standard_error"], reference["standard_error"]))
    p_value = float(2 * stats.norm.sf(abs(change) / standard_error)) if standard_error > 0 else float(change == 0)
    return {"change": change, "interval": [change - _Z * standard_error, change + _Z * standard_error],
            "p_value": p_value, "rows": min(serving["rows"], reference["rows"])}


def compare_accuracy(correct, labelled, reference_accuracy, reference_rows):
    """Real accuracy on serving rows against the accuracy the model was evaluated with (on `reference_rows`
    examples): the change, Newcombe's interval and the p-value of a two-sided score test of equal proportions."""
    reference_correct = reference_accuracy * reference_rows
    test = test_proportions_2indep(correct, labelled, reference_correct, reference_rows, method="score")
    low, high = confint_proportions_2indep(correct, labelled, reference_correct, reference_rows,
                                           method="newcomb", alpha=1 - CONFIDENCE)
    return {"change": correct / labelled - reference_accuracy, "interval": [float(low), float(high)],
            "p_value": float(test.pvalue), "rows": int(min(labelled, reference_rows))}


@dataclass
class AccuracyThresholds:
    """When a drop in accuracy counts: by at least `max_drop`, tested at the drift verdict's `alpha` and
    `possible_alpha` ([drift]), on at least `min_rows` rows per side."""
    max_drop: float = 0.05
    min_rows: int = 30
    alpha: float = 0.01
    possible_alpha: float = 0.1


def accuracy_verdict(comparison: dict, thresholds: AccuracyThresholds):
    """The drift rule applied to a drop in accuracy: `drift` when it fell by at least max_drop with p < alpha,
    `possible drift` when it fell that much with p < possible_alpha, else `no drift` (a significant but small
    drop, or any rise); `too little data` below min_rows."""
    if comparison["rows"] < thresholds.min_rows:
        return "too little data"
    if -comparison["change"] < thresholds.max_drop:
        return "no drift"
    if comparison["p_value"] < thresholds.alpha:
        return "drift"
    return "possible drift" if comparison["p_value"] < thresholds.possible_alpha else "no drift"


def class_mix_statistics(class_counts: dict, name=PREDICTED_CLASS):
    """A one-feature TFDV statistics proto of predicted classes, so the class mix is compared by the drift measures
    (components/drift/measures.py) exactly as a categorical feature is."""
    total = int(sum(class_counts.values()))
    statistics = statistics_pb2.DatasetFeatureStatistics(num_examples=total)
    feature = statistics.features.add(type=statistics_pb2.FeatureNameStatistics.STRING)
    feature.path.step.append(name)
    feature.string_stats.common_stats.num_non_missing = total
    feature.string_stats.common_stats.tot_num_values = total
    feature.string_stats.unique = sum(1 for c in class_counts.values() if c)
    for label, count in sorted(class_counts.items(), key=lambda item: (-item[1], item[0])):
        if count:
            feature.string_stats.rank_histogram.buckets.add(label=label, sample_count=count)
    return statistics


def prediction_drift(serving_mix: dict, reference_mix: dict, thresholds: measures.DriftThresholds):
    """The predicted class mix on serving data against the reference's (the eval split), with the drift
    measures: L-infinity distance, PSI, chi-squared test, verdict."""
    (comparison,) = measures.compare_statistics(class_mix_statistics(reference_mix),
                                                class_mix_statistics(serving_mix), thresholds)
    return comparison
