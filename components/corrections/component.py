"""CorrectionsApplier: Examples + Schema + a Corrections file in, Examples with the corrected labels out.

The corrections CSV enters the pipeline as an artifact (`Corrections`, imported with `tfx.dsl.Importer`), so ML
Metadata links the corrected Examples to both the original Examples and the exact corrections file.
"""
from tfx import types
from tfx.dsl.components.common.importer import Importer
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.artifact import Artifact
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

# Contract (the corrections CSV's columns are parse.REQUIRED_COLUMNS, in the pure module the pre-flight reads too):
# the custom properties set on the corrected Examples, on top of the provenance ones it updates (data_version,
# data_fingerprint, label_counts). components/examples_io/artifacts.py carries every one over to derived Examples;
# pipeline/ledger.py reads some. Defined before the executor is imported, which imports them from here.
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

from components.corrections import executor  # noqa: E402


class Corrections(Artifact):
    """A CSV of reviewed labels: example_id, corrected_label, reviewer, reason (other columns are ignored).

    Its URI is the CSV file itself; the custom property `sha256` pins the content it had when imported."""
    TYPE_NAME = "components.Corrections"  # importable by this name, as Kubeflow's container needs


class CorrectionsApplierSpec(ComponentSpec):
    PARAMETERS = {
        "id_column": ExecutionParameter(type=str),
        "label_column": ExecutionParameter(type=str),
    }
    INPUTS = {
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "schema": ChannelParameter(type=standard_artifacts.Schema),
        "corrections": ChannelParameter(type=Corrections),
    }
    OUTPUTS = {"corrected_examples": ChannelParameter(type=standard_artifacts.Examples)}


class CorrectionsApplier(base_beam_component.BaseBeamComponent):
    """Rewrites the label of every corrected example, in all splits; fails, naming each problem, on corrections
    for unknown ids, conflicting corrections for one id, or labels outside the schema's (or the data's) labels."""

    SPEC_CLASS = CorrectionsApplierSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, examples: types.BaseChannel, schema: types.BaseChannel, corrections: types.BaseChannel,
                 *, id_column: str, label_column: str):
        super().__init__(spec=CorrectionsApplierSpec(
            examples=examples, schema=schema, corrections=corrections, id_column=id_column,
            label_column=label_column, corrected_examples=types.Channel(type=standard_artifacts.Examples)))


def corrections_importer(path: str, sha256: str):
    """The pipeline node that brings the corrections file in as a `Corrections` artifact.

    The content hash is part of the imported artifact, so an edited file at the same path becomes a new artifact
    (and CorrectionsApplier re-runs) instead of the Importer reusing the old one."""
    return Importer(source_uri=path, artifact_type=Corrections,
                    custom_properties={SHA256: sha256}).with_id("CorrectionsImporter")
