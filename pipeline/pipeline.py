"""`create_pipeline(config, ...)`: the one pipeline definition, used unchanged by every runner.

It knows nothing about the platform: the runner passes where outputs go, the Beam arguments and the metadata
connection. Stages, in order:
  data:     ExampleGen (FastExampleGen or CsvExampleGen; one span) -> Provenance -> StatisticsGen -> SchemaGen (or
            ImportSchemaGen) -> ExampleValidator -> Drift (against BaselineExampleGen -> BaselineStatisticsGen, when
            a baseline span exists) -> CorrectionsApplier (with a corrections file) ->
            LabelConsistency (with labelers) -> LabelErrors, Conflicts -> ReviewQueue
  training: Transform -> Trainer -> Evaluator (blessing threshold) -> Pusher (only when blessed);
            Evaluator -> ErrorAnalysis -> ReviewQueue (which then also lists the weak slices' examples)
"""
import hashlib
import importlib
import os

import tensorflow as tf
import tensorflow_data_validation as tfdv
import tensorflow_model_analysis as tfma
# TFX's classes from their own modules, not `from tfx import v1`: tfx.v1 also imports tfx.v1.extensions and with it
# Google's Vertex AI client (google.cloud.aiplatform), about 6 s of CPU at every start for nothing a run uses.
import tfx.components
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.dsl.io import fileio
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import example_gen_pb2, pusher_pb2, range_config_pb2, trainer_pb2

from components.conflicts.component import Conflicts
from components.drift.component import Drift
from components.drift.measures import DriftThresholds
from components.error_analysis.component import ErrorAnalysis
from components.label_consistency.component import AGREEMENT_FEATURE, CONSENSUS_FEATURE, LabelConsistency
from components.label_errors.component import LabelErrors
from components.corrections.component import CorrectionsApplier, corrections_importer
from components.fast_example_gen.component import FastExampleGen
from components.provenance.component import SOURCE_PROPERTIES, Provenance
from components.review_queue.component import ReviewQueue
from components.spans import baseline_span, current_span, has_spans, list_spans
from pipeline.configs import Config, ConfigError, metadata_path  # noqa: F401 (used by local_runner)


def _resolve(path):
    """Absolute local paths; URIs such as gs://bucket/x pass through unchanged."""
    return path if "://" in path else os.path.abspath(path)


def label_consistency_enabled(config: Config):
    return bool(config.labels.labeler_columns or config.label_consistency.long_form_file)


def training_label(config: Config):
    """The column the model learns: the label, or the consensus of the labelers with [label_consistency] train_on."""
    if config.label_consistency.train_on == "consensus":
        if not label_consistency_enabled(config):
            raise ConfigError('[label_consistency] train_on = "consensus" needs [labels] labeler_columns or '
                              "[label_consistency] long_form_file")
        return CONSENSUS_FEATURE
    return config.labels.label_column


def label_consistency(config: Config, examples, schema):
    """Labeler agreement, consensus-labelled examples and the agreement gate (components/label_consistency)."""
    lc = config.label_consistency
    return LabelConsistency(
        examples=examples, schema=schema, label_column=config.labels.label_column, id_column=config.data.id_column,
        labeler_columns=config.labels.labeler_columns,
        long_form_file=_resolve(lc.long_form_file) if lc.long_form_file else "",
        min_agreement=lc.min_agreement, min_class_agreement=lc.min_class_agreement,
        on_low_agreement=lc.on_low_agreement, consensus_method=lc.consensus_method)


def model_custom_config(config: Config):
    """What models/preprocessing.py and models/model.py read from `custom_config`."""
    m = config.model
    return {"numeric_features": m.numeric_features, "categorical_features": m.categorical_features,
            "label_column": training_label(config), "batch_size": m.batch_size,
            "learning_rate": m.learning_rate, "hidden_units": m.hidden_units}


