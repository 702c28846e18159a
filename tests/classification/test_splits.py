from __future__ import annotations

import numpy as np
import pytest

from hsi.classification.splits import split_labels, windows_overlap
from hsi.errors import FormatError, HsiError


def test_random_per_class(salinas_crop):
    _, labels, _ = salinas_crop
    train, test = split_labels(labels, per_class=5, seed=3)
    counts = np.bincount(train.ravel(), minlength=7)[1:]
    avail = np.bincount(labels.ravel(), minlength=7)[1:]
    assert counts.tolist() == [min(5, a - 1) for a in avail]
    assert not ((train > 0) & (test > 0)).any()
    # test = every other labelled pixel
    np.testing.assert_array_equal(np.where(train > 0, train, test), labels)
    again, _ = split_labels(labels, per_class=5, seed=3)
    np.testing.assert_array_equal(train, again)


def test_fraction(salinas_crop):
    _, labels, _ = salinas_crop
    train, _ = split_labels(labels, fraction=0.1, seed=0)
    for k in range(1, 7):
        n = (labels == k).sum()
        assert (train == k).sum() == max(1, min(n - 1, round(0.1 * n)))


@pytest.mark.parametrize("radius", [1, 2, 3])
@pytest.mark.parametrize("seed", [0, 1])
def test_spatial_no_window_overlap_pixel_by_pixel(salinas_crop, radius, seed):
    _, labels, _ = salinas_crop
    train, test = split_labels(labels, per_class=10, mode="spatial", seed=seed, margin=radius)
    assert (test > 0).sum() > 100
    assert (np.bincount(train.ravel(), minlength=7)[1:] > 0).all()
    tr = np.argwhere(train > 0)
    for r, c in np.argwhere(test > 0):
        # no training pixel inside this test pixel's (2 radius + 1)² window
        cheb = np.maximum(np.abs(tr[:, 0] - r), np.abs(tr[:, 1] - c))
        assert cheb.min() > radius, (r, c)
    assert not windows_overlap(train, test, radius).any()


def test_random_split_does_overlap(salinas_crop):
    # the check above can fail: a random split has test windows holding training pixels
    _, labels, _ = salinas_crop
    train, test = split_labels(labels, per_class=10, mode="random", seed=0)
    assert windows_overlap(train, test, 2).any()


def test_bad_requests():
    labels = np.array([[0, 1], [2, 2]])
    with pytest.raises(HsiError):
        split_labels(labels)
    with pytest.raises(HsiError):
        split_labels(labels, per_class=1, fraction=0.5)
    with pytest.raises(HsiError):
        split_labels(labels, per_class=1, mode="diagonal")
    with pytest.raises(FormatError):
        split_labels(np.zeros((3, 3), int), per_class=1)
