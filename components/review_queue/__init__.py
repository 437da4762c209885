"""The review queue: the finders' flags as one ranked CSV for a labeling team.

contract.py holds the contract constants (no TFX), component.py the component (it re-exports them)."""
