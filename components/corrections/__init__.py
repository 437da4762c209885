"""Corrections: applies a reviewed corrections CSV to the labels of an Examples artifact."""
