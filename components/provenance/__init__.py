"""Provenance: where the data came from, recorded in ML Metadata on a copy of ExampleGen's Examples.

contract.py holds the contract constants (no TFX), component.py the component (it re-exports them)."""
