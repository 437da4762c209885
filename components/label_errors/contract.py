"""The label_errors component's contract: its files, columns and ML Metadata property names, importable without TFX
(the runs ledger, the report and the CLI read them without loading TensorFlow); component.py re-exports them."""
ARTIFACT_TYPE_NAME = "components.LabelIssues"  # the artifact class's TYPE_NAME
# The LabelIssues artifact's files:
ISSUES_FILE = "label_issues.csv"  # ISSUE_COLUMNS, then the metadata columns; worst first
ISSUE_COLUMNS = ["example_id", "given_label", "suggested_label", "quality_score"]
SUMMARY_FILE = "summary.json"
# Its custom properties:
NUM_ISSUES = "num_issues"
NUM_ANALYSED = "num_analysed"
ESTIMATED_NOISE_RATE = "estimated_noise_rate"
SKIPPED = "skipped"
# [label_errors] max_fit_examples: up to this many examples the finder runs on all of them in memory (exact); above
# it, on a stratified sample of this size with bounded memory, and label_issues.csv holds at most this many rows.
DEFAULT_MAX_FIT_EXAMPLES = 200_000
