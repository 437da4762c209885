"""Does the error analysis' "more data or cleaner labels?" advice pick the lever that really pays more?

    .venv/bin/python -m benchmarks.lever_advice [--seeds 10] [--sizes 250 500] [--noise 0.12] [--model ...]

The setting of benchmarks/clean_vs_noisy (scikit-learn's digits, `--noise` of the labels flipped uniformly), with
what the pipeline would have: a training set of `size` noisy examples and an eval set of 300 examples whose labels
are as noisy, the label-error finder run over both (as the pipeline's finder reads every split), and
components/error_analysis/levers.advise on them. The truth is measured on the other digits with their true labels:
the same model trained on (a) the `size` noisy examples, (b) twice as many noisy examples, (c) the `size` minus the
finder's flags. The lever that really pays more is the larger of (b) - (a) and (c) - (a).
Prints, per size, how often the advice picked the right lever, how often it said "cannot tell", and the mean
projected and true gains.
"""
import argparse
import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from benchmarks.clean_vs_noisy.__main__ import flip
from components.error_analysis.levers import advise
from components.label_errors.finder import MODELS, find_label_errors

EVAL_SIZE = 300


def one_case(x, y, size, seed, noise, model, bootstraps):
    rng = np.random.default_rng(seed)
    x_pool, x_rest, y_pool, y_rest = train_test_split(x, y, train_size=2 * size, stratify=y, random_state=seed)
    x_eval, x_truth, y_eval, y_truth = train_test_split(x_rest, y_rest, train_size=EVAL_SIZE, stratify=y_rest,
                                                        random_state=seed)
    noisy_pool = np.concatenate([flip(y_pool[:size], noise, 10, rng)[0], flip(y_pool[size:], noise, 10, rng)[0]])
    noisy_eval = flip(y_eval, noise, 10, rng)[0]
    x_small, noisy_small = x_pool[:size], noisy_pool[:size]
    flags = find_label_errors(pd.DataFrame(np.vstack([x_small, x_eval])), np.concatenate([noisy_small, noisy_eval]),
                              model=model, seed=seed, log=lambda m: None).is_issue
    advice = advise(x_small, noisy_small, x_eval, noisy_eval, flags[:size], flags[size:], model=model,
                    bootstraps=bootstraps, seed=seed)

    def accuracy(x_train, y_train):
        with threadpool_limits(limits=1, user_api="openmp"):
            return MODELS[model](seed).fit(x_train, y_train).score(x_truth, y_truth)

    base = accuracy(x_small, noisy_small)
    true_doubling = accuracy(x_pool, noisy_pool) - base
    true_cleaning = accuracy(x_small[~flags[:size]], noisy_small[~flags[:size]]) - base
    return {"size": size, "seed": seed, "advice": advice["lever"],
            "projected_doubling": advice["doubling"]["gain"], "projected_cleaning": advice["cleaning"]["gain"],
            "true_doubling": true_doubling, "true_cleaning": true_cleaning,
            "truth": "more_data" if true_doubling > true_cleaning else "cleaner_labels",
            "true_gap": abs(true_doubling - true_cleaning)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500])
    parser.add_argument("--noise", type=float, default=0.12)
    parser.add_argument("--model", choices=sorted(MODELS), default="logistic_regression")
    parser.add_argument("--bootstraps", type=int, default=500)
    args = parser.parse_args()
    x, y = load_digits(return_X_y=True)
    if 2 * max(args.sizes) + EVAL_SIZE + 300 > len(y):
        parser.error(f"--sizes: at most {(len(y) - EVAL_SIZE - 300) // 2} (digits has {len(y)} images)")
    started = time.time()
    rows = []
    for size in args.sizes:
        for seed in range(args.seeds):
            rows.append(one_case(x, y, size, seed, args.noise, args.model, args.bootstraps))
            r = rows[-1]
            print(f"size {size} seed {seed}: advice {r['advice']}, truth {r['truth']} (doubling "
                  f"{100 * r['true_doubling']:+.1f}, cleaning {100 * r['true_cleaning']:+.1f}; projected "
                  f"{100 * r['projected_doubling']:+.1f}, {100 * r['projected_cleaning']:+.1f}) "
                  f"[{time.time() - started:.0f} s]", flush=True)
    results = pd.DataFrame(rows)
    print(f"\nDigits, {args.noise:.0%} noise, model {args.model}, {args.seeds} seeds per size, eval set {EVAL_SIZE} "
          "(noisy labels), truth on the rest with true labels\n")
    print("| training size | advice right | advice wrong | cannot tell | projected doubling / cleaning (points) | "
          "true doubling / cleaning (points) |\n|---|---|---|---|---|---|")
    for size, group in results.groupby("size"):
        decided = group[group["advice"] != "cannot_tell"]
        right = int((decided["advice"] == decided["truth"]).sum())
        print(f"| {size} | {right} | {len(decided) - right} | {len(group) - len(decided)} | "
              f"{100 * group['projected_doubling'].mean():+.1f} / {100 * group['projected_cleaning'].mean():+.1f} | "
              f"{100 * group['true_doubling'].mean():+.1f} / {100 * group['true_cleaning'].mean():+.1f} |")
    print(f"\n{time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
