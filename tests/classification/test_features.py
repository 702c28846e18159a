from __future__ import annotations

import numpy as np
import pytest
import torch

from hsi.classification.features import (
    extract_patches,
    fit_pca,
    pad_features,
    unit_spectra,
)
from hsi.cube import valid_mask
from hsi.errors import ConfigError, ShapeError


class TestPatches:
    def test_interior_patch_is_the_window(self, rng):
        f = rng.normal(size=(3, 9, 11)).astype(np.float32)
        padded = pad_features(f, 2)
        p = extract_patches(padded, [4], [5], 5)
        assert p.shape == (1, 3, 5, 5)
        np.testing.assert_array_equal(p[0], f[:, 2:7, 3:8])

    def test_border_patch_is_reflected(self, rng):
        f = rng.normal(size=(2, 6, 6)).astype(np.float32)
        p = extract_patches(pad_features(f, 1), [0], [0], 3)[0]
        # reflect (no edge repeat): row -1 is row 1, column -1 is column 1
        np.testing.assert_array_equal(p[:, 0, 0], f[:, 1, 1])
        np.testing.assert_array_equal(p[:, 1, 1], f[:, 0, 0])
        np.testing.assert_array_equal(p[:, 2, 0], f[:, 1, 1])
        np.testing.assert_array_equal(p[:, 0, 2], f[:, 1, 1])

    def test_torch_equals_numpy(self, rng):
        f = rng.normal(size=(4, 10, 8)).astype(np.float32)
        padded = pad_features(f, 3)
        rows, cols = np.array([0, 9, 4, 2]), np.array([7, 0, 3, 5])
        a = extract_patches(padded, rows, cols, 7)
        b = extract_patches(torch.from_numpy(padded), rows, cols, 7).numpy()
        np.testing.assert_array_equal(a, b)


class TestPca:
    def test_matches_sklearn_scores(self, rng):
        from sklearn.decomposition import PCA

        x = rng.normal(size=(20, 12, 13)) * np.linspace(3, 0.1, 20)[:, None, None]
        pca = fit_pca(x, 4)
        scores = pca.transform(x)
        sk = PCA(4, svd_solver="full").fit(x.reshape(20, -1).T)
        ref = sk.transform(x.reshape(20, -1).T).T.reshape(4, 12, 13)
        std = np.sqrt(sk.explained_variance_)
        ref = ref / np.sqrt(std * std[0])[:, None, None]
        # same axes up to sign, half-whitened: component i divided by sqrt(std_i * std_0)
        for i in range(4):
            s = np.sign((scores[i] * ref[i]).sum())
            np.testing.assert_allclose(scores[i], s * ref[i], rtol=1e-3, atol=1e-4)
        assert scores[0].std(ddof=1) == pytest.approx(1.0, rel=1e-4)
        assert scores[3].std(ddof=1) == pytest.approx(np.sqrt(std[3] / std[0]), rel=1e-4)

    def test_invalid_pixels_get_zero_and_are_ignored(self, rng):
        x = rng.normal(size=(5, 8, 8)).astype(np.float32)
        clean = fit_pca(x, 2)
        x2 = x.copy()
        x2[:, 3, 4] = np.nan
        x2[:, 0, 0] = 1e6  # a wild value, ignored as invalid
        valid = valid_mask(x2)
        valid[0, 0] = False
        pca = fit_pca(x2, 2, valid)
        s = pca.transform(x2, valid)
        assert s[:, 3, 4].tolist() == [0.0, 0.0] and s[:, 0, 0].tolist() == [0.0, 0.0]
        assert np.isfinite(s).all()
        assert np.abs(pca.mean - clean.mean).max() < 0.2

    def test_wrong_bands(self, rng):
        pca = fit_pca(rng.normal(size=(5, 6, 6)), 2)
        with pytest.raises(ShapeError):
            pca.transform(np.zeros((4, 6, 6)))


