"""The pipeline's configuration: one typed object whose defaults run the bundled demo.

`load_config(path)` overlays a TOML file on the defaults. Every section is a dataclass below and every key a field of
it; an unknown section or key, or a value of the wrong type, raises `ConfigError` naming the file and the key.
Relative paths are resolved against the working directory when the pipeline is built, not when the config is loaded.

The defaults of the keys that describe the data (`DATA_DESCRIBING_KEYS`: file pattern, labeler and metadata columns,
drift exclusions, model features, provenance) describe the demo data. A config whose `[data] input_dir` names another
local folder starts each of those it does not set from nothing: every CSV file in the folder as one span, no labelers,
no metadata, no provenance facts, no instructions file, and the model features inferred from the data by the
pre-flight (pipeline/inputs.py). So a first check of a new CSV
needs only `[data] input_dir`, `[data] id_column` and `[labels] label_column`. (Remote data has no pre-flight to
type features from: its config names everything, and the demo defaults stay.)
"""
from __future__ import annotations

import dataclasses
import os
import re
import sys
import typing
from dataclasses import dataclass, field

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from components.input_checks import DEFAULT_MAX_CELL_BYTES, DEFAULT_MISSING_VALUES
from components.review_queue.queue import DEFAULT_MAX_ROWS as DEFAULT_QUEUE_MAX_ROWS
from components.label_errors.contract import DEFAULT_MAX_FIT_EXAMPLES

BEAM_MODES = ("in_memory", "multi_processing")
DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")  # module.function
EXAMPLE_GENS = ("fast", "csv")  # FastExampleGen, or stock CsvExampleGen


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
    # Your own components: dotted names of functions (config, examples, schema) -> component, added after the data
    # checks, e.g. "components.label_balance.component.from_config" (python -m pipeline new-component).
    extra_components: list[str] = field(default_factory=list)


@dataclass
class DataConfig:
    """Where the raw data is and how it splits."""
    input_dir: str = "data/demo"  # folder of CSV files
    # Relative to input_dir. {SPAN} marks the span number (TFX's convention, resolved by TFX's ExampleGen driver,
    # locally and on Kubeflow): span-1/, span-2/, ... A pattern without {SPAN} is one span.
    file_pattern: str = "span-{SPAN}/*.csv"
    span: int = 0  # the span the pipeline reads and trains on: 0 = the latest; N pins span N
    id_column: str = "example_id"  # stable per-example id; the train/eval split hashes it
    train_buckets: int = 4  # train:eval = train_buckets:eval_buckets
    eval_buckets: int = 1
    schema_file: str = ""  # a curated schema.pbtxt; empty means SchemaGen infers one
    example_gen: str = "fast"  # one of EXAMPLE_GENS: "fast" (components/fast_example_gen, CSV or Parquet) or "csv"
    # Cell texts read as "no value" in every column (matched exactly); see components/input_checks.py.
    missing_values: list[str] = field(default_factory=lambda: list(DEFAULT_MISSING_VALUES))
    max_cell_bytes: int = DEFAULT_MAX_CELL_BYTES  # a longer cell is an input error


@dataclass
class LabelsConfig:
    """Which columns are the label, the independent labelers and the per-example metadata."""
    label_column: str = "species"
    labeler_columns: list[str] = field(default_factory=lambda: ["labeler_a", "labeler_b", "labeler_c"])
    metadata_columns: list[str] = field(default_factory=lambda: ["site", "season"])
    # CSV of reviewed labels (example_id, corrected_label, reviewer, reason); empty means no corrections step.
    corrections_file: str = ""


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
class ProvenanceConfig:
    """Where the data comes from and under which instructions it was labeled; recorded in ML Metadata.

    The demo's values describe the bundled Palmer penguins data; replace them with your data's facts."""
    source_name: str = "Palmer Station LTER penguin measurements (palmerpenguins), demo subset"
    source_uri: str = "https://allisonhorst.github.io/palmerpenguins/"
    owner: str = "tfx-datacentric demo (data/make_demo.py); original: Palmer Station LTER, K. Gorman"
    collection_window: str = "2007-11/2010-01"  # ISO 8601 interval: the field seasons 2007-08 to 2009-10
    # Its SHA-256 is the labeling-instructions version; empty: none given (provenance records that).
    instructions_file: str = "data/labeling_instructions.md"
    labelers: list[str] = field(default_factory=lambda: ["labeler_a", "labeler_b", "labeler_c"])
    # Data-inventory facts: what it takes to get more of this data.
    amount: str = "226 labeled examples (span 1); 344 birds in the full study"
    cost: str = "one field season per span; labeling about 1 minute per example per labeler"
    expected_quality: str = "measurements +-0.1 mm / 25 g; about 3% wrong species labels (planted in the demo)"
    time_to_obtain: str = "one Antarctic field season (November to January) per span"


