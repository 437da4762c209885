"""Likely label errors by confident learning; see README.md."""
