"""The run report: written by every run, rebuilt by `python -m pipeline report`, checked in headless Chromium.

The demo run's report must show what the pipeline found (Chinstrap's ambiguous instructions, the 10 planted
problems at the top of the review queue, the model's slices) with no console error, no network request and charts
of a sane size; a data-only run on hostile values must give a page where no script runs and every value is text.
"""
import csv
import glob
import json
import os
import re

import pytest
from PIL import Image

from tests.browser import open_page
from tests.pipeline_runs import REPO, run_cli, write_config

SECTIONS = ["run", "data", "labels", "suspects", "model", "provenance", "progress"]
SCREENSHOT = os.path.join(REPO, "docs", "report.png")  # the README's picture; UPDATE_SCREENSHOT=1 rewrites it


def _report_paths(stdout):
    """The report the run printed, and its JSON facts beside it."""
    match = re.search(r"run report:\s+(\S+\.html)", stdout)
    assert match, f"the run printed no report path:\n{stdout[-2000:]}"
    html = match.group(1)
    return html, html[:-len(".html")] + ".json"


def _planted_ids():
    with open(os.path.join(REPO, "data", "answer_keys", "planted_label_flips.csv")) as f:
        flips = {row["example_id"] for row in csv.DictReader(f)}
    with open(os.path.join(REPO, "data", "answer_keys", "planted_conflicts.csv")) as f:
        copies = {row["copy_id"] for row in csv.DictReader(f)}
    return flips | copies


def _check_offline_and_quiet(events):
    assert events.requests == [], f"the page made network requests: {events.requests}"
    assert [m for m in events.console if m[0] == "error"] == [], events.console
    assert events.errors == [] and events.dialogs == [], (events.errors, events.dialogs)


