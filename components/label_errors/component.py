"""LabelErrors: likely label errors by confident learning (cleanlab) on out-of-sample K-fold probabilities."""
import json

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.label_errors.contract import *  # noqa: F401,F403 (the contract, re-exported)

from components.label_errors import executor  # noqa: E402


class LabelIssues(types.Artifact):
    """A folder with label_issues.csv (flagged examples, worst first) and summary.json (dataset-level health).

    Custom properties: num_issues, num_analysed, estimated_noise_rate (absent when skipped), skipped (the reason the
    finder could not run on this data, or empty)."""
    TYPE_NAME = ARTIFACT_TYPE_NAME  # importable by this name, as Kubeflow's container needs


class LabelErrorsSpec(types.ComponentSpec):
    PARAMETERS = {
        "id_column": ExecutionParameter(type=str),
        "label_column": ExecutionParameter(type=str),
        "features": ExecutionParameter(type=str),  # JSON list of numeric feature names
        "metadata_columns": ExecutionParameter(type=str),  # JSON list, copied into label_issues.csv
        "folds": ExecutionParameter(type=int),
        "model": ExecutionParameter(type=str),  # a key of finder.MODELS
        "seed": ExecutionParameter(type=int),
        # "skip" (default): data the finder cannot work with is reported in summary.json and the run goes on;
        # "fail": it stops the run.
        "on_cannot_run": ExecutionParameter(type=str, optional=True),
        # Up to this many examples the finder is exact in memory; above, a bounded method (README.md).
        "max_fit_examples": ExecutionParameter(type=int, optional=True),
    }
    INPUTS = {
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "schema": ChannelParameter(type=standard_artifacts.Schema),
    }
    OUTPUTS = {"label_issues": ChannelParameter(type=LabelIssues)}


class LabelErrors(base_beam_component.BaseBeamComponent):
    """Reads every split of `examples`; writes a LabelIssues artifact. See README.md in this folder."""
    SPEC_CLASS = LabelErrorsSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, examples: types.BaseChannel, schema: types.BaseChannel, *, id_column: str,
                 label_column: str, features: list, metadata_columns: list = (), folds: int = 5,
                 model: str = "logistic_regression", seed: int = 0, on_cannot_run: str = "skip",
                 max_fit_examples: int = DEFAULT_MAX_FIT_EXAMPLES):
        super().__init__(spec=LabelErrorsSpec(
            examples=examples, schema=schema, id_column=id_column, label_column=label_column,
            features=json.dumps(list(features)), metadata_columns=json.dumps(list(metadata_columns)),
            folds=folds, model=model, seed=seed, on_cannot_run=on_cannot_run, max_fit_examples=max_fit_examples,
            label_issues=types.Channel(type=LabelIssues)))
