"""Weak slices: where the model errs more than elsewhere, what that is worth, and what is most likely wrong there.

Plain numpy/pandas/scipy/statsmodels, no TFX: `find_weak_slices(rows, ...)` is the whole method, so the component,
the tests and the benchmark run the same code.

`rows` has one row per example of every split the pipeline has (`split` column). Eval rows carry `correct`
(the model's prediction equals the label); the other rows only say where the data is. Optional per-example signals:
`label_issue` (the label-error finder flagged it; NaN when not analysed) and `agreement` (the share of labelers
agreeing with the consensus; NaN without labelers).

The search, in the manner of SliceFinder (Chung et al., 2019):
  1. Candidate slices of one column: categoricals by value (and "missing"); numerics binned at the eval rows'
     quantiles (`bins`), plus "missing". A slice is a predicate, so it applies to train rows as well as eval rows.
  2. Each slice with at least `min_size` eval rows is tested: does the model err more in it than on the other eval
     rows? One-sided Fisher exact test on the 2x2 table (slice/rest x error/correct).
  3. Pairs: slices of two different columns are intersected, but only when neither parent was already found weak
     (Benjamini-Hochberg at `fdr` over the single slices): a weak parent explains its children, as SliceFinder does
     not expand significant slices.
  4. Benjamini-Hochberg (statsmodels `multipletests`, "fdr_bh") over every slice tested at either level: the slices
     kept are the discoveries, with an expected share of false ones of at most `fdr`.
Ranking: what fixing a slice is worth, its error excess over the rest (error rate in the slice minus error rate of
the other eval rows) times its share of the eval rows: the accuracy points gained overall if the slice erred like
the rest. The interval is Newcombe's hybrid score interval for a difference of proportions (statsmodels
`confint_proportions_2indep(method="newcomb")`), times the share (taken as fixed).

Diagnosis of each weak slice, from signals the pipeline already has, in this order:
  - "coverage": the slice is rarer among train rows than among the reference rows (eval, or serving when given):
    one-sided Fisher exact test, and at most `max_coverage_ratio` of its reference share. Checked first because a
    model that never saw a region also disagrees with the labels there, so label-error flags in an uncovered slice
    say little about the labels. Advice: collect more examples like it.
  - "labels": over all rows with the signal, the slice has more label-error flags, or more labeler disagreement
    (agreement below 1), than the rest (one-sided Fisher exact tests at `alpha`), and by enough to matter: the
    excess rate is at least `min_label_share` of the slice's error excess (each wrong eval label is an error of a
    right model, so a label excess much smaller than the error excess cannot explain it). Advice: revise the
    labeling instructions for it and relabel.
  - "model": neither. Advice: the model or its features (the data there is covered and its labels are consistent).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

EVAL_SPLIT = "eval"
TRAIN_SPLIT = "train"
DIAGNOSES = ("coverage", "labels", "model")
ADVICE = {
    "coverage": "collect more examples like these: the slice is rare in the training data",
    "labels": "revise the labeling instructions for this slice and relabel it: its labels look ambiguous",
    "model": "look at the model or its features: the slice is covered and its labels look consistent",
}


class SliceError(ValueError):
    """Input the slice finder cannot work with; the message says what to change."""


@dataclass(frozen=True)
class Condition:
    """One column's predicate: a categorical value, a numeric interval [low, high), or missing."""
    column: str
    value: object = None  # a categorical value
    low: float = -math.inf
    high: float = math.inf
    missing: bool = False
    numeric: bool = False

    def mask(self, values: pd.Series) -> np.ndarray:
        if self.missing:
            return values.isna().to_numpy(bool)
        if self.numeric:
            x = values.to_numpy(float)
            with np.errstate(invalid="ignore"):
                return (x >= self.low) & (x < self.high)
        return (values == self.value).to_numpy(bool)

    def describe(self) -> str:
        if self.missing:
            return f"{self.column} is missing"
        if not self.numeric:
            return f"{self.column} = {self.value}"
        if self.low == -math.inf:
            return f"{self.column} < {self.high:.4g}"
        if self.high == math.inf:
            return f"{self.column} >= {self.low:.4g}"
        return f"{self.low:.4g} <= {self.column} < {self.high:.4g}"

    def as_dict(self):
        if self.missing:
            return {"column": self.column, "missing": True}
        if self.numeric:
            return {"column": self.column, "low": _json_float(self.low), "high": _json_float(self.high)}
        return {"column": self.column, "value": _json_value(self.value)}


