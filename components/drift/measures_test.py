"""measures.py on statistics TFDV computes from synthetic data with planted shifts, checked against TFDV itself."""
import numpy as np
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from components.drift import measures

REPETITIONS = 40
SMALL_SHIFT_SD = 0.2  # the smallest mean shift, in standard deviations, the defaults must find at 200,000 rows


def statistics(frame):
    return tfdv.generate_statistics_from_dataframe(frame).datasets[0]


def by_feature(baseline, current, **kwargs):
    return {c.feature: c for c in measures.compare_statistics(statistics(baseline), statistics(current), **kwargs)}


def one_distribution(rng, n):
    """A numeric and a categorical feature, drawn from one fixed distribution."""
    return pd.DataFrame({"length": rng.gamma(4.0, 10.0, n),
                         "colour": rng.choice(["red", "green", "blue", "grey"], size=n, p=[0.4, 0.3, 0.2, 0.1])})


def planted(rng, n, shifted):
    """Eight features; with `shifted`, five get a planted change and three do not."""
    frame = pd.DataFrame({
        "mass": rng.normal(4000 * (1.06 if shifted else 1.0), 500, n),  # planted: x1.06, a 0.48-sd shift
        "depth": rng.normal(17, 2, n),
        "count": rng.poisson(3, n).astype(float),
        "site": rng.choice(["a", "b", "c"], size=n, p=[0.2, 0.5, 0.3] if shifted else [0.4, 0.4, 0.2]),
        "colour": rng.choice(["red", "green"], size=n, p=[0.7, 0.3]),
        "species": rng.choice(["x", "y", "z"], size=n, p=[0.3, 0.3, 0.4] if shifted else [0.45, 0.3, 0.25]),
        "kind": rng.choice(["k1", "k2", "k3"] if shifted else ["k1", "k2"], size=n,
                           p=[0.4, 0.4, 0.2] if shifted else [0.5, 0.5]),
        "width": rng.normal(10, 1, n),
    })
    if shifted:  # planted: 20% of widths go missing
        frame.loc[rng.random(n) < 0.2, "width"] = np.nan
    return frame


def test_effect_sizes_equal_tfdv_drift_comparators():
    rng = np.random.default_rng(1)
    baseline, current = statistics(planted(rng, 3000, False)), statistics(planted(rng, 2000, True))
    schema = tfdv.infer_schema(tfdv.generate_statistics_from_dataframe(planted(rng, 10, False)))
    for feature in schema.feature:
        comparator = feature.drift_comparator
        if feature.type == schema_pb2.BYTES:
            comparator.infinity_norm.threshold = 1e-9
        else:
            comparator.jensen_shannon_divergence.threshold = 1e-9
    current_list = statistics_pb2.DatasetFeatureStatisticsList()
    baseline_list = statistics_pb2.DatasetFeatureStatisticsList()
    current_list.datasets.add().CopyFrom(current)
    baseline_list.datasets.add().CopyFrom(baseline)
    anomalies = tfdv.validate_statistics(current_list, schema, previous_statistics=baseline_list)
    tfdv_values = {info.path.step[0]: info.drift_measurements[0].value for info in anomalies.drift_skew_info}
    ours = {c.feature: c.effect for c in measures.compare_statistics(baseline, current)}
    assert set(tfdv_values) == set(ours) and len(ours) == 8
    for feature, value in tfdv_values.items():
        assert ours[feature] == pytest.approx(value, rel=1e-9, abs=1e-12), feature


def test_planted_changes_found_on_exactly_the_planted_features():
    rng = np.random.default_rng(2)
    results = by_feature(planted(rng, 20_000, False), planted(rng, 20_000, True), label_column="species")
    drifted = {name for name, c in results.items() if c.verdict == "drift"}
    assert drifted == {"mass", "site", "species", "kind", "width"}
    assert {c.verdict for name, c in results.items() if name not in drifted} == {"no drift"}
    assert results["mass"].verdict_effect == pytest.approx(0.48, abs=0.05)  # 240 g over a 500 g standard deviation
    assert results["kind"].unseen_categories == ["k3"]
    assert results["kind"].unseen_share == pytest.approx(0.2, abs=0.02)
    label = results["species"]
    assert label.is_label and not results["site"].is_label
    assert label.baseline_shares["x"] == pytest.approx(0.45, abs=0.02)
    assert label.current_shares["x"] == pytest.approx(0.3, abs=0.02)
    assert label.effect == pytest.approx(0.15, abs=0.02)  # z: 0.25 -> 0.40, x: 0.45 -> 0.30
    assert label.max_difference_value in ("x", "z")
    width = results["width"]
    assert width.baseline_missing_rate == 0 and width.current_missing_rate == pytest.approx(0.2, abs=0.01)
    assert any("missing rate" in reason for reason in width.reasons)
    assert all(c.second_value is not None and c.p_value is not None for c in results.values())
    assert results["mass"].second_value > 0.1 > results["depth"].second_value  # PSI's rule of thumb


def drift_rate(n, shift_sd, seed):
    """Share of REPETITIONS in which any feature of two samples of size n is called "drift"; the current sample's
    `length` moved by shift_sd standard deviations."""
    rng = np.random.default_rng(seed)
    alarms = 0
    for _ in range(REPETITIONS):
        baseline, current = one_distribution(rng, n), one_distribution(rng, n)
        current["length"] += shift_sd * 20.0  # gamma(4, 10) has standard deviation 20
        alarms += any(c.verdict == "drift" for c in by_feature(baseline, current).values())
    return alarms / REPETITIONS


@pytest.mark.parametrize("n", [200, 200_000])
def test_false_alarms_at_most_5_percent(n):
    rate = drift_rate(n, 0.0, seed=n)
    print(f"false alarm rate at {n} rows: {rate:.3f} of {REPETITIONS} repetitions")
    assert rate <= 0.05


def test_a_small_shift_is_found_at_200000_rows():
    rng = np.random.default_rng(3)
    for _ in range(3):
        baseline, current = one_distribution(rng, 200_000), one_distribution(rng, 200_000)
        current["length"] += SMALL_SHIFT_SD * 20.0
        result = by_feature(baseline, current)
        assert result["length"].verdict == "drift"
        assert result["colour"].verdict == "no drift"


def test_a_negligible_shift_at_200000_rows_is_significant_but_no_drift():
    rng = np.random.default_rng(4)
    baseline, current = one_distribution(rng, 200_000), one_distribution(rng, 200_000)
    current["length"] += 0.05 * 20.0
    length = by_feature(baseline, current)["length"]
    assert length.p_value < 1e-6 and length.verdict == "no drift"
    assert "significant" in length.reasons[-1]


def test_too_little_data_overrides_and_absent_features():
    rng = np.random.default_rng(5)
    small = by_feature(one_distribution(rng, 30), one_distribution(rng, 300))
    assert {c.verdict for c in small.values()} == {"too little data"}
    baseline, current = planted(rng, 5000, False), planted(rng, 5000, True).drop(columns=["depth"])
    thresholds = measures.DriftThresholds(feature_thresholds={"mass": 0.6})
    results = by_feature(baseline, current, thresholds=thresholds, exclude=("colour",))
    assert "colour" not in results
    assert results["mass"].verdict == "no drift" and results["mass"].effect_threshold == 0.6
    assert results["depth"].kind == "absent" and results["depth"].verdict == "drift"
    assert measures.worst_verdict(results.values()) == "drift"
    assert measures.worst_verdict([]) == "no drift"
