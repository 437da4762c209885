"""The drift component's contract: its files, columns and ML Metadata property names, importable without TFX
(the runs ledger, the report and the CLI read them without loading TensorFlow); component.py re-exports them."""
ARTIFACT_TYPE_NAME = "components.DriftReport"  # the artifact class's TYPE_NAME
DRIFT_FILE = "drift.json"  # {"verdict", "current_span", "baseline_span", "split", "thresholds", "features": [...]}
SUMMARY_FILE = "summary.md"
VERDICT = "verdict"  # custom property: the worst feature verdict (measures.VERDICTS)
DRIFTED_FEATURES = "drifted_features"  # custom property: JSON list of the features with verdict "drift"
POSSIBLE_DRIFT_FEATURES = "possible_drift_features"  # JSON list, verdict "possible drift"
LABEL_VERDICT = "label_verdict"  # the label column's verdict (label drift), empty without a label
CURRENT_SPAN = "current_span"
BASELINE_SPAN = "baseline_span"
