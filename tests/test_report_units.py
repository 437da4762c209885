"""The report's parts on their own: the artifact type names it looks up, charts and the data card on hostile
text, the page's JSON block, run selection errors. (tests/test_report.py checks whole reports in a browser.)"""
import json
import re

import pytest

from pipeline.mlmd_graph import LineageError
from pipeline.report import charts, data_card, page, run_outputs
from pipeline.report.html import Section

HOSTILE = "<img src=x onerror=alert(1)></script>\"'$x$ & Пингвин"


def test_type_names_are_the_components_type_names():
    from tfx.types import standard_artifacts
    from components.conflicts.component import LabelConflicts
    from components.corrections.component import Corrections
    from components.error_analysis.component import ErrorAnalysisResult
    from components.label_consistency.component import LabelConsistencyReport
    from components.label_errors.component import LabelIssues
    from components.review_queue.component import LabelReviewQueue
    pairs = [(run_outputs.LABEL_CONFLICTS, LabelConflicts), (run_outputs.CORRECTIONS, Corrections),
             (run_outputs.LABEL_CONSISTENCY[0], LabelConsistencyReport), (run_outputs.LABEL_ISSUES, LabelIssues),
             (run_outputs.REVIEW_QUEUE, LabelReviewQueue), (run_outputs.ERROR_ANALYSIS, ErrorAnalysisResult),
             (run_outputs.EXAMPLES, standard_artifacts.Examples),
             (run_outputs.STATISTICS, standard_artifacts.ExampleStatistics),
             (run_outputs.ANOMALIES, standard_artifacts.ExampleAnomalies), (run_outputs.MODEL, standard_artifacts.Model),
             (run_outputs.EVALUATION, standard_artifacts.ModelEvaluation),
             (run_outputs.BLESSING, standard_artifacts.ModelBlessing),
             (run_outputs.PUSHED_MODEL, standard_artifacts.PushedModel)]
    for name, cls in pairs:
        assert name == cls.TYPE_NAME


@pytest.mark.parametrize("draw", [
    lambda: charts.bars([HOSTILE, "b"], [1, 2], title=HOSTILE),
    lambda: charts.heatmap([[1, 2], [3, 4]], [HOSTILE, "b"], ["c", HOSTILE], xlabel=HOSTILE),
    lambda: charts.lines([HOSTILE, "r2"], {HOSTILE: [0.5, None]}),
    lambda: charts.intervals([HOSTILE], [0.5], [0.4], [0.6], reference=0.45),
    lambda: charts.timeline([(HOSTILE, 0, 1, False), ("b", 1, 2, True)]),
])
def test_charts_keep_hostile_labels_as_text(draw):
    svg = str(draw())
    assert svg.startswith('<svg class="chart"') and svg.endswith("</svg>")
    assert "<img" not in svg and "</script>" not in svg  # matplotlib escaped them
    assert "&lt;img src=x" in svg
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg  # fit to inline in HTML


def test_json_block_cannot_be_closed_by_a_value():
    facts = {"run_id": HOSTILE, "time": "t", "metadata": "m", "pipeline": HOSTILE, "gates": [], "sections": {}}
    html = page.page(facts, [Section("x", HOSTILE, {}, "")])
    block = re.search(r'<script type="application/json" id="report-facts">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block and json.loads(block)["run_id"] == HOSTILE
    assert html.count("<script") == 1 and "<img" not in html


def test_data_card_escapes_values_and_keeps_the_people_written_part():
    facts = {"run_id": HOSTILE, "time": "t", "pipeline": "p", "sections": {
        "labels": {"gate": {"status": "warn"}, "krippendorff_alpha": 0.5, "fleiss_kappa": 0.4,
                   "classes_to_review": [HOSTILE], "per_class": [{"name": HOSTILE + "|x", "support": 3}]}}}
    card = data_card.render(facts, "## Motivation\nWhy <we> collected it.\n", "card.md")
    assert "<img" not in card and "&lt;img src=x onerror=alert(1)&gt;" in card
    assert "\\|x" in card  # a '|' in a value cannot split a table cell
    assert "### Motivation\nWhy <we> collected it." in card  # the people's own Markdown, as written
    assert data_card.HUMAN_PART_MISSING in data_card.render(facts, None, "")


def test_an_id_column_is_not_charted_when_its_distinct_count_is_a_sketch_estimate():
    import pandas as pd
    import tensorflow_data_validation as tfdv
    from pipeline.report.sections.data import _feature_facts
    rows = 80_000  # above the KMV sketch's 16,384 values, whose estimate for these ids is below the row count
    frame = pd.DataFrame({"example_id": [f"ex-{i:09d}" for i in range(rows)],
                          "site": [("Biscoe", "Dream", "Torgersen")[i % 3] for i in range(rows)]})
    statistics = tfdv.generate_statistics_from_dataframe(
        frame, tfdv.StatsOptions(use_sketch_based_topk_uniques=True)).datasets[0]
    ids = next(f.string_stats for f in statistics.features if f.path.step[0] == "example_id")
    assert ids.unique < rows and ids.top_values[0].frequency > 1  # an estimate, and the sketch's upper bounds
    facts = {f["name"]: f for f in _feature_facts({"train": statistics}, ["train"])}
    assert "top_values" not in facts["example_id"] and facts["example_id"]["unique"] == ids.unique
    assert [v["count"] for v in facts["site"]["top_values"]] == [26_667, 26_667, 26_666]  # exact below 1,024 values


def test_find_run_names_what_exists(demo_run):
    from pipeline.mlmd_graph import Graph, open_store
    graph = Graph(open_store(demo_run.metadata))
    latest = run_outputs.find_run(graph, "latest")
    assert run_outputs.find_run(graph, latest.name).id == latest.id
    with pytest.raises(LineageError, match="no run with id 'nope'.*newest runs are: .*" + re.escape(latest.name)):
        run_outputs.find_run(graph, "nope")
