"""X->y conflicts: near-identical examples with different labels."""
