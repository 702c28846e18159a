"""Empty bands (no valid value: all NaN or nodata), as EnMAP or PRISMA products hold in their
water-absorption windows: the other bands are fused as usual, the empty ones are NaN.

Before, an empty LR-HSI band made every pixel of every band NaN (the methods leave out a
pixel any band is missing at), and one filled with the nodata value came out as 0.
"""

from __future__ import annotations

import numpy as np
import pytest

import hsi
from hsi.bands import empty_bands
from hsi.cube import Cube
from hsi.degrade import simulate_pair
from hsi.errors import DataError
from hsi.fusion import fuse
from hsi.fusion.api import empty_band_sources
from hsi.fusion.scene import fuse_files
from tests.cube_edits import with_empty_bands

EMPTY = [100, 101, 150]


@pytest.fixture(scope="module")
def pair():
    """The shipped Salinas-A sample (204 bands) cropped to 80², simulated at x4 for
    Sentinel-2: (reference, LR-HSI, HR-MSI)."""
    from hsi.data import sample_cube

    ref = sample_cube().crop((0, 0, 80, 80))
    lr, hr = simulate_pair(ref, 4, "sentinel2")
    return ref, lr, hr


def _with_empty(lr: Cube, value: float) -> Cube:
    return with_empty_bands(lr, EMPTY, value)


def test_empty_bands_in_memory_and_lazy():
    import dask.array as da

    data = np.random.default_rng(0).random((5, 40, 30)).astype(np.float32)
    data[1] = np.nan
    data[3] = -9999
    data[4, :20] = np.nan  # half empty: has data
    cube = Cube(data, nodata=-9999)
    np.testing.assert_array_equal(empty_bands(cube), [1, 3])
    lazy = cube.with_data(da.from_array(data, chunks=(5, 16, 16)))
    np.testing.assert_array_equal(empty_bands(lazy), [1, 3])
    assert empty_bands(Cube(data[[0, 2]])).size == 0


def test_sources_are_the_nearest_bands_with_data(pair):
    _, lr, hr = pair
    sources = empty_band_sources(_with_empty(lr, np.nan), hr)
    expected = np.arange(lr.bands)
    wl = lr.wavelengths
    for b in EMPTY:  # nearest by wavelength among the bands with data
        full = [k for k in range(lr.bands) if k not in EMPTY]
        expected[b] = full[int(np.argmin(np.abs(wl[full] - wl[b])))]
    np.testing.assert_array_equal(sources, expected)
    assert empty_band_sources(lr, hr) is None


@pytest.mark.parametrize("value", [np.nan, -9999.0])
def test_glp_fuses_the_other_bands_and_leaves_the_empty_ones_nan(pair, value, caplog):
    ref, lr, hr = pair
    clean = fuse(lr, hr, method="glp").data
    with caplog.at_level("WARNING", logger="hsi.fusion"):
        out = fuse(_with_empty(lr, value), hr, method="glp").data
    assert "101" in caplog.text and "no valid pixel" in caplog.text
    assert np.isnan(out[EMPTY]).all()
    others = np.setdiff1d(np.arange(lr.bands), EMPTY)
    assert np.isfinite(out[others]).all()
    mse = np.mean((out[others] - np.asarray(ref.data)[others]) ** 2)
    assert 10 * np.log10(1 / mse) > 40  # the bands with data are fused as before
    np.testing.assert_allclose(out[others], clean[others], atol=2e-3)


def test_tiled_file_fusion_equals_in_memory(pair, tmp_path):
    _, lr, hr = pair
    lr_e = _with_empty(lr, -9999.0)
    hsi.save(lr_e, tmp_path / "lr.tif")
    hsi.save(hr, tmp_path / "hr.tif")
    out = fuse_files(tmp_path / "lr.tif", tmp_path / "hr.tif", tmp_path / "out.tif",
                     method="glp", tile=32, progress=False)
    tiled = np.asarray(hsi.open(out).data)
    whole = fuse(lr_e, hr, method="glp").data
    assert np.isnan(tiled[EMPTY]).all()
    others = np.setdiff1d(np.arange(lr.bands), EMPTY)
    assert np.isfinite(tiled[others]).all()
    np.testing.assert_allclose(tiled[others], whole[others], atol=1e-5)


def test_an_empty_hr_msi_band_is_refused_naming_the_file(pair):
    _, lr, hr = pair
    data = np.array(hr.data)
    data[2] = np.nan
    with pytest.raises(DataError, match=r"HR-MSI 'hr_named'.*band\(s\) 3 \("):
        fuse(lr, hr.with_data(data, name="hr_named"), method="glp")


def test_no_band_with_data_is_refused(pair):
    from hsi.errors import SensorError

    _, lr, hr = pair
    nothing = lr.with_data(np.full(lr.shape, np.nan, np.float32), name="nothing.tif")
    with pytest.raises(DataError, match=r"'nothing\.tif': no band has a valid pixel"):
        empty_band_sources(nothing, hr)
    with pytest.raises(SensorError, match=r"'nothing\.tif' has no valid pixel"):  # its scale first
        fuse(nothing, hr, method="glp")


@pytest.mark.parametrize("declared", [False, True])
def test_zero_pixels_without_a_nodata_value_are_said(pair, caplog, declared):
    from hsi.degrade import warn_if_zeros_undeclared

    _, _, hr = pair
    data = np.array(hr.data)
    data[:, :, :4] = 0  # a 4-column border: 5 % of the pixels
    cube = hr.with_data(data, nodata=0.0 if declared else None, name="s2.tif")
    with caplog.at_level("WARNING", logger="hsi.degrade"):
        share = warn_if_zeros_undeclared(cube)
    if declared:
        assert share == 0 and not caplog.text
    else:
        assert share == pytest.approx(0.05)
        assert "'s2.tif' has no nodata value, and 5.0% of its pixels are 0" in caplog.text
