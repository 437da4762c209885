"""Beam executor of the Conflicts component: filter, spill, parse the candidates, bucket, compare, group, write.

One read of the examples: every split as one source of lists of serialized records (`read.record_lists_of_splits`;
no per-split streams to flatten, which FnApiRunner would materialise whole), each list decoded to an Arrow record
batch of the columns Conflicts needs, with the schema's types (`read.ExampleDecoder`), that keeps its split's name
(conflicts.csv names it). Each record batch is read with numpy (`candidates.py`): its feature counts, and its
labelled examples' buckets as hashes, added with their labels' hashes to a fixed-size Bloom filter of (bucket,
label) pairs; the batches are spilled to Arrow IPC files. The filter is never a Beam
element (FnApiRunner holds every copy of one in memory): each bundle's filter lives in its DoFn and goes to a scratch
file, and the committed bundles' files are OR-ed into one file, which is what the next pass reads. Once it is
complete, each spilled file is read back and its candidates, the examples one of whose buckets holds another label,
spilled again. Their buckets in finer cells (FINE_CELL_TOLERANCES) make a second filter, sized by their count, and
only its candidates are parsed in Python. Every conflicting pair shares a bucket at any cell width, and the filters
have false positives only, so the candidates hold every conflict.

Only candidates go on: identical rows (same label, same compared values) are collapsed into one distinct row with a
count, distinct rows are bucketed and compared (a cell of 100,000 exact copies costs one comparison per distinct
partner, not 10^10; each pair of distinct rows stands for count_a * count_b example pairs), the pairs grouped
(`ConflictGroups`), and the candidates (parsed again from the spill) in a group written as CSV lines, which
`examples_io.sorted_text` merges into conflicts.csv sorted by (group, example id). The shuffled elements are bytes
and ints (FnApiRunner keeps shuffled values decoded). What is held grows with the candidates and conflicts, never
with the examples; the filter has a fixed size (README: what is held where). `matching.py` explains why the buckets
miss no matching pair.
"""
import csv
import hashlib
import io
import json
import os
import pickle
from collections import Counter
from typing import NamedTuple, Optional

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows
import numpy as np
import pyarrow as pa
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.conflicts.contract import (CONFLICT_COLUMNS, CONFLICTS_FILE, COUNT_PROPERTIES,
                                            EXCLUDED_ALL_MISSING, LABEL_PAIRS, SKIPPED, SUMMARY_FILE)
from components.conflicts.candidates import (FINE_CELL_TOLERANCES, Column, LabelFilter, bucket_filter_bits,
                                             bucket_hashes, filter_bits)
from components.conflicts.matching import CELL_TOLERANCES, Matcher, UnionFind, pairs_in_bucket
from components.examples_io import read
from components.examples_io.artifacts import scratch_dir
from components.examples_io.results import Results
from components.examples_io.schema import check_columns, projected_schema, read_schema
from components.examples_io.spill import read_batch, write_batch
from components.examples_io.sorted_text import WriteKeyedLines, remove_keyed_lines, write_sorted
from components.examples_io.values import decoded
from components.input_checks import InputError
from components.progress import say
from components.safe_text import spreadsheet_row


class ConflictsError(InputError):
    """Input or configuration the user must fix; the message names the column or key."""


def _several_values(name, count, example_id):
    return ConflictsError(f"column {name!r} has {count} values in example {example_id!r}; conflicts compare single "
                          f"values: add {name!r} to [conflicts] exclude")


