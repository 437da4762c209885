"""Builds the bundled demo data from the Palmer penguins CSV that `palmerpenguins` ships.

Run `python data/make_demo.py` to regenerate every file it writes; the output is byte-identical for the same
package version because all randomness comes from one seeded generator. `data/README.md` documents each column.
"""
import argparse
import os

import numpy as np
import pandas as pd
from palmerpenguins import load_penguins

SEED = 20071109  # first field season of the Palmer LTER penguin study
MEASUREMENTS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
SPECIES = ["Adelie", "Chinstrap", "Gentoo"]

# P(labeler says column | true species is row), per simulated labeler. Documented in data/README.md.
LABELER_CONFUSIONS = {
    # Careful labeler: rare slips between the two look-alike species.
    "labeler_a": {"Adelie": {"Adelie": 0.97, "Chinstrap": 0.03},
                  "Chinstrap": {"Chinstrap": 0.95, "Adelie": 0.05},
                  "Gentoo": {"Gentoo": 1.0}},
    # Follows an ambiguous instruction ("small dark-billed penguin = Adelie"): calls many Chinstraps Adelie.
    "labeler_b": {"Adelie": {"Adelie": 0.98, "Chinstrap": 0.02},
                  "Chinstrap": {"Chinstrap": 0.65, "Adelie": 0.35},
                  "Gentoo": {"Gentoo": 0.99, "Adelie": 0.01}},
    # Hurried labeler: confuses Adelie and Chinstrap both ways, sometimes Gentoo with Adelie.
    "labeler_c": {"Adelie": {"Adelie": 0.88, "Chinstrap": 0.10, "Gentoo": 0.02},
                  "Chinstrap": {"Chinstrap": 0.85, "Adelie": 0.15},
                  "Gentoo": {"Gentoo": 0.96, "Adelie": 0.04}},
}
# Share of examples each labeler actually labeled; the rest are empty cells (missing labels are normal).
LABELER_COVERAGE = {"labeler_a": 0.9, "labeler_b": 1.0, "labeler_c": 0.8}
LABEL_FLIP_FRACTION = 0.03  # share of span-1 `species` labels replaced by another species (planted label errors)
SPAN2_BODY_MASS_FACTOR = 1.06  # span 2: a recalibrated scale reads 6% heavier
SPAN2_DROPPED_SITE = "Torgersen"  # span 2: this site was not visited
SERVING_POUNDS_SITE = "Dream"  # serving sample: this site's scale reports body mass in whole pounds (the skew)
GRAMS_PER_POUND = 453.59237


def field_season(year):
    """The Antarctic field season that starts in November of `year`, e.g. 2007 -> '2007-08'."""
    return f"{year}-{(year + 1) % 100:02d}"


def simulate_labels(true_species, rng):
    """One column per simulated labeler, drawn from LABELER_CONFUSIONS; missing labels are empty strings."""
    labels = {}
    for labeler, confusion in LABELER_CONFUSIONS.items():
        drawn = []
        for species in true_species:
            if rng.random() >= LABELER_COVERAGE[labeler]:
                drawn.append("")
                continue
            choices = list(confusion[species])
            drawn.append(rng.choice(choices, p=[confusion[species][c] for c in choices]))
        labels[labeler] = drawn
    return labels


def build(rng):
    """Returns (span1, span2, planted_flips, planted_conflicts) as DataFrames."""
    raw = load_penguins()
    complete = raw.dropna(subset=MEASUREMENTS).copy()  # two rows have no measurements at all
    complete["example_id"] = [f"pg-{i:04d}" for i in complete.index]
    complete["site"] = complete["island"]
    complete["season"] = complete["year"].map(field_season)
    complete["body_mass_g"] = complete["body_mass_g"].astype(int)
    complete["flipper_length_mm"] = complete["flipper_length_mm"].astype(int)
    complete["sex"] = complete["sex"].fillna("")
    complete["true_species"] = complete["species"]
    complete = complete.assign(**simulate_labels(complete["true_species"].tolist(), rng))

    span1 = complete[complete["year"] <= 2008].copy()
    span2 = complete[(complete["year"] == 2009) & (complete["site"] != SPAN2_DROPPED_SITE)].copy()
    span2["body_mass_g"] = (span2["body_mass_g"] * SPAN2_BODY_MASS_FACTOR).round().astype(int)

    n_flips = int(round(LABEL_FLIP_FRACTION * len(span1)))
    flip_ids = rng.choice(span1.index.to_numpy(), size=n_flips, replace=False)
    for row in sorted(flip_ids):
        true = span1.at[row, "species"]
        span1.at[row, "species"] = rng.choice([s for s in SPECIES if s != true])
    flips = span1.loc[sorted(flip_ids), ["example_id", "true_species", "species"]].rename(
        columns={"species": "given_label"})

    # Planted X->y conflicts: copies of real rows with bills 0.1 mm longer and another species.
    conflict_rows = span1[span1["species"] == span1["true_species"]].sample(n=3, random_state=SEED)
    copies = conflict_rows.copy()
    copies["example_id"] = [f"pg-dup-{i}" for i in range(1, len(copies) + 1)]
    copies["bill_length_mm"] = (copies["bill_length_mm"] + 0.1).round(1)
    copies["species"] = [next(s for s in SPECIES if s != true) for true in copies["true_species"]]
    conflicts = pd.DataFrame({"original_id": conflict_rows["example_id"].to_numpy(),
                              "copy_id": copies["example_id"].to_numpy(),
                              "original_label": conflict_rows["species"].to_numpy(),
                              "copy_label": copies["species"].to_numpy()})
    span1 = pd.concat([span1, copies])

    columns = ["example_id", "species", *MEASUREMENTS, "sex", "site", "season", *LABELER_CONFUSIONS]
    return span1[columns], span2[columns], flips, conflicts


def in_pounds(frame, site=SERVING_POUNDS_SITE):
    """The planted training-serving skew: `site`'s body mass in whole pounds instead of grams."""
    frame = frame.copy()
    at_site = frame["site"] == site
    frame.loc[at_site, "body_mass_g"] = (frame.loc[at_site, "body_mass_g"] / GRAMS_PER_POUND).round().astype(int)
    return frame


def serving_sample(span2):
    """Requests the deployed model (trained on the latest span) received in span 2's season: those birds' site and
    measurements, their species (labels that arrived later), and the planted skew (`in_pounds`)."""
    requests = in_pounds(span2[["site", *MEASUREMENTS, "species"]])
    requests.insert(0, "request_id", [f"req-{i:04d}" for i in range(1, len(requests) + 1)])
    return requests


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    span1, span2, flips, conflicts = build(np.random.default_rng(SEED))
    outputs = {
        "demo/span-1/penguins.csv": span1,  # spans as TFX finds them: [data] file_pattern = "span-{SPAN}/*.csv"
        "demo/span-2/penguins.csv": span2,
        "answer_keys/planted_label_flips.csv": flips,
        "answer_keys/planted_conflicts.csv": conflicts,
        "serving/requests.csv": serving_sample(span2),
    }
    for relative, frame in outputs.items():
        path = os.path.join(args.out, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        frame.to_csv(path, index=False)
        print(f"wrote {len(frame):4d} rows to {path}")


if __name__ == "__main__":
    main()
