"""iter_tfrecords reads a TFRecord file however it is cut into chunks: plain or gzipped, several gzip members, a
record larger than a chunk; and refuses a truncated or corrupt file, naming it."""
import gzip
import os

import pytest

from components.examples_io.framing import iter_tfrecords, parse_tfrecords
from components.examples_io.tfrecord import write_tfrecords

RECORDS = [b"", b"a", os.urandom(70_000), b"x" * 300] + [os.urandom(i % 50) for i in range(200)]


def _chunks(content, size):
    return (content[i:i + size] for i in range(0, len(content), size))


@pytest.fixture(scope="module")
def gzipped(tmp_path_factory):
    path = tmp_path_factory.mktemp("framing") / "shard.gz"
    write_tfrecords(str(path), RECORDS)
    return path.read_bytes()


@pytest.mark.parametrize("size", [1, 7, 4096, 1 << 20])
def test_any_chunking_of_a_gzipped_or_plain_file(gzipped, size):
    assert list(iter_tfrecords(_chunks(gzipped, size), "shard.gz")) == RECORDS
    assert list(iter_tfrecords(_chunks(gzip.decompress(gzipped), size), "plain")) == RECORDS


def test_several_gzip_members_read_as_one_file(gzipped):
    plain = gzip.decompress(gzipped)
    cut = len(plain) // 2
    members = gzip.compress(plain[:cut]) + gzip.compress(plain[cut:])
    assert list(iter_tfrecords(_chunks(members, 1000), "two.gz")) == RECORDS


def test_truncated_or_corrupt_files_are_refused(gzipped):
    with pytest.raises(ValueError, match="cut.gz: not a whole gzip file"):
        list(iter_tfrecords(_chunks(gzipped[:-100], 4096), "cut.gz"))
    plain = bytearray(gzip.decompress(gzipped))
    with pytest.raises(ValueError, match="cut: not a whole TFRecord file"):
        list(iter_tfrecords(_chunks(bytes(plain[:-3]), 4096), "cut"))
    plain[30] ^= 1
    with pytest.raises(ValueError, match="bad: TFRecord record at byte .* fails its CRC check"):
        parse_tfrecords(bytes(plain), "bad")


@pytest.mark.parametrize("byte", [0, 8])  # the length, or its CRC
def test_a_bad_header_is_refused_when_an_earlier_record_has_the_same_length(gzipped, byte):
    plain = bytearray(gzip.decompress(gzipped))
    last = len(plain) - (12 + len(RECORDS[-1]) + 4)  # the last record's header; its length is shared by earlier ones
    assert sum(len(record) == len(RECORDS[-1]) for record in RECORDS) > 1
    plain[last + byte] ^= 1
    with pytest.raises(ValueError, match=f"bad: not a whole TFRecord file \\(bad record header at byte {last}\\)"):
        parse_tfrecords(bytes(plain), "bad")
