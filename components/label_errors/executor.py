"""LabelErrors executor: a Beam read of only the needed columns of every split, then the finder.

Up to `max_fit_examples` examples (the default path, the same findings as the in-memory finder): the Beam pipeline
reads the records of every split as lists (a file at a time) and decodes the projected columns (id, label, features,
metadata) with the shared decoder (`examples_io.read.decoded_batches_of_splits`), gathers them on one worker
(`GatherUpToCap`, which holds at most the cap) and runs `finder.find_label_errors` there. The same read writes a
cache of those columns (Arrow IPC files in the work folder) and collects the names of the files it wrote. Above the
cap the gathering stops, keeping only the class counts, and `analyse_above_cap` runs `capped`'s bounded method as
four more Beam pipelines over exactly those files, into combines whose state does not grow with the data
(README.md).
"""
import functools
import json
import os
import pickle
from collections import Counter

import apache_beam as beam
from cleanlab import count
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from absl import logging
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.examples_io import read
from components.examples_io.results import Results
from components.examples_io.schema import check_columns, read_schema
from components.examples_io.spill import read_batch, write_batch
from components.examples_io.values import first_values
from components.input_checks import InputError, id_and_label_problems, untrimmed
from components.label_errors import capped, finder
from components.label_errors.contract import (DEFAULT_MAX_FIT_EXAMPLES, ESTIMATED_NOISE_RATE, ISSUE_COLUMNS,
                                               ISSUES_FILE, NUM_ANALYSED, NUM_ISSUES, SKIPPED, SUMMARY_FILE)
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

        read.require_tf_examples(examples, "LabelErrors reads tf.train.Example records only", finder.LabelErrorsError)
        splits = read.split_names(examples)
        say("LabelErrors", f"reading {', '.join(settings.read_columns())} from split(s) {', '.join(splits)}")
        work = os.path.join(output.uri, WORK_FOLDER)
        results = Results(work)
        with self._make_beam_pipeline() as pipeline:
            batches = pipeline | "Read" >> read.decoded_batches_of_splits(examples, splits, schema,
                                                                          settings.read_columns(), DECODED_ROWS)
            _ = (batches | "UpToCap" >> beam.CombineGlobally(GatherUpToCap(settings))
                 | "FindLabelErrors" >> beam.Map(analyse_or_count, settings, output.uri, work))
            # Read once: in case the data is above the cap, the passes of the bounded method read this cache.
            results.collect(CACHED_FILES, batches | "Flat" >> beam.Map(flat_rows, settings)
                            | "Cache" >> beam.Map(write_cached, os.path.join(work, CACHE_FOLDER)))
        if not fileio.exists(os.path.join(output.uri, SUMMARY_FILE)):
            analyse_above_cap(self._make_beam_pipeline, settings, output.uri, work, results[CACHED_FILES])
        if fileio.exists(work):
            fileio.rmtree(work)

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


DECODED_ROWS = 16_384  # examples per decoded record batch, cache file and scoring call


class Settings:
    """What the executor needs from exec_properties, checked against the schema before any data is read."""

    def __init__(self, id_column, label_column, features, metadata_columns, folds, model, seed,
                 on_cannot_run="skip", max_fit_examples=DEFAULT_MAX_FIT_EXAMPLES):
        self.id_column, self.label_column = id_column, label_column
        self.features, self.metadata_columns = features, metadata_columns
        self.folds, self.model, self.seed = folds, model, seed
        self.on_cannot_run = on_cannot_run
        self.max_fit_examples = max_fit_examples
        self.absent_features = []

    @classmethod
    def from_exec_properties(cls, props):
        return cls(props["id_column"], props["label_column"], json.loads(props["features"]),
                   json.loads(props["metadata_columns"]), int(props["folds"]), props["model"], int(props["seed"]),
                   props.get("on_cannot_run") or "skip",
                   int(props.get("max_fit_examples") or DEFAULT_MAX_FIT_EXAMPLES))

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
    features = numeric_features(frame, settings)
    try:
        findings = finder.find_label_errors(features, frame[settings.label_column], folds=settings.folds,
                                            model=settings.model, seed=settings.seed, log=logging.info)
    except finder.LabelErrorsError as e:  # this data cannot be analysed: say why, and let the run go on
        _write_skipped(output_uri, settings, e, len(frame))
        return
    issues = pd.DataFrame({
        "example_id": frame[settings.id_column],
        "given_label": frame[settings.label_column],
        "suggested_label": findings.suggested_label,
        "quality_score": findings.quality_score,
        **{column: frame[column] for column in settings.metadata_columns},
    })[findings.is_issue].sort_values(["quality_score", "example_id"], kind="stable")
    _write(output_uri, issues, findings.summary)


