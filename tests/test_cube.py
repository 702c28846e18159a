"""The cube type's own methods."""

from __future__ import annotations

import numpy as np
from rasterio.windows import Window

from hsi.cube import Cube


def test_with_data_copies_metadata_unless_given():
    cube = Cube(np.zeros((2, 3, 4), np.float32), wavelengths=np.array([500.0, 600.0]),
                metadata={"band_names": ["a", "b"]})
    same = cube.with_data(np.ones((2, 3, 4), np.float32))
    assert same.metadata == cube.metadata and same.metadata is not cube.metadata
    one = cube.with_data(np.ones((1, 3, 4), np.float32), wavelengths=np.array([500.0]),
                         metadata={"band_names": ["a"]})
    assert one.metadata == {"band_names": ["a"]} and cube.metadata["band_names"] == ["a", "b"]


def test_cubes_made_from_an_opened_file_are_named_by_its_stem(tmp_path):
    """``hsi.open`` names a cube by the path given (for error messages); the cubes made from
    it start with the file's stem, not its folder or extension."""
    import hsi
    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair

    path = hsi.save(sample_cube().crop(Window(0, 0, 16, 16)), tmp_path / "scene.tif")
    cube = hsi.open(path)
    assert cube.name == str(path) and cube.short_name == "scene"
    lr, hr = simulate_pair(cube, 4, "sentinel2")
    assert (lr.name, hr.name) == ("scene_lr_x4", "scene_sentinel2")
    assert Cube(np.zeros((1, 2, 2)), name="").short_name == ""
    assert Cube(np.zeros((1, 2, 2)), name="salinas_a").short_name == "salinas_a"