def test_demo_report_in_chromium(demo_run, tmp_path):
    html_path, json_path = _report_paths(demo_run.result.stdout)
    assert os.path.dirname(html_path) == os.path.join(demo_run.root, "reports")
    with open(json_path) as f:
        facts = json.load(f)
    assert os.path.isfile(html_path[:-len(".html")] + ".data_card.md")
    with open_page(html_path) as (page, events):
        _check_offline_and_quiet(events)
        csp = page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
        assert "default-src 'none'" in csp and "script-src" not in csp  # no script may run at all
        for anchor in SECTIONS:
            section = page.locator(f"section#{anchor}")
            assert section.is_visible(), anchor
            assert len(section.inner_text()) > 100, anchor
            assert page.locator(f'nav a[href="#{anchor}"]').count() == 1
        charts = page.locator("svg.chart")
        assert charts.count() >= 20  # features, classes, confusion matrices, slices, timeline, progress
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert 80 <= box["width"] <= 1200 and 40 <= box["height"] <= 1200, (i, box)
            assert charts.nth(i).locator("path, rect, use").count() >= 3, i
        # What the demo planted, as a reader sees it.
        assert "Chinstrap" in page.locator("#revise").inner_text()
        assert "LABELER AGREEMENT: WARN" in page.locator("#gates").inner_text().upper()
        queue = page.locator("table.queue tbody tr")
        top10 = {queue.nth(i).locator("td").nth(1).inner_text() for i in range(10)}
        assert top10 == _planted_ids()
        model = page.locator("section#model").inner_text()
        for slice_name in ("site = Biscoe", "site = Dream", "site = Torgersen", "season = 2007-08"):
            assert slice_name in model
        # The JSON block in the page holds the same facts as the .json file.
        assert json.loads(page.locator("script#report-facts").text_content()) == facts
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert os.path.getsize(tmp_path / "report.png") > 50_000
    if os.environ.get("UPDATE_SCREENSHOT"):
        with Image.open(tmp_path / "report.png") as image:
            top = image.crop((0, 0, image.width, min(image.height, 1600)))
            small = top.convert("RGB").resize((top.width // 2, top.height // 2), Image.LANCZOS)
            small.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(SCREENSHOT, optimize=True)
    assert facts["sections"]["labels"]["classes_to_review"] == ["Chinstrap"]
    assert facts["sections"]["suspects"]["review_queue"]["rows"] == 50


def test_report_command_rebuilds_the_same_facts(demo_run, tmp_path):
    _, json_path = _report_paths(demo_run.result.stdout)
    with open(json_path) as f:
        written = json.load(f)
    output = tmp_path / "rebuilt.html"
    result = run_cli("report", "--config", demo_run.config_path, "--run", written["run_id"], "--output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "rebuilt.json") as f:
        assert json.load(f) == written
    card = (tmp_path / "rebuilt.data_card.md").read_text()
    for heading in ("## Motivation, intended use and risks", "## Composition", "## Collection and provenance",
                    "## Labeling", "## Known issues", "## Maintenance"):
        assert heading in card
    assert "### Intended uses" in card  # from data/data_card.md, the demo's people-written part
    assert "revision (worst first): Chinstrap" in card


def test_report_command_names_an_unknown_run(demo_run):
    result = run_cli("report", "--config", demo_run.config_path, "--run", "no-such-run")
    assert result.returncode == 2
    assert "no run with id 'no-such-run'" in result.stderr


def test_cached_rerun_report_keeps_the_gates(cached_rerun):
    result, _ = cached_rerun
    _, json_path = _report_paths(result.stdout)
    with open(json_path) as f:
        facts = json.load(f)
    steps = facts["sections"]["run"]["steps"]
    assert steps and all(step["cached"] for step in steps)
    verdicts = {gate["gate"]: gate["verdict"] for gate in facts["gates"]}
    assert verdicts["Labeler agreement"] == "warn"
    assert verdicts["Model blessing"] == "pass"
    assert verdicts["Data validation"] == "pass"


HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(2)</script>", "\"quoted\" 'single' `tick`",
           "Пингвин", "企鹅", "ペンギン-東京", "x" * 3000]


def _hostile_data(root):
    """A tiny CSV whose ids, labels, labeler names, metadata and a column name are hostile or non-Latin."""
    data = root / "data"
    data.mkdir()
    labels = [HOSTILE[0], "Пингвин"]
    metadata_column = "site<b onmouseover=alert(3)>島</b>"
    with open(data / "hostile.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["example_id", "label", "labeler_x", "labeler_企", metadata_column, "size", "weight"])
        for i in range(40):
            label = labels[i % 2]
            other = labels[(i + (i % 7 == 0)) % 2]
            writer.writerow([f"{HOSTILE[i % len(HOSTILE)][:60]}-{i}", label, other, label,
                             HOSTILE[i % len(HOSTILE)], 10 + (i % 2) * 5 + i % 3, 100 + i])
    instructions = root / "instructions.md"
    instructions.write_text("# Instructions <script>alert(4)</script>\n", encoding="utf-8")
    card = root / "card.md"
    card.write_text("## Motivation\nA hostile test.\n", encoding="utf-8")
    return data, metadata_column, instructions, card


@pytest.mark.slow
def test_hostile_values_show_as_text(tmp_path):
    data, metadata_column, instructions, card = _hostile_data(tmp_path)
    config = write_config(tmp_path / "hostile.toml", {
        "pipeline": {"output_dir": str(tmp_path / "out")},
        "data": {"input_dir": str(data), "file_pattern": "*.csv"},
        "labels": {"label_column": "label", "labeler_columns": ["labeler_x", "labeler_企"],
                   "metadata_columns": [metadata_column]},
        "model": {"numeric_features": ["size", "weight"]},
        "provenance": {"source_name": HOSTILE[1], "owner": HOSTILE[0] + " 所有者", "instructions_file": str(instructions),
                       "labelers": ["<i>a</i>", "企"]},
        "label_errors": {"folds": 2},
        "report": {"data_card_file": str(card)},
    })
    result = run_cli("run", "--config", config, "--data-only")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html_path, _ = _report_paths(result.stdout)
    with open(html_path, encoding="utf-8") as f:
        source = f.read()
    assert "<img" not in source and "<script>alert" not in source and "<b onmouseover" not in source
    with open_page(html_path) as (page, events):
        _check_offline_and_quiet(events)
        assert page.locator("img").count() == 0
        assert page.locator("script").count() == 1  # the JSON block, which is not run
        assert page.locator("script").get_attribute("type") == "application/json"
        text = page.locator("body").inner_text()
        for value in (HOSTILE[0], "Пингвин", metadata_column, HOSTILE[1], "<i>a</i>"):
            assert value in text, value
        facts = json.loads(page.locator("script#report-facts").text_content())
        assert facts["sections"]["provenance"]["source"]["source_name"] == HOSTILE[1]
        page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)
    card_text = glob.glob(str(tmp_path / "out" / "reports" / "*.data_card.md"))
    with open(card_text[0], encoding="utf-8") as f:
        assert "<img" not in f.read()


def test_a_missing_data_card_file_is_a_warning_not_a_failure(demo_run, tmp_path):
    values = {name: dict(keys) for name, keys in demo_run.sections.items()}
    values.setdefault("report", {})["data_card_file"] = str(tmp_path / "no_card.md")
    config = write_config(tmp_path / "no_card.toml", values)
    result = run_cli("report", "--config", config, "--output", str(tmp_path / "r.html"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "warning: [report] data_card_file" in result.stderr and "does not exist" in result.stderr
    card = (tmp_path / "r.data_card.md").read_text()
    assert "no_card.md`, which does not exist" in card and "## Composition" in card


@pytest.mark.slow
def test_drift_section_on_span_2(tmp_path):
    """A data-only run of the demo's span 2 (with its planted shift) against span 1: the report shows the drift
    gate and section, and its Data section describes span 2, not the baseline the drift check read."""
    config = write_config(tmp_path / "span2.toml", {
        "pipeline": {"output_dir": str(tmp_path / "out")},
        "data": {"input_dir": os.path.join(REPO, "data", "demo"), "span": 2},
    })
    result = run_cli("run", "--config", config, "--data-only")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html_path, json_path = _report_paths(result.stdout)
    with open(json_path) as f:
        facts = json.load(f)
    drift = facts["sections"]["drift"]
    assert (drift["current_span"], drift["baseline_span"]) == (2, 1)
    assert "site" in drift["drifted_features"]
    assert {g["gate"]: g["verdict"] for g in facts["gates"]}["Drift"] == "warn"
    assert sum(facts["sections"]["data"]["examples"].values()) == sum(
        1 for _ in open(glob.glob(os.path.join(REPO, "data", "demo", "span-2", "*.csv"))[0])) - 1
    with open_page(html_path) as (page, events):
        _check_offline_and_quiet(events)
        assert "site" in page.locator("section#drift").inner_text()
        assert page.locator("section#drift svg.chart").count() == 1