def numeric_features(frame, settings):
    """The feature columns as floats (NaN = no value); text in a feature is an InputError naming it."""
    features = frame[settings.features].apply(pd.to_numeric, errors="coerce").astype(float)
    text = [name for name in settings.features if (features[name].isna() & frame[name].notna()).any()]
    if text:  # coerced to numbers they would be NaN, then imputed: silently wrong findings
        raise InputError(f"LabelErrors: feature(s) {', '.join(map(repr, text))} ([label_errors] features, or "
                         f"[model] numeric_features) hold text in the data, not numbers (e.g. "
                         f"{frame[text[0]][features[text[0]].isna() & frame[text[0]].notna()].iloc[0]!r}); fix "
                         f"the cells (the pre-flight of a local run names their lines), or add their spelling "
                         f"of 'no value' to [data] missing_values")
    return features


def _write_skipped(output_uri, settings, error, examples):
    if settings.on_cannot_run == "fail":
        raise error
    _write(output_uri, pd.DataFrame(columns=ISSUE_COLUMNS + settings.metadata_columns),
           {"skipped": str(error), "counts": {"examples": examples, "analysed": 0, "label_issues": 0}})


def _write(output_uri, issues, summary):
    """label_issues.csv, with every text cell made inert for spreadsheets (components/safe_text.py), and
    summary.json."""
    issues = issues.apply(lambda column: column.map(spreadsheet_cell) if column.dtype == object else column)
    fileio.makedirs(output_uri)
    with fileio.open(os.path.join(output_uri, ISSUES_FILE), "w") as f:
        f.write(issues.to_csv(index=False))
    with fileio.open(os.path.join(output_uri, SUMMARY_FILE), "w") as f:
        f.write(json.dumps(summary, indent=2) + "\n")


# --- above [label_errors] max_fit_examples: capped.py's bounded method, one Beam pipeline per pass -----------------

WORK_FOLDER = "_above_cap_work"  # the cache and the small results between the passes; removed at the end
CACHE_FOLDER = "rows"
CACHED_FILES = "cached_files"  # the names of the cache files that the first pass's committed bundles wrote


class GatherUpToCap(beam.CombineFn):
    """All record batches while they hold at most max_fit_examples rows (then the finder runs on them, as without a
    cap); past the cap it drops them and keeps only the number of rows and of examples per label."""

    def __init__(self, settings):
        self.cap, self.label_column = settings.max_fit_examples, settings.label_column

    def create_accumulator(self):
        return [], 0, Counter()

    def add_input(self, accumulator, batch):
        counted = pc.value_counts(_first_values(batch.column(self.label_column)))
        return self.merge_accumulators([accumulator, ([batch], batch.num_rows, Counter(dict(zip(
            counted.field("values").to_pylist(), counted.field("counts").to_pylist()))))])

    def merge_accumulators(self, accumulators):
        batches, rows, labels = [], 0, Counter()
        for more_batches, more_rows, more_labels in accumulators:
            rows += more_rows
            labels.update(more_labels)
            batches = None if batches is None or more_batches is None or rows > self.cap else batches + more_batches
        return batches, rows, labels

    def extract_output(self, accumulator):
        return accumulator


def analyse_or_count(gathered, settings, output_uri, work):
    batches, rows, labels = gathered
    if batches is not None:
        analyse_and_write(batches, settings, output_uri)
    else:
        _save(work, "labels", (rows, labels))


def _save(work, name, value):
    fileio.makedirs(work)
    with fileio.open(os.path.join(work, name + ".pickle"), "wb") as f:
        f.write(pickle.dumps(value))


def _load(work, name):
    with fileio.open(os.path.join(work, name + ".pickle"), "rb") as f:
        return pickle.loads(f.read())


# Above the cap the passes after the first read a cache, not the Examples: the first pass (the one that gathers up
# to the cap) also writes each record batch's read columns, one value per example (features as float64 where they
# are numbers) plus the sample key, as an Arrow IPC file in the work folder. The later passes then parse no
# TFRecords, decode no Examples and hash no ids; the cache holds no more than the projected columns, on disk.
SAMPLE_KEY_COLUMN = "__label_errors_sample_key__"


