"""The review_queue component's contract: its files, columns and ML Metadata property names, importable without TFX
(the runs ledger, the report and the CLI read them without loading TensorFlow); component.py re-exports them."""
ARTIFACT_TYPE_NAME = "components.LabelReviewQueue"  # the artifact class's TYPE_NAME
# The LabelReviewQueue artifact's files and custom properties:
QUEUE_FILE = "review_queue.csv"  # queue.QUEUE_COLUMNS, queue.EXTRA_COLUMNS, then the metadata columns
SUMMARY_FILE = "summary.json"
ROWS = "rows"
ROWS_FROM = "rows_from_{finder}"  # one per finder given
ROWS_WITH_SEVERAL_SIGNALS = "rows_with_several_signals"
