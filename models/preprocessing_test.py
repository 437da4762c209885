"""preprocessing_fn run through tf.Transform's Beam implementation on a few rows."""
import tempfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from models.features import LABEL_VOCABULARY
from models.preprocessing import preprocessing_fn

CUSTOM_CONFIG = {"numeric_features": ["bill_length_mm", "body_mass_g"], "categorical_features": ["site"],
                 "label_column": "species"}
RAW_SPEC = {
    "bill_length_mm": tf.io.FixedLenFeature([1], tf.float32),
    "body_mass_g": tf.io.VarLenFeature(tf.int64),  # sometimes missing, as an inferred schema makes it
    "site": tf.io.VarLenFeature(tf.string),
    "species": tf.io.FixedLenFeature([1], tf.string),
}
ROWS = [
    {"bill_length_mm": [39.0], "body_mass_g": [3000], "site": [b"Dream"], "species": [b"Adelie"]},
    {"bill_length_mm": [41.0], "body_mass_g": [], "site": [b"Biscoe"], "species": [b"Gentoo"]},
    {"bill_length_mm": [43.0], "body_mass_g": [5000], "site": [], "species": [b"Gentoo"]},
    {"bill_length_mm": [45.0], "body_mass_g": [4000], "site": [b"Dream"], "species": [b"Chinstrap"]},
]


@pytest.fixture(scope="module")
def transformed():
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(RAW_SPEC))
    output_dir = tempfile.mkdtemp()
    with tft_beam.Context(temp_dir=tempfile.mkdtemp(), force_tf_compat_v1=False):
        (rows, _), transform_fn = (ROWS, metadata) | tft_beam.AnalyzeAndTransformDataset(
            lambda inputs: preprocessing_fn(inputs, CUSTOM_CONFIG))
        _ = transform_fn | tft_beam.WriteTransformFn(output_dir)
    return rows, tft.TFTransformOutput(output_dir)


def test_numeric_features_are_z_scored(transformed):
    rows, _ = transformed
    values = np.array([row["bill_length_mm_xf"] for row in rows]).ravel()
    expected = (np.array([39.0, 41.0, 43.0, 45.0]) - 42.0) / np.std([39.0, 41.0, 43.0, 45.0])
    np.testing.assert_allclose(values, expected, rtol=1e-5)


def test_missing_numeric_value_is_filled_with_the_mean(transformed):
    rows, _ = transformed
    mass = np.array([row["body_mass_g_xf"] for row in rows]).ravel()
    assert mass[1] == pytest.approx(0.0, abs=1e-5)  # the mean (4000) scales to zero
    assert mass[0] == pytest.approx(-mass[2], rel=1e-5)


def test_label_and_categoricals_use_vocabularies(transformed):
    rows, output = transformed
    vocabulary = output.vocabulary_by_name(LABEL_VOCABULARY)
    assert sorted(vocabulary) == [b"Adelie", b"Chinstrap", b"Gentoo"]
    assert vocabulary[0] == b"Gentoo"  # most frequent first
    labels = [vocabulary[int(np.ravel(row["species_xf"])[0])] for row in rows]
    assert labels == [b"Adelie", b"Gentoo", b"Gentoo", b"Chinstrap"]
    site = [int(np.ravel(row["site_xf"])[0]) for row in rows]
    assert site[0] == site[3] != site[1]
    assert site[2] == output.vocabulary_size_by_name("vocab_site")  # missing -> the out-of-vocabulary bucket