@dataclass
class LabelConsistencyConfig:
    """Agreement between the labelers in `[labels] labeler_columns` (or a long-form file), consensus and a gate.

    Thresholds apply to Krippendorff's nominal alpha (0.8: Krippendorff's bar for reliable data; 0.667: his lowest
    bar for tentative conclusions): overall, and per class (that class against the rest)."""
    min_agreement: float = 0.8
    min_class_agreement: float = 0.667
    on_low_agreement: str = "warn"  # "warn": print and go on; "fail": stop the run before Transform
    consensus_method: str = "majority"  # "majority" or "dawid_skene"
    train_on: str = "label"  # "label": train on [labels] label_column; "consensus": on the consensus label
    long_form_file: str = ""  # CSV with columns example_id, labeler_id, label; replaces labeler_columns if set

    def validate(self, source):
        choices = {"on_low_agreement": ("warn", "fail"), "consensus_method": ("majority", "dawid_skene"),
                   "train_on": ("label", "consensus")}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(f"{source}: [label_consistency] {key} must be one of {', '.join(allowed)}, "
                                  f"got {getattr(self, key)!r}")
        for key in ("min_agreement", "min_class_agreement"):
            if not -1.0 <= getattr(self, key) <= 1.0:
                raise ConfigError(f"{source}: [label_consistency] {key} is a Krippendorff's alpha bar and must be "
                                  f"between -1 and 1, got {getattr(self, key)}")


ON_CANNOT_RUN = ("skip", "fail")  # what a finder does with data it cannot work with


def _check_on_cannot_run(source, section, value):
    if value not in ON_CANNOT_RUN:
        raise ConfigError(f"{source}: [{section}] on_cannot_run must be one of {', '.join(ON_CANNOT_RUN)}, "
                          f"got {value!r}")


@dataclass
class ConflictsConfig:
    """X->y conflicts: examples whose features match but whose labels differ (components/conflicts).

    Numbers a, b match when |a - b| <= tolerance (absolute) or <= tolerance * max(|a|, |b|) (relative), up to the
    float32 rounding of stored values; strings match exactly; a missing value matches only a missing value. The id,
    label, labeler and metadata columns are never compared; `exclude` names more columns to skip."""
    enabled: bool = True
    tolerance: float = 0.1  # for every numeric feature not named below; 0 means exact equality
    relative: bool = False  # true: `tolerance` is relative to the larger magnitude
    absolute_tolerances: dict[str, float] = field(default_factory=dict)  # per feature, e.g. {body_mass_g = 25}
    relative_tolerances: dict[str, float] = field(default_factory=dict)  # per feature, e.g. {body_mass_g = 0.01}
    exclude: list[str] = field(default_factory=list)
    on_cannot_run: str = "skip"  # one of ON_CANNOT_RUN: no label anywhere is reported in its summary, or stops the run

    def validate(self, source):
        _check_on_cannot_run(source, "conflicts", self.on_cannot_run)
        both = sorted(set(self.absolute_tolerances) & set(self.relative_tolerances))
        if both:
            raise ConfigError(f"{source}: [conflicts] absolute_tolerances and relative_tolerances both name "
                              f"{', '.join(both)}; give each feature one kind of tolerance")
        tolerances = {"tolerance": self.tolerance,
                      **{f"absolute_tolerances.{k}": v for k, v in self.absolute_tolerances.items()},
                      **{f"relative_tolerances.{k}": v for k, v in self.relative_tolerances.items()}}
        for key, value in tolerances.items():
            if value < 0:
                raise ConfigError(f"{source}: [conflicts] {key} must be at least 0, got {value}")
        relative = dict(self.relative_tolerances, **({"tolerance": self.tolerance} if self.relative else {}))
        for key, value in relative.items():
            if value >= 1:
                raise ConfigError(f"{source}: [conflicts] {key} is a relative tolerance and must be below 1, "
                                  f"got {value}")


LABEL_ERROR_MODELS = ("logistic_regression", "hist_gradient_boosting")  # components/label_errors/finder.py MODELS


