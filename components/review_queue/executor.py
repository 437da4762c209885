"""ReviewQueue executor: a Beam pipeline over whichever finders' outputs it was given; writes review_queue.csv and
summary.json.

Memory. Beam's local runner (FnApiRunner) holds every GroupByKey's values and every multi-input Flatten in memory,
and Dataflow, Flink and Spark shuffle what a GroupByKey gets: so rows are never flattened and only the rows that
must meet another row are shuffled, each as one bytes string.
1. Pass 1 streams each finder file (csv.DictReader over a fileio handle, one file per element, so quoted newlines and
   cells of any length read back whole) and keeps 8 bytes a row, a hash of its example id; a CombineGlobally finds
   the hashes that occur more than once (an example flagged by several finders), a CombinePerKey per conflict group
   summarises its members (per label a count and the first few).
2. Pass 2 streams the files again with those two as side inputs (its main input is the list of files, so nothing
   else is held for it). A row whose id occurs once is its example's whole entry: its queue row is made at once. The
   rows of repeated ids (and of any id whose hash happens to collide with one) are grouped by id and merged.
3. Ranking is the shared external merge sort (examples_io.sorted_text): each queue row is written as
   `[*queue.rank_key, [CSV text before the priority, after it]]` in any order, and after the pipeline
   `write_sorted` merges them in rank order, at most RUN_LINES rows held and MERGE_FAN_IN runs read at a time, and
   writes the first `max_rows` with their priority.
Counts are combined, so summary.json counts every flagged example even above the cap.

review_queue.csv is opened in spreadsheets and comes back as a corrections file: every cell is made inert
(components/safe_text.py: formula-like starts neutralised, control characters escaped) and the context columns are
cut for display; ids and labels are never cut, so the corrections reader (which undoes the neutralising) finds them.
"""
import csv
import hashlib
import io
import json
import os
import pickle

import apache_beam as beam
import numpy as np
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.conflicts.contract import CONFLICTS_FILE
from components.error_analysis.contract import REVIEW_FILE
from components.examples_io.results import Results
from components.examples_io.sorted_text import WriteKeyedLines, remove_keyed_lines, write_sorted
from components.label_consistency.contract import DISAGREEMENTS_FILE
from components.label_errors.contract import ISSUES_FILE
from components.review_queue import queue
from components.review_queue.contract import QUEUE_FILE, ROWS, ROWS_FROM, ROWS_WITH_SEVERAL_SIGNALS, SUMMARY_FILE
from components.progress import say
from components.safe_text import MAX_DISPLAY_CHARS, restore_cell, spreadsheet_row

# Input key -> the file in that artifact's folder, as its component's contract names it.
INPUT_FILES = {"label_consistency": DISAGREEMENTS_FILE, "conflicts": CONFLICTS_FILE, "label_issues": ISSUES_FILE,
               "error_analysis": REVIEW_FILE}
FINDER_OF_INPUT = {"label_consistency": "label_consistency", "conflicts": "conflicts", "label_issues": "label_errors",
                   "error_analysis": "error_analysis"}  # input key -> its finder's name in queue.FINDERS
LOOKUP_CHUNK_ROWS = 4_096  # rows whose id hashes are looked up in the repeated ones at once
HASH_CHUNK_ROWS = 65_536  # id hashes sent on at once by pass 1


def finder_file(artifact, file_name):
    path = os.path.join(artifact.uri, file_name)
    if not fileio.exists(path):
        raise FileNotFoundError(f"{path} does not exist: the {artifact.type_name} artifact at {artifact.uri} holds "
                                f"{', '.join(sorted(fileio.listdir(artifact.uri)))}")
    return path


def _rows(path):
    """(position, row) for every row of a finder's CSV file (a csv.DictReader dict, cells as written), streamed."""
    with fileio.open(path) as f:
        yield from enumerate(csv.DictReader(f))


def _restored(row):
    return {key: restore_cell(value) for key, value in row.items()}


