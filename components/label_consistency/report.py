"""From `LabelStats` to what people read: metrics.json's dict, the gate decision and summary.md."""
from __future__ import annotations

import numpy as np

from components.label_consistency import metrics as M
from components.safe_text import markdown_cell, markdown_text


def fmt(value, digits=3):
    return "undefined" if value is None else f"{value:.{digits}f}"


def build_metrics(stats: M.LabelStats, classes, labelers, min_class_agreement, input_problems):
    """The metrics.json dict. `input_problems` holds the counts of bad input (unknown label values, duplicates)."""
    L = len(labelers)
    fleiss, fleiss_per_class = M.fleiss_kappa(stats.fleiss_n, L, stats.fleiss_sum, stats.fleiss_sq_sum)
    alpha = M.krippendorff_alpha(stats.coincidence)
    specific = M.positive_specific_agreement(stats.pair_confusion)
    per_class = {}
    for c, name in enumerate(classes):
        per_class[name] = {
            "krippendorff_alpha": M.class_alpha(stats.coincidence, c),
            "fleiss_kappa": fleiss_per_class[c],
            "positive_specific_agreement": specific[c],
            "support": int(stats.labels[:, c].sum()),  # labels given as this class, over all labelers
        }
    defined = [name for name in classes if per_class[name]["krippendorff_alpha"] is not None]
    ranking = sorted(defined, key=lambda name: per_class[name]["krippendorff_alpha"])
    to_review = [name for name in ranking if per_class[name]["krippendorff_alpha"] < min_class_agreement]
    cohen = {f"{labelers[i]}|{labelers[j]}": M.cohen_kappa(stats.pair_confusion[i, j])
             for i in range(L) for j in range(i + 1, L)}
    labeler_report = {}
    for l, name in enumerate(labelers):
        confusion = stats.loo_confusion[l]
        decided = int(confusion.sum())
        labeler_report[name] = {
            "n_labels": int(stats.labels[l].sum()),
            "agreement_with_consensus": None if decided == 0 else float(np.trace(confusion) / decided),
            "n_compared": decided,
            "n_no_consensus": int(stats.loo_undecided[l]),  # the others gave no label or tied
            "confusion_vs_consensus": {"rows": "leave-one-out consensus of the other labelers",
                                       "columns": "this labeler", "classes": list(classes),
                                       "matrix": confusion.tolist()},
        }
    undefined = []
    if len(classes) < 2 or alpha is None:
        undefined.append("agreement is undefined: the labels use fewer than two classes or no example has two "
                         "labels, so chance agreement is total and kappa/alpha would divide by zero")
    return {
        "n_examples": stats.n_examples,
        "n_labelers": L,
        "labelers": labeler_report,
        "classes": list(classes),
        "n_examples_fewer_than_two_labels": stats.n_fewer_than_two,
        "n_examples_unlabeled": stats.n_unlabeled,
        "cohen_kappa": cohen,
        "cohen_kappa_ci_method": "95% normal interval with the large-sample standard error of Fleiss, Cohen & "
                                 "Everitt (1969), statsmodels.stats.inter_rater.cohens_kappa",
        "fleiss_kappa": fleiss,
        "fleiss_n_examples": stats.fleiss_n,
        "krippendorff_alpha": alpha,
        "per_class": per_class,
        "hlp_estimate": M.hlp_estimate(stats.pair_confusion),
        "hlp_method": M.HLP_METHOD,
        "class_ranking": ranking,
        "classes_to_review": to_review,
        "undefined": undefined,
        "input_problems": input_problems,
    }


class AgreementGateError(RuntimeError):
    """on_low_agreement = "fail" and the labelers agree too little: the run stops before Transform (exit 1, as the
    drift gate; not an input error)."""


