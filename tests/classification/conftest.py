"""Fixtures: a real Salinas-A crop holding all six classes and a classifier trained on it."""

from __future__ import annotations

import numpy as np
import pytest
from rasterio.windows import Window

#: rows 14..55, columns 0..63 of Salinas-A: all 6 classes (the diagonal field stripes)
CROP = Window(0, 14, 64, 42)


@pytest.fixture(scope="session")
def salinas_crop(data_dir):
    """(cube (204, 42, 64) reflectance, labels (42, 64) 0..6, class names) of real data."""
    import hsi.data

    s = hsi.data.load("salinas_a")
    cube = s.cube.compute().crop(CROP)
    r0, c0 = int(CROP.row_off), int(CROP.col_off)
    labels = np.asarray(s.labels)[r0:r0 + int(CROP.height), c0:c0 + int(CROP.width)]
    return cube, labels.astype(np.int64), list(s.class_names)


@pytest.fixture(scope="session")
def salinas_split(salinas_crop):
    """5 random training pixels per class (fewer for a class with < 6), the rest for testing."""
    from hsi.classification import split_labels

    _, labels, _ = salinas_crop
    return split_labels(labels, per_class=5, mode="random", seed=0)


@pytest.fixture(scope="session")
def trained(salinas_crop, salinas_split):
    """A classifier trained (3 short epochs, CPU) on the crop's 5-per-class split."""
    import torch

    from hsi.classification import GanConfig, train_classifier

    torch.set_num_threads(1)
    cube, _, names = salinas_crop
    train, _ = salinas_split
    # one discriminator (the default averages 3): the tests check mechanics, not accuracy
    return train_classifier(cube, train, class_names=names, epochs=3, seed=0, device="cpu",
                            config=GanConfig(members=1),
                            progress=False)
