"""Merging the finders' flags into one ranked review queue. Pure Python, one row or one example at a time, so the
executor's Beam pipeline (and `build_queue`, the same rule over lists) applies it at any size.

Each finder is an independent signal that an example's label deserves a look:
  - labelers disagree  (LabelConsistency: disagreements.csv)
  - X->y conflict      (Conflicts: conflicts.csv)
  - likely label error (LabelErrors: label_issues.csv, confident learning)
  - the trained model errs on it inside a weak slice whose labels look ambiguous (ErrorAnalysis:
    weak_slice_examples.csv; only when the pipeline trains, as it comes after the Evaluator)
An example flagged by several finders appears once, with every reason.

Ranking rule: more independent signals first; then the lower cleanlab label-quality score (examples without one
count as 1, no evidence); then the lower labeler agreement (without one: 1); then example_id. `priority` is the rank,
1 = review first.

suggested_label: the labelers' consensus when it differs from the given label (people outrank a model), else
the label LabelErrors suggests; empty when no finder suggests one (a conflict alone says only that labels differ).

How the pieces fit: a conflicts row's reason needs its group, so `conflict_member` + `GroupMembers` summarise each
group in a small accumulator first; `signal` turns one finder row into (example_id, Signal), a conflicts row's
reason written from its group's summary; `merge` replays an example's signals in a fixed order (finder, then the
row's position in its file), so the result never depends on the order they arrive in; `rank_key` orders the
merged examples and `queue_row` is the row written.
"""
import math
from collections import namedtuple

# The corrections file of components/corrections reads the first column and the last three; the rest is context.
QUEUE_COLUMNS = ["example_id", "given_label", "suggested_label", "reasons", "priority",
                 "corrected_label", "reviewer", "reason"]
EXTRA_COLUMNS = ["signals", "finders", "quality_score", "labeler_agreement", "split"]
# Finder names in the `finders` column, in the order the reasons are listed.
FINDERS = ("label_consistency", "conflicts", "label_errors", "error_analysis")
MAX_LISTED_PARTNERS = 5
# [review_queue] max_rows: the queue holds the highest-ranked this many examples (a team reviews far fewer; the
# ranking's memory does not depend on it). summary.json counts every flagged example and how many were left out.
DEFAULT_MAX_ROWS = 500_000

# One finder's flag on one example. `order` = (finder's index in FINDERS, row position in its file) fixes the order
# `merge` applies signals in. `text` is the reason; the other fields are what that row says about the example ("" or
# NaN when it says nothing).
Signal = namedtuple("Signal", "order finder text given_label split metadata consensus agreement quality_score "
                              "model_suggestion weak_slice_prediction")


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _or_one(value):
    return 1.0 if math.isnan(value) else value


def _signal(finder, position, text="", given_label="", split="", metadata=(), consensus="", agreement=math.nan,
            quality_score=math.nan, model_suggestion="", weak_slice_prediction=""):
    return Signal((FINDERS.index(finder), position), finder, text, given_label, split, tuple(metadata), consensus,
                  agreement, quality_score, model_suggestion, weak_slice_prediction)


def example_id(finder, row, id_column="example_id"):
    """The id of the example a finder's row flags (disagreements.csv names it by the pipeline's id column)."""
    return row[id_column] if finder == "label_consistency" else row["example_id"]


