"""ErrorAnalysis executor: two Beam passes over the examples, whose memory does not grow with them.

Pass 1 (the sample) keeps, per split, the `max_fit_examples` rows with the smallest hash of their id
(`Top.Smallest`, bounded and deterministic): the numeric slice columns' quantile bins come from its eval rows and
the levers fit on it. Pass 2 reads the examples again (no PCollection is kept between passes): the eval split's
serialized examples go through tfx_bsl's RunInference with the model's `serving_default` signature (the one serving
uses), every row is counted per slice (single columns and pairs) in a lifted CombineGlobally per split whose
accumulator holds counts per slice key and each slice's smallest error ids (slices.count_rows, merge_counts), and the
eval predictions stream to keyed text files that `sorted_text.write_sorted` merges by example id after the pipeline
(a one-shard text sink is a GroupByKey on one key: the local runner held every line). The splits' rows are never flattened (Beam's local runner holds a Flatten's
input whole): the per-split counts are merged here. The search (Fisher, Benjamini-Hochberg, Newcombe) then runs on the counts in this process.
"""
import copy
import csv
import hashlib
import io
import json
import os

import apache_beam as beam
import numpy as np
import pandas as pd
import tensorflow as tf
import tensorflow_transform as tft
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import path_utils
from tfx_bsl.public.beam import RunInference
from tfx_bsl.public.proto import model_spec_pb2

from components.error_analysis import contract, levers, report, slices
from components.examples_io import read
from components.examples_io.artifacts import scratch_dir
from components.examples_io.results import Results
from components.examples_io.sorted_text import WriteKeyedLines, remove_keyed_lines, write_sorted
from components.examples_io.values import first_values
from components.progress import say
from components.label_errors.contract import ISSUES_FILE  # its flagged examples, all splits
from models.features import LABEL_VOCABULARY

# Columns of the analysed rows that the slice module reads by these names; slice columns may not use them.
RESERVED_COLUMNS = ("example_id", "split", "label", "predicted_label", "correct", "agreement", "label_issue")
SERVING_OUTPUT = "outputs"  # the output key of models/model.py's serving_default signature
COMPONENT = "ErrorAnalysis"
COUNT_BATCH_ROWS = 5000  # rows counted at once (vectorised) before their counts merge into the accumulator
# The examples are decoded without a schema (the component has no Schema input): TFXIO's C++ decoder takes each
# feature's type from the examples, as a parse of the tf.Example would, and a column no example has reads as missing.
NO_SCHEMA = None
RAW_RECORD = "__raw_record__"  # the record batches' column of each example's serialized record (RunInference's input)


class Settings:
    """What the executor needs from exec_properties."""

    def __init__(self, props):
        self.id_column, self.label_column = props["id_column"], props["label_column"]
        self.categorical = json.loads(props["categorical_columns"])
        self.numeric = json.loads(props["numeric_columns"])
        self.metadata = json.loads(props["metadata_columns"])
        self.agreement_column = props["agreement_column"]
        self.slice_settings = slices.Settings(**json.loads(props["settings"]))
        self.max_review_examples = int(props["max_review_examples"])
        self.proxy_features = json.loads(props["proxy_features"])
        self.proxy_model = props["proxy_model"]
        self.max_fit_examples = int(props["max_fit_examples"])
        if self.max_fit_examples < 1:
            raise ValueError(f"ErrorAnalysis: max_fit_examples ([error_analysis] max_fit_examples) must be at least "
                             f"1, got {self.max_fit_examples}")
        clash = [c for c in self.categorical + self.numeric if c in RESERVED_COLUMNS]
        if clash:
            raise ValueError(f"ErrorAnalysis: slice column(s) {clash} ([error_analysis] slice columns, or "
                             f"[labels] metadata_columns) use a name the analysis reserves: "
                             f"{', '.join(RESERVED_COLUMNS)}; rename the column(s)")

    def read_columns(self):
        """Source column -> analysed-row column."""
        columns = {c: c for c in self.categorical + self.numeric + self.metadata + self.proxy_features}
        columns[self.id_column] = "example_id"
        columns[self.label_column] = "label"
        if self.agreement_column:
            columns[self.agreement_column] = "agreement"
        return columns


