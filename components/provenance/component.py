"""The Provenance component: ExampleGen's Examples in, the same examples out, carrying provenance in ML Metadata.

TFX publishes only a component's outputs, so provenance cannot be written onto ExampleGen's artifact; this component
outputs a copy of the examples that carries it, and every later component reads that copy.
"""
import json

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.provenance.contract import *  # noqa: F401,F403 (the contract, re-exported)

from components.provenance import executor  # noqa: E402


class ProvenanceSpec(ComponentSpec):
    PARAMETERS = {
        # Lists and dicts travel as JSON strings, as TFX's own custom_config does.
        "source": ExecutionParameter(type=str),  # JSON: source_name, source_uri, owner, collection_window
        "instructions_file": ExecutionParameter(type=str),
        "instructions_sha256": ExecutionParameter(type=str),
        "labelers": ExecutionParameter(type=str),  # JSON list
        "data_inventory": ExecutionParameter(type=str),  # JSON: amount, cost, expected_quality, time_to_obtain
        "input_base": ExecutionParameter(type=str),
        "file_pattern": ExecutionParameter(type=str),
        "label_column": ExecutionParameter(type=str),
        "metadata_columns": ExecutionParameter(type=str),  # JSON list
    }
    INPUTS = {"examples": ChannelParameter(type=standard_artifacts.Examples)}
    # Input and output keys share one namespace in a ComponentSpec, hence not "examples" twice.
    OUTPUTS = {"examples_with_provenance": ChannelParameter(type=standard_artifacts.Examples)}


class Provenance(base_beam_component.BaseBeamComponent):
    """Copies the examples and records on the copy: source, owner, collection window, labeling-instructions version,
    labelers, data-inventory facts, the data version (content fingerprint of the input files) and counts per value
    of the label and of each metadata column."""

    SPEC_CLASS = ProvenanceSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, examples: types.BaseChannel, *, source: dict, instructions_file: str,
                 instructions_sha256: str, labelers: list, data_inventory: dict, input_base: str,
                 file_pattern: str, label_column: str, metadata_columns: list):
        spec = ProvenanceSpec(
            examples=examples,
            source=json.dumps(source, sort_keys=True),
            instructions_file=instructions_file,
            instructions_sha256=instructions_sha256,
            labelers=json.dumps(list(labelers)),
            data_inventory=json.dumps(data_inventory, sort_keys=True),
            input_base=input_base,
            file_pattern=file_pattern,
            label_column=label_column,
            metadata_columns=json.dumps(list(metadata_columns)),
            examples_with_provenance=types.Channel(type=standard_artifacts.Examples))
        super().__init__(spec=spec)
