"""CorrectionsApplier with a corrections file of 300,000 rows on 300,000 examples (benchmarks/corrections/data.py)
through the real executor: every reviewed row applied, every other label kept, the counts right; and an unknown id
on the file's last line is still reported with the file and the line."""
import os

import pytest
import tensorflow as tf
from tfx.types import artifact_utils

from benchmarks.corrections import data
from components.corrections.parse import CorrectionsError
from tests.artifacts import LOCAL_BEAM_ARGS

EXAMPLES = ROWS = 300_000


def _labels(examples):
    """{example_id: label} of every record, parsed in batches by TensorFlow (not one proto at a time)."""
    spec = {name: tf.io.FixedLenFeature([], tf.string) for name in ("example_id", "species")}
    labels = {}
    for split in artifact_utils.decode_split_names(examples.split_names):
        files = tf.io.gfile.glob(os.path.join(artifact_utils.get_split_uri([examples], split), "*"))
        for batch in tf.data.TFRecordDataset(files, compression_type="GZIP").batch(50_000):
            parsed = tf.io.parse_example(batch, spec)
            labels.update(zip(parsed["example_id"].numpy().astype(str), parsed["species"].numpy().astype(str)))
    return labels


@pytest.mark.slow
def test_300k_corrections(tmp_path):
    inputs = data.inputs(str(tmp_path), EXAMPLES, ROWS)
    target = data.apply(str(tmp_path), inputs, LOCAL_BEAM_ARGS)
    reviewed = sum(map(data.is_reviewed, range(ROWS)))
    assert target.get_int_custom_property("corrections_applied") == reviewed
    assert target.get_int_custom_property("labels_changed") == reviewed
    assert target.get_int_custom_property("corrections_skipped_empty") == ROWS - reviewed
    labels = _labels(target)
    assert len(labels) == EXAMPLES
    expected = {data.example_id(i): data.corrected_label(i) if data.is_reviewed(i) else data.given_label(i)
                for i in range(EXAMPLES)}
    assert labels == expected
    counts = {label: list(expected.values()).count(label) for label in data.LABELS}
    assert target.get_json_value_custom_property("label_counts") == counts
    assert len(target.get_json_value_custom_property("corrections")) == 100


@pytest.mark.slow
def test_unknown_id_on_the_last_of_300k_lines(tmp_path):
    examples, schema, corrections = data.inputs(str(tmp_path), EXAMPLES, ROWS)
    with open(corrections.uri, "a") as f:
        f.write("e9999999,a,b,ana,typo\n")
    corrections.set_string_custom_property("sha256", "")  # not pinned: the file was edited on purpose
    with pytest.raises(CorrectionsError, match=rf"{corrections.uri}.*\n  line {ROWS + 2}: example_id 'e9999999' "
                                               rf"is not in the examples"):
        data.apply(str(tmp_path), (examples, schema, corrections), LOCAL_BEAM_ARGS)
