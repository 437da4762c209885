"""Weak slices: where the model errs more than elsewhere, what that is worth, and what is most likely wrong there.

Plain numpy/pandas/scipy/statsmodels, no TFX. The search reads only counts per slice: `count_rows` counts any part
of the rows, `merge_counts` adds parts (the component does this in a Beam combine, so its memory grows with the slice
keys, not the rows), `search_counts` tests and diagnoses; `find_weak_slices(rows, ...)` does all three in memory.

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

import json
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


MAX_LISTED_IDS = 100  # a slice's eval errors named by id (the smallest ids), in the analysis and for the review queue
_SIGNALS = {  # per-example label signals: the column, and when a value is a hit
    "label_issue": lambda v: v != 0,  # the label-error finder flagged it
    "agreement": lambda v: v < 1,  # some labeler disagreed with the consensus
}


def quantile_edges(values, bins):
    """The inner edges of `bins` quantile bins (numpy's linear quantiles) of the present values, without repeats."""
    x = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(float)
    return np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1])).tolist() if len(x) else []


@dataclass
class Plan:
    """What the counts are kept by: the slice columns in order (numeric ones binned at their inner `edges`, the others
    by value), pairs of them when `pairs`, the metadata columns value by value, and how many error ids per slice."""
    columns: tuple
    edges: dict  # numeric column -> its inner bin edges; a column not here is categorical
    metadata_columns: tuple = ()
    listed_ids: int = MAX_LISTED_IDS
    pairs: bool = True

    def condition(self, column, cell):
        """The predicate of a cell: None is missing, a numeric cell is a bin index, a categorical one a value."""
        numeric = column in self.edges
        if cell is None:
            return Condition(column, missing=True, numeric=numeric)
        if numeric:
            bounds = [-math.inf, *self.edges[column], math.inf]
            return Condition(column, low=bounds[cell], high=bounds[cell + 1], numeric=True)
        return Condition(column, value=cell)

    def groups(self):
        """The column tuples counted: none (the totals), each column, and each pair in column order."""
        singles = [(c,) for c in self.columns]
        pairs = [(a, b) for i, a in enumerate(self.columns) for b in self.columns[i + 1:]] if self.pairs else []
        return [(), *singles, *pairs]


def _check_rows(rows: pd.DataFrame, columns):
    if "split" not in rows or "correct" not in rows:
        raise SliceError("rows need a 'split' column and a 'correct' column (eval rows)")
    missing = [c for c in columns if c not in rows]
    if missing:
        raise SliceError(f"slice column(s) {missing} are not in the rows; columns are: {', '.join(rows.columns)}")


def _cells(values: pd.Series, column, plan):
    """(a code per row, the cell of each code); code 0 is "missing"."""
    if column in plan.edges:
        x = pd.to_numeric(values, errors="coerce").to_numpy(float)
        codes = np.searchsorted(np.asarray(plan.edges[column], float), x, side="right") + 1
        codes[np.isnan(x)] = 0
        return codes, [None, *range(len(plan.edges[column]) + 1)]
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    return codes + 1, [None, *(_json_value(u) for u in uniques)]


def count_rows(rows: pd.DataFrame, plan: Plan):
    """The counts of `rows` (any part of the data) per slice: rows per split, eval errors, label signals, eval
    examples and correct per class, and the `listed_ids` smallest ids of eval errors (with label and prediction).
    Counts of parts add up (merge_counts) to the counts of the whole, whatever the parts."""
    _check_rows(rows, [*plan.columns, *plan.metadata_columns])
    split = rows["split"].astype(str).to_numpy()
    is_eval = split == EVAL_SPLIT
    correct = rows["correct"].to_numpy(dtype=object)
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in correct[is_eval]):
        raise SliceError("every eval row needs 'correct' (True or False)")
    error = np.zeros(len(rows), bool)
    error[is_eval] = ~correct[is_eval].astype(bool)
    signals = {}
    for name, hit in _SIGNALS.items():
        if name in rows:
            values = pd.to_numeric(rows[name], errors="coerce").to_numpy(float)
            has = ~np.isnan(values)
            hits = np.zeros(len(rows), bool)
            hits[has] = hit(values[has])
            signals[name] = (has, hits)
    labels = rows["label"].astype(str).to_numpy() if "label" in rows else None
    listed = None
    if "example_id" in rows:
        raw_labels = rows["label"].tolist() if "label" in rows else [None] * len(rows)
        predicted = rows["predicted_label"].tolist() if "predicted_label" in rows else [None] * len(rows)
        listed = (rows["example_id"].astype(str).to_numpy(), raw_labels, predicted)
    data = _RowData(split, is_eval, error, signals, labels, listed)
    cells = {c: _cells(rows[c], c, plan) for c in plan.columns}
    counts = {"slices": {}, "metadata": {}}
    for group in plan.groups():
        counts["slices"].update(_count_group(group, [cells[c] for c in group], data, plan.listed_ids))
    for column in plan.metadata_columns:
        values = rows[column].where(rows[column].notna(), "(missing)").astype(str)
        codes, uniques = pd.factorize(values.to_numpy(dtype=object))
        counts["metadata"].update(_count_group((column,), [(codes, list(uniques))], data, 0))
    return counts


