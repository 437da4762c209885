"""FastExampleGen: a FileBasedExampleGen over CSV or Parquet files whose executor parses with pyarrow and encodes with
tfx_bsl, writing the same Examples (and the same splits) as stock CsvExampleGen."""
from google.protobuf import struct_pb2
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2

from components.fast_example_gen import executor


class FastExampleGen(FileBasedExampleGen):
    """Takes the same arguments as CsvExampleGen (input_base, input_config, output_config, range_config); files
    ending in `.parquet` are read as Parquet, all others as CSV with a header line."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, *args, missing_values=(), **kwargs):
        """`missing_values`: CSV cell texts read as missing, like an empty cell (and so never making a numeric
        column text); none by default, as stock. They travel in the custom config, so Kubeflow's container gets
        them too."""
        if missing_values:
            config = struct_pb2.Struct()
            config.update({"missing_values": list(missing_values)})
            custom = example_gen_pb2.CustomConfig()
            custom.custom_config.Pack(config)
            kwargs["custom_config"] = custom
        super().__init__(*args, **kwargs)