def gate(metrics, min_agreement, min_class_agreement, on_low_agreement):
    """("pass" | "warn" | "fail", reasons). Low agreement gives `on_low_agreement`; undefined agreement only warns
    (a single class is not low agreement, but nobody should trust a gate that could not be evaluated)."""
    if metrics["undefined"]:
        return "warn", list(metrics["undefined"])
    reasons = []
    if metrics["krippendorff_alpha"] < min_agreement:
        reasons.append(f"Krippendorff's alpha {metrics['krippendorff_alpha']:.3f} is below min_agreement "
                       f"{min_agreement}")
    if metrics["classes_to_review"]:
        worst = ", ".join(f"{name} (alpha {metrics['per_class'][name]['krippendorff_alpha']:.3f})"
                          for name in metrics["classes_to_review"])
        reasons.append(f"classes below min_class_agreement {min_class_agreement}, worst first: {worst}")
    return ("pass", []) if not reasons else (on_low_agreement, reasons)


def gate_message(status, reasons, metrics, summary_path):
    review = metrics["classes_to_review"] or metrics["class_ranking"][:1]
    advice = f" Revise the labeling instructions for: {', '.join(review)}." if review else ""
    return f"Label consistency gate: {status.upper()}: {'; '.join(reasons)}.{advice} Details: {summary_path}"


def summary_markdown(metrics, status, reasons, consensus_method):
    """A readable report: headline figures, per-class table, labelers, pairs, bad input. Every name and note from
    the data goes through components/safe_text.py: `|` cannot add a table cell, HTML stays text."""
    lines = ["# Label consistency", "",
             f"Gate: **{status}**" + (": " + markdown_text("; ".join(reasons)) if reasons else ""), "",
             f"- examples: {metrics['n_examples']}, labelers: {metrics['n_labelers']}, "
             f"examples with fewer than two labels (left out of pairwise figures): "
             f"{metrics['n_examples_fewer_than_two_labels']}",
             f"- Krippendorff's alpha (nominal, all labels): {fmt(metrics['krippendorff_alpha'])}",
             f"- Fleiss' kappa ({metrics['fleiss_n_examples']} examples labeled by every labeler): "
             f"{fmt(metrics['fleiss_kappa'])}",
             f"- human-level performance estimate: {fmt(metrics['hlp_estimate'])} ({metrics['hlp_method']})",
             f"- consensus method: {consensus_method}", ""]
    lines += [f"- {markdown_text(note)}" for note in metrics["undefined"]]
    lines += ["## Per class (worst first)", "",
              "| class | alpha (class vs rest) | Fleiss kappa | positive specific agreement | labels |",
              "|---|---|---|---|---|"]
    order = metrics["class_ranking"] + [c for c in metrics["classes"] if c not in metrics["class_ranking"]]
    for name in order:
        row = metrics["per_class"][name]
        lines.append(f"| {markdown_cell(name)} | {fmt(row['krippendorff_alpha'])} | {fmt(row['fleiss_kappa'])} | "
                     f"{fmt(row['positive_specific_agreement'])} | {row['support']} |")
    lines += ["", "## Labelers (against the leave-one-out consensus of the others)", "",
              "| labeler | labels | agreement with consensus | compared | no consensus |", "|---|---|---|---|---|"]
    for name, row in metrics["labelers"].items():
        lines.append(f"| {markdown_cell(name)} | {row['n_labels']} | {fmt(row['agreement_with_consensus'])} | "
                     f"{row['n_compared']} | {row['n_no_consensus']} |")
    lines += ["", "## Labeler pairs (Cohen's kappa, 95% CI)", "", "| pair | kappa | 95% CI | examples |",
              "|---|---|---|---|"]
    for pair, row in metrics["cohen_kappa"].items():
        ci = "undefined" if row["ci95"] is None else f"[{row['ci95'][0]:.3f}, {row['ci95'][1]:.3f}]"
        lines.append(f"| {markdown_cell(pair)} | {fmt(row['value'])} | {ci} | {row['n']} |")
    problems = metrics["input_problems"]
    lines += ["", "## Input problems", ""]
    if any(problems.values()):
        lines += [f"- {key}: {markdown_text(value)}" for key, value in problems.items() if value]
    else:
        lines.append("- none")
    lines += ["", "Examples where the labelers disagree: disagreements.csv (same folder).", ""]
    return "\n".join(lines)
