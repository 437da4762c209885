"""The consensus step: each example's serialized record with two features appended (consensus label, agreement),
written as whole shards; the disagreement CSV lines; and the schema extended with the two features."""
import csv

import apache_beam as beam
import numpy as np
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2

from components.label_consistency import metrics as M
from components.label_consistency.contract import AGREEMENT_FEATURE, CONSENSUS_FEATURE
from components.safe_text import spreadsheet_cell


class _LineText:
    """A file for csv.writer whose write returns the text: `writerow` then returns the CSV line it made."""

    @staticmethod
    def write(text):
        return text


class WriteConsensus(beam.DoFn):
    """Appends consensus_label and label_agreement to each serialized example of a record batch and emits the batch's
    records as (split, list of records), for the shard writers (whole shards: not one Beam element per example);
    emits disagreement CSV lines (tagged 'disagreements', as [example id, split, line] for `examples_io.sorted_text`)
    for examples with two or more labels that are not unanimous."""

    def __init__(self, encoder, classes, consensus_method, model=None):
        """`model`: the fitted Dawid-Skene consensus of each label pattern (`combine.PatternConsensus`), None for
        majority."""
        self.encoder, self.classes, self.method = encoder, classes, consensus_method
        self.model = model

    def setup(self):
        self._suffix = {}
        self._csv = csv.writer(_LineText(), lineterminator="")

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

    def process(self, element):
        # The split, the record batch of the label columns, its rows' serialized records in the same order, and the
        # batch's class codes (LabelEncoder.encode).
        split, batch, records, encoded = element
        codes, model = encoded["codes"], self.model
        if model is None:
            consensus = M.majority_vote(codes, len(self.classes), preferred=encoded["label"])
        else:
            consensus = model(codes)
        agreement = M.example_agreement(codes, len(self.classes))
        names = np.array(list(self.classes) + [""], dtype=object)
        consensus_names = names[consensus]
        no_vote = np.flatnonzero(consensus < 0)
        if len(no_vote):  # no labeler label: the consensus falls back to the example's own label
            consensus_names[no_vote] = self.encoder.strings(batch.take(no_vote), self.encoder.label_column)
        yield split, [record + self._features_suffix(name, value)
                      for record, name, value in zip(records, consensus_names.tolist(), agreement.tolist())]
        disagree = np.flatnonzero(agreement < 1)  # NaN (fewer than two labels) compares False
        if not len(disagree):
            return
        disagreeing = batch.take(disagree)
        ids = self.encoder.strings(disagreeing, self.encoder.id_column)
        labels = self.encoder.strings(disagreeing, self.encoder.label_column)
        cells = [spreadsheet_cell(name) for name in names]  # inert in a spreadsheet
        class_cells = np.array(cells, dtype=object)[codes[disagree]].tolist()
        consensus_cells = [spreadsheet_cell(name) for name in consensus_names[disagree]]
        for example_id, given, consensus_cell, value, label in zip(
                ids, class_cells, consensus_cells, agreement[disagree].tolist(), labels):
            line = self._csv.writerow([spreadsheet_cell(example_id)] + given + [
                consensus_cell, f"{value:.4f}", spreadsheet_cell(label), spreadsheet_cell(split)])
            yield beam.pvalue.TaggedOutput("disagreements", [str(example_id), split, line])


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