@dataclass
class LabelErrorsConfig:
    """Likely label errors by confident learning (components/label_errors): K-fold out-of-sample probabilities
    from `model` on numeric features, then cleanlab. Exact in memory up to `max_fit_examples` examples, bounded
    above it."""
    enabled: bool = True
    folds: int = 5  # stratified K-fold; a class with fewer examples is skipped and reported
    model: str = "logistic_regression"  # one of LABEL_ERROR_MODELS
    features: list[str] = field(default_factory=list)  # numeric features; empty means [model] numeric_features
    seed: int = 0  # fold assignment and model seed
    # One of ON_CANNOT_RUN: data it cannot analyse (fewer than 2 classes with `folds` examples, no numeric feature
    # with values) is reported in its summary.json and the run goes on ("skip"), or stops the run ("fail").
    on_cannot_run: str = "skip"
    # Up to this many examples the finder runs exactly, in memory on one worker (about 0.9 KB per example: 200,000
    # is about 180 MB); above it, on a stratified sample of this size with memory that does not grow with the data
    # (components/label_errors/README.md says what changes), and label_issues.csv holds the worst this many rows.
    max_fit_examples: int = DEFAULT_MAX_FIT_EXAMPLES

    def validate(self, source):
        _check_on_cannot_run(source, "label_errors", self.on_cannot_run)
        if isinstance(self.max_fit_examples, bool) or not isinstance(self.max_fit_examples, int) \
                or self.max_fit_examples < 100:
            raise ConfigError(f"{source}: [label_errors] max_fit_examples must be a whole number of at least 100 "
                              f"(examples the models are fitted on), got {self.max_fit_examples!r}")
        if self.model not in LABEL_ERROR_MODELS:
            raise ConfigError(f"{source}: [label_errors] model must be one of {', '.join(LABEL_ERROR_MODELS)}, "
                              f"got {self.model!r}")
        if self.folds < 2:
            raise ConfigError(f"{source}: [label_errors] folds must be at least 2, got {self.folds}")


@dataclass
class ErrorAnalysisConfig:
    """Weak slices of the trained model's eval errors, ranked and diagnosed (components/error_analysis). Runs after
    the Evaluator; slices by [labels] metadata_columns and the model's features unless `slice_columns` names them."""
    enabled: bool = True
    # Columns to slice by; empty means metadata_columns and [model] categorical_features by value, and
    # [model] numeric_features by quantile bins. Named columns are sliced by value unless they are numeric features.
    slice_columns: list[str] = field(default_factory=list)
    min_slice_size: int = 10  # eval examples a slice needs to be tested
    bins: int = 4  # quantile bins per numeric column
    fdr: float = 0.05  # Benjamini-Hochberg false discovery rate over all slices tested
    max_coverage_ratio: float = 0.5  # "coverage" when the slice's train share is at most this x its eval share
    max_review_examples: int = 50  # examples from weak slices with ambiguous labels added to the review queue
    # Per split, the rows (smallest id hash) the numeric quantile bins and the levers' fits use; above it they come
    # from a uniform sample (components/error_analysis/README.md). The slice counts always cover every row.
    max_fit_examples: int = 100_000

    def validate(self, source):
        if self.max_fit_examples < 100:
            raise ConfigError(f"{source}: [error_analysis] max_fit_examples must be at least 100, got "
                              f"{self.max_fit_examples}")
        if self.min_slice_size < 1:
            raise ConfigError(f"{source}: [error_analysis] min_slice_size must be at least 1, got "
                              f"{self.min_slice_size}")
        if self.bins < 2:
            raise ConfigError(f"{source}: [error_analysis] bins must be at least 2, got {self.bins}")
        if not 0 < self.fdr < 1:
            raise ConfigError(f"{source}: [error_analysis] fdr must be between 0 and 1, got {self.fdr}")
        if not 0 < self.max_coverage_ratio <= 1:
            raise ConfigError(f"{source}: [error_analysis] max_coverage_ratio must be in (0, 1], got "
                              f"{self.max_coverage_ratio}")
        if self.max_review_examples < 0:
            raise ConfigError(f"{source}: [error_analysis] max_review_examples must be at least 0, got "
                              f"{self.max_review_examples}")


BEAM_PROFILES = ("direct", "dataflow", "flink", "spark")


