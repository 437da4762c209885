"""X->y conflicts: near-identical examples with different labels.

contract.py holds the contract constants (no TFX), component.py the component (it re-exports them)."""
