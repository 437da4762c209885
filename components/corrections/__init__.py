"""Corrections: reviewed labels applied to the Examples, linked in ML Metadata to the file they came from.

contract.py holds the contract constants (no TFX), component.py the component (it re-exports them)."""
