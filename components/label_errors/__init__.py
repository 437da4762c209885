"""Likely label errors by confident learning; see README.md.

component.py is imported first: it holds the contract constants that executor.py (which it imports) reads."""
from components.label_errors import component  # noqa: F401
