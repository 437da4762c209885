"""What the monitor needs to know about a model, found through ML Metadata's events, never through directory names:

    Model <- Trainer (its custom_config: features and label) <- TransformGraph <- Transform, whose inputs are the
    schema the model was built on and the training Examples <- ... <- the Examples StatisticsGen read -> statistics

and downstream of the model: the Evaluator's evaluation and the Examples it evaluated on, and the push.
Nothing here imports TensorFlow, so the serving input is checked against the model before it loads.
"""
import dataclasses
import json
import os
from typing import List, Optional

import pyarrow as pa
import pyarrow.fs as pafs
from google.protobuf import text_format
from ml_metadata.proto import metadata_store_pb2
from tensorflow_metadata.proto.v0 import schema_pb2

from pipeline import lineage
from pipeline.mlmd_graph import LineageError, decode

STATISTICS_KEY = "statistics"  # StatisticsGen's output key (Transform's pre_transform_stats are not it)
SCHEMA_FILE = "schema.pbtxt"  # the file name SchemaGen, ImportSchemaGen and Transform's schema artifacts use


@dataclasses.dataclass
class ModelSources:
    model: metadata_store_pb2.Artifact
    transform_graph: metadata_store_pb2.Artifact
    schema: metadata_store_pb2.Artifact  # the raw-data schema Transform (so the model) was built on
    training_examples: List[metadata_store_pb2.Artifact]  # what Transform read
    statistics: List[metadata_store_pb2.Artifact]  # StatisticsGen's statistics of those Examples (or their source)
    evaluation: Optional[metadata_store_pb2.Artifact]
    eval_examples: Optional[metadata_store_pb2.Artifact]
    pushed_model: Optional[metadata_store_pb2.Artifact]
    blessed: Optional[bool]
    numeric_features: List[str]
    categorical_features: List[str]
    label: str

    @property
    def features(self):
        return self.numeric_features + self.categorical_features


def _inputs(graph, execution, key):
    return [artifact for input_key, artifact in graph.inputs(execution) if input_key == key]


def _one_input(graph, execution, key):
    found = _inputs(graph, execution, key)
    if not found:
        raise LineageError(f"{graph.component(execution)} (execution #{execution.id}) has no '{key}' input in ML "
                           f"Metadata; the monitor needs it to find the model's training data")
    return found[0]


def _statistics_of(graph, examples):
    """StatisticsGen's ExampleStatistics made from `examples`, or from the nearest Examples above them (components
    that derive Examples, such as consensus labelling, sit between StatisticsGen's input and Transform's)."""
    frontier, seen = [examples], set()
    while frontier:
        artifact = frontier.pop(0)
        if artifact.id in seen:
            continue
        seen.add(artifact.id)
        for consumer in graph.consumers(artifact):
            statistics = [a for key, a in graph.outputs(consumer)
                          if key == STATISTICS_KEY and graph.type_name(a) == "ExampleStatistics"]
            if statistics:
                return statistics[0]
        producer, _ = graph.producer(artifact)
        if producer is not None:
            frontier += [a for _, a in graph.inputs(producer) if graph.type_name(a) == "Examples"]
    raise LineageError(f"no statistics in ML Metadata for Examples #{examples.id} or the Examples it was made from; "
                       f"the pipeline's StatisticsGen must have run on the training data")


def _model_of(graph, artifact):
    """(Model, PushedModel or None) for a Model or PushedModel artifact."""
    if graph.type_name(artifact) == "Model":
        return artifact, None
    pusher, _ = graph.producer(artifact)
    return _one_input(graph, pusher, "model"), artifact


def find_sources(graph, model="latest"):
    """The ModelSources of `model` ('latest' or a Model/PushedModel artifact id)."""
    model_artifact, pushed = _model_of(graph, lineage.find_model(graph, model))
    trainer, _ = graph.producer(model_artifact)
    if trainer is None:
        raise LineageError(f"Model #{model_artifact.id} has no producing execution in ML Metadata")
    if "custom_config" not in trainer.custom_properties:
        raise LineageError(f"{graph.component(trainer)} (execution #{trainer.id}) recorded no custom_config; the "
                           f"monitor reads the model's features and label from it")
    custom_config = json.loads(decode(trainer.custom_properties["custom_config"]))
    transform_graph = _one_input(graph, trainer, "transform_graph")
    transform, _ = graph.producer(transform_graph)
    training_examples = _inputs(graph, transform, "examples")
    blessed, evaluation, eval_examples = None, None, None
    for consumer in graph.consumers(model_artifact):
        for _, output in graph.outputs(consumer):
            kind = graph.type_name(output)
            if kind == "ModelEvaluation":
                evaluation, eval_examples = output, _one_input(graph, consumer, "examples")
            elif kind == "ModelBlessing" and "blessed" in output.custom_properties:
                blessed = bool(decode(output.custom_properties["blessed"]))
            elif kind == "PushedModel" and pushed is None and decode(output.custom_properties.get(
                    "pushed", metadata_store_pb2.Value(int_value=0))):
                pushed = output
    return ModelSources(
        model=model_artifact, transform_graph=transform_graph, schema=_one_input(graph, transform, "schema"),
        training_examples=training_examples,
        statistics=[_statistics_of(graph, examples) for examples in training_examples],
        evaluation=evaluation, eval_examples=eval_examples, pushed_model=pushed, blessed=blessed,
        numeric_features=list(custom_config["numeric_features"]),
        categorical_features=list(custom_config["categorical_features"]), label=custom_config["label_column"])


def load_schema(schema_artifact):
    """The schema proto of a Schema artifact (protobuf only, no TensorFlow)."""
    path = os.path.join(schema_artifact.uri, SCHEMA_FILE)
    try:
        filesystem, file_path = pafs.FileSystem.from_uri(path if "://" in path else os.path.abspath(path))
        with filesystem.open_input_stream(file_path) as f:
            return text_format.Parse(f.read().decode("utf-8"), schema_pb2.Schema())
    except (OSError, pa.ArrowException) as e:
        raise LineageError(f"the model's schema {path} (Schema #{schema_artifact.id}) cannot be read: {e}") from None
