"""User mistakes end with one clear message and exit status 2, before TensorFlow even loads."""
import shutil

import pytest

from tests.pipeline_runs import REPO, run_cli, write_config

HEADER = ("example_id,species,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,site,season,"
          "labeler_a,labeler_b,labeler_c")
ROW = "pg-1,Adelie,39.1,18.7,181,3750,male,Dream,2007-08,Adelie,Adelie,"


def _run_with(tmp_path, csv_text=None, **sections):
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    if csv_text is not None:
        (data_dir / "input.csv").write_text(csv_text)
    sections.setdefault("data", {}).setdefault("input_dir", str(data_dir))
    sections.setdefault("pipeline", {"output_dir": str(tmp_path / "out")})
    result = run_cli("run", "--config", write_config(tmp_path / "c.toml", sections), timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_unknown_config_key(tmp_path):
    result = _run_with(tmp_path, HEADER + "\n" + ROW + "\n", labels={"label_col": "species"})
    assert result.returncode == 2
    assert "unknown key 'label_col'" in result.stderr and "c.toml" in result.stderr


def test_wrong_type(tmp_path):
    result = _run_with(tmp_path, HEADER + "\n" + ROW + "\n", model={"train_steps": "many"})
    assert result.returncode == 2 and "'train_steps' must be int" in result.stderr


def test_missing_config_file(tmp_path):
    result = run_cli("run", "--config", str(tmp_path / "missing.toml"), timeout=120)
    assert result.returncode == 2 and "missing.toml does not exist" in result.stderr


def test_folder_without_csv(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("hello")
    result = _run_with(tmp_path)
    assert result.returncode == 2
    assert "no file matches [data] file_pattern '*.csv'" in result.stderr and "notes.txt" in result.stderr


def test_missing_input_dir(tmp_path):
    result = _run_with(tmp_path, data={"input_dir": str(tmp_path / "nowhere")})
    assert result.returncode == 2 and "is not a folder" in result.stderr


def test_missing_label_column(tmp_path):
    header = HEADER.replace("species,", "")
    row = ROW.replace("Adelie,", "", 1)
    result = _run_with(tmp_path, header + "\n" + row + "\n")
    assert result.returncode == 2
    assert "[labels] label_column names 'species'" in result.stderr and "input.csv" in result.stderr


def test_missing_labeler_column(tmp_path):
    result = _run_with(tmp_path, HEADER + "\n" + ROW + "\n", labels={"labeler_columns": ["labeler_a", "labeler_z"]})
    assert result.returncode == 2
    assert "[labels] labeler_columns names 'labeler_z'" in result.stderr


def test_ragged_row_names_file_and_line(tmp_path):
    result = _run_with(tmp_path, HEADER + "\n" + ROW + "\n" + ROW + "\n" + "pg-3,Adelie,39.1\n" + ROW + "\n")
    assert result.returncode == 2
    assert "input.csv: line 4 has 3 fields but the header has 12" in result.stderr


def test_header_only_differs_between_files(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(f"{REPO}/data/demo/span-1/penguins.csv", data_dir / "a.csv")
    (data_dir / "b.csv").write_text(HEADER.replace("sex,", "") + "\n")
    result = _run_with(tmp_path)
    assert result.returncode == 2 and "b.csv: its header differs from" in result.stderr


@pytest.mark.parametrize("content", ["", "\n"])
def test_empty_file(tmp_path, content):
    result = _run_with(tmp_path, content)
    assert result.returncode == 2 and "input.csv: the file is empty" in result.stderr


@pytest.mark.parametrize("span, message", [
    ("-1", "--span: [data] span must be 0 (the latest span) or a span number, got -1"),
    ("5", "[data] span = 5, but 'span-{SPAN}/*.csv' in 'data/demo' matches spans 1, 2"),
])
def test_span_on_the_command_line_is_checked(tmp_path, span, message):
    config = write_config(tmp_path / "c.toml", {"pipeline": {"output_dir": str(tmp_path / "out")}})
    result = run_cli("run", "--span", span, "--config", config, timeout=120)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
