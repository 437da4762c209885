"""LabelErrors executor: a Beam read of only the needed columns of every split, then the finder on one worker.

Cross-validation needs every example at once, so this component is NOT streaming: the Beam pipeline reads the
projected columns (id, label, features, metadata) with tfx_bsl, gathers them into one list on one worker
(`beam.combiners.ToList`), and there runs `finder.find_label_errors` and writes the two output files. Memory on that
worker grows linearly with the number of examples (see README.md for the figure per example).
"""
import json
import os

import apache_beam as beam
import numpy as np
import pandas as pd
import pyarrow as pa
from absl import logging
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.examples_io import read
from components.examples_io.schema import check_columns, read_schema
from components.examples_io.values import first_values
from components.input_checks import InputError, id_and_label_problems
from components.label_errors import finder
from components.label_errors.contract import (ESTIMATED_NOISE_RATE, ISSUE_COLUMNS, ISSUES_FILE, NUM_ANALYSED,
                                               NUM_ISSUES, SKIPPED, SUMMARY_FILE)
from components.progress import say, warn
from components.safe_text import spreadsheet_cell


class Executor(base_beam_executor.BaseBeamExecutor):
    """Writes label_issues.csv and summary.json to the LabelIssues artifact and sets its custom properties."""

    def Do(self, input_dict, output_dict, exec_properties):
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        schema = read_schema(input_dict["schema"])
        output = artifact_utils.get_single_instance(output_dict["label_issues"])
        settings = Settings.from_exec_properties(exec_properties)
        in_schema = {feature.name for feature in schema.feature}
        settings.check_columns(in_schema)
        absent = [name for name in settings.features if name not in in_schema]
        if absent:
            warn("LabelErrors", f"feature(s) {absent} are not in the schema (no values in the data, or a "
                                "misspelt name); they are excluded")
        settings.absent_features = absent

        splits = read.split_names(examples)
        say("LabelErrors", f"reading {', '.join(settings.read_columns())} from split(s) {', '.join(splits)}")
        with self._make_beam_pipeline() as pipeline:
            batches = [pipeline | f"Read[{split}]" >> read.record_batches(
                examples, split, schema, "LabelErrors", columns=settings.read_columns()) for split in splits]
            _ = (batches | "Flatten" >> beam.Flatten()
                 | "AllInOneList" >> beam.combiners.ToList()
                 | "FindLabelErrors" >> beam.Map(analyse_and_write, settings, output.uri))

        with fileio.open(os.path.join(output.uri, SUMMARY_FILE), "r") as f:
            summary = json.load(f)
        output.set_int_custom_property(NUM_ISSUES, summary["counts"]["label_issues"])
        output.set_int_custom_property(NUM_ANALYSED, summary["counts"]["analysed"])
        output.set_string_custom_property(SKIPPED, summary.get("skipped", ""))
        if summary.get("skipped"):
            say("LabelErrors", f"skipped: {summary['skipped']}; wrote {output.uri}")
            return
        output.set_float_custom_property(ESTIMATED_NOISE_RATE, summary["estimated_noise_rate"])
        say("LabelErrors", f"{summary['counts']['label_issues']} likely label error(s) among "
                           f"{summary['counts']['analysed']} examples; estimated noise rate "
                           f"{summary['estimated_noise_rate']:.1%}; wrote {output.uri}")


class Settings:
    """What the executor needs from exec_properties, checked against the schema before any data is read."""

    def __init__(self, id_column, label_column, features, metadata_columns, folds, model, seed,
                 on_cannot_run="skip"):
        self.id_column, self.label_column = id_column, label_column
        self.features, self.metadata_columns = features, metadata_columns
        self.folds, self.model, self.seed = folds, model, seed
        self.on_cannot_run = on_cannot_run
        self.absent_features = []

    @classmethod
    def from_exec_properties(cls, props):
        return cls(props["id_column"], props["label_column"], json.loads(props["features"]),
                   json.loads(props["metadata_columns"]), int(props["folds"]), props["model"], int(props["seed"]),
                   props.get("on_cannot_run") or "skip")

    def check_columns(self, in_schema):
        check_columns(in_schema, {"[labels] label_column": [self.label_column], "[data] id_column": [self.id_column],
                                  "[labels] metadata_columns": self.metadata_columns}, error=finder.LabelErrorsError)
        if self.model not in finder.MODELS:
            raise finder.LabelErrorsError(f"unknown model {self.model!r} ([label_errors] model); "
                             f"choose one of {', '.join(finder.MODELS)}")

    def present_features(self):
        return [f for f in self.features if f not in self.absent_features]

    def read_columns(self):
        return list(dict.fromkeys([self.id_column, self.label_column, *self.present_features(),
                                   *self.metadata_columns]))