def _id_hash(example_id):
    """8 bytes of the id (as an integer): the same in every worker process, unlike Python's salted hash()."""
    digest = hashlib.blake2b(example_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class _ReadsCsv(beam.DoFn):
    def setup(self):
        csv.field_size_limit(max(csv.field_size_limit(), (1 << 31) - 1))  # the default stops at 128 KiB a cell


class _IdHashes(_ReadsCsv):
    """Pass 1, (finder, path) -> the hashes of its rows' example ids, HASH_CHUNK_ROWS at a time (bytes, 8 a row,
    little-endian uint64); (finder, rows read) on ROWS_READ; a conflicts row's (group_id, member) on MEMBERS."""
    ROWS_READ, MEMBERS = "rows_read", "members"

    def __init__(self, id_column):
        self._id_column = id_column

    def process(self, finder_and_path):
        finder, path = finder_and_path
        hashes, read = [], 0
        for position, row in _rows(path):
            hashes.append(_id_hash(restore_cell(queue.example_id(finder, row, self._id_column))))
            if finder == "conflicts":
                yield beam.pvalue.TaggedOutput(self.MEMBERS, queue.conflict_member(position, _restored(row)))
            if len(hashes) == HASH_CHUNK_ROWS:
                yield np.array(hashes, dtype="<u8").tobytes()
                read, hashes = read + len(hashes), []
        yield np.array(hashes, dtype="<u8").tobytes()
        yield beam.pvalue.TaggedOutput(self.ROWS_READ, (finder, read + len(hashes)))


class _RepeatedHashes(beam.CombineFn):
    """The id hashes that occur more than once in all files (a sorted uint64 array), from `_IdHashes`' chunks."""

    def create_accumulator(self):
        return []

    def add_input(self, chunks, hashes):
        chunks.append(hashes)
        return chunks

    def merge_accumulators(self, accumulators):
        return [hashes for chunks in accumulators for hashes in chunks]

    def extract_output(self, chunks):
        hashes = np.concatenate([np.empty(0, "<u8"), *(np.frombuffer(chunk, "<u8") for chunk in chunks)])
        hashes.sort()
        return np.unique(hashes[1:][hashes[1:] == hashes[:-1]])


class _GroupMembers(beam.CombineFn):
    def create_accumulator(self):
        return queue.GroupMembers.create()

    def add_input(self, summary, member):
        return queue.GroupMembers.add(summary, member)

    def merge_accumulators(self, summaries):
        return queue.GroupMembers.merge(summaries)

    def extract_output(self, summary):
        return summary


def _csv_fields(cells):
    """The CSV text of `cells` (several) without a line end; such texts joined by commas are the row's CSV line."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(cells)  # "\n": the writer quotes cells holding its line end
    return text.getvalue()[:-1]


def _ranked_row(entry, metadata_columns):
    """A merged example -> (its keyed line for `sorted_text.WriteKeyedLines`, its `finders` cell). The line is
    `[*queue.rank_key(entry), [CSV text before the priority, after it]]`: the key survives JSON (the scores are
    never NaN) and the id in it is unique, so the text never decides the order."""
    row = queue.queue_row(entry, metadata_columns)
    cut = spreadsheet_row(row, MAX_DISPLAY_CHARS, keep_whole=queue.QUEUE_COLUMNS)
    cells = [cut[c] for c in queue.QUEUE_COLUMNS + queue.EXTRA_COLUMNS + metadata_columns]
    return [*queue.rank_key(entry), [_csv_fields(cells[:4]), _csv_fields(cells[5:])]], row["finders"]


def _with_priority(priority, text):
    """A queue row's CSV line (for `write_sorted`'s line_text): its text around its rank."""
    before, after = text
    return f"{before},{priority},{after}"


class _QueueRows(_ReadsCsv):
    """Pass 2, (finder, path) -> for a row whose id occurs once in all files, its example's ranked queue row (and
    its finder on FINDERS); for a row whose id's hash is among `repeated` (sorted), (example_id, the row's Signal
    pickled) on REPEATED, to be merged with the example's other rows."""
    REPEATED, FINDERS = "repeated", "finders"

    def __init__(self, id_column, labeler_columns, metadata_columns):
        self._columns = dict(id_column=id_column, labeler_columns=labeler_columns, metadata_columns=metadata_columns)
        self._metadata_columns = metadata_columns

    def process(self, finder_and_path, repeated, group_summaries):
        finder, path = finder_and_path
        signals = []
        for position, row in _rows(path):
            signals.append(queue.signal(finder, position, _restored(row), group_summaries=group_summaries,
                                        **self._columns))
            if len(signals) == LOOKUP_CHUNK_ROWS:
                yield from self._route(signals, repeated)
                signals = []
        yield from self._route(signals, repeated)

    def _route(self, signals, repeated):
        hashes = np.fromiter((_id_hash(example_id) for example_id, _ in signals), np.uint64, len(signals))
        at = np.minimum(np.searchsorted(repeated, hashes), max(len(repeated) - 1, 0))
        is_repeated = repeated[at] == hashes if len(repeated) else np.zeros(len(signals), bool)
        for (example_id, s), again in zip(signals, is_repeated):
            if again:
                yield beam.pvalue.TaggedOutput(self.REPEATED, (example_id, pickle.dumps(tuple(s))))
            else:
                ranked, finders = _ranked_row(queue.merge(example_id, [s]), self._metadata_columns)
                yield ranked
                yield beam.pvalue.TaggedOutput(self.FINDERS, finders)


class _MergeRepeated(beam.DoFn):
    """(example_id, its pickled Signals) -> its ranked queue row; its `finders` cell on FINDERS."""
    FINDERS = _QueueRows.FINDERS

    def __init__(self, metadata_columns):
        self._metadata_columns = metadata_columns

    def process(self, id_and_signals):
        example_id, signals = id_and_signals
        entry = queue.merge(example_id, [queue.Signal._make(pickle.loads(s)) for s in signals])
        ranked, finders = _ranked_row(entry, self._metadata_columns)
        yield ranked
        yield beam.pvalue.TaggedOutput(self.FINDERS, finders)


