"""The cube type's own methods."""

from __future__ import annotations

import numpy as np

from hsi.cube import Cube


def test_with_data_copies_metadata_unless_given():
    cube = Cube(np.zeros((2, 3, 4), np.float32), wavelengths=np.array([500.0, 600.0]),
                metadata={"band_names": ["a", "b"]})
    same = cube.with_data(np.ones((2, 3, 4), np.float32))
    assert same.metadata == cube.metadata and same.metadata is not cube.metadata
    one = cube.with_data(np.ones((1, 3, 4), np.float32), wavelengths=np.array([500.0]),
                         metadata={"band_names": ["a"]})
    assert one.metadata == {"band_names": ["a"]} and cube.metadata["band_names"] == ["a", "b"]