def _json_float(x):
    return None if math.isinf(x) else float(x)


def _json_value(value):
    return value.item() if isinstance(value, np.generic) else value


def column_conditions(values: pd.Series, column: str, *, numeric: bool, bins: int):
    """The single-column candidate slices: values of a categorical, quantile bins of a numeric (from `values`, the
    eval rows), and "missing" when some are missing."""
    present = values.dropna()
    conditions = []
    if numeric:
        x = present.to_numpy(float)
        edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1])) if len(x) else np.array([])
        bounds = [-math.inf, *edges.tolist(), math.inf]
        conditions = [Condition(column, low=lo, high=hi, numeric=True) for lo, hi in zip(bounds[:-1], bounds[1:])]
    else:
        conditions = [Condition(column, value=v) for v in sorted(present.unique(), key=str)]
    if len(present) < len(values):
        conditions.append(Condition(column, missing=True, numeric=numeric))
    return conditions


@dataclass
class Settings:
    min_size: int = 10  # eval rows a slice needs to be tested
    bins: int = 4  # quantile bins per numeric column
    fdr: float = 0.05  # Benjamini-Hochberg false discovery rate over all tested slices
    alpha: float = 0.05  # level of the per-slice diagnosis tests
    max_coverage_ratio: float = 0.5  # "coverage" needs train share <= this x reference share
    min_label_share: float = 0.25  # "labels" needs a label-signal excess >= this x the slice's error excess
    confidence: float = 0.95
    pairs: bool = True  # search pairs of columns as well as single columns

    def check(self):
        if self.min_size < 1:
            raise SliceError(f"min_size must be at least 1, got {self.min_size}")
        if self.bins < 2:
            raise SliceError(f"bins must be at least 2, got {self.bins}")
        for name in ("fdr", "alpha", "confidence"):
            if not 0 < getattr(self, name) < 1:
                raise SliceError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if not 0 <= self.min_label_share <= 1:
            raise SliceError(f"min_label_share must be in [0, 1], got {self.min_label_share}")
        if not 0 < self.max_coverage_ratio <= 1:
            raise SliceError(f"max_coverage_ratio must be in (0, 1], got {self.max_coverage_ratio}")


def _one_sided_fisher(hits_in, n_in, hits_out, n_out):
    """P-value that the rate of `hits` is larger in the slice than outside it (Fisher exact, one-sided)."""
    if n_in == 0 or n_out == 0:
        return 1.0
    return float(fisher_exact([[hits_in, n_in - hits_in], [hits_out, n_out - hits_out]],
                              alternative="greater")[1])


def _rate(hits, n):
    return hits / n if n else math.nan


def _difference_interval(hits_in, n_in, hits_out, n_out, confidence):
    """Newcombe's hybrid score interval for (hits_in/n_in - hits_out/n_out)."""
    if n_in == 0 or n_out == 0:
        return math.nan, math.nan
    low, high = confint_proportions_2indep(hits_in, n_in, hits_out, n_out, method="newcomb", compare="diff",
                                           alpha=1 - confidence)
    return float(low), float(high)


def wilson_interval(hits, n, confidence=0.95):
    if n == 0:
        return math.nan, math.nan
    low, high = proportion_confint(hits, n, alpha=1 - confidence, method="wilson")
    return float(low), float(high)


def _prepare(rows: pd.DataFrame, columns, numeric_columns):
    if "split" not in rows or "correct" not in rows:
        raise SliceError("rows need a 'split' column and a 'correct' column (eval rows)")
    missing = [c for c in columns if c not in rows]
    if missing:
        raise SliceError(f"slice column(s) {missing} are not in the rows; columns are: {', '.join(rows.columns)}")
    is_eval = (rows["split"] == EVAL_SPLIT).to_numpy(bool)
    if not is_eval.any():
        raise SliceError("no eval rows: error analysis needs the model's predictions on the eval split")
    correct = rows["correct"].to_numpy(dtype=object)
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in correct[is_eval]):
        raise SliceError("every eval row needs 'correct' (True or False)")
    errors = np.zeros(len(rows), bool)
    errors[is_eval] = ~correct[is_eval].astype(bool)
    numeric = {c: pd.to_numeric(rows[c], errors="coerce") for c in numeric_columns}
    return is_eval, errors, numeric