def signal(finder, position, row, *, id_column="example_id", labeler_columns=(), metadata_columns=(),
           group_summaries=None):
    """(example_id, Signal) of row number `position` of `finder`'s file (a csv.DictReader dict).

    disagreements rows: <id_column>, one column per labeler, consensus, agreement, label, split.
    conflicts rows: group_id, example_id, label, split, metadata...; the reason is written from the row's group in
      `group_summaries` ({group_id: GroupMembers summary} of the whole file).
    label_issues rows: example_id, given_label, suggested_label, quality_score, metadata... .
    weak_slice_examples rows: example_id, given_label, predicted_label, slice, diagnosis, split."""
    metadata = lambda: [(c, row.get(c, "")) for c in metadata_columns]  # noqa: E731
    if finder == "label_consistency":
        votes = ", ".join(f"{labeler}={row.get(labeler) or '(none)'}" for labeler in labeler_columns)
        agreement = _number(row["agreement"])
        return example_id(finder, row, id_column), _signal(
            finder, position, f"labelers disagree ({votes}, agreement {agreement:.2f}, consensus {row['consensus']})",
            row["label"], row.get("split", ""), consensus=row["consensus"], agreement=agreement)
    if finder == "conflicts":
        group_id, member = conflict_member(position, row)
        reason = conflict_reason(group_id, member, group_summaries[group_id])
        return row["example_id"], _signal(finder, position, reason, row["label"], row.get("split", ""), metadata())
    if finder == "label_errors":
        quality = _number(row["quality_score"])
        return row["example_id"], _signal(
            finder, position, f"likely label error (label quality {quality:.3f}; a model trained on the other folds "
                              f"suggests {row['suggested_label']})",
            row["given_label"], "", metadata(), quality_score=quality, model_suggestion=row["suggested_label"])
    if finder == "error_analysis":
        return row["example_id"], _signal(
            finder, position, f"the trained model predicts {row['predicted_label']} in weak slice '{row['slice']}', "
                              f"whose labels look ambiguous",
            row["given_label"], row["split"], weak_slice_prediction=row["predicted_label"])
    raise ValueError(f"unknown finder {finder!r}; one of {', '.join(FINDERS)}")


def conflict_member(position, row):
    """(group_id, (position, example_id, label)): what a conflicts row tells its group."""
    return row["group_id"], (position, row["example_id"], row["label"])


class GroupMembers:
    """A conflict group in a small accumulator: per label, how many members carry it and the first
    MAX_LISTED_PARTNERS of them by position, which is all a member's reason lists. (Conflicts writes each example
    once, so a member's partners are exactly the members with another label.)"""

    @staticmethod
    def create():
        return {}

    @staticmethod
    def add(summary, member):
        position, example_id, label = member
        count, first = summary.get(label, (0, ()))
        summary[label] = (count + 1, tuple(sorted(first + ((position, example_id),))[:MAX_LISTED_PARTNERS]))
        return summary

    @staticmethod
    def merge(summaries):
        merged = {}
        for summary in summaries:
            for label, (count, first) in summary.items():
                old_count, old_first = merged.get(label, (0, ()))
                merged[label] = (old_count + count, tuple(sorted(old_first + first)[:MAX_LISTED_PARTNERS]))
        return merged


def conflict_reason(group_id, member, summary):
    """The reason of the conflicts row `member` ((position, example_id, label)) of group `group_id`."""
    _, _, label = member
    others = sorted((position, f"{example_id} ({other})") for other, (_, first) in summary.items() if other != label
                    for position, example_id in first)
    total = sum(count for other, (count, _) in summary.items() if other != label)
    listed = ", ".join(text for _, text in others[:MAX_LISTED_PARTNERS])
    if total > MAX_LISTED_PARTNERS:
        listed += f" and {total - MAX_LISTED_PARTNERS} more"
    return f"X->y conflict: near-identical to {listed} (group {group_id})"


class Entry:
    """One example's merged signals: what the queue row is made of."""

    def __init__(self, example_id):
        self.example_id = example_id
        self.given_label = ""
        self.consensus = ""
        self.model_suggestion = ""
        self.reasons = {}  # finder (one of FINDERS) -> text
        self.quality_score = math.nan
        self.agreement = math.nan
        self.split = ""
        self.metadata = {}

    def note(self, s):
        """Applies one signal; a later row of the same finder replaces that finder's reason and numbers."""
        if s.finder == "label_consistency":
            self.consensus, self.agreement = s.consensus, s.agreement
        elif s.finder == "label_errors":
            self.quality_score, self.model_suggestion = s.quality_score, s.model_suggestion
        elif s.finder == "error_analysis":
            self.model_suggestion = self.model_suggestion or s.weak_slice_prediction
        self.reasons[s.finder] = s.text
        self.given_label = self.given_label or s.given_label
        self.split = self.split or s.split
        for key, value in s.metadata:
            self.metadata[key] = self.metadata.get(key) or value


def merge(example_id, signals):
    """The Entry of an example from all its signals, applied in (finder, position) order whatever order they came
    in."""
    entry = Entry(example_id)
    for s in sorted(signals, key=lambda s: s.order):
        entry.note(s)
    return entry


