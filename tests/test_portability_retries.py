"""A retried bundle cannot duplicate or lose rows of an Examples split (components/examples_io/tfrecord.py).

A runner retries a failed bundle, may run a bundle twice at once (speculative execution, Dataflow's backup workers)
and may bundle the same records differently on the retry; only the attempt it commits counts. The shard writer
writes each attempt under a name of its own in a temporary folder and renames only the committed attempts' shards
in a later step. Here: a real Beam runner retrying a bundle whose write failed half-way, and a retry that bundled
the records differently, with and without a retried commit.
"""
import os
from collections import Counter

import apache_beam as beam
import pytest
from apache_beam.io.filesystems import FileSystems

from components.examples_io import tfrecord
from components.examples_io.framing import read_tfrecords
from components.examples_io.tfrecord import Shard, WriteSplit, content_name
from tests import testfs

RECORDS = [f"example-{i:05d}".encode() for i in range(2_000)]


def local(uri):
    """Where the test looks at what was written (read_tfrecords reads through pyarrow, which has no testfs://)."""
    return testfs.to_local(uri) if uri.startswith(testfs.PREFIX) else uri


def split_rows(split_uri):
    rows = Counter()
    for found in FileSystems.match([FileSystems.join(split_uri, "*")])[0].metadata_list:
        rows.update(read_tfrecords(local(found.path)))
    return rows


@pytest.fixture(params=["local", "testfs"])
def artifact_uri(request, tmp_path):
    if request.param == "local":
        return str(tmp_path / "examples")
    testfs.use_root(tmp_path)
    return f"{testfs.PREFIX}examples"


def test_a_bundle_whose_write_failed_half_way_is_retried_by_the_runner(artifact_uri, monkeypatch):
    """Beam's BundleBasedDirectRunner retries a failed bundle (up to 4 times); the first write leaves half a file."""
    real_write, attempts = tfrecord.write_tfrecords, []

    def write_then_fail_once(path, records):
        attempts.append(path)
        if len(attempts) == 1:
            real_write(path, records[:len(records) // 2])
            raise IOError("the worker was lost half-way through the write")
        real_write(path, records)

    monkeypatch.setattr(tfrecord, "write_tfrecords", write_then_fail_once)
    split_uri = FileSystems.join(artifact_uri, "Split-train")
    with beam.Pipeline(runner="BundleBasedDirectRunner") as pipeline:
        _ = (pipeline | beam.Create(RECORDS, reshuffle=False)
             | WriteSplit("train", {"train": split_uri}, "RetryTest"))

    assert len(attempts) >= 2 and attempts[0] != attempts[1]  # the retry wrote a file of its own
    assert split_rows(split_uri) == Counter(RECORDS)  # every row exactly once, no half file
    assert os.listdir(local(artifact_uri)) == ["Split-train"]  # no temporary folder left


@pytest.mark.parametrize("commit_twice", [False, True])
def test_a_retry_that_bundled_the_records_differently(artifact_uri, commit_twice):
    """The failed attempt wrote all records as one shard; the retry, bundled differently, wrote them as two shards
    with other names. Content-named shards alone would keep all three (each row twice); the commit keeps the two.
    A retried commit (it failed after renaming) renames nothing twice."""
    split_uri = FileSystems.join(artifact_uri, "Split-train")
    split_uris = {"train": split_uri}
    attempt = tfrecord._WriteAttempt(split_uris, "RetryTest", "w1")  # pylint: disable=protected-access
    failed = list(attempt.process(Shard("train", content_name(RECORDS), RECORDS)))
    halves = (RECORDS[:700], RECORDS[700:])
    committed = [written for half in halves for _, written in attempt.process(Shard("train", content_name(half), half))]
    left_by_failed = failed[0][1][1]
    assert FileSystems.exists(left_by_failed)

    commit = tfrecord._Commit(split_uris, "RetryTest", "w1")  # pylint: disable=protected-access
    for _ in range(2 if commit_twice else 1):
        commit.process(("train", committed))

    assert split_rows(split_uri) == Counter(RECORDS)
    names = sorted(os.path.basename(m.path) for m in FileSystems.match([FileSystems.join(split_uri, "*")])[0]
                   .metadata_list)
    assert names == sorted(f"data_tfrecord-{content_name(half)}.gz" for half in halves)  # deterministic names
    assert os.listdir(local(artifact_uri)) == ["Split-train"]  # the failed attempt's file went with its folder


def test_shards_of_equal_content_each_keep_their_file(artifact_uri):
    """Two bundles holding the same records (exact duplicate rows) get the same content name: both are kept."""
    split_uri = FileSystems.join(artifact_uri, "Split-train")
    split_uris = {"train": split_uri}
    attempt = tfrecord._WriteAttempt(split_uris, "RetryTest", "w2")  # pylint: disable=protected-access
    same = RECORDS[:10]
    committed = [written for _ in range(2) for _, written in attempt.process(Shard("train", content_name(same), same))]
    tfrecord._Commit(split_uris, "RetryTest", "w2").process(("train", committed))  # pylint: disable=protected-access
    assert split_rows(split_uri) == Counter(same * 2)
