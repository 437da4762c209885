"""drift.json's content and summary.md from a list of `measures.FeatureComparison`; pure Python."""
from components.drift import measures


def _fmt(value, digits=3):
    return "-" if value is None else f"{value:.{digits}g}"


def _rate(value):
    return "-" if value is None else f"{value:.1%}"


def build(comparisons, current_span, baseline_span, split, thresholds: measures.DriftThresholds):
    """The drift.json document."""
    return {"verdict": measures.worst_verdict(comparisons), "current_span": current_span,
            "baseline_span": baseline_span, "split": split, "thresholds": vars(thresholds),
            "drifted_features": [c.feature for c in comparisons if c.verdict == "drift"],
            "possible_drift_features": [c.feature for c in comparisons if c.verdict == "possible drift"],
            "features": [c.to_dict() for c in comparisons]}


def gate_message(status, result, summary_path):
    drifted = ", ".join(result["drifted_features"])
    advice = (" If the change is expected, raise those features' [drift] feature_thresholds or set "
              "on_drift = \"warn\"." if status == "fail" else "")
    return (f"Drift gate: {status.upper()}: span {result['current_span']} drifted from span "
            f"{result['baseline_span']} on: {drifted}.{advice} Details: {summary_path}")


def summary_markdown(result):
    """Verdict first, then every feature (drifted first), then the label's class mix and unseen values."""
    order = {verdict: i for i, verdict in enumerate(measures.VERDICTS)}
    features = sorted(result["features"], key=lambda f: (order[f["verdict"]], f["feature"]))
    t = result["thresholds"]
    lines = [f"# Drift: span {result['current_span']} against span {result['baseline_span']} "
             f"({result['split']} split)", "",
             f"Verdict: **{result['verdict']}**"
             + (f"; drift: {', '.join(result['drifted_features'])}" if result["drifted_features"] else "")
             + (f"; possible drift: {', '.join(result['possible_drift_features'])}"
                if result["possible_drift_features"] else ""), "",
             f"Rule: \"drift\" when the test gives p < {t['alpha']} and the effect reaches its threshold "
             f"(L-infinity {t['categorical_linf']} for categorical features, Wasserstein distance "
             f"{t['numeric_wasserstein_sd']} standard deviations for numeric ones), or the missing rate moved by "
             f"{t['missing_rate_change']:.0%} with p < {t['alpha']}; \"possible drift\" the same with "
             f"p < {t['possible_alpha']}; \"too little data\" under {t['min_count']} values. Effects are TFDV's "
             f"(L-infinity, Jensen-Shannon divergence); PSI for comparison (> 0.25: a large shift).", "",
             "| feature | verdict | kind | TFDV effect | PSI | threshold measure | test p | values (baseline / "
             "current) | missing (baseline / current) | why |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for f in features:
        name = f["feature"] + (" (label)" if f["is_label"] else "")
        threshold = (f"{_fmt(f['verdict_effect'])} (>= {f['effect_threshold']:g})"
                     if f["verdict_effect"] is not None else "-")
        lines.append(f"| {name} | {f['verdict']} | {f['kind']} | {f['effect_measure']} {_fmt(f['effect'])} | "
                     f"{_fmt(f['second_value'])} | {threshold} | {f['test']} {_fmt(f['p_value'], 2)} | "
                     f"{f['baseline_count']} / {f['current_count']} | {_rate(f['baseline_missing_rate'])} / "
                     f"{_rate(f['current_missing_rate'])} | {'; '.join(f['reasons']) or '-'} |")
    for f in features:
        if f["is_label"] and f["baseline_shares"]:
            lines += ["", f"## Class mix of {f['feature']} (label drift: {f['verdict']})", "",
                      "| class | baseline share | current share |", "|---|---|---|"]
            for value in sorted(set(f["baseline_shares"]) | set(f["current_shares"])):
                lines.append(f"| {value} | {_rate(f['baseline_shares'].get(value))} | "
                             f"{_rate(f['current_shares'].get(value))} |")
    unseen = [f for f in features if f["unseen_categories"]]
    if unseen:
        lines += ["", "## Values never seen in the baseline", ""]
        lines += [f"- {f['feature']}: {', '.join(f['unseen_categories'])} ({f['unseen_share']:.1%} of current values)"
                  for f in unseen]
    return "\n".join(lines) + "\n"
