"""The sorted writer: lines written in any order by a real Beam pipeline come out sorted by key, then by line, the
same bytes whatever the order, also when the merge spills sorted runs."""
import os
import random

import apache_beam as beam
import pytest

from components.examples_io.sorted_text import WriteKeyedLines, write_sorted


def _write(items, prefix):
    with beam.Pipeline(runner="FnApiRunner") as p:
        _ = p | beam.Create(items, reshuffle=True) | WriteKeyedLines(prefix)


@pytest.mark.parametrize("run_lines", [100, 1_000_000], ids=["merged-runs", "one-run"])
def test_lines_come_out_sorted_by_key_then_line_and_the_temporary_files_go(tmp_path, run_lines):
    rng = random.Random(1)
    items = [[rng.randint(0, 5), f"id{rng.randint(0, 300)}", f"line {i}"] for i in range(2500)]  # ties in the key
    outputs = []
    for attempt in range(2):
        rng.shuffle(items)
        folder = tmp_path / str(attempt)
        _write(items, str(folder / "lines"))
        count = write_sorted(str(folder / "lines"), str(folder / "out.csv"), "a,b", run_lines=run_lines)
        assert count == len(items)
        assert os.listdir(folder) == ["out.csv"]  # the keyed lines and the sorted runs are removed
        outputs.append((folder / "out.csv").read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].decode().splitlines() == ["a,b"] + [item[-1] for item in sorted(items)]


def test_nothing_written_gives_the_header_only(tmp_path):
    _write([], str(tmp_path / "lines"))
    assert write_sorted(str(tmp_path / "lines"), str(tmp_path / "out.csv"), "a,b") == 0
    assert (tmp_path / "out.csv").read_text() == "a,b\n"