def flat_rows(batch, settings):
    """A record batch of the read columns as the cache holds it: one value per example (first_values, ids as text,
    numeric features as float64, NaN where none), the metadata columns as read, and each example's sample key."""
    ids = _id_texts(batch.column(settings.id_column))
    columns = {settings.id_column: ids, settings.label_column: _first_values(batch.column(settings.label_column))}
    for name in settings.present_features():
        column = batch.column(name)
        columns[name] = (pa.array(_first_floats(column)) if _is_numeric_list(column) else
                         pa.array(first_values(column)))
    for name in settings.metadata_columns:
        columns.setdefault(name, batch.column(name))
    columns[SAMPLE_KEY_COLUMN] = pa.array(capped.sample_keys(ids, settings.seed), pa.uint64())
    return pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))


def _first_of_lists(column):
    """The first value of each row of an Arrow list column, null where it has none."""
    lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy()
    starts = np.cumsum(lengths) - lengths
    return pc.list_flatten(column).take(pa.array(starts, pa.int64(), mask=lengths == 0))


def _first_values(column):
    """`first_values(column)` as an Arrow array, without a Python object per value: bytes as UTF-8 text (through
    first_values where they are not valid UTF-8), floats as float64, integers as they are."""
    first = _first_of_lists(column)
    if pa.types.is_binary(first.type) or pa.types.is_large_binary(first.type):
        try:
            return first.cast(pa.string())
        except pa.ArrowInvalid:  # first_values escapes the bytes that are not UTF-8
            return pa.array(first_values(column), pa.string())
    return first.cast(pa.float64()) if pa.types.is_floating(first.type) else first


def _id_texts(column):
    """`str` of each example's first id value (None where it has none), as an Arrow string array."""
    first = _first_values(column)
    if pa.types.is_string(first.type) or pa.types.is_integer(first.type):
        return first.cast(pa.string())
    return pa.array([None if i is None else str(i) for i in first_values(column)], pa.string())


def write_cached(rows, folder):
    """One cached record batch as a scratch file (`examples_io.spill`); returns the file's name. Only the names that
    committed bundles emitted are read: a bundle retried after it wrote (a lost worker) may batch its records
    otherwise, and the failed attempt's files stay in the folder, unread, until the work folder is removed."""
    return os.path.basename(write_batch(rows, folder))


def read_cached(pipeline, folder, names):
    """The rows of the named cache files, one file (at most DECODED_ROWS rows) to an element."""
    return (pipeline | "CachedFiles" >> beam.Create([os.path.join(folder, name) for name in sorted(names)])
            | "ReadCached" >> beam.Map(read_batch))


def _is_numeric_list(column):
    return pa.types.is_floating(column.type.value_type) or pa.types.is_integer(column.type.value_type)


def _first_floats(column):
    """The first value of each row of a numeric Arrow list column as float64, NaN where it has none (what
    `first_values` and `numeric_features` give, without a Python object per value)."""
    return _first_of_lists(column).cast(pa.float64()).to_numpy(zero_copy_only=False)


class Analysed:
    """The classes and features of the bounded method, and what a cached record batch holds of them."""

    def __init__(self, settings, classes, features):
        self.settings, self.classes, self.features = settings, classes, features
        self.untrimmed_classes = bool(untrimmed(pa.array([str(name) for name in classes], pa.string())))

    def rows(self, rows):
        """(positions of the analysed rows, those labelled with an analysed class; their ids; their class indices;
        their feature matrix; their sample keys) of a cached record batch (`flat_rows`)."""
        settings = self.settings
        y = self.class_indices(rows.column(settings.label_column))
        positions = np.nonzero(y >= 0)[0]
        ids = rows.column(settings.id_column).take(pa.array(positions, pa.int64())).cast(pa.string())
        columns = [rows.column(name) for name in self.features]
        if all(pa.types.is_floating(column.type) for column in columns):
            x = np.column_stack([column.to_numpy(zero_copy_only=False)[positions] for column in columns] or
                                [np.empty((len(positions), 0))])
        else:  # text in a feature column: numeric_features names it
            frame = pd.DataFrame({name: rows.column(name).take(pa.array(positions, pa.int64())).to_pylist()
                                  for name in settings.present_features()})
            for name in settings.absent_features:
                frame[name] = np.nan
            x = numeric_features(frame, settings)[self.features].to_numpy(float)
        keys = rows.column(SAMPLE_KEY_COLUMN).to_numpy()[positions]
        return positions, ids, y[positions], x, keys

    def class_indices(self, labels):
        """Each label's index among the analysed classes, -1 for any other (no label, a skipped class)."""
        if pa.types.is_null(labels.type):
            return np.full(len(labels), -1, np.int64)
        found = pc.index_in(labels, value_set=pa.array(self.classes).cast(labels.type))
        return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)

    def check_ids(self, ids, y):
        """Empty or repeated ids, and labels with stray whitespace, as an InputError (id_and_label_problems, run
        only when a look at the whole arrays finds one)."""
        suspect = (self.untrimmed_classes or ids.null_count > 0 or pc.any(pc.equal(ids, "")).as_py()
                   or pc.count_distinct(ids).as_py() < len(ids))
        problems = suspect and id_and_label_problems(
            ids.to_pylist(), [self.classes[label] for label in y], f"[data] id_column {self.settings.id_column!r}",
            f"[labels] label_column {self.settings.label_column!r}")
        if problems:
            raise InputError(f"LabelErrors: {'; '.join(problems)}; fix the data")


