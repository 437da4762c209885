"""The executor's real Beam pipeline on real Examples artifacts (made by CsvExampleGen's executor)."""
import csv
import glob
import json
import os

import krippendorff
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa
from tfx.types import standard_artifacts
from tfx.utils import io_utils, json_utils

from components.label_consistency import executor, long_form
from components.label_consistency import metrics as M
from components.label_consistency.component import LabelConsistencyReport
from pipeline.configs import Config
from pipeline.local_runner import beam_args
from tests.artifacts import LOCAL_BEAM_ARGS, examples_from_csv, schema_for
from tests.pipeline_runs import REPO

DEMO_CSV = os.path.join(REPO, "data", "demo", "span-1", "penguins.csv")
LABELERS = ["labeler_a", "labeler_b", "labeler_c"]


def run_executor(examples, schema, out_dir, labelers=LABELERS, beam_pipeline_args=LOCAL_BEAM_ARGS, **overrides):
    outputs = {"label_consistency": LabelConsistencyReport(), "consensus_examples": standard_artifacts.Examples(),
               "consensus_schema": standard_artifacts.Schema()}
    for key, artifact in outputs.items():
        artifact.uri = os.path.join(out_dir, key)
        os.makedirs(artifact.uri, exist_ok=True)
    props = {"labeler_columns": json_utils.dumps(labelers), "label_column": "species", "id_column": "example_id",
             "long_form_file": "", "min_agreement": 0.8, "min_class_agreement": 0.667, "on_low_agreement": "warn",
             "consensus_method": "majority", **overrides}
    context = executor.Executor.Context(beam_pipeline_args=beam_pipeline_args, tmp_dir=os.path.join(out_dir, "tmp"),
                                        unique_id="test")
    try:
        executor.Executor(context).Do({"examples": [examples], "schema": [schema]},
                                      {k: [v] for k, v in outputs.items()}, props)
    finally:
        outputs["metrics"] = os.path.join(outputs["label_consistency"].uri, "metrics.json")
    return outputs


def read_examples(artifact):
    rows = []
    for split in ("train", "eval"):
        files = glob.glob(os.path.join(artifact.uri, f"Split-{split}", "*.gz"))
        for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
            features = tf.train.Example.FromString(record.numpy()).features.feature
            rows.append({key: (list(f.bytes_list.value) or list(f.float_list.value) or list(f.int64_list.value))
                         for key, f in features.items()})
    return rows


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("label_consistency")
    examples = examples_from_csv(os.path.dirname(DEMO_CSV), root / "examples", "example_id")
    return examples, schema_for(examples, root / "schema"), root


@pytest.fixture(scope="module")
def demo_report(demo):
    examples, schema, root = demo
    outputs = run_executor(examples, schema, str(root / "warn"))
    with open(outputs["metrics"]) as f:
        return outputs, json.load(f)


def demo_labels():
    frame = pd.read_csv(DEMO_CSV, dtype=str, keep_default_na=False)
    return frame, frame[LABELERS].replace("", np.nan)


