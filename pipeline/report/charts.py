"""Small charts as inline SVG strings, drawn with matplotlib's SVG backend (no pyplot, no global state).

Text stays text (`svg.fonttype = none`) and matplotlib escapes it (`<`, `>`, `&`, quotes), so a hostile label is
shown, not parsed; math parsing is off, so a `$` in a label is a dollar sign. Labels are cut to `MAX_LABEL` for
the chart (tables beside the charts show them whole). The output is reproducible: fixed ids, no date.
"""
import io
import re

import markupsafe
from matplotlib import rc_context
from matplotlib.figure import Figure

MAX_LABEL = 28
STYLE = {"svg.fonttype": "none", "text.parse_math": False, "svg.hashsalt": "tfx-datacentric-report",
         "font.size": 8, "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"],
         "axes.spines.top": False, "axes.spines.right": False,
         "axes.titlesize": 9, "axes.titleweight": "bold"}
COLORS = ["#3b6ea5", "#e07b39", "#4c9a5b", "#b04a5a", "#7b61a8", "#8c6d46", "#c05fa0", "#6b6b6b"]
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
# Geometry attributes, whose numbers matplotlib writes with 5-6 decimals; one is plenty at screen resolution.
_GEOMETRY = re.compile(r'(?<= )(d|x|y|x1|x2|y1|y2|transform|points|width|height|viewBox)="([^"]*)"')
_LONG_DECIMAL = re.compile(r"(\d\.\d)\d+")


def short(label, limit=MAX_LABEL):
    text = str(label)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _one_decimal(match):
    return f'{match.group(1)}="{_LONG_DECIMAL.sub(lambda number: number.group(1), match.group(2))}"'


def _svg(figure, title):
    """The figure as an <svg> element for inlining: no XML prologue, an accessible title, a class to style."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})  # constrained layout fits it
    svg = _METADATA.sub("", _PROLOGUE.sub("", buffer.getvalue(), count=1), count=1)
    svg = _GEOMETRY.sub(_one_decimal, svg)
    svg = svg.replace("<svg ", f'<svg class="chart" role="img" aria-label="{markupsafe.escape(title)}" ', 1)
    return markupsafe.Markup(svg.strip())


def _figure(width, height):
    return Figure(figsize=(width, height), dpi=72, layout="constrained")


def bars(labels, values, title="", xlabel="", width=3.2, color=COLORS[0], value_format="{:g}"):
    """Horizontal bars, first label on top, each with its value printed."""
    with rc_context(STYLE):
        height = 0.45 + 0.2 * max(len(labels), 1)
        figure = _figure(width, height)
        axes = figure.add_subplot()
        positions = list(range(len(labels)))
        axes.barh(positions, values, color=color, height=0.7)
        axes.set_yticks(positions, [short(label) for label in labels])
        axes.invert_yaxis()
        for position, value in zip(positions, values):
            axes.annotate(value_format.format(value), (value, position), xytext=(2, 0), textcoords="offset points",
                          va="center", fontsize=7)
        axes.margins(x=0.2)
        axes.set_xlabel(xlabel)
        if title:
            axes.set_title(title, loc="left")
        return _svg(figure, title or xlabel)


def histogram(lows, highs, counts, title="", width=3.2, height=1.3):
    """A numeric feature's histogram from its bucket edges and counts (as TFDV computed them)."""
    with rc_context(STYLE):
        figure = _figure(width, height)
        axes = figure.add_subplot()
        axes.bar(lows, counts, width=[h - l for l, h in zip(lows, highs)], align="edge", color=COLORS[0],
                 edgecolor="white", linewidth=0.5)
        axes.set_ylabel("count")
        if title:
            axes.set_title(title, loc="left")
        return _svg(figure, title or "histogram")


def heatmap(matrix, row_labels, column_labels, title="", xlabel="", ylabel="", width=2.6):
    """A matrix of counts as a colored grid with each count printed (e.g. a confusion matrix)."""
    with rc_context(STYLE):
        n_rows, n_columns = len(row_labels), len(column_labels)
        figure = _figure(max(width, 0.9 + 0.45 * n_columns), 0.9 + 0.35 * n_rows)
        axes = figure.add_subplot()
        axes.imshow(matrix, cmap="Blues", aspect="auto")
        axes.set_xticks(range(n_columns), [short(c, 12) for c in column_labels], rotation=30, ha="right")
        axes.set_yticks(range(n_rows), [short(r, 16) for r in row_labels])
        largest = max((max(row) for row in matrix if row), default=0) or 1
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                axes.text(j, i, f"{value:g}", ha="center", va="center", fontsize=7,
                          color="white" if value > largest / 2 else "black")
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.spines[:].set_visible(False)
        if title:
            axes.set_title(title, loc="left")
        return _svg(figure, title or "heatmap")


def lines(x_labels, series, title="", ylabel="", width=6.0, height=2.0):
    """One line per named series over the same x positions (missing values as gaps), with markers."""
    with rc_context(STYLE):
        figure = _figure(width, height)
        axes = figure.add_subplot()
        positions = list(range(len(x_labels)))
        for (name, values), color in zip(series.items(), COLORS):
            axes.plot(positions, [float("nan") if v is None else v for v in values], marker="o", markersize=4,
                      color=color, label=short(name))
        axes.set_xticks(positions, [short(x, 16) for x in x_labels], rotation=20, ha="right")
        axes.set_ylabel(ylabel)
        axes.legend(loc="best", frameon=False, fontsize=7)
        if title:
            axes.set_title(title, loc="left")
        return _svg(figure, title or ylabel)


def timeline(steps, title=""):
    """A Gantt-style bar per step, `steps` = [(name, start seconds, duration seconds, cached)]."""
    with rc_context(STYLE):
        figure = _figure(6.0, 0.5 + 0.18 * max(len(steps), 1))
        axes = figure.add_subplot()
        for position, (name, start, duration, cached) in enumerate(steps):
            axes.barh(position, max(duration, 0.05), left=start, height=0.7,
                      color=COLORS[7] if cached else COLORS[0])
        axes.set_yticks(range(len(steps)), [short(name, 22) for name, *_ in steps])
        axes.invert_yaxis()
        axes.set_xlabel("seconds since the run started (grey: served from cache)")
        if title:
            axes.set_title(title, loc="left")
        return _svg(figure, title or "timeline")


def intervals(labels, values, lows, highs, title="", xlabel="", reference=None, width=3.6):
    """A point with its interval per label, first on top (e.g. accuracy per slice with a 95% interval); an
    optional vertical reference line (e.g. a threshold)."""
    with rc_context(STYLE):
        figure = _figure(width, 0.5 + 0.2 * max(len(labels), 1))
        axes = figure.add_subplot()
        positions = list(range(len(labels)))
        errors = [[max(v - lo, 0) for v, lo in zip(values, lows)], [max(hi - v, 0) for v, hi in zip(values, highs)]]
        axes.errorbar(values, positions, xerr=errors, fmt="o", markersize=4, color=COLORS[0], ecolor=COLORS[0],
                      elinewidth=1.2, capsize=2)
        if reference is not None:
            axes.axvline(reference, color=COLORS[3], linewidth=1, linestyle="--")
        axes.set_yticks(positions, [short(label) for label in labels])
        axes.set_ylim(len(labels) - 0.5, -0.5)
        axes.set_xlabel(xlabel)
        if title:
            axes.set_title(title, loc="left")
        return _svg(figure, title or xlabel)
