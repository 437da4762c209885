"""The monitor's findings as one JSON-ready dict, then as monitor.json, a readable summary.md, a console table and
the custom properties recorded in ML Metadata. Pure: statistics protos and dicts in, text out; no TFX, no Beam.

What counts as beyond thresholds (exit status 1): a feature whose skew verdict is `drift`, any schema anomaly, a
`drift` verdict on the predicted class mix, on the estimated accuracy (CBPE) or on the real accuracy.
`possible drift` and `too little data` are reported but do not fail the run.
"""
import datetime
import json
import os
import types

from components.drift import measures
from components.safe_text import markdown_cell, markdown_text
from pipeline.monitor import estimates

EXIT_CLEAN, EXIT_BEYOND_THRESHOLDS = 0, 1
REPORT_FILE, SUMMARY_FILE = "monitor.json", "summary.md"


def drift_thresholds(config):
    """The [drift] thresholds, which skew and prediction drift share with drift between spans."""
    return measures.DriftThresholds.from_config(config.drift)


def accuracy_thresholds(config):
    """[monitor] max_accuracy_drop and min_rows, tested at the [drift] significance levels."""
    return estimates.AccuracyThresholds(max_drop=config.monitor.max_accuracy_drop, min_rows=config.monitor.min_rows,
                                        alpha=config.drift.alpha, possible_alpha=config.drift.possible_alpha)


def _performance(predictions, evaluated, thresholds):
    """CBPE on serving and on the eval split, their comparison, and the real accuracy where labels came."""
    serving = estimates.PredictionSummary.from_dict(predictions["serving_summary"])
    reference = (estimates.PredictionSummary.from_dict(predictions["eval_summary"])
                 if "eval_summary" in predictions else None)
    result = {"cbpe": {"serving": estimates.cbpe(serving),
                       "eval": estimates.cbpe(reference) if reference else None,
                       "eval_real_accuracy": estimates.accuracy(reference) if reference else None}}
    if result["cbpe"]["serving"] and result["cbpe"]["eval"]:
        change = estimates.compare_cbpe(result["cbpe"]["serving"], result["cbpe"]["eval"])
        result["cbpe"]["change"] = dict(change, verdict=estimates.accuracy_verdict(change, thresholds))
    evaluated_accuracy, evaluated_rows = evaluated
    real = estimates.accuracy(serving)
    result["accuracy"] = {"serving": real, "evaluated_accuracy": evaluated_accuracy,
                          "evaluated_examples": evaluated_rows}
    if real and evaluated_accuracy is not None and evaluated_rows:
        change = estimates.compare_accuracy(real["correct"], real["labelled"], evaluated_accuracy, evaluated_rows)
        result["accuracy"]["change"] = dict(change, verdict=estimates.accuracy_verdict(change, thresholds))
    return result, serving, reference


def build(config, plan, class_names, training_statistics, serving_statistics, anomalies, predictions, evaluated):
    """The monitor's report as a JSON-ready dict (the layout of monitor.json)."""
    found, layout = plan.sources, plan.layout
    thresholds = drift_thresholds(config)
    # Ids, labelers and the columns that name a period ([drift] exclude) differ by nature; so do the columns not served.
    not_compared = [config.data.id_column, *config.labels.labeler_columns, *config.drift.exclude, *layout.absent]
    if not layout.has_label:
        not_compared.append(found.label)
    skew = measures.compare_statistics(training_statistics, serving_statistics, thresholds,
                                       label_column=found.label, exclude=set(not_compared))
    performance, serving, reference = _performance(predictions, evaluated, accuracy_thresholds(config))
    serving_mix = serving.class_mix(class_names)
    eval_mix = reference.class_mix(class_names) if reference else None
    prediction_drift = (estimates.prediction_drift(serving_mix, eval_mix, thresholds) if reference else None)

    beyond = [f"skew: {c.feature}" for c in skew if c.verdict == "drift"]
    beyond += [f"schema anomaly: {name}" for name in anomalies]
    if prediction_drift and prediction_drift.verdict == "drift":
        beyond.append("prediction drift")
    if performance["cbpe"].get("change", {}).get("verdict") == "drift":
        beyond.append("estimated accuracy drop (CBPE)")
    if performance["accuracy"].get("change", {}).get("verdict") == "drift":
        beyond.append("accuracy drop against the evaluation (concept drift)")
    judged = skew + ([prediction_drift] if prediction_drift else []) + [
        types.SimpleNamespace(verdict=section["change"]["verdict"])
        for section in (performance["cbpe"], performance["accuracy"]) if "change" in section]
    verdict = "drift" if beyond else measures.worst_verdict(judged)
    return {
        "monitored_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "verdict": verdict,
        "exit_status": EXIT_BEYOND_THRESHOLDS if beyond else EXIT_CLEAN,
        "beyond_thresholds": beyond,
        "model": {"model_id": found.model.id, "uri": found.model.uri,
                  "pushed_model_id": found.pushed_model.id if found.pushed_model else None,
                  "blessed": found.blessed, "label": found.label, "features": found.features,
                  "classes": class_names},
        "training": {"examples_ids": [a.id for a in found.training_examples],
                     "statistics_id": found.statistics[-1].id, "split": "train",
                     "rows": int(training_statistics.num_examples)},
        "serving": {"folder": plan.serving_folder, "files": layout.files, "rows": int(serving_statistics.num_examples),
                    "has_label": layout.has_label, "ignored_columns": layout.ignored,
                    "training_columns_not_served": layout.absent},
        "skew": [c.to_dict() for c in skew],
        "schema_anomalies": anomalies,
        "predictions": {"scored_rows": serving.rows, "unscored_rows": predictions.get("serving_unscored", 0),
                        "serving_class_mix": serving_mix, "eval_class_mix": eval_mix,
                        "prediction_drift": prediction_drift.to_dict() if prediction_drift else None},
        "performance": performance,
        "thresholds": {"drift": vars(thresholds), "accuracy": vars(accuracy_thresholds(config))},
    }


