"""The conflicts component's contract: its files, columns and ML Metadata property names, importable without TFX
(the runs ledger, the report and the CLI read them without loading TensorFlow); component.py re-exports them."""
ARTIFACT_TYPE_NAME = "components.LabelConflicts"  # the artifact class's TYPE_NAME
# The LabelConflicts artifact's files:
CONFLICTS_FILE = "conflicts.csv"  # CONFLICT_COLUMNS, then the metadata columns, then the compared columns
CONFLICT_COLUMNS = ["group_id", "example_id", "label", "split"]
SUMMARY_FILE = "summary.json"
# Its custom properties (the first four are counts, also keys of summary.json):
COUNT_PROPERTIES = ("groups", "examples_in_conflict", "conflicting_pairs", "examples_without_label")
LABEL_PAIRS = "label_pairs"
EXCLUDED_ALL_MISSING = "excluded_all_missing"
SKIPPED = "skipped"