def sample_rows(rows, analysed):
    """{class index: [(sample keys, ids, features)]} of the analysed rows of a cached element: what
    SmallestPerClass takes. Also where ids are checked above the cap (per element)."""
    _, ids, y, x, keys = analysed.rows(rows)
    analysed.check_ids(ids, y)
    return {int(label): [(keys[y == label], ids.filter(pa.array(y == label)), x[y == label])]
            for label in np.unique(y)}


class SmallestPerClass(beam.CombineFn):
    """Per class, the `quota` rows with the smallest (sample key, id): the deterministic stratified sample. The
    rows are held as arrays (keys, ids, features), per class at most twice its quota."""

    def __init__(self, quota_per_index):
        self.quota = quota_per_index

    def create_accumulator(self):
        return {}

    def add_input(self, accumulator, rows):
        return self.merge_accumulators([accumulator, rows])

    def merge_accumulators(self, accumulators):
        merged = {}
        for accumulator in accumulators:
            for label, parts in accumulator.items():
                merged.setdefault(label, []).extend(parts)
        for label, parts in merged.items():  # trim now and then: at most twice the quota is held
            if len(parts) > 1 and sum(len(keys) for keys, _, _ in parts) > 2 * self.quota[label]:
                merged[label] = [_smallest(parts, self.quota[label])]
        return merged

    def extract_output(self, accumulator):
        return {label: _smallest(parts, self.quota[label]) for label, parts in accumulator.items()}


def _smallest(parts, n):
    """The n rows with the smallest (key, id) of the parts (keys, ids, features), as one part."""
    keys, ids, x = (np.concatenate([keys for keys, _, _ in parts]), pa.concat_arrays([ids for _, ids, _ in parts]),
                    np.concatenate([x for _, _, x in parts]))
    if len(keys) > n:
        cut = np.partition(keys, n - 1)[n - 1]
        below, tied = np.nonzero(keys < cut)[0], np.nonzero(keys == cut)[0]
        by_id = np.argsort(ids.take(pa.array(tied, pa.int64())).to_numpy(zero_copy_only=False), kind="stable")
        kept = np.sort(np.concatenate([below, tied[by_id][:n - len(below)]]))
        keys, ids, x = keys[kept], ids.take(pa.array(kept, pa.int64())), x[kept]
    return keys, ids, x


class Scored(beam.DoFn):
    """`score(analysed, models, *args, rows)` of each cached element, with the fold models read from the work folder
    once per DoFn instance: they hold the sampled examples' keys and ids (megabytes), which Beam would otherwise
    pickle and bz2-compress into every step that carries them (and Dataflow caps a job's graph at 10 MB)."""

    def __init__(self, work, score, analysed, *args):
        self.work, self.score, self.analysed, self.args = work, score, analysed, args
        self.models = None

    def setup(self):
        self.models = _load(self.work, "models")

    def process(self, rows):
        yield self.score(self.analysed, self.models, *self.args, rows)


class BatchStatistics(beam.CombineFn):
    """The sum of per-element statistics, dicts of arrays or lists of ints (capped.py): lifted, so only these K x K
    sized sums cross between workers."""

    def create_accumulator(self):
        return None

    def add_input(self, accumulator, statistics):
        return self.merge_accumulators([accumulator, statistics])

    def merge_accumulators(self, accumulators):
        present = [a for a in accumulators if a is not None]
        return functools.reduce(capped.add_statistics, present) if present else None

    def extract_output(self, accumulator):
        return accumulator


