"""tf.Transform preprocessing: z-scored numeric features, vocabulary-encoded categoricals and label.

Missing numeric values (a feature absent from some rows arrives as a SparseTensor) are filled with the feature's
mean over the full training data before scaling; missing categorical values become the out-of-vocabulary bucket.
"""
import tensorflow as tf
import tensorflow_transform as tft

from models.features import LABEL_VOCABULARY, feature_config, transformed_name, vocabulary_name


def _as_column(tensor, default_value):
    """A [batch, 1] dense tensor; a sparse (sometimes-missing) feature gets `default_value` where absent."""
    if isinstance(tensor, tf.SparseTensor):
        tensor = tft.sparse_tensor_to_dense_with_shape(tensor, [None, 1], default_value=default_value)
    return tf.reshape(tensor, [-1, 1])


def _to_float(tensor):
    if isinstance(tensor, tf.SparseTensor):
        return tf.SparseTensor(tensor.indices, tf.cast(tensor.values, tf.float32), tensor.dense_shape)
    return tf.cast(tensor, tf.float32)


def preprocessing_fn(inputs, custom_config):
    """Maps raw features to the model's inputs; `custom_config` names the columns (see features.feature_config)."""
    numeric, categorical, label = feature_config(custom_config)
    outputs = {}
    for key in numeric:
        values = _to_float(inputs[key])
        filled = _as_column(values, tft.mean(values))
        outputs[transformed_name(key)] = tft.scale_to_z_score(filled)
    for key in categorical:
        outputs[transformed_name(key)] = tft.compute_and_apply_vocabulary(
            _as_column(inputs[key], ""), num_oov_buckets=1, vocab_filename=vocabulary_name(key))
    outputs[transformed_name(label)] = tft.compute_and_apply_vocabulary(
        _as_column(inputs[label], ""), vocab_filename=LABEL_VOCABULARY)
    return outputs
