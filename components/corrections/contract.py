"""The corrections component's contract: its files, columns and ML Metadata property names, importable without TFX
(the runs ledger, the report and the CLI read them without loading TensorFlow); component.py re-exports them."""
ARTIFACT_TYPE_NAME = "components.Corrections"  # the artifact class's TYPE_NAME
# The corrections CSV's columns are parse.REQUIRED_COLUMNS, in the pure module the pre-flight reads too. The custom properties set on the corrected Examples, on top of the provenance ones it updates (data_version,
# data_fingerprint, label_counts). components/examples_io/artifacts.py carries every one over to derived Examples;
# pipeline/ledger.py reads some.
BASE_DATA_VERSION = "base_data_version"
CORRECTIONS_FILE = "corrections_file"
CORRECTIONS_VERSION = "corrections_version"
CORRECTIONS_APPLIED = "corrections_applied"
LABELS_CHANGED = "labels_changed"
CORRECTIONS_SKIPPED_EMPTY = "corrections_skipped_empty"
CORRECTIONS_REPEATED = "corrections_repeated"
CORRECTIONS_LISTED = "corrections"  # JSON list of the first changes
CORRECTIONS_PROPERTIES = (BASE_DATA_VERSION, CORRECTIONS_FILE, CORRECTIONS_VERSION, CORRECTIONS_APPLIED,
                          LABELS_CHANGED, CORRECTIONS_SKIPPED_EMPTY, CORRECTIONS_REPEATED, CORRECTIONS_LISTED)
SHA256 = "sha256"  # custom property of the imported Corrections artifact
