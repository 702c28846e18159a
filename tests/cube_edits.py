"""Cubes edited for tests: bands emptied (all NaN or a nodata value) or left out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hsi.cube import Cube


def with_empty_bands(cube: Cube, bands: Sequence[int], value: float) -> Cube:
    """``cube`` as float32 with ``bands`` (indices from 0) all ``value``, as EnMAP or PRISMA
    products hold their water-absorption windows; ``value`` is its nodata when not NaN."""
    data = np.array(cube.data, dtype=np.float32)
    data[list(bands)] = value
    return cube.with_data(data, nodata=None if np.isnan(value) else value)


def without_bands(cube: Cube, bands: Sequence[int]) -> Cube:
    """``cube`` without ``bands`` (indices from 0), their wavelengths and FWHMs left out too."""
    keep = np.setdiff1d(np.arange(cube.bands), bands)
    return cube.with_data(np.asarray(cube.data)[keep], wavelengths=cube.wavelengths[keep],
                          fwhm=None if cube.fwhm is None else cube.fwhm[keep])
