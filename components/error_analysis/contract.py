"""The error_analysis component's contract: its files, columns and ML Metadata property names, importable without TFX
(the runs ledger, the report and the CLI read them without loading TensorFlow); component.py re-exports them."""
ARTIFACT_TYPE_NAME = "components.ErrorAnalysisResult"  # the artifact class's TYPE_NAME
# Files in the artifact's folder, their columns, and the custom properties the ledger reads.
ANALYSIS_FILE = "error_analysis.json"  # everything: overall, metadata slices, weak slices with their evidence
SUMMARY_FILE = "summary.md"  # the same, for people
# Eval examples the model gets wrong inside weak slices diagnosed "labels": what ReviewQueue adds to its queue.
REVIEW_FILE = "weak_slice_examples.csv"
REVIEW_COLUMNS = ["example_id", "given_label", "predicted_label", "slice", "diagnosis", "split"]
PREDICTIONS_FILE = "eval_predictions.csv"  # every eval example: what the model said, to compare runs example by example
PREDICTION_COLUMNS = ["example_id", "label", "predicted_label", "correct"]
PROPERTY_EVAL_ACCURACY = "eval_accuracy"
PROPERTY_WEAK_SLICES = "weak_slices"
PROPERTY_TOP_SLICE = "top_weak_slice"  # "" when there is none
PROPERTY_TOP_DIAGNOSIS = "top_diagnosis"  # one of slices.DIAGNOSES, or ""
PROPERTY_VERDICT = "verdict"  # one line: what to do next
PROPERTY_LEVER = "lever"  # levers.advise: "more_data", "cleaner_labels", "cannot_tell"; absent without label flags
PROPERTY_LEVER_ANSWER = "lever_answer"  # the same in words, with the numbers
