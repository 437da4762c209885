"""LabelConsistency executor: one Beam pipeline reads the labels, sums agreement statistics with combiners and
writes the Examples with their consensus label; the small global sums are turned into the report here.

Memory: each worker holds one record batch at a time; the global state is K-by-K sized (`metrics.LabelStats`),
plus, for Dawid-Skene, the counts of distinct label patterns (at most (K+1)^L, L labelers, K classes).
"""
import csv
import io
import json
import os
import sys
from collections import Counter

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import tensorflow as tf
from absl import logging
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils, json_utils
from tfx_bsl.public import tfxio

from components.examples_io import carry_over
from components.label_consistency import metrics as M
from components.label_consistency import report

CONSENSUS_FEATURE = "consensus_label"
AGREEMENT_FEATURE = "label_agreement"
_RAW = "__raw_record__"
_MAX_CLASSES = 1000  # a label column with more distinct values than this is not a class label
_SAMPLE_VALUES = 10  # unknown label values listed per column in the report


class LabelConsistencyError(ValueError):
    """Input the user must fix; the message names the column or file."""


def classes_from_schema(schema, label_column, labeler_columns):
    """Sorted class names from the string domain of the label column (else of the labeler columns); None if the
    schema has no domain for them (then the classes are the distinct values found in the data)."""
    domains = {d.name: list(d.value) for d in schema.string_domain}
    features = {f.name: f for f in schema.feature}
    for column in [label_column] + list(labeler_columns):
        feature = features.get(column)
        if feature is not None and feature.HasField("domain") and feature.domain in domains:
            return sorted(domains[feature.domain])
        if feature is not None and feature.HasField("string_domain"):
            return sorted(feature.string_domain.value)
    return None


def check_columns(schema, columns_by_key):
    """Raises LabelConsistencyError naming every configured column that is not in the schema."""
    present = {f.name for f in schema.feature}
    for key, columns in columns_by_key.items():
        missing = [c for c in columns if c not in present]
        if missing:
            raise LabelConsistencyError(
                f"{key}: column(s) {', '.join(map(repr, missing))} not found in the data (its columns: "
                f"{', '.join(sorted(present))}); fix the column name in the config")


def _flat_strings(column):
    """(per-example parent index, values as strings) of a list<...> Arrow column."""
    values = pc.list_flatten(column)
    parents = pc.list_parent_indices(column).to_numpy()
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    return parents, values


class _Encoder:
    """Turns a record batch into class codes (-1 missing) and counts label values that are not classes."""

    def __init__(self, classes, label_column, labeler_columns, id_column):
        self.value_set = pa.array(classes, pa.string())
        self.label_column, self.labeler_columns, self.id_column = label_column, labeler_columns, id_column

    def codes(self, batch, column, unknown):
        n = batch.num_rows
        codes = np.full(n, -1, np.int64)
        if column not in batch.schema.names:
            return codes
        parents, values = _flat_strings(batch.column(column))
        if len(parents) and np.bincount(parents).max() > 1:
            raise LabelConsistencyError(f"column {column!r} holds several values for one example; label columns "
                                        f"must hold one label per example")
        index = pc.fill_null(pc.index_in(values, value_set=self.value_set), -1).to_numpy(zero_copy_only=False)
        empty = (pc.fill_null(pc.equal(values, ""), True).to_numpy(zero_copy_only=False))
        bad = (index < 0) & ~empty
        if bad.any():
            seen = unknown.setdefault(column, {"count": 0, "values": []})
            seen["count"] += int(bad.sum())
            for value in values.filter(pa.array(bad)).to_pylist():
                if value not in seen["values"] and len(seen["values"]) < _SAMPLE_VALUES:
                    seen["values"].append(value)
        codes[parents] = index
        return codes

    def strings(self, batch, column):
        out = np.full(batch.num_rows, "", dtype=object)
        if column in batch.schema.names:
            parents, values = _flat_strings(batch.column(column))
            out[parents] = values.to_pylist()
        return out

    def encode(self, batch):
        """{"codes": [n, L], "label": [n] codes, "unknown": {column: counts}} for one record batch."""
        unknown = {}
        codes = np.stack([self.codes(batch, c, unknown) for c in self.labeler_columns], axis=1)
        label = self.codes(batch, self.label_column, unknown)
        return {"codes": codes, "label": label, "unknown": unknown}


