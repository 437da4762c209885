"""The slice finder on synthetic data with planted weak slices (independent of the demo), real models and the real
label-error finder: each planted slice is found and gets the right diagnosis; data with no weak slice yields no
more discoveries than the false discovery rate allows."""
import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom
from sklearn.linear_model import LogisticRegression

from components.error_analysis import slices
from components.label_errors.finder import find_label_errors

FEATURES = ["x0", "x1", "x2"]
CATEGORICALS = ["site", "device"]


def table(seed, n=3000):
    """Three uniform features, two metadata columns; the label is x1 in thirds; 70/30 train/eval."""
    rng = np.random.default_rng(seed)
    rows = pd.DataFrame({name: rng.uniform(size=n) for name in FEATURES})
    rows["site"] = rng.choice(list("ABCD"), size=n)
    rows["device"] = rng.choice(["old", "new"], p=[0.3, 0.7], size=n)
    rows["label"] = np.digitize(rows["x1"], [1 / 3, 2 / 3])
    rows["split"] = np.where(rng.uniform(size=n) < 0.7, "train", "eval")
    rows["example_id"] = [f"ex-{i}" for i in range(n)]
    return rows, rng


def predict(rows, features):
    """A logistic regression trained on the train rows; `correct` on the eval rows (NaN elsewhere)."""
    train = rows["split"] == "train"
    model = LogisticRegression(max_iter=2000).fit(rows.loc[train, features], rows.loc[train, "label"])
    evaluated = rows["split"] == "eval"
    rows["correct"] = np.nan
    rows.loc[evaluated, "correct"] = model.predict(rows.loc[evaluated, features]) == rows.loc[evaluated, "label"]
    rows["correct"] = rows["correct"].astype(object)
    return rows


def flag_label_issues(rows, features, model="logistic_regression"):
    findings = find_label_errors(rows[features], rows["label"], model=model, log=lambda *_: None)
    rows["label_issue"] = findings.is_issue.astype(float)
    return rows


def search(rows, **settings):
    return slices.find_weak_slices(rows, CATEGORICALS, FEATURES, slices.Settings(**settings))


@pytest.mark.parametrize("seed", [0, 1])
def test_flipped_labels_of_a_metadata_value_are_diagnosed_as_labels(seed):
    rows, rng = table(seed)
    flip = (rows["site"] == "C") & (rng.uniform(size=len(rows)) < 0.6)
    rows.loc[flip, "label"] = (rows.loc[flip, "label"] + rng.integers(1, 3, size=int(flip.sum()))) % 3
    rows = flag_label_issues(predict(rows, FEATURES), FEATURES)

    found = search(rows)["weak_slices"]
    assert found[0]["slice"] == "site = C"
    assert found[0]["diagnosis"] == "labels"
    evidence = found[0]["label_signals"]["label_issue_rate"]
    assert evidence["slice"] > evidence["rest"] and evidence["p_value"] < 0.05
    low, high = found[0]["worth_interval"]
    assert 0 < low <= found[0]["worth"] <= high
    named = set(found[0]["example_ids"])  # the slice's errors: mostly the flips, a few near class boundaries
    assert len(named & set(rows.loc[flip, "example_id"])) >= 0.8 * len(named)


@pytest.mark.parametrize("seed", [0, 1])
def test_region_missing_from_training_is_diagnosed_as_coverage(seed):
    rows, _ = table(seed)
    region = rows["x0"] >= 0.8
    rows.loc[region, "label"] = 2 - rows.loc[region, "label"]  # another regime there
    rows = rows[~(region & (rows["split"] == "train"))].reset_index(drop=True)  # never collected for training
    rows = flag_label_issues(predict(rows, FEATURES), FEATURES)

    found = search(rows)["weak_slices"]
    top = found[0]
    assert top["conditions"][0]["column"] == "x0" and top["conditions"][0]["high"] is None
    assert top["diagnosis"] == "coverage"
    assert top["coverage"]["ratio"] < 0.5


@pytest.mark.parametrize("seed", [0, 1])
def test_slice_where_the_model_is_simply_worse_is_diagnosed_as_model(seed):
    """On old devices the label follows x2, which the model does not use; labels are clean and the slice is
    covered, and a flexible label-error finder that sees x2 and the device agrees with the labels."""
    rows, _ = table(seed)
    old = rows["device"] == "old"
    rows.loc[old, "label"] = np.digitize(rows.loc[old, "x2"], [1 / 3, 2 / 3])
    rows["device_code"] = old.astype(float)
    rows = predict(rows, ["x0", "x1"])
    rows = flag_label_issues(rows, FEATURES + ["device_code"], model="hist_gradient_boosting")

    found = search(rows)["weak_slices"]
    assert found[0]["slice"] == "device = old"
    assert found[0]["diagnosis"] == "model"


