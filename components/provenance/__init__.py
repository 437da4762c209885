"""Provenance: records where the data comes from on the Examples artifact, as ML Metadata custom properties."""
