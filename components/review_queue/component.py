"""The ReviewQueue component: the union of the finders' flags as one ranked CSV for a labeling team.

Every input is optional: it takes whichever of LabelConsistency, Conflicts, LabelErrors and ErrorAnalysis ran in this
pipeline.
The filled-in review_queue.csv is a valid corrections file ([labels] corrections_file).
"""
import json

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.conflicts.component import LabelConflicts
from components.error_analysis.component import ErrorAnalysisResult
from components.label_consistency.component import LabelConsistencyReport
from components.label_errors.component import LabelIssues

from components.review_queue.contract import *  # noqa: F401,F403 (the contract, re-exported)
from components.review_queue.queue import DEFAULT_MAX_ROWS

from components.review_queue import executor  # noqa: E402


class LabelReviewQueue(types.Artifact):
    """A folder with review_queue.csv (one row per flagged example, ranked) and summary.json (counts).
    Custom properties: rows, rows_from_<finder>, rows_with_several_signals."""
    TYPE_NAME = ARTIFACT_TYPE_NAME  # imports as the class: Kubeflow resolves types by name


class ReviewQueueSpec(ComponentSpec):
    PARAMETERS = {
        "id_column": ExecutionParameter(type=str),  # the id column's name in disagreements.csv
        "labeler_columns": ExecutionParameter(type=str),  # JSON list
        "metadata_columns": ExecutionParameter(type=str),  # JSON list, carried into the queue when known
        "max_rows": ExecutionParameter(type=int),  # [review_queue] max_rows: the highest-ranked rows written
    }
    INPUTS = {
        "label_consistency": ChannelParameter(type=LabelConsistencyReport, optional=True),
        "conflicts": ChannelParameter(type=LabelConflicts, optional=True),
        "label_issues": ChannelParameter(type=LabelIssues, optional=True),
        "error_analysis": ChannelParameter(type=ErrorAnalysisResult, optional=True),
    }
    OUTPUTS = {"review_queue": ChannelParameter(type=LabelReviewQueue)}


class ReviewQueue(base_beam_component.BaseBeamComponent):
    """De-duplicates and ranks the examples flagged by the finders given (a Beam pipeline); see queue.py for the
    ranking rule."""

    SPEC_CLASS = ReviewQueueSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, *, label_consistency: types.BaseChannel = None, conflicts: types.BaseChannel = None,
                 label_issues: types.BaseChannel = None, error_analysis: types.BaseChannel = None, id_column: str,
                 labeler_columns=(), metadata_columns=(), max_rows: int = DEFAULT_MAX_ROWS):
        if label_consistency is None and conflicts is None and label_issues is None:
            raise ValueError("ReviewQueue needs at least one of label_consistency, conflicts, label_issues")
        spec = ReviewQueueSpec(
            label_consistency=label_consistency, conflicts=conflicts, label_issues=label_issues,
            error_analysis=error_analysis,
            id_column=id_column, labeler_columns=json.dumps(list(labeler_columns)),
            metadata_columns=json.dumps(list(metadata_columns)), max_rows=max_rows,
            review_queue=types.Channel(type=LabelReviewQueue))
        super().__init__(spec=spec)
