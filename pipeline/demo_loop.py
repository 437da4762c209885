"""One turn of the data-centric loop on the demo: run 1, a review of the top of the review queue, run 2, what changed.

    .venv/bin/python -m pipeline.demo_loop [--output-dir outputs/demo-loop] [--review-top 20]   (make demo-loop)

The reviewer is a SIMULATION: a script that answers from data/answer_keys/ (the labels make_demo.py planted wrong,
and the true species of the planted near-duplicates); for a queued example the keys do not name, it confirms the
given label, as a person who checked it would. Its answers are the corrections file of run 2.

The eval set. The default 4:1 split leaves about 45 eval birds on which the model makes no error: a 95% interval of
[92%, 100%] that no correction can visibly move. The loop therefore (1) splits span 1 1:1, so about 113 birds are
held out (the interval at 100% narrows to about [97%, 100%]), and (2) scores both runs against one fixed, reviewed
set of labels: the eval examples' labels with the answer keys applied, the same for both runs (run 2's own eval
labels are partly corrected, so its Evaluator figure is not comparable with run 1's). The two runs predict the same
birds, so their difference is tested pairwise (McNemar's exact test). Both runs read span 1 ([data] span = 1), where
the planted label errors are.
"""
import argparse
import csv
import json
import os
import subprocess
import sys

import pandas as pd
from statsmodels.stats.contingency_tables import mcnemar

from components.error_analysis import contract as analysis_contract
from components.error_analysis.slices import wilson_interval
from components.review_queue import contract as queue_contract
from pipeline.configs import write_config
from pipeline.mlmd_graph import open_store

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANSWER_KEYS = os.path.join(REPO, "data", "answer_keys")
REVIEWER = "scripted-reviewer (simulation: data/answer_keys)"


def answer_key():
    """example_id -> the true label, from the planted flips and the planted near-duplicates (a copy is of the
    original's bird, so its true species is the original's label)."""
    flips = pd.read_csv(os.path.join(ANSWER_KEYS, "planted_label_flips.csv"))
    copies = pd.read_csv(os.path.join(ANSWER_KEYS, "planted_conflicts.csv"))
    return {**dict(zip(flips["example_id"], flips["true_species"])),
            **dict(zip(copies["copy_id"], copies["original_label"]))}


def review(queue_rows, top, truth):
    """The scripted reviewer's answers for the `top` rows of the queue, as a corrections file's rows."""
    answers = []
    for row in sorted(queue_rows, key=lambda r: int(r["priority"]))[:top]:
        known = row["example_id"] in truth
        label = truth[row["example_id"]] if known else row["given_label"]
        answers.append({"example_id": row["example_id"], "given_label": row["given_label"],
                        "corrected_label": label, "reviewer": REVIEWER,
                        "reason": "answer key" if known else "checked: the given label stands"})
    return answers


def newest_uri(metadata_path, type_name):
    artifacts = open_store(metadata_path).get_artifacts_by_type(type_name)
    if not artifacts:
        raise SystemExit(f"demo loop: no {type_name} artifact in {metadata_path}; did the run fail?")
    return max(artifacts, key=lambda a: a.id).uri


def run_pipeline(config_path, sections):
    write_config(config_path, sections)
    print(f"\n$ python -m pipeline run --config {config_path}", flush=True)
    subprocess.run([sys.executable, "-m", "pipeline", "run", "--config", config_path], cwd=REPO, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", default="outputs/demo-loop")
    parser.add_argument("--review-top", type=int, default=20, help="queue rows the scripted reviewer answers")
    args = parser.parse_args()
    root = os.path.abspath(args.output_dir)
    os.makedirs(root, exist_ok=True)
    metadata = os.path.join(root, "metadata.sqlite")
    base = {"pipeline": {"output_dir": root},
            "data": {"span": 1, "train_buckets": 1, "eval_buckets": 1}}

    run_pipeline(os.path.join(root, "run1.toml"), base)
    analysis_1 = newest_uri(metadata, analysis_contract.ARTIFACT_TYPE_NAME)
    with open(os.path.join(newest_uri(metadata, queue_contract.ARTIFACT_TYPE_NAME), queue_contract.QUEUE_FILE)) as f:
        queue = list(csv.DictReader(f))
    truth = answer_key()
    answers = review(queue, args.review_top, truth)
    corrections = os.path.join(root, "corrections.csv")
    with open(corrections, "w", newline="") as f:
        writer = csv.DictWriter(f, ["example_id", "given_label", "corrected_label", "reviewer", "reason"])
        writer.writeheader()
        writer.writerows(answers)
    changed = sum(a["corrected_label"] != a["given_label"] for a in answers)
    print(f"\nScripted reviewer (a simulation answering from data/answer_keys/): {len(answers)} of {len(queue)} "
          f"queued examples reviewed, {changed} labels corrected; {corrections}", flush=True)

    run_pipeline(os.path.join(root, "run2.toml"), {**base, "labels": {"corrections_file": corrections}})
    analysis_2 = newest_uri(metadata, analysis_contract.ARTIFACT_TYPE_NAME)
    run2_config = os.path.join(root, "run2.toml")
    print(f"\n$ python -m pipeline runs --config {run2_config}", flush=True)
    subprocess.run([sys.executable, "-m", "pipeline", "runs", "--config", run2_config], cwd=REPO, check=False)
    compare(analysis_1, analysis_2, truth)


def compare(analysis_1, analysis_2, truth):
    """Both runs' error analyses side by side, and their accuracy on the one reviewed eval set, paired."""
    runs = []
    for uri in (analysis_1, analysis_2):
        with open(os.path.join(uri, analysis_contract.ANALYSIS_FILE)) as f:
            analysis = json.load(f)
        predictions = pd.read_csv(os.path.join(uri, analysis_contract.PREDICTIONS_FILE), keep_default_na=False,
                                  dtype={"example_id": str}).set_index("example_id")
        runs.append((analysis, predictions))
    given = runs[0][1]["label"]  # run 1's labels, before any correction
    reviewed = pd.Series([truth.get(i, label) for i, label in given.items()], index=given.index)
    print("\n## What changed\n")
    correct = []
    for number, (analysis, predictions) in enumerate(runs, 1):
        right = predictions["predicted_label"].reindex(reviewed.index) == reviewed
        correct.append(right)
        low, high = wilson_interval(int(right.sum()), len(right))
        lever = (analysis.get("levers") or {}).get("answer", "not estimated")
        print(f"run {number}: accuracy on the reviewed eval set {right.mean():.1%} [{low:.1%}, {high:.1%}] "
              f"({int(right.sum())}/{len(right)}); its own eval labels: {analysis['overall']['accuracy']:.1%}; "
              f"weak slices: {len(analysis['weak_slices'])}\n  error analysis: {analysis['verdict']}\n"
              f"  more data or cleaner labels: {lever}")
    both = pd.crosstab(correct[0], correct[1]).reindex(index=[True, False], columns=[True, False], fill_value=0)
    p_value = mcnemar(both.to_numpy(), exact=True).pvalue
    print(f"\nrun 2 - run 1 on the same {len(reviewed)} birds: {correct[1].mean() - correct[0].mean():+.1%}; "
          f"{int(both.loc[False, True])} now right, {int(both.loc[True, False])} now wrong; McNemar exact "
          f"p = {p_value:.3g}: " + ("beyond noise" if p_value < 0.05 else "within noise (no change shown)"))


if __name__ == "__main__":
    main()