def _merge_unknown(a, b):
    merged = {k: {"count": v["count"], "values": list(v["values"])} for k, v in a.items()}
    for column, seen in b.items():
        into = merged.setdefault(column, {"count": 0, "values": []})
        into["count"] += seen["count"]
        into["values"] += [v for v in seen["values"] if v not in into["values"]][:_SAMPLE_VALUES - len(into["values"])]
    return merged


class _StatsCombine(beam.CombineFn):
    """Sums LabelStats, unknown-value counts and (for Dawid-Skene) label-pattern counts over all batches."""

    def __init__(self, n_labelers, n_classes, with_patterns):
        self.shape = (n_labelers, n_classes)
        self.with_patterns = with_patterns

    def create_accumulator(self):
        return M.LabelStats.empty(*self.shape), {}, Counter()

    def add_input(self, accumulator, encoded):
        stats, unknown, patterns = accumulator
        stats = M.merge(stats, M.accumulate(encoded["codes"], self.shape[1]))
        if self.with_patterns:
            rows, counts = np.unique(encoded["codes"], axis=0, return_counts=True)
            patterns.update({tuple(int(v) for v in row): int(c) for row, c in zip(rows, counts)})
        return stats, _merge_unknown(unknown, encoded["unknown"]), patterns

    def merge_accumulators(self, accumulators):
        stats, unknown, patterns = self.create_accumulator()
        for s, u, p in accumulators:
            stats, unknown = M.merge(stats, s), _merge_unknown(unknown, u)
            patterns.update(p)
        return stats, unknown, patterns

    def extract_output(self, accumulator):
        return accumulator


def fit_dawid_skene(patterns, n_classes):
    """{pattern tuple: (class code, posterior)} from the pattern counts."""
    keys = list(patterns)
    posterior = M.dawid_skene(np.array(keys).reshape(len(keys), -1), [patterns[k] for k in keys], n_classes)
    return {k: (int(p.argmax()), float(p.max())) for k, p in zip(keys, posterior)}


class _WriteConsensus(beam.DoFn):
    """Appends consensus_label and label_agreement to each serialized example; emits disagreement CSV lines
    (tagged 'disagreements') for examples with two or more labels that are not unanimous."""

    def __init__(self, encoder, classes, consensus_method):
        self.encoder, self.classes, self.method = encoder, classes, consensus_method

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

    def process(self, batch, split, model=None):
        encoded = self.encoder.encode(batch)
        codes, n = encoded["codes"], batch.num_rows
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
        raw = pc.list_flatten(batch.column(_RAW)).to_pylist()
        for i in range(n):
            yield raw[i] + self._features_suffix(consensus_names[i], float(agreement[i]))
        disagree = np.flatnonzero(agreement < 1)  # NaN (fewer than two labels) compares False
        if len(disagree):
            ids = self.encoder.strings(batch, self.encoder.id_column)
            for i in disagree:
                line = io.StringIO()
                csv.writer(line, lineterminator="").writerow(
                    [ids[i]] + [names[c] for c in codes[i]] + [consensus_names[i], f"{agreement[i]:.4f}",
                                                               labels[i], split])
                yield beam.pvalue.TaggedOutput("disagreements", line.getvalue())


LONG_FORM_COLUMNS = ("example_id", "labeler_id", "label")


def long_form_labelers(path):
    """Sorted labeler ids of a long-form CSV (one streaming pass; memory grows with the labelers only)."""
    try:
        with fileio.open(path) as f:
            reader = csv.reader(f)
            header = next(reader, [])
            if tuple(header) != LONG_FORM_COLUMNS:
                raise LabelConsistencyError(f"[label_consistency] long_form_file {path}: the header must be "
                                            f"{','.join(LONG_FORM_COLUMNS)}, got {','.join(header) or 'nothing'}")
            labelers = sorted({row[1] for row in reader if len(row) == 3 and row[1]})
    except (OSError, tf.errors.NotFoundError) as e:
        raise LabelConsistencyError(f"[label_consistency] long_form_file {path} cannot be read: {e}") from None
    if len(labelers) < 2:
        raise LabelConsistencyError(f"[label_consistency] long_form_file {path} names {len(labelers)} labeler(s); "
                                    f"agreement needs at least two")
    return labelers