def batch_rows(batch, split, columns, numeric):
    """The analysed rows of an Arrow record batch (TFXIO decoded its examples in C++): the needed columns, each
    example's first value as text (as values.feature_value gives it), numbers as floats; None where a value is
    missing."""
    present = set(batch.schema.names)
    named = {}
    for source, name in columns.items():
        texts = ([None if v is None else str(v) for v in first_values(batch.column(source))] if source in present
                 else [None] * batch.num_rows)
        if name in numeric or name == "agreement":
            texts = [float(v) if v not in (None, "") else None for v in texts]
        named[name] = texts
    return [{"split": split, **{name: values[i] for name, values in named.items()}} for i in range(batch.num_rows)]


def keyed_records(batch, split, columns, numeric):
    """(the row as JSON, the serialized example) per example of a batch: RunInference's input, the row its key."""
    records = batch.column(RAW_RECORD).to_pylist()
    return [(json.dumps(row), record[0]) for row, record in zip(batch_rows(batch, split, columns, numeric), records)]


def with_prediction(keyed_log, classes):
    """The row (the RunInference key) with the predicted class and whether it equals the label."""
    key, log = keyed_log
    row = json.loads(key)
    probabilities = tf.make_ndarray(log.predict_log.response.outputs[SERVING_OUTPUT]).reshape(-1)
    row["predicted_label"] = classes[int(np.argmax(probabilities))]
    row["correct"] = row["predicted_label"] == row["label"]
    return row


def sample_entries(batch, split, columns, numeric):
    """(hash of the id, the id, the row as JSON) per example of a batch: `Top.Smallest` over these keeps the same rows
    on every run and runner, a uniform sample of them when it keeps fewer than all."""
    for row in batch_rows(batch, split, columns, numeric):
        example_id = str(row["example_id"])
        yield (int.from_bytes(hashlib.blake2b(example_id.encode(), digest_size=8).digest(), "big"), example_id,
               json.dumps(row))


def prediction_line(row):
    """One row of eval_predictions.csv, keyed by its example id for `sorted_text.WriteKeyedLines`."""
    text = io.StringIO()
    csv.writer(text, lineterminator="").writerow([row[c] for c in contract.PREDICTION_COLUMNS])
    return ["" if row["example_id"] is None else row["example_id"], text.getvalue()]


class CountSlices(beam.CombineFn):
    """Batches of analysed rows -> their counts per slice (slices.count_rows): the accumulator grows with the slice
    keys (columns, bins, values), not with the rows."""

    def __init__(self, plan, flagged):
        self._plan, self._flagged = plan, flagged

    def create_accumulator(self):
        return slices.empty_counts()

    def add_input(self, counts, batch):
        return slices.merge_counts(counts, slices.count_rows(analysed_rows(batch, self._flagged), self._plan),
                                   self._plan.listed_ids)

    def merge_accumulators(self, accumulators):
        accumulators = iter(accumulators)
        merged = next(accumulators)
        for counts in accumulators:
            slices.merge_counts(merged, counts, self._plan.listed_ids)
        return merged

    def extract_output(self, counts):
        return slices.counts_to_json(counts)


