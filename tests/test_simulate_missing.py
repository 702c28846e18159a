"""Wald simulation from a reference with missing data: empty bands (all NaN, a band the
sensor did not measure) and nodata pixels.

Before, an empty band made every pixel of the Sentinel-2 bands whose tabulated response has
a tail over it NaN (B8, B11, B12 on the Salinas-A sample), and the nodata value −9999 was
blurred and weighted as a reflectance.
"""

from __future__ import annotations

import numpy as np
import pytest

import hsi
from hsi.degrade import simulate_pair
from hsi.simulate import simulate_files

EMPTY = slice(100, 110)  # 1303-1442 nm: a water-absorption window


@pytest.fixture(scope="module")
def sample():
    from hsi.data import sample_cube

    return sample_cube().crop((0, 0, 80, 80))


def _empty(cube):
    data = np.array(cube.data)
    data[EMPTY] = np.nan
    return cube.with_data(data)


def test_empty_bands_leave_the_hr_msi_whole(sample, caplog):
    _, clean_hr = simulate_pair(sample, 4, "sentinel2")
    with caplog.at_level("WARNING", logger="hsi.degrade"):
        lr, hr = simulate_pair(_empty(sample), 4, "sentinel2")
    assert "left out of the simulated HR-MSI" in caplog.text
    assert np.isfinite(hr.data).all()
    # the response over 1303-1442 nm is ~0 for every Sentinel-2 band: the same image
    np.testing.assert_allclose(hr.data, clean_hr.data, atol=1e-5)
    assert np.isnan(lr.data[EMPTY]).all() and np.isfinite(lr.data[:100]).all()


def test_nodata_pixels_are_missing_not_reflectance(sample):
    data = np.array(sample.data)
    data[:, :8, :] = -9999  # an 8-row nodata border
    lr, hr = simulate_pair(sample.with_data(data, nodata=-9999), 4, "sentinel2")
    assert np.isnan(hr.data[:, :8]).all() and np.isfinite(hr.data[:, 8:]).all()
    assert np.nanmin(lr.data) > -0.01 and np.nanmin(hr.data) > -0.01  # never -9999-ish
    clean_lr, _ = simulate_pair(sample, 4, "sentinel2")
    np.testing.assert_allclose(lr.data[:, 4:], clean_lr.data[:, 4:], atol=1e-6)  # beyond the PSF


def test_tiled_files_equal_in_memory(sample, tmp_path):
    hsi.save(_empty(sample), tmp_path / "ref.tif")
    out = simulate_files(tmp_path / "ref.tif", tmp_path / "sim", 4, "sentinel2", tile=32,
                         device="cpu")
    lr, hr = simulate_pair(_empty(sample), 4, "sentinel2")
    np.testing.assert_allclose(np.asarray(hsi.open(out["hr_msi"]).data), hr.data, atol=1e-5)
    got_lr = np.asarray(hsi.open(out["lr_hsi"]).data)
    assert np.isnan(got_lr[EMPTY]).all()
    np.testing.assert_allclose(got_lr[:100], lr.data[:100], atol=1e-5)
