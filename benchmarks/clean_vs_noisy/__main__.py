"""Is cleaning 12% label noise worth as much as twice the data? A reproduction on scikit-learn's digits.

    .venv/bin/python -m benchmarks.clean_vs_noisy [--seeds 10] [--noise 0.12] [--model logistic_regression]
        [--max-fit-examples 250]

Per seed: a stratified held-out test set of 797 digits; from the other 1,000, the first 500 are the small set.
A share `--noise` of the training labels is flipped to another class drawn uniformly (in the 500 and in the second
500 alike). One fixed model (the label-error finder's own, `--model`) is trained on:
  (a) the 500 with flipped labels;            (b) all 1,000 with flipped labels;
  (c) the 500 of (a) after our finder (components/label_errors/finder.py, no oracle): flagged examples removed,
      or flagged examples relabelled with the suggested label;
  (d) the 500 with their true labels.
Prints a markdown table: mean and standard deviation over the seeds of test accuracy, and the finder's precision and
recall against the flips. With `--max-fit-examples M` (below 500) it also runs the finder's bounded method, the one
LabelErrors uses above `[label_errors] max_fit_examples` (components/label_errors/capped.py: fold models fitted on a
stratified sample of M, every example scored out of sample), on the same 500 and prints its precision and recall
and their paired difference from the exact finder's.
"""
import argparse
import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from components.label_errors.capped import find_label_errors_bounded
from components.label_errors.finder import MODELS, find_label_errors

SMALL, LARGE = 500, 1000


def flip(labels, fraction, n_classes, rng):
    """Labels with `fraction` of them replaced by another class drawn uniformly; and the flipped mask."""
    flipped = np.zeros(len(labels), bool)
    flipped[rng.choice(len(labels), int(round(fraction * len(labels))), replace=False)] = True
    noisy = labels.copy()
    noisy[flipped] = (labels[flipped] + rng.integers(1, n_classes, flipped.sum())) % n_classes
    return noisy, flipped


def one_seed(x, y, seed, noise, model, max_fit_examples=None):
    rng = np.random.default_rng(seed)
    x_pool, x_test, y_pool, y_test = train_test_split(x, y, train_size=LARGE, stratify=y, random_state=seed)
    n_classes = len(np.unique(y))
    # Flip each half separately so that (a) is exactly the first half of (b) with the same 12% noise in both.
    noisy_small, flipped_small = flip(y_pool[:SMALL], noise, n_classes, rng)
    noisy_rest, _ = flip(y_pool[SMALL:], noise, n_classes, rng)
    x_small, true_small = x_pool[:SMALL], y_pool[:SMALL]

    findings = find_label_errors(pd.DataFrame(x_small), noisy_small, model=model, seed=seed, log=lambda m: None)
    flagged = findings.is_issue
    relabelled = np.where(flagged, findings.suggested_label, noisy_small).astype(int)
    hits = (flagged & flipped_small).sum()
    bounded = {}
    if max_fit_examples:
        ids = [f"d{i}" for i in range(SMALL)]
        capped_flags, _, _ = find_label_errors_bounded(pd.DataFrame(x_small).add_prefix("pixel"), noisy_small, ids,
                                                       max_fit_examples=max_fit_examples, model=model, seed=seed)
        capped_hits = (capped_flags & flipped_small).sum()
        bounded = {"bounded flagged": int(capped_flags.sum()),
                   "bounded precision": capped_hits / max(capped_flags.sum(), 1),
                   "bounded recall": capped_hits / flipped_small.sum()}

    def accuracy(x_train, y_train):
        return MODELS[model](seed).fit(x_train, y_train).score(x_test, y_test)

    return {
        "(a) 500, noisy": accuracy(x_small, noisy_small),
        "(b) 1,000, noisy": accuracy(x_pool, np.concatenate([noisy_small, noisy_rest])),
        "(c) 500, flagged removed": accuracy(x_small[~flagged], noisy_small[~flagged]),
        "(c) 500, flagged relabelled": accuracy(x_small, relabelled),
        "(d) 500, true labels": accuracy(x_small, true_small),
        "flips": int(flipped_small.sum()),
        "flagged": int(flagged.sum()),
        "precision": hits / max(flagged.sum(), 1),
        "recall": hits / flipped_small.sum(),
        "relabelled right": (relabelled[flagged & flipped_small] == true_small[flagged & flipped_small]).mean(),
        **bounded,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--noise", type=float, default=0.12)
    parser.add_argument("--model", choices=sorted(MODELS), default="logistic_regression")
    parser.add_argument("--max-fit-examples", type=int, default=None,
                        help=f"also run the bounded method fitted on a sample of this many (below {SMALL})")
    args = parser.parse_args()
    if args.max_fit_examples is not None and not 10 * 5 <= args.max_fit_examples < SMALL:
        parser.error(f"--max-fit-examples must be from 50 (5 folds of 10 classes) to {SMALL - 1}")
    if args.seeds < 2:
        parser.error("--seeds must be at least 2 (the table reports a standard deviation)")
    x, y = load_digits(return_X_y=True)
    started = time.time()
    rows = []
    for seed in range(args.seeds):
        with threadpool_limits(limits=1, user_api="openmp"):  # as the finder does; see its comment
            rows.append(one_seed(x, y, seed, args.noise, args.model, args.max_fit_examples))
        print(f"seed {seed}: done ({time.time() - started:.0f} s)", flush=True)
    results = pd.DataFrame(rows)

    def cell(column, percent=True):
        scale = 100 if percent else 1
        return f"{results[column].mean() * scale:.1f} ± {results[column].std(ddof=1) * scale:.1f}"

    print(f"\nDigits ({len(y)} images, 10 classes), test set {len(y) - LARGE}, {args.noise:.0%} of training labels "
          f"flipped, model {args.model}, {args.seeds} seeds (mean ± std)\n")
    print("| training set | test accuracy (%) |\n| --- | --- |")
    for column in results.columns[:5]:
        print(f"| {column} | {cell(column)} |")
    print(f"\nFinder on the 500 noisy examples: {cell('flips', False)} flips, {cell('flagged', False)} flagged, "
          f"precision {cell('precision')} %, recall {cell('recall')} %, "
          f"found flips relabelled to the true class {cell('relabelled right')} %")
    if args.max_fit_examples:
        results["precision difference"] = results["bounded precision"] - results["precision"]
        results["recall difference"] = results["bounded recall"] - results["recall"]
        print(f"Bounded method (fitted on a stratified sample of {args.max_fit_examples}): "
              f"{cell('bounded flagged', False)} flagged, precision {cell('bounded precision')} %, recall "
              f"{cell('bounded recall')} %; paired difference from the exact finder: precision "
              f"{cell('precision difference')} points, recall {cell('recall difference')} points")


if __name__ == "__main__":
    main()
