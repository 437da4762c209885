"""ReviewQueue executor: a Beam pipeline over whichever finders' outputs it was given; writes review_queue.csv and
summary.json.

Memory: every finder file is streamed row by row (csv.reader over a fileio handle, one file per element, so quoted
newlines and cells of any length read back whole); an example's signals meet in a CombinePerKey keyed by example id
(a few signals per example), a conflict group's members in a CombinePerKey keyed by group (per label a count and the
first few members), and the queue is ranked by beam.combiners.Top, which keeps at most `max_rows` rows per worker.
The only shuffles: the per-example and per-group accumulators, and (position, id, label) of each conflicts row to
join it to its group's summary. Counts are combined, so summary.json counts every flagged example even above the cap.

review_queue.csv is opened in spreadsheets and comes back as a corrections file: every cell is made inert
(components/safe_text.py: formula-like starts neutralised, control characters escaped) and the context columns are
cut for display; ids and labels are never cut, so the corrections reader (which undoes the neutralising) finds them.
"""
import csv
import io
import json
import os

import apache_beam as beam
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.conflicts.contract import CONFLICTS_FILE
from components.error_analysis.contract import REVIEW_FILE
from components.examples_io.results import Results
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
WRITE_CHUNK_ROWS = 10_000  # queue rows formatted per write


def finder_file(artifact, file_name):
    path = os.path.join(artifact.uri, file_name)
    if not fileio.exists(path):
        raise FileNotFoundError(f"{path} does not exist: the {artifact.type_name} artifact at {artifact.uri} holds "
                                f"{', '.join(sorted(fileio.listdir(artifact.uri)))}")
    return path


class _ReadRows(beam.DoFn):
    """(finder, path) -> (finder, position, row) for every row of that CSV file, streamed: csv.reader keeps quoted
    newlines inside their cell, and a cell of any length reads back whole."""

    def setup(self):
        csv.field_size_limit(max(csv.field_size_limit(), (1 << 31) - 1))  # the default stops at 128 KiB a cell

    def process(self, finder_and_path):
        finder, path = finder_and_path
        with fileio.open(path) as f:
            for position, row in enumerate(csv.DictReader(f)):
                yield finder, position, {key: restore_cell(value) for key, value in row.items()}


class _Signals(beam.DoFn):
    """A finder row -> (example_id, Signal); a conflicts row also -> (group_id, member) on MEMBERS."""
    MEMBERS = "members"

    def __init__(self, id_column, labeler_columns, metadata_columns):
        self._columns = dict(id_column=id_column, labeler_columns=labeler_columns, metadata_columns=metadata_columns)

    def process(self, finder_position_row):
        finder, position, row = finder_position_row
        yield queue.signal(finder, position, row, **self._columns)
        if finder == "conflicts":
            yield beam.pvalue.TaggedOutput(self.MEMBERS, queue.conflict_member(position, row))


class _GroupMembers(beam.CombineFn):
    def create_accumulator(self):
        return queue.GroupMembers.create()

    def add_input(self, summary, member):
        return queue.GroupMembers.add(summary, member)

    def merge_accumulators(self, summaries):
        return queue.GroupMembers.merge(summaries)

    def extract_output(self, summary):
        return summary


def _conflict_reasons(group_and_joined):
    """(group_id, {summary: [summary], members: [(position, example_id, label)...]}) -> (example_id, the reason
    signal of that row)."""
    group_id, joined = group_and_joined
    (summary,) = joined["summary"]
    for member in joined["members"]:
        position, example_id, _ = member
        yield example_id, queue.conflict_reason_signal(position, queue.conflict_reason(group_id, member, summary))


class _Merge(beam.CombineFn):
    """An example's signals (few: one per finder and its conflict reason), merged once all have arrived."""

    def create_accumulator(self):
        return []

    def add_input(self, signals, s):
        signals.append(s)
        return signals

    def merge_accumulators(self, accumulators):
        return [s for signals in accumulators for s in signals]

    def extract_output(self, signals):
        return signals


class _CountRows(beam.CombineFn):
    def create_accumulator(self):
        return {}

    def add_input(self, counts, row):
        return queue.count(counts, row)

    def merge_accumulators(self, accumulators):
        return queue.merge_counts(accumulators)

    def extract_output(self, counts):
        return counts


def _csv_fields(cells):
    """The CSV text of `cells` (several) without a line end; such texts joined by commas are the row's CSV line."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(cells)  # "\n": the writer quotes cells holding its line end
    return text.getvalue()[:-1]


class _WriteQueue(beam.DoFn):
    """Writes the ranked rows (at most max_rows; each the CSV text before and after its priority, so the ranking
    holds two strings a row) with their priority; yields how many."""

    def __init__(self, path, columns):
        self._path, self._columns = path, columns

    def process(self, ranked):
        with fileio.open(self._path, "w") as f:
            lines = [_csv_fields(self._columns)]
            for priority, (_, before, after) in enumerate(ranked, start=1):
                lines.append(f"{before},{priority},{after}")
                if len(lines) == WRITE_CHUNK_ROWS:
                    f.write("\n".join(lines) + "\n")
                    lines = []
            if lines:
                f.write("\n".join(lines) + "\n")
        yield len(ranked)


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

        def ranked_row(example_and_signals):
            entry = queue.merge(*example_and_signals)
            row = queue.queue_row(entry, metadata_columns)
            cut = spreadsheet_row(row, MAX_DISPLAY_CHARS, keep_whole=queue.QUEUE_COLUMNS)
            cells = [cut[c] for c in columns]
            before, after = _csv_fields(cells[:4]), _csv_fields(cells[5:])  # the priority goes between them
            return queue.rank_key(entry), (row["finders"], row["signals"]), before, after

        with self._make_beam_pipeline() as p:
            rows = (p | "Files" >> beam.Create(files) | "Spread" >> beam.Reshuffle()
                    | "ReadRows" >> beam.ParDo(_ReadRows()))
            signals = rows | "Signals" >> beam.ParDo(_Signals(
                exec_properties["id_column"], json.loads(exec_properties["labeler_columns"]),
                metadata_columns)).with_outputs(_Signals.MEMBERS, main="signals")
            members = signals[_Signals.MEMBERS]
            summaries = members | "GroupSummaries" >> beam.CombinePerKey(_GroupMembers())
            reasons = ({"summary": summaries, "members": members} | "JoinGroups" >> beam.CoGroupByKey()
                       | "ConflictReasons" >> beam.FlatMap(_conflict_reasons))
            ranked = ((signals.signals, reasons) | "AllSignals" >> beam.Flatten()
                      | "PerExample" >> beam.CombinePerKey(_Merge()) | "Rows" >> beam.Map(ranked_row))
            results.collect("read", rows | "Finder" >> beam.Map(lambda r: r[0]) | beam.combiners.Count.PerElement())
            results.collect("counts", ranked | "CountFields" >> beam.Map(
                lambda r: {"finders": r[1][0], "signals": r[1][1]}) | "Count" >> beam.CombineGlobally(_CountRows()))
            written = (ranked | "Text" >> beam.Map(lambda r: (r[0], r[2], r[3]))
                       | "Rank" >> beam.combiners.Top.Of(max_rows, key=lambda r: r[0], reverse=True)
                       | "Write" >> beam.ParDo(_WriteQueue(os.path.join(output.uri, QUEUE_FILE), columns)))
            results.collect("written", written)

        read = dict(map(tuple, results["read"]))
        for key in sources:
            sources[key]["rows"] = read.get(FINDER_OF_INPUT[key], 0)
        (counts,) = results["counts"]
        (rows_written,) = results["written"]
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
