"""CAVE-style folders of one 16-bit PNG per band."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
from rasterio.windows import Window

import hsi
from hsi.errors import FormatError, ShapeError


def write_bands(folder, planes, names):
    folder.mkdir()
    for plane, name in zip(planes, names, strict=True):
        iio.imwrite(folder / name, plane)
    return folder


def test_numeric_band_order_and_scaling(tmp_path, rng):
    planes = rng.integers(0, 65536, (11, 6, 8)).astype(np.uint16)
    names = [f"toy_ms_{i + 1}.png" for i in range(11)]  # _10 sorts before _2 as text
    folder = write_bands(tmp_path / "toy_ms", planes, names)
    cube = hsi.open(folder)
    assert cube.shape == (11, 6, 8) and cube.dtype == np.float32
    np.testing.assert_allclose(cube.data, planes / 65535.0, rtol=1e-6)
    np.testing.assert_allclose(cube.wavelengths, 400 + 10 * np.arange(11))
    assert cube.name == "toy"


def test_window(tmp_path, rng):
    planes = rng.integers(0, 65536, (3, 6, 8)).astype(np.uint16)
    folder = write_bands(tmp_path / "s", planes, [f"s_ms_0{i + 1}.png" for i in range(3)])
    part = hsi.open(folder, window=Window(2, 1, 5, 3))
    np.testing.assert_allclose(part.data, planes[:, 1:4, 2:7] / 65535.0, rtol=1e-6)


def test_non_cave_names_have_no_wavelengths(tmp_path, rng):
    planes = rng.integers(0, 256, (2, 4, 4)).astype(np.uint8)
    folder = write_bands(tmp_path / "b", planes, ["band_01.png", "band_02.png"])
    cube = hsi.open(folder)
    assert cube.wavelengths is None
    np.testing.assert_allclose(cube.data, planes / 255.0, rtol=1e-6)


def test_differing_sizes(tmp_path, rng):
    folder = tmp_path / "mixed"
    folder.mkdir()
    iio.imwrite(folder / "m_ms_01.png", np.zeros((4, 5), np.uint16))
    iio.imwrite(folder / "m_ms_02.png", np.zeros((4, 6), np.uint16))
    with pytest.raises(ShapeError, match=r"mixed: band PNGs differ in size.*4×6"):
        hsi.open(folder)


def test_the_release_layout_is_read_from_either_level(tmp_path, rng):
    """The CAVE release nests each scene as <scene>_ms/<scene>_ms/*.png (and a Thumbs.db)."""
    planes = rng.integers(0, 65536, (3, 6, 8)).astype(np.uint16)
    outer = tmp_path / "toy_ms"
    outer.mkdir()
    (outer / "toy_RGB.bmp").write_bytes(b"BM")  # files beside the inner folder do not matter
    inner = write_bands(outer / "toy_ms", planes, [f"toy_ms_0{i + 1}.png" for i in range(3)])
    np.testing.assert_array_equal(hsi.open(outer).data, hsi.open(inner).data)
    (outer / "other").mkdir()  # two candidate folders: nothing is guessed
    with pytest.raises(FormatError, match="a folder without band PNGs"):
        hsi.open(outer)


def test_folder_without_bands(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match="a folder without band PNGs"):
        hsi.open(tmp_path / "empty")


def test_real_balloons(data_dir):
    folder = data_dir / "cave_partial" / "balloons_ms"
    cube = hsi.open(folder, window=Window(100, 200, 64, 32))
    assert cube.shape == (20, 32, 64)
    np.testing.assert_allclose(cube.wavelengths, np.arange(400, 600, 10))
    band5 = iio.imread(folder / "balloons_ms_05.png")
    np.testing.assert_allclose(cube.data[4], band5[200:232, 100:164] / 65535.0, rtol=1e-6)
    assert 0.0 <= cube.data.min() and cube.data.max() <= 1.0


def test_a_missing_band_png_is_said(tmp_path, rng, caplog):
    import logging

    planes = rng.integers(0, 65536, (4, 6, 8)).astype(np.uint16)
    names = ["toy_ms_01.png", "toy_ms_02.png", "toy_ms_04.png", "toy_ms_05.png"]
    folder = write_bands(tmp_path / "toy_ms", planes, names)
    with caplog.at_level(logging.WARNING):
        cube = hsi.open(folder)
    assert "band PNG(s) 3 missing between 1 and 5" in caplog.text
    np.testing.assert_allclose(cube.wavelengths, [400, 410, 430, 440])  # their own
