"""The report's Jinja2 environment (autoescaping everything) and the section record each section returns."""
import dataclasses
import math

import jinja2
import markupsafe


@dataclasses.dataclass
class Section:
    """One block of the page: its anchor (the link target), title, facts (its part of report.json), and HTML."""
    anchor: str
    title: str
    facts: dict
    html: markupsafe.Markup


def number(value, digits=3):
    """A float with `digits` decimals, an int as is, None or NaN as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def percent(value, digits=1):
    return "–" if value is None else f"{100 * value:.{digits}f}%"


ENVIRONMENT = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                                 lstrip_blocks=True)
ENVIRONMENT.filters.update(number=number, percent=percent)


def render(template, **values):
    """`template` (Jinja2 source) rendered with every value escaped, as markup to place in the page."""
    return markupsafe.Markup(ENVIRONMENT.from_string(template).render(**values))
