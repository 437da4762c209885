"""The consensus step: each example's serialized record with two features appended (consensus label, agreement),
written as whole shards; the disagreement CSV lines; and the schema extended with the two features."""
import csv
import io

import apache_beam as beam
import numpy as np
import pyarrow.compute as pc
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2

from components.label_consistency import metrics as M
from components.label_consistency.contract import AGREEMENT_FEATURE, CONSENSUS_FEATURE
from components.label_consistency.long_form import RAW_RECORD
from components.safe_text import spreadsheet_row


class WriteConsensus(beam.DoFn):
    """Appends consensus_label and label_agreement to each serialized example of a record batch and emits the batch's
    records as one list (for `examples_io.tfrecord.WriteSplit`, which writes whole shards: not one Beam element per
    example); emits disagreement CSV lines (tagged 'disagreements', as [example id, split, line] for
    `examples_io.sorted_text`) for examples with two or more labels that are not unanimous."""

    def __init__(self, encoder, classes, consensus_method, split, model=None):
        """`model`: the fitted Dawid-Skene model ({label pattern: (class code, posterior)}), None for majority."""
        self.encoder, self.classes, self.method, self.split = encoder, classes, consensus_method, split
        self.model = model

    def setup(self):
        self._suffix = {}

    def _features_suffix(self, consensus, agreement):
        # A serialized message followed by another serialized message parses as their merge, so appending an
        # Example that holds only the new features adds them to the original without decoding it.
        key = (consensus, agreement)
        if key not in self._suffix:
            feature = {}
            if consensus:
                feature[CONSENSUS_FEATURE] = tf.train.Feature(bytes_list=tf.train.BytesList(
                    value=[consensus.encode()]))
            if not np.isnan(agreement):
                feature[AGREEMENT_FEATURE] = tf.train.Feature(float_list=tf.train.FloatList(value=[agreement]))
            self._suffix[key] = tf.train.Example(
                features=tf.train.Features(feature=feature)).SerializeToString()
        return self._suffix[key]

    def process(self, batch_and_codes):
        batch, encoded = batch_and_codes  # the record batch, and its class codes (LabelEncoder.encode)
        codes, model = encoded["codes"], self.model
        if model is None:
            consensus = M.majority_vote(codes, len(self.classes), preferred=encoded["label"])
        else:
            consensus = np.array([model[tuple(int(v) for v in row)][0] if (row >= 0).any() else -1
                                  for row in codes], np.int64)
        agreement = M.example_agreement(codes, len(self.classes))
        labels = self.encoder.strings(batch, self.encoder.label_column)
        names = np.array(list(self.classes) + [""], dtype=object)
        # No labeler label: the consensus falls back to the example's own label.
        consensus_names = np.where(consensus >= 0, names[consensus], labels)
        raw = pc.list_flatten(batch.column(RAW_RECORD)).to_pylist()
        yield [record + self._features_suffix(name, value)
               for record, name, value in zip(raw, consensus_names, agreement.tolist())]
        disagree = np.flatnonzero(agreement < 1)  # NaN (fewer than two labels) compares False
        if len(disagree):
            ids = self.encoder.strings(batch, self.encoder.id_column)
            for i in disagree:
                line = io.StringIO()
                csv.writer(line, lineterminator="").writerow(spreadsheet_row(  # inert in a spreadsheet
                    [ids[i]] + [names[c] for c in codes[i]] + [consensus_names[i], f"{agreement[i]:.4f}",
                                                               labels[i], self.split]))
                yield beam.pvalue.TaggedOutput("disagreements", [str(ids[i]), self.split, line.getvalue()])


def consensus_schema(schema, classes):
    """The input schema plus the two new features (both optional per example)."""
    updated = schema_pb2.Schema()
    updated.CopyFrom(schema)
    for feature in list(updated.feature):
        if feature.name in (CONSENSUS_FEATURE, AGREEMENT_FEATURE):
            updated.feature.remove(feature)
    consensus = updated.feature.add(name=CONSENSUS_FEATURE, type=schema_pb2.BYTES)
    consensus.presence.min_count = 0
    consensus.string_domain.value.extend(classes)
    agreement = updated.feature.add(name=AGREEMENT_FEATURE, type=schema_pb2.FLOAT)
    agreement.presence.min_count = 0
    agreement.float_domain.min = 0.0
    agreement.float_domain.max = 1.0
    return updated
