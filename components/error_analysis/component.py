"""ErrorAnalysis: the trained model's errors on the eval split, by slice; weak slices found, ranked and diagnosed."""
import json

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.label_errors.component import LabelIssues

from components.error_analysis.contract import *  # noqa: F401,F403 (the contract, re-exported)

from components.error_analysis import executor  # noqa: E402 (after the contract, as the other components do)


class ErrorAnalysisResult(types.Artifact):
    """A folder with error_analysis.json, summary.md, weak_slice_examples.csv and eval_predictions.csv.

    Custom properties: eval_accuracy, weak_slices, top_weak_slice, top_diagnosis, verdict,
    weak_slices_<diagnosis> (a count per diagnosis), and with label-error flags lever and lever_answer."""
    TYPE_NAME = ARTIFACT_TYPE_NAME  # importable by this name, as Kubeflow's container needs


class ErrorAnalysisSpec(ComponentSpec):
    PARAMETERS = {
        "id_column": ExecutionParameter(type=str),
        "label_column": ExecutionParameter(type=str),  # the label the model was trained and evaluated on
        "categorical_columns": ExecutionParameter(type=str),  # JSON list: sliced by value
        "numeric_columns": ExecutionParameter(type=str),  # JSON list: sliced by quantile bins
        "metadata_columns": ExecutionParameter(type=str),  # JSON list: measured value by value in the summary
        "agreement_column": ExecutionParameter(type=str),  # labeler agreement per example; "" when none
        "settings": ExecutionParameter(type=str),  # JSON of slices.Settings fields
        "max_review_examples": ExecutionParameter(type=int),
        "proxy_features": ExecutionParameter(type=str),  # JSON list of numeric features of the levers' proxy model
        "proxy_model": ExecutionParameter(type=str),  # a key of components/label_errors/finder.MODELS
        "max_fit_examples": ExecutionParameter(type=int),  # per split: the sample the bins and the levers use
    }
    INPUTS = {
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "model": ChannelParameter(type=standard_artifacts.Model),
        "transform_graph": ChannelParameter(type=standard_artifacts.TransformGraph),  # the label vocabulary
        "label_issues": ChannelParameter(type=LabelIssues, optional=True),
    }
    OUTPUTS = {"error_analysis": ChannelParameter(type=ErrorAnalysisResult)}


class ErrorAnalysis(base_beam_component.BaseBeamComponent):
    """Predicts the eval split with the trained model (tfx_bsl RunInference, serving_default), joins the label
    signals, finds and diagnoses weak slices. See README.md in this folder."""
    SPEC_CLASS = ErrorAnalysisSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, examples: types.BaseChannel, model: types.BaseChannel, transform_graph: types.BaseChannel,
                 *, id_column: str, label_column: str, categorical_columns=(), numeric_columns=(),
                 metadata_columns=(), agreement_column: str = "", label_issues: types.BaseChannel = None,
                 settings: dict = None, max_review_examples: int = 50, proxy_features=(),
                 proxy_model: str = "logistic_regression", max_fit_examples: int = 100_000):
        super().__init__(spec=ErrorAnalysisSpec(
            examples=examples, model=model, transform_graph=transform_graph, label_issues=label_issues,
            id_column=id_column, label_column=label_column,
            categorical_columns=json.dumps(list(categorical_columns)),
            numeric_columns=json.dumps(list(numeric_columns)), metadata_columns=json.dumps(list(metadata_columns)),
            agreement_column=agreement_column, settings=json.dumps(settings or {}),
            max_review_examples=max_review_examples, proxy_features=json.dumps(list(proxy_features)),
            proxy_model=proxy_model, max_fit_examples=max_fit_examples, error_analysis=types.Channel(type=ErrorAnalysisResult)))
