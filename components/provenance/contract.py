"""The provenance component's contract: its files, columns and ML Metadata property names, importable without TFX
(the runs ledger, the report and the CLI read them without loading TensorFlow); component.py re-exports them."""
# The custom properties this component records on its Examples (components/examples_io.py carries every
# one of them over to the Examples derived from these; pipeline/ledger.py reads some).
SOURCE_PROPERTIES = ("source_name", "source_uri", "owner", "collection_window")  # keys of the `source` parameter
INSTRUCTIONS_FILE = "instructions_file"
INSTRUCTIONS_VERSION = "instructions_version"
LABELERS = "labelers"
DATA_INVENTORY = "data_inventory"
INPUT_FILES = "input_files"
DATA_FINGERPRINT = "data_fingerprint"
DATA_VERSION = "data_version"
EXAMPLES_PER_SPLIT = "examples_per_split"
LABEL_COUNTS = "label_counts"
METADATA_COUNTS = "metadata_counts"
PROVENANCE_PROPERTIES = SOURCE_PROPERTIES + (
    INSTRUCTIONS_FILE, INSTRUCTIONS_VERSION, LABELERS, DATA_INVENTORY, INPUT_FILES, DATA_FINGERPRINT, DATA_VERSION,
    EXAMPLES_PER_SPLIT, LABEL_COUNTS, METADATA_COUNTS)
