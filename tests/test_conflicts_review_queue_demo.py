"""On the shared demo run: the planted X->y conflicts are found, and the review queue is exactly the de-duplicated
union of what the three finders flagged, ranked."""
import csv
import os

from components.conflicts.component import LabelConflicts
from components.label_consistency.component import LabelConsistencyReport
from components.label_errors.component import LabelIssues
from components.review_queue.component import LabelReviewQueue
from tests.pipeline_runs import REPO, artifacts_of_type, open_store


def read_csv(folder, name):
    with open(os.path.join(folder, name)) as f:
        return list(csv.DictReader(f))


def only_artifact(store, type_name):
    (artifact,) = artifacts_of_type(store, type_name)
    return artifact


def test_demo_conflicts_and_review_queue(demo_run):
    store = open_store(demo_run.metadata)
    conflicts = only_artifact(store, LabelConflicts.TYPE_NAME)
    rows = read_csv(conflicts.uri, "conflicts.csv")
    groups = {}
    for row in rows:
        groups.setdefault(row["group_id"], set()).add(row["example_id"])
    planted = read_csv(os.path.join(REPO, "data", "answer_keys"), "planted_conflicts.csv")
    assert sorted(groups.values(), key=min) == sorted(({p["original_id"], p["copy_id"]} for p in planted), key=min)
    assert conflicts.custom_properties["groups"].int_value == 3
    assert conflicts.custom_properties["examples_in_conflict"].int_value == 6

    queue_artifact = only_artifact(store, LabelReviewQueue.TYPE_NAME)
    queue = read_csv(queue_artifact.uri, "review_queue.csv")
    ids = [row["example_id"] for row in queue]
    assert len(ids) == len(set(ids))  # de-duplicated
    flagged = {
        "label_consistency": {r["example_id"] for r in read_csv(only_artifact(store, LabelConsistencyReport.TYPE_NAME).uri,
                                                                "disagreements.csv")},
        "conflicts": {r["example_id"] for r in rows},
        "label_errors": {r["example_id"] for r in read_csv(only_artifact(store, LabelIssues.TYPE_NAME).uri,
                                                           "label_issues.csv")},
    }
    assert set(ids) == set().union(*flagged.values())
    for row in queue:
        finders = {f for f, members in flagged.items() if row["example_id"] in members}
        assert set(row["finders"].split(",")) == finders and int(row["signals"]) == len(finders)
    assert [int(row["priority"]) for row in queue] == list(range(1, len(queue) + 1))
    signals = [int(row["signals"]) for row in queue]
    assert signals == sorted(signals, reverse=True)  # more independent signals first
    assert any(s > 1 for s in signals)  # the finders overlap on the demo
    assert queue_artifact.custom_properties["rows"].int_value == len(queue)
