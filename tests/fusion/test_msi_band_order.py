"""A camera's HR-MSI is fused the same whatever order its file stores the bands in (R, G, B or
B, G, R): the shipped checkpoint of that camera is chosen either way and gives the same image.
Before, the band centres of the other order did not match the checkpoint's and ``auto`` fell
back to GLP."""

from __future__ import annotations

import numpy as np
import pytest

import hsi
from hsi.cube import Cube
from hsi.fusion import fuse
from hsi.fusion.api import msi_band_order
from hsi.fusion.scene import fuse_files


@pytest.fixture(scope="module")
def pair():
    """A 31-band 400-700 nm cube (the shipped Salinas-A sample's nearest bands, on CAVE's
    10 nm grid) simulated at x4 for the Nikon D700 (the shipped CAVE checkpoint's camera)."""
    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair

    s = sample_cube().crop((0, 0, 80, 80))
    grid = np.arange(400.0, 701.0, 10.0)
    bands = [int(np.argmin(np.abs(s.wavelengths - w))) for w in grid]
    cube = Cube(np.asarray(s.data)[bands], wavelengths=grid)
    return simulate_pair(cube, 4, "nikon_d700")


def _reversed(hr: Cube) -> Cube:
    order = np.arange(hr.bands)[::-1]
    return hr.with_data(np.asarray(hr.data)[order], wavelengths=hr.wavelengths[order],
                        fwhm=None if hr.fwhm is None else hr.fwhm[order])


def test_order_that_sorts_the_bands(pair):
    _, hr = pair
    assert msi_band_order(hr, "auto") is None  # the checkpoint's own order
    np.testing.assert_array_equal(msi_band_order(_reversed(hr), "auto"), [2, 1, 0])
    np.testing.assert_array_equal(msi_band_order(_reversed(hr), "infn"), [2, 1, 0])
    assert msi_band_order(_reversed(hr), "glp") is None  # any order
    assert msi_band_order(_reversed(hr), "infn", fit_scene=True) is None  # its own network
    assert msi_band_order(hr.with_data(hr.data, wavelengths=None), "auto") is None


def test_infn_uses_the_camera_checkpoint_in_either_order(pair):
    # before: "no shipped INFN checkpoint matches ..." for the other order
    lr, hr = pair
    stored = fuse(lr, hr, method="infn")
    other = fuse(lr, _reversed(hr), method="infn")
    np.testing.assert_allclose(other.data, stored.data, atol=1e-6)
    glp = fuse(lr, hr, method="glp")
    assert np.abs(stored.data - glp.data).max() > 1e-3  # the network ran, not GLP alone


def test_auto_decides_the_same_in_either_order(pair, caplog):
    # this Salinas-A scene is unlike CAVE's: the checkpoint's scene check picks GLP, for
    # either order (before: the other order never reached the check)
    lr, hr = pair
    with caplog.at_level("WARNING", logger="hsi.fusion"):
        stored = fuse(lr, hr, method="auto")
        other = fuse(lr, _reversed(hr), method="auto")
    assert stored.metadata["fusion_method"] == other.metadata["fusion_method"]
    assert caplog.text.count("infn_cave31_nikond700_x4.pt re-predicts") == 2
    np.testing.assert_allclose(other.data, stored.data, atol=1e-6)


def test_file_order_does_not_change_the_tiled_result(pair, tmp_path):
    lr, hr = pair
    hsi.save(lr, tmp_path / "lr.tif")
    hsi.save(hr, tmp_path / "stored.tif")
    hsi.save(_reversed(hr), tmp_path / "other.tif")
    a = fuse_files(tmp_path / "lr.tif", tmp_path / "stored.tif", tmp_path / "a.tif",
                   method="infn", tile=48, progress=False)
    b = fuse_files(tmp_path / "lr.tif", tmp_path / "other.tif", tmp_path / "b.tif",
                   method="infn", tile=48, progress=False)
    ta, tb = hsi.open(a), hsi.open(b)
    np.testing.assert_allclose(np.asarray(tb.data), np.asarray(ta.data), atol=1e-6)
