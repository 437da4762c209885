"""The Keras model and the TFX Trainer entry point `run_fn`.

A small fully connected classifier over the transformed features. The saved model carries two signatures:
`serving_default` takes serialized tf.Examples holding only the model's features, and `transform_features`, which
Evaluator uses to read the transformed label (TFMA `preprocessing_function_names`).
"""
import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
from tensorflow.python.autograph.core import config as autograph_config
from tensorflow.python.autograph.core import config_lib as autograph_rules
from tfx_bsl.public import tfxio

from models.features import LABEL_VOCABULARY, feature_config, transformed_name, vocabulary_name


def input_fn(file_pattern, data_accessor, tf_transform_output, batch_size, label_column):
    """Batches of (transformed features, label index), repeated forever (Trainer bounds it by steps)."""
    return data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=transformed_name(label_column)),
        tf_transform_output.transformed_metadata.schema).repeat()


def keras_without_autograph():
    """Lets Keras 2 run its own code as written, not rewritten by AutoGraph, as TensorFlow intends: its conversion
    rules exempt the `keras` package (Keras 3 since TF 2.16) but not `tf_keras`, the Keras 2 that TFX 1.16 needs
    (TF_USE_LEGACY_KERAS), so AutoGraph would convert some 800 Keras functions when `fit` and
    `tf.saved_model.save` first trace them: about 10 s of CPU, most of the Trainer's time on the demo. TensorFlow
    has no public switch for a package, hence its (private) rule list; process-wide and idempotent."""
    rule = autograph_rules.DoNotConvert("tf_keras")
    if not any(str(existing) == str(rule) for existing in autograph_config.CONVERSION_RULES):
        autograph_config.CONVERSION_RULES = (rule, *autograph_config.CONVERSION_RULES)


def build_model(numeric, categorical_vocab_sizes, n_classes, hidden_units, learning_rate):
    """A functional Keras model: numeric inputs as is, categoricals one-hot, then dense layers and softmax."""
    keras_without_autograph()
    inputs, encoded = {}, []
    for key in numeric:
        inputs[transformed_name(key)] = tf.keras.layers.Input(shape=(1,), name=transformed_name(key))
        encoded.append(inputs[transformed_name(key)])
    for key, vocab_size in categorical_vocab_sizes.items():
        layer_input = tf.keras.layers.Input(shape=(1,), name=transformed_name(key), dtype=tf.int64)
        inputs[transformed_name(key)] = layer_input
        encoded.append(tf.keras.layers.CategoryEncoding(num_tokens=vocab_size + 1, output_mode="one_hot")(layer_input))
    x = tf.keras.layers.concatenate(encoded) if len(encoded) > 1 else encoded[0]
    for units in hidden_units:
        x = tf.keras.layers.Dense(units, activation="relu")(x)
    outputs = tf.keras.layers.Dense(n_classes, activation="softmax")(x)
    model = tf.keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[tf.keras.metrics.SparseCategoricalAccuracy()])
    return model


def make_serving_signatures(model, tf_transform_output, model_features):
    """`serving_default` parses only the model's raw features; `transform_features` parses every raw column."""
    model.tft_layer = tf_transform_output.transform_features_layer()
    raw_spec = tf_transform_output.raw_feature_spec()
    serving_spec = {key: raw_spec[key] for key in model_features}

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def serve_tf_examples_fn(serialized):
        transformed = model.tft_layer(tf.io.parse_example(serialized, serving_spec))
        return {"outputs": model({k: v for k, v in transformed.items() if k in model.input_names})}

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def transform_features_fn(serialized):
        return model.tft_layer(tf.io.parse_example(serialized, raw_spec))

    return {"serving_default": serve_tf_examples_fn, "transform_features": transform_features_fn}


def run_fn(fn_args):
    """TFX Trainer entry point; hyperparameters and column names arrive in `fn_args.custom_config`."""
    config = fn_args.custom_config
    numeric, categorical, label = feature_config(config)
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    train = input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output, config["batch_size"], label)
    evaluation = input_fn(fn_args.eval_files, fn_args.data_accessor, tf_transform_output, config["batch_size"], label)
    model = build_model(
        numeric,
        {key: tf_transform_output.vocabulary_size_by_name(vocabulary_name(key)) for key in categorical},
        tf_transform_output.vocabulary_size_by_name(LABEL_VOCABULARY),
        config["hidden_units"], config["learning_rate"])
    tf.keras.utils.disable_interactive_logging()  # the per-epoch line to absl's log (the run's log), not stdout
    model.fit(train, steps_per_epoch=fn_args.train_steps, validation_data=evaluation,
              validation_steps=fn_args.eval_steps, verbose=2)
    logging.info("Saving model to %s", fn_args.serving_model_dir)
    tf.saved_model.save(model, fn_args.serving_model_dir,
                        signatures=make_serving_signatures(model, tf_transform_output, numeric + categorical))
