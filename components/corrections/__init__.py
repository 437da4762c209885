"""Corrections: reviewed labels applied to the Examples, linked in ML Metadata to the file they came from.

component.py is imported first: it holds the contract constants that executor.py (which it imports) reads."""
from components.corrections import component  # noqa: F401