def find_weak_slices(rows: pd.DataFrame, categorical_columns=(), numeric_columns=(), settings: Settings = None,
                     reference_split: str = EVAL_SPLIT):
    """The weak slices of `rows`, worst (by what fixing them is worth) first, and what was searched.

    Returns a dict (JSON-ready): "overall", "tested" (slices tested), "weak_slices" (list of dicts, ranked),
    "method". `reference_split` is the split whose share a slice's train share is compared with for coverage:
    "eval", or "serving" when rows of serving data are included."""
    settings = settings or Settings()
    settings.check()
    columns = list(dict.fromkeys([*categorical_columns, *numeric_columns]))
    is_eval, errors, numeric = _prepare(rows, columns, numeric_columns)
    is_train = (rows["split"] == TRAIN_SPLIT).to_numpy(bool)
    is_reference = (rows["split"] == reference_split).to_numpy(bool)
    n_eval, n_errors = int(is_eval.sum()), int(errors.sum())

    singles = []  # (conditions, mask over all rows)
    for column in columns:
        is_numeric = column in numeric
        values = numeric[column] if is_numeric else rows[column].where(rows[column].notna(), None)
        for condition in column_conditions(values[is_eval], column, numeric=is_numeric, bins=settings.bins):
            singles.append(((condition,), condition.mask(values)))

    def test(candidates):
        tested = []
        for conditions, mask in candidates:
            n_in = int((mask & is_eval).sum())
            if n_in < settings.min_size or n_in == n_eval:
                continue
            e_in = int((mask & errors).sum())
            p = _one_sided_fisher(e_in, n_in, n_errors - e_in, n_eval - n_in)
            tested.append({"conditions": conditions, "mask": mask, "n": n_in, "errors": e_in, "p": p})
        return tested

    level1 = test(singles)
    weak_single = set()
    if level1:
        flags = multipletests([t["p"] for t in level1], alpha=settings.fdr, method="fdr_bh")[0]
        weak_single = {t["conditions"] for t, flag in zip(level1, flags) if flag}
    level2 = []
    if settings.pairs:
        expandable = [(c, m) for c, m in singles if c not in weak_single
                      and int((m & is_eval).sum()) >= settings.min_size]
        pairs = [(a + b, ma & mb) for i, (a, ma) in enumerate(expandable) for b, mb in expandable[i + 1:]
                 if a[0].column != b[0].column]
        level2 = test(pairs)
    tested = level1 + level2

    weak = []
    if tested:
        reject, q_values, _, _ = multipletests([t["p"] for t in tested], alpha=settings.fdr, method="fdr_bh")
        for t, rejected, q in zip(tested, reject, q_values):
            if rejected:
                weak.append(_describe(t, float(q), rows, is_eval, errors, is_train, is_reference, n_eval,
                                      n_errors, settings))
    weak.sort(key=lambda s: (-s["worth"], s["q_value"], s["slice"]))
    for rank, s in enumerate(weak, 1):
        s["rank"] = rank
    return {
        "overall": {"eval_examples": n_eval, "errors": n_errors, "accuracy": 1 - _rate(n_errors, n_eval),
                    "accuracy_interval": [1 - x for x in reversed(wilson_interval(n_errors, n_eval,
                                                                                  settings.confidence))]},
        "tested": {"single": len(level1), "pairs": len(level2), "total": len(tested)},
        "weak_slices": weak,
        "method": {
            "search": "single columns (numeric: eval quantile bins; categorical: values), then pairs of columns "
                      "whose parents were not weak (SliceFinder-style lattice)",
            "test": "one-sided Fisher exact test, slice vs rest of eval rows",
            "false_discoveries": f"Benjamini-Hochberg at FDR {settings.fdr} over all {len(tested)} tested slices "
                                 "(statsmodels multipletests fdr_bh)",
            "interval": f"Newcombe hybrid score {settings.confidence:.0%} interval of the error-rate difference, "
                        "times the slice's eval share",
            "min_size": settings.min_size, "bins": settings.bins, "fdr": settings.fdr,
            "reference_split": reference_split,
        },
    }