def parse_rows(batch, split, config):
    """(example_id, label, features, split, metadata) of each labelled example with an id in an Arrow record batch
    (`read.ExampleDecoder`'s: int64, float32 or bytes lists, null where an example has no value): the Python values
    a parsed tf.Example gives (float32 values exactly; NaN or inf as missing). Each column is read with numpy, then
    the records are put together per example: used on the candidates only. A column with several values in an
    example raises, at the first such example (its id, label, compared columns by name, then metadata)."""
    id_column, label_column, metadata_columns = config["id_column"], config["label_column"], config["metadata_columns"]
    names = sorted(batch.schema.names)
    compared = [name for name in names if name not in config["excluded"]]
    columns = {name: Column(batch.column(batch.schema.get_field_index(name)), batch.num_rows)
               for name in {id_column, label_column, *metadata_columns, *compared} if name in names}
    absent = Column(pa.nulls(batch.num_rows, pa.list_(pa.null())), batch.num_rows)
    ids, labels = columns.get(id_column, absent), columns.get(label_column, absent)
    labelled = ids.present & labels.present
    checked = [(id_column, ids.counts, True), (label_column, labels.counts, True),
               *((name, columns[name].counts, True) for name in compared),
               *((name, columns.get(name, absent).counts, labelled) for name in metadata_columns)]
    several = np.zeros(batch.num_rows, bool)
    for _, counts, where in checked:
        several |= (counts > 1) & where
    if several.any():
        row = int(np.argmax(several))
        name, counts, _ = next(c for c in checked if c[1][row] > 1 and (c[2] is True or c[2][row]))
        example_id = "?" if name == id_column or not ids.present[row] else str(ids.python_values()[row])
        raise _several_values(name, int(counts[row]), example_id)
    rows = np.flatnonzero(labelled)
    features = zip(*(columns[name].python_values()[rows].tolist() for name in compared)) if compared \
        else ((),) * len(rows)
    metadata = zip(*(columns.get(name, absent).python_values()[rows].tolist() for name in metadata_columns)) \
        if metadata_columns else ((),) * len(rows)
    for example_id, label, values, meta in zip(ids.python_values()[rows].tolist(),
                                               labels.python_values()[rows].tolist(), features, metadata):
        yield (str(example_id), str(label), tuple((name, value) for name, value in zip(compared, values)
                                                  if value is not None), split, tuple(meta))


class BatchRows:
    """A record batch's columns read once with numpy (`candidates.Column`): its FeatureStats accumulator, its
    labelled examples with an id (`rows`, an index array), their labels' hashes (`label_hashes`, uint64; the set of
    them, `labels`) and their bucket hashes. A column with several values in an example the parse would read raises
    the parse's error at that example. Tolerant cells are `cell_tolerances` tolerances wide."""

    def __init__(self, batch, config, matcher, cell_tolerances=CELL_TOLERANCES):
        names = sorted(batch.schema.names)
        read = {config["id_column"], config["label_column"], *config["metadata_columns"]}
        column = {name: Column(batch.column(batch.schema.get_field_index(name)), batch.num_rows) for name in names
                  if name in read or name not in config["excluded"]}
        absent = Column(pa.nulls(batch.num_rows, pa.list_(pa.null())), batch.num_rows)
        ids, labels = column.get(config["id_column"], absent), column.get(config["label_column"], absent)
        compared = {name: column[name] for name in names if name not in config["excluded"]}
        self.rows = np.flatnonzero(ids.present & labels.present)
        several = np.zeros(batch.num_rows, bool)
        for checked in (ids, labels, *compared.values()):
            several |= checked.counts > 1
        for name in config["metadata_columns"]:
            several[self.rows] |= column.get(name, absent).counts[self.rows] > 1
        if several.any():
            list(parse_rows(batch.slice(int(np.argmax(several)), 1), "", config))  # raises the parse's error
        self.stats = FeatureStats().create_accumulator()
        self.stats["examples"] = batch.num_rows
        self.stats["unlabelled"] = int((~labels.present).sum())
        self.stats["without_id"] = int((~ids.present).sum())
        for name, values in compared.items():
            if values.present.any():
                self.stats["present"][(name, values.text)] = int(values.present.sum())
        self.label_hashes, self.labels = labels.text_hashes(self.rows)
        self.example, self.buckets = bucket_hashes(compared, self.rows, matcher, cell_tolerances)