def recorded_properties(result):
    """What ML Metadata keeps on the MonitorReport artifact: the verdicts, not the whole report."""
    performance = result["performance"]
    properties = {
        "verdict": result["verdict"], "exit_status": result["exit_status"],
        "beyond_thresholds": result["beyond_thresholds"], "serving_rows": result["serving"]["rows"],
        "skew_verdicts": {c["feature"]: c["verdict"] for c in result["skew"]},
        "schema_anomalies": sorted(result["schema_anomalies"]),
    }
    if result["predictions"]["prediction_drift"]:
        properties["prediction_drift"] = result["predictions"]["prediction_drift"]["verdict"]
    if performance["cbpe"]["serving"]:
        properties["estimated_accuracy"] = performance["cbpe"]["serving"]["estimate"]
    if performance["accuracy"]["serving"]:
        properties["accuracy"] = performance["accuracy"]["serving"]["accuracy"]
    return properties


def _number(value, digits=3):
    return "-" if value is None else f"{value:.{digits}f}"


def _p(value):
    return "-" if value is None else f"{value:.2g}"


def _interval(interval):
    return f"[{interval[0]:.3f}, {interval[1]:.3f}]"


def performance_lines(result):
    """The performance findings in words, shared by the summary and the console."""
    performance = result["performance"]
    lines = []
    cbpe = performance["cbpe"]
    if cbpe["serving"]:
        lines.append(f"Estimated accuracy (CBPE, assumes the model is calibrated on this data): "
                     f"{cbpe['serving']['estimate']:.3f} {_interval(cbpe['serving']['interval'])} on "
                     f"{cbpe['serving']['rows']} rows")
    if cbpe["eval"]:
        real = cbpe["eval_real_accuracy"]
        lines.append(f"  on the eval split: estimated {cbpe['eval']['estimate']:.3f}"
                     + (f", real {real['accuracy']:.3f} {_interval(real['interval'])} (the gap is the model's "
                        f"miscalibration there)" if real else ""))
    if "change" in cbpe:
        change = cbpe["change"]
        lines.append(f"  change {change['change']:+.3f} {_interval(change['interval'])}, p = {_p(change['p_value'])}:"
                     f" {change['verdict']}")
    accuracy = performance["accuracy"]
    if accuracy["serving"]:
        real = accuracy["serving"]
        lines.append(f"Real accuracy on the {real['labelled']} labelled serving rows: {real['accuracy']:.3f} "
                     f"{_interval(real['interval'])}; evaluated accuracy {_number(accuracy['evaluated_accuracy'])} "
                     f"on {int(accuracy['evaluated_examples'] or 0) or '?'} eval examples")
        if "change" in accuracy:
            change = accuracy["change"]
            lines.append(f"  change {change['change']:+.3f} {_interval(change['interval'])}, p = "
                         f"{_p(change['p_value'])}: {change['verdict']} (a drop the features do not explain is "
                         f"concept drift)")
    else:
        lines.append("No labels in the serving data: accuracy is only estimated (CBPE above).")
    return lines


