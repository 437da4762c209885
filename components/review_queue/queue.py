"""Merging the finders' flags into one ranked review queue. Plain Python: only flagged examples are read.

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
"""
import math

# The corrections file of components/corrections reads the first column and the last three; the rest is context.
QUEUE_COLUMNS = ["example_id", "given_label", "suggested_label", "reasons", "priority",
                 "corrected_label", "reviewer", "reason"]
EXTRA_COLUMNS = ["signals", "finders", "quality_score", "labeler_agreement", "split"]
# Finder names in the `finders` column, in the order the reasons are listed.
FINDERS = ("label_consistency", "conflicts", "label_errors", "error_analysis")
MAX_LISTED_PARTNERS = 5


class _Entry:
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

    def note(self, finder, text, given_label="", split="", metadata=None):
        self.reasons[finder] = text
        self.given_label = self.given_label or given_label
        self.split = self.split or split
        for key, value in (metadata or {}).items():
            self.metadata[key] = self.metadata.get(key) or value


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _or_one(value):
    return 1.0 if math.isnan(value) else value


def build_queue(disagreements=None, conflicts=None, label_issues=None, weak_slice_examples=None, *,
                id_column="example_id", labeler_columns=(), metadata_columns=()):
    """The queue rows (dicts with QUEUE_COLUMNS, EXTRA_COLUMNS and metadata_columns), ranked.

    Each argument is the list of rows (csv.DictReader dicts) of one finder's file, or None when that finder did
    not run. disagreements rows: <id_column>, one column per labeler, consensus, agreement, label, split.
    conflicts rows: group_id, example_id, label, split, metadata... . label_issues rows: example_id, given_label,
    suggested_label, quality_score, metadata... . weak_slice_examples rows: example_id, given_label,
    predicted_label, slice, diagnosis, split."""
    entries = {}

    def entry(example_id):
        return entries.setdefault(example_id, _Entry(example_id))

    for row in disagreements or []:
        e = entry(row[id_column])
        votes = ", ".join(f"{labeler}={row.get(labeler) or '(none)'}" for labeler in labeler_columns)
        e.consensus = row["consensus"]
        e.agreement = _number(row["agreement"])
        e.note("label_consistency", f"labelers disagree ({votes}, agreement {e.agreement:.2f}, consensus "
                                    f"{row['consensus']})", row["label"], row.get("split", ""))

    groups = {}
    for row in conflicts or []:
        groups.setdefault(row["group_id"], []).append(row)
    for members in groups.values():
        for row in members:
            others = [f"{o['example_id']} ({o['label']})" for o in members if o["example_id"] != row["example_id"]
                      and o["label"] != row["label"]]
            listed = ", ".join(others[:MAX_LISTED_PARTNERS])
            if len(others) > MAX_LISTED_PARTNERS:
                listed += f" and {len(others) - MAX_LISTED_PARTNERS} more"
            text = f"X->y conflict: near-identical to {listed} (group {row['group_id']})"
            entry(row["example_id"]).note("conflicts", text, row["label"], row.get("split", ""),
                                          {c: row.get(c, "") for c in metadata_columns})

    for row in label_issues or []:
        e = entry(row["example_id"])
        e.quality_score = _number(row["quality_score"])
        e.model_suggestion = row["suggested_label"]
        e.note("label_errors", f"likely label error (label quality {e.quality_score:.3f}; a model trained "
                                     f"on the other folds suggests {row['suggested_label']})",
               row["given_label"], "", {c: row.get(c, "") for c in metadata_columns})

    for row in weak_slice_examples or []:
        e = entry(row["example_id"])
        e.model_suggestion = e.model_suggestion or row["predicted_label"]
        e.note("error_analysis", f"the trained model predicts {row['predicted_label']} in weak slice "
                                 f"'{row['slice']}', whose labels look ambiguous", row["given_label"], row["split"])

    ranked = sorted(entries.values(), key=lambda e: (-len(e.reasons), _or_one(e.quality_score),
                                                     _or_one(e.agreement), e.example_id))
    rows = []
    for priority, e in enumerate(ranked, start=1):
        consensus = e.consensus if e.consensus and e.consensus != e.given_label else ""
        rows.append({
            "example_id": e.example_id, "given_label": e.given_label,
            "suggested_label": consensus or e.model_suggestion,
            "reasons": "; ".join(e.reasons[f] for f in FINDERS if f in e.reasons),
            "priority": priority, "corrected_label": "", "reviewer": "", "reason": "",
            "signals": len(e.reasons), "finders": ",".join(f for f in FINDERS if f in e.reasons),
            "quality_score": "" if math.isnan(e.quality_score) else f"{e.quality_score:.4f}",
            "labeler_agreement": "" if math.isnan(e.agreement) else f"{e.agreement:.4f}",
            "split": e.split, **{c: e.metadata.get(c, "") for c in metadata_columns}})
    return rows


def summarize(rows, sources, finders_given):
    """Counts for summary.json: rows, rows per finder (only the finders that ran: a finder that did not run has no
    count, not 0), rows per number of signals, and `sources`: which finders' outputs were read."""
    per_finder = {finder: sum(finder in row["finders"].split(",") for row in rows)
                  for finder in FINDERS if finder in finders_given}
    by_count = {}
    for row in rows:
        by_count[str(row["signals"])] = by_count.get(str(row["signals"]), 0) + 1
    return {"rows": len(rows), "rows_per_finder": per_finder, "rows_by_number_of_signals": by_count,
            "sources": sources}
