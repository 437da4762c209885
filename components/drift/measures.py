"""Drift (or skew) between two TFDV statistics of one split, feature by feature, from the statistics alone.

Public API (stable; the drift component and the serving monitor both use it):

    compare_statistics(baseline, current, thresholds=DriftThresholds(), label_column="", exclude=())
        -> list[FeatureComparison]        one per feature of either side, sorted by feature name
    DriftThresholds(...)                  the verdict's knobs, with per-feature effect thresholds;
                                          DriftThresholds.from_config(config.drift) from the [drift] section
    FeatureComparison                     a dataclass; `.to_dict()` gives plain JSON-ready values
    VERDICTS = ("drift", "possible drift", "no drift", "too little data")
    worst_verdict(comparisons) -> str     the most severe verdict of a list (the run's verdict)

`baseline` and `current` are `tensorflow_metadata` `DatasetFeatureStatistics` protos (one split of a
`DatasetFeatureStatisticsList`, as TFDV's StatisticsGen writes it). Nothing re-reads the data, so the comparison
costs milliseconds whatever the size of the spans.

Effect sizes, computed as TFDV's drift/skew comparators do (tensorflow_data_validation/anomalies/metrics.cc), so a
value here equals `drift_skew_info` of `tfdv.validate_statistics(..., previous_statistics=...)` (tested):
  - categorical (string statistics): L-infinity distance, the largest absolute difference between the two
    normalized rank histograms (share of each value), over the union of values;
  - numeric: approximate Jensen-Shannon divergence (log base 2, so in [0, 1]) of the two STANDARD histograms, after
    aligning them on the union of their bucket boundaries assuming values spread uniformly within a bucket; point
    buckets, infinite buckets and NaN counts are kept as extra buckets, as TFDV does.
A second measure that users know: the Population Stability Index (PSI, natural log; rule of thumb: < 0.1 stable,
0.1-0.25 moderate, > 0.25 large shift) on the values (categorical) or the baseline's quantile bins (numeric), each
share floored at 1e-4. Numeric features also get the Wasserstein-1 distance between the two distributions (from the
quantile histograms) in units of the baseline's standard deviation, as `verdict_effect` (0.1 = the distribution
moved by a tenth of a standard deviation).

Significance (needs counts, so it is sample-size aware). Categorical: a chi-squared test of homogeneity on the
2 x k table of value counts from the rank histograms (values beyond the histogram's top-k pooled as "other"; values
expected fewer than 5 times pooled as one "rare" bin). Numeric: a two-sample Kolmogorov-Smirnov test, its statistic
D read off the two CDFs that the quantile histograms give (piecewise uniform between quantiles; 10 equal-mass bins
by default in TFDV) and its p-value from the KS distribution at the effective size n1 n2 / (n1 + n2) of the value
counts. Interpolating between quantiles smooths both CDFs, so D is if anything underestimated and the test errs on
the side of fewer alarms. Missing values: a two-proportion z-test on the missing rates (the share of
examples without a value: the feature absent, or an empty value list, as ExampleGen encodes an empty CSV cell).

Verdict per feature. Its effect threshold is on `verdict_effect`: L-infinity for categorical features, and for
numeric ones the Wasserstein distance in standard deviations (WASSERSTEIN_SD), not the JSD: TFDV's JSD re-buckets equal-width histograms whose edges follow each
sample's min and max, and measured on 200,000 normal rows it was 0.018 with no shift but 0.007 with a 0.1-sd shift
(see the README), so it cannot carry a threshold; the Wasserstein distance grows with the shift and is near 0 at
no shift. Defaults in DriftThresholds:
  - "too little data": either side has fewer than `min_count` (50) values; nothing else is concluded;
  - "drift": test p < `alpha` (0.01) AND verdict_effect >= the feature's threshold (`categorical_linf` 0.05: a
    value's share moved by 5 percentage points; `numeric_wasserstein_sd` 0.1: the distribution moved by a tenth
    of a standard deviation, Evidently's default for this measure); or the missing rate changed by at least
    `missing_rate_change` (0.05) with p < `alpha`;
  - "possible drift": the same with `alpha` <= p < `possible_alpha` (0.1): large enough to matter, not yet
    distinguishable from noise at this sample size;
  - "no drift": otherwise. A significant but small shift (a huge span) is "no drift" (its reasons say it is real but
    below the threshold); a large but insignificant one (a tiny span) is at most "possible drift".
The AND is what keeps false alarms rare at both ends: a tiny span cannot pass the test with noise, a huge span
cannot pass the effect threshold with a negligible shift. `alpha` is per feature, not corrected for the number of
features: with 20 unchanged features about 0.2 per run pass the test by chance, and must still pass the threshold.

Label drift is the label column's comparison (`is_label`): its `baseline_shares`/`current_shares` are the class mix.
`unseen_categories` are current values absent from the baseline's rank histogram (which TFDV caps at its top 1000
values, so "unseen" means "not among the baseline's top values" for very wide features).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats as scipy_stats
from tensorflow_metadata.proto.v0 import statistics_pb2

VERDICTS = ("drift", "possible drift", "no drift", "too little data")  # most to least severe, except the last
CATEGORICAL, NUMERIC = "categorical", "numeric"
L_INFINITY, JENSEN_SHANNON, PSI = "L-infinity", "Jensen-Shannon divergence", "PSI"
WASSERSTEIN_SD = "Wasserstein distance / baseline standard deviation"
CHI_SQUARED, KOLMOGOROV_SMIRNOV = "chi-squared", "Kolmogorov-Smirnov"
_SEVERITY = {"drift": 3, "possible drift": 2, "too little data": 1, "no drift": 0}
_SHARE_FLOOR = 1e-4  # PSI's floor for an empty bin
_MIN_EXPECTED = 5.0  # chi-squared: categories expected fewer times are pooled
_MAX_LISTED = 20  # unseen categories and shares listed per feature


@dataclasses.dataclass
class DriftThresholds:
    """The verdict's knobs (see the module docstring); `feature_thresholds` overrides the effect threshold of one
    feature, in its verdict measure (L-infinity for categorical, Wasserstein distance in standard deviations for
    numeric)."""
    categorical_linf: float = 0.05
    numeric_wasserstein_sd: float = 0.1
    alpha: float = 0.01
    possible_alpha: float = 0.1
    min_count: int = 50
    missing_rate_change: float = 0.05
    feature_thresholds: dict[str, float] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_config(cls, section):
        """From any object with attributes of these names, e.g. pipeline/configs.py's [drift] DriftConfig."""
        return cls(**{f.name: getattr(section, f.name) for f in dataclasses.fields(cls)})

    def effect_threshold(self, feature: str, kind: str) -> float:
        if feature in self.feature_thresholds:
            return self.feature_thresholds[feature]
        return self.categorical_linf if kind == CATEGORICAL else self.numeric_wasserstein_sd