def sample_table(sample, classes, features):
    """The sample (SmallestPerClass's output) as the frame FoldModels.fit takes: label, key, id and the features."""
    labels = sorted(sample)
    keys, ids, x = (np.concatenate([sample[label][0] for label in labels]),
                    pa.concat_arrays([sample[label][1] for label in labels]).to_pylist(),
                    np.concatenate([sample[label][2] for label in labels]))
    return pd.DataFrame({"label": [classes[label] for label in labels for _ in range(len(sample[label][0]))],
                         "key": keys, "id": ids, **{name: x[:, j] for j, name in enumerate(features)}})


def _probabilities(analysed, models, rows):
    positions, ids, y, x, keys = analysed.rows(rows)
    return positions, ids, y, x, models.predict(ids, x, keys)


def _margins(analysed, models, rows):
    _, _, y, _, probs = _probabilities(analysed, models, rows)
    return capped.margin_statistics(y, probs)


def _confident(analysed, models, thresholds, rows):
    _, _, y, _, probs = _probabilities(analysed, models, rows)
    return capped.confident_counts(y, probs, thresholds)


def _flagged(analysed, models, cutoffs, rows):
    """(statistics: flagged per class, missing values per feature; the flagged rows as CSV rows)."""
    positions, ids, y, x, probs = _probabilities(analysed, models, rows)
    flagged = np.nonzero(capped.flag(y, probs, cutoffs))[0]
    quality = capped.quality_scores(y, probs)
    suggested = probs.argmax(axis=1)
    k = len(analysed.classes)
    statistics = {"flagged": np.bincount(y[flagged], minlength=k).astype(np.int64),
                  "missing": [int(n) for n in np.isnan(x).sum(axis=0)]}
    at, at_analysed = pa.array(positions[flagged], pa.int64()), pa.array(flagged, pa.int64())
    metadata = [_values(rows.column(c).take(at)) for c in analysed.settings.metadata_columns]
    flagged_ids = ids.take(at_analysed).to_pylist()
    rows = [(float(quality[i]), flagged_ids[n], analysed.classes[y[i]], analysed.classes[suggested[i]],
             *(values[n] for values in metadata)) for n, i in enumerate(flagged)]
    return statistics, rows


def _values(column):
    """Python values of a cached column: first values of a list column as read, else the flat values."""
    return first_values(column) if pa.types.is_large_list(column.type) or pa.types.is_list(column.type) else (
        column.to_pylist())


def _run(make_pipeline, build):
    with make_pipeline() as pipeline:
        build(pipeline)


