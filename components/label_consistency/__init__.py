"""Label consistency: labeler agreement per class, consensus labels, an HLP estimate and a gate (issue 3).

component.py is imported first: it holds the contract constants that executor.py (which it imports) reads."""
from components.label_consistency import component  # noqa: F401
