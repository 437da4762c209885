"""Bad input, faults and hostile values (issue 15): each case gets a clear, early answer, and nothing is half written
or silently wrong.

Most cases run only the pre-flight (pipeline/inputs.py, in process, or through the CLI when the exit status and the
console matter: those stop before TensorFlow loads). A few run one real executor (FastExampleGen, Conflicts,
LabelErrors) on a small real Examples artifact. One real pipeline run (`--data-only`, 61 rows, killed with SIGKILL
and run again) checks the first contact with a new CSV end to end. Tests over about 20 s are marked `slow`.
"""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from ml_metadata.proto import metadata_store_pb2

from components.input_checks import DEFAULT_MISSING_VALUES
from components.safe_text import markdown_cell, restore_cell, spreadsheet_cell
from pipeline.configs import ConfigError, config_from_dict, load_config
from pipeline.inputs import InputError, check_inputs
from tests.pipeline_runs import REPO, open_store, run_cli, write_config

HEADER = "example_id,species,bill_length_mm,body_mass_g,site"
DEMO_SPAN = os.path.join(REPO, "data", "demo", "span-1", "penguins.csv")


def _rows(n=40, classes=("Adelie", "Gentoo")):
    """`n` well-formed rows; ids pg-000.., classes alternating."""
    return [f"pg-{i:03d},{classes[i % len(classes)]},{39 + i % 7}.5,{3500 + 10 * i},Dream" for i in range(n)]


def _data(tmp_path, lines, name="input.csv", header=HEADER, encoding="utf-8", bom=False):
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    text = "\n".join([header, *lines]) + "\n"
    (data_dir / name).write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return data_dir


def _config(tmp_path, data_dir, **sections):
    """A config for other data than the demo: only the keys a first contact needs, plus `sections`."""
    values = {"data": {"input_dir": str(data_dir), **sections.pop("data", {})},
              "pipeline": {"output_dir": str(tmp_path / "out")}}
    for section, keys in sections.items():
        values.setdefault(section, {}).update(keys)
    return values


def _preflight(tmp_path, lines, data_only=False, **sections):
    config = config_from_dict(_config(tmp_path, _data(tmp_path, lines), **sections))
    return check_inputs(config, data_only=data_only), config


def _refused(tmp_path, lines, *expected, data_only=False, **sections):
    """The pre-flight refuses the input with a message holding every `expected` text."""
    with pytest.raises(InputError) as error:
        _preflight(tmp_path, lines, data_only=data_only, **sections)
    for text in expected:
        assert text in str(error.value), str(error.value)
    return str(error.value)


def _cli(tmp_path, lines=None, *args, **sections):
    """`python -m pipeline run` on the rows; asserts no traceback reached the console and nothing was written."""
    data_dir = _data(tmp_path, lines if lines is not None else _rows())
    path = write_config(tmp_path / "c.toml", _config(tmp_path, data_dir, **sections))
    result = run_cli("run", "--config", path, *args, timeout=300)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result


# --------------------------------------------------------------------------------------------------------------------
# Encoding.

def test_byte_order_mark_is_dropped(tmp_path):
    config = config_from_dict(_config(tmp_path, _data(tmp_path, _rows(), bom=True)))
    assert check_inputs(config, data_only=True).rows == 40  # the id column is found despite the BOM


def test_byte_order_mark_with_stock_example_gen_is_refused(tmp_path):
    config = config_from_dict(_config(tmp_path, _data(tmp_path, _rows(), bom=True), data={"example_gen": "csv"}))
    with pytest.raises(InputError, match=r"input.csv: line 1 starts with a UTF-8 byte-order mark"):
        check_inputs(config)


