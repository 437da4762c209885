"""The scale benchmark's input: penguin-like rows (the demo's columns, so the default config reads them) written
as CSV in chunks, so memory stays bounded at any row count.

Per row: the label (`species`), three labelers (missing cells, class-independent mistakes), two metadata columns
(`site`, `season`), a categorical feature (`sex`) and four numeric features whose means depend on the true class.
Planted: label errors (the given label differs from the true class the features and most labelers follow), exact
duplicates (every column but the id copied from an earlier row of the same chunk) and conflicting near-duplicates
(a copy moved 0.05 in one measurement, within Conflicts' default tolerance, with another label). Also written: a
corrections file for half of the planted label errors (CorrectionsApplier's input).
"""
import csv
import os

import numpy as np
import pandas as pd

from components.corrections.parse import REQUIRED_COLUMNS as CORRECTION_COLUMNS

CHUNK_ROWS = 500_000
CLASSES = np.array(["Adelie", "Chinstrap", "Gentoo"])
CLASS_SHARES = [0.44, 0.20, 0.36]
# Per class: (mean, standard deviation, decimals) of each measurement, near the Palmer penguins'.
MEASUREMENTS = {
    "bill_length_mm": ([38.8, 48.8, 47.5], [2.7, 3.3, 3.1], 2),
    "bill_depth_mm": ([18.3, 18.4, 15.0], [1.2, 1.1, 1.0], 2),
    "flipper_length_mm": ([190.0, 195.8, 217.2], [6.5, 7.1, 6.5], 1),
    "body_mass_g": ([3700.0, 3733.0, 5076.0], [458.0, 384.0, 504.0], 0),
}
SITES = np.array(["Biscoe", "Dream", "Torgersen"])
SEASONS = np.array(["2007-08", "2008-09", "2009-10"])
LABELERS = {"labeler_a": (0.95, 0.9), "labeler_b": (0.85, 1.0), "labeler_c": (0.9, 0.8)}  # (accuracy, coverage)
LABEL_ERROR_RATE = 0.02
DUPLICATE_RATE = 0.001
CONFLICT_RATE = 0.0002
CORRECTED_SHARE = 0.5  # of the planted label errors, listed in the corrections file
COLUMNS = ["example_id", "species", *MEASUREMENTS, "sex", "site", "season", *LABELERS]


def _other_class(rng, classes):
    return (classes + rng.integers(1, len(CLASSES), len(classes))) % len(CLASSES)


def chunk(first_id, n, seed):
    """`n` rows with ids from `first_id`, and the rows' corrections: two DataFrames, deterministic in `seed`."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(len(CLASSES), size=n, p=CLASS_SHARES)
    frame = pd.DataFrame({"example_id": np.char.add("ex-", np.char.zfill(
        np.arange(first_id, first_id + n).astype(str), 9))})
    given = truth.copy()
    flipped = rng.random(n) < LABEL_ERROR_RATE
    given[flipped] = _other_class(rng, truth[flipped])
    frame["species"] = CLASSES[given]
    for name, (means, sds, decimals) in MEASUREMENTS.items():
        frame[name] = rng.normal(np.take(means, truth), np.take(sds, truth)).round(decimals)
    frame["sex"] = np.array(["female", "male"])[rng.integers(0, 2, n)]
    frame["site"] = SITES[rng.integers(0, len(SITES), n)]
    frame["season"] = SEASONS[rng.integers(0, len(SEASONS), n)]
    for name, (accuracy, coverage) in LABELERS.items():
        drawn = np.where(rng.random(n) < accuracy, truth, _other_class(rng, truth))
        frame[name] = np.where(rng.random(n) < coverage, CLASSES[drawn], "")

    # Duplicates and near-duplicates copy an earlier row of the chunk onto a later one (which keeps its own id).
    targets = rng.permutation(np.arange(n // 2, n))
    duplicates, conflicting = targets[:int(n * DUPLICATE_RATE)], targets[
        int(n * DUPLICATE_RATE):int(n * DUPLICATE_RATE) + int(n * CONFLICT_RATE)]
    for rows in (duplicates, conflicting):
        sources = rng.integers(0, n // 2, len(rows))
        frame.iloc[rows, 1:] = frame.iloc[sources, 1:].to_numpy()
        truth[rows], flipped[rows] = truth[sources], flipped[sources]
    frame.loc[frame.index[conflicting], "bill_length_mm"] = (frame["bill_length_mm"].to_numpy()[conflicting]
                                                             + 0.05).round(2)
    conflict_labels = _other_class(rng, np.searchsorted(CLASSES, frame["species"].to_numpy()[conflicting]))
    frame.loc[frame.index[conflicting], "species"] = CLASSES[conflict_labels]

    corrected = np.flatnonzero(flipped & (rng.random(n) < CORRECTED_SHARE))
    corrections = pd.DataFrame({"example_id": frame["example_id"].to_numpy()[corrected],
                                "corrected_label": CLASSES[truth[corrected]], "reviewer": "benchmark",
                                "reason": "planted label error"})
    return frame, corrections


def write_span(folder, rows, seed, corrections_path=None, progress=None):
    """`rows` rows as `folder`/data.csv in chunks of CHUNK_ROWS; with `corrections_path`, the corrections too.
    `progress(rows_written)` is called after each chunk."""
    os.makedirs(folder, exist_ok=True)
    corrections_file = open(corrections_path, "w", newline="") if corrections_path else None
    if corrections_file:
        csv.writer(corrections_file).writerow(CORRECTION_COLUMNS)
    with open(os.path.join(folder, "data.csv"), "w", newline="") as data_file:
        data_file.write(",".join(COLUMNS) + "\n")
        for index, start in enumerate(range(0, rows, CHUNK_ROWS)):
            frame, corrections = chunk(start, min(CHUNK_ROWS, rows - start), seed=(seed, index))
            frame.to_csv(data_file, header=False, index=False)
            if corrections_file:
                corrections.to_csv(corrections_file, header=False, index=False)
            if progress:
                progress(start + len(frame))
    if corrections_file:
        corrections_file.close()
