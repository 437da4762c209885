"""A text file whose lines come out of a Beam pipeline in any order, written sorted by a key, in bounded memory.

Beam's WriteToText writes lines in the order the runner hands them over, which differs between runs and between
runner modes. A component that must write one deterministic file (conflicts.csv, disagreements.csv,
eval_predictions.csv) emits
`[key..., line]` elements through `WriteKeyedLines` into its temporary folder, and after the pipeline
`write_sorted` merges them into the file: an external merge sort that holds at most RUN_LINES lines at a time
(sorted runs go to temporary files) and reads at most MERGE_FAN_IN runs at a time (while there are more, the oldest
are merged into a longer run, which is itself a temporary file), so memory does not grow with the file. Ties in the
key are broken by the line itself, so the file has the same bytes on every run, in every runner mode and whatever
the order of the merges. A queue that ranks its lines (ReviewQueue) keys them by rank, gives `max_lines` (only the
first lines are kept: each run is cut to them too) and `line_text`, which writes each line's number (its rank) in it.

The merge runs in the executor's process, streaming through `tfx.dsl.io.fileio` (local disk, gs://, s3://), with
O(n log n) comparisons: one pass over the lines while they make at most MERGE_FAN_IN runs on disk (under 1.7 million
lines; the last run stays in memory); above that, each line is rewritten into an intermediate run at most
ceil(log(runs) / log(MERGE_FAN_IN)) - 1 times (5 million lines, 50 runs: 37 of them once, 13 never).

In the pipeline nothing is held: `WriteKeyedLines` is WriteToText without a shard count, so each bundle streams its
lines into a file of its own and only the files' names reach the finalize step (its side inputs). A shard count
would group every line on one key first, which Beam's local runner holds in memory. Measured with
`python -m benchmarks.sorted_text` (peak RSS of the process tree over its start, FnApiRunner): in_memory +10, +9,
+10 MiB at 100,000, 1,000,000 and 5,000,000 lines; multi_processing +459, +459, +460 MiB at 100,000, 1,000,000 and
3,000,000 (its two worker processes). `write_sorted` (`--variant sorted_text`, load average 3 to 6 on 2 shared
cores): +28, +33, +33 MiB at 1, 5 and 8 million lines (CPU 10.7, 64.3, 105.4 s); when it read every run at once
(before MERGE_FAN_IN) +27, +49, +64 MiB (CPU 11.1, 54.9, 90.2 s): flat now, for 17% more CPU at 5 million lines
(the intermediate merges), none under 1.7 million. The same 3 million lines give byte-identical files either way.
`WriteToText(num_shards=1)` on the same lines: in_memory +37 and +225 MiB at 100,000 and 1,000,000, multi_processing
+565 and +1,001 MiB.
"""
import heapq
import itertools
import json
import os

import apache_beam as beam
from tfx.dsl.io import fileio

RUN_LINES = 100_000  # lines sorted in memory at a time (tens of MB)
MERGE_FAN_IN = 16  # sorted runs read at a time (each open reader holds its buffers, about half a MiB)
_WRITE_LINES = 10_000  # lines per write call
_READ_BYTES = 1 << 18  # read per file at a time (MERGE_FAN_IN files are open at once)


@beam.ptransform_fn
def WriteKeyedLines(elements, prefix):  # pylint: disable=invalid-name
    """Elements `[key..., line]` (JSON values, the text line last, without its newline, or what `write_sorted`'s
    `line_text` makes it from) as JSON lines in files whose names start with `prefix`, in any order;
    `write_sorted(prefix, ...)` reads them after the pipeline."""
    return (elements | "KeyedLineJson" >> beam.Map(json.dumps)
            | "WriteKeyedLines" >> beam.io.WriteToText(prefix, file_name_suffix=".jsonl"))


def _lines(path):
    """The lines of a file, each with its newline, read _READ_BYTES at a time: a quarter of the CPU of fileio's line
    iterator, which converts every line on its own (300,000 lines of 250 bytes: 0.13 s against 0.55 s)."""
    pieces = []  # a line's start, from the blocks read since its last newline
    with fileio.open(path, "rb") as f:
        for block in iter(lambda: f.read(_READ_BYTES), b""):
            lines = block.split(b"\n")
            if len(lines) > 1:
                lines[0] = b"".join([*pieces, lines[0]])
                pieces = []
                for line in lines[:-1]:
                    yield line.decode() + "\n"
            pieces.append(lines[-1])
    rest = b"".join(pieces)
    if rest:
        yield rest.decode()


def _items(paths):
    for path in paths:
        for line in _lines(path):
            yield json.loads(line)


def _write(path, lines):
    with fileio.open(path, "w") as f:
        chunk = []
        for line in lines:
            chunk.append(line)
            if len(chunk) >= _WRITE_LINES:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))


def _merge_runs(runs, merged, max_lines):
    """Merges the sorted run files `runs` into the run file `merged` (its first `max_lines` lines, all if None) and
    removes them. Their lines are copied as they are, ordered by the items they decode to (a third less CPU than
    writing the items again)."""
    _write(merged, itertools.islice(heapq.merge(*(_lines(run) for run in runs), key=json.loads), max_lines))
    for run in runs:
        fileio.remove(run)


def write_sorted(prefix, path, header, run_lines=RUN_LINES, fan_in=MERGE_FAN_IN, max_lines=None, line_text=None):
    """Writes `header` (one line, without newline) and then the lines written under `prefix`, sorted by
    `[key..., line]`, to `path`; removes the files under `prefix` (and its sorted runs). Returns the number of
    lines written. At most `run_lines` lines are held and `fan_in` runs read at a time. With `max_lines`, only the
    first that many lines are written. With `line_text(number, line)`, a line is its text, where `line` is the
    element's last value (any JSON value) and `number` its line number in the file (1 for the first under the
    header)."""
    if fan_in < 2:
        raise ValueError(f"write_sorted: fan_in must be at least 2, got {fan_in}")
    inputs = sorted(fileio.glob(prefix + "*"))
    run_names = (f"{prefix}.run-{i:05d}" for i in itertools.count())
    runs, pending = [], []
    for item in _items(inputs):
        pending.append(item)
        if len(pending) >= run_lines:
            pending.sort()
            runs.append(next(run_names))
            _write(runs[-1], (json.dumps(item) + "\n" for item in itertools.islice(pending, max_lines)))
            pending = []
    pending.sort()
    # While more than fan_in runs remain, the oldest (shortest) are merged into a new run at the end. The first
    # merge takes just enough runs that every later one takes fan_in and the last leaves exactly fan_in (a k-way
    # Huffman merge: the fewest lines rewritten for this fan-in).
    take = (len(runs) - 2) % (fan_in - 1) + 2
    while len(runs) > fan_in:
        merged = next(run_names)
        _merge_runs(runs[:take], merged, max_lines)
        runs = runs[take:] + [merged]
        take = fan_in
    count = 0

    def lines():
        nonlocal count
        yield header + "\n"
        for item in itertools.islice(heapq.merge(pending, *(_items([run]) for run in runs)), max_lines):
            count += 1
            yield (item[-1] if line_text is None else line_text(count, item[-1])) + "\n"

    fileio.makedirs(os.path.dirname(path))  # a Kubeflow task's output folder does not exist yet
    _write(path, lines())
    remove_keyed_lines(prefix)
    return count


def remove_keyed_lines(prefix):
    """Removes every file under `prefix`: after `write_sorted`, and before a pipeline writes there (a retried
    execution must not merge an earlier attempt's files)."""
    for path in fileio.glob(prefix + "*"):
        fileio.remove(path)
