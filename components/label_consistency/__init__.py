"""Label consistency: labeler agreement per class, consensus labels, an HLP estimate and a gate (issue 3)."""
