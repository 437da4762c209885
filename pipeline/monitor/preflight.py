"""The monitor's pre-flight: the model's sources found through ML Metadata and the serving files checked against
its schema, before Beam and TensorFlow load, so a wrong folder or file fails in seconds (exit 2)."""
import dataclasses

from pipeline.configs import Config, metadata_path
from pipeline.mlmd_graph import Graph, open_store
from pipeline.monitor import serving_input
from pipeline.monitor import sources as model_sources


@dataclasses.dataclass
class Plan:
    """Everything checked before the heavy work: the model's sources, its schema and the serving files' layout."""
    config: Config
    serving_folder: str
    sources: model_sources.ModelSources
    schema: object  # schema_pb2.Schema
    layout: serving_input.ServingLayout


def plan(config: Config, serving_folder, model="latest"):
    """The Plan for monitoring `model` ('latest' or an artifact id) on the files in `serving_folder`; raises
    LineageError or InputError (exit 2) naming what is wrong."""
    graph = Graph(open_store(metadata_path(config)))
    found = model_sources.find_sources(graph, model)
    schema = model_sources.load_schema(found.schema)
    layout = serving_input.check_serving(serving_folder, schema, found.features, found.label,
                                         config.data.missing_values)
    return Plan(config, serving_folder, found, schema, layout)
