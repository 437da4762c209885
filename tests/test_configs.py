"""The typed config: defaults run the demo, overrides apply, and every mistake names its key."""
import pytest

from pipeline.configs import Config, ConfigError, config_from_dict, load_config
from pipeline.local_runner import beam_args


def test_defaults_describe_the_demo():
    config = load_config()
    assert config.data.input_dir == "data/demo"
    assert config.labels.label_column == "species"
    assert config.labels.metadata_columns == ["site", "season"]
    assert "--runner=FnApiRunner" in beam_args(config)
    assert "--direct_running_mode=in_memory" in beam_args(config)


def test_toml_overrides_apply(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[data]\ninput_dir = "elsewhere"\n[labels]\nlabeler_columns = []\n'
                    '[pipeline]\nbeam_mode = "multi_processing"\nbeam_workers = 3\n[model]\nlearning_rate = 1\n')
    config = load_config(str(path))
    assert config.data.input_dir == "elsewhere"
    assert config.labels.labeler_columns == []
    assert config.model.learning_rate == 1.0 and isinstance(config.model.learning_rate, float)
    assert {"--direct_running_mode=multi_processing", "--direct_num_workers=3"} <= set(beam_args(config))


@pytest.mark.parametrize("values, message", [
    ({"labels": {"label_colum": "y"}}, "unknown key 'label_colum'"),
    ({"modle": {}}, "unknown key 'modle'"),
    ({"labels": {"labeler_columns": "a"}}, "key 'labeler_columns' must be a list of str"),
    ({"model": {"train_steps": "100"}}, "key 'train_steps' must be int"),
    ({"pipeline": {"enable_cache": 1}}, "key 'enable_cache' must be bool"),
    ({"pipeline": {"beam_mode": "threads"}}, "[pipeline] beam_mode must be one of"),
    ({"model": {"batch_size": 0}}, "[model] batch_size must be at least 1"),
    ({"labels": {"label_column": ""}}, "[labels] label_column must not be empty"),
    ({"data": "x"}, "[data] must be a table"),
])
def test_mistakes_name_the_key(values, message):
    with pytest.raises(ConfigError) as error:
        config_from_dict(values, "my.toml")
    assert message in str(error.value)
    assert str(error.value).startswith("my.toml")


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "nope.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\ninput_dir = 1")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(str(bad))


def _set(config, dotted, value):
    section, key = dotted.split(".")
    setattr(getattr(config, section), key, value)