@dataclass
class KubeflowConfig:
    """`python -m pipeline compile --target kubeflow`: the image, the remote pipeline root and where Beam runs.

    Empty defaults keep the local run untouched; compiling checks them (pipeline/kubeflow_runner.py). Profiles:
    "direct" runs Beam inside each component's pod (as locally, [pipeline] beam_mode); "dataflow" needs project,
    region and temp_location; "flink" needs flink_master; "spark" needs spark_master_url. Dataflow, Flink and Spark
    run the Beam workers in `image` (it carries Beam's SDK harness). `extra_beam_args` come last and win."""
    image: str = ""  # the image `make image` builds, pushed to a registry the cluster can pull from
    pipeline_root: str = ""  # remote root for every artifact, e.g. gs://bucket/tfx-datacentric
    serving_dir: str = ""  # where Pusher copies a blessed model; empty means <pipeline_root>/serving_model
    beam_profile: str = "direct"  # one of BEAM_PROFILES
    project: str = ""  # dataflow: the Google Cloud project
    region: str = ""  # dataflow: e.g. us-central1
    temp_location: str = ""  # dataflow: gs:// staging and temp folder
    flink_master: str = ""  # flink: host:port of the Flink JobManager
    spark_master_url: str = ""  # spark: e.g. spark://host:7077
    extra_beam_args: list[str] = field(default_factory=list)

    def validate(self, source):
        if self.beam_profile not in BEAM_PROFILES:
            raise ConfigError(f"{source}: [kubeflow] beam_profile must be one of {', '.join(BEAM_PROFILES)}, "
                              f"got {self.beam_profile!r}")

    def required_keys(self):
        """The keys compiling needs for this profile, with their values."""
        required = {"image": self.image, "pipeline_root": self.pipeline_root}
        profile_keys = {"dataflow": ("project", "region", "temp_location"), "flink": ("flink_master",),
                        "spark": ("spark_master_url",), "direct": ()}[self.beam_profile]
        return dict(required, **{key: getattr(self, key) for key in profile_keys})


DRIFT_BASELINES = ("previous", "pinned")


@dataclass
class DriftConfig:
    """Drift between the span the pipeline reads and a baseline span (components/drift; rule and defaults in
    components/drift/measures.py). Runs when [data] file_pattern has {SPAN} and the baseline span exists."""
    enabled: bool = True
    baseline: str = "previous"  # "previous": the highest span below the current one; "pinned": baseline_span
    baseline_span: int = 0  # with baseline = "pinned": the reference span number
    on_drift: str = "warn"  # "warn": report and go on; "fail": stop the run before Transform
    split: str = "train"  # the split of both spans that is compared
    # Never compared besides the id column: columns that name the period (they always differ between spans).
    exclude: list[str] = field(default_factory=lambda: ["season"])
    alpha: float = 0.01  # "drift" needs the test's p below this ...
    possible_alpha: float = 0.1  # ... "possible drift" below this
    min_count: int = 50  # fewer values on either side: "too little data"
    categorical_linf: float = 0.05  # effect threshold: L-infinity distance of the value shares
    numeric_wasserstein_sd: float = 0.1  # effect threshold: Wasserstein distance in baseline standard deviations
    missing_rate_change: float = 0.05  # effect threshold of a missing-rate change (absolute)
    feature_thresholds: dict[str, float] = field(default_factory=dict)  # per feature, e.g. {body_mass_g = 0.2}

    def validate(self, source):
        choices = {"baseline": DRIFT_BASELINES, "on_drift": ("warn", "fail")}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(f"{source}: [drift] {key} must be one of {', '.join(allowed)}, "
                                  f"got {getattr(self, key)!r}")
        if self.baseline == "pinned" and self.baseline_span < 1:
            raise ConfigError(f'{source}: [drift] baseline = "pinned" needs baseline_span, the number of the '
                              f"reference span (1 or more), got {self.baseline_span}")
        probabilities = {"alpha": self.alpha, "possible_alpha": self.possible_alpha}
        for key, value in probabilities.items():
            if not 0 < value < 1:
                raise ConfigError(f"{source}: [drift] {key} is a significance level and must be between 0 and 1, "
                                  f"got {value}")
        if self.possible_alpha < self.alpha:
            raise ConfigError(f"{source}: [drift] possible_alpha ({self.possible_alpha}) must be at least alpha "
                              f"({self.alpha})")
        thresholds = {"categorical_linf": self.categorical_linf, "numeric_wasserstein_sd": self.numeric_wasserstein_sd,
                      "missing_rate_change": self.missing_rate_change,
                      **{f"feature_thresholds.{k}": v for k, v in self.feature_thresholds.items()}}
        for key, value in thresholds.items():
            if value < 0:
                raise ConfigError(f"{source}: [drift] {key} must be at least 0, got {value}")
        if self.min_count < 1:
            raise ConfigError(f"{source}: [drift] min_count must be at least 1, got {self.min_count}")
        if not self.split:
            raise ConfigError(f"{source}: [drift] split must name a split, e.g. \"train\"")


