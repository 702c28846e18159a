"""``load_window``: one window of an opened lazy cube, read through its file view (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from rasterio.windows import Window

from hsi.cube import Cube
from hsi.errors import ShapeError
from hsi.io import open as open_cube
from hsi.io.envi import EnviArray, write_envi
from hsi.io.geotiff import GeoTiffArray, write_geotiff
from hsi.io.indexing import file_view, load_window

TRANSFORM = Affine(30.0, 0, 500000.0, 0, -30.0, 4000000.0)
WINDOW = Window(5, 3, 20, 11)  # cols 5:25, rows 3:14


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    data = np.random.default_rng(0).random((7, 40, 33)).astype(np.float32)
    cube = Cube(data, wavelengths=np.linspace(450, 900, 7), crs="EPSG:32611",
                transform=TRANSFORM)
    folder = tmp_path_factory.mktemp("views")
    return cube, {"geotiff": write_geotiff(cube, folder / "c.tif", tile=16),
                  "envi": write_envi(cube, folder / "c.hdr")}


@pytest.mark.parametrize("fmt, view_type", [("geotiff", GeoTiffArray), ("envi", EnviArray)])
def test_lazy_file_cube_reads_the_window_through_its_view(files, fmt, view_type, monkeypatch):
    cube, paths = files
    lazy = open_cube(paths[fmt], lazy=True)
    view = file_view(lazy.data)
    assert isinstance(view, view_type)
    keys = []
    real = view_type.__getitem__
    monkeypatch.setattr(view_type, "__getitem__",
                        lambda self, key: keys.append(key) or real(self, key))
    part = load_window(lazy, WINDOW)
    assert keys == [(slice(None), slice(3, 14), slice(5, 25))]  # one read, just the window
    assert not part.is_lazy
    np.testing.assert_array_equal(part.data, cube.data[:, 3:14, 5:25])
    expected = cube.crop(WINDOW)
    assert part.transform == expected.transform and part.crs == cube.crs
    np.testing.assert_array_equal(part.wavelengths, cube.wavelengths)


def test_other_cubes_are_cropped_and_computed(files):
    cube, paths = files
    lazy = open_cube(paths["geotiff"], lazy=True)
    derived = lazy.with_data(lazy.data * 2)  # no longer the file's values: no view
    assert file_view(derived.data) is None and file_view(cube.data) is None
    np.testing.assert_array_equal(load_window(derived, WINDOW).data,
                                  2 * cube.data[:, 3:14, 5:25])
    np.testing.assert_array_equal(load_window(cube, WINDOW).data, cube.data[:, 3:14, 5:25])


def test_window_outside_is_a_shape_error(files):
    _, paths = files
    lazy = open_cube(paths["envi"], lazy=True)
    with pytest.raises(ShapeError, match="not inside"):
        load_window(lazy, Window(30, 0, 10, 10))