class BundleFilter(beam.DoFn):
    """Adds the (bucket, label) pairs of its inputs to one `LabelFilter` per bundle, held by the DoFn, never a Beam
    element (FnApiRunner would hold every copy of a Beam element in memory: as an accumulator, a flattened input and
    a side input). At the bundle's end it writes the filter to a content-named scratch file and emits
    `FilterPart`(path, bits, FeatureStats accumulator, labels seen), so only committed bundles' files count (a
    retried bundle's file is never read; OR-ing a filter twice would change nothing anyway)."""

    def __init__(self, folder):
        self.folder = folder

    def start_bundle(self):
        self._filter, self._stats = None, FeatureStats().create_accumulator()

    def add(self, rows, bits):
        """Adds a `BatchRows`' buckets with their labels, and its FeatureStats."""
        if self._filter is None:
            self._filter = LabelFilter(bits)
        self._filter.add(rows.buckets, rows.label_hashes[rows.example], rows.labels)
        self._stats = FeatureStats().add_input(self._stats, rows.stats)

    def finish_bundle(self):
        if self._filter is not None:
            part = FilterPart(write_filter(self._filter, self.folder), self._filter.bits, self._stats,
                              self._filter.labels)
            self._filter = None
            yield GlobalWindows.windowed_value(part)


class FilterPart(NamedTuple):
    """A filter in a scratch file (path None: nothing added) with what Beam passes on about it: all small."""
    path: Optional[str]  # a tuple of paths while `FilterParts` gathers them
    bits: Optional[int]
    stats: dict  # FeatureStats accumulator of the examples it holds
    labels: set  # the label hashes seen


def write_filter(label_filter, folder):
    """The filter's words in a content-named scratch file (zstd-compressed Arrow, `spill.write_batch`: a retried
    bundle that adds alike rewrites the same file, no reader sees a partial one); its path, None when empty."""
    if label_filter.words is None:
        return None
    return write_batch(pa.RecordBatch.from_arrays([pa.array(label_filter.words)], names=["words"]), folder,
                       compression="zstd")


def read_filter(part):
    """The `LabelFilter` of a `FilterPart` (its words read-only)."""
    label_filter = LabelFilter(part.bits)
    label_filter.labels = set(part.labels)
    if part.path is not None:
        label_filter.words = read_batch(part.path).column(0).to_numpy()
    return label_filter


class FilterParts(beam.CombineFn):
    """The `FilterPart`s of all bundles as one (paths listed, FeatureStats and labels merged): small, a combine."""

    def create_accumulator(self):
        return FilterPart((), None, FeatureStats().create_accumulator(), set())

    def add_input(self, acc, part):
        return self.merge_accumulators([acc, part._replace(path=(part.path,) if part.path else ())])

    def merge_accumulators(self, accumulators):
        accumulators = list(accumulators)
        return FilterPart(tuple(sorted({path for acc in accumulators for path in acc.path})),
                          max((acc.bits for acc in accumulators if acc.bits is not None), default=None),
                          FeatureStats().merge_accumulators([acc.stats for acc in accumulators]),
                          set().union(*(acc.labels for acc in accumulators)))

    def extract_output(self, acc):
        return acc


def merge_filter_files(parts, folder):
    """The `FilterPart` of one file holding the OR of the parts' files, read one at a time (so it holds the merged
    filter and one part)."""
    merged = LabelFilter(parts.bits)
    merged.labels = set(parts.labels)
    for path in parts.path:
        merged.merge(read_filter(parts._replace(path=path)))
    return parts._replace(path=write_filter(merged, folder))


SPILL_ROWS = 16_384  # records per read list and rows per spilled file: few files and numpy calls, a few MB held


class SpillGatherer:
    """Gathers record batches (all of one Arrow schema) per split and spills each `SPILL_ROWS`
    rows as one lz4-compressed Arrow IPC file (`spill.write_batch`: content-named, so a retried bundle that gathers
    alike rewrites the same file). `add` and `flush` return the (split, path) of the files written; a DoFn emits
    them, so only committed bundles' files are read."""

    def __init__(self, folder):
        self.folder, self._pending = folder, {}

    def add(self, split, batch):
        pending = self._pending.setdefault(split, [])
        pending.append(batch)
        if sum(part.num_rows for part in pending) >= SPILL_ROWS:
            return [self._write(split)]
        return []

    def flush(self):
        return [self._write(split) for split in list(self._pending)]

    def _write(self, split):
        batches = self._pending.pop(split)
        batch = batches[0] if len(batches) == 1 else pa.Table.from_batches(batches).combine_chunks().to_batches()[0]
        return split, write_batch(batch, self.folder, compression="lz4")