def test_latin1_data_names_file_and_line_and_exits_2(tmp_path):
    rows = _rows()
    rows[6] = rows[6].replace("Dream", "Dr\u00e9am")
    data_dir = _data(tmp_path, rows, encoding="latin-1")
    result = run_cli("run", "--config", write_config(tmp_path / "c.toml", _config(tmp_path, data_dir)), timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "input.csv: line 8: byte b'\\xe9' is not valid UTF-8" in result.stderr


def test_non_utf8_config_names_line(tmp_path):
    path = tmp_path / "c.toml"
    path.write_bytes(b'[data]\ninput_dir = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"c.toml: line 2: byte b'\\xe9' is not valid UTF-8"):
        load_config(str(path))


# --------------------------------------------------------------------------------------------------------------------
# Missing values, numbers and cells.

@pytest.mark.parametrize("token", ["NA", "nan", "NaN", "null", "", "inf", "-inf"])
def test_missing_value_tokens_keep_a_numeric_column_numeric(tmp_path, token):
    rows = [row.split(",") for row in _rows()]
    rows[3][2] = token
    rows = [",".join(row) for row in rows]
    assert token in DEFAULT_MISSING_VALUES
    checked, config = _preflight(tmp_path, rows)
    assert config.model.numeric_features == ["bill_length_mm", "body_mass_g"]  # typed from the data: still numeric


def test_text_in_numeric_column_names_file_line_column(tmp_path):
    rows = _rows()
    rows[4] = rows[4].replace("3540", "heavy")
    _refused(tmp_path, rows, "input.csv: line 6, column 'body_mass_g': 'heavy' is not a finite number",
             "[data] missing_values", model={"numeric_features": ["bill_length_mm", "body_mass_g"]})


def test_nan_not_listed_as_missing_is_refused_in_a_numeric_column(tmp_path):
    rows = _rows()
    rows[2] = rows[2].replace("3520", "nan")
    missing = [v for v in DEFAULT_MISSING_VALUES if v != "nan"]
    _refused(tmp_path, rows, "line 4, column 'body_mass_g': 'nan' is not a finite number",
             data={"missing_values": missing}, model={"numeric_features": ["body_mass_g"]})


def test_missing_token_with_stock_example_gen_is_refused(tmp_path):
    rows = _rows()
    rows[2] = rows[2].replace("3520", "NA")
    _refused(tmp_path, rows, "line 4, column 'body_mass_g': 'NA' marks a missing value, which stock CsvExampleGen",
             data={"example_gen": "csv"}, model={"numeric_features": ["body_mass_g"]})


def test_huge_cell_is_refused_naming_line_and_column(tmp_path):
    rows = _rows()
    rows[9] = rows[9].replace("Dream", "x" * 2000)
    _refused(tmp_path, rows, "line 11, column 'site': the cell has 2000 bytes, more than [data] max_cell_bytes (1000)",
             data={"max_cell_bytes": 1000})


def test_duplicate_column_names(tmp_path):
    data_dir = _data(tmp_path, [r + ",Biscoe" for r in _rows()], header=HEADER + ",site")
    with pytest.raises(InputError, match=r"input.csv: line 1: column name\(s\) 'site' appear more than once"):
        check_inputs(config_from_dict(_config(tmp_path, data_dir)))


def test_header_only_data_file(tmp_path):
    _refused(tmp_path, [], "the input has a header but no rows", data_only=True)


# --------------------------------------------------------------------------------------------------------------------
# Ids and labels.

def test_duplicate_ids_name_every_line(tmp_path):
    rows = _rows()
    rows[20] = rows[20].replace("pg-020", "pg-005")
    _refused(tmp_path, rows, "id(s) in [data] id_column 'example_id' occur more than once: 'pg-005' at",
             "input.csv: lines 7, 22", data_only=True)


def test_id_column_with_few_values_is_caught_as_duplicates(tmp_path):
    _refused(tmp_path, _rows(), "occur more than once", data={"id_column": "site"}, data_only=True)


def test_empty_id_names_line(tmp_path):
    rows = _rows()
    rows[11] = rows[11].replace("pg-011", "")
    _refused(tmp_path, rows, "1 row(s) have no id in [data] id_column 'example_id': ", "input.csv: line 13",
             data_only=True)


def test_label_with_stray_space(tmp_path):
    rows = _rows()
    rows[0] = rows[0].replace("Adelie", "Adelie ")
    _refused(tmp_path, rows, "have leading or trailing whitespace (e.g. 'Adelie ')", "input.csv: line 2",
             data_only=True)


def test_empty_label_stops_training_but_not_a_data_only_check(tmp_path):
    rows = _rows()
    rows[14] = rows[14].replace("Adelie", "")
    _refused(tmp_path, rows, "1 example(s) have no label in [labels] label_column 'species'", "input.csv: line 16")
    checked, _ = _preflight(tmp_path, rows, data_only=True)
    assert any("have no label" in note and "line 16" in note for note in checked.notes)


def test_class_only_in_eval_stops_training(tmp_path):
    """One Chinstrap row, whose id hashes to eval: the Evaluator would crash on an unseen class minutes later."""
    from components.input_checks import split_index
    eval_id = next(f"pg-9{i:02d}" for i in range(100) if split_index([f"pg-9{i:02d}"], [4, 1], False)[0] == 1)
    rows = _rows() + [f"{eval_id},Chinstrap,45.5,3700,Dream"]
    _refused(tmp_path, rows, "class 'Chinstrap' of [labels] label_column 'species' has 1 example(s), all in the eval "
                             "split", "input.csv: line 42")


def test_split_check_agrees_with_fast_example_gen(tmp_path):
    """The pre-flight's split of each id is FastExampleGen's: its hash keys are the same bytes."""
    import pyarrow as pa
    from components.fast_example_gen import split_hash
    from components.input_checks import partition_key
    ids = ["pg-1", "x", "\u00e9" * 200]
    values = pa.LargeListArray.from_arrays(pa.array([0, 1, 2, 3]), pa.array([i.encode() for i in ids],
                                                                         pa.large_binary()))
    assert split_hash._bytes_keys(values) == [partition_key(i, False) for i in ids]
    ints = [0, 1, -5, 2 ** 40, 127, 128]
    values = pa.LargeListArray.from_arrays(pa.array(range(len(ints) + 1)), pa.array(ints, pa.int64()))
    assert split_hash._int_keys(values) == [partition_key(str(i), True) for i in ints]


def test_executors_check_ids_and_labels_by_id():
    """What executors check for data that did not pass the pre-flight (Kubeflow): the same rules, naming ids."""
    from components.input_checks import id_and_label_problems
    assert id_and_label_problems(["a", "b", "a", None, "c"], ["x", "y ", "x", "x", None], "[data] id_column 'id'",
                                 "[labels] label_column 'y'") == [
        "1 example(s) have no id in [data] id_column 'id'",
        "1 id(s) in [data] id_column 'id' occur more than once: 'a' (2 times)",
        "1 label(s) in [labels] label_column 'y' have leading or trailing whitespace, e.g. 'y ' (examples b)"]
    assert id_and_label_problems([1, 2, 3], [0, 1, 1], "k", "l") == []


# --------------------------------------------------------------------------------------------------------------------
# The corrections file, checked whole before the run.

CORRECTIONS_HEADER = "example_id,corrected_label,reviewer,reason"


@pytest.mark.parametrize("content, expected", [
    ((CORRECTIONS_HEADER + "\npg-001,Adelie,ana,caf\u00e9\n").encode("latin-1"),
     "line 2: byte b'\\xe9' is not valid UTF-8"),
    ((CORRECTIONS_HEADER + "\npg-001,Adelie,ana\n").encode(), "line 2: 3 fields but the header has 4"),
    ((CORRECTIONS_HEADER + "\n").encode(), "holds no correction"),
    ((CORRECTIONS_HEADER + "\npg-777,Adelie,ana,typo\n").encode(), "line 2: example_id 'pg-777' is not in the examples"),
    ((CORRECTIONS_HEADER + "\npg-001,Emperor,ana,x\n").encode(), "label 'Emperor' is not in the data's labels"),
])
def test_bad_corrections_file_is_refused_before_the_run(tmp_path, content, expected):
    (tmp_path / "corrections.csv").write_bytes(content)
    message = _refused(tmp_path, _rows(), expected, labels={"corrections_file": str(tmp_path / "corrections.csv")})
    assert "corrections.csv" in message


def test_correction_of_a_duplicated_id_is_refused(tmp_path):
    from components.corrections.parse import check_ids, parse_corrections
    corrections, _, _ = parse_corrections("c.csv", CORRECTIONS_HEADER + "\npg-001,Adelie,ana,x\n")
    assert check_ids("c.csv", corrections, {"pg-001": 2}) == [
        "line 2: example_id 'pg-001' names 2 examples; ids must be unique before a correction can say which one it "
        "changes"]


@pytest.mark.slow
def test_corrections_file_errors_exit_2_before_the_run(tmp_path):
    (tmp_path / "corrections.csv").write_text(CORRECTIONS_HEADER + "\n")
    result = _cli(tmp_path, None, labels={"corrections_file": str(tmp_path / "corrections.csv")})
    assert result.returncode == 2 and "holds no correction" in result.stderr
    assert not (tmp_path / "out" / "pipeline_root").exists()  # nothing ran, nothing half written


# --------------------------------------------------------------------------------------------------------------------
# Config values and the output folder.

def test_out_of_range_config_values_exit_2(tmp_path):
    result = _cli(tmp_path, None, model={"min_accuracy": 1.5})
    assert result.returncode == 2
    assert "[model] min_accuracy is an accuracy and must be between 0 and 1, got 1.5" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_dir(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = _cli(tmp_path, None, pipeline={"output_dir": str(locked / "out")})
    assert result.returncode == 2 and "[pipeline] output_dir" in result.stderr and "cannot be written" in result.stderr


def test_unwritable_output_dir_as_a_file(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    result = _cli(tmp_path, None, pipeline={"output_dir": str(tmp_path / "file" / "out")})
    assert result.returncode == 2
    assert "[pipeline] output_dir" in result.stderr and "cannot be written: Not a directory" in result.stderr


@pytest.mark.slow
def test_corrupt_metadata_store(tmp_path):
    store = tmp_path / "metadata.sqlite"
    store.write_bytes(os.urandom(4096))
    path = write_config(tmp_path / "c.toml", {"pipeline": {"metadata_path": str(store)}})
    for command in ("lineage", "runs"):
        result = run_cli(command, "--config", path, timeout=300)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert f"{store} is not a readable ML Metadata store (file is not a database)" in result.stderr


# --------------------------------------------------------------------------------------------------------------------
# Hostile values.

@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\",\"y\")", "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx",
                                   "a\x1b[31mred\x07", "plain", "-1.5", "+3", "'=x"])
def test_spreadsheet_cells_are_inert_and_round_trip(value):
    cell = spreadsheet_cell(value)
    assert not cell.startswith(("=", "+", "@", "\t", "\r")) or cell in ("+3",)
    assert not cell.startswith("-") or cell == "-1.5"
    assert "\x1b" not in cell and "\x07" not in cell
    assert restore_cell(cell) == (value[1:] if value == "'=x" else value)  # the one documented ambiguity


def test_markdown_cells_keep_the_table_shape():
    assert markdown_cell("labeler_a|labeler_b") == "labeler_a\\|labeler_b"
    assert markdown_cell("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert markdown_cell("x" * 10_000).endswith("(9500 more characters)")


def test_review_queue_round_trip_through_the_corrections_reader(tmp_path):
    """A queue row with hostile id and label, written as the ReviewQueue writes it, is read back by the corrections
    reader as the original id."""
    from components.corrections.parse import parse_corrections
    from components.review_queue.queue import EXTRA_COLUMNS, QUEUE_COLUMNS
    from components.safe_text import spreadsheet_row
    row = dict.fromkeys(QUEUE_COLUMNS + EXTRA_COLUMNS, "")
    row.update({"example_id": "=cmd|' /C calc'!A0", "given_label": "-Adelie", "corrected_label": "@Gentoo",
                "reviewer": "ana", "reason": "=1+1", "reasons": "y" * 5000})
    path = tmp_path / "queue.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, QUEUE_COLUMNS + EXTRA_COLUMNS)
        writer.writeheader()
        writer.writerow(spreadsheet_row(row, 500, keep_whole=QUEUE_COLUMNS))
    text = path.read_text()
    assert "\n=cmd" not in text and ",@Gentoo" not in text
    corrections, _, _ = parse_corrections(str(path), text)
    assert corrections["=cmd|' /C calc'!A0"].label == "@Gentoo"
    assert corrections["=cmd|' /C calc'!A0"].reason == "=1+1"


# --------------------------------------------------------------------------------------------------------------------
# Executors: the same rules for data that arrives another way, and findings that stay right.

def _fast_examples(csv_dir, output_dir, missing_values=DEFAULT_MISSING_VALUES):
    """Examples written by FastExampleGen's executor from `csv_dir`, split by example_id like the pipeline."""
    from google.protobuf import json_format
    from tfx import v1 as tfx
    from tfx.types import standard_artifacts
    from components.fast_example_gen.component import FastExampleGen
    from components.fast_example_gen.executor import Executor
    from tests.artifacts import LOCAL_BEAM_ARGS
    component = FastExampleGen(input_base=str(csv_dir), missing_values=missing_values, output_config=tfx.proto.Output(
        split_config=tfx.proto.SplitConfig(splits=[tfx.proto.SplitConfig.Split(name="train", hash_buckets=4),
                                                   tfx.proto.SplitConfig.Split(name="eval", hash_buckets=1)],
                                           partition_feature_name="example_id")))
    properties = {k: json_format.MessageToJson(v) if hasattr(v, "DESCRIPTOR") else v
                  for k, v in component.exec_properties.items() if v is not None}
    examples = standard_artifacts.Examples()
    examples.uri = str(output_dir)
    Executor(Executor.Context(beam_pipeline_args=LOCAL_BEAM_ARGS)).Do({}, {"examples": [examples]}, properties)
    return examples


def _feature_kinds(examples):
    import tensorflow as tf
    kinds = {}
    for split in ("train", "eval"):
        pattern = os.path.join(examples.uri, f"Split-{split}", "*")
        for record in tf.data.TFRecordDataset(tf.io.gfile.glob(pattern), compression_type="GZIP"):
            example = tf.train.Example.FromString(record.numpy())
            for name, feature in example.features.feature.items():
                if feature.WhichOneof("kind"):
                    kinds.setdefault(name, set()).add(feature.WhichOneof("kind"))
    return kinds


@pytest.mark.slow
def test_na_in_the_demo_keeps_columns_numeric_and_the_planted_conflicts_found(tmp_path):
    """One `NA` per numeric column (and `nan`, `inf`) used to turn the columns into text: Conflicts found 0 of the 3
    planted conflicts. Read as missing, every column stays numeric and all 3 are found, and no row is lost."""
    from components.conflicts.executor import CONFLICTS_FILE, SUMMARY_FILE, Executor
    from components.conflicts.component import LabelConflicts
    from pipeline.configs import Config
    from tests.artifacts import LOCAL_BEAM_ARGS, schema_for
    with open(DEMO_SPAN) as f:
        rows = list(csv.reader(f))
    header = rows[0]
    for i, (column, token) in enumerate([("bill_length_mm", "NA"), ("bill_depth_mm", "nan"),
                                         ("flipper_length_mm", "inf"), ("body_mass_g", "null")]):
        rows[3 + i][header.index(column)] = token
    (tmp_path / "csv").mkdir()
    with open(tmp_path / "csv" / "penguins.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    examples = _fast_examples(tmp_path / "csv", tmp_path / "examples")
    kinds = _feature_kinds(examples)
    numeric = {"bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"}
    assert {name: kinds[name] for name in numeric} == {name: {"float_list"} if name != "body_mass_g" and
                                                      name != "flipper_length_mm" else {"int64_list"}
                                                      for name in numeric}
    config = Config()
    properties = {"id_column": "example_id", "label_column": "species",
                  "labeler_columns": json.dumps(config.labels.labeler_columns),
                  "metadata_columns": json.dumps(config.labels.metadata_columns), "exclude": "[]",
                  "tolerance": config.conflicts.tolerance, "relative": False, "absolute_tolerances": "{}",
                  "relative_tolerances": "{}"}
    output = LabelConflicts()
    output.uri = str(tmp_path / "conflicts")
    Executor(Executor.Context(beam_pipeline_args=LOCAL_BEAM_ARGS)).Do(
        {"examples": [examples], "schema": [schema_for(examples, tmp_path / "schema")]}, {"conflicts": [output]},
        properties)
    with open(os.path.join(output.uri, SUMMARY_FILE)) as f:
        summary = json.load(f)
    with open(os.path.join(output.uri, CONFLICTS_FILE)) as f:
        found = {row["example_id"] for row in csv.DictReader(f)}
    with open(os.path.join(REPO, "data", "answer_keys", "planted_conflicts.csv")) as f:
        planted = list(csv.DictReader(f))
    assert summary["examples"] == len(rows) - 1  # every row read
    assert {p["original_id"] for p in planted} | {p["copy_id"] for p in planted} <= found
    assert summary["groups"] == len(planted)


@pytest.mark.slow
def test_label_errors_on_one_class_writes_why_and_goes_on(tmp_path):
    """A finder that cannot run on the data (one class) says so in its output instead of stopping the run; with
    on_cannot_run = "fail" it stops."""
    from components.label_errors import executor as le
    from components.label_errors.finder import LabelErrorsError
    from components.label_errors.component import LabelIssues
    from tests.artifacts import LOCAL_BEAM_ARGS, examples_from_csv, schema_for
    data_dir = _data(tmp_path, _rows(classes=("Adelie",)))
    examples = examples_from_csv(data_dir, tmp_path / "examples", id_column="example_id")
    schema = schema_for(examples, tmp_path / "schema")
    properties = {"id_column": "example_id", "label_column": "species",
                  "features": json.dumps(["bill_length_mm", "body_mass_g"]), "metadata_columns": "[]", "folds": 5,
                  "model": "logistic_regression", "seed": 0}

    def run(on_cannot_run, uri):
        output = LabelIssues()
        output.uri = str(uri)
        le.Executor(le.Executor.Context(beam_pipeline_args=LOCAL_BEAM_ARGS)).Do(
            {"examples": [examples], "schema": [schema]}, {"label_issues": [output]},
            dict(properties, on_cannot_run=on_cannot_run))
        return output

    output = run("skip", tmp_path / "skip")
    with open(os.path.join(output.uri, le.SUMMARY_FILE)) as f:
        summary = json.load(f)
    assert "need at least 2 classes" in summary["skipped"] and summary["counts"]["examples"] == 40
    assert output.get_string_custom_property("skipped") == summary["skipped"]
    with open(os.path.join(output.uri, le.ISSUES_FILE)) as f:
        assert list(csv.DictReader(f)) == []
    with pytest.raises(Exception, match="need at least 2 classes"):
        run("fail", tmp_path / "fail")
    assert issubclass(LabelErrorsError, ValueError)

    # Data that did not pass the pre-flight (Kubeflow): a text cell made body_mass_g a text column. Coerced to
    # numbers it would be NaN and imputed, silently; the executor refuses it, naming the column.
    rows = _rows()
    rows[4] = rows[4].replace("3540", "heavy")
    text_dir = tmp_path / "text"
    text_dir.mkdir()
    (text_dir / "input.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    examples = examples_from_csv(text_dir, tmp_path / "text_examples", id_column="example_id")
    schema = schema_for(examples, tmp_path / "text_schema")
    with pytest.raises(InputError, match=r"feature\(s\) 'body_mass_g' .* hold text in the data, not numbers"):
        run("skip", tmp_path / "text_out")


# --------------------------------------------------------------------------------------------------------------------
# First contact: a new CSV, only input_dir, id_column and label_column, --data-only; killed with SIGKILL and run again.
# One real pipeline run (and a part of one).

def _running_execution(store_path):
    if not os.path.exists(store_path):
        return False
    try:
        store = open_store(store_path)
        return any(e.last_known_state == metadata_store_pb2.Execution.RUNNING for e in store.get_executions())
    except Exception:  # the store is being created
        return False


@pytest.mark.slow
def test_first_contact_with_a_new_csv_killed_and_resumed(tmp_path):
    """61 rows, labels 'cat'/'dog', NA/nan/null in three columns and one planted conflict (t-060 copies t-010's
    features with the other label). No [model] features, no labelers, no instructions file: the features are typed
    from the data and printed. The run is killed with SIGKILL while StatisticsGen runs; the next run takes what was
    finished from TFX's cache, completes, finds the planted conflict, records that no instructions were given, and
    the ledger says killed, then data-only. Neither console has TensorFlow's lines or warnings; each run has its own
    log file."""
    import random
    random.seed(1)
    data = []
    for i in range(60):
        label = "cat" if i % 2 else "dog"
        data.append([f"t-{i:03d}", label, str(round(random.gauss(3 if label == "cat" else 6, 1), 2)),
                     str(round(random.gauss(10, 2), 2)), random.choice(["red", "blue"])])
    data[5][2], data[7][3], data[9][4] = "NA", "nan", "null"
    data.append(["t-060", "cat" if data[10][1] == "dog" else "dog", *data[10][2:]])
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "d.csv").write_text("\n".join(["id,animal,x,y,colour"] + [",".join(r) for r in data]) + "\n")
    path = write_config(tmp_path / "c.toml", {"data": {"input_dir": str(data_dir), "id_column": "id"},
                                              "labels": {"label_column": "animal"},
                                              "pipeline": {"output_dir": str(tmp_path / "out")}})
    store_path = tmp_path / "out" / "metadata.sqlite"

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO)
    killed = subprocess.Popen([sys.executable, "-m", "pipeline", "run", "--data-only", "--config", path], cwd=REPO,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    first_console = []
    for line in killed.stdout:
        first_console.append(line)
        if "StatisticsGen ..." in line:
            while killed.poll() is None and not _running_execution(store_path):
                time.sleep(0.2)
            os.killpg(killed.pid, signal.SIGKILL)
            break
    killed.wait(timeout=120)
    first_console = "".join(first_console) + killed.stdout.read()
    assert killed.returncode == -signal.SIGKILL, first_console
    assert "Input: 1 file(s), 61 rows" in first_console
    assert "numeric: x, y; categorical: colour" in first_console

    result = run_cli("run", "--data-only", "--config", path, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    for component in ("FastExampleGen", "Provenance"):
        assert f"{component} done (from cache)" in result.stdout
    assert "StatisticsGen done (from cache)" not in result.stdout  # killed while running: it runs again
    for console in (first_console, result.stdout + result.stderr):
        for noise in ("cuFFT", "cuDNN", "Traceback", "Warning:", "warnings.warn"):
            assert noise not in console, noise
    store = open_store(store_path)
    (conflicts,) = store.get_artifacts_by_type("components.LabelConflicts")
    assert conflicts.custom_properties["groups"].int_value == 1
    with open(os.path.join(conflicts.uri, "conflicts.csv")) as f:
        assert {row["example_id"] for row in csv.DictReader(f)} == {"t-010", "t-060"}
    provenance = [a for a in store.get_artifacts_by_type("Examples") if "instructions_file" in a.custom_properties]
    assert provenance and all("none given" in a.custom_properties["instructions_file"].string_value
                              for a in provenance)
    runs = run_cli("runs", "--format", "json", "--config", path, timeout=600)
    assert runs.returncode == 0, runs.stderr
    assert [row["status"] for row in json.loads(runs.stdout)] == ["killed", "data-only"]
    assert len(os.listdir(tmp_path / "out" / "logs")) == 2  # one log file per run