def eval_config(config: Config, label_column):
    """TFMA config: accuracy overall and per metadata column, and the bar a model must clear to be blessed."""
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="serving_default",
                                    label_key=label_column + "_xf",
                                    preprocessing_function_names=["transform_features"])],
        slicing_specs=[tfma.SlicingSpec()] + [tfma.SlicingSpec(feature_keys=[column])
                                              for column in config.labels.metadata_columns],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="SparseCategoricalAccuracy",  # reported as tfma_metrics.ACCURACY_METRIC
                              threshold=tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(
                                  lower_bound={"value": config.model.min_accuracy}))),
            tfma.MetricConfig(class_name="ExampleCount"),
        ])])


def example_gen(config: Config, span=0):
    """Reads the CSV (or, with the fast gen, Parquet) files of one span under [data] input_dir: TFX's driver resolves
    `{SPAN}` in [data] file_pattern to the latest span, or to `span` when given (a static RangeConfig), and records
    span and version on the Examples. The split hashes the id column, so it is stable as rows are added.
    [data] example_gen picks FastExampleGen or stock CsvExampleGen; both write the same Examples in the same
    splits."""
    output_config = example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(
        splits=[example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=config.data.train_buckets),
                example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=config.data.eval_buckets)],
        partition_feature_name=config.data.id_column))
    input_config = example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name="single_split", pattern=config.data.file_pattern)])
    range_config = range_config_pb2.RangeConfig(static_range=range_config_pb2.StaticRange(
        start_span_number=span, end_span_number=span)) if span else None
    if config.data.example_gen == "csv":  # stock reads only empty cells as missing (the pre-flight checks that)
        return tfx.components.CsvExampleGen(input_base=_resolve(config.data.input_dir), input_config=input_config,
                                            output_config=output_config, range_config=range_config)
    return FastExampleGen(input_base=_resolve(config.data.input_dir), input_config=input_config,
                          output_config=output_config, range_config=range_config,
                          missing_values=config.data.missing_values)


def statistics_options():
    """The TFDV options of every statistics this project computes (StatisticsGen, BaselineStatisticsGen, the serving
    monitor), so that training and serving statistics are computed alike: see statistics_gen_for."""
    return tfdv.StatsOptions(use_sketch_based_topk_uniques=True)


def statistics_gen_for(examples):
    """Stock StatisticsGen with TFDV's sketch-based top-k and uniques (Misra-Gries and KMV, fixed size). TFDV's
    default counts every distinct string in a CombinePerKey, and Beam's local runner holds every key of that shuffle
    in memory: the id column's N distinct values made StatisticsGen grow with N (1.22 GiB at 1M rows, 3.79 GiB at
    10M). The sketches are exact for a column of at most 1,024 distinct values (its top values) and fewer than
    16,384 (its count of distinct values): on the demo every column, on the benchmark every column but the id.
    Above that the count of distinct values is an estimate (about 1% off) and the top values carry the sketch's
    upper bounds; only the report reads these (SchemaGen's schema, ExampleValidator's anomalies and Drift are the
    same at 1M rows; benchmarks/statistics_memory.py)."""
    return tfx.components.StatisticsGen(examples=examples, stats_options=statistics_options())