def test_labeler_disagreement_alone_makes_the_diagnosis_labels():
    """Without the label-error finder, labelers who disagree more in a slice point at its labels."""
    rows, rng = table(3)
    hard = rows["site"] == "B"
    rows["correct"] = (rng.uniform(size=len(rows)) > np.where(hard, 0.4, 0.1)).astype(object)
    rows["agreement"] = np.where(rng.uniform(size=len(rows)) < np.where(hard, 0.5, 0.1), 2 / 3, 1.0)

    found = search(rows)["weak_slices"]
    assert found[0]["slice"] == "site = B"
    assert found[0]["diagnosis"] == "labels"
    assert "label_issue_rate" not in found[0]["label_signals"]


def test_no_weak_slice_yields_discoveries_no_more_often_than_the_fdr_allows():
    """Errors independent of everything: under this global null Benjamini-Hochberg bounds the chance of any
    discovery by the FDR (5%). 40 seeded repetitions; more than 6 with a discovery has probability 0.7% if the
    bound holds."""
    with_discoveries = 0
    for seed in range(40):
        rows, rng = table(100 + seed, n=2000)
        rows["correct"] = (rng.uniform(size=len(rows)) > 0.15).astype(object)
        result = search(rows)
        assert result["tested"]["single"] > 10 and result["tested"]["pairs"] > 100
        with_discoveries += bool(result["weak_slices"])
    assert with_discoveries <= 6
    assert binom.sf(6, 40, 0.05) < 0.01


def test_minimum_size_and_metadata_table():
    rows, rng = table(5, n=600)
    rows["correct"] = (rng.uniform(size=len(rows)) > 0.2).astype(object)
    result = search(rows, min_size=1000)
    assert result["tested"]["total"] == 0 and result["weak_slices"] == []
    measured = slices.metadata_table(rows, ["site"])
    assert [m["value"] for m in measured] == list("ABCD")
    for m in measured:
        low, high = m["accuracy_interval"]
        assert low < m["accuracy"] < high
        assert sum(r["examples"] for r in m["per_class_recall"].values()) == m["examples"]


def test_errors_name_what_to_fix():
    rows, _ = table(0, n=50)
    with pytest.raises(slices.SliceError, match="'correct'"):
        slices.find_weak_slices(rows, ["site"])
    rows["correct"] = True
    with pytest.raises(slices.SliceError, match=r"\['colour'\]"):
        slices.find_weak_slices(rows, ["colour"])
    with pytest.raises(slices.SliceError, match="bins"):
        slices.find_weak_slices(rows, ["site"], settings=slices.Settings(bins=1))


def test_counts_of_parts_add_up_to_the_counts_of_the_whole():
    """What the executor's Beam combine relies on: any split of the rows into parts, counted and merged in any
    order, gives the counts (and so the search) of all rows at once; each slice keeps its smallest error ids."""
    rows, rng = table(4, n=2500)
    rows["correct"] = (rng.uniform(size=len(rows)) > np.where(rows["site"] == "D", 0.35, 0.12)).astype(object)
    rows.loc[rng.uniform(size=len(rows)) < 0.05, "x0"] = np.nan
    rows["label_issue"] = (rng.uniform(size=len(rows)) < 0.1).astype(float)
    plan = slices.plan_for(rows, CATEGORICALS, FEATURES, slices.Settings(), metadata_columns=["site"], listed_ids=7)
    whole = slices.count_rows(rows, plan)
    cuts = np.sort(rng.choice(np.arange(1, len(rows)), size=9, replace=False))
    parts = [slices.count_rows(part, plan) for part in np.split(rows.sample(frac=1, random_state=1), cuts)]
    merged = slices.empty_counts()
    for part in reversed(parts):
        slices.merge_counts(merged, part, listed_ids=7)
    assert slices.counts_to_json(merged) == slices.counts_to_json(whole)
    assert slices.counts_from_json(json.loads(json.dumps(slices.counts_to_json(whole)))) == whole
    site_d = whole["slices"][(("site", "D"),)]
    errors_d = rows[(rows["site"] == "D") & (rows["split"] == "eval") & (rows["correct"] == False)]  # noqa: E712
    assert [entry[0] for entry in site_d["ids"]] == sorted(errors_d["example_id"])[:7]
    assert site_d["errors"] == len(errors_d)
    expected = search(rows)  # all at once, naming 100 ids per slice
    for weak in expected["weak_slices"]:
        weak["example_ids"] = weak["example_ids"][:7]
    assert slices.search_counts(merged, plan, slices.Settings()) == expected
