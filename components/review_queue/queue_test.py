"""queue.rank_key keeps its order through JSON (the executor ranks by it as an examples_io.sorted_text key): on ids
that are prefixes of others or hold NUL, surrogate and non-ASCII characters, -0.0, negative and infinite scores,
missing (NaN) scores."""
import json
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


def test_rank_key_sorts_the_same_through_json():
    rng = random.Random(0)
    entries = [_entry(example_id, rng.sample(queue.FINDERS, rng.randint(1, 4)), rng.choice(SCORES),
                      rng.choice(SCORES)) for example_id in IDS for _ in range(40)]
    by_key = [queue.rank_key(e) for e in sorted(entries, key=queue.rank_key)]
    by_json = [queue.rank_key(e) for e in sorted(entries, key=lambda e: json.loads(json.dumps(queue.rank_key(e))))]
    assert by_json == by_key
    assert all(json.loads(json.dumps(queue.rank_key(e))) == list(queue.rank_key(e)) for e in entries)
