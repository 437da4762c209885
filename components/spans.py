"""Spans as TFX names them: `{SPAN}` in an input pattern stands for a span number (digits) in a path, e.g.
`span-{SPAN}/*.csv` matches span-1/a.csv and span-2/a.csv. TFX's ExampleGen driver resolves the latest span (or the
one a RangeConfig pins) at run time; these helpers list spans where our own code needs them (the pre-flight, the
choice of the drift baseline, Provenance's file fingerprint). A pattern without `{SPAN}` is one span, number 0, as
TFX records it. Pure Python, no TensorFlow: pass a `glob` function for remote file systems.
"""
import glob as local_glob
import os
import re

SPAN_SPEC = "{SPAN}"


def has_spans(pattern: str) -> bool:
    return SPAN_SPEC in pattern


def _span_regex(pattern):
    """A regex that matches what `pattern` matches, with the span's digits as group 1."""
    pieces = []
    for i, part in enumerate(pattern.split(SPAN_SPEC)):
        if i:
            pieces.append(r"(\d+)")
        translated = re.escape(part).replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        pieces.append(translated)
    return re.compile("".join(pieces) + r"\Z")


def list_spans(input_base: str, pattern: str, glob=local_glob.glob) -> dict[int, list[str]]:
    """Span number -> the sorted files of that span under `input_base`; {0: files} for a pattern without {SPAN}.
    Every `{SPAN}` in one path must carry the same number, as TFX requires."""
    paths = sorted(glob(os.path.join(input_base, pattern.replace(SPAN_SPEC, "*"))))
    if not has_spans(pattern):
        return {0: paths} if paths else {}
    regex = _span_regex(pattern)
    spans = {}
    for path in paths:
        match = regex.match(os.path.relpath(path, input_base).replace(os.sep, "/"))
        if match and len({int(g) for g in match.groups()}) == 1:
            spans.setdefault(int(match.group(1)), []).append(path)
    return spans


def span_files(input_base: str, pattern: str, span: int, glob=local_glob.glob) -> list[str]:
    """The files of one span (of the whole pattern when it has no {SPAN})."""
    spans = list_spans(input_base, pattern, glob)
    return spans.get(span if has_spans(pattern) else 0, [])


def current_span(spans: dict, requested: int) -> int:
    """The span a run reads: `requested`, or the latest when it is 0 (TFX's default)."""
    return requested or max(spans)


def baseline_span(spans: dict, current: int, baseline: str, pinned: int):
    """The drift baseline: the highest span below `current` ("previous") or `pinned`; None when there is none."""
    if baseline == "pinned":
        return pinned if pinned in spans and pinned != current else None
    earlier = [span for span in spans if span < current]
    return max(earlier) if earlier else None


def artifact_span(artifact) -> int:
    """The span of a TFX Examples artifact: TFX's ExampleGen driver records it as the custom property "span" (the
    `span` property stays unset); Examples our components derive carry both."""
    if artifact.has_custom_property("span"):
        return artifact.get_int_custom_property("span")
    return artifact.span if artifact.has_property("span") else 0
