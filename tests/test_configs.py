"""The typed config: defaults run the demo, overrides apply, and every mistake names its key."""
import pytest

from pipeline.configs import Config, ConfigError, config_from_dict, load_config


def test_defaults_describe_the_demo():
    config = load_config()
    assert config.data.input_dir == "data/demo"
    assert config.labels.label_column == "species"
    assert config.labels.metadata_columns == ["site", "season"]
    assert "--runner=FnApiRunner" in config.beam_args()
    assert "--direct_running_mode=in_memory" in config.beam_args()


def test_toml_overrides_apply(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[data]\ninput_dir = "elsewhere"\n[labels]\nlabeler_columns = []\n'
                    '[pipeline]\nbeam_mode = "multi_processing"\nbeam_workers = 3\n[model]\nlearning_rate = 1\n')
    config = load_config(str(path))
    assert config.data.input_dir == "elsewhere"
    assert config.labels.labeler_columns == []
    assert config.model.learning_rate == 1.0 and isinstance(config.model.learning_rate, float)
    assert {"--direct_running_mode=multi_processing", "--direct_num_workers=3"} <= set(config.beam_args())


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


def test_validate_returns_the_config():
    config = Config()
    assert config.validate() is config