class AddToFilter(BundleFilter):
    """(split, list of serialized tf.Examples) -> their id, label, metadata and compared columns decoded (`decode`, a
    `read.ExampleDecoder`), their (bucket, label) pairs and FeatureStats added to the bundle's filter; and, tagged
    "spilled", (split, path) of files of those columns (`SpillGatherer`), which the second pass reads instead of
    reading and decoding the examples again."""

    def __init__(self, config, matcher, decode, spill_folder, filter_folder, bits):
        super().__init__(filter_folder)
        self.config, self.matcher, self.decode = config, matcher, decode
        self.spill_folder, self.bits = spill_folder, bits

    def start_bundle(self):
        super().start_bundle()
        self._spill = SpillGatherer(self.spill_folder)

    def process(self, split_and_records):
        split, records = split_and_records
        batch = self.decode(records)
        self.add(BatchRows(batch, self.config, self.matcher), self.bits)
        for spilled in self._spill.add(split, batch):
            yield beam.pvalue.TaggedOutput("spilled", spilled)

    def finish_bundle(self):
        for spilled in self._spill.flush():
            yield beam.pvalue.TaggedOutput("spilled", GlobalWindows.windowed_value(spilled))
        yield from super().finish_bundle()


class AddToFineFilter(BundleFilter):
    """Some first-stage candidates -> their buckets in cells FINE_CELL_TOLERANCES wide added to the bundle's filter
    of `bits` (a side input: sized by the count of those buckets)."""

    def __init__(self, config, matcher, folder):
        super().__init__(folder)
        self.config, self.matcher = config, matcher

    def process(self, spilled, bits):
        self.add(BatchRows(read_batch(spilled[1]), self.config, self.matcher, FINE_CELL_TOLERANCES), bits)
        return []


class FindCandidates(beam.DoFn):
    """(split, spilled file) -> (split, file) of the rows that are candidates, spilled again (`SpillGatherer`):
    labelled examples one of whose buckets (cells `cell_tolerances` tolerances wide) the filter holds with another
    label. Later passes read only these few, small files; nothing is parsed here. The filter (a side input
    `FilterPart`, its path) is read at a bundle's first element and dropped at its end (FnApiRunner keeps the DoFns
    of finished stages)."""

    def __init__(self, config, matcher, cell_tolerances, folder):
        self.config, self.matcher, self.cell_tolerances, self.folder = config, matcher, cell_tolerances, folder

    def start_bundle(self):
        self._filter, self._spill = None, SpillGatherer(self.folder)

    def process(self, spilled, filter_part):
        if self._filter is None:
            self._filter = read_filter(filter_part)
        split, path = spilled
        batch = read_batch(path)
        found = BatchRows(batch, self.config, self.matcher, self.cell_tolerances)
        held = self._filter.holds_other_label(found.buckets, found.label_hashes[found.example])
        kept = np.unique(found.rows[found.example[held]])
        if len(kept):
            yield from self._spill.add(split, batch.take(pa.array(kept)))

    def finish_bundle(self):
        self._filter = None
        for spilled in self._spill.flush():
            yield GlobalWindows.windowed_value(spilled)


def fine_bucket_count(spilled, config, matcher):
    """How many buckets, with cells FINE_CELL_TOLERANCES wide, the candidates in a spilled file have: what sizes the
    second filter."""
    return len(BatchRows(read_batch(spilled[1]), config, matcher, FINE_CELL_TOLERANCES).buckets)


def parse_candidates(spilled, config):
    """The parsed records (`parse_rows`) of the candidates in a spilled file: only these are parsed in Python."""
    split, path = spilled
    return parse_rows(read_batch(path), split, config)


