"""tfx-datacentric: the pipeline definition, its configuration and its runners."""
import os

# TFX 1.16's Trainer and Evaluator expect Keras 2 (tf_keras); this must be set before TensorFlow is imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# TensorFlow's C++ INFO lines and gRPC's fork notices drown the per-component progress; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
