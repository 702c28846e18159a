"""The fused image has the LR-HSI's bands and units, so it keeps the LR-HSI's band names, bad
band list, reflectance scale factor and band scales/offsets (before: all dropped, so a fused
ENVI int16 x 10000 scene no longer said what its values were)."""

from __future__ import annotations

import numpy as np
import pytest

import hsi
from hsi.fusion import fuse
from hsi.fusion.scene import fuse_cube, fuse_files


@pytest.fixture(scope="module")
def pair():
    """The shipped sample (80² crop) at x4 for Sentinel-2; the LR-HSI stored as int16
    reflectance x 10000 with ENVI-style band metadata."""
    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair

    lr, hr = simulate_pair(sample_cube().crop((0, 0, 80, 80)), 4, "sentinel2")
    bbl = [1] * lr.bands
    bbl[5] = 0
    meta = {"reflectance_scale_factor": 10000.0, "bbl": bbl,
            "band_names": [f"b{i}" for i in range(lr.bands)]}
    stored = lr.with_data(np.round(np.asarray(lr.data) * 10000).astype(np.int16),
                          metadata=meta)
    return stored, hr


def _check(meta: dict, lr) -> None:
    assert meta["reflectance_scale_factor"] == 10000.0
    assert list(meta["bbl"]) == list(lr.metadata["bbl"])
    assert list(meta["band_names"]) == list(lr.metadata["band_names"])


def test_in_memory(pair):
    lr, hr = pair
    out = fuse(lr, hr, method="glp")
    _check(out.metadata, lr)
    assert 0.3 * 10000 < np.nanmax(out.data) < 1.2 * 10000  # in the LR-HSI's units
    _check(fuse_cube(lr, hr, method="glp", progress=False).metadata, lr)


def test_written_file(pair, tmp_path):
    lr, hr = pair
    hsi.save(lr, tmp_path / "lr.hdr")
    hsi.save(hr, tmp_path / "hr.tif")
    out = fuse_files(tmp_path / "lr.hdr", tmp_path / "hr.tif", tmp_path / "out.tif",
                     method="glp", progress=False)
    back = hsi.open(out)
    _check(back.metadata, hsi.open(tmp_path / "lr.hdr"))
