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
