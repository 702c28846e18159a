"""Partial CAVE scenes (20 bands, 640×512 PNGs)."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from hsi.data import load


def test_balloons(data_dir):
    s = load("cave_partial_balloons", root=data_dir)
    cube = s.cube
    assert cube.shape == (20, 512, 640) and cube.dtype == np.float32
    assert cube.wavelengths.tolist() == list(range(400, 591, 10))
    # SOURCES.md: band 1 ranges over [0, 50726].
    assert float(cube.data[0].max()) == pytest.approx(50726 / 65535)
    band20 = iio.imread(data_dir / "cave_partial/balloons_ms/balloons_ms_20.png")
    np.testing.assert_array_equal(cube.data[19], band20.astype(np.float32) / 65535)
    assert s.labels is None