@dataclasses.dataclass
class FeatureComparison:
    """One feature's comparison. Counts are numbers of values (non-missing); shares are fractions of them."""
    feature: str
    kind: str  # CATEGORICAL or NUMERIC; "absent" when the feature is in only one of the two statistics
    is_label: bool
    verdict: str  # one of VERDICTS
    reasons: list[str]  # why the verdict, in words
    effect_measure: str  # TFDV's comparator: L_INFINITY (categorical) or JENSEN_SHANNON (numeric)
    effect: float | None
    second_measure: str  # PSI
    second_value: float | None
    verdict_measure: str  # what the threshold applies to: L_INFINITY or WASSERSTEIN_SD
    verdict_effect: float | None
    effect_threshold: float
    test: str  # CHI_SQUARED (categorical) or KOLMOGOROV_SMIRNOV (numeric)
    p_value: float | None
    test_bins: int  # categories, or quantile knots, the test used
    baseline_count: int
    current_count: int
    baseline_missing_rate: float | None
    current_missing_rate: float | None
    missing_p_value: float | None
    max_difference_value: str = ""  # categorical: the value whose share moved most (TFDV reports it too)
    unseen_categories: list[str] = dataclasses.field(default_factory=list)  # up to 20, most frequent first
    unseen_share: float = 0.0  # share of the current values that are unseen in the baseline
    baseline_shares: dict[str, float] = dataclasses.field(default_factory=dict)  # categorical: top 20 values
    current_shares: dict[str, float] = dataclasses.field(default_factory=dict)

    def to_dict(self):
        return dataclasses.asdict(self)


