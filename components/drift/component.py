"""Drift: the current span's statistics against a baseline span's, every feature, as a TFX component.

Inputs: two ExampleStatistics (StatisticsGen's output for the span the pipeline reads, and for the baseline span).
Output: a `DriftReport` artifact with drift.json (every feature's comparison, `measures.FeatureComparison`) and
summary.md; the run's verdict and the drifted features are also ML Metadata custom properties, so the runs ledger
shows them. With `on_drift="fail"` a "drift" verdict stops the run here, before Transform.
"""
import json

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.drift.contract import *  # noqa: F401,F403 (the contract, re-exported)

from components.drift import executor  # noqa: E402


class DriftReport(types.Artifact):
    """drift.json and summary.md. Custom properties: verdict, drifted_features, possible_drift_features,
    label_verdict, current_span, baseline_span."""
    TYPE_NAME = ARTIFACT_TYPE_NAME  # importable by this name, as Kubeflow's container needs


class DriftSpec(ComponentSpec):
    PARAMETERS = {
        "label_column": ExecutionParameter(type=str),
        "exclude": ExecutionParameter(type=str),  # JSON list of columns never compared (the id column, ...)
        "thresholds": ExecutionParameter(type=str),  # JSON object of measures.DriftThresholds' fields
        "on_drift": ExecutionParameter(type=str),  # "warn" or "fail"
        "split": ExecutionParameter(type=str),
        # Known when the pipeline is built; the baseline's statistics come straight from its own ExampleGen, which
        # records the span as a custom property that StatisticsGen does not carry.
        "baseline_span": ExecutionParameter(type=int),
    }
    INPUTS = {
        "statistics": ChannelParameter(type=standard_artifacts.ExampleStatistics),
        "baseline_statistics": ChannelParameter(type=standard_artifacts.ExampleStatistics),
    }
    OUTPUTS = {"drift": ChannelParameter(type=DriftReport)}


class Drift(base_component.BaseComponent):
    """Compares `statistics` with `baseline_statistics` (one split of each); see README.md in this folder."""
    SPEC_CLASS = DriftSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, statistics: types.BaseChannel, baseline_statistics: types.BaseChannel, *,
                 baseline_span: int, label_column: str, exclude: list, thresholds: dict, on_drift: str = "warn",
                 split: str = "train"):
        super().__init__(spec=DriftSpec(
            statistics=statistics, baseline_statistics=baseline_statistics, label_column=label_column,
            exclude=json.dumps(list(exclude)), thresholds=json.dumps(thresholds, sort_keys=True),
            on_drift=on_drift, split=split, baseline_span=baseline_span, drift=types.Channel(type=DriftReport)))
