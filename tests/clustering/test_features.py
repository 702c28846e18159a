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
    f = pixel_features(blocks[0], n_components=4, spatial=False, spectra="raw")
    assert f.pixels().shape == (24 * 24, 4)
    g = pixel_features(blocks[0], n_components=4, spectra="raw")
    assert g.radii == SPATIAL_RADII
    assert g.pixels().shape == (24 * 24, 4 * (1 + len(SPATIAL_RADII)))
    np.testing.assert_array_equal(g.pixels()[:, :4], f.pixels())
    # "shape": 4 scores and the brightness channel, then their means
    g = pixel_features(blocks[0], n_components=4, spectra="shape")
    assert g.pixels().shape == (24 * 24, 5 * (1 + len(SPATIAL_RADII)))


def _shaded_two_materials(seed=0):
    """Left half one spectrum, right half another, its slope 30 % steeper (30 bands), every
    pixel scaled by a random shading factor in [0.3, 1.5]: brightness varies more within a
    material than between."""
    rng = np.random.default_rng(seed)
    wl = np.linspace(0, 1, 30)
    a = 0.2 + 0.5 * wl
    b = a * (1 + 0.3 * (wl - 0.5))
    cube = np.empty((30, 20, 20), np.float32)
    cube[:, :, :10] = a[:, None, None]
    cube[:, :, 10:] = b[:, None, None]
    cube *= rng.uniform(0.3, 1.5, (1, 20, 20)).astype(np.float32)
    truth = np.repeat(np.r_[np.ones(10), 2 * np.ones(10)][None], 20, 0).astype(np.uint8)
    return cube, truth


def test_shape_features_ignore_brightness_but_keep_it_in_one_channel():
    cube, _ = _shaded_two_materials()
    f = pixel_features(cube, n_components=4, spectra="shape", spatial=False)
    assert f.image.shape[0] == 5 and f.pca.unit_norm  # 4 scores + brightness
    # pixels (0, 0) and (1, 0) hold the same spectrum at different brightness
    s0, s1 = cube[:, 0, 0].sum(), cube[:, 1, 0].sum()
    np.testing.assert_allclose(f.image[:4, 0, 0], f.image[:4, 1, 0], atol=1e-5)
    spread = f.pca.brightness[1]
    np.testing.assert_allclose(f.image[4, 0, 0] - f.image[4, 1, 0], np.log(s0 / s1) / spread,
                               rtol=1e-4)
    raw = pixel_features(cube, n_components=4, spectra="raw", spatial=False)
    assert raw.image.shape[0] == 4 and not raw.pca.unit_norm
    assert np.abs(raw.image[:, 0, 0] - raw.image[:, 1, 0]).max() > 0.1


def test_shape_features_let_kmeans_separate_shaded_materials():
    from hsi.clustering import cluster, evaluate

    cube, truth = _shaded_two_materials()
    nmi = {s: evaluate(cluster(cube, 2, "kmeans", spectra=s, progress=False).labels,
                       truth)["nmi"] for s in ("shape", "raw")}
    assert nmi["shape"] > 0.99  # the materials, whatever the shading
    assert nmi["raw"] < 0.1  # raw spectra split bright from dark instead


def test_unknown_spectra_is_a_config_error(blocks):
    import pytest

    from hsi.clustering import cluster
    from hsi.errors import ConfigError

    with pytest.raises(ConfigError, match="spectra"):
        cluster(blocks[0], 2, spectra="normalised", progress=False)


def test_cli_spectra_choices_match_the_library():
    from hsi.cli import cluster as cli
    from hsi.clustering import features

    assert cli.SPECTRA_CHOICES == features.SPECTRA_CHOICES and cli.SPECTRA == features.SPECTRA