def worst_verdict(comparisons) -> str:
    """The most severe verdict among `comparisons` ("no drift" for none)."""
    return max((c.verdict for c in comparisons), key=_SEVERITY.__getitem__, default="no drift")


# ---- reading the statistics ------------------------------------------------------------------------------------

def _features(dataset: statistics_pb2.DatasetFeatureStatistics):
    return {(f.path.step[0] if f.path.step else f.name): f for f in dataset.features}


def _common(feature):
    kind = feature.WhichOneof("stats")
    return getattr(feature, kind).common_stats if kind in ("num_stats", "string_stats", "bytes_stats") else None


def _kind(feature):
    return NUMERIC if feature.HasField("num_stats") else CATEGORICAL


def _value_counts(feature) -> dict[str, float]:
    """Counts per value from the rank histogram, plus "__other__" for values beyond its top-k."""
    counts = {b.label: float(b.sample_count) for b in feature.string_stats.rank_histogram.buckets}
    other = feature.string_stats.common_stats.tot_num_values - sum(counts.values())
    if other > 0.5:
        counts["__other__"] = float(other)
    return counts


def _histogram(feature, kind):
    for histogram in feature.num_stats.histograms:
        if histogram.type == kind:
            return histogram
    return None


def _value_count(feature):
    common = _common(feature)
    return int(common.tot_num_values or common.num_non_missing) if common else 0


def _missing_rate(feature, num_examples):
    """Share of examples without a value: the feature absent, or (for a feature with at most one value) present
    with an empty list, as ExampleGen encodes an empty CSV cell."""
    common = _common(feature)
    if common is None or not num_examples:
        return None
    empty = common.num_non_missing - common.tot_num_values if common.max_num_values <= 1 else 0
    return float(num_examples - common.num_non_missing + empty) / num_examples


# ---- effect sizes, as TFDV computes them ----------------------------------------------------------------------

def linf_distance(baseline_counts: dict, current_counts: dict):
    """(largest |share difference|, the value where it is), shares of each side's own total (TFDV's L-infinity;
    ties go to the last value in sorted order, as TFDV's map iteration does)."""
    b_total, c_total = sum(baseline_counts.values()), sum(current_counts.values())
    best_value, best = "", 0.0
    for value in sorted(set(baseline_counts) | set(current_counts)):
        difference = abs(baseline_counts.get(value, 0.0) / b_total - current_counts.get(value, 0.0) / c_total)
        if difference >= best:
            best_value, best = value, difference
    return best, best_value


def _strip(histogram):
    """TFDV's StripPointAndInfiniteBuckets: (finite buckets, {point: mass}, infinite mass)."""
    buckets, points, infinite = [], {}, 0.0
    for b in histogram.buckets:
        if not (math.isfinite(b.low_value) and math.isfinite(b.high_value)):
            infinite += b.sample_count
        elif b.low_value == b.high_value:
            points[b.low_value] = points.get(b.low_value, 0.0) + b.sample_count
        else:
            buckets.append((b.low_value, b.high_value, b.sample_count))
    return buckets, points, infinite


def _rebucket(boundaries, buckets):
    """TFDV's RebucketHistogram: counts on `boundaries`, spreading each bucket uniformly over the part it covers."""
    counts = np.zeros(len(boundaries) - 1)
    for low, high, count in buckets:
        first, last = np.searchsorted(boundaries, low), np.searchsorted(boundaries, high)
        widths = np.diff(boundaries[first:last + 1])
        counts[first:last] += count * widths / (high - low)
    return counts


def jensen_shannon_divergence(baseline_histogram, current_histogram) -> float:
    """TFDV's approximate JSD (log2, capped at 1) of two numeric histograms, aligned as its AlignHistograms does."""
    b_buckets, b_points, b_inf = _strip(baseline_histogram)
    c_buckets, c_points, c_inf = _strip(current_histogram)
    b_bounds = {x for low, high, _ in b_buckets for x in (low, high)}
    c_bounds = {x for low, high, _ in c_buckets for x in (low, high)}
    if b_bounds == c_bounds:
        p, q = np.array([c for *_, c in b_buckets]), np.array([c for *_, c in c_buckets])
    else:
        boundaries = np.array(sorted(b_bounds | c_bounds))
        p, q = _rebucket(boundaries, b_buckets), _rebucket(boundaries, c_buckets)
    points = sorted(set(b_points) | set(c_points))
    p = np.concatenate([p, [b_points.get(x, 0.0) for x in points]])
    q = np.concatenate([q, [c_points.get(x, 0.0) for x in points]])
    if b_inf:
        p, q = np.append(p, b_inf), np.append(q, 0.0)
    if c_inf:
        p, q = np.append(p, 0.0), np.append(q, c_inf)
    if baseline_histogram.num_nan or current_histogram.num_nan:
        p = np.append(p, [0.0, baseline_histogram.num_nan])
        q = np.append(q, [current_histogram.num_nan, 0.0])
    if p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("cannot normalize an empty histogram")
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a):
        mask = (a > 0) & (m > 0)
        return float(np.sum(a[mask] * np.log2(a[mask] / m[mask])))

    return min((kl(p) + kl(q)) / 2, 1.0)


