from __future__ import annotations

import numpy as np
import pytest

from hsi.classification.crf import CrfParams, crf_refine
from hsi.errors import ShapeError


def one_hot_prob(labels: np.ndarray, k: int, confidence: float) -> np.ndarray:
    """(K, H, W) probabilities: ``confidence`` on the label, the rest spread evenly."""
    p = np.full((k, *labels.shape), (1 - confidence) / (k - 1), dtype=np.float32)
    for c in range(k):
        p[c][labels == c] = confidence
    return p


def test_isolated_wrong_pixel_flips():
    labels = np.zeros((21, 21), dtype=int)
    prob = one_hot_prob(labels, 3, 0.9)
    prob[:, 10, 10] = [0.3, 0.6, 0.1]  # one pixel mildly says class 1
    guide = np.zeros((2, 21, 21), dtype=np.float32)
    assert prob.argmax(0)[10, 10] == 1
    out = crf_refine(prob, guide).argmax(0)
    assert (out == 0).all()


def test_confident_regions_and_their_boundary_stay():
    labels = np.zeros((20, 30), dtype=int)
    labels[:, 15:] = 2
    prob = one_hot_prob(labels, 3, 0.95)
    guide = np.where(labels == 2, 1.0, 0.0)[None].astype(np.float32)
    q = crf_refine(prob, guide)
    np.testing.assert_array_equal(q.argmax(0), labels)
    np.testing.assert_allclose(q.sum(0), 1.0, atol=1e-4)


def test_changes_only_where_the_neighbourhood_disagrees(rng):
    # 4 uniform blocks, 3% of pixels made (confidently) wrong: only those may change
    truth = np.zeros((40, 40), dtype=int)
    truth[:20, 20:] = 1
    truth[20:, :20] = 2
    truth[20:, 20:] = 3
    noisy = truth.copy()
    flip = rng.random(truth.shape) < 0.03
    noisy[flip] = (truth[flip] + rng.integers(1, 4, flip.sum())) % 4
    prob = one_hot_prob(noisy, 4, 0.7)
    guide = (truth[None] / 3.0).astype(np.float32)
    out = crf_refine(prob, guide).argmax(0)
    changed = out != noisy
    assert changed.any()
    # every changed pixel had at least half of its 8 neighbours carrying another label
    padded = np.pad(noisy, 1, mode="edge")
    for r, c in zip(*np.nonzero(changed), strict=True):
        win = padded[r:r + 3, c:c + 3].ravel()
        same = (win == noisy[r, c]).sum() - 1
        assert same <= 4, (r, c)
    # and the label set is kept
    assert set(np.unique(out)) <= set(np.unique(noisy))
    assert (out[flip] == truth[flip]).mean() > 0.8


def test_shape_mismatch():
    with pytest.raises(ShapeError):
        crf_refine(np.ones((2, 4, 4)) / 2, np.zeros((1, 4, 5)))


def test_invalid_pixels_do_not_vote():
    labels = np.zeros((15, 15), dtype=int)
    prob = one_hot_prob(labels, 2, 0.6)
    # a block of "nodata" pixels claiming class 1 with certainty
    prob[:, :, :7] = np.array([0.0, 1.0])[:, None, None]
    valid = np.ones((15, 15), dtype=bool)
    valid[:, :7] = False
    out = crf_refine(prob, np.zeros((1, 15, 15), np.float32), CrfParams(), valid=valid)
    assert (out.argmax(0)[:, 8:] == 0).all()
