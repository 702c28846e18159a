"""The shared spectral-spatial pixel features, on hand-computable 3×3 images."""

from __future__ import annotations

import numpy as np

from hsi.clustering.features import SPATIAL_RADII, PixelFeatures, pixel_features


def _feats(valid=None, radii=(1,), spatial=True):
    image = np.arange(9, dtype=np.float32).reshape(1, 3, 3)  # v[r, c] = 3 r + c
    valid = np.ones((3, 3), bool) if valid is None else valid
    image = image * valid
    return PixelFeatures(image=image, valid=valid, pca=None, spatial=spatial, radii=radii)


def test_local_mean_by_hand():
    m = _feats().smoothed(1)[0]
    assert m[1, 1] == 4.0  # mean of 0..8
    # corner (0, 0), mirror padding: rows {0, 0, 1} x cols {0, 0, 1} -> (9 * 1 + 3 * 1) / 9
    np.testing.assert_allclose(m[0, 0], 12 / 9, rtol=1e-6)
    # edge (0, 1): rows {0, 0, 1} x cols {0, 1, 2} -> (3 * 3 * 1 + 3 * 3) / 9 = 2
    np.testing.assert_allclose(m[0, 1], 2.0, rtol=1e-6)


def test_local_mean_skips_invalid_pixels():
    valid = np.ones((3, 3), bool)
    valid[0, 0] = False
    m = _feats(valid).smoothed(1)[0]
    np.testing.assert_allclose(m[1, 1], 36 / 8, rtol=1e-6)  # 1 + ... + 8 over 8 pixels
    assert m[0, 0] == 0.0  # invalid pixels hold 0


def test_pixels_columns_are_scores_then_each_radius():
    valid = np.ones((3, 3), bool)
    valid[2, 2] = False
    f = _feats(valid, radii=(1, 2))
    x = f.pixels()
    assert x.shape == (8, 3) and f.n_spectral == 1
    np.testing.assert_array_equal(x[:, 0], np.arange(8))  # own scores, row-major
    # radius 2 on a 3×3 image: the centre's 5×5 window, mirrored (index -1 -> 0, 3 -> 2),
    # holds rows {0, 0, 1, 2, 2} x cols alike: weights 2, 1, 2 per row and column
    w = np.array([2, 1, 2])[:, None] * np.array([2, 1, 2])[None]
    v = np.arange(9.0).reshape(3, 3)
    expect = (w * v * valid).sum() / (w * valid).sum()
    np.testing.assert_allclose(x[4, 2], expect, rtol=1e-6)
    np.testing.assert_allclose(x[4, 1], (36 - 8) / 8, rtol=1e-6)
    np.testing.assert_array_equal(f.stacked()[:, 1, 1], x[4])


def test_no_spatial_means_scores_only(blocks):
    f = pixel_features(blocks[0], n_components=4, spatial=False)
    assert f.pixels().shape == (24 * 24, 4)
    g = pixel_features(blocks[0], n_components=4)
    assert g.radii == SPATIAL_RADII
    assert g.pixels().shape == (24 * 24, 4 * (1 + len(SPATIAL_RADII)))
    np.testing.assert_array_equal(g.pixels()[:, :4], f.pixels())
