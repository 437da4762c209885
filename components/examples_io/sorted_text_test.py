"""The sorted writer: lines written in any order by a real Beam pipeline come out sorted by key, then by line, the
same bytes whatever the order, also when the merge spills sorted runs and merges them in several passes."""
import os
import random

import apache_beam as beam
import pytest
from tfx.dsl.io import fileio

from components.examples_io import sorted_text
from components.examples_io.sorted_text import WriteKeyedLines, write_sorted
from tests import testfs


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


@pytest.mark.parametrize("on_testfs", [False, True], ids=["local", "testfs"])
def test_many_runs_are_merged_a_few_at_a_time_into_the_same_bytes(tmp_path, monkeypatch, on_testfs):
    """2,000 items (with exact duplicates) in runs of 7 lines: 285 sorted runs, merged at most 3 at a time (several
    passes through intermediate runs); the output equals sorted(items) and at most 3 runs are read at once. On
    testfs:// (tests/testfs.py: only Beam's and TFX's filesystem layers reach it) the runs go through fileio too."""
    folder = str(tmp_path)
    if on_testfs:
        testfs.use_root(tmp_path)
        folder = testfs.PREFIX + "sorted"
    rng = random.Random(2)
    items = [[f"id{rng.randint(0, 400):03d}", f"line {rng.randint(0, 50)}"] for _ in range(2000)]
    reading, most = 0, 0
    read_lines = sorted_text._lines

    def counted_lines(path):
        nonlocal reading, most
        reading += 1
        most = max(most, reading)
        try:
            yield from read_lines(path)
        finally:
            reading -= 1

    monkeypatch.setattr(sorted_text, "_lines", counted_lines)
    _write(items, f"{folder}/lines")
    count = write_sorted(f"{folder}/lines", f"{folder}/out.csv", "a,b", run_lines=7, fan_in=3)
    assert count == len(items)
    with fileio.open(f"{folder}/out.csv") as f:
        assert f.read().splitlines() == ["a,b"] + [item[-1] for item in sorted(items)]
    assert most == 3  # all 285 runs at once before the fan-in
    assert fileio.listdir(folder) == ["out.csv"]  # the intermediate runs are removed too


def test_a_fan_in_below_two_is_refused(tmp_path):
    with pytest.raises(ValueError, match="fan_in must be at least 2"):
        write_sorted(str(tmp_path / "lines"), str(tmp_path / "out.csv"), "a,b", fan_in=1)


def test_nothing_written_gives_the_header_only(tmp_path):
    _write([], str(tmp_path / "lines"))
    assert write_sorted(str(tmp_path / "lines"), str(tmp_path / "out.csv"), "a,b") == 0
    assert (tmp_path / "out.csv").read_text() == "a,b\n"


def test_lines_cut_across_read_blocks_come_back_whole(tmp_path, monkeypatch):
    """Files are read a few bytes at a time: lines (non-ASCII ones, a long one) span several blocks."""
    monkeypatch.setattr(sorted_text, "_READ_BYTES", 5)
    items = [[i % 3, f"é{i} " * (i % 4) + "ü"] for i in range(300)] + [[1, "long " * 2_000]]
    _write(items, str(tmp_path / "lines"))
    write_sorted(str(tmp_path / "lines"), str(tmp_path / "out.csv"), "a", run_lines=40, fan_in=3)
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines() == ["a"] + [i[-1] for i in sorted(items)]
