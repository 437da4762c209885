"""The serving monitor's Beam pipeline and its record in ML Metadata.

`preflight.plan` has found the model's sources through ML Metadata and checked the serving files against the model's
schema. `run` then runs one Beam pipeline under the project's Beam arguments:

    serving files -> typed RecordBatches -+-> TFDV statistics                    -> serving_statistics.pb
                                          +-> tf.Examples of the model's features -> RunInference -> summary
    eval split (the Evaluator's Examples) -> RecordBatches -> tf.Examples -> RunInference -> summary

compares what it wrote with the training statistics and the evaluation (report.py), writes the report under
<output_dir>/monitor/<timestamp>/ and records the run in ML Metadata: a ServingMonitor execution with an INPUT event
on the Model (and the statistics and schema it compared against), an OUTPUT event on a MonitorReport artifact whose
custom properties hold the verdicts, in a `model_monitoring` context per model.
"""
import datetime
import json
import os
import typing

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx_bsl.coders import example_coder

from models.features import LABEL_VOCABULARY
from pipeline.configs import metadata_path
from pipeline.monitor import CONTEXT_TYPE, EXECUTION_TYPE, REPORT_TYPE, context_name
from pipeline.monitor import estimates, report, serving_input
from pipeline.monitor.preflight import Plan
from pipeline import tfma_metrics

STATISTICS_FILE, PREDICTIONS_FILE = "serving_statistics.pb", "predictions.json"  # beside report.py's files
TRAIN_SPLIT, EVAL_SPLIT = "train", "eval"


# ---- Beam --------------------------------------------------------------------------------------------------------

def _model_inputs(batch: pa.RecordBatch, features, required, label, vocabulary):
    """(label index, serialized tf.Example of the model's features) per row the serving signature can parse; a row
    missing a required feature is counted, under the key None, instead."""
    names = batch.schema.names
    scorable = np.ones(batch.num_rows, bool)
    for name in required:
        scorable &= pc.list_value_length(batch.column(names.index(name))).fill_null(0).to_numpy(
            zero_copy_only=False) > 0
    rows = batch.filter(pa.array(scorable))
    if scorable.sum() < batch.num_rows:
        yield None, int(batch.num_rows - scorable.sum())
    if rows.num_rows == 0:
        return
    examples = example_coder.RecordBatchToExamples(
        pa.RecordBatch.from_arrays([rows.column(names.index(f)) for f in features], features))
    if label in names:
        labels = [vocabulary.get(v[0], len(vocabulary)) if v else estimates.MISSING_LABEL
                  for v in rows.column(names.index(label)).to_pylist()]
    else:
        labels = [estimates.MISSING_LABEL] * rows.num_rows
    yield from zip(labels, examples)


def _probabilities(keyed_log):
    """(label index, class probabilities) from RunInference's (key, PredictionLog) of a one-output signature."""
    import tensorflow as tf  # loaded by RunInference on this worker already
    label, log = keyed_log
    (output,) = log.predict_log.response.outputs.values()
    return label, tf.make_ndarray(output).astype(np.float64).reshape(-1)


def _summarize(batch, n_classes):
    labels, probabilities = zip(*batch)
    return estimates.PredictionSummary(n_classes).add(np.stack(probabilities), np.array(labels))


class MergeSummaries(beam.CombineFn):
    """PredictionSummary of batches merged into one, as a JSON-ready dict."""

    def __init__(self, n_classes):
        self._n_classes = n_classes

    def create_accumulator(self):
        return estimates.PredictionSummary(self._n_classes)

    def add_input(self, accumulator, summary):
        return accumulator.merge(summary)

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for accumulator in accumulators:
            merged.merge(accumulator)
        return merged

    def extract_output(self, accumulator):
        return accumulator.to_dict()


def _predict(batches, name, spec, features, required, label, vocabulary):
    """[(name + '_summary', summary dict), (name + '_unscored', rows)] as PCollections."""
    from tfx_bsl.public.beam import RunInference

    pairs = batches | f"{name}ModelInputs" >> beam.FlatMap(_model_inputs, features, required, label, vocabulary)
    # Typed as keyed: RunInference then keeps the key (the label index) beside each PredictionLog.
    scorable = pairs | f"{name}Scorable" >> beam.Filter(lambda kv: kv[0] is not None).with_output_types(
        typing.Tuple[int, bytes])
    unscored = (pairs
                | f"{name}Unscorable" >> beam.Filter(lambda kv: kv[0] is None)
                | f"{name}UnscoredRows" >> beam.Map(lambda kv: kv[1])
                | f"{name}CountUnscored" >> beam.CombineGlobally(sum)
                | f"{name}UnscoredKey" >> beam.Map(lambda n: (f"{name}_unscored", n)))
    summary = (scorable
               | f"{name}RunInference" >> RunInference(spec)
               | f"{name}Probabilities" >> beam.Map(_probabilities)
               | f"{name}Batch" >> beam.BatchElements(min_batch_size=256, max_batch_size=8192)
               | f"{name}Summarize" >> beam.Map(_summarize, len(vocabulary))
               | f"{name}Merge" >> beam.CombineGlobally(MergeSummaries(len(vocabulary)))
               | f"{name}SummaryKey" >> beam.Map(lambda s: (f"{name}_summary", s)))
    return [summary, unscored]


