"""Feature naming shared by `preprocessing.py`, `model.py` and the pipeline.

Which raw columns are features and which is the label comes from the pipeline config (`[model]` and `[labels]`),
passed to Transform and Trainer as `custom_config`, so pointing the template at a new CSV needs no code change.
"""

TRANSFORMED_SUFFIX = "_xf"
LABEL_VOCABULARY = "label"  # tf.Transform vocabulary file that maps label strings to class indices


def transformed_name(key):
    return key + TRANSFORMED_SUFFIX


def vocabulary_name(key):
    return "vocab_" + key


def feature_config(custom_config):
    """(numeric, categorical, label) column names from the `custom_config` the pipeline passes."""
    return (list(custom_config["numeric_features"]), list(custom_config["categorical_features"]),
            custom_config["label_column"])
