"""Reading and checking a corrections file; pure Python, so the pre-flight (pipeline/inputs.py) checks the whole file
before the run starts, and the executor runs the very same checks on the file it imports.

Cells go through `components.safe_text.restore_cell`, so a review queue that went through a spreadsheet and back
(formula-like cells carry a `'`, control characters a `\\xNN`) reads as the queue was written.
"""
import csv
import io
from dataclasses import dataclass

from components.input_checks import InputError
from components.safe_text import restore_cell

REQUIRED_COLUMNS = ("example_id", "corrected_label", "reviewer", "reason")
MAX_PROBLEMS_SHOWN = 20


class CorrectionsError(InputError):
    """A corrections file the user must fix; the message names the file, the lines and what is wrong."""


@dataclass(frozen=True)
class Correction:
    label: str
    reviewer: str
    reason: str
    line: int


def fail(path, problems):
    shown = problems[:MAX_PROBLEMS_SHOWN]
    more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
    raise CorrectionsError(f"corrections file {path} ([labels] corrections_file) has {len(problems)} problem(s):\n  "
                           + "\n  ".join(shown) + more)


def decode(path, raw: bytes):
    """The file's text (a UTF-8 byte-order mark dropped); other non-UTF-8 bytes are an error naming the line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = 1 + raw.count(b"\n", 0, e.start)
        raise CorrectionsError(f"corrections file {path} ([labels] corrections_file): line {line}: byte "
                               f"{raw[e.start:e.start + 1]!r} is not valid UTF-8; save the file as UTF-8") from None


def _is_int(text):
    try:
        int(text)
        return True
    except ValueError:
        return False


def parse_corrections(path, text, allowed_labels=None, integer_labels=False, labels_from="the schema's labels"):
    """(corrections {example_id: Correction}, rows skipped because corrected_label is empty, repeated rows).

    Extra columns are ignored, so a filled-in review queue is a valid corrections file. Repeating the same
    correction is allowed; two different labels for one example are not. A row with more or fewer fields than the
    header, and a file without any correction, are errors. `labels_from` says where `allowed_labels` came from."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None) or []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CorrectionsError(f"corrections file {path} ([labels] corrections_file) lacks column(s) "
                               f"{', '.join(missing)}; it needs {', '.join(REQUIRED_COLUMNS)} (other columns are "
                               f"ignored); its header is {', '.join(header) or '(empty)'}")
    where = {name: header.index(name) for name in REQUIRED_COLUMNS}
    corrections, problems, skipped, repeated, line = {}, [], 0, 0, reader.line_num
    for fields in reader:
        row_line, line = line + 1, reader.line_num
        if not any(f.strip() for f in fields):
            continue  # a blank line
        if len(fields) != len(header):
            problems.append(f"line {row_line}: {len(fields)} fields but the header has {len(header)}; fix or "
                            f"remove that row")
            continue
        row = {name: restore_cell(fields[i]).strip() for name, i in where.items()}
        example_id, label, reviewer = row["example_id"], row["corrected_label"], row["reviewer"]
        if not label:
            skipped += 1
            continue
        if not example_id:
            problems.append(f"line {row_line}: corrected_label {label!r} but no example_id")
            continue
        if not reviewer:
            problems.append(f"line {row_line}: example {example_id}: no reviewer; every correction needs who "
                            f"made it")
        if allowed_labels is not None and label not in allowed_labels:
            problems.append(f"line {row_line}: example {example_id}: label {label!r} is not in {labels_from} "
                            f"({', '.join(sorted(allowed_labels))})")
        if integer_labels and not _is_int(label):
            problems.append(f"line {row_line}: example {example_id}: label {label!r} is not an integer, as the "
                            f"schema's label feature is")
        correction = Correction(label, reviewer, row["reason"], row_line)
        earlier = corrections.get(example_id)
        if earlier is None:
            corrections[example_id] = correction
        elif earlier.label != label:
            problems.append(f"line {row_line}: example {example_id} corrected to {label!r}, but line "
                            f"{earlier.line} corrects it to {earlier.label!r}; keep one")
        else:
            repeated += 1
    if problems:
        fail(path, problems)
    if not corrections:
        raise CorrectionsError(f"corrections file {path} ([labels] corrections_file) holds no correction (no row "
                               f"with a corrected_label; {skipped} row(s) without one); fill in corrected_label, "
                               f"reviewer and reason, or remove [labels] corrections_file")
    return corrections, skipped, repeated


def check_ids(path, corrections, id_counts):
    """Problems, by line, for corrections whose id is not in the data or names more than one example (a correction
    must change exactly one example). `id_counts` maps each id in the data to its number of examples."""
    problems = []
    for example_id, c in sorted(corrections.items(), key=lambda item: item[1].line):
        count = id_counts.get(example_id, 0)
        if count == 0:
            problems.append(f"line {c.line}: example_id {example_id!r} is not in the examples ([data] id_column)")
        elif count > 1:
            problems.append(f"line {c.line}: example_id {example_id!r} names {count} examples; ids must be unique "
                            f"before a correction can say which one it changes")
    return problems
