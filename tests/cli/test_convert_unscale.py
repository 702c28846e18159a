"""``hsi convert --unscale``: the values a product's band scales and offsets stand for (Landsat
Collection 2 surface reflectance, ``DN × 2.75e-05 − 0.2``), and the warning when a method
would divide such integers as stored."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import rasterio

import hsi
from hsi.degrade import reflectance_scale, unscale_bands

SCALE, OFFSET = 2.75e-05, -0.2


def _landsat_like(path, *, scaled: bool = True):
    """A 3-band uint16 GeoTIFF of Landsat C2 SR integers, nodata 0 at one pixel."""
    rng = np.random.default_rng(1)
    data = rng.integers(7273, 30000, (3, 6, 7)).astype(np.uint16)  # reflectance 0 ... 0.625
    data[:, 0, 0] = 0
    with rasterio.open(path, "w", driver="GTiff", count=3, height=6, width=7, dtype="uint16",
                       nodata=0) as dst:
        dst.write(data)
        if scaled:
            dst.scales = (SCALE,) * 3
            dst.offsets = (OFFSET,) * 3
    return data


@pytest.mark.parametrize("ext", [".tif", ".hdr"])
def test_unscale_writes_reflectance(invoke, tmp_path, ext):
    data = _landsat_like(tmp_path / "sr.tif")
    result = invoke("convert", tmp_path / "sr.tif", tmp_path / f"refl{ext}", "--unscale")
    assert result.exit_code == 0, result.output
    back = hsi.open(tmp_path / f"refl{ext}")
    assert back.dtype == np.float32
    values = np.asarray(back.data)
    assert np.isnan(values[:, 0, 0]).all()  # nodata: NaN, not -0.2
    expected = data.astype(np.float64) * SCALE + OFFSET
    np.testing.assert_allclose(values[:, 1:, 1:], expected[:, 1:, 1:], atol=1e-6)
    assert "band_scales" not in back.metadata  # applied: not written again


def test_unscale_without_scales_is_refused(invoke, tmp_path, one_line_error):
    _landsat_like(tmp_path / "raw.tif", scaled=False)
    result = invoke("convert", tmp_path / "raw.tif", tmp_path / "out.tif", "--unscale")
    one_line_error(result, "raw.tif", "no band scales")
    assert not (tmp_path / "out.tif").exists()


def test_unscale_bands_keeps_a_lazy_cube_lazy(tmp_path):
    data = _landsat_like(tmp_path / "sr.tif")
    lazy = hsi.open(tmp_path / "sr.tif", lazy=True)
    out = unscale_bands(lazy)
    assert out.is_lazy
    np.testing.assert_allclose(np.asarray(out.data)[:, 3, 3], data[:, 3, 3] * SCALE + OFFSET,
                               rtol=1e-6)


def test_offsets_a_divisor_cannot_apply_are_said(tmp_path, caplog):
    _landsat_like(tmp_path / "sr.tif")
    cube = hsi.open(tmp_path / "sr.tif")
    with caplog.at_level(logging.WARNING, logger="hsi.degrade"):
        reflectance_scale(cube)
    assert "band offsets (-0.2)" in caplog.text and "--unscale" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hsi.degrade"):
        reflectance_scale(unscale_bands(cube))
    assert "offsets" not in caplog.text