class Executor(base_beam_executor.BaseBeamExecutor):
    """Writes error_analysis.json, summary.md, weak_slice_examples.csv and eval_predictions.csv; records the verdict
    in ML Metadata."""

    def Do(self, input_dict, output_dict, exec_properties):
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        model = artifact_utils.get_single_instance(input_dict["model"])
        transform_graph = artifact_utils.get_single_instance(input_dict["transform_graph"])
        output = artifact_utils.get_single_instance(output_dict["error_analysis"])
        settings = Settings(exec_properties)
        classes = [c.decode() if isinstance(c, bytes) else c for c in
                   tft.TFTransformOutput(transform_graph.uri).vocabulary_by_name(LABEL_VOCABULARY)]
        flagged = None
        if input_dict.get("label_issues"):
            issues = artifact_utils.get_single_instance(input_dict["label_issues"])
            with fileio.open(os.path.join(issues.uri, ISSUES_FILE)) as f:
                flagged = {row["example_id"] for row in csv.DictReader(io.StringIO(f.read()))}

        splits = artifact_utils.decode_split_names(examples.split_names)
        if slices.EVAL_SPLIT not in splits:
            raise ValueError(f"ErrorAnalysis: the examples have no '{slices.EVAL_SPLIT}' split (splits: {splits})")
        scratch = scratch_dir(self, output.uri)
        results = Results(scratch)
        sample = self._sample(examples, splits, settings, flagged, results)
        plan = slices.Plan(tuple(dict.fromkeys(settings.categorical + settings.numeric)),
                           {c: slices.quantile_edges(sample.loc[sample["split"] == slices.EVAL_SPLIT, c],
                                                     settings.slice_settings.bins) for c in settings.numeric},
                           tuple(settings.metadata), max(slices.MAX_LISTED_IDS, settings.max_review_examples),
                           settings.slice_settings.pairs)
        counts = self._predict_and_count(examples, splits, settings, flagged, plan, model, classes, output.uri,
                                         results, os.path.join(scratch, "prediction-lines"))
        analysis = analyse_and_write(counts, sample, plan, settings, flagged, output.uri)
        if scratch.startswith(output.uri):
            fileio.rmtree(scratch)

        record_verdict(output, analysis)
        say(COMPONENT, f"{analysis['verdict']}; report: {os.path.join(output.uri, contract.SUMMARY_FILE)}")

    def _sample(self, examples, splits, settings, flagged, results):
        """Pass 1: per split (train, eval), the max_fit_examples rows with the smallest id hash, as one frame."""
        say(COMPONENT, f"pass 1: a sample of at most {settings.max_fit_examples} rows per split (smallest id hash) "
                       "for the quantile bins and the levers")
        columns, numeric = settings.read_columns(), set(settings.numeric + settings.proxy_features)
        sampled = [split for split in (slices.TRAIN_SPLIT, slices.EVAL_SPLIT) if split in splits]
        with self._make_beam_pipeline() as pipeline:
            for split in sampled:
                results.collect(f"sample-{split}", (
                    pipeline | f"Read[{split}]" >> read.record_batches(examples, split, NO_SCHEMA, COMPONENT)
                    | f"Rows[{split}]" >> beam.FlatMap(sample_entries, split, columns, numeric)
                    | f"Sample[{split}]" >> beam.combiners.Top.Smallest(settings.max_fit_examples)
                    | f"Sampled[{split}]" >> beam.Map(lambda entries: [json.loads(e[2]) for e in entries])))
        return analysed_rows([row for split in sampled for rows in results[f"sample-{split}"] for row in rows],
                             flagged)

    def _predict_and_count(self, examples, splits, settings, flagged, plan, model, classes, output_uri, results,
                           lines_prefix):
        """Pass 2, reading the examples again: eval predictions to eval_predictions.csv, sorted by example id (their
        lines written under `lines_prefix`, merged after the pipeline); returns the counts per slice of every row
        (each split counted on its own, the small counts merged here)."""
        columns, numeric = settings.read_columns(), set(settings.numeric + settings.proxy_features)
        inference = model_spec_pb2.InferenceSpecType(saved_model_spec=model_spec_pb2.SavedModelSpec(
            model_path=path_utils.serving_model_path(model.uri), signature_name=["serving_default"]))
        say(COMPONENT, f"pass 2: predicting split '{slices.EVAL_SPLIT}' with {model.uri}; counting slices of "
                       f"{', '.join(plan.columns)}")
        fileio.makedirs(output_uri)
        remove_keyed_lines(lines_prefix)  # a retried execution's leftovers
        with self._make_beam_pipeline() as pipeline:
            for split in splits:
                predicted = split == slices.EVAL_SPLIT
                batches = pipeline | f"ReadAgain[{split}]" >> read.record_batches(
                    examples, split, NO_SCHEMA, COMPONENT, raw_record_column=RAW_RECORD if predicted else None)
                if predicted:
                    parsed = (batches
                              | "KeyByRow" >> beam.FlatMap(keyed_records, split, columns, numeric)
                              .with_output_types(beam.typehints.Tuple[str, bytes])
                              | "Predict" >> RunInference(inference)
                              | "Compare" >> beam.Map(with_prediction, classes))
                    _ = (parsed | "PredictionLine" >> beam.Map(prediction_line)
                         | "WritePredictions" >> WriteKeyedLines(lines_prefix))
                else:
                    parsed = batches | f"Rows[{split}]" >> beam.FlatMap(batch_rows, split, columns, numeric)
                # Counted per split, never flattened: Beam's local runner holds a Flatten's input whole.
                results.collect(f"counts-{split}", parsed
                                | f"Batch[{split}]" >> beam.BatchElements(min_batch_size=COUNT_BATCH_ROWS,
                                                                          max_batch_size=COUNT_BATCH_ROWS)
                                | f"CountSlices[{split}]" >> beam.CombineGlobally(CountSlices(plan, flagged)))
        write_sorted(lines_prefix, os.path.join(output_uri, contract.PREDICTIONS_FILE),
                     ",".join(contract.PREDICTION_COLUMNS))
        return merged_split_counts([results[f"counts-{split}"][0] for split in splits], plan)


