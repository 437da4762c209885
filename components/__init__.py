"""Custom TFX components. Kubeflow's container entrypoint imports each custom artifact type by its TYPE_NAME,
`components.<Class>`, so each is reachable here; lazily, so that a Beam worker importing one component's DoFns
(e.g. components.fast_example_gen.encode) does not import every component, TFX and TensorFlow with it."""
import importlib

_ARTIFACT_TYPES = {
    "Corrections": "components.corrections.component",
    "DriftReport": "components.drift.component",
    "ErrorAnalysisResult": "components.error_analysis.component",
    "LabelConflicts": "components.conflicts.component",
    "LabelReviewQueue": "components.review_queue.component",
    "LabelConsistencyReport": "components.label_consistency.component",
    "LabelIssues": "components.label_errors.component",
}


def __getattr__(name):
    if name in _ARTIFACT_TYPES:
        return getattr(importlib.import_module(_ARTIFACT_TYPES[name]), name)
    raise AttributeError(f"module 'components' has no attribute {name!r}")
