"""X->y conflicts: near-identical examples with different labels.

component.py is imported first: it holds the contract constants that executor.py (which it imports) reads."""
from components.conflicts import component  # noqa: F401