# ---- counts for the test and the second measure ---------------------------------------------------------------

def _quantile_cdf(histogram):
    """A right-continuous CDF x -> share of values <= x, from a (quantile) histogram, uniform within buckets."""
    buckets = [(b.low_value, b.high_value, b.sample_count) for b in histogram.buckets
               if math.isfinite(b.low_value) and math.isfinite(b.high_value)]
    total = sum(count for *_, count in buckets)

    def cdf(x):
        x = np.asarray(x, dtype=float)
        mass = np.zeros_like(x)
        for low, high, count in buckets:
            if high > low:
                mass += count * np.clip((x - low) / (high - low), 0.0, 1.0)
            else:
                mass += count * (x >= low)
        return mass / total if total else mass

    return cdf


def _quantile_histograms(baseline_feature, current_feature):
    b_hist = _histogram(baseline_feature, statistics_pb2.Histogram.QUANTILES)
    c_hist = _histogram(current_feature, statistics_pb2.Histogram.QUANTILES)
    if b_hist is None or c_hist is None or not b_hist.buckets or not c_hist.buckets:
        return None
    return b_hist, c_hist


def _knots(*histograms):
    return np.unique([x for h in histograms for b in h.buckets for x in (b.low_value, b.high_value)
                      if math.isfinite(x)])


def _baseline_bin_shares(b_hist, c_hist):
    """Shares of each side in the baseline's quantile bins (PSI's usual bins)."""
    cuts = np.unique([b.high_value for b in b_hist.buckets[:-1]])

    def shares(histogram):
        return np.diff(np.concatenate([[0.0], _quantile_cdf(histogram)(cuts), [1.0]]))

    return shares(b_hist), shares(c_hist)


def _kolmogorov_smirnov(b_hist, c_hist, b_count, c_count):
    """p-value of the two-sample KS test with D from the quantile CDFs at the inner quantiles of either side. The
    CDFs are linear between knots, so the largest gap is at a knot; each side's min and max are left out because
    the outer buckets' straight line from a quantile to the sample's extreme is not the tail's shape, and the
    extremes vary a lot from sample to sample (measured: with them, D = 0.01 and p = 1e-8 for two 200,000-row
    samples of one normal distribution)."""
    knots = np.unique([b.high_value for h in (b_hist, c_hist) for b in h.buckets[:-1]])
    statistic = float(np.max(np.abs(_quantile_cdf(b_hist)(knots) - _quantile_cdf(c_hist)(knots))))
    effective_n = max(1, round(b_count * c_count / (b_count + c_count)))
    return float(scipy_stats.kstwo.sf(statistic, effective_n)), len(knots)


def _chi_squared(b_counts, c_counts):
    """p-value of the chi-squared test of homogeneity on two rows of counts; (p, bins used)."""
    table = np.array([b_counts, c_counts], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0, table.shape[1]
    expected = table.sum(axis=0) * table.sum(axis=1, keepdims=True) / table.sum()
    rare = (expected < _MIN_EXPECTED).any(axis=0)
    if rare.any():
        table = np.column_stack([table[:, ~rare], table[:, rare].sum(axis=1)])
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] < 2:
            return 1.0, table.shape[1]
    statistic, p_value, *_ = scipy_stats.chi2_contingency(table, correction=False)
    return float(p_value), table.shape[1]


