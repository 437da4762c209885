"""Custom TFX components. Custom artifact types are imported here because Kubeflow's container entrypoint imports
each one by its TYPE_NAME, which must therefore read `components.<Class>`."""
from components.corrections.component import Corrections  # noqa: F401
from components.conflicts.component import LabelConflicts  # noqa: F401
from components.review_queue.component import LabelReviewQueue  # noqa: F401
from components.label_consistency.component import LabelConsistency  # noqa: F401
from components.label_errors.component import LabelIssues  # noqa: F401