class _RowData:
    """The per-row arrays every group's counts are taken from."""

    def __init__(self, split, is_eval, error, signals, labels, listed):
        self.split_names, self.split_codes = np.unique(split, return_inverse=True)
        self.is_eval, self.error, self.signals, self.labels, self.listed = is_eval, error, signals, labels, listed


def _count_group(columns, cells, data, listed_ids):
    """{key: stats} for one tuple of columns; a key is ((column, cell), ...)."""
    combined = np.zeros(len(data.error), np.int64)
    for codes, names in cells:
        combined = combined * len(names) + codes
    present, group = np.unique(combined, return_inverse=True)
    size, n_splits = len(present), len(data.split_names)
    per_split = np.bincount(group * n_splits + data.split_codes, minlength=size * n_splits).reshape(size, n_splits)
    errors = np.bincount(group, weights=data.error, minlength=size)
    signals = {name: (np.bincount(group, weights=has, minlength=size), np.bincount(group, weights=hits,
                                                                                   minlength=size))
               for name, (has, hits) in data.signals.items()}
    per_class = None
    if data.labels is not None and data.is_eval.any():
        classes, label_codes = np.unique(data.labels[data.is_eval], return_inverse=True)
        index = group[data.is_eval] * len(classes) + label_codes
        per_class = (classes, np.bincount(index, minlength=size * len(classes)).reshape(size, -1),
                     np.bincount(index, weights=~data.error[data.is_eval], minlength=size * len(classes))
                     .reshape(size, -1))
    listed = [[] for _ in range(size)]
    if listed_ids and data.listed is not None:
        ids, raw_labels, predicted = data.listed
        wrong = np.flatnonzero(data.error)
        wrong = wrong[np.argsort(ids[wrong], kind="stable")]
        wrong = wrong[np.argsort(group[wrong], kind="stable")]  # by group, then by id
        starts = np.searchsorted(group[wrong], np.arange(size))
        ends = np.searchsorted(group[wrong], np.arange(size), side="right")
        for g in range(size):
            listed[g] = [[str(ids[i]), _json_value(raw_labels[i]), _json_value(predicted[i])]
                         for i in wrong[starts[g]:min(ends[g], starts[g] + listed_ids)]]
    found = {}
    for g, combined_code in enumerate(present.tolist()):
        key = []
        for column, (_, names) in zip(reversed(columns), reversed(cells)):
            combined_code, code = divmod(combined_code, len(names))
            key.append((column, names[code]))
        stats = {"splits": {str(name): int(n) for name, n in zip(data.split_names, per_split[g]) if n},
                 "errors": int(errors[g]),
                 "signals": {name: [int(has[g]), int(hits[g])] for name, (has, hits) in signals.items()},
                 "per_class": {}, "ids": listed[g]}
        if per_class is not None:
            classes, examples, right = per_class
            stats["per_class"] = {str(c): [int(n), int(r)] for c, n, r in zip(classes, examples[g], right[g]) if n}
        found[tuple(reversed(key))] = stats
    return found


def _listed_order(entry):
    return entry[0], str(entry[1]), str(entry[2])