def summary_markdown(result):
    serving, model = result["serving"], result["model"]
    lines = [f"# Serving monitor: {result['verdict']}", "",
             f"Monitored at {result['monitored_at']}: Model #{model['model_id']}"
             + (f" (pushed as PushedModel #{model['pushed_model_id']})" if model["pushed_model_id"] else "")
             + f", trained on Examples {', '.join(f'#{i}' for i in result['training']['examples_ids'])} "
               f"(statistics #{result['training']['statistics_id']}, {result['training']['rows']} training rows), "
               f"against {serving['rows']} serving rows in {markdown_text(serving['folder'])}.", ""]
    if result["beyond_thresholds"]:
        beyond = ", ".join(map(markdown_text, result["beyond_thresholds"]))
        lines += [f"**Beyond thresholds (exit status 1):** {beyond}", ""]
    else:
        lines += ["Nothing beyond thresholds (exit status 0).", ""]
    lines += ["## Training-serving skew", "",
              "Per feature, serving against the training split's statistics, with the drift measures "
              "(components/drift/measures.py).", "",
              "| feature | verdict | measure | effect | threshold | PSI | p | missing (train -> serving) | why |",
              "|---|---|---|---|---|---|---|---|---|"]
    for c in result["skew"]:
        missing = (f"{c['baseline_missing_rate']:.1%} -> {c['current_missing_rate']:.1%}"
                   if c["baseline_missing_rate"] is not None and c["current_missing_rate"] is not None else "-")
        lines.append(f"| {markdown_cell(c['feature'])}{' (label)' if c['is_label'] else ''} | {c['verdict']} | "
                     f"{c['effect_measure']} | {_number(c['effect'])} | {c['effect_threshold']:g} | "
                     f"{_number(c['second_value'])} | {_p(c['p_value'])} | {missing} | "
                     f"{markdown_cell('; '.join(c['reasons']))} |")
    if serving["training_columns_not_served"]:
        lines += ["", "Training columns the serving files lack (none is a model feature): "
                  + ", ".join(map(markdown_text, serving["training_columns_not_served"]))]
    if serving["ignored_columns"]:
        lines += ["", "Serving columns unknown to the model's schema (ignored): "
                  + ", ".join(map(markdown_text, serving["ignored_columns"]))]
    lines += ["", "## Schema anomalies (TFDV, against the model's schema)", ""]
    lines += [f"- {markdown_text(name)}: {markdown_text('; '.join(reasons))}"
              for name, reasons in result["schema_anomalies"].items()] or ["None."]
    predictions = result["predictions"]
    lines += ["", "## Predictions", "",
              f"The model scored {predictions['scored_rows']} serving rows"
              + (f"; {predictions['unscored_rows']} rows lack a feature its serving signature requires and were "
                 f"not scored" if predictions["unscored_rows"] else "") + ".", ""]
    if predictions["eval_class_mix"] is not None:
        drift = predictions["prediction_drift"]
        lines += ["| predicted class | serving | eval split |", "|---|---|---|"]
        for name in result["model"]["classes"]:
            lines.append(f"| {markdown_cell(name)} | {predictions['serving_class_mix'][name]} | "
                         f"{predictions['eval_class_mix'][name]} |")
        lines += ["", f"Prediction drift: **{drift['verdict']}** (L-infinity {_number(drift['effect'])}, PSI "
                      f"{_number(drift['second_value'])}, chi-squared p = {_p(drift['p_value'])})"
                      + (f"; {markdown_text('; '.join(drift['reasons']))}" if drift["reasons"] else "")]
    lines += ["", "## Performance", ""] + [f"- {markdown_text(line.strip())}" for line in performance_lines(result)]
    lines += ["", "CBPE (confidence-based performance estimation, as in NannyML) is an estimate: the mean of the "
                  "model's top-class probability is its expected accuracy only if those probabilities are "
                  "calibrated on the serving data. Covariate shift can make a model confidently wrong, which no "
                  "label-free estimate sees; the skew table is the check for that."]
    return "\n".join(lines) + "\n"


def console_lines(result):
    """A short table for the terminal: features by severity, then predictions and performance."""
    severity = {v: i for i, v in enumerate(measures.VERDICTS)}
    rows = sorted(result["skew"], key=lambda c: (severity[c["verdict"]], c["feature"]))
    width = max([len(c["feature"]) for c in rows] + [len("feature")])
    lines = [f"{'feature'.ljust(width)}  {'verdict':<15}  {'effect':>7}  {'PSI':>7}  {'p':>8}"]
    for c in rows:
        lines.append(f"{c['feature'].ljust(width)}  {c['verdict']:<15}  {_number(c['effect']):>7}  "
                     f"{_number(c['second_value']):>7}  {_p(c['p_value']):>8}")
    for name, reasons in result["schema_anomalies"].items():
        lines.append(f"schema anomaly: {name}: {'; '.join(reasons)}")
    drift = result["predictions"]["prediction_drift"]
    if drift:
        lines.append(f"prediction drift (class mix vs eval split): {drift['verdict']} "
                     f"(L-infinity {_number(drift['effect'])})")
    return lines + performance_lines(result)


def write(result, out_dir):
    """monitor.json and summary.md in `out_dir` (local or remote, through pyarrow's filesystems)."""
    import pyarrow.fs as pafs
    filesystem, root = pafs.FileSystem.from_uri(out_dir if "://" in out_dir else os.path.abspath(out_dir))
    for name, text in ((REPORT_FILE, json.dumps(result, indent=2, default=float)),
                       (SUMMARY_FILE, summary_markdown(result))):
        with filesystem.open_output_stream(f"{root}/{name}") as f:
            f.write(text.encode("utf-8"))