@pytest.mark.parametrize("changes, message", [
    ({"data.example_gen": "spark"}, "[data] example_gen must be one of fast, csv, got 'spark'"),
    ({"data.example_gen": "csv", "data.file_pattern": "*.parquet"}, 'only example_gen = "fast" reads'),
    ({"data.eval_buckets": 0}, "[data] eval_buckets must be at least 1, got 0"),
    ({"pipeline.beam_workers": 0}, "[pipeline] beam_workers must be at least 1, got 0"),
    ({"model.numeric_features": [], "model.categorical_features": []},
     "[model] needs at least one of numeric_features, categorical_features"),
    ({"data.id_column": ""}, "[data] id_column must not be empty"),
    ({"label_consistency.on_low_agreement": "stop"},
     "[label_consistency] on_low_agreement must be one of warn, fail, got 'stop'"),
    ({"label_consistency.train_on": "votes"}, "[label_consistency] train_on must be one of label, consensus"),
    ({"label_consistency.min_class_agreement": 1.5},
     "[label_consistency] min_class_agreement is a Krippendorff's alpha bar and must be between -1 and 1, got 1.5"),
    ({"conflicts.absolute_tolerances": {"x": 1.0}, "conflicts.relative_tolerances": {"x": 0.1}},
     "[conflicts] absolute_tolerances and relative_tolerances both name x"),
    ({"conflicts.tolerance": -0.1}, "[conflicts] tolerance must be at least 0, got -0.1"),
    ({"conflicts.relative": True, "conflicts.tolerance": 1.0},
     "[conflicts] tolerance is a relative tolerance and must be below 1, got 1.0"),
    ({"conflicts.relative_tolerances": {"mass": 2.0}},
     "[conflicts] mass is a relative tolerance and must be below 1"),
    ({"label_errors.folds": 1}, "[label_errors] folds must be at least 2, got 1"),
    ({"error_analysis.max_fit_examples": 99}, "[error_analysis] max_fit_examples must be at least 100, got 99"),
    ({"kubeflow.beam_profile": "samza"}, "[kubeflow] beam_profile must be one of direct, dataflow, flink, spark"),
    ({"data.span": -1}, "[data] span must be 0 (the latest span) or a span number, got -1"),
    ({"drift.on_drift": "stop"}, "[drift] on_drift must be one of warn, fail, got 'stop'"),
    ({"drift.baseline": "first"}, "[drift] baseline must be one of previous, pinned, got 'first'"),
    ({"drift.baseline": "pinned"}, '[drift] baseline = "pinned" needs baseline_span'),
    ({"drift.alpha": 0.0}, "[drift] alpha is a significance level and must be between 0 and 1, got 0.0"),
    ({"drift.alpha": 0.2}, "[drift] possible_alpha (0.1) must be at least alpha (0.2)"),
    ({"drift.feature_thresholds": {"mass": -0.1}}, "[drift] feature_thresholds.mass must be at least 0, got -0.1"),
    ({"drift.min_count": 0}, "[drift] min_count must be at least 1, got 0"),
    ({"drift.split": ""}, "[drift] split must name a split"),
    ({"monitor.max_accuracy_drop": 0.0}, "[monitor] max_accuracy_drop is a difference of accuracies and must be "
                                         "between 0 and 1, got 0.0"),
    ({"monitor.min_rows": 0}, "[monitor] min_rows must be at least 1, got 0"),
])
def test_validate_rejects_well_typed_but_wrong_values(changes, message):
    """What the type check cannot catch, validate() does, naming the source and the key; the same config with
    only that change undone is valid."""
    config = Config()
    for dotted, value in changes.items():
        _set(config, dotted, value)
    with pytest.raises(ConfigError) as error:
        config.validate("team.toml")
    assert str(error.value).startswith("team.toml: ") and message in str(error.value)
    with pytest.raises(ConfigError, match="^the configuration: "):
        config.validate()  # the default source name when no file is involved
    for dotted in changes:
        section, key = dotted.split(".")
        _set(config, dotted, getattr(getattr(Config(), section), key))
    assert config.validate("team.toml") is config


@pytest.mark.parametrize("changes", [
    {"label_consistency.min_agreement": -1.0, "label_consistency.min_class_agreement": 1.0},  # the bounds of alpha
    {"conflicts.relative": True, "conflicts.tolerance": 0.99},
    {"conflicts.tolerance": 0.0, "conflicts.absolute_tolerances": {"x": 0.0}},  # exact match
    {"model.numeric_features": [], "model.categorical_features": ["island"]},
    {"data.example_gen": "fast", "data.file_pattern": "*.parquet"},
    {"label_errors.folds": 2, "pipeline.beam_workers": 1},
    {"drift.baseline": "pinned", "drift.baseline_span": 1, "drift.alpha": 0.1, "drift.possible_alpha": 0.1},
    {"drift.categorical_linf": 0.0, "drift.numeric_wasserstein_sd": 0.0, "data.span": 3},
])
def test_validate_accepts_the_edges_of_what_is_allowed(changes):
    config = Config()
    for dotted, value in changes.items():
        _set(config, dotted, value)
    assert config.validate("team.toml") is config
    for dotted, value in changes.items():  # validate() checks, it does not rewrite
        section, key = dotted.split(".")
        assert getattr(getattr(config, section), key) == value