def rank_key(entry):
    """Sorts the queue: more signals, lower label quality, lower agreement, then the id (unique, so no ties). Numbers
    (never NaN) and a str, so it keeps its order through JSON (the executor's sorted_text key)."""
    return (-len(entry.reasons), _or_one(entry.quality_score), _or_one(entry.agreement), entry.example_id)


def queue_row(entry, metadata_columns, priority=None):
    """The queue row (a dict: QUEUE_COLUMNS, EXTRA_COLUMNS, then metadata_columns) of a merged example."""
    consensus = entry.consensus if entry.consensus and entry.consensus != entry.given_label else ""
    return {
        "example_id": entry.example_id, "given_label": entry.given_label,
        "suggested_label": consensus or entry.model_suggestion,
        "reasons": "; ".join(entry.reasons[f] for f in FINDERS if f in entry.reasons),
        "priority": priority, "corrected_label": "", "reviewer": "", "reason": "",
        "signals": len(entry.reasons), "finders": ",".join(f for f in FINDERS if f in entry.reasons),
        "quality_score": "" if math.isnan(entry.quality_score) else f"{entry.quality_score:.4f}",
        "labeler_agreement": "" if math.isnan(entry.agreement) else f"{entry.agreement:.4f}",
        "split": entry.split, **{c: entry.metadata.get(c, "") for c in metadata_columns}}


def build_queue(rows_by_finder, *, id_column="example_id", labeler_columns=(), metadata_columns=()):
    """The ranked queue rows of small in-memory inputs, by the same steps the executor's Beam pipeline runs:
    `rows_by_finder` maps each finder that ran (a name in FINDERS) to its file's rows (csv.DictReader dicts)."""
    summaries = {}
    for position, row in enumerate(rows_by_finder.get("conflicts", ())):
        group_id, member = conflict_member(position, row)
        summaries[group_id] = GroupMembers.add(summaries.get(group_id, GroupMembers.create()), member)
    signals = {}
    for finder, rows in rows_by_finder.items():
        for position, row in enumerate(rows):
            example_id, s = signal(finder, position, row, id_column=id_column, labeler_columns=labeler_columns,
                                   metadata_columns=metadata_columns, group_summaries=summaries)
            signals.setdefault(example_id, []).append(s)
    ranked = sorted((merge(i, s) for i, s in signals.items()), key=rank_key)
    return [queue_row(entry, metadata_columns, priority) for priority, entry in enumerate(ranked, start=1)]


def count(counts, finders):
    """Adds a queue row (its `finders` cell) to summary counts: {"rows": n, "finders": {finder: n}, "signals":
    {"k": n}}."""
    counts["rows"] = counts.get("rows", 0) + 1
    for finder in finders.split(","):
        counts.setdefault("finders", {})[finder] = counts.get("finders", {}).get(finder, 0) + 1
    signals = str(len(finders.split(",")))
    counts.setdefault("signals", {})[signals] = counts.get("signals", {}).get(signals, 0) + 1
    return counts


def merge_counts(all_counts):
    merged = {}
    for counts in all_counts:
        merged["rows"] = merged.get("rows", 0) + counts.get("rows", 0)
        for part in ("finders", "signals"):
            for key, n in counts.get(part, {}).items():
                merged.setdefault(part, {})[key] = merged.get(part, {}).get(key, 0) + n
    return merged


def summarize(counts, rows_written, max_rows, sources, finders_given):
    """Counts for summary.json, over every flagged example (also those beyond max_rows): rows_flagged, rows per
    finder (only the finders that ran: a finder that did not run has no count, not 0), rows per number of signals;
    rows (written to the queue), max_rows and rows_left_out (the lowest-ranked, when more than max_rows were
    flagged); `sources`: which finders' outputs were read."""
    per_finder = {finder: counts.get("finders", {}).get(finder, 0) for finder in FINDERS if finder in finders_given}
    by_signals = dict(sorted(counts.get("signals", {}).items(), key=lambda kv: -int(kv[0])))
    flagged = counts.get("rows", 0)
    return {"rows": rows_written, "rows_flagged": flagged, "rows_left_out": flagged - rows_written,
            "max_rows": max_rows, "rows_per_finder": per_finder, "rows_by_number_of_signals": by_signals,
            "sources": sources}