def examples_frame(batches, settings):
    """The projected record batches as one DataFrame, one row per example, one column per read column."""
    table = pa.Table.from_batches(batches)
    frame = pd.DataFrame({name: first_values(table.column(name)) for name in settings.read_columns()})
    for name in settings.absent_features:  # reported by the finder as a feature with no values
        frame[name] = np.nan
    return frame


def analyse_and_write(batches, settings, output_uri):
    """Runs the finder on every example and writes label_issues.csv (worst first) and summary.json."""
    # Sorted by id: Beam gives no order, and the fold assignment depends on it; this keeps the output reproducible.
    frame = examples_frame(batches, settings).sort_values(settings.id_column, kind="stable", ignore_index=True)
    problems = id_and_label_problems(frame[settings.id_column], frame[settings.label_column],
                                     f"[data] id_column {settings.id_column!r}",
                                     f"[labels] label_column {settings.label_column!r}")
    if problems:  # checked before the run by the pre-flight; here for data that came another way (Kubeflow)
        raise InputError(f"LabelErrors: {'; '.join(problems)}; fix the data")
    features = frame[settings.features].apply(pd.to_numeric, errors="coerce").astype(float)
    text = [name for name in settings.features if (features[name].isna() & frame[name].notna()).any()]
    if text:  # coerced to numbers they would be NaN, then imputed: silently wrong findings
        raise InputError(f"LabelErrors: feature(s) {', '.join(map(repr, text))} ([label_errors] features, or "
                         f"[model] numeric_features) hold text in the data, not numbers (e.g. "
                         f"{frame[text[0]][features[text[0]].isna() & frame[text[0]].notna()].iloc[0]!r}); fix "
                         f"the cells (the pre-flight of a local run names their lines), or add their spelling "
                         f"of 'no value' to [data] missing_values")
    try:
        findings = finder.find_label_errors(features, frame[settings.label_column], folds=settings.folds,
                                            model=settings.model, seed=settings.seed, log=logging.info)
    except finder.LabelErrorsError as e:  # this data cannot be analysed: say why, and let the run go on
        if settings.on_cannot_run == "fail":
            raise
        _write(output_uri, pd.DataFrame(columns=ISSUE_COLUMNS + settings.metadata_columns),
               {"skipped": str(e), "counts": {"examples": len(frame), "analysed": 0, "label_issues": 0}})
        return
    issues = pd.DataFrame({
        "example_id": frame[settings.id_column],
        "given_label": frame[settings.label_column],
        "suggested_label": findings.suggested_label,
        "quality_score": findings.quality_score,
        **{column: frame[column] for column in settings.metadata_columns},
    })[findings.is_issue].sort_values(["quality_score", "example_id"], kind="stable")
    _write(output_uri, issues, findings.summary)


def _write(output_uri, issues, summary):
    """label_issues.csv, with every text cell made inert for spreadsheets (components/safe_text.py), and
    summary.json."""
    issues = issues.apply(lambda column: column.map(spreadsheet_cell) if column.dtype == object else column)
    fileio.makedirs(output_uri)
    with fileio.open(os.path.join(output_uri, ISSUES_FILE), "w") as f:
        f.write(issues.to_csv(index=False))
    with fileio.open(os.path.join(output_uri, SUMMARY_FILE), "w") as f:
        f.write(json.dumps(summary, indent=2) + "\n")