class _CountRows(beam.CombineFn):
    def create_accumulator(self):
        return {}

    def add_input(self, counts, finders):
        return queue.count(counts, finders)

    def merge_accumulators(self, accumulators):
        return queue.merge_counts(accumulators)

    def extract_output(self, counts):
        return counts


class Executor(base_beam_executor.BaseBeamExecutor):

    def Do(self, input_dict, output_dict, exec_properties):
        files, sources = [], {}
        for key, file_name in INPUT_FILES.items():
            if input_dict.get(key):
                artifact = artifact_utils.get_single_instance(input_dict[key])
                files.append((FINDER_OF_INPUT[key], finder_file(artifact, file_name)))
                sources[key] = {"uri": artifact.uri}
        metadata_columns = json.loads(exec_properties["metadata_columns"])
        max_rows = int(exec_properties["max_rows"])
        columns = queue.QUEUE_COLUMNS + queue.EXTRA_COLUMNS + metadata_columns
        output = artifact_utils.get_single_instance(output_dict["review_queue"])
        fileio.makedirs(output.uri)
        results = Results(self._get_tmp_dir())
        lines_prefix = os.path.join(self._get_tmp_dir(), "ranked-lines")
        remove_keyed_lines(lines_prefix)  # a retried execution's leftovers

        id_column, labeler_columns = exec_properties["id_column"], json.loads(exec_properties["labeler_columns"])
        with self._make_beam_pipeline() as p:
            finder_files = p | "Files" >> beam.Create(files) | "Spread" >> beam.Reshuffle()
            first = finder_files | "IdHashes" >> beam.ParDo(_IdHashes(id_column)).with_outputs(
                _IdHashes.ROWS_READ, _IdHashes.MEMBERS, main="hashes")
            repeated = first.hashes | "RepeatedIds" >> beam.CombineGlobally(_RepeatedHashes())
            summaries = first[_IdHashes.MEMBERS] | "GroupSummaries" >> beam.CombinePerKey(_GroupMembers())
            single = finder_files | "QueueRows" >> beam.ParDo(
                _QueueRows(id_column, labeler_columns, metadata_columns), beam.pvalue.AsSingleton(repeated),
                beam.pvalue.AsDict(summaries)).with_outputs(_QueueRows.REPEATED, _QueueRows.FINDERS, main="ranked")
            merged = (single[_QueueRows.REPEATED] | "GroupRepeated" >> beam.GroupByKey()
                      | "MergeRepeated" >> beam.ParDo(_MergeRepeated(metadata_columns)).with_outputs(
                          _MergeRepeated.FINDERS, main="ranked"))
            # Each stream under a prefix of its own (no Flatten): write_sorted merges every file under lines_prefix.
            _ = single.ranked | "WriteSingle" >> WriteKeyedLines(f"{lines_prefix}-single")
            _ = merged.ranked | "WriteMerged" >> WriteKeyedLines(f"{lines_prefix}-merged")
            results.collect("read", first[_IdHashes.ROWS_READ])
            counts = (single[_QueueRows.FINDERS] | "CountSingle" >> beam.CombineGlobally(_CountRows()),
                      merged[_MergeRepeated.FINDERS] | "CountMerged" >> beam.CombineGlobally(_CountRows()))
            results.collect("counts", counts | "Counts" >> beam.Flatten())

        rows_written = write_sorted(lines_prefix, os.path.join(output.uri, QUEUE_FILE), _csv_fields(columns),
                                    max_lines=max_rows, line_text=_with_priority)
        read = dict(map(tuple, results["read"]))
        for key in sources:
            sources[key]["rows"] = read.get(FINDER_OF_INPUT[key], 0)
        counts = queue.merge_counts(results["counts"])
        summary = queue.summarize(counts, rows_written, max_rows, sources, [FINDER_OF_INPUT[key] for key in sources])
        with fileio.open(os.path.join(output.uri, SUMMARY_FILE), "w") as f:
            f.write(json.dumps(summary, indent=2, sort_keys=True))
        output.set_int_custom_property(ROWS, summary["rows"])
        for finder, n in summary["rows_per_finder"].items():
            output.set_int_custom_property(ROWS_FROM.format(finder=finder), n)
        output.set_int_custom_property(ROWS_WITH_SEVERAL_SIGNALS,
                                       sum(n for k, n in summary["rows_by_number_of_signals"].items() if k != "1"))
        by_count = ", ".join(f"{n} with {k} signal(s)"
                             for k, n in sorted(summary["rows_by_number_of_signals"].items(), reverse=True))
        left_out = (f"; {summary['rows_left_out']} lower-ranked example(s) left out ([review_queue] max_rows "
                    f"{max_rows})" if summary["rows_left_out"] else "")
        say("ReviewQueue", f"{summary['rows']} example(s) to review ({by_count or 'none'}) from "
                           f"{', '.join(sources)}; wrote {os.path.join(output.uri, QUEUE_FILE)}{left_out}")
