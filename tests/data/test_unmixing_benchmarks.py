"""Samson and Jasper Ridge loaders (real data)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from hsi.data import load


@pytest.fixture(scope="module")
def samson(data_dir):
    return load("samson", root=data_dir)


@pytest.fixture(scope="module")
def jasper(data_dir):
    return load("jasper_ridge", root=data_dir)


class TestSamson:
    def test_cube(self, samson, data_dir):
        cube = samson.cube
        assert cube.shape == (156, 95, 95) and cube.dtype == np.float32
        assert cube.wavelengths[0] == 401.0 and cube.wavelengths[-1] == 889.0
        assert np.diff(cube.wavelengths) == pytest.approx(np.full(155, 488 / 155))
        raw = scipy.io.loadmat(data_dir / "samson/Samson.mat")["SamSon"]
        np.testing.assert_allclose(cube.data[:, 10, 20], raw[10, 20, :], rtol=1e-6)
        assert float(cube.data.min()) >= 0 and float(cube.data.max()) <= 1

    def test_labels_and_abundances(self, samson):
        assert samson.class_names == ["rock", "tree", "water"]
        assert np.bincount(samson.labels.ravel()).tolist() == [0, 3015, 3666, 2344]
        np.testing.assert_allclose(samson.abundances.sum(0), 1.0, atol=1e-5)


class TestJasperRidge:
    def test_column_major_pixels(self, jasper, data_dir):
        mat = scipy.io.loadmat(data_dir / "jasper_ridge/jasperRidge2_R198.mat")
        y = mat["Y"].astype(np.float64) / 5000
        # MATLAB column-major: pixel (row r, col c) is column r + 100 c of Y.
        for r, c in [(0, 0), (3, 71), (99, 5)]:
            np.testing.assert_allclose(jasper.cube.data[:, r, c], y[:, r + 100 * c], rtol=1e-6)
        a = mat["A"]
        assert jasper.abundances[:, 3, 71] == pytest.approx(a[:, 3 + 100 * 71], rel=1e-6)

    def test_cube_and_wavelengths(self, jasper):
        cube = jasper.cube
        assert cube.shape == (198, 100, 100) and cube.dtype == np.float32
        grid = np.linspace(380, 2500, 224)
        # SlectBands starts at channel 4 and ends at 219 (1-based).
        assert cube.wavelengths[0] == pytest.approx(grid[3])
        assert cube.wavelengths[-1] == pytest.approx(grid[218])
        assert float(cube.data.max()) == pytest.approx(5437 / 5000)

    def test_labels(self, jasper):
        assert jasper.class_names == ["tree", "water", "dirt", "road"]
        assert np.bincount(jasper.labels.ravel()).tolist() == [0, 3493, 3326, 2428, 753]