def test_demo_figures_match_reference_implementations(demo_report):
    _, metrics = demo_report
    frame, labels = demo_labels()
    assert metrics["n_examples"] == len(frame) and metrics["n_labelers"] == 3
    codes = labels.apply(lambda column: column.map({"Adelie": 0, "Chinstrap": 1, "Gentoo": 2}))
    assert metrics["krippendorff_alpha"] == pytest.approx(krippendorff.alpha(
        reliability_data=codes.T.to_numpy(float), level_of_measurement="nominal"))
    for pair, result in metrics["cohen_kappa"].items():
        a, b = pair.split("|")
        both = labels[[a, b]].dropna()
        assert result["n"] == len(both)
        assert result["value"] == pytest.approx(cohen_kappa_score(both[a], both[b]))
    assert metrics["fleiss_n_examples"] == int(labels.notna().all(axis=1).sum())
    assert metrics["n_examples_fewer_than_two_labels"] == int((labels.notna().sum(axis=1) < 2).sum())
    complete = codes.dropna().astype(int).to_numpy()  # Fleiss' kappa needs every labeler on each example
    assert metrics["fleiss_kappa"] == pytest.approx(fleiss_kappa(aggregate_raters(complete, n_cat=3)[0]))
    hlp_pairs, hlp_agree = 0, 0  # ordered pairs of labels from different labelers on one example
    for votes in labels.itertuples(index=False):
        given = [v for v in votes if isinstance(v, str)]
        hlp_pairs += len(given) * (len(given) - 1)
        hlp_agree += sum(a == b for i, a in enumerate(given) for j, b in enumerate(given) if i != j)
    assert metrics["hlp_estimate"] == pytest.approx(hlp_agree / hlp_pairs)
    class_alpha = {}
    for name, code in {"Adelie": 0, "Chinstrap": 1, "Gentoo": 2}.items():
        one_vs_rest = (codes == code).astype(float).where(codes.notna())
        class_alpha[name] = krippendorff.alpha(reliability_data=one_vs_rest.T.to_numpy(float),
                                               level_of_measurement="nominal")
        assert metrics["per_class"][name]["krippendorff_alpha"] == pytest.approx(class_alpha[name])
    assert metrics["class_ranking"] == sorted(class_alpha, key=class_alpha.get)
    assert metrics["classes_to_review"] == [c for c in metrics["class_ranking"] if class_alpha[c] < 0.667]
    for labeler in LABELERS:  # each labeler against the majority of the other two (a tie or no label: undecided)
        others = labels.drop(columns=labeler)
        compared = agreed = 0
        for own, (_, votes) in zip(labels[labeler], others.iterrows()):
            counts = votes.dropna().value_counts()
            if pd.isna(own) or counts.empty or (counts == counts.max()).sum() > 1:
                continue
            compared += 1
            agreed += own == counts.idxmax()
        report = metrics["labelers"][labeler]
        assert report["n_labels"] == labels[labeler].notna().sum() and report["n_compared"] == compared
        assert report["agreement_with_consensus"] == pytest.approx(agreed / compared)
    # The demo's labeler_b calls many Chinstraps Adelie (data/make_demo.py): Chinstrap must come out worst.
    assert metrics["class_ranking"][0] == "Chinstrap" and "Chinstrap" in metrics["classes_to_review"]
    assert metrics["per_class"]["Chinstrap"]["support"] == int((labels == "Chinstrap").sum().sum())


def test_warn_gate_prints_and_records(demo_report, capsys):
    outputs, metrics = demo_report
    assert metrics["gate"]["status"] == "warn"
    artifact = outputs["label_consistency"]
    assert artifact.get_string_custom_property("gate") == "warn"
    assert artifact.get_float_custom_property("krippendorff_alpha") == pytest.approx(metrics["krippendorff_alpha"])
    assert json.loads(artifact.get_string_custom_property("classes_to_review")) == metrics["classes_to_review"]
    summary = open(os.path.join(artifact.uri, "summary.md")).read()
    assert "| Chinstrap |" in summary and "warn" in summary


def test_consensus_examples_carry_majority_and_agreement(demo_report):
    outputs, _ = demo_report
    frame, labels = demo_labels()
    rows = {row["example_id"][0].decode(): row for row in read_examples(outputs["consensus_examples"])}
    assert len(rows) == len(frame)
    for _, raw in frame.iterrows():
        row = rows[raw["example_id"]]
        votes = labels.loc[raw.name].dropna().value_counts()
        top = votes[votes == votes.max()].index
        expected = raw["species"] if raw["species"] in top else sorted(top)[0]
        assert row["consensus_label"] == [expected.encode()]
        assert row["species"] == [raw["species"].encode()] and "bill_length_mm" in row
        if votes.sum() >= 2:
            agree = (votes * (votes - 1)).sum() / (votes.sum() * (votes.sum() - 1))
            assert row["label_agreement"][0] == pytest.approx(agree, abs=1e-6)
        else:
            assert "label_agreement" not in row
    schema = io_utils.SchemaReader().read(os.path.join(outputs["consensus_schema"].uri, "schema.pbtxt"))
    features = {f.name: f for f in schema.feature}
    assert sorted(features["consensus_label"].string_domain.value) == ["Adelie", "Chinstrap", "Gentoo"]
    assert "label_agreement" in features and "species" in features


def test_disagreements_csv_lists_every_split_vote(demo_report):
    outputs, _ = demo_report
    frame, labels = demo_labels()
    with open(os.path.join(outputs["label_consistency"].uri, "disagreements.csv")) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:5] == ["example_id"] + LABELERS + ["consensus"]
    expected = frame.loc[(labels.notna().sum(axis=1) >= 2) & (labels.nunique(axis=1) > 1), "example_id"]
    assert sorted(r["example_id"] for r in rows) == sorted(expected)
    # Sorted by example id (a deterministic order, whatever order the runner hands the rows over in).
    assert [(r["example_id"], r["split"]) for r in rows] == sorted((r["example_id"], r["split"]) for r in rows)
    by_id = frame.set_index("example_id")
    assert all(r[l] == by_id.loc[r["example_id"], l] for r in rows for l in LABELERS)