def merge_counts(into, other, listed_ids=MAX_LISTED_IDS):
    """Adds the counts `other` to `into` (changed in place and returned); each slice keeps its `listed_ids`
    smallest error ids."""
    for part in ("slices", "metadata"):
        table = into[part]
        for key, stats in other[part].items():
            mine = table.get(key)
            if mine is None:
                table[key] = stats
                continue
            for split, n in stats["splits"].items():
                mine["splits"][split] = mine["splits"].get(split, 0) + n
            mine["errors"] += stats["errors"]
            for name, (has, hits) in stats["signals"].items():
                had = mine["signals"].setdefault(name, [0, 0])
                had[0] += has
                had[1] += hits
            for label, (n, right) in stats["per_class"].items():
                had = mine["per_class"].setdefault(label, [0, 0])
                had[0] += n
                had[1] += right
            if stats["ids"]:
                mine["ids"] = sorted(mine["ids"] + stats["ids"], key=_listed_order)[:listed_ids]
    return into


def empty_counts():
    return {"slices": {}, "metadata": {}}


def counts_to_json(counts):
    """The counts as JSON-ready lists (keys are tuples), sorted by key and with sorted inner dicts, so that equal
    counts give equal JSON whatever order they were merged in."""
    def ordered(stats):
        return {name: dict(sorted(value.items())) if isinstance(value, dict) else value
                for name, value in stats.items()}

    return {part: [[key, ordered(stats)] for key, stats in sorted(
        ([[list(cell) for cell in key], stats] for key, stats in table.items()), key=lambda e: json.dumps(e[0]))]
            for part, table in counts.items()}


def counts_from_json(document):
    return {part: {tuple(tuple(cell) for cell in key): stats for key, stats in entries}
            for part, entries in document.items()}


def find_weak_slices(rows: pd.DataFrame, categorical_columns=(), numeric_columns=(), settings: Settings = None,
                     reference_split: str = EVAL_SPLIT):
    """The weak slices of `rows` (all in memory), worst (by what fixing them is worth) first, and what was searched:
    numeric columns binned at the eval rows' quantiles, counted (count_rows) and searched (search_counts)."""
    settings = settings or Settings()
    settings.check()
    plan = plan_for(rows, categorical_columns, numeric_columns, settings)
    return search_counts(count_rows(rows, plan), plan, settings, reference_split)


def plan_for(rows: pd.DataFrame, categorical_columns, numeric_columns, settings: Settings, metadata_columns=(),
             listed_ids=MAX_LISTED_IDS):
    """The plan of a search over `rows`' columns, numeric ones binned at the quantiles of their eval rows."""
    columns = tuple(dict.fromkeys([*categorical_columns, *numeric_columns]))
    _check_rows(rows, [*columns, *metadata_columns])
    is_eval = (rows["split"] == EVAL_SPLIT).to_numpy(bool)
    edges = {c: quantile_edges(rows.loc[is_eval, c], settings.bins) for c in numeric_columns}
    return Plan(columns, edges, tuple(metadata_columns), listed_ids, settings.pairs)


def search_counts(counts, plan: Plan, settings: Settings, reference_split: str = EVAL_SPLIT):
    """The weak slices from the counts (see the module docstring). Returns a dict (JSON-ready): "overall", "tested"
    (slices tested), "weak_slices" (list of dicts, ranked), "method". `reference_split` is the split whose share a
    slice's train share is compared with for coverage: "eval", or "serving" when rows of serving data are included."""
    settings.check()
    table = counts["slices"]
    totals = table.get((), {"splits": {}, "errors": 0, "signals": {}})
    n_eval, n_errors = totals["splits"].get(EVAL_SPLIT, 0), totals["errors"]
    if not n_eval:
        raise SliceError("no eval rows: error analysis needs the model's predictions on the eval split")

    def eval_examples(key):
        return table[key]["splits"].get(EVAL_SPLIT, 0) if key in table else 0

    singles = []
    for column in plan.columns:
        if column in plan.edges:
            cells = list(range(len(plan.edges[column]) + 1))
        else:
            cells = sorted((key[0][1] for key in table if len(key) == 1 and key[0][0] == column
                            and key[0][1] is not None and eval_examples(key)), key=str)
        if eval_examples(((column, None),)):
            cells.append(None)
        singles += [((column, cell),) for cell in cells]

    def test(keys):
        tested = []
        for key in keys:
            n_in = eval_examples(key)
            if n_in < settings.min_size or n_in == n_eval:
                continue
            e_in = table[key]["errors"]
            tested.append({"key": key, "n": n_in, "errors": e_in,
                           "p": _one_sided_fisher(e_in, n_in, n_errors - e_in, n_eval - n_in)})
        return tested

    level1 = test(singles)
    weak_single = set()
    if level1:
        flags = multipletests([t["p"] for t in level1], alpha=settings.fdr, method="fdr_bh")[0]
        weak_single = {t["key"] for t, flag in zip(level1, flags) if flag}
    level2 = []
    if plan.pairs and settings.pairs:
        expandable = [k for k in singles if k not in weak_single and eval_examples(k) >= settings.min_size]
        level2 = test([a + b for i, a in enumerate(expandable) for b in expandable[i + 1:] if a[0][0] != b[0][0]])
    tested = level1 + level2

    weak = []
    if tested:
        reject, q_values, _, _ = multipletests([t["p"] for t in tested], alpha=settings.fdr, method="fdr_bh")
        for t, rejected, q in zip(tested, reject, q_values):
            if rejected:
                weak.append(_describe(t, float(q), table[t["key"]], totals, plan, n_eval, n_errors, settings,
                                      reference_split))
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