def population_stability_index(baseline_shares, current_shares) -> float:
    """PSI = sum (c - b) ln(c / b) over bins, shares floored at 1e-4 so an empty bin is finite."""
    b = np.maximum(np.asarray(baseline_shares, dtype=float), _SHARE_FLOOR)
    c = np.maximum(np.asarray(current_shares, dtype=float), _SHARE_FLOOR)
    return float(np.sum((c - b) * np.log(c / b)))


def _wasserstein_sd(b_hist, c_hist, baseline_std):
    """W1 = integral |F_b - F_c| dx from the quantile CDFs, over the baseline's standard deviation."""
    if not baseline_std:
        return None
    knots = _knots(b_hist, c_hist)
    grid = np.unique(np.concatenate([knots, np.linspace(knots[0], knots[-1], 2001)]))
    gap = np.abs(_quantile_cdf(b_hist)(grid) - _quantile_cdf(c_hist)(grid))
    return float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(grid)) / baseline_std)


def _missing_test(b_rate, c_rate, b_examples, c_examples):
    """Two-proportion z-test p-value of two missing rates (1.0 when both are 0 or 1)."""
    pooled = (b_rate * b_examples + c_rate * c_examples) / (b_examples + c_examples)
    variance = pooled * (1 - pooled) * (1 / b_examples + 1 / c_examples)
    if variance <= 0:
        return 1.0
    return float(2 * scipy_stats.norm.sf(abs(b_rate - c_rate) / math.sqrt(variance)))


# ---- the comparison -------------------------------------------------------------------------------------------

def _top_shares(counts):
    total = sum(counts.values())
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:_MAX_LISTED]
    return {value: count / total for value, count in top}


def _verdict(result: FeatureComparison, thresholds: DriftThresholds):
    """Sets verdict and reasons from the measured fields (rule in the module docstring)."""
    if min(result.baseline_count, result.current_count) < thresholds.min_count:
        result.verdict = "too little data"
        result.reasons = [f"{result.baseline_count} baseline and {result.current_count} current values; the test "
                          f"needs at least {thresholds.min_count} on each side"]
        return

    def level(p_value):
        return ("drift" if p_value < thresholds.alpha else
                "possible drift" if p_value < thresholds.possible_alpha else None)

    findings = []  # (verdict or None, reason)
    effect, threshold = result.verdict_effect, result.effect_threshold
    if effect is not None and effect >= threshold and result.p_value is not None and level(result.p_value):
        findings.append((level(result.p_value), f"{result.verdict_measure} {effect:.3g} >= {threshold:g}, "
                                                f"{result.test} p = {result.p_value:.2g}"))
    if result.missing_p_value is not None:
        change = abs(result.current_missing_rate - result.baseline_missing_rate)
        if change >= thresholds.missing_rate_change and level(result.missing_p_value):
            findings.append((level(result.missing_p_value),
                             f"missing rate {result.baseline_missing_rate:.1%} -> {result.current_missing_rate:.1%}"
                             f" (p = {result.missing_p_value:.2g})"))
    if result.unseen_categories:
        findings.append((None, f"{len(result.unseen_categories)} value(s) unseen in the baseline "
                               f"({result.unseen_share:.1%} of current values)"))
    levels = [verdict for verdict, _ in findings if verdict]
    result.verdict = max(levels, key=_SEVERITY.__getitem__) if levels else "no drift"
    result.reasons = [reason for _, reason in findings]
    if result.verdict == "no drift" and result.p_value is not None and result.p_value < thresholds.alpha:
        result.reasons.append(f"a significant ({result.test} p = {result.p_value:.2g}) but small shift: "
                              f"{result.verdict_measure} {effect:.3g} < {threshold:g}")


def _empty_comparison(name, kind, is_label, thresholds, **fields):
    numeric = kind == NUMERIC
    return FeatureComparison(
        feature=name, kind=kind, is_label=is_label, verdict="", reasons=[],
        effect_measure=JENSEN_SHANNON if numeric else L_INFINITY, effect=None, second_measure=PSI,
        second_value=None, verdict_measure=WASSERSTEIN_SD if numeric else L_INFINITY, verdict_effect=None,
        effect_threshold=thresholds.effect_threshold(name, kind), test=KOLMOGOROV_SMIRNOV if numeric else CHI_SQUARED,
        p_value=None, test_bins=0, **fields)