def _run_beam(p: Plan, out_dir, model_path, required, vocabulary, log):
    import tensorflow_data_validation as tfdv
    from apache_beam.options.pipeline_options import PipelineOptions
    from tfx.types import artifact_utils, standard_artifacts
    from tfx_bsl.public import tfxio
    from tfx_bsl.public.proto import model_spec_pb2

    found = p.sources
    spec = model_spec_pb2.InferenceSpecType(saved_model_spec=model_spec_pb2.SavedModelSpec(
        model_path=model_path, signature_name=["serving_default"]))
    args = (spec, found.features, required, found.label, vocabulary)
    log(f"Monitor: Beam pipeline ({p.config.pipeline.beam_mode}): TFDV statistics of {len(p.layout.files)} serving "
        f"file(s), the model on the serving rows" + (" and on the eval split" if found.eval_examples else ""))
    from pipeline.local_runner import beam_args  # the local run's Beam engine; TensorFlow is loaded by now
    from pipeline.pipeline import statistics_options  # training's options: serving statistics computed alike
    with beam.Pipeline(options=PipelineOptions(beam_args(p.config))) as pipeline:
        serving = (pipeline
                   | "ServingFiles" >> beam.Create(p.layout.files)
                   | "SpreadFiles" >> beam.Reshuffle()
                   | "ReadServing" >> beam.FlatMap(serving_input.read_batches, p.layout.types,
                                                   p.config.data.missing_values))
        _ = (serving
             | "ServingStatistics" >> tfdv.GenerateStatistics(statistics_options())
             | "WriteStatistics" >> tfdv.WriteStatisticsToBinaryFile(os.path.join(out_dir, STATISTICS_FILE)))
        results = _predict(serving, "serving", *args)
        if found.eval_examples is not None:
            examples = standard_artifacts.Examples()
            examples.set_mlmd_artifact(found.eval_examples)
            pattern = os.path.join(artifact_utils.get_split_uri([examples], EVAL_SPLIT), "*")
            eval_batches = pipeline | "ReadEval" >> tfxio.TFExampleRecord(
                pattern, schema=p.schema, telemetry_descriptors=["ServingMonitor"]).BeamSource()
            results += _predict(eval_batches, "eval", *args)
        _ = (results
             | "Results" >> beam.Flatten()
             | "ToDict" >> beam.combiners.ToDict()
             | "Json" >> beam.Map(json.dumps)
             | "WriteResults" >> beam.io.WriteToText(os.path.join(out_dir, PREDICTIONS_FILE),
                                                     shard_name_template="", num_shards=1))


# ---- after Beam ----------------------------------------------------------------------------------------------------

def _split_statistics(statistics_artifact, split):
    from tfx.components.statistics_gen import stats_artifact_utils
    from tfx.types import standard_artifacts
    artifact = standard_artifacts.ExampleStatistics()
    artifact.set_mlmd_artifact(statistics_artifact)
    return stats_artifact_utils.load_statistics(artifact, split).proto().datasets[0]


def _evaluated_accuracy(evaluation):
    """(accuracy, example count) of the overall slice from the Evaluator's output (TFMA keeps metrics out of MLMD)."""
    values = tfma_metrics.overall(evaluation.uri)
    return values.get(tfma_metrics.ACCURACY_METRIC), values.get(tfma_metrics.EXAMPLE_COUNT)


def _schema_anomalies(serving_statistics, schema, layout, label):
    """TFDV's anomalies of the serving statistics against the model's schema, in a SERVING environment that
    expects neither the label (when the files lack it) nor the columns the files lack (listed separately)."""
    import tensorflow_data_validation as tfdv
    from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2
    serving_schema = schema_pb2.Schema()
    serving_schema.CopyFrom(schema)
    not_served = set(layout.absent) | ({label} if not layout.has_label else set())
    if "SERVING" not in serving_schema.default_environment:
        serving_schema.default_environment.extend(["TRAINING", "SERVING"])
    for feature in serving_schema.feature:
        if feature.name in not_served:
            feature.not_in_environment.append("SERVING")
    anomalies = tfdv.validate_statistics(
        statistics_pb2.DatasetFeatureStatisticsList(datasets=[serving_statistics]), serving_schema,
        environment="SERVING")
    return {name: [reason.description or reason.short_description for reason in info.reason]
            for name, info in sorted(anomalies.anomaly_info.items())}