class FeatureStats(beam.CombineFn):
    """Counts examples, unlabelled examples, examples without id, and per feature how often it has a value and
    whether it is categorical (str) or numeric. Its inputs are the accumulators of record batches (BatchRows)."""

    def create_accumulator(self):
        return {"examples": 0, "unlabelled": 0, "without_id": 0, "present": Counter()}

    def add_input(self, acc, batch_stats):
        return self.merge_accumulators([acc, batch_stats])

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for acc in accumulators:
            for key in ("examples", "unlabelled", "without_id", "present"):
                merged[key] += acc[key]
        return merged

    def extract_output(self, acc):
        return acc


def keyed_row(record):
    """(row key, (example id, row)) of a parsed candidate: the 16-byte key of its distinct row and the row (label,
    compared values) pickled, so the collapse shuffles bytes, not tuples of Python values."""
    example_id, label, features = record[:3]
    return row_key(label, features), (example_id, pickle.dumps((label, features), protocol=pickle.HIGHEST_PROTOCOL))


class SmallestIdAndCount(beam.CombineFn):
    """Of the examples sharing one distinct row (label and compared values, `keyed_row`): the smallest id (which
    names the distinct row), how many, and the row once."""

    def create_accumulator(self):
        return None, 0, None

    def add_input(self, acc, keyed):
        example_id, row = keyed
        return self.merge_accumulators([acc, (example_id, 1, row)])

    def merge_accumulators(self, accumulators):
        accumulators = [acc for acc in accumulators if acc[0] is not None]
        if not accumulators:
            return self.create_accumulator()
        return (min(acc[0] for acc in accumulators), sum(acc[1] for acc in accumulators), accumulators[0][2])

    def extract_output(self, acc):
        return acc


def row_key(label, features):
    """16 bytes that name a distinct row (label and compared values), the same in every process (Python's hash() of
    a str is not)."""
    return hashlib.blake2b(repr((label, features)).encode(), digest_size=16).digest()


_HOME, _VISITOR = b"h", b"v"  # a bucket member's first byte


def _bucket(keyed, matcher):
    """(bucket id, member) for the home bucket and each visited bucket of a distinct row: the member is one bytes
    object, a flag (home or visitor) and the pickled (smallest id, label, features, count, row key): what comparing
    and grouping need (a tuple of Python values per member cost FnApiRunner about 3.6 KB per candidate)."""
    key, (smallest_id, count, row) = keyed
    label, features = pickle.loads(row)
    member = pickle.dumps((smallest_id, label, features, count, key), protocol=pickle.HIGHEST_PROTOCOL)
    home, visits = matcher.bucket_ids(features)
    yield home, _HOME + member
    for bucket in visits:
        yield bucket, _VISITOR + member


def _compare_bucket(bucket, matcher):
    """The conflicting pairs of one bucket's members (`_bucket`)."""
    _, members = bucket
    return pairs_in_bucket([(member[:1] == _HOME, pickle.loads(member[1:])) for member in members], matcher)


def _compact_pair(pair):
    """A conflicting pair as ((row key, smallest id, label, count), ...): what grouping and counting need."""
    return tuple((row[4], row[0], row[1], row[3]) for row in pair)


class ConflictGroups(beam.CombineFn):
    """Connected components of the conflicting pairs of distinct rows: which group each row in conflict is in
    (groups numbered from 1 by their smallest example id), the number of examples in conflict, and the example pair
    counts (count_a * count_b per row pair) in all and per label pair. Holds only the distinct rows that are in
    some conflict (16-byte key, smallest id, label, count each) and their pairs: it grows with the conflicts."""

    def create_accumulator(self):
        return {"pairs": [], "rows": {}}

    def add_input(self, acc, pair):
        acc["pairs"].append((pair[0][0], pair[1][0]))
        for row in pair:
            acc["rows"][row[0]] = row
        return acc

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for acc in accumulators:
            merged["pairs"] += acc["pairs"]
            merged["rows"].update(acc["rows"])
        return merged

    def extract_output(self, acc):
        union_find, rows = UnionFind(), acc["rows"]
        label_pairs, pairs = Counter(), 0
        for a, b in acc["pairs"]:
            union_find.union(a, b)
            (_, _, label_a, count_a), (_, _, label_b, count_b) = rows[a], rows[b]
            label_pairs[tuple(sorted((label_a, label_b)))] += count_a * count_b
            pairs += count_a * count_b
        # Numbered by the smallest example id in the group (the row key breaks ties between duplicated ids).
        groups = sorted(union_find.groups(), key=lambda keys: min((rows[k][1], k) for k in keys))
        group_of_row = {key: number for number, keys in enumerate(groups, start=1) for key in keys}
        return {"group_of_row": group_of_row, "pairs": pairs, "groups": len(groups),
                "examples_in_conflict": sum(row[3] for row in rows.values()),
                "label_pairs": [{"labels": list(labels), "pairs": n} for labels, n in sorted(label_pairs.items())]}


