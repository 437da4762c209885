"""Examples artifacts: where a split's files are, and carrying an artifact's properties (splits, span, payload format,
provenance, corrections) over to the artifact made from it."""
import os

from tfx.components.util import examples_utils
from tfx.types import artifact_utils

# ExampleGen's own custom properties, and the ones components/provenance records. A component that derives new
# Examples from old ones copies these so that provenance stays on the Examples the training stage reads.
EXAMPLE_GEN_PROPERTIES = ("input_fingerprint", "payload_format", "file_format")
PROVENANCE_PROPERTIES = (
    "source_name", "source_uri", "owner", "collection_window", "instructions_file", "instructions_version",
    "labelers", "data_inventory", "input_files", "data_fingerprint", "data_version", "examples_per_split",
    "label_counts", "metadata_counts")
# What components/corrections records: corrected labels are part of the data version that downstream Examples hold.
CORRECTIONS_PROPERTIES = (
    "base_data_version", "corrections_file", "corrections_version", "corrections_applied", "labels_changed",
    "corrections_skipped_empty", "corrections_repeated", "corrections")


def split_files_pattern(examples, split):
    return os.path.join(artifact_utils.get_split_uri([examples], split), "*")


def carry_over(source, target):
    """Copies splits, span, version and the ExampleGen, provenance and corrections custom properties from source to
    target."""
    target.split_names = source.split_names
    for name in ("span", "version"):
        if source.has_property(name):
            setattr(target, name, getattr(source, name))
    examples_utils.set_payload_format(target, examples_utils.get_payload_format(source))
    for key in EXAMPLE_GEN_PROPERTIES + PROVENANCE_PROPERTIES + CORRECTIONS_PROPERTIES:
        if key in source.mlmd_artifact.custom_properties:
            target.mlmd_artifact.custom_properties[key].CopyFrom(source.mlmd_artifact.custom_properties[key])