def _describe(t, q, stats, totals, plan, n_eval, n_errors, settings, reference_split):
    """A weak slice's numbers, worth with its interval, and its diagnosis."""
    n_in, e_in = t["n"], t["errors"]
    n_out, e_out = n_eval - n_in, n_errors - e_in
    share = n_in / n_eval
    low, high = _difference_interval(e_in, n_in, e_out, n_out, settings.confidence)
    excess = _rate(e_in, n_in) - _rate(e_out, n_out)
    conditions = [plan.condition(column, cell) for column, cell in t["key"]]
    return {
        "slice": " and ".join(c.describe() for c in conditions),
        "conditions": [c.as_dict() for c in conditions],
        "eval_examples": n_in, "errors": e_in,
        "error_rate": _rate(e_in, n_in), "error_rate_rest": _rate(e_out, n_out),
        "error_excess": excess, "error_excess_interval": [low, high],
        "eval_share": share,
        "worth": excess * share, "worth_interval": [low * share, high * share],
        "p_value": t["p"], "q_value": q,
        "per_class_recall": {label: {"examples": n, "recall": right / n}
                             for label, (n, right) in sorted(stats["per_class"].items())},
        **diagnose(stats, totals, settings, excess, reference_split),
        "example_ids": [entry[0] for entry in stats["ids"]],
    }


def diagnose(stats, totals, settings: Settings, error_excess, reference_split=EVAL_SPLIT):
    """What is most likely wrong in the slice with counts `stats` (see the module docstring), with the numbers
    behind it; `totals` are the counts of all rows."""
    train_in, train_n = stats["splits"].get(TRAIN_SPLIT, 0), totals["splits"].get(TRAIN_SPLIT, 0)
    ref_in, ref_n = stats["splits"].get(reference_split, 0), totals["splits"].get(reference_split, 0)
    train_share, ref_share = _rate(train_in, train_n), _rate(ref_in, ref_n)
    # Under-covered: the slice is a smaller share of train than of the reference rows.
    coverage_p = _one_sided_fisher(ref_in, ref_n, train_in, train_n)
    coverage_ratio = train_share / ref_share if ref_share else math.nan
    coverage = coverage_p < settings.alpha and coverage_ratio <= settings.max_coverage_ratio

    label_evidence = {}
    for name, column in (("label_issue_rate", "label_issue"), ("disagreement_rate", "agreement")):
        total_has, total_hits = totals["signals"].get(column, (0, 0))
        if not total_has:
            continue
        n_in, h_in = stats["signals"].get(column, (0, 0))
        h_out, n_out = total_hits - h_in, total_has - n_in
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
    return metadata_table_of_counts(count_rows(rows, Plan((), {}, tuple(columns), 0, False)), columns, confidence)


def metadata_table_of_counts(counts, columns, confidence=0.95):
    """metadata_table from counts made with the columns as the plan's metadata_columns."""
    table = []
    for column in columns:
        values = sorted((key[0][1], stats) for key, stats in counts["metadata"].items()
                        if key[0][0] == column and stats["splits"].get(EVAL_SPLIT, 0))
        for value, stats in values:
            n = stats["splits"][EVAL_SPLIT]
            right = n - stats["errors"]
            low, high = wilson_interval(right, n, confidence)
            table.append({"column": column, "value": value, "examples": n, "accuracy": right / n,
                          "accuracy_interval": [low, high],
                          "per_class_recall": {label: {"examples": k, "recall": r / k}
                                               for label, (k, r) in sorted(stats["per_class"].items())}})
    return table
