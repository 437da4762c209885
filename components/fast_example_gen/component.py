"""FastExampleGen: a FileBasedExampleGen over CSV or Parquet files whose executor parses with pyarrow and encodes with
tfx_bsl, writing the same Examples (and the same splits) as stock CsvExampleGen."""
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec

from components.fast_example_gen import executor


class FastExampleGen(FileBasedExampleGen):
    """Takes the same arguments as CsvExampleGen (input_base, input_config, output_config, range_config); files
    ending in `.parquet` are read as Parquet, all others as CSV with a header line."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)
