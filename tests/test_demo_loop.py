"""The demo loop's scripted reviewer (a simulation answering from data/answer_keys/): it answers the top of a queue
in priority order, corrects exactly what the keys name and confirms the rest, in a valid corrections file's shape."""
import pandas as pd

from pipeline import demo_loop
from tests.pipeline_runs import REPO


def test_answer_key_holds_the_planted_flips_and_the_near_duplicates_true_species():
    truth = demo_loop.answer_key()
    flips = pd.read_csv(f"{REPO}/data/answer_keys/planted_label_flips.csv")
    assert len(truth) == len(flips) + 3
    assert truth["pg-0029"] == "Adelie" and truth["pg-dup-1"] == "Gentoo"


def test_reviewer_answers_the_top_rows_in_priority_order():
    queue = [{"example_id": "pg-0001", "given_label": "Adelie", "priority": "3"},
             {"example_id": "pg-0029", "given_label": "Chinstrap", "priority": "1"},
             {"example_id": "pg-dup-1", "given_label": "Adelie", "priority": "2"}]
    answers = demo_loop.review(queue, 2, demo_loop.answer_key())
    assert [a["example_id"] for a in answers] == ["pg-0029", "pg-dup-1"]
    assert [a["corrected_label"] for a in answers] == ["Adelie", "Gentoo"]
    assert all(a["reviewer"] == demo_loop.REVIEWER for a in answers)
    confirmed = demo_loop.review(queue, 3, demo_loop.answer_key())[-1]
    assert confirmed["corrected_label"] == confirmed["given_label"] == "Adelie"
