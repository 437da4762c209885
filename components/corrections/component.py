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

from components.corrections.contract import *  # noqa: F401,F403 (the contract, re-exported)

from components.corrections import executor  # noqa: E402


class Corrections(Artifact):
    """A CSV of reviewed labels: example_id, corrected_label, reviewer, reason (other columns are ignored).

    Its URI is the CSV file itself; the custom property `sha256` pins the content it had when imported."""
    TYPE_NAME = ARTIFACT_TYPE_NAME  # importable by this name, as Kubeflow's container needs


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