def drift(config: Config, statistics):
    """The baseline span's ExampleGen and StatisticsGen, and the Drift component comparing `statistics` with theirs
    (components/drift); [] without {SPAN} in [data] file_pattern, with [drift] enabled = false, or when no baseline
    span exists yet. "previous" is resolved as the pipeline is built, by listing the spans in a local
    [data] input_dir: the highest span below the one the run reads. A remote input_dir (Kubeflow) is not listed
    when compiling, so there drift runs with baseline = "pinned" only."""
    d = config.drift
    if not (d.enabled and has_spans(config.data.file_pattern)):
        return []
    if "://" in config.data.input_dir:
        baseline = d.baseline_span if d.baseline == "pinned" else None
    else:
        spans = list_spans(_resolve(config.data.input_dir), config.data.file_pattern)
        if not spans:
            return []
        current = current_span(spans, config.data.span)
        baseline = baseline_span(spans, current, d.baseline, d.baseline_span)
        if baseline is None and d.baseline == "pinned":
            raise ConfigError(f"[drift] baseline_span = {d.baseline_span} must be a span other than the one the run "
                              f"reads ({current}); {config.data.input_dir!r} has spans "
                              f"{', '.join(map(str, sorted(spans)))}")
    if baseline is None:
        return []
    baseline_gen = example_gen(config, span=baseline).with_id("BaselineExampleGen")
    baseline_statistics = statistics_gen_for(baseline_gen.outputs["examples"]).with_id("BaselineStatisticsGen")
    checker = Drift(statistics=statistics, baseline_statistics=baseline_statistics.outputs["statistics"],
                    baseline_span=baseline, label_column=config.labels.label_column, exclude=[config.data.id_column, *d.exclude],
                    thresholds=vars(DriftThresholds.from_config(d)), on_drift=d.on_drift, split=d.split)
    return [baseline_gen, baseline_statistics, checker]


def conflicts(config: Config, examples, schema):
    """Groups of near-identical examples with different labels (components/conflicts). The columns label
    consistency adds (consensus, agreement) derive from the labelers, so they are excluded like them (and, unlike
    `exclude`, may be absent from the data)."""
    c = config.conflicts
    derived = [CONSENSUS_FEATURE, AGREEMENT_FEATURE] if label_consistency_enabled(config) else []
    return Conflicts(examples=examples, schema=schema, id_column=config.data.id_column,
                     label_column=config.labels.label_column, labeler_columns=config.labels.labeler_columns + derived,
                     metadata_columns=config.labels.metadata_columns, exclude=c.exclude, tolerance=c.tolerance,
                     relative=c.relative, absolute_tolerances=c.absolute_tolerances,
                     relative_tolerances=c.relative_tolerances, on_cannot_run=c.on_cannot_run)


def review_queue(config: Config, finders):
    """One ranked CSV of every flagged example, from whichever finders ran: `finders` maps ReviewQueue's input
    keys (label_consistency, conflicts, label_issues) to channels."""
    return ReviewQueue(**finders, id_column=config.data.id_column, labeler_columns=config.labels.labeler_columns,
                       metadata_columns=config.labels.metadata_columns, max_rows=config.review_queue.max_rows)


def error_analysis(config: Config, examples, model_channel, transform_graph, label_issues):
    """Weak slices of the trained model's eval errors, ranked and diagnosed (components/error_analysis). Slices by
    [error_analysis] slice_columns, or by the metadata columns and the model's features."""
    ea, model = config.error_analysis, config.model
    columns = ea.slice_columns or config.labels.metadata_columns + model.categorical_features + model.numeric_features
    numeric = [c for c in dict.fromkeys(columns) if c in model.numeric_features]
    return ErrorAnalysis(
        examples=examples, model=model_channel, transform_graph=transform_graph,
        label_issues=label_issues, id_column=config.data.id_column, label_column=training_label(config),
        categorical_columns=[c for c in dict.fromkeys(columns) if c not in numeric], numeric_columns=numeric,
        metadata_columns=config.labels.metadata_columns,
        agreement_column=AGREEMENT_FEATURE if label_consistency_enabled(config) else "",
        settings={"min_size": ea.min_slice_size, "bins": ea.bins, "fdr": ea.fdr,
                  "max_coverage_ratio": ea.max_coverage_ratio},
        max_review_examples=ea.max_review_examples, max_fit_examples=ea.max_fit_examples,
        # The levers' proxy is the label-error finder's model on its features: tens of fits cost seconds.
        proxy_features=config.label_errors.features or model.numeric_features, proxy_model=config.label_errors.model)


