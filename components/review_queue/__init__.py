"""The review queue: the finders' flags as one ranked CSV for a labeling team.

component.py is imported first: it holds the contract constants that executor.py (which it imports) reads."""
from components.review_queue import component  # noqa: F401
