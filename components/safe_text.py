"""Cell text made inert for the files people open: CSVs meant for spreadsheets, and Markdown reports.

Data is hostile until shown otherwise: an id or a metadata value can hold a spreadsheet formula, terminal control
codes, Markdown table syntax or HTML. Pure Python; every writer of a file for people goes through here.

CSV injection (OWASP, "CSV Injection"): a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is
run as a formula by Excel, LibreOffice and Google Sheets. Such a cell is written with a leading `'`, which
spreadsheets show as text and do not display. Plain numbers (`-1.5`, `+3`) are left alone: they are not formulas
and the prefix would make them text. `restore_cell` undoes the prefix, so a review queue that went through a
spreadsheet and back reads as written (a cell that really starts with `'` and then one of those characters is the
one ambiguous case: it reads back without its `'`).

Control characters (C0, DEL, C1; but not tab, newline or carriage return inside a cell, which CSV quoting keeps)
are written as `\\xNN`, so a cell cannot move a terminal's cursor or ring its bell; `restore_cell` decodes them.
"""
import re

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MAX_DISPLAY_CHARS = 500  # context columns and Markdown cells are cut to this for display

_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ESCAPED_CONTROL = re.compile(r"\\x(0[0-8bcef]|1[0-9a-f]|7f|8[0-9a-f]|9[0-9a-f])")


def _escape_controls(text):
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def truncate(text, max_chars=MAX_DISPLAY_CHARS):
    """`text`, or its first `max_chars` characters and a note of how many were cut."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}... ({len(text) - max_chars} more characters)"


def spreadsheet_cell(value, max_chars=None):
    """A value as inert CSV cell text: control characters escaped, a formula-like start neutralised, and, with
    `max_chars`, cut for display (only for context columns: never for ids or labels a corrections file reads)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value  # numbers and booleans are written by the csv module as numbers
    text = _escape_controls(value)
    if max_chars is not None:
        text = truncate(text, max_chars)
    if text.startswith(FORMULA_TRIGGERS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def spreadsheet_row(row, max_chars=None, keep_whole=()):
    """A dict (or list) row with every cell through `spreadsheet_cell`; `keep_whole` names dict keys never cut."""
    if isinstance(row, dict):
        return {k: spreadsheet_cell(v, None if k in keep_whole else max_chars) for k, v in row.items()}
    return [spreadsheet_cell(v, max_chars) for v in row]


def restore_cell(text):
    """Undoes `spreadsheet_cell` (but not a cut): the `'` before a formula-like start, and `\\xNN` escapes."""
    if text is None:
        return text
    if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS):
        text = text[1:]
    return _ESCAPED_CONTROL.sub(lambda m: chr(int(m.group(1), 16)), text)


def markdown_cell(value, max_chars=MAX_DISPLAY_CHARS):
    """Text safe inside a Markdown table cell: HTML characters as entities, `|` escaped, newlines as spaces,
    control characters escaped, cut for display."""
    text = truncate(_escape_controls(str(value)), max_chars)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def markdown_text(value, max_chars=MAX_DISPLAY_CHARS):
    """Text safe in Markdown prose (outside tables): HTML characters as entities, control characters escaped."""
    text = truncate(_escape_controls(str(value)), max_chars)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
