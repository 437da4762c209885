"""Test-wide setup: Keras 2 for TFX 1.16 and quiet TensorFlow, set before anything imports TensorFlow."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