def compared_columns(stats):
    """The columns conflicts.csv lists after the metadata: every compared column (a value somewhere), by name."""
    return sorted({name for name, _ in stats["present"]})


def member_lines(candidates, groups, columns, config):
    """[group number, example id, conflicts.csv line] for each of some candidates (parsed again from the spill, so
    the parsed candidates are not held until the groups are known) whose distinct row is in a conflict group (text
    made inert for spreadsheets); `columns` are the compared columns."""
    for example_id, label, features, split, metadata in parse_candidates(candidates, config):
        number = groups["group_of_row"].get(row_key(label, features))
        if number is None:
            continue
        values = dict(features)
        line = io.StringIO()
        csv.writer(line, lineterminator="").writerow(spreadsheet_row(
            [number, example_id, label, split, *("" if v is None else v for v in metadata),
             *(_display(values.get(name)) for name in columns)]))
        yield [number, example_id, line.getvalue()]


def count_rows(spilled):
    return read_batch(spilled[1]).num_rows


def check_config(schema, config):
    """Raises ConflictsError, before any example is read, for a configured column that is not in the schema."""
    check_columns(schema, {"[data] id_column": [config["id_column"]],
                           "[labels] label_column": [config["label_column"]],
                           **{f"[conflicts] {key}": sorted(config[key])
                              for key in ("exclude", "absolute_tolerances", "relative_tolerances")}},
                  error=ConflictsError, what="the examples' schema")


def check_examples(stats, config):
    """Raises ConflictsError for examples without id. Returns why the finder cannot run on this data (every label
    empty; an error with `on_cannot_run` "fail"), or "" when it can."""
    label_column, id_column = config["label_column"], config["id_column"]
    reason = ""
    if stats["unlabelled"] == stats["examples"]:
        reason = (f"the label column {label_column!r} has no value in any of the {stats['examples']} examples; "
                  f"a conflict needs two labels")
        if config.get("on_cannot_run") == "fail":
            raise ConflictsError(f"{reason}: set [labels] label_column to the column that holds the label")
    if stats["without_id"]:
        raise ConflictsError(f"{stats['without_id']} examples have no value in the id column {id_column!r}; "
                             f"conflicts are reported by id: fill it or set [data] id_column")
    return reason


def summarize(groups, stats, matcher, config):
    """The summary.json content (checked first: check_examples): counts, the label pairs in conflict, which columns
    were compared or not, and `skipped` (why the finder could not run on this data, or "")."""
    skipped = check_examples(stats, config)
    compared = {}
    for name, categorical in sorted(stats["present"]):
        compared[name] = "exact (categorical)" if categorical else matcher.tolerance(name).describe()
    all_missing = sorted(set(config["compared"]) - set(compared))
    return {
        "groups": groups["groups"],
        "examples_in_conflict": groups["examples_in_conflict"],
        "conflicting_pairs": groups["pairs"],
        "label_pairs": groups["label_pairs"],
        "examples": stats["examples"],
        "examples_without_label": stats["unlabelled"],  # never compared: a conflict needs two labels
        "compared_features": compared,  # column -> how it matches
        "excluded_all_missing": all_missing,  # schema features with a value nowhere: they separate no examples
        "excluded_columns": sorted(set(config["excluded"])),
        "skipped": skipped,
    }


