"""One window bounds check for every format and the in-memory cube (issue 16)."""

from __future__ import annotations

import re

import imageio.v3 as iio
import numpy as np
import pytest
from affine import Affine
from rasterio.windows import Window

import hsi
from hsi.check import check_window
from hsi.errors import ShapeError

#: Rows 4:9 of a 6-row image: reaches two rows past the bottom.
OUTSIDE = Window(1, 4, 3, 5)
MESSAGE = r"window rows 4:9, cols 1:4 is not inside the 6×8 image"


@pytest.fixture(scope="module")
def cube():
    data = np.random.default_rng(3).random((3, 6, 8)).astype(np.float32)
    return hsi.Cube(data, wavelengths=[450.0, 550.0, 650.0], crs="EPSG:32611",
                    transform=Affine(30.0, 0, 500000.0, 0, -30.0, 4000000.0))


@pytest.mark.parametrize("suffix", [".tif", ".hdr", ".mat"])
def test_every_format_raises_the_same_error(tmp_path, cube, suffix):
    path = hsi.save(cube, tmp_path / f"c{suffix}")
    with pytest.raises(ShapeError) as info:
        hsi.open(path, window=OUTSIDE)
    message = str(info.value)
    assert re.fullmatch(rf".*c\.\w+: {MESSAGE}", message), message
    assert info.value.actual_shape == (5, 3) and info.value.expected_shape == (6, 8)


def test_cave_folder_raises_the_same_error(tmp_path, cube):
    folder = tmp_path / "c"
    folder.mkdir()
    for i, plane in enumerate(cube.data):
        iio.imwrite(folder / f"c_ms_{i + 1:02d}.png", (plane * 65535).astype(np.uint16))
    with pytest.raises(ShapeError, match=rf"c: {MESSAGE}$"):
        hsi.open(folder, window=OUTSIDE)


def test_in_memory_cube_raises_the_same_error(cube):
    with pytest.raises(ShapeError, match=rf"^{MESSAGE}$"):
        cube.crop(OUTSIDE)


@pytest.mark.parametrize("window", [Window(0, 0, 0, 3), Window(-1, 0, 2, 2), Window(7, 0, 2, 2)])
def test_check_window_refuses_empty_and_outside(window):
    with pytest.raises(ShapeError, match="is not inside the 6×8 image"):
        check_window(window, 6, 8, "f.tif")


def test_check_window_rounds_and_returns_the_window():
    w = check_window(Window(1.2, 2.0, 3.0, 2.9), 6, 8)
    assert (w.col_off, w.row_off, w.width, w.height) == (1, 2, 3, 3)