def test_dawid_skene_consensus_is_the_model_fitted_on_all_examples(demo, demo_report):
    """Dawid-Skene fits on the sums of a first pass and writes in a second: every example gets the class its label
    pattern's posterior favours, with the model fitted on all examples' patterns; in both runner modes, with the same
    files and the same consensus records."""
    examples, schema, root = demo
    outputs = {}
    for mode in ("in_memory", "multi_processing"):
        config = Config()
        config.pipeline.beam_mode = mode
        outputs[mode] = run_executor(examples, schema, str(root / f"dawid_skene_{mode}"), min_agreement=0.0,
                                     min_class_agreement=0.0, consensus_method="dawid_skene",
                                     beam_pipeline_args=beam_args(config))
    frame, _ = demo_labels()
    classes = ["Adelie", "Chinstrap", "Gentoo"]
    codes = np.array([[classes.index(v) if v else -1 for v in row] for row in frame[LABELERS].to_numpy()])
    patterns, inverse, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    posterior = M.dawid_skene(patterns, counts, len(classes))
    expected = {}
    for example_id, own, pattern in zip(frame["example_id"], frame["species"], inverse.ravel()):
        expected[example_id] = classes[posterior[pattern].argmax()] if (patterns[pattern] >= 0).any() else own
    records = {mode: read_examples(out["consensus_examples"]) for mode, out in outputs.items()}
    for mode_records in records.values():
        assert {row["example_id"][0].decode(): row["consensus_label"][0].decode() for row in mode_records} == expected
    assert set(expected.values()) == set(classes)
    majority = {row["example_id"][0].decode(): row["consensus_label"][0].decode()
                for row in read_examples(demo_report[0]["consensus_examples"])}
    assert sum(expected[i] != majority[i] for i in expected) > 0  # the two methods differ on these labels
    key = lambda row: json.dumps(row, sort_keys=True, default=repr)  # noqa: E731
    assert sorted(map(key, records["in_memory"])) == sorted(map(key, records["multi_processing"]))
    for name in ("metrics.json", "summary.md", "label_stats.json", "disagreements.csv"):
        files = [open(os.path.join(out["label_consistency"].uri, name)).read() for out in outputs.values()]
        assert files[0] == files[1], name
    with open(os.path.join(outputs["in_memory"]["label_consistency"].uri, "disagreements.csv")) as f:
        lines = list(csv.DictReader(f))
    assert lines and all(line["consensus"] == expected[line["example_id"]] for line in lines)


def test_fail_gate_stops_with_worst_classes_and_summary_path(demo):
    examples, schema, root = demo
    with pytest.raises(executor.report.AgreementGateError) as error:
        run_executor(examples, schema, str(root / "fail"), on_low_agreement="fail", consensus_method="dawid_skene")
    summary = os.path.join(str(root / "fail"), "label_consistency", "summary.md")
    assert "Chinstrap" in str(error.value) and summary in str(error.value)
    with open(os.path.join(os.path.dirname(summary), "metrics.json")) as f:
        assert json.load(f)["gate"]["status"] == "fail"


def test_without_a_schema_domain_the_classes_are_the_values_of_every_split(demo, demo_report, tmp_path):
    examples, schema, _ = demo
    proto = io_utils.SchemaReader().read(os.path.join(schema.uri, "schema.pbtxt"))
    for feature in proto.feature:
        if feature.name in ["species"] + LABELERS:
            feature.ClearField("domain")
            feature.ClearField("string_domain")
    no_domain = standard_artifacts.Schema()
    no_domain.uri = str(tmp_path / "schema")
    io_utils.write_pbtxt_file(os.path.join(no_domain.uri, "schema.pbtxt"), proto)
    assert executor.classes_from_schema(proto, "species", LABELERS) is None
    outputs = run_executor(examples, no_domain, str(tmp_path / "out"))
    metrics = json.load(open(outputs["metrics"]))
    _, with_domain = demo_report
    frame, _ = demo_labels()
    assert sorted(metrics["per_class"]) == sorted(set(frame[["species"] + LABELERS].values.ravel()) - {""})
    assert metrics == with_domain


def test_missing_labeler_column_is_named(demo, tmp_path):
    examples, schema, _ = demo
    named = r"\[labels\] labeler_columns: column\(s\) 'labeler_x' not found"
    with pytest.raises(executor.LabelConsistencyError, match=named):
        run_executor(examples, schema, str(tmp_path), labelers=["labeler_a", "labeler_x"])


