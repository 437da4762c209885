"""LabelConsistency executor: one Beam pipeline reads the labels, sums agreement statistics with combiners and
writes the Examples with their consensus label; the small global sums are turned into the report here.

The parts: `encoding.py` (label columns to class codes), `combine.py` (the sums), `long_form.py` (labels from a
long-form file), `consensus.py` (the consensus Examples and schema), `report.py` (metrics, summary and the gate).
Wide form (a labeler column per labeler): every split is read as one source of lists of serialized records, a
file's records in order (`read.record_lists_of_splits`, as CorrectionsApplier reads); each list is decoded to the
label columns only (`read.ExampleDecoder`), its features appended to the records it already holds and written back
as one shard (so the output shards follow the input files, whatever the runner's bundles). No Beam element and no
TFRecord read per record, and only the label columns parsed: reading every split through TFXIO took about half the
pass (README).

Memory: each worker holds one list of records (at most `_LIST_RECORDS`) at a time, with its decoded label columns
and its rewritten records; the global state is K-by-K sized (`metrics.LabelStats`), plus, for Dawid-Skene, the
counts of distinct label patterns (the model is fitted between two passes over the examples, so no pass waits on
it while holding batches). disagreements.csv is merged sorted by example id in bounded memory
(`examples_io.sorted_text`), so it is the same bytes on every run and in every runner mode.

Nothing that grows with the rows is flattened: Beam's FnApiRunner (the local runner) holds every multi-input
Flatten's elements in memory until the flatten is read. The long form's joined rows come as a stream per split:
each stream is summed on its own and only the per-stream sums (one element each) are flattened and merged; each
stream writes its disagreement lines under a prefix of its own, all of which `write_sorted` merges; the class values
(no schema domain) are read from all splits as one source (`read.record_batches_of_splits`). At 1M rows flattening
the splits' batches held 3.05 GiB.
"""
import json
import os

import apache_beam as beam
import pyarrow.compute as pc
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils

from components.examples_io import read
from components.examples_io.artifacts import carry_over
from components.examples_io.results import Results
from components.examples_io.schema import check_columns, label_domain, projected_schema, read_schema
from components.examples_io.sorted_text import WriteKeyedLines, remove_keyed_lines, write_sorted
from components.examples_io.tfrecord import Shard, WriteShards, WriteSplit, content_name, write_empty_shards
from components.label_consistency import report
from components.label_consistency.combine import (StatsCombine, fit_dawid_skene, patterns_from_json,
                                                   patterns_to_json, stats_from_json, stats_to_json)
from components.label_consistency.contract import (CLASSES_TO_REVIEW, DISAGREEMENT_COLUMNS, DISAGREEMENTS_FILE,
                                                    FLEISS_KAPPA, GATE, HLP_ESTIMATE, KRIPPENDORFF_ALPHA,
                                                    LABEL_STATS_FILE, METRICS_FILE, SUMMARY_FILE)
from components.label_consistency.consensus import WriteConsensus, consensus_schema
from components.label_consistency.encoding import LabelConsistencyError, LabelEncoder, flat_strings
from components.label_consistency.long_form import RAW_RECORD, join_long_form, long_form_labelers
from components.progress import say, warn

_MAX_CLASSES = 1000  # a label column with more distinct values than this is not a class label
_LIST_RECORDS = 50_000  # serialized records a worker holds at a time, twice (read, rewritten); a shard's at most


def _encoded_batch(split, batch, records, encoder):
    return split, batch, records, encoder.encode(batch)


def classes_from_schema(schema, label_column, labeler_columns):
    """Sorted class names from the string domain of the label column (else of the labeler columns); None if the
    schema has no domain for them (then the classes are the distinct values found in the data)."""
    for column in [label_column] + list(labeler_columns):
        classes = label_domain(schema, column)
        if classes is not None:
            return classes
    return None


