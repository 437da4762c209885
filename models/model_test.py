"""The Keras model builds, trains a step, and learns an easy problem."""
import numpy as np
import tensorflow as tf

from tensorflow.python.autograph.impl import conversion

from models.model import build_model


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1)).astype("float32")
    site = rng.integers(0, 3, size=(n, 1))
    label = (x[:, 0] > 0).astype("int64") + (site[:, 0] == 2)
    return {"length_xf": x, "site_xf": site}, label


def test_model_trains_a_step_and_outputs_class_probabilities():
    model = build_model(["length"], {"site": 3}, n_classes=3, hidden_units=[8], learning_rate=0.01)
    features, label = _data()
    history = model.fit(features, label, epochs=1, steps_per_epoch=1, batch_size=20, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    probabilities = model.predict(features, verbose=0)
    assert probabilities.shape == (200, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_model_learns_a_separable_problem():
    tf.keras.utils.set_random_seed(1)
    model = build_model(["length"], {"site": 3}, n_classes=3, hidden_units=[16], learning_rate=0.05)
    features, label = _data(600)
    model.fit(features, label, epochs=30, batch_size=32, verbose=0)
    test_features, test_label = _data(300, seed=1)
    _, accuracy = model.evaluate(test_features, test_label, verbose=0)
    assert accuracy > 0.9


def test_keras_code_is_not_converted_by_autograph():
    """tf_keras is exempt like TensorFlow's own code once a model is built (models.model.keras_without_autograph)."""
    build_model(["length"], {}, n_classes=2, hidden_units=[4], learning_rate=0.01)
    assert conversion.is_allowlisted(tf.keras.Model.train_step)
    assert conversion.is_allowlisted(tf.keras.layers.Dense.call)
