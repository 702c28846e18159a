"""The shipped sample: real Salinas-A, ≤ 2 MB of package data."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import hsi
from hsi.data import load, sample_cube, sample_labels
from hsi.data.shipped import SAMPLE_DIR

PACKAGE = Path(hsi.__file__).resolve().parent


def test_sample_cube():
    cube = sample_cube()
    assert cube.shape == (204, 83, 86) and cube.dtype == np.float32
    assert cube.crs is None and cube.transform is None
    assert np.all(np.diff(cube.wavelengths) > 0)
    assert cube.wavelengths[0] > 389 and cube.wavelengths[-1] < 2490
    assert float(cube.data.max()) == np.float32(8373) / np.float32(10000)  # SOURCES.md max 8373


def test_sample_labels():
    labels, names = sample_labels()
    assert labels.shape == (83, 86) and labels.dtype == np.uint8
    assert np.bincount(labels.ravel()).tolist() == [1790, 391, 1343, 616, 1525, 674, 799]
    assert names[0] == "Brocoli_green_weeds_1" and len(names) == 6


def test_sample_is_the_registered_scene(data_dir):
    s = load("salinas_a", root=data_dir)
    cube = sample_cube()
    np.testing.assert_array_equal(cube.data, s.cube.data)
    np.testing.assert_allclose(cube.wavelengths, s.cube.wavelengths, atol=1e-6)
    np.testing.assert_allclose(cube.fwhm, s.cube.fwhm, atol=1e-6)
    assert cube.metadata["aviris_channels"] == s.cube.metadata["aviris_channels"]
    np.testing.assert_array_equal(sample_labels()[0], s.labels)


def test_package_data_at_most_2_mb():
    sample = sum(p.stat().st_size for p in SAMPLE_DIR.iterdir())
    assert sample <= 2_000_000
    data_files = [p for p in PACKAGE.rglob("*") if p.is_file()
                  and p.suffix not in {".py", ".pyc"} and "__pycache__" not in p.parts]
    assert sum(p.stat().st_size for p in data_files) <= 2 * 1024 * 1024
