"""Data whose label errors are known: three Gaussian classes in the demo's four feature columns (centres 3 standard
deviations apart), with a share of the labels moved to another class. LabelErrors' tests and its memory benchmark
use it."""
import numpy as np

FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CLASSES = np.array(["Adelie", "Chinstrap", "Gentoo"], dtype=object)


def planted_blobs(n, flip_share=0.06, seed=0):
    """(the generator, for more columns; features, n x 4; the given class names; the indices of flipped rows)."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 3, n)
    centres = np.array([[0, 0, 0, 0], [3, 0, 0, 0], [0, 3, 0, 0]], float)
    x = centres[true] + rng.normal(size=(n, 4))
    given = true.copy()
    flipped = rng.choice(n, int(flip_share * n), replace=False)
    given[flipped] = (true[flipped] + rng.integers(1, 3, len(flipped))) % 3
    return rng, x, CLASSES[given], flipped