def _describe(t, q, rows, is_eval, errors, is_train, is_reference, n_eval, n_errors, settings):
    """A weak slice's numbers, worth with its interval, and its diagnosis."""
    mask, n_in, e_in = t["mask"], t["n"], t["errors"]
    n_out, e_out = n_eval - n_in, n_errors - e_in
    share = n_in / n_eval
    low, high = _difference_interval(e_in, n_in, e_out, n_out, settings.confidence)
    excess = _rate(e_in, n_in) - _rate(e_out, n_out)
    signals = diagnose(rows, mask, is_train, is_reference, settings, excess)
    eval_in = mask & is_eval
    per_class = {}
    if "label" in rows:
        in_slice = pd.DataFrame({"label": rows.loc[eval_in, "label"].astype(str), "correct": ~errors[eval_in]})
        for cls, group in in_slice.groupby("label"):
            per_class[cls] = {"examples": int(len(group)), "recall": float(group["correct"].mean())}
    return {
        "slice": " and ".join(c.describe() for c in t["conditions"]),
        "conditions": [c.as_dict() for c in t["conditions"]],
        "eval_examples": n_in, "errors": e_in,
        "error_rate": _rate(e_in, n_in), "error_rate_rest": _rate(e_out, n_out),
        "error_excess": excess, "error_excess_interval": [low, high],
        "eval_share": share,
        "worth": excess * share, "worth_interval": [low * share, high * share],
        "p_value": t["p"], "q_value": q,
        "per_class_recall": per_class,
        **signals,
        "example_ids": rows.loc[eval_in & errors, "example_id"].astype(str).tolist() if "example_id" in rows
        else [],
    }


def diagnose(rows: pd.DataFrame, mask: np.ndarray, is_train, is_reference, settings: Settings, error_excess):
    """What is most likely wrong in the slice `mask` (see the module docstring), with the numbers behind it."""
    train_in, train_n = int((mask & is_train).sum()), int(is_train.sum())
    ref_in, ref_n = int((mask & is_reference).sum()), int(is_reference.sum())
    train_share, ref_share = _rate(train_in, train_n), _rate(ref_in, ref_n)
    # Under-covered: the slice is a smaller share of train than of the reference rows.
    coverage_p = _one_sided_fisher(ref_in, ref_n, train_in, train_n)
    coverage_ratio = train_share / ref_share if ref_share else math.nan
    coverage = coverage_p < settings.alpha and coverage_ratio <= settings.max_coverage_ratio

    label_evidence = {}
    for name, column, hit in (("label_issue_rate", "label_issue", lambda v: v.astype(bool)),
                              ("disagreement_rate", "agreement", lambda v: v < 1)):
        if column not in rows:
            continue
        values = pd.to_numeric(rows[column], errors="coerce")
        has = values.notna().to_numpy(bool)
        if not has.any():
            continue
        hits = np.zeros(len(rows), bool)
        hits[has] = hit(values[has].to_numpy(float))
        h_in, n_in = int((hits & mask & has).sum()), int((mask & has).sum())
        h_out, n_out = int((hits & ~mask & has).sum()), int((~mask & has).sum())
        label_evidence[name] = {
            "slice": _rate(h_in, n_in), "rest": _rate(h_out, n_out), "examples": n_in,
            "p_value": _one_sided_fisher(h_in, n_in, h_out, n_out),
            "difference_interval": list(_difference_interval(h_in, n_in, h_out, n_out, settings.confidence))}
    labels_ambiguous = any(e["p_value"] < settings.alpha and e["slice"] - e["rest"] >= settings.min_label_share *
                           error_excess for e in label_evidence.values())
    diagnosis = "coverage" if coverage else "labels" if labels_ambiguous else "model"
    return {
        "diagnosis": diagnosis, "advice": ADVICE[diagnosis],
        "coverage": {"train_examples": train_in, "train_share": train_share, "reference_share": ref_share,
                     "ratio": coverage_ratio, "p_value": coverage_p},
        "label_signals": label_evidence,
    }


def metadata_table(rows: pd.DataFrame, columns, confidence=0.95):
    """Accuracy (Wilson interval) and per-class recall on every value of each column named, eval rows only: the
    slices a person named, measured whether weak or not."""
    eval_rows = rows[rows["split"] == EVAL_SPLIT]
    table = []
    for column in columns:
        values = eval_rows[column].where(eval_rows[column].notna(), "(missing)").astype(str)
        for value, group in eval_rows.groupby(values):
            correct = group["correct"].astype(bool)
            recall = {}
            if "label" in group:
                for cls, members in group.groupby(group["label"].astype(str)):
                    recall[cls] = {"examples": int(len(members)),
                                   "recall": float(members["correct"].astype(bool).mean())}
            low, high = wilson_interval(int(correct.sum()), len(group), confidence)
            table.append({"column": column, "value": value, "examples": int(len(group)),
                          "accuracy": float(correct.mean()), "accuracy_interval": [low, high],
                          "per_class_recall": recall})
    return table
