"""The pipeline's configuration: one typed object whose defaults run the bundled demo.

`load_config(path)` overlays a TOML file on the defaults. Every section is a dataclass below and every key a field of
it; an unknown section or key, or a value of the wrong type, raises `ConfigError` naming the file and the key.
Relative paths are resolved against the working directory when the pipeline is built, not when the config is loaded.
"""
from __future__ import annotations

import dataclasses
import sys
import typing
from dataclasses import dataclass, field

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

BEAM_MODES = ("in_memory", "multi_processing")


class ConfigError(ValueError):
    """A configuration value the user must fix; the message names the file and key."""


@dataclass
class PipelineConfig:
    """Where a local run writes, and how Beam runs locally."""
    name: str = "tfx-datacentric"
    output_dir: str = "outputs"  # pipeline root: every artifact goes under it
    metadata_path: str = ""  # SQLite ML Metadata store; empty means <output_dir>/metadata.sqlite
    serving_dir: str = ""  # where Pusher copies a blessed model; empty means <output_dir>/serving_model
    enable_cache: bool = True
    beam_mode: str = "in_memory"  # one of BEAM_MODES
    beam_workers: int = 2  # used by multi_processing
    extra_beam_args: list[str] = field(default_factory=list)


@dataclass
class DataConfig:
    """Where the raw data is and how it splits."""
    input_dir: str = "data/demo"  # folder of CSV files
    file_pattern: str = "*.csv"  # relative to input_dir
    id_column: str = "example_id"  # stable per-example id; the train/eval split hashes it
    train_buckets: int = 4  # train:eval = train_buckets:eval_buckets
    eval_buckets: int = 1
    schema_file: str = ""  # a curated schema.pbtxt; empty means SchemaGen infers one


@dataclass
class LabelsConfig:
    """Which columns are the label, the independent labelers and the per-example metadata."""
    label_column: str = "species"
    labeler_columns: list[str] = field(default_factory=lambda: ["labeler_a", "labeler_b", "labeler_c"])
    metadata_columns: list[str] = field(default_factory=lambda: ["site", "season"])


@dataclass
class ModelConfig:
    """Model code by dotted module name (so it resolves in a container), its features and the blessing bar."""
    preprocessing_fn: str = "models.preprocessing.preprocessing_fn"
    run_fn: str = "models.model.run_fn"
    numeric_features: list[str] = field(default_factory=lambda: [
        "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"])
    categorical_features: list[str] = field(default_factory=list)
    train_steps: int = 400
    eval_steps: int = 20
    batch_size: int = 20
    learning_rate: float = 0.01
    hidden_units: list[int] = field(default_factory=lambda: [16, 8])
    min_accuracy: float = 0.8  # Evaluator blesses the model only at or above this eval accuracy


@dataclass
class Config:
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    data: DataConfig = field(default_factory=DataConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    model: ModelConfig = field(default_factory=ModelConfig)

    def validate(self, source="the configuration"):
        """Checks values that are well-typed but still wrong; raises ConfigError naming the key."""
        if self.pipeline.beam_mode not in BEAM_MODES:
            raise ConfigError(f"{source}: [pipeline] beam_mode must be one of {', '.join(BEAM_MODES)}, "
                              f"got {self.pipeline.beam_mode!r}")
        positive = {"[pipeline] beam_workers": self.pipeline.beam_workers,
                    "[data] train_buckets": self.data.train_buckets,
                    "[data] eval_buckets": self.data.eval_buckets,
                    "[model] train_steps": self.model.train_steps,
                    "[model] eval_steps": self.model.eval_steps,
                    "[model] batch_size": self.model.batch_size}
        for key, value in positive.items():
            if value < 1:
                raise ConfigError(f"{source}: {key} must be at least 1, got {value}")
        if not self.model.numeric_features and not self.model.categorical_features:
            raise ConfigError(f"{source}: [model] needs at least one of numeric_features, categorical_features")
        named = {"[data] id_column": self.data.id_column, "[labels] label_column": self.labels.label_column}
        for key, value in named.items():
            if not value:
                raise ConfigError(f"{source}: {key} must not be empty")
        return self

    def beam_args(self):
        """Beam pipeline args for the local DirectRunner, with the running mode always explicit."""
        args = ["--runner=FnApiRunner", "--direct_running_mode=" + self.pipeline.beam_mode]
        if self.pipeline.beam_mode == "multi_processing":
            args.append(f"--direct_num_workers={self.pipeline.beam_workers}")
        return args + list(self.pipeline.extra_beam_args)


def _type_name(annotation):
    return getattr(annotation, "__name__", str(annotation)).replace("typing.", "")


def _check_value(value, annotation, where):
    """Returns value converted to `annotation` or raises ConfigError; ints are accepted where floats are."""
    origin = typing.get_origin(annotation)
    if origin is list:
        (item_type,) = typing.get_args(annotation)
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list of {_type_name(item_type)}, got {value!r}")
        return [_check_value(item, item_type, f"{where}[{i}]") for i, item in enumerate(value)]
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is int and isinstance(value, bool) or not isinstance(value, annotation):
        raise ConfigError(f"{where} must be {_type_name(annotation)}, got {type(value).__name__} {value!r}")
    return value


def _overlay(instance, values, where):
    hints = typing.get_type_hints(type(instance))
    known = {f.name for f in dataclasses.fields(instance)}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r}; known keys: {', '.join(sorted(known))}")
        current = getattr(instance, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: [{key}] must be a table (section), got {value!r}")
            _overlay(current, value, f"{where} [{key}]")
        else:
            setattr(instance, key, _check_value(value, hints[key], f"{where}: key {key!r}"))


def config_from_dict(values, source="the configuration"):
    """Defaults overlaid with `values` (nested dicts, as TOML gives), validated."""
    config = Config()
    _overlay(config, values, source)
    return config.validate(source)


def load_config(path=None):
    """The default config, or the defaults overlaid with the TOML file at `path`."""
    if path is None:
        return Config().validate()
    try:
        with open(path, "rb") as f:
            values = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
    return config_from_dict(values, str(path))
