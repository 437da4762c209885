"""queue.rank_bytes orders entries exactly as queue.rank_key does, on the cases bytes get wrong: ids that are
prefixes of others or hold NUL and non-ASCII characters, -0.0, negative and infinite scores, missing scores."""
import math
import random

from components.review_queue import queue

IDS = ["a", "ab", "a\x00", "a\x00b", "a\x00\x00", "\x00", "", "b", "é", "e\u0301", "\U0001f427", "\ud800", "a b",
       "a\xff", "a\x01", "10", "9", "a,b", 'a"b']
SCORES = [math.nan, 0.0, -0.0, 0.5, 1.0, -1.0, 1e-300, -1e-300, math.inf, -math.inf, 0.1, 0.30000000000000004, 0.3]


def _entry(example_id, finders, quality, agreement):
    entry = queue.Entry(example_id)
    entry.reasons = {finder: "" for finder in finders}
    entry.quality_score, entry.agreement = quality, agreement
    return entry


def test_rank_bytes_sorts_as_rank_key():
    rng = random.Random(0)
    entries = [_entry(example_id, rng.sample(queue.FINDERS, rng.randint(1, 4)), rng.choice(SCORES),
                      rng.choice(SCORES)) for example_id in IDS for _ in range(40)]
    by_key = [queue.rank_key(e) for e in sorted(entries, key=queue.rank_key)]
    by_bytes = [queue.rank_key(e) for e in sorted(entries, key=queue.rank_bytes, reverse=True)]
    assert by_bytes == by_key
    assert len({queue.rank_bytes(e) for e in entries}) == len({queue.rank_key(e) for e in entries})


def test_text_after_the_key_never_decides():
    """An id that is a prefix of another ranks first whatever bytes follow the key (the row's text)."""
    shorter, longer = _entry("a", ["conflicts"], 0.5, 0.5), _entry("ab", ["conflicts"], 0.5, 0.5)
    assert queue.rank_bytes(shorter) + b"\x00" > queue.rank_bytes(longer) + b"\xff" * 8
    nul = _entry("a\x00", ["conflicts"], 0.5, 0.5)  # "a" < "a\x00" < "ab"
    assert queue.rank_bytes(shorter) + b"\x00" > queue.rank_bytes(nul) + b"\xff" > queue.rank_bytes(longer)