@dataclass
class ReviewQueueConfig:
    """The review queue (components/review_queue): one ranked CSV of every example the finders flagged."""
    # The queue keeps the highest-ranked this many examples (the ranking's memory does not depend on it); summary.json
    # counts every flagged example and how many were left out.
    max_rows: int = DEFAULT_QUEUE_MAX_ROWS

    def validate(self, source):
        if self.max_rows < 1:
            raise ConfigError(f"{source}: [review_queue] max_rows must be at least 1, got {self.max_rows}")


@dataclass
class ReportConfig:
    """The run report (pipeline/report): every run writes <output_dir>/reports/<run id>.html, .json, .data_card.md."""
    # The data card's people-written part (motivation, intended use, risks): a Markdown file; empty: none.
    data_card_file: str = "data/data_card.md"


@dataclass
class MonitorConfig:
    """The serving monitor (python -m pipeline monitor): when a fall in accuracy counts. Feature skew and prediction
    drift use the [drift] thresholds; an accuracy drop uses [drift] alpha and possible_alpha with these."""
    max_accuracy_drop: float = 0.05  # a drop (real, or estimated by CBPE) of at least this much counts
    min_rows: int = 30  # fewer rows on either side of an accuracy comparison: "too little data"

    def validate(self, source):
        if not 0 < self.max_accuracy_drop < 1:
            raise ConfigError(f"{source}: [monitor] max_accuracy_drop is a difference of accuracies and must be "
                              f"between 0 and 1, got {self.max_accuracy_drop}")
        if self.min_rows < 1:
            raise ConfigError(f"{source}: [monitor] min_rows must be at least 1, got {self.min_rows}")


