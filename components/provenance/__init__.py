"""Provenance: where the data came from, recorded in ML Metadata on a copy of ExampleGen's Examples.

component.py is imported first: it holds the contract constants that executor.py (which it imports) reads."""
from components.provenance import component  # noqa: F401