def _absolute(path):
    """A local path made absolute; a URI (gs://...) as it is (os.path.abspath would make it a local path)."""
    return path if "://" in path else os.path.abspath(path)


def run(p: Plan, log=print):
    """Runs the monitor; returns (report dict, the directory it wrote)."""
    import tensorflow_transform as tft
    from tfx.utils import path_utils
    import tensorflow as tf

    found, config = p.sources, p.config
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    out_dir = _absolute(os.path.join(config.pipeline.output_dir, "monitor", stamp))
    tf.io.gfile.makedirs(out_dir)  # a gs:// output_dir too: every write below goes through Beam, TF or pyarrow
    transform_output = tft.TFTransformOutput(found.transform_graph.uri)
    vocabulary = {value: i for i, value in enumerate(transform_output.vocabulary_by_name(LABEL_VOCABULARY))}
    raw_spec = transform_output.raw_feature_spec()
    required = [f for f in found.features
                if isinstance(raw_spec.get(f), tf.io.FixedLenFeature) and raw_spec[f].default_value is None]
    model_path = path_utils.serving_model_path(found.model.uri)
    _run_beam(p, out_dir, model_path, required, vocabulary, log)

    import tensorflow_data_validation as tfdv
    serving_statistics = tfdv.load_stats_binary(os.path.join(out_dir, STATISTICS_FILE)).datasets[0]
    with tf.io.gfile.GFile(os.path.join(out_dir, PREDICTIONS_FILE)) as f:
        predictions = json.loads(f.read())
    training_statistics = _split_statistics(found.statistics[-1], TRAIN_SPLIT)
    evaluated = _evaluated_accuracy(found.evaluation) if found.evaluation is not None else (None, None)
    result = report.build(
        config=config, plan=p, class_names=[v.decode() for v in vocabulary],
        training_statistics=training_statistics, serving_statistics=serving_statistics,
        anomalies=_schema_anomalies(serving_statistics, p.schema, p.layout, found.label),
        predictions=predictions, evaluated=evaluated)
    report.write(result, out_dir)
    record(config, p, result, out_dir)
    return result, out_dir


# ---- ML Metadata ---------------------------------------------------------------------------------------------------

def _writable_store(config):
    connection = metadata_store_pb2.ConnectionConfig()
    connection.sqlite.filename_uri = os.path.abspath(metadata_path(config))
    connection.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE
    return metadata_store.MetadataStore(connection)


def _set(properties, values):
    for key, value in values.items():
        if isinstance(value, bool) or isinstance(value, int):
            properties[key].int_value = int(value)
        elif isinstance(value, float):
            properties[key].double_value = value
        elif isinstance(value, str):
            properties[key].string_value = value
        else:
            properties[key].struct_value.update({"__value__": value})


def record(config, p: Plan, result, out_dir):
    """Records the monitor run in ML Metadata, linked to the model it watched."""
    store = _writable_store(config)
    execution_type = store.put_execution_type(metadata_store_pb2.ExecutionType(name=EXECUTION_TYPE))
    report_type = store.put_artifact_type(metadata_store_pb2.ArtifactType(name=REPORT_TYPE))
    context_type = store.put_context_type(metadata_store_pb2.ContextType(name=CONTEXT_TYPE))
    execution = metadata_store_pb2.Execution(type_id=execution_type,
                                             last_known_state=metadata_store_pb2.Execution.COMPLETE)
    _set(execution.custom_properties, {"serving": _absolute(p.serving_folder), "verdict": result["verdict"],
                                       "exit_status": result["exit_status"]})
    artifact = metadata_store_pb2.Artifact(type_id=report_type, uri=out_dir,
                                           state=metadata_store_pb2.Artifact.LIVE)
    _set(artifact.custom_properties, report.recorded_properties(result))
    found = p.sources
    context = metadata_store_pb2.Context(type_id=context_type, name=context_name(found.model))
    existing = store.get_context_by_type_and_name(CONTEXT_TYPE, context.name)
    if existing is not None:
        context = existing

    def event(kind, key):
        return metadata_store_pb2.Event(type=kind, path=metadata_store_pb2.Event.Path(
            steps=[metadata_store_pb2.Event.Path.Step(key=key)]))

    inputs = [(found.model, "model"), (found.statistics[-1], "training_statistics"), (found.schema, "schema")]
    if found.pushed_model is not None:
        inputs.append((found.pushed_model, "pushed_model"))
    store.put_execution(
        execution,
        [(a, event(metadata_store_pb2.Event.INPUT, key)) for a, key in inputs]
        + [(artifact, event(metadata_store_pb2.Event.OUTPUT, "report"))],
        [context], reuse_context_if_already_exist=True)