def test_unknown_values_single_class_and_lone_labels_are_reported(demo, tmp_path):
    _, schema, _ = demo  # the demo's schema: classes Adelie, Chinstrap, Gentoo
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    frame = pd.read_csv(DEMO_CSV, dtype=str, keep_default_na=False).head(12)
    frame[LABELERS] = "Adelie"
    frame.loc[:3, "labeler_c"] = "penguin?"  # not a class in the schema
    frame.loc[4:5, ["labeler_b", "labeler_c"]] = ""  # a single label left
    frame.to_csv(csv_dir / "bad.csv", index=False)
    examples = examples_from_csv(csv_dir, tmp_path / "examples", "example_id")
    outputs = run_executor(examples, schema, str(tmp_path / "out"))
    metrics = json.load(open(outputs["metrics"]))
    assert metrics["input_problems"]["label values not in the classes (treated as missing)"] == {
        "labeler_c": {"count": 4, "values": ["penguin?"]}}
    assert metrics["n_examples_fewer_than_two_labels"] == 2
    assert metrics["krippendorff_alpha"] is None and metrics["undefined"]
    assert metrics["gate"]["status"] == "warn"
    assert outputs["label_consistency"].get_string_custom_property("gate") == "warn"


@pytest.mark.parametrize("bucket_bytes,flush_bytes,mode", [
    (long_form.BUCKET_BYTES, long_form.FLUSH_BYTES, "in_memory"), (300, 1, "in_memory"),
    (300, long_form.FLUSH_BYTES, "multi_processing")],  # its workers run with the module's FLUSH_BYTES
    ids=["one-bucket", "many-buckets-small-flushes", "many-buckets-multi-processing"])
def test_long_form_gives_the_wide_figures_and_reports_duplicates(demo, demo_report, tmp_path, monkeypatch,
                                                                  bucket_bytes, flush_bytes, mode):
    monkeypatch.setattr(long_form, "BUCKET_BYTES", bucket_bytes)  # read where the pipeline is built
    monkeypatch.setattr(long_form, "FLUSH_BYTES", flush_bytes)
    config = Config()
    config.pipeline.beam_mode = mode
    examples, schema, _ = demo
    frame = pd.read_csv(DEMO_CSV, dtype=str, keep_default_na=False)
    long = frame.melt(id_vars=["example_id"], value_vars=LABELERS, var_name="labeler_id", value_name="label")
    long = long[long["label"] != ""].sample(frac=1, random_state=0)
    extra = pd.DataFrame([list(long.iloc[0]), ["no-such-example", "labeler_a", "Adelie"]], columns=long.columns)
    pd.concat([long, extra]).to_csv(tmp_path / "long.csv", index=False)
    if bucket_bytes < long_form.BUCKET_BYTES:
        assert long_form.bucket_count(str(tmp_path / "long.csv")) > 20
    # A failed attempt's bucket file left in the join's folder: never read (only committed bundles' paths are).
    join_folder = tmp_path / "out" / "tmp" / "test" / "long-form-join"  # the executor tmp dir is tmp/<unique id>
    join_folder.mkdir(parents=True)
    (join_folder / "00000-leftover").write_text('["no-such-example", ["labeler_b", "Gentoo"]]\n' * 3)
    outputs = run_executor(examples, schema, str(tmp_path / "out"), labelers=[], beam_pipeline_args=beam_args(config),
                           long_form_file=str(tmp_path / "long.csv"))
    assert not join_folder.exists()
    metrics = json.load(open(outputs["metrics"]))
    wide_outputs, wide = demo_report
    for key in ("krippendorff_alpha", "fleiss_kappa", "hlp_estimate", "cohen_kappa", "per_class", "n_examples"):
        assert metrics[key] == (wide[key] if isinstance(wide[key], dict) else pytest.approx(wide[key]))
    # The same consensus records and disagreement lines as from the labeler columns.
    key = lambda row: json.dumps(row, sort_keys=True, default=repr)  # noqa: E731
    assert sorted(map(key, read_examples(outputs["consensus_examples"]))) == sorted(
        map(key, read_examples(wide_outputs["consensus_examples"])))
    disagreements = [os.path.join(o["label_consistency"].uri, "disagreements.csv") for o in (outputs, wide_outputs)]
    assert open(disagreements[0]).read() == open(disagreements[1]).read()
    problems = metrics["input_problems"]
    assert problems["duplicate (example_id, labeler_id) rows"] == 1
    assert problems["long-form rows whose example_id is not in the Examples"] == 1
    assert "conflicting duplicates (that labeler's label treated as missing)" not in problems


def test_long_form_header_is_checked(demo, tmp_path):
    examples, schema, _ = demo
    (tmp_path / "bad.csv").write_text("id,who,label\nx,a,Adelie\n")
    with pytest.raises(executor.LabelConsistencyError, match="long_form_file .* header must be"):
        run_executor(examples, schema, str(tmp_path / "out"), labelers=[], long_form_file=str(tmp_path / "bad.csv"))
