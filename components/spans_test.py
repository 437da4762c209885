"""Span listing as TFX's {SPAN} convention defines it, and the choice of the current and baseline spans."""
import pytest

from components import spans
from pipeline.configs import config_from_dict
from pipeline.inputs import InputError, input_files


@pytest.fixture
def layout(tmp_path):
    for relative in ("span-1/a.csv", "span-2/a.csv", "span-2/b.csv", "span-10/a.csv", "span-x/a.csv",
                     "span-3/notes.txt", "other.csv"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("example_id,species\n")
    return tmp_path


def test_list_spans_by_number(layout):
    found = spans.list_spans(str(layout), "span-{SPAN}/*.csv")
    assert sorted(found) == [1, 2, 10]  # span-x is no span number, span-3 has no CSV
    assert [p.rsplit("/", 2)[-2:] for p in found[2]] == [["span-2", "a.csv"], ["span-2", "b.csv"]]
    assert spans.span_files(str(layout), "span-{SPAN}/*.csv", 3) == []
    assert spans.list_spans(str(layout), "*.csv") == {0: [str(layout / "other.csv")]}  # no {SPAN}: one span, 0
    assert spans.span_files(str(layout), "*.csv", 7) == [str(layout / "other.csv")]


def test_a_path_with_two_different_span_numbers_is_no_span(tmp_path):
    for relative in ("1/span-1.csv", "1/span-2.csv"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x\n")
    assert spans.list_spans(str(tmp_path), "{SPAN}/span-{SPAN}.csv") == {1: [str(tmp_path / "1/span-1.csv")]}


def test_current_and_baseline_span():
    found = {1: [], 2: [], 5: []}
    assert spans.current_span(found, 0) == 5 and spans.current_span(found, 2) == 2
    assert spans.baseline_span(found, 5, "previous", 0) == 2
    assert spans.baseline_span(found, 1, "previous", 0) is None
    assert spans.baseline_span(found, 5, "pinned", 1) == 1
    assert spans.baseline_span(found, 5, "pinned", 5) is None and spans.baseline_span(found, 5, "pinned", 4) is None


def test_preflight_reads_the_latest_or_the_pinned_span(layout):
    config = config_from_dict({"data": {"input_dir": str(layout), "file_pattern": "span-{SPAN}/*.csv"}})
    assert input_files(config) == [str(layout / "span-10" / "a.csv")]
    config.data.span = 2
    assert len(input_files(config)) == 2
    config.data.span = 4
    with pytest.raises(InputError, match=r"\[data\] span = 4, but 'span-\{SPAN\}/\*.csv' in .* matches spans 1, 2, "
                                         r"10; set span = 0 for the latest"):
        input_files(config)
