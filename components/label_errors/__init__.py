"""Likely label errors by confident learning; see README.md.

contract.py holds the contract constants (no TFX), component.py the component (it re-exports them)."""
