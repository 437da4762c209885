"""Label consistency: labeler agreement per class, consensus labels, an HLP estimate and a gate (issue 3).

contract.py holds the contract constants (no TFX), component.py the component (it re-exports them)."""
