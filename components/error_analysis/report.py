"""The error analysis in words: a one-line verdict (recorded in ML Metadata) and summary.md."""


def _points(x):
    return f"{100 * x:+.1f}"


def _percent(x):
    return f"{100 * x:.1f}%"


def verdict(analysis):
    """One line: the most valuable weak slice and what to do about it, or that none stands out from noise."""
    overall = analysis["overall"]
    low, high = overall["accuracy_interval"]
    accuracy = f"eval accuracy {_percent(overall['accuracy'])} [{_percent(low)}, {_percent(high)}]"
    weak = analysis["weak_slices"]
    if not weak:
        return (f"no weak slice beyond noise among {analysis['tested']['total']} tested "
                f"(false discovery rate {analysis['method']['fdr']}); {accuracy}")
    top = weak[0]
    w_low, w_high = top["worth_interval"]
    return (f"{len(weak)} weak slice(s); top: {top['slice']} (error {_percent(top['error_rate'])} vs "
            f"{_percent(top['error_rate_rest'])}, worth {_points(top['worth'])} [{_points(w_low)}, "
            f"{_points(w_high)}] accuracy points): {top['diagnosis']}: {top['advice']}; {accuracy}")


def summary_markdown(analysis):
    """summary.md: the verdict, the weak slices with their evidence, and the metadata slices measured."""
    lines = ["# Error analysis", "", analysis["verdict"], ""]
    method = analysis["method"]
    lines += [f"Tested {analysis['tested']['single']} single-column and {analysis['tested']['pairs']} two-column "
              f"slices of at least {method['min_size']} eval examples; {method['test']}; "
              f"{method['false_discoveries']}. Worth = error excess x eval share: the accuracy points gained "
              f"overall if the slice erred like the rest ({method['interval']}).", ""]
    if analysis["weak_slices"]:
        lines += ["## Weak slices, most valuable first", "",
                  "| rank | slice | eval examples | error rate (rest) | worth, points [95% CI] | q | diagnosis | "
                  "train share vs reference | label flags (rest) | labeler disagreement (rest) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for s in analysis["weak_slices"]:
            flags = s["label_signals"].get("label_issue_rate")
            disagree = s["label_signals"].get("disagreement_rate")
            low, high = s["worth_interval"]
            lines.append(
                f"| {s['rank']} | {s['slice']} | {s['eval_examples']} | {_percent(s['error_rate'])} "
                f"({_percent(s['error_rate_rest'])}) | {_points(s['worth'])} [{_points(low)}, {_points(high)}] | "
                f"{s['q_value']:.3g} | {s['diagnosis']} | {_percent(s['coverage']['train_share'])} vs "
                f"{_percent(s['coverage']['reference_share'])} | "
                + (f"{_percent(flags['slice'])} ({_percent(flags['rest'])})" if flags else "n/a") + " | "
                + (f"{_percent(disagree['slice'])} ({_percent(disagree['rest'])})" if disagree else "n/a") + " |")
        lines += ["", "What to do:", ""]
        lines += [f"- {s['slice']}: {s['advice']}" for s in analysis["weak_slices"]]
        lines.append("")
    advice = analysis.get("levers")
    if advice:
        lines += ["## More data or cleaner labels?", ""]
        if "skipped" in advice:
            lines += [f"Not estimated: {advice['skipped']}.", ""]
        else:
            lines += [advice["answer"] + ".", "",
                      f"Proxy model {advice['model']} trained on {advice['training_examples']} training examples "
                      f"and scored on {advice['eval_examples_scored']} eval examples the label-error finder did not "
                      f"flag; {advice['method']['bootstrap']}. Doubling: {advice['doubling']['how']}; cleaning: "
                      f"{advice['cleaning']['how']}.", "",
                      "| training examples | repeats | proxy accuracy (std over repeats) |", "|---|---|---|"]
            lines += [f"| {point['examples']} | {point['repeats']} | {_percent(point['accuracy'])} "
                      f"({100 * point['accuracy_std']:.1f}) |" for point in advice["learning_curve"]]
            lines.append("")
    if analysis.get("metadata_slices"):
        lines += ["## Metadata slices (all, weak or not)", "",
                  "| column | value | eval examples | accuracy [95% Wilson CI] | recall per class |",
                  "|---|---|---|---|---|"]
        for m in analysis["metadata_slices"]:
            low, high = m["accuracy_interval"]
            recall = ", ".join(f"{c} {_percent(r['recall'])} ({r['examples']})"
                               for c, r in sorted(m["per_class_recall"].items()))
            lines.append(f"| {m['column']} | {m['value']} | {m['examples']} | {_percent(m['accuracy'])} "
                         f"[{_percent(low)}, {_percent(high)}] | {recall} |")
        lines.append("")
    return "\n".join(lines)