def _parse_long_form(line):
    """(example_id, (labeler_id, label)), or ("", None) for a malformed line."""
    row = next(csv.reader([line]), [])
    return (row[0], (row[1], row[2])) if len(row) == 3 and row[0] and row[1] else ("", None)


def _keyed_records(batch, split, id_column, label_column):
    """(example id, (split, label, raw record)) per example of a record batch."""
    ids, labels = np.full(batch.num_rows, "", object), np.full(batch.num_rows, "", object)
    for column, out in ((id_column, ids), (label_column, labels)):
        if column in batch.schema.names:
            parents, values = _flat_strings(batch.column(column))
            out[parents] = values.to_pylist()
    raw = pc.list_flatten(batch.column(_RAW)).to_pylist()
    return [(ids[i], (split, labels[i], raw[i])) for i in range(batch.num_rows)]


def _join_row(joined, labelers):
    """One example's labels from the long form: rows per split, plus problem counts (tagged 'problems')."""
    example_id, grouped = joined
    given = [v for v in grouped["labels"] if v is not None]
    counts = Counter()
    if example_id == "":
        counts["malformed long-form rows (not 3 fields, or no example_id / labeler_id)"] += len(given) + len(
            [v for v in grouped["labels"] if v is None])
        given = []
    by_labeler = {}
    for labeler, label in given:
        by_labeler.setdefault(labeler, []).append(label)
    labels = {}
    for labeler, values in by_labeler.items():
        if len(values) > 1:
            counts["duplicate (example_id, labeler_id) rows"] += len(values) - 1
        if len(set(values)) > 1:
            counts["conflicting duplicates (that labeler's label treated as missing)"] += 1
        else:
            labels[labeler] = values[0]
    if not grouped["records"] and given:
        counts["long-form rows whose example_id is not in the Examples"] += len(given)
    for split, label, raw in grouped["records"]:
        yield split, (example_id, label, [labels.get(l, "") for l in labelers], raw)
    if counts:
        yield beam.pvalue.TaggedOutput("problems", dict(counts))


def _to_record_batch(rows, id_column, label_column, labelers):
    """The columns the encoder reads, as a record batch: one list cell per example, empty where missing."""
    def cells(values):
        return pa.array([[v] if v else [] for v in values], pa.list_(pa.string()))

    columns = {id_column: cells([r[0] for r in rows]), label_column: cells([r[1] for r in rows])}
    for i, labeler in enumerate(labelers):
        columns[labeler] = cells([r[2][i] for r in rows])
    columns[_RAW] = pa.array([[r[3]] for r in rows], pa.list_(pa.binary()))
    return pa.RecordBatch.from_arrays(list(columns.values()), list(columns))


def _join_long_form(p, batches, path, labelers, id_column, label_column, problems_path):
    """Per split, record batches with one column per labeler id, built by joining the long-form rows to the
    Examples on the id (a shuffle; nothing is held per example in one process). Problem counts go to a file."""
    labels = (p | "ReadLongForm" >> beam.io.ReadFromText(path, skip_header_lines=1)
              | "ParseLongForm" >> beam.Map(_parse_long_form))
    keyed = [batch | f"Key[{split}]" >> beam.FlatMap(_keyed_records, split, id_column, label_column)
             for split, batch in batches.items()]
    records = tuple(keyed) | "FlattenRecords" >> beam.Flatten()
    joined = ({"labels": labels, "records": records} | "Join" >> beam.CoGroupByKey()
              | "Rows" >> beam.FlatMap(_join_row, labelers).with_outputs("problems", main="rows"))
    _ = (joined.problems | "SumProblems" >> beam.CombineGlobally(
        lambda dicts: dict(sum((Counter(d) for d in dicts), Counter())))
         | "ProblemsJson" >> beam.Map(json.dumps)
         | "WriteProblems" >> beam.io.WriteToText(problems_path, num_shards=1, shard_name_template=""))
    split_names = list(batches)
    parts = joined.rows | "BySplit" >> beam.Partition(lambda row, n: split_names.index(row[0]), len(split_names))
    return {split: (part | f"Values[{split}]" >> beam.Values() | f"Batch[{split}]" >> beam.BatchElements(
        min_batch_size=100, max_batch_size=10000)
        | f"ToRecordBatch[{split}]" >> beam.Map(_to_record_batch, id_column, label_column, labelers))
        for split, part in zip(split_names, parts)}