def merged_split_counts(documents, plan):
    """The counts of all splits from each split's counts (JSON documents), as `slices.counts_from_json` of one
    CombineGlobally over every row would give them (keys in the same order)."""
    counts = slices.empty_counts()
    for document in documents:  # copied: merge_counts adopts and then changes the first stats of each key
        slices.merge_counts(counts, slices.counts_from_json(copy.deepcopy(document)), plan.listed_ids)
    return slices.counts_from_json(slices.counts_to_json(counts))


def analysed_rows(rows, flagged):
    """Rows (dicts) as the DataFrame slices and levers read, sorted by id (Beam gives no order). Values keep their
    Python types (object columns): a batch with a missing value must not turn its column's 2 into 2.0."""
    frame = pd.DataFrame(list(rows), dtype=object)
    for column in ["correct", "predicted_label"]:
        if column not in frame:
            frame[column] = None
    frame["correct"] = frame["correct"].astype(object)
    if flagged is not None and len(frame):
        frame["label_issue"] = frame["example_id"].isin(flagged).astype(float)
    return frame.sort_values(["split", "example_id"], kind="stable", ignore_index=True) if len(frame) else frame


def analyse_and_write(counts, sample, plan, settings, flagged, output_uri):
    """The analysis from the slice counts (and the levers from the sample), written to the output folder."""
    analysis = slices.search_counts(counts, plan, settings.slice_settings)
    analysis["metadata_slices"] = slices.metadata_table_of_counts(counts, settings.metadata,
                                                                  settings.slice_settings.confidence)
    sampled = {split: int((sample["split"] == split).sum()) if len(sample) else 0
               for split in (slices.TRAIN_SPLIT, slices.EVAL_SPLIT)}
    analysis["method"]["sample"] = {
        "max_fit_examples": settings.max_fit_examples, "rows": sampled,
        "how": "per split, the rows with the smallest hash of their id: all rows up to the cap; the numeric bins are "
               "the quantiles of its eval rows and the levers fit on it"}
    analysis["signals"] = {"label_issues": flagged is not None, "labeler_agreement": bool(settings.agreement_column)}
    analysis["verdict"] = report.verdict(analysis)
    if flagged is not None and settings.proxy_features:
        analysis["levers"] = lever_advice(sample, settings)
    review = review_rows(analysis["weak_slices"], counts, settings.max_review_examples)
    analysis["review_examples"] = len(review)
    for weak in analysis["weak_slices"]:  # the JSON names a slice's first errors; "errors" counts them all
        weak["example_ids"] = weak["example_ids"][:slices.MAX_LISTED_IDS]
    with fileio.open(os.path.join(output_uri, contract.ANALYSIS_FILE), "w") as f:
        f.write(json.dumps(analysis, indent=2, default=str) + "\n")
    with fileio.open(os.path.join(output_uri, contract.SUMMARY_FILE), "w") as f:
        f.write(report.summary_markdown(analysis))
    text = io.StringIO()
    writer = csv.DictWriter(text, contract.REVIEW_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(review)
    with fileio.open(os.path.join(output_uri, contract.REVIEW_FILE), "w") as f:
        f.write(text.getvalue())
    return analysis


def lever_advice(frame, settings):
    """More data or cleaner labels (levers.advise) with the proxy model on the proxy features, fitted on the sample;
    or why not."""
    train, evaluated = frame[frame["split"] == slices.TRAIN_SPLIT], frame[frame["split"] == slices.EVAL_SPLIT]
    classes = sorted(set(frame["label"].dropna()))
    if train["label"].nunique() < 2:
        return {"skipped": "the training split has fewer than 2 classes"}
    code = {label: i for i, label in enumerate(classes)}

    def features(rows):
        return rows[settings.proxy_features].apply(pd.to_numeric, errors="coerce").to_numpy(float)

    return levers.advise(features(train), train["label"].map(code).to_numpy(), features(evaluated),
                         evaluated["label"].map(code).to_numpy(), train["label_issue"].to_numpy(bool),
                         evaluated["label_issue"].to_numpy(bool), model=settings.proxy_model)


def review_rows(weak_slices, counts, limit):
    """Eval examples the model gets wrong in weak slices whose labels look ambiguous, best slice first: a person
    should look at their labels. Slices diagnosed coverage or model name no label to check. Each slice's counts keep
    at least `limit` of its errors (the smallest ids), so the rows are those of all its errors in id order."""
    listed = {entry[0]: entry for stats in counts["slices"].values() for entry in stats["ids"]}
    rows, seen = [], set()
    for weak in weak_slices:
        if weak["diagnosis"] != "labels":
            continue
        for example_id in weak["example_ids"]:
            if example_id in seen or len(rows) >= limit:
                continue
            seen.add(example_id)
            _, label, predicted = listed[example_id]
            rows.append({"example_id": example_id, "given_label": label, "predicted_label": predicted,
                         "slice": weak["slice"], "diagnosis": weak["diagnosis"], "split": slices.EVAL_SPLIT})
    return rows


def record_verdict(output, analysis):
    """The verdict as custom properties on the artifact, where the runs ledger and the report read it."""
    weak = analysis["weak_slices"]
    output.set_float_custom_property(contract.PROPERTY_EVAL_ACCURACY, analysis["overall"]["accuracy"])
    output.set_int_custom_property(contract.PROPERTY_WEAK_SLICES, len(weak))
    output.set_string_custom_property(contract.PROPERTY_TOP_SLICE, weak[0]["slice"] if weak else "")
    output.set_string_custom_property(contract.PROPERTY_TOP_DIAGNOSIS, weak[0]["diagnosis"] if weak else "")
    output.set_string_custom_property(contract.PROPERTY_VERDICT, analysis["verdict"])
    advice = analysis.get("levers") or {}
    if "lever" in advice:
        output.set_string_custom_property(contract.PROPERTY_LEVER, advice["lever"])
        output.set_string_custom_property(contract.PROPERTY_LEVER_ANSWER, advice["answer"])
    for diagnosis in slices.DIAGNOSES:
        output.set_int_custom_property(f"weak_slices_{diagnosis}",
                                       sum(s["diagnosis"] == diagnosis for s in weak))
