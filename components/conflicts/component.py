"""The Conflicts component: groups of examples whose features match (within tolerance) but whose labels differ."""
import json

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.conflicts.contract import *  # noqa: F401,F403 (the contract, re-exported)

from components.conflicts import executor  # noqa: E402


class LabelConflicts(types.Artifact):
    """A folder with conflicts.csv (group_id, example_id, label, split, metadata and compared columns) and
    summary.json (counts, label pairs, compared and excluded columns)."""
    TYPE_NAME = ARTIFACT_TYPE_NAME  # imports as the class: Kubeflow resolves types by name


class ConflictsSpec(ComponentSpec):
    PARAMETERS = {
        "id_column": ExecutionParameter(type=str),
        "label_column": ExecutionParameter(type=str),
        # Lists and dicts travel as JSON strings, as TFX's own custom_config does.
        "labeler_columns": ExecutionParameter(type=str),
        "metadata_columns": ExecutionParameter(type=str),
        "exclude": ExecutionParameter(type=str),
        "tolerance": ExecutionParameter(type=float),
        "relative": ExecutionParameter(type=bool),
        "absolute_tolerances": ExecutionParameter(type=str),
        "relative_tolerances": ExecutionParameter(type=str),
        # "skip" (default): data the finder cannot work with (no label anywhere) is reported in summary.json and
        # the run goes on; "fail": it stops the run.
        "on_cannot_run": ExecutionParameter(type=str, optional=True),
    }
    # The schema of `examples`: which features are compared (every one not excluded) and their types.
    INPUTS = {"examples": ChannelParameter(type=standard_artifacts.Examples),
              "schema": ChannelParameter(type=standard_artifacts.Schema)}
    OUTPUTS = {"conflicts": ChannelParameter(type=LabelConflicts)}


class Conflicts(base_beam_component.BaseBeamComponent):
    """Finds X->y conflicts over all splits: examples that match on every compared column but carry different
    labels, merged into groups (connected components of conflicting pairs).

    Compared columns are every feature of `schema` except the id, label, labeler and metadata columns and
    `exclude`. Numbers match within `tolerance` (absolute, or relative to the larger magnitude when `relative`),
    overridden per column by `absolute_tolerances` / `relative_tolerances`; strings match exactly; a missing value
    matches only a missing value."""

    SPEC_CLASS = ConflictsSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, examples: types.BaseChannel, schema: types.BaseChannel, *, id_column: str, label_column: str,
                 labeler_columns=(), metadata_columns=(), exclude=(), tolerance: float = 0.0, relative: bool = False,
                 absolute_tolerances=None, relative_tolerances=None, on_cannot_run: str = "skip"):
        spec = ConflictsSpec(
            examples=examples, schema=schema, id_column=id_column, label_column=label_column,
            labeler_columns=json.dumps(list(labeler_columns)), metadata_columns=json.dumps(list(metadata_columns)),
            exclude=json.dumps(list(exclude)), tolerance=float(tolerance), relative=bool(relative),
            absolute_tolerances=json.dumps(dict(absolute_tolerances or {}), sort_keys=True),
            relative_tolerances=json.dumps(dict(relative_tolerances or {}), sort_keys=True),
            on_cannot_run=on_cannot_run, conflicts=types.Channel(type=LabelConflicts))
        super().__init__(spec=spec)