def label_errors(config: Config, examples, schema):
    """Likely label errors by confident learning on out-of-sample K-fold probabilities (components/label_errors)."""
    le = config.label_errors
    return LabelErrors(examples=examples, schema=schema, id_column=config.data.id_column,
                       label_column=config.labels.label_column,
                       features=le.features or config.model.numeric_features,
                       metadata_columns=config.labels.metadata_columns, folds=le.folds, model=le.model,
                       seed=le.seed, on_cannot_run=le.on_cannot_run, max_fit_examples=le.max_fit_examples)


def file_sha256(path, key):
    """SHA-256 of a file the config names (local or any scheme TFX's fileio reads, e.g. gs://); computed when the
    pipeline is built, so the compiled pipeline pins the version it was built with (and a changed file changes the
    cache key)."""
    digest = hashlib.sha256()
    try:
        with fileio.open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except (OSError, tf.errors.OpError) as e:
        raise ConfigError(f"{key} {path!r} cannot be read: {getattr(e, 'strerror', None) or e.message}") from None
    return digest.hexdigest()


NO_INSTRUCTIONS = "(none given: [provenance] instructions_file is empty)"  # recorded as the instructions file


def provenance(config: Config, examples):
    """Where the data comes from, recorded on a copy of ExampleGen's examples (components/provenance)."""
    p = config.provenance
    given = bool(p.instructions_file)
    return Provenance(
        examples=examples,
        source={key: getattr(p, key) for key in SOURCE_PROPERTIES},  # [provenance] keys of the same names
        instructions_file=p.instructions_file if given else NO_INSTRUCTIONS,
        instructions_sha256=file_sha256(p.instructions_file, "[provenance] instructions_file") if given else "",
        labelers=p.labelers,
        data_inventory={"amount": p.amount, "cost": p.cost, "expected_quality": p.expected_quality,
                        "time_to_obtain": p.time_to_obtain},
        input_base=_resolve(config.data.input_dir), file_pattern=config.data.file_pattern,
        label_column=config.labels.label_column, metadata_columns=config.labels.metadata_columns)


def corrections(config: Config, examples, schema):
    """The corrections file as an artifact, and the component that applies it (components/corrections)."""
    path = _resolve(config.labels.corrections_file)
    sha256 = file_sha256(path, "[labels] corrections_file") if "://" not in path else ""
    importer = corrections_importer(path, sha256)
    return importer, CorrectionsApplier(examples=examples, schema=schema, corrections=importer.outputs["result"],
                                        id_column=config.data.id_column, label_column=config.labels.label_column)


def extra_component(dotted):
    """The function `[pipeline] extra_components` names: `module.function(config, examples, schema)` returning
    a component, such as `from_config` in what `python -m pipeline new-component` writes."""
    module, _, name = dotted.rpartition(".")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"[pipeline] extra_components names {dotted!r}, which does not import: {e}") from None
    if not callable(factory):
        raise ConfigError(f"[pipeline] extra_components names {dotted!r}, which is not a function")
    return factory