@dataclass
class Config:
    # Not a key: True when the features are the demo's defaults but the data is not the demo's, so the pre-flight
    # (pipeline/inputs.py) types them from the data.
    infer_features = False
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    data: DataConfig = field(default_factory=DataConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    provenance: ProvenanceConfig = field(default_factory=ProvenanceConfig)
    label_consistency: LabelConsistencyConfig = field(default_factory=LabelConsistencyConfig)
    kubeflow: KubeflowConfig = field(default_factory=KubeflowConfig)
    conflicts: ConflictsConfig = field(default_factory=ConflictsConfig)
    label_errors: LabelErrorsConfig = field(default_factory=LabelErrorsConfig)
    error_analysis: ErrorAnalysisConfig = field(default_factory=ErrorAnalysisConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    review_queue: ReviewQueueConfig = field(default_factory=ReviewQueueConfig)

    def validate(self, source="the configuration"):
        """Checks values that are well-typed but still wrong; raises ConfigError naming the key."""
        if self.pipeline.beam_mode not in BEAM_MODES:
            raise ConfigError(f"{source}: [pipeline] beam_mode must be one of {', '.join(BEAM_MODES)}, "
                              f"got {self.pipeline.beam_mode!r}")
        for i, dotted in enumerate(self.pipeline.extra_components):
            if not DOTTED_NAME.fullmatch(dotted):
                raise ConfigError(f"{source}: [pipeline] extra_components[{i}] {dotted!r} must be a dotted name "
                                  f"module.function, e.g. 'components.label_balance.component.from_config'")
        if self.data.example_gen not in EXAMPLE_GENS:
            raise ConfigError(f"{source}: [data] example_gen must be one of {', '.join(EXAMPLE_GENS)}, "
                              f"got {self.data.example_gen!r}")
        if self.data.example_gen == "csv" and self.data.file_pattern.endswith(".parquet"):
            raise ConfigError(f'{source}: [data] file_pattern {self.data.file_pattern!r} names Parquet files, which '
                              f'only example_gen = "fast" reads; set [data] example_gen = "fast"')
        positive = {"[pipeline] beam_workers": self.pipeline.beam_workers,
                    "[data] max_cell_bytes": self.data.max_cell_bytes,
                    "[data] train_buckets": self.data.train_buckets,
                    "[data] eval_buckets": self.data.eval_buckets,
                    "[model] train_steps": self.model.train_steps,
                    "[model] eval_steps": self.model.eval_steps,
                    "[model] batch_size": self.model.batch_size}
        for key, value in positive.items():
            if value < 1:
                raise ConfigError(f"{source}: {key} must be at least 1, got {value}")
        if not 0.0 <= self.model.min_accuracy <= 1.0:
            raise ConfigError(f"{source}: [model] min_accuracy is an accuracy and must be between 0 and 1, "
                              f"got {self.model.min_accuracy}")
        if not self.model.learning_rate > 0:
            raise ConfigError(f"{source}: [model] learning_rate must be above 0, got {self.model.learning_rate}")
        if any(units < 1 for units in self.model.hidden_units):
            raise ConfigError(f"{source}: [model] hidden_units must all be at least 1, got {self.model.hidden_units}")
        self.label_consistency.validate(source)
        self.kubeflow.validate(source)
        self.conflicts.validate(source)
        self.label_errors.validate(source)
        self.drift.validate(source)
        self.monitor.validate(source)
        self.review_queue.validate(source)
        if self.data.span < 0:
            raise ConfigError(f"{source}: [data] span must be 0 (the latest span) or a span number, got "
                              f"{self.data.span}")
        self.error_analysis.validate(source)
        if not self.model.numeric_features and not self.model.categorical_features:
            raise ConfigError(f"{source}: [model] needs at least one of numeric_features, categorical_features")
        named = {"[data] id_column": self.data.id_column, "[labels] label_column": self.labels.label_column}
        for key, value in named.items():
            if not value:
                raise ConfigError(f"{source}: {key} must not be empty")
        if self.data.id_column == self.labels.label_column:
            raise ConfigError(f"{source}: [data] id_column and [labels] label_column both name "
                              f"{self.data.id_column!r}; the id must be a per-example id, not the label")
        return self


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
    if origin is dict:
        key_type, item_type = typing.get_args(annotation)
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table of {_type_name(key_type)} = {_type_name(item_type)}, "
                              f"got {value!r}")
        return {key: _check_value(item, item_type, f"{where}[{key!r}]") for key, item in value.items()}
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


def metadata_path(config: Config):
    """The SQLite ML Metadata store of a local run; here (not in pipeline.py) so readers need no TensorFlow."""
    return config.pipeline.metadata_path or os.path.join(config.pipeline.output_dir, "metadata.sqlite")


DEMO_INPUT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "demo")
# Keys whose defaults describe the demo data, and what each starts from for other data (see the module docstring).
DATA_DESCRIBING_KEYS = {
    "data": {"file_pattern": "*.csv"},  # the demo's span-{SPAN}/ folders are the demo's layout, not yours
    "drift": {"exclude": []},
    "labels": {"labeler_columns": [], "metadata_columns": []},
    "provenance": {**{f.name: "" for f in dataclasses.fields(ProvenanceConfig)}, "labelers": []},
}


def _reads_other_data(values):
    data = values.get("data")
    input_dir = data.get("input_dir") if isinstance(data, dict) else None
    return (isinstance(input_dir, str) and "://" not in input_dir
            and os.path.realpath(input_dir) != os.path.realpath(DEMO_INPUT_DIR))


def config_from_dict(values, source="the configuration"):
    """Defaults overlaid with `values` (nested dicts, as TOML gives), validated."""
    config = Config()
    if _reads_other_data(values):
        for section, neutral in DATA_DESCRIBING_KEYS.items():
            given = values.get(section) if isinstance(values.get(section), dict) else {}
            for key, value in neutral.items():
                if key not in given:
                    setattr(getattr(config, section), key, value)
        model = values.get("model") if isinstance(values.get("model"), dict) else {}
        config.infer_features = not ({"numeric_features", "categorical_features"} & set(model))
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
    except OSError as e:
        raise ConfigError(f"config file {path} cannot be read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        with open(path, "rb") as f:
            line = 1 + f.read().count(b"\n", 0, e.start)
        raise ConfigError(f"{path}: line {line}: byte {e.object[e.start:e.start + 1]!r} is not valid UTF-8; TOML "
                          f"files are UTF-8: save it as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
    return config_from_dict(values, str(path))


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def write_config(path, sections):
    """Writes {section: {key: value}} (strings, numbers, booleans, lists) as a TOML file and returns its path."""
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return str(path)