def _compare_categorical(result, baseline_feature, current_feature):
    b_counts, c_counts = _value_counts(baseline_feature), _value_counts(current_feature)
    result.effect, result.max_difference_value = linf_distance(b_counts, c_counts)
    result.verdict_effect = result.effect
    values = sorted(set(b_counts) | set(c_counts))
    b_row = np.array([b_counts.get(v, 0.0) for v in values])
    c_row = np.array([c_counts.get(v, 0.0) for v in values])
    result.p_value, result.test_bins = _chi_squared(b_row, c_row)
    result.second_value = population_stability_index(b_row / b_row.sum(), c_row / c_row.sum())
    unseen = sorted((v for v in c_counts if v not in b_counts and v != "__other__"), key=lambda v: (-c_counts[v], v))
    result.unseen_categories = unseen[:_MAX_LISTED]
    result.unseen_share = float(sum(c_counts[v] for v in unseen) / c_row.sum())
    result.baseline_shares, result.current_shares = _top_shares(b_counts), _top_shares(c_counts)


def _compare_numeric(result, baseline_feature, current_feature):
    b_standard = _histogram(baseline_feature, statistics_pb2.Histogram.STANDARD)
    c_standard = _histogram(current_feature, statistics_pb2.Histogram.STANDARD)
    if b_standard is not None and c_standard is not None:
        result.effect = jensen_shannon_divergence(b_standard, c_standard)
    quantiles = _quantile_histograms(baseline_feature, current_feature)
    if quantiles is not None:
        b_hist, c_hist = quantiles
        result.p_value, result.test_bins = _kolmogorov_smirnov(b_hist, c_hist, result.baseline_count,
                                                               result.current_count)
        result.second_value = population_stability_index(*_baseline_bin_shares(b_hist, c_hist))
        result.verdict_effect = _wasserstein_sd(b_hist, c_hist, baseline_feature.num_stats.std_dev)


def _compare_feature(name, baseline_feature, current_feature, baseline, current, thresholds, is_label):
    kind = _kind(baseline_feature)
    b_examples, c_examples = baseline.num_examples, current.num_examples
    b_missing, c_missing = _missing_rate(baseline_feature, b_examples), _missing_rate(current_feature, c_examples)
    result = _empty_comparison(
        name, kind, is_label, thresholds, baseline_count=_value_count(baseline_feature),
        current_count=_value_count(current_feature), baseline_missing_rate=b_missing,
        current_missing_rate=c_missing,
        missing_p_value=(_missing_test(b_missing, c_missing, b_examples, c_examples)
                         if b_missing is not None and c_missing is not None else None))
    if kind != _kind(current_feature):
        result.verdict = "drift"
        result.reasons = [f"{kind} in the baseline but {_kind(current_feature)} now"]
        return result
    if result.baseline_count and result.current_count:
        (_compare_categorical if kind == CATEGORICAL else _compare_numeric)(result, baseline_feature, current_feature)
    _verdict(result, thresholds)
    return result


def _absent(name, feature, present_in, thresholds, is_label):
    result = _empty_comparison(
        name, _kind(feature), is_label, thresholds,
        baseline_count=_value_count(feature) if present_in == "baseline" else 0,
        current_count=_value_count(feature) if present_in == "current" else 0,
        baseline_missing_rate=None, current_missing_rate=None, missing_p_value=None)
    result.kind, result.verdict, result.reasons = "absent", "drift", [f"present only in the {present_in} statistics"]
    return result


def compare_statistics(baseline: statistics_pb2.DatasetFeatureStatistics,
                       current: statistics_pb2.DatasetFeatureStatistics,
                       thresholds: DriftThresholds | None = None, label_column: str = "",
                       exclude=()) -> list[FeatureComparison]:
    """Every feature of either side compared (except `exclude`, e.g. the id column), sorted by name."""
    thresholds = thresholds or DriftThresholds()
    b_features, c_features = _features(baseline), _features(current)
    results = []
    for name in sorted(set(b_features) | set(c_features)):
        if name in exclude:
            continue
        is_label = name == label_column
        if name not in c_features:
            results.append(_absent(name, b_features[name], "baseline", thresholds, is_label))
        elif name not in b_features:
            results.append(_absent(name, c_features[name], "current", thresholds, is_label))
        else:
            results.append(_compare_feature(name, b_features[name], c_features[name], baseline, current,
                                            thresholds, is_label))
    return results