class Executor(base_beam_executor.BaseBeamExecutor):
    """See component.LabelConsistency."""

    def Do(self, input_dict, output_dict, exec_properties):
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        schema = read_schema(input_dict["schema"])
        labelers = json.loads(exec_properties["labeler_columns"])
        label_column, id_column = exec_properties["label_column"], exec_properties["id_column"]
        long_form = exec_properties.get("long_form_file") or ""
        if long_form:
            labelers = long_form_labelers(long_form)
        elif len(labelers) < 2:
            raise LabelConsistencyError(f"[labels] labeler_columns needs at least two labelers, got {labelers}")
        check_columns(schema, {"[labels] label_column": [label_column], "[data] id_column": [id_column],
                               **({} if long_form else {"[labels] labeler_columns": labelers})},
                      error=LabelConsistencyError)
        splits = read.split_names(examples)
        columns = [id_column, label_column] + ([] if long_form else labelers)
        columns_schema = projected_schema(schema, columns)
        classes = classes_from_schema(schema, label_column, labelers)
        if classes is None and long_form:
            raise LabelConsistencyError(f"the schema has no string domain for [labels] label_column "
                                        f"{label_column!r}; with a long_form_file the classes come from it")
        if classes is None:
            classes = self._distinct_values(examples, splits, columns_schema, [label_column] + labelers)
        method = exec_properties["consensus_method"]
        encoder = LabelEncoder(classes, label_column, labelers, id_column)

        out = artifact_utils.get_single_instance(output_dict["label_consistency"])
        out_examples = artifact_utils.get_single_instance(output_dict["consensus_examples"])
        out_schema = artifact_utils.get_single_instance(output_dict["consensus_schema"])
        carry_over(examples, out_examples)  # splits, payload format and provenance stay with the examples
        split_uris = {split: artifact_utils.get_split_uri([out_examples], split) for split in splits}
        for uri in split_uris.values():
            fileio.makedirs(uri)
        say("LabelConsistency", f"{len(labelers)} labelers, classes {', '.join(classes)}, splits "
                                f"{', '.join(splits)}")

        results = Results(self._get_tmp_dir())
        lines_prefix = os.path.join(self._get_tmp_dir(), "disagreement-lines")
        remove_keyed_lines(lines_prefix)  # a retried execution's leftovers
        join_folder = os.path.join(self._get_tmp_dir(), "long-form-join")  # the long-form join's bucket files
        model = None
        if method == "dawid_skene":
            # The consensus needs the model fitted on the sums of all examples: a first pass sums, a second reads the
            # examples again and writes (instead of holding every batch until the model is known). The sums need no
            # id: the wide form's first pass parses the label columns only (the long form joins on the id).
            sums_schema = columns_schema if long_form else projected_schema(schema, [label_column] + labelers)
            with self._make_beam_pipeline() as p:
                self._sum(p, self._encoded(p, examples, splits, sums_schema, encoder, labelers, long_form,
                                           join_folder, results), len(labelers), len(classes), True, results)
            model = fit_dawid_skene(patterns_from_json(results["stats"][0]["patterns"]), len(classes))
        with self._make_beam_pipeline() as p:
            encoded = self._encoded(p, examples, splits, columns_schema, encoder, labelers, long_form,
                                    join_folder, results if model is None else None)
            if model is None:
                self._sum(p, encoded, len(labelers), len(classes), False, results)
            for name, stream in encoded.items():
                written = stream | f"Consensus[{name}]" >> beam.ParDo(
                    WriteConsensus(encoder, classes, method, model)).with_outputs("disagreements", main="records")
                if long_form:  # one split's batches of joined rows: gathered into shards
                    _ = (written.records | f"Records[{name}]" >> beam.Values()
                         | f"Write[{name}]" >> WriteSplit(name, split_uris, "LabelConsistency"))
                else:  # each list is a run of one input file's records: written as one shard, in its order
                    _ = (written.records | "Shards" >> beam.MapTuple(
                        lambda split, records: Shard(split, content_name(records), records))
                         | "Write" >> WriteShards(split_uris, "LabelConsistency"))
                # Per stream, under a prefix of its own: write_sorted merges every file under lines_prefix.
                _ = written.disagreements | f"WriteDisagreements[{name}]" >> WriteKeyedLines(
                    f"{lines_prefix}-{name}")
        if fileio.exists(join_folder):
            fileio.rmtree(join_folder)
        header = ",".join([id_column] + labelers + list(DISAGREEMENT_COLUMNS))
        write_sorted(lines_prefix, os.path.join(out.uri, DISAGREEMENTS_FILE), header)

        write_empty_shards(split_uris)
        (saved,) = results["stats"]
        with fileio.open(os.path.join(out.uri, LABEL_STATS_FILE), "w") as f:
            f.write(json.dumps({"stats": saved["stats"], "unknown": saved["unknown"]}))
        stats = stats_from_json(saved["stats"])
        problems = {"label values not in the classes (treated as missing)": saved["unknown"]}
        if long_form:
            problems.update(*results["long_form_problems"])
        self._report(out, stats, classes, labelers, problems, exec_properties)

        io_utils.write_pbtxt_file(os.path.join(out_schema.uri, "schema.pbtxt"), consensus_schema(schema, classes))

    @staticmethod
    def _encoded(p, examples, splits, columns_schema, encoder, labelers, long_form, join_folder, results):
        """{name: stream of (split, record batch of the label columns, its rows' serialized records, their class
        codes)}, the examples encoded once for the sums and the consensus. Wide form: one stream of every split,
        read as lists of serialized records (a file's records in order) and each list decoded to a batch of the
        label columns only. Long form: a stream per split of the examples joined to the long-form labels (through
        bucket files under `join_folder`; its problem counts collected into `results` unless None)."""
        if not long_form:
            decode = read.ExampleDecoder(examples, columns_schema)
            return {"all": p | "Read" >> read.record_lists_of_splits(examples, splits, _LIST_RECORDS)
                    | "Encode" >> beam.MapTuple(
                lambda split, records: _encoded_batch(split, decode(records), records, encoder))}
        batches = {split: p | f"Read[{split}]" >> read.record_batches(
            examples, split, columns_schema, "LabelConsistency", raw_record_column=RAW_RECORD) for split in splits}
        batches, problems = join_long_form(p, batches, long_form, labelers, encoder.id_column,
                                           encoder.label_column, join_folder)
        if results is not None:
            results.collect("long_form_problems", problems)
        return {split: batch | f"Encode[{split}]" >> beam.Map(
            lambda b, split: _encoded_batch(split, b, pc.list_flatten(b.column(RAW_RECORD)).to_pylist(), encoder),
            split) for split, batch in batches.items()}

    @staticmethod
    def _sum(p, encoded, n_labelers, n_classes, with_patterns, results):
        """Collects the summed statistics (and, for Dawid-Skene, the label-pattern counts) into `results`. Each stream
        is summed on its own and only the per-stream sums (one element each) are flattened and merged: the local
        runner holds a multi-input Flatten's elements whole, so flattening the splits' batches held every one."""
        combine = StatsCombine(n_labelers, n_classes, with_patterns)
        per_stream = tuple(stream | f"Codes[{name}]" >> beam.Map(lambda element: element[3])
                           | f"Sum[{name}]" >> beam.CombineGlobally(combine) for name, stream in encoded.items())
        summed = (per_stream | "FlattenSums" >> beam.Flatten()
                  | "Sum" >> beam.CombineGlobally(combine.merge_accumulators))
        results.collect("stats", summed | "StatsJson" >> beam.Map(
            lambda acc: {"stats": stats_to_json(acc[0]), "unknown": acc[1], "patterns": patterns_to_json(acc[2])}))

    def _distinct_values(self, examples, splits, columns_schema, columns):
        """Sorted distinct label values over all splits, for schemas without a domain for the labels."""
        def values(batch):
            for column in columns:
                if column in batch.schema.names:
                    yield from (v for v in flat_strings(batch.column(column))[1].unique().to_pylist() if v)

        results = Results(self._get_tmp_dir())
        with self._make_beam_pipeline() as p:
            found = (p | "Read" >> read.record_batches_of_splits(examples, splits, columns_schema, "LabelConsistency")
                     | beam.FlatMap(values) | beam.Distinct()
                     | beam.combiners.Sample.FixedSizeGlobally(_MAX_CLASSES + 1))
            results.collect("label_classes", found)
        (classes,) = results["label_classes"]
        classes = sorted(classes)
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
        summary_path = os.path.join(out.uri, SUMMARY_FILE)
        with fileio.open(os.path.join(out.uri, METRICS_FILE), "w") as f:
            f.write(json.dumps(result, indent=2))
        with fileio.open(summary_path, "w") as f:
            f.write(report.summary_markdown(result, status, reasons, exec_properties["consensus_method"]))
        for key in (KRIPPENDORFF_ALPHA, FLEISS_KAPPA, HLP_ESTIMATE):
            if result[key] is not None:
                out.set_float_custom_property(key, result[key])
        out.set_string_custom_property(CLASSES_TO_REVIEW, json.dumps(result["classes_to_review"]))
        out.set_string_custom_property(GATE, status)
        alpha = result["krippendorff_alpha"]
        say("LabelConsistency", f"Krippendorff's alpha {report.fmt(alpha)}, Fleiss' kappa "
                                f"{report.fmt(result['fleiss_kappa'])}, HLP estimate "
                                f"{report.fmt(result['hlp_estimate'])}; report: {summary_path}")
        if status == "pass":
            return
        message = report.gate_message(status, reasons, result, summary_path)
        if status == "fail":
            raise report.AgreementGateError(message)
        warn("LabelConsistency", message)