class TestSpectralShape:
    def test_unit_spectra(self):
        x = np.array([[3.0, 0.0, 1.0], [4.0, 0.0, 1.0]])  # (bands=2, N=3)
        unit, norm = unit_spectra(x)
        np.testing.assert_allclose(norm, [5.0, 1e-12, np.sqrt(2)])
        np.testing.assert_allclose(unit[:, 0], [0.6, 0.8])
        np.testing.assert_array_equal(unit[:, 1], [0.0, 0.0])  # black stays black
        np.testing.assert_allclose(np.linalg.norm(unit[:, [0, 2]], axis=0), 1.0)

    def test_brightness_moves_only_the_brightness_channel(self, rng):
        x = rng.uniform(0.05, 1.0, size=(12, 10, 9))
        pca = fit_pca(x, 4, unit_norm=True, brightness=True)
        assert pca.n_components == 4 and pca.channels == 5
        f = pca.transform(x)
        assert f.shape == (5, 10, 9)
        lit = x.copy()
        lit[:, 2, 3] *= 3.0  # the same surface in brighter light
        g = pca.transform(lit)
        np.testing.assert_allclose(g[:4], f[:4], atol=1e-5)  # the shape is the same
        assert g[4, 2, 3] - f[4, 2, 3] == pytest.approx(np.log(3.0) / pca.brightness[1],
                                                         rel=1e-4)
        changed = np.abs(g - f) > 1e-5
        assert changed.sum() == 1  # nothing else moved

    def test_brightness_is_robust_and_bounded(self, rng):
        x = rng.uniform(0.5, 1.0, size=(6, 8, 8))
        x[:, 0, 0] = 0.0  # a black pixel: its log-norm is -27.6
        pca = fit_pca(x, 2, unit_norm=True, brightness=True)
        f = pca.transform(x)
        assert np.isfinite(f).all() and f[2, 0, 0] == -10.0
        assert np.abs(np.median(f[2])) < 0.2  # median centred, the black pixel ignored

    def test_invalid_pixels_get_zero_in_every_channel(self, rng):
        x = rng.uniform(0.1, 1.0, size=(6, 5, 5))
        x[:, 1, 1] = np.nan
        valid = valid_mask(x)
        pca = fit_pca(x, 2, valid, unit_norm=True, brightness=True)
        f = pca.transform(x, valid)
        assert f[:, 1, 1].tolist() == [0.0, 0.0, 0.0] and np.isfinite(f).all()

    def test_transform_leaves_its_input_and_equals_the_formula(self, rng):
        # transform works in place on its own float64 copy: the caller's float64 cube stays
        x = rng.uniform(0.05, 1.0, size=(6, 7, 8))
        x[:, 0, 0] = 0.0  # a black spectrum: norm clipped, brightness clipped to -10
        pca = fit_pca(x, 3, unit_norm=True, brightness=True)
        keep = x.copy()
        f = pca.transform(x)
        np.testing.assert_array_equal(x, keep)
        flat = x.reshape(6, -1)
        norm = np.maximum(np.linalg.norm(flat, axis=0), 1e-12)
        scores = (pca.components @ (flat / norm - pca.mean[:, None])) / pca.scale[:, None]
        level = np.clip((np.log(norm) - pca.brightness[0]) / pca.brightness[1], -10, 10)
        np.testing.assert_allclose(f.reshape(4, -1), np.vstack([scores, level]), rtol=1e-5,
                                   atol=1e-6)
        assert f[3, 0, 0] == -10.0

    def test_brightness_needs_unit_norm(self, rng):
        with pytest.raises(ConfigError, match="needs unit_norm"):
            fit_pca(rng.normal(size=(5, 6, 6)), 2, brightness=True)


def test_valid_mask_nan_and_nodata():
    x = np.ones((3, 2, 3), dtype=np.float32)
    x[1, 0, 0] = np.nan
    x[:, 1, 2] = -9999
    x[0, 0, 1] = -9999  # one band at the nodata value is still a real pixel
    m = valid_mask(x, nodata=-9999)
    assert m.tolist() == [[False, True, True], [True, True, False]]


def test_principal_axes_match_sklearn_pca():
    from sklearn.decomposition import PCA

    from hsi.classification.features import principal_axes
    from hsi.data import sample_cube

    x = np.asarray(sample_cube().data, dtype=np.float64).reshape(204, -1).T
    mean, axes, variance = principal_axes(x, 10)
    ref = PCA(10, svd_solver="full").fit(x)
    np.testing.assert_allclose(mean, ref.mean_, rtol=1e-12, atol=1e-12)
    # same axes up to sign, same variances
    np.testing.assert_allclose(np.abs((axes * ref.components_).sum(1)), 1.0, atol=1e-9)
    np.testing.assert_allclose(variance, ref.explained_variance_, rtol=1e-9)
    np.testing.assert_allclose(axes @ axes.T, np.eye(10), atol=1e-12)
