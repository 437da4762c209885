"""The review queue: one ranked, de-duplicated CSV of every example a finder flagged."""