def create_pipeline(config: Config, pipeline_root, beam_pipeline_args, metadata_connection_config=None,
                    data_only=False, serving_dir=None):
    """The TFX pipeline for `config`; with `data_only`, everything up to the data-quality checks, no training.
    Pusher copies a blessed model to `serving_dir` (the runner's choice; default <pipeline_root>/serving_model)."""
    if config.infer_features and not data_only:
        raise ConfigError("[model] numeric_features and categorical_features are not set and were not inferred "
                          "from the data (the pre-flight of `python -m pipeline run` does that); name them")
    gen = example_gen(config, span=config.data.span)
    recorded = provenance(config, gen.outputs["examples"])
    statistics_gen = statistics_gen_for(recorded.outputs["examples_with_provenance"])
    if config.data.schema_file:
        schema_gen = ImportSchemaGen(schema_file=_resolve(config.data.schema_file))
    else:
        schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"],
                                              infer_feature_shape=True)
    validator = tfx.components.ExampleValidator(statistics=statistics_gen.outputs["statistics"],
                                                schema=schema_gen.outputs["schema"])
    components = [gen, recorded, statistics_gen, schema_gen, validator]
    drift_components = drift(config, statistics_gen.outputs["statistics"])
    if drift_components:
        drift_components[-1].add_upstream_node(validator)  # the agreed order: the data checks first
        components += drift_components
    # What the training stage reads. Data-centric components plug in below: each may add itself to `components`
    # and replace `examples` (and `schema`) with its own output, e.g. corrected or consensus-labelled examples.
    examples = recorded.outputs["examples_with_provenance"]
    schema = schema_gen.outputs["schema"]

    if config.labels.corrections_file:
        importer, applier = corrections(config, examples, schema)
        components += [importer, applier]
        examples = applier.outputs["corrected_examples"]

    finders = {}  # the flagged-example outputs the review queue merges, by ReviewQueue input key
    if label_consistency_enabled(config):
        consistency = label_consistency(config, examples, schema)
        components.append(consistency)
        examples = consistency.outputs["consensus_examples"]
        schema = consistency.outputs["consensus_schema"]
        finders["label_consistency"] = consistency.outputs["label_consistency"]

    # Reads `examples` as they stand here: after corrections and label consistency, when those ran.
    if config.label_errors.enabled:
        errors = label_errors(config, examples, schema)
        components.append(errors)
        finders["label_issues"] = errors.outputs["label_issues"]
    if config.conflicts.enabled:
        conflict_finder = conflicts(config, examples, schema)
        conflict_finder.add_upstream_node(validator)  # the agreed order: data checks first
        components.append(conflict_finder)
        finders["conflicts"] = conflict_finder.outputs["conflicts"]
    # Your own components, on the same `examples` and `schema` (python -m pipeline new-component; README.md).
    components += [extra_component(dotted)(config, examples, schema)
                   for dotted in config.pipeline.extra_components]

    if not data_only:
        label = training_label(config)
        transform = tfx.components.Transform(
            examples=examples, schema=schema, preprocessing_fn=config.model.preprocessing_fn,
            custom_config=model_custom_config(config))
        trainer = tfx.components.Trainer(
            run_fn=config.model.run_fn,
            examples=transform.outputs["transformed_examples"],
            transform_graph=transform.outputs["transform_graph"],
            schema=transform.outputs["post_transform_schema"],
            train_args=trainer_pb2.TrainArgs(num_steps=config.model.train_steps),
            eval_args=trainer_pb2.EvalArgs(num_steps=config.model.eval_steps),
            custom_config=model_custom_config(config))
        evaluator = tfx.components.Evaluator(examples=examples, model=trainer.outputs["model"],
                                             eval_config=eval_config(config, label))
        pusher = tfx.components.Pusher(
            model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
            push_destination=pusher_pb2.PushDestination(filesystem=pusher_pb2.PushDestination.Filesystem(
                base_directory=_resolve(serving_dir or os.path.join(pipeline_root, "serving_model")))))
        if drift_components:
            transform.add_upstream_node(drift_components[-1])  # on_drift = "fail" stops the run before Transform
        components += [transform, trainer, evaluator, pusher]
        if config.error_analysis.enabled:
            analysis = error_analysis(config, examples, trainer.outputs["model"],
                                      transform.outputs["transform_graph"], finders.get("label_issues"))
            analysis.add_upstream_node(evaluator)  # the model's own evaluation first
            components.append(analysis)
            if finders:  # the review queue then waits for training, to add the weak slices' examples
                finders["error_analysis"] = analysis.outputs["error_analysis"]
    if finders:
        components.append(review_queue(config, finders))

    return Pipeline(
        pipeline_name=config.pipeline.name,
        pipeline_root=pipeline_root,
        components=components,
        enable_cache=config.pipeline.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args)


