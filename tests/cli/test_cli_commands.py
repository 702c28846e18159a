"""hsi info / convert / simulate / metrics on real data (the shipped Salinas-A sample)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import scipy.io
from affine import Affine

import hsi


def test_info_sample_values(invoke):
    from hsi.data.shipped import CUBE_PATH

    result = invoke("info", CUBE_PATH)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "204 bands × 83 rows × 86 cols" in out
    assert "int16" in out
    assert "390.2–2489.1 nm (204 bands)" in out
    assert "crs:         none" in out and "nodata:      none" in out


def test_info_georeferenced(invoke, tmp_path, vnir_cube):
    _, cube = vnir_cube
    geo = cube.with_data(cube.data, crs="EPSG:32610", transform=Affine(3.7, 0, 600000, 0, -3.7,
                                                                       4000000), nodata=-1.0)
    path = hsi.save(geo, tmp_path / "geo.tif")
    out = invoke("info", path).stdout
    assert "EPSG:32610" in out
    assert "pixel size:  3.7 × 3.7 metre" in out
    assert "nodata:      -1" in out


def test_convert_round_trip(invoke, tmp_path, vnir_cube):
    path, cube = vnir_cube
    envi_path = tmp_path / "cube.hdr"
    result = invoke("convert", path, envi_path)
    assert result.exit_code == 0, result.output
    back_path = tmp_path / "back.tif"
    assert invoke("convert", envi_path, back_path).exit_code == 0
    back = hsi.open(back_path)
    np.testing.assert_array_equal(back.data, cube.data)
    np.testing.assert_allclose(back.wavelengths, cube.wavelengths, rtol=1e-6)


def test_convert_mat_with_var(invoke, tmp_path):
    data = np.arange(2 * 3 * 4, dtype=np.float32).reshape(3, 4, 2)  # MATLAB (H, W, bands)
    scipy.io.savemat(tmp_path / "two.mat", {"a": data, "b": data * 2})
    out = tmp_path / "b.tif"
    result = invoke("convert", tmp_path / "two.mat", out, "--var", "b")
    assert result.exit_code == 0, result.output
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(), np.moveaxis(data * 2, -1, 0))


def test_simulate_writes_three_consistent_files(invoke, tmp_path, vnir_cube):
    path, cube = vnir_cube
    out = tmp_path / "sim"
    result = invoke("simulate", path, "-o", out, "--ratio", 4, "--sensor", "nikon_d700",
                    "--psf-sigma", 1.5, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["hr_msi.tif", "lr_hsi.tif", "reference.tif"]
    ref, lr, msi = (hsi.open(out / f) for f in ("reference.tif", "lr_hsi.tif", "hr_msi.tif"))
    assert ref.shape == (cube.bands, 24, 32)
    assert lr.shape == (cube.bands, 6, 8)
    assert msi.shape == (3, 24, 32)
    # The sample is float reflectance in [0, 1]: the reference is the input itself.
    np.testing.assert_array_equal(ref.data, cube.data)
    np.testing.assert_allclose(lr.wavelengths, cube.wavelengths, rtol=1e-6)


def test_metrics_hand_computed(invoke, tmp_path, vnir_cube):
    path, cube = vnir_cube
    est = cube.with_data(cube.data + np.float32(0.01))
    est_path = hsi.save(est, tmp_path / "est.tif")
    result = invoke("metrics", path, est_path, "--ratio", 4)
    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    # A constant error of 0.01: RMSE 0.01 in every band -> PSNR = 20 log10(1 / 0.01) = 40 dB.
    assert float(lines["PSNR"].split()[0]) == pytest.approx(40.0, abs=1e-3)
    mu = cube.data.astype(np.float64).mean(axis=(1, 2))
    ergas = 100 / 4 * np.sqrt(np.mean(0.01 ** 2 / mu ** 2))
    assert float(lines["ERGAS"]) == pytest.approx(ergas, rel=1e-3)
    assert lines["SAM"].endswith("deg")


def test_metrics_leave_out_pixels_with_no_data(invoke, tmp_path, vnir_cube):
    """A fused file is NaN where it had no data, a reference may carry a nodata value: both
    are left out, and a line says how many pixels."""
    _, cube = vnir_cube
    est = cube.data + np.float32(0.01)
    est[:, 2:4, 2:5] = np.nan
    ref = cube.data.copy()
    ref[:, 10, 10] = -9999.0
    ref_path = hsi.save(cube.with_data(ref, nodata=-9999.0), tmp_path / "ref.tif")
    est_path = hsi.save(cube.with_data(est), tmp_path / "est.tif")
    result = invoke("metrics", ref_path, est_path, "--ratio", 4)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == "7 pixel(s) with no data (NaN or nodata) in either image left out"
    scores = dict(line.split(None, 1) for line in lines[:-1])
    assert float(scores["PSNR"].split()[0]) == pytest.approx(40.0, abs=1e-3)


def test_metrics_scaled_estimate_has_zero_angle(invoke, tmp_path, vnir_cube):
    path, cube = vnir_cube
    est_path = hsi.save(cube.with_data(cube.data * np.float32(0.5)), tmp_path / "half.tif")
    lines = dict(line.split(None, 1) for line in invoke("metrics", path, est_path).stdout
                 .splitlines())
    assert float(lines["SAM"].split()[0]) == pytest.approx(0.0, abs=1e-3)
    assert lines["ERGAS"] == "n/a (give --ratio)"


def test_info_counts_one_band_and_leaves_out_placeholder_widths(invoke, tmp_path):
    """A 1-band file read "1 bands × 1 rows"; FWHM placeholders (NaN, 0) printed "nan–nan nm"."""
    one = hsi.save(hsi.Cube(np.ones((1, 1, 5), np.float32), wavelengths=[550.0],
                            fwhm=[float("nan")]), tmp_path / "one.tif")
    out = invoke("info", one).stdout
    assert "1 band × 1 row × 5 cols" in out
    assert "550.0–550.0 nm (1 band)" in out
    assert "fwhm" not in out