def projected_schema(schema, columns):
    """The schema restricted to `columns`, so TFXIO decodes only those."""
    projected = schema_pb2.Schema()
    projected.CopyFrom(schema)
    del projected.feature[:]
    projected.feature.extend(f for f in schema.feature if f.name in set(columns))
    for feature in projected.feature:  # parse every column as variable length: some examples lack a label
        feature.ClearField("shape")
    return projected


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


def _stats_to_json(stats):
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in vars(stats).items()}


class Executor(base_beam_executor.BaseBeamExecutor):
    """See component.LabelConsistencyGen."""

    def Do(self, input_dict, output_dict, exec_properties):
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        schema = io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(
            artifact_utils.get_single_uri(input_dict["schema"])))
        labelers = json_utils.loads(exec_properties["labeler_columns"])
        label_column, id_column = exec_properties["label_column"], exec_properties["id_column"]
        long_form = exec_properties.get("long_form_file") or ""
        if long_form:
            labelers = long_form_labelers(long_form)
        elif len(labelers) < 2:
            raise LabelConsistencyError(f"[labels] labeler_columns needs at least two labelers, got {labelers}")
        check_columns(schema, {"[labels] label_column": [label_column], "[data] id_column": [id_column],
                               **({} if long_form else {"[labels] labeler_columns": labelers})})
        splits = artifact_utils.decode_split_names(examples.split_names)
        columns = [id_column, label_column] + ([] if long_form else labelers)
        read_schema = projected_schema(schema, columns)
        classes = classes_from_schema(schema, label_column, labelers)
        if classes is None and long_form:
            raise LabelConsistencyError(f"the schema has no string domain for [labels] label_column "
                                        f"{label_column!r}; with a long_form_file the classes come from it")
        if classes is None:
            classes = self._distinct_values(examples, splits, read_schema, [label_column] + labelers)
        method = exec_properties["consensus_method"]
        encoder = _Encoder(classes, label_column, labelers, id_column)

        out = artifact_utils.get_single_instance(output_dict["label_consistency"])
        out_examples = artifact_utils.get_single_instance(output_dict["consensus_examples"])
        out_schema = artifact_utils.get_single_instance(output_dict["consensus_schema"])
        carry_over(examples, out_examples)  # splits, payload format and provenance stay with the examples
        stats_path = os.path.join(out.uri, "label_stats.json")
        disagreements_path = os.path.join(out.uri, "disagreements.csv")
        print(f"LabelConsistency: {len(labelers)} labelers, classes {', '.join(classes)}, splits "
              f"{', '.join(splits)}", flush=True)

        with self._make_beam_pipeline() as p:
            batches = {split: p | f"Read[{split}]" >> self._source(examples, split, read_schema) for split in splits}
            if long_form:
                batches = _join_long_form(p, batches, long_form, labelers, id_column, label_column,
                                          os.path.join(out.uri, "long_form_problems.json"))
            summed = (tuple(batches.values()) | "Flatten" >> beam.Flatten()
                      | "Encode" >> beam.Map(encoder.encode)
                      | "Sum" >> beam.CombineGlobally(_StatsCombine(len(labelers), len(classes),
                                                                     method == "dawid_skene")))
            model = None
            if method == "dawid_skene":
                model = beam.pvalue.AsSingleton(summed | "DawidSkene" >> beam.Map(
                    lambda acc: fit_dawid_skene(acc[2], len(classes))))
            (summed | "StatsJson" >> beam.Map(lambda acc: json.dumps(
                {"stats": _stats_to_json(acc[0]), "unknown": acc[1]}))
             | "WriteStats" >> beam.io.WriteToText(stats_path, num_shards=1, shard_name_template=""))
            disagreements = []
            for split, batch in batches.items():
                written = batch | f"Consensus[{split}]" >> beam.ParDo(
                    _WriteConsensus(encoder, classes, method), split, model).with_outputs(
                        "disagreements", main="examples")
                _ = written.examples | f"Write[{split}]" >> beam.io.WriteToTFRecord(
                    os.path.join(artifact_utils.get_split_uri([out_examples], split), "data_tfrecord"),
                    file_name_suffix=".gz")
                disagreements.append(written.disagreements)
            header = ",".join([id_column] + labelers + ["consensus", "agreement", "label", "split"])
            _ = (tuple(disagreements) | "FlattenDisagreements" >> beam.Flatten()
                 | "WriteDisagreements" >> beam.io.WriteToText(disagreements_path, num_shards=1,
                                                               shard_name_template="", header=header))

        with fileio.open(stats_path) as f:
            saved = json.loads(f.read())
        stats = M.LabelStats(**{k: (np.array(v) if isinstance(v, list) else v) for k, v in saved["stats"].items()})
        problems = {"label values not in the classes (treated as missing)": saved["unknown"]}
        if long_form:
            with fileio.open(os.path.join(out.uri, "long_form_problems.json")) as f:
                problems.update(json.loads(f.read()))
        self._report(out, stats, classes, labelers, problems, exec_properties)

        io_utils.write_pbtxt_file(os.path.join(out_schema.uri, "schema.pbtxt"), consensus_schema(schema, classes))

    def _source(self, examples, split, read_schema):
        pattern = os.path.join(artifact_utils.get_split_uri([examples], split), "*")
        return tfxio.TFExampleRecord(pattern, schema=read_schema, raw_record_column_name=_RAW,
                                     telemetry_descriptors=["LabelConsistency"]).BeamSource()

    def _distinct_values(self, examples, splits, read_schema, columns):
        """Sorted distinct label values over all splits, for schemas without a domain for the labels."""
        def values(batch):
            for column in columns:
                if column in batch.schema.names:
                    yield from (v for v in _flat_strings(batch.column(column))[1].unique().to_pylist() if v)

        with self._make_beam_pipeline() as p:
            found = (tuple(p | f"Read[{s}]" >> self._source(examples, s, read_schema) for s in splits)
                     | beam.Flatten() | beam.FlatMap(values) | beam.Distinct()
                     | beam.combiners.Sample.FixedSizeGlobally(_MAX_CLASSES + 1))
            path = os.path.join(self._get_tmp_dir(), "label_classes.json")
            _ = found | beam.Map(json.dumps) | beam.io.WriteToText(path, num_shards=1, shard_name_template="")
        with fileio.open(path) as f:
            classes = sorted(json.loads(f.read()))
        if len(classes) > _MAX_CLASSES:
            raise LabelConsistencyError(f"the label columns {', '.join(columns)} hold more than {_MAX_CLASSES} "
                                        f"distinct values; they do not look like class labels")
        return classes

    def _report(self, out, stats, classes, labelers, problems, exec_properties):
        """Writes metrics.json and summary.md, sets the custom properties and applies the gate."""
        min_agreement = exec_properties["min_agreement"]
        min_class = exec_properties["min_class_agreement"]
        result = report.build_metrics(stats, classes, labelers, min_class, problems)
        status, reasons = report.gate(result, min_agreement, min_class, exec_properties["on_low_agreement"])
        result["gate"] = {"status": status, "reasons": reasons, "min_agreement": min_agreement,
                          "min_class_agreement": min_class}
        summary_path = os.path.join(out.uri, "summary.md")
        with fileio.open(os.path.join(out.uri, "metrics.json"), "w") as f:
            f.write(json.dumps(result, indent=2))
        with fileio.open(summary_path, "w") as f:
            f.write(report.summary_markdown(result, status, reasons, exec_properties["consensus_method"]))
        for key in ("krippendorff_alpha", "fleiss_kappa", "hlp_estimate"):
            if result[key] is not None:
                out.set_float_custom_property(key, result[key])
        out.set_string_custom_property("classes_to_review", json.dumps(result["classes_to_review"]))
        out.set_string_custom_property("gate", status)
        alpha = result["krippendorff_alpha"]
        print(f"LabelConsistency: Krippendorff's alpha {report.fmt(alpha)}, Fleiss' kappa "
              f"{report.fmt(result['fleiss_kappa'])}, HLP estimate {report.fmt(result['hlp_estimate'])}; "
              f"report: {summary_path}", flush=True)
        if status == "pass":
            return
        message = report.gate_message(status, reasons, result, summary_path)
        if status == "fail":
            raise LabelConsistencyError(message)
        logging.warning(message)
        print(message, file=sys.stdout, flush=True)
