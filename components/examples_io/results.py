"""Bringing a small result (counts, a few ids, a fitted summary) out of a Beam pipeline to the executor.

A Beam pipeline returns nothing to the code that runs it; each result is written as JSON lines to one file in the
executor's temporary folder and read back after the pipeline finished. Only for results that fit in memory.
"""
import json
import os

import apache_beam as beam
from tfx.dsl.io import fileio


class Results:
    """`collect(name, pcoll)` while building the pipeline; `results[name]` (a list of JSON values) after it ran."""

    def __init__(self, tmp_dir):
        self._dir = tmp_dir

    def _path(self, name):
        return os.path.join(self._dir, f"result-{name}.jsonl")

    def collect(self, name, pcoll):
        return (pcoll | f"ResultJson[{name}]" >> beam.Map(json.dumps)
                | f"WriteResult[{name}]" >> beam.io.WriteToText(self._path(name), num_shards=1,
                                                                 shard_name_template=""))

    def __getitem__(self, name):
        with fileio.open(self._path(name)) as f:
            return [json.loads(line) for line in f]
