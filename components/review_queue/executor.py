"""ReviewQueue executor: reads whichever finders' outputs it was given, writes review_queue.csv and summary.json.

review_queue.csv is opened in spreadsheets and comes back as a corrections file: every cell is made inert
(components/safe_text.py: formula-like starts neutralised, control characters escaped) and the context columns are
cut for display; ids and labels are never cut, so the corrections reader (which undoes the neutralising) finds them.
The finders' files are read back to what they held, whatever the size of a cell.
"""
import csv
import io
import json
import os

from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.conflicts.contract import CONFLICTS_FILE
from components.error_analysis.contract import REVIEW_FILE
from components.label_consistency.contract import DISAGREEMENTS_FILE
from components.label_errors.contract import ISSUES_FILE
from components.review_queue.contract import QUEUE_FILE, ROWS, ROWS_FROM, ROWS_WITH_SEVERAL_SIGNALS, SUMMARY_FILE
from components.review_queue.queue import EXTRA_COLUMNS, QUEUE_COLUMNS, build_queue, summarize
from components.progress import say
from components.safe_text import MAX_DISPLAY_CHARS, restore_cell, spreadsheet_row

# Input key -> the file in that artifact's folder, as its component's contract names it.
INPUT_FILES = {"label_consistency": DISAGREEMENTS_FILE, "conflicts": CONFLICTS_FILE, "label_issues": ISSUES_FILE,
               "error_analysis": REVIEW_FILE}
FINDER_OF_INPUT = {"label_consistency": "label_consistency", "conflicts": "conflicts", "label_issues": "label_errors",
                   "error_analysis": "error_analysis"}  # input key -> its finder's name in queue.FINDERS


def read_rows(artifact, file_name):
    path = os.path.join(artifact.uri, file_name)
    if not fileio.exists(path):
        raise FileNotFoundError(f"{path} does not exist: the {artifact.type_name} artifact at {artifact.uri} holds "
                                f"{', '.join(sorted(fileio.listdir(artifact.uri)))}")
    csv.field_size_limit(max(csv.field_size_limit(), (1 << 31) - 1))  # the default stops at 128 KiB a cell
    with fileio.open(path) as f:
        return [{key: restore_cell(value) for key, value in row.items()}
                for row in csv.DictReader(io.StringIO(f.read()))]


class Executor(base_executor.BaseExecutor):

    def Do(self, input_dict, output_dict, exec_properties):
        rows = {key: None for key in INPUT_FILES}
        sources = {}
        for key, file_name in INPUT_FILES.items():
            if input_dict.get(key):
                artifact = artifact_utils.get_single_instance(input_dict[key])
                rows[key] = read_rows(artifact, file_name)
                sources[key] = {"uri": artifact.uri, "rows": len(rows[key])}
        metadata_columns = json.loads(exec_properties["metadata_columns"])
        queue = build_queue(rows["label_consistency"], rows["conflicts"], rows["label_issues"], rows["error_analysis"],
                            id_column=exec_properties["id_column"],
                            labeler_columns=json.loads(exec_properties["labeler_columns"]),
                            metadata_columns=metadata_columns)
        summary = summarize(queue, sources, [FINDER_OF_INPUT[key] for key in sources])

        output = artifact_utils.get_single_instance(output_dict["review_queue"])
        text = io.StringIO()
        writer = csv.DictWriter(text, QUEUE_COLUMNS + EXTRA_COLUMNS + metadata_columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(spreadsheet_row(row, MAX_DISPLAY_CHARS, keep_whole=QUEUE_COLUMNS) for row in queue)
        fileio.makedirs(output.uri)
        with fileio.open(os.path.join(output.uri, QUEUE_FILE), "w") as f:
            f.write(text.getvalue())
        with fileio.open(os.path.join(output.uri, SUMMARY_FILE), "w") as f:
            f.write(json.dumps(summary, indent=2, sort_keys=True))
        output.set_int_custom_property(ROWS, summary["rows"])
        for finder, n in summary["rows_per_finder"].items():
            output.set_int_custom_property(ROWS_FROM.format(finder=finder), n)
        output.set_int_custom_property(ROWS_WITH_SEVERAL_SIGNALS,
                                       sum(n for k, n in summary["rows_by_number_of_signals"].items() if k != "1"))
        by_count = ", ".join(f"{n} with {k} signal(s)"
                             for k, n in sorted(summary["rows_by_number_of_signals"].items(), reverse=True))
        say("ReviewQueue", f"{summary['rows']} example(s) to review ({by_count or 'none'}) from "
                           f"{', '.join(sources)}; wrote {os.path.join(output.uri, QUEUE_FILE)}")