def analyse_above_cap(make_pipeline, settings, output_uri, work, cached_files):
    """capped.py's method in four passes over the cache of the read columns (the files named in `cached_files`);
    writes label_issues.csv (the worst max_fit_examples flagged examples) and summary.json (every count).

    The combines run without defaults: a default makes a combine's result a side input, which the FnApiRunner
    sizes object by object (objsize) in every bundle that reads it (13 s of CPU for the sample at 1M rows)."""
    rows, labels = _load(work, "labels")
    cached_rows = functools.partial(read_cached, folder=os.path.join(work, CACHE_FOLDER), names=cached_files)
    cap, folds = settings.max_fit_examples, settings.folds
    say("LabelErrors", f"{rows} examples, above [label_errors] max_fit_examples {cap}: fitting on a stratified "
                       f"sample, scoring every example in Beam")
    unlabelled = sum(n for name, n in labels.items() if finder._is_missing_label(name))
    sizes = {name: n for name, n in labels.items() if not finder._is_missing_label(name)}
    small = pd.Series({name: n for name, n in sizes.items() if n < folds}, dtype=int)
    classes = sorted(name for name, n in sizes.items() if n >= folds)
    try:
        if len(classes) < 2:
            raise finder.LabelErrorsError(f"need at least 2 classes with at least {folds} examples each; class "
                                          f"sizes: {sizes}")
        quota = capped.quotas({name: sizes[name] for name in classes}, cap, folds)
        analysed = Analysed(settings, classes, settings.present_features())

        # Pass 1: the sample; the fold models are fitted on it here (it holds at most max_fit_examples rows).
        _run(make_pipeline, lambda p: (
            cached_rows(p) | beam.Map(sample_rows, analysed)
            | beam.CombineGlobally(SmallestPerClass([quota[name] for name in classes])).without_defaults()
            | beam.Map(lambda sample: _save(work, "sample", sample))))
        table = sample_table(_load(work, "sample"), classes, analysed.features)
        empty = settings.absent_features + [name for name in analysed.features if table[name].isna().all()]
        if empty:
            logging.info(f"label errors: excluding feature(s) with no values (in the sample): {', '.join(empty)}")
        used = [name for name in analysed.features if name not in empty]
        if not used:
            raise finder.LabelErrorsError(f"none of the features {settings.features} has any value; configure "
                                          f"numeric features that the data has")
    except finder.LabelErrorsError as e:
        _write_skipped(output_uri, settings, e, rows)
        return
    say("LabelErrors", f"fitting {folds} {settings.model} fold models on a sample of {len(table)} examples")
    models = capped.FoldModels.fit(table, classes=classes, features=used, folds=folds, model=settings.model,
                                   seed=settings.seed)
    _save(work, "models", models)
    analysed = Analysed(settings, classes, used)

    # Pass 2: per-class confident thresholds and the margin histograms.
    _run(make_pipeline, lambda p: (
        cached_rows(p) | beam.ParDo(Scored(work, _margins, analysed))
        | beam.CombineGlobally(BatchStatistics()).without_defaults()
        | beam.Map(lambda statistics: _save(work, "margins", statistics))))
    margins = _load(work, "margins")
    if int(margins["counts"].sum()) != sum(sizes[name] for name in classes):  # the cache is the committed reads
        raise RuntimeError(f"LabelErrors: the cached rows ({int(margins['counts'].sum())}) are not the examples "
                           f"of the analysed classes ({sum(sizes[name] for name in classes)}): a bug, please "
                           f"report it")
    thresholds = capped.confident_thresholds(margins)

    # Pass 3: the confident joint; then cleanlab's calibration and prune counts give each cell's margin cutoff.
    _run(make_pipeline, lambda p: (
        cached_rows(p) | beam.ParDo(Scored(work, _confident, analysed, thresholds))
        | beam.CombineGlobally(BatchStatistics()).without_defaults()
        | beam.Map(lambda counts: _save(work, "joint", counts))))
    calibrated = capped.calibrated_joint(_load(work, "joint"))
    cutoffs = capped.margin_cutoffs(margins["histogram"], capped.prune_counts(calibrated))

    # Pass 4: flag every example; count them all, keep the worst max_fit_examples for the CSV.
    def flag_pass(p):
        flagged = cached_rows(p) | beam.ParDo(Scored(work, _flagged, analysed, cutoffs))
        _ = (flagged | "Statistics" >> beam.Map(lambda pair: pair[0])
             | beam.CombineGlobally(BatchStatistics()).without_defaults()
             | "SaveCounts" >> beam.Map(lambda statistics: _save(work, "flagged", statistics)))
        _ = (flagged | "Rows" >> beam.FlatMap(lambda pair: pair[1])
             | beam.combiners.Top.Of(cap, key=lambda row: (row[0], row[1]), reverse=True).without_defaults()
             | "SaveRows" >> beam.Map(lambda worst: _save(work, "worst", worst)))
    _run(make_pipeline, flag_pass)
    counts = _load(work, "flagged")
    flagged_any = fileio.exists(os.path.join(work, "worst.pickle"))  # without defaults: no flagged row, no file
    worst = sorted(_load(work, "worst") if flagged_any else [], key=lambda row: (row[0], row[1]))
    joint = count.estimate_joint(labels=None, pred_probs=None, confident_joint=calibrated)
    summary = finder.summarise(joint, classes, margins["counts"], counts["flagged"], folds, settings.model,
                               settings.seed, used, empty, missing=pd.Series(counts["missing"], index=used),
                               unlabelled=unlabelled, skipped=small, n=rows)
    summary["method"]["finder"] = ("components/label_errors/capped.py: cleanlab's prune_by_noise_rate with "
                                   "bounded memory (above max_fit_examples)")
    summary["above_cap"] = {
        "max_fit_examples": cap, "fitted_on": len(table),
        "sampled_per_class": [{"class": finder._json_label(name), "examples": quota[name]} for name in classes],
        "label_issues_written": len(worst),
        "label_issues_file": f"the {len(worst)} flagged examples with the lowest quality_score (ties by "
                             f"example_id) of {int(counts['flagged'].sum())}; at most max_fit_examples rows"}
    issues = pd.DataFrame(worst, columns=["quality_score", "example_id", "given_label", "suggested_label",
                                          *settings.metadata_columns])
    _write(output_uri, issues[ISSUE_COLUMNS + settings.metadata_columns], summary)