def _display(value):
    """Floats as the shortest text that round-trips their float32 value (39.2, not 39.200000762939453)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return np.format_float_positional(np.float32(value), trim="-")
    return value


class Executor(base_beam_executor.BaseBeamExecutor):

    def Do(self, input_dict, output_dict, exec_properties):
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        schema = read_schema(input_dict["schema"])
        output = artifact_utils.get_single_instance(output_dict["conflicts"])
        config = {key: exec_properties[key] for key in ("label_column", "id_column")}
        config["on_cannot_run"] = exec_properties.get("on_cannot_run") or "skip"
        for key in ("metadata_columns", "labeler_columns", "exclude", "absolute_tolerances", "relative_tolerances"):
            config[key] = json.loads(exec_properties[key])
        config["excluded"] = [config["id_column"], config["label_column"], *config["labeler_columns"],
                              *config["metadata_columns"], *config["exclude"]]
        matcher = Matcher(exec_properties["tolerance"], bool(exec_properties["relative"]),
                          config["absolute_tolerances"], config["relative_tolerances"])
        read.require_tf_examples(examples, "Conflicts reads tf.train.Example records only", ConflictsError)
        check_config(schema, config)
        # Compared: every feature of the schema not excluded (a feature the schema lacks is not read at all).
        config["compared"] = sorted(f.name for f in schema.feature if f.name not in config["excluded"])
        decode = read.ExampleDecoder(examples, projected_schema(
            schema, [config["id_column"], config["label_column"], *config["metadata_columns"], *config["compared"]]))
        splits = artifact_utils.decode_split_names(examples.split_names)
        say("Conflicts", f"comparing the examples of split(s) {', '.join(splits)}; numeric tolerance "
                         f"{matcher.default.describe()}; not compared: {', '.join(config['excluded'])}")

        scratch = scratch_dir(self, output.uri)
        lines_prefix = os.path.join(scratch, "conflict-lines")
        results = Results(scratch)
        remove_keyed_lines(lines_prefix)  # a retried execution's leftovers
        bits = filter_bits(sum(file.size_in_bytes for match in FileSystems.match(
            [os.path.join(artifact_utils.get_split_uri([examples], split), "*") for split in splits])
            for file in match.metadata_list))
        spill_folder, filter_folder = os.path.join(scratch, "batches"), os.path.join(scratch, "filters")
        for folder in (spill_folder, filter_folder):
            if fileio.exists(folder):
                fileio.rmtree(folder)  # a retried execution's leftovers
        with self._make_beam_pipeline() as p:
            # Pass 1, over every split as one source of lists of serialized records (each list names its split,
            # which conflicts.csv gives; no Beam element per record, no per-split stream to flatten): each bundle's
            # filter of (bucket, label) pairs and FeatureStats (a scratch file and a small FilterPart), merged into
            # one filter file; the needed columns spilled.
            first = (p | "ReadRecordLists" >> read.record_lists_of_splits(examples, splits, max_records=SPILL_ROWS)
                     | "AddToFilter" >> beam.ParDo(AddToFilter(config, matcher, decode, spill_folder, filter_folder,
                                                             bits))
                     .with_outputs("spilled", main="parts"))
            candidate_filter = (first.parts | "FilterParts" >> beam.CombineGlobally(FilterParts())
                                | "MergeFilters" >> beam.Map(merge_filter_files, filter_folder))
            stats = candidate_filter | "FeatureStats" >> beam.Map(lambda part: part.stats)
            # Pass 2, over the spilled files once the filter is complete: the candidates, spilled again. Pass 3,
            # over those: a second filter of their buckets in cells FINE_CELL_TOLERANCES wide (every conflicting pair
            # is among them), and the candidates of that one, which alone are parsed and shuffled.
            coarse = (first.spilled
                      | "CoarseCandidates" >> beam.ParDo(
                          FindCandidates(config, matcher, CELL_TOLERANCES, os.path.join(spill_folder, "coarse")),
                          beam.pvalue.AsSingleton(candidate_filter)))
            fine_bits = (coarse | "FineBucketCount" >> beam.Map(fine_bucket_count, config, matcher)
                         | "FineBuckets" >> beam.CombineGlobally(sum) | "FineBits" >> beam.Map(bucket_filter_bits))
            fine_filter = (coarse | "AddToFineFilter" >> beam.ParDo(AddToFineFilter(config, matcher, filter_folder),
                                                                    beam.pvalue.AsSingleton(fine_bits))
                           | "FineFilterParts" >> beam.CombineGlobally(FilterParts())
                           | "MergeFineFilters" >> beam.Map(merge_filter_files, filter_folder))
            fine = coarse | "FineCandidates" >> beam.ParDo(
                FindCandidates(config, matcher, FINE_CELL_TOLERANCES, os.path.join(spill_folder, "fine")),
                beam.pvalue.AsSingleton(fine_filter))
            groups = (fine
                      | "ParseCandidates" >> beam.FlatMap(parse_candidates, config)
                      | "KeyByRow" >> beam.Map(keyed_row)
                      | "CollapseIdenticalRows" >> beam.CombinePerKey(SmallestIdAndCount())
                      | "Bucket" >> beam.FlatMap(_bucket, matcher)
                      | "GroupByBucket" >> beam.GroupByKey()
                      | "ComparePairs" >> beam.FlatMap(_compare_bucket, matcher)
                      | "CompactPairs" >> beam.Map(_compact_pair)
                      | "DistinctPairs" >> beam.Distinct()
                      | "Group" >> beam.CombineGlobally(ConflictGroups()))
            for name, found in (("coarse_candidates", coarse), ("candidates", fine)):
                results.collect(name, found | f"Count[{name}]" >> beam.Map(count_rows)
                                | f"Sum[{name}]" >> beam.CombineGlobally(sum))
            results.collect("summary", groups | "Summarize" >> beam.Map(
                summarize, beam.pvalue.AsSingleton(stats), matcher, config))
            columns = stats | "ComparedColumns" >> beam.Map(compared_columns)
            _ = (fine
                 | "MemberLines" >> beam.FlatMap(member_lines, beam.pvalue.AsSingleton(groups),
                                                 beam.pvalue.AsSingleton(columns), config)
                 | "WriteMemberLines" >> WriteKeyedLines(lines_prefix))

        (summary,) = results["summary"]
        (candidate_count,), (coarse_count,) = results["candidates"], results["coarse_candidates"]
        header = io.StringIO()
        csv.writer(header, lineterminator="").writerow(
            [*CONFLICT_COLUMNS, *config["metadata_columns"], *sorted(summary["compared_features"])])
        fileio.makedirs(output.uri)
        write_sorted(lines_prefix, os.path.join(output.uri, CONFLICTS_FILE), header.getvalue())
        with fileio.open(os.path.join(output.uri, SUMMARY_FILE), "w") as f:
            f.write(json.dumps(summary, indent=2, sort_keys=True))
        for folder in (spill_folder, filter_folder):
            if fileio.exists(folder):
                fileio.rmtree(folder)
        if scratch.startswith(output.uri):
            fileio.rmtree(scratch)
        for key in COUNT_PROPERTIES:
            output.set_int_custom_property(key, summary[key])
        output.set_json_value_custom_property(LABEL_PAIRS, summary["label_pairs"])
        output.set_json_value_custom_property(EXCLUDED_ALL_MISSING, summary["excluded_all_missing"])
        output.set_string_custom_property(SKIPPED, summary["skipped"])
        if summary["skipped"]:
            say("Conflicts", f"skipped: {summary['skipped']}; wrote {output.uri}")
            return
        pairs = "; ".join(f"{' vs '.join(p['labels'])}: {p['pairs']}" for p in summary["label_pairs"]) or "none"
        say("Conflicts", f"{summary['groups']} group(s), {summary['examples_in_conflict']} examples in conflict "
                         f"(pairs by label: {pairs}), compared among {candidate_count} candidate(s) of "
                         f"{summary['examples']} examples ({coarse_count} after the first filter); wrote {output.uri}")
