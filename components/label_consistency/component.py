"""LabelConsistency: agreement between independent labelers, consensus labels and a gate, as a TFX component.

Inputs: the Examples and their Schema. Outputs: a `LabelConsistencyReport` artifact (metrics.json, summary.md,
disagreements.csv; headline figures also as ML Metadata custom properties), the Examples with two new features
(`consensus_label`, `label_agreement`) and the Schema extended with them.
"""
import json
from typing import List, Optional

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.label_consistency.contract import *  # noqa: F401,F403 (the contract, re-exported)

from components.label_consistency import executor  # noqa: E402


class LabelConsistencyReport(types.Artifact):
    """Inter-labeler agreement report: METRICS_FILE, SUMMARY_FILE, DISAGREEMENTS_FILE, LABEL_STATS_FILE. Custom
    properties: krippendorff_alpha, fleiss_kappa, hlp_estimate (floats, absent when undefined), classes_to_review
    (JSON list, worst first), gate (pass / warn / fail)."""
    TYPE_NAME = ARTIFACT_TYPE_NAME  # importable by this name, as Kubeflow's container needs


class LabelConsistencySpec(ComponentSpec):
    PARAMETERS = {
        "labeler_columns": ExecutionParameter(type=str),  # JSON list; empty with a long-form file
        "label_column": ExecutionParameter(type=str),
        "id_column": ExecutionParameter(type=str),
        "long_form_file": ExecutionParameter(type=str, optional=True),
        "min_agreement": ExecutionParameter(type=float),
        "min_class_agreement": ExecutionParameter(type=float),
        "on_low_agreement": ExecutionParameter(type=str),
        "consensus_method": ExecutionParameter(type=str),
    }
    INPUTS = {
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "schema": ChannelParameter(type=standard_artifacts.Schema),
    }
    OUTPUTS = {
        "label_consistency": ChannelParameter(type=LabelConsistencyReport),
        "consensus_examples": ChannelParameter(type=standard_artifacts.Examples),
        "consensus_schema": ChannelParameter(type=standard_artifacts.Schema),
    }


class LabelConsistency(base_beam_component.BaseBeamComponent):
    """Measures labeler agreement per class, writes consensus-labelled Examples and gates the run.

    With `on_low_agreement="fail"` the executor raises when Krippendorff's alpha is below `min_agreement` overall
    or below `min_class_agreement` for a class, so nothing downstream (Transform, training) runs."""
    SPEC_CLASS = LabelConsistencySpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, examples: types.BaseChannel, schema: types.BaseChannel, label_column: str, id_column: str,
                 labeler_columns: Optional[List[str]] = None, long_form_file: str = "",
                 min_agreement: float = 0.8, min_class_agreement: float = 0.667, on_low_agreement: str = "warn",
                 consensus_method: str = "majority"):
        spec = LabelConsistencySpec(
            examples=examples, schema=schema, labeler_columns=json.dumps(list(labeler_columns or [])),
            label_column=label_column, id_column=id_column, long_form_file=long_form_file,
            min_agreement=float(min_agreement), min_class_agreement=float(min_class_agreement),
            on_low_agreement=on_low_agreement, consensus_method=consensus_method,
            label_consistency=types.Channel(type=LabelConsistencyReport),
            consensus_examples=types.Channel(type=standard_artifacts.Examples),
            consensus_schema=types.Channel(type=standard_artifacts.Schema))
        super().__init__(spec=spec)
