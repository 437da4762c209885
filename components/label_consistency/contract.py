"""The label_consistency component's contract: its files, columns and ML Metadata property names, importable without TFX
(the runs ledger, the report and the CLI read them without loading TensorFlow); component.py re-exports them."""
ARTIFACT_TYPE_NAME = "components.LabelConsistencyReport"  # the artifact class's TYPE_NAME
# The consensus Examples' two new features:
CONSENSUS_FEATURE = "consensus_label"
AGREEMENT_FEATURE = "label_agreement"
# The LabelConsistency artifact's files and custom properties:
METRICS_FILE = "metrics.json"
SUMMARY_FILE = "summary.md"
LABEL_STATS_FILE = "label_stats.json"  # the summed sufficient statistics (mergeable across runs)
DISAGREEMENTS_FILE = "disagreements.csv"  # <id column>, one column per labeler, then DISAGREEMENT_COLUMNS
DISAGREEMENT_COLUMNS = ("consensus", "agreement", "label", "split")
KRIPPENDORFF_ALPHA = "krippendorff_alpha"
FLEISS_KAPPA = "fleiss_kappa"
HLP_ESTIMATE = "hlp_estimate"
CLASSES_TO_REVIEW = "classes_to_review"
GATE = "gate"
