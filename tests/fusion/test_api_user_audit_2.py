"""Second audit of the fusion doors a user calls (:func:`hsi.fusion.fuse`, the tiled
:func:`hsi.fusion.scene.fuse_cube` / ``fuse_files`` pipeline) with unusual inputs:

- ``ratio="4"`` (text, e.g. read from a config file) raised a raw ``TypeError`` from
  :func:`hsi.fusion.grid.check_pair`; it is read as a number, and text that is not one is a
  one-line :class:`~hsi.errors.GridError`;
- an LR-HSI value of ±inf (missing data, like NaN) was read by bicubic (and by GSA's tiles)
  as the largest float: the pixels with data beside it came out near 1e38; it is read as 0
  there, as NaN is;
- one such value also switched the spectral denoiser of a noisy LR-HSI off (the noise
  estimate saw 3e38), 6.6 dB below the same pixel given as NaN;
- a tile of GSA read the LR-HSI's missing pixels as 0 where the untiled run fills them from
  their rim: the pixels within the bicubic support differed by 0.05 from the untiled result;
- with such a value in the pair, ``auto``'s scene check (:func:`hsi.fusion.gate.reprojection_gap`)
  came out NaN and was skipped: the CAVE checkpoint was kept on a scene where the same pixel
  as NaN sends ``auto`` to GLP (the checkpoint re-predicts it 16 dB worse);
- ``method="auto"`` (the default) on an LR-HSI smaller than the matching checkpoint's filters
  accept (3 × 3 pixels at x4 with the CAVE sensors) raised "too small for INFN ... use
  method='glp'" instead of falling back to GLP itself, as it does for every other reason;
- ``method=None`` (or a number) raised a raw ``AttributeError`` (``.lower()``); it is the
  one-line :class:`~hsi.errors.ModelError` of an unknown method;
- ``scales=(0, 1)`` returned an all-NaN cube without a word and ``scales=(1,)`` raised a raw
  ``ValueError`` from unpacking; both are a one-line :class:`~hsi.errors.ConfigError`.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from hsi.cube import Cube
from hsi.errors import ConfigError, GridError, ModelError
from hsi.fusion import fuse
from hsi.fusion.scene import fuse_cube


@pytest.fixture(scope="module")
def pair(salinas):
    """The Salinas-A x4 Sentinel-2 pair (LR-HSI 20 × 21)."""
    from hsi.degrade import simulate_pair

    return simulate_pair(salinas, 4, "sentinel2")


@pytest.fixture(scope="module")
def cave_pair(salinas):
    """The Salinas-A sample on the CAVE grid (31 bands, 400–700 nm) seen by the Nikon D700 at
    x4, LR-HSI with white noise (σ = 0.01): the spectral denoiser acts on it."""
    from hsi.degrade import simulate_pair

    wl = np.arange(400.0, 701.0, 10.0)
    x = np.asarray(salinas.data, dtype=np.float64).reshape(salinas.bands, -1)
    y = np.stack([np.interp(wl, salinas.wavelengths, x[:, k]) for k in range(x.shape[1])], 1)
    cube = Cube(y.reshape(31, salinas.height, salinas.width).astype(np.float32), wavelengths=wl)
    lr, msi = simulate_pair(cube, 4, "nikon_d700")
    noisy = np.asarray(lr.data) + np.random.default_rng(0).normal(0, 0.01, lr.shape)
    return lr.with_data(noisy.astype(np.float32)), msi


def _with_lr_pixel(lr: Cube, value: float) -> Cube:
    data = np.asarray(lr.data).copy()
    data[:, 3, 5] = value
    return lr.with_data(data)


@pytest.mark.parametrize("ratio", ["4", "four", [4]])
def test_ratio_that_is_not_a_number_is_one_grid_error(pair, ratio):
    lr, msi = pair
    if ratio == "4":  # a number in text: read as one, as hsi.check.check_ratio does
        out = fuse(lr, msi, method="bicubic", ratio=ratio, device="cpu", progress=False)
        assert out.metadata["ratio"] == 4
        return
    with pytest.raises(GridError, match="ratio must be an integer >= 2"):
        fuse(lr, msi, method="bicubic", ratio=ratio, device="cpu", progress=False)


@pytest.mark.parametrize("tiled", [False, True])
@pytest.mark.parametrize("method", ["bicubic", "gsa"])
def test_infinite_lr_value_is_missing_data_not_a_huge_one(pair, method, tiled):
    lr, msi = pair

    def run(cube: Cube) -> np.ndarray:
        if tiled:
            return np.asarray(fuse_cube(cube, msi, method=method, tile=16, device="cpu").data)
        return np.asarray(fuse(cube, msi, method=method, device="cpu", progress=False).data)

    got = run(_with_lr_pixel(lr, np.inf))
    as_nan = run(_with_lr_pixel(lr, np.nan))
    assert np.array_equal(np.isnan(got), np.isnan(as_nan))  # the pixel's block only
    assert np.isnan(got).all(0).sum() == 16
    assert np.nanmax(np.abs(got)) < 2.0  # reflectance, not 1e38 beside the pixel
    np.testing.assert_allclose(got, as_nan, atol=1e-5)


def test_infinite_lr_value_does_not_switch_the_denoiser_off(cave_pair, caplog):
    lr, msi = cave_pair
    with caplog.at_level(logging.ERROR):
        got = fuse(_with_lr_pixel(lr, np.inf), msi, method="glp", device="cpu", progress=False)
        as_nan = fuse(_with_lr_pixel(lr, np.nan), msi, method="glp", device="cpu",
                      progress=False)
    assert "lr_denoise_snr_db" in as_nan.metadata
    assert got.metadata.get("lr_denoise_snr_db") == as_nan.metadata["lr_denoise_snr_db"]
    np.testing.assert_allclose(np.asarray(got.data), np.asarray(as_nan.data), atol=1e-5)
    tiled = fuse_cube(_with_lr_pixel(lr, np.inf), msi, method="glp", tile=16, device="cpu")
    assert tiled.metadata.get("lr_denoise_snr_db") == as_nan.metadata["lr_denoise_snr_db"]


def test_gsa_tiles_fill_missing_lr_pixels_as_the_untiled_run_does(pair):
    lr, msi = pair
    holed = _with_lr_pixel(lr, np.nan)
    whole = np.asarray(fuse(holed, msi, method="gsa", device="cpu", progress=False).data)
    tiled = np.asarray(fuse_cube(holed, msi, method="gsa", tile=16, device="cpu").data)
    assert np.array_equal(np.isnan(whole), np.isnan(tiled))
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


@pytest.mark.parametrize("method", [None, 3])
def test_method_that_is_not_text_is_one_model_error(pair, method):
    lr, msi = pair
    with pytest.raises(ModelError, match=r"unknown fusion method .*: use auto, infn or "):
        fuse(lr, msi, method=method, device="cpu", progress=False)
    with pytest.raises(ModelError, match="unknown fusion method"):
        fuse_cube(lr, msi, method=method, device="cpu")


@pytest.mark.parametrize("scales", [(0.0, 1.0), (1.0, -2.0), (1.0, float("nan")), (1.0,),
                                    ("a", 1.0), 3.0])
def test_scales_that_are_not_two_positive_numbers_are_one_config_error(pair, scales):
    lr, msi = pair
    with pytest.raises(ConfigError, match="scales must be two positive numbers"):
        fuse(lr, msi, method="glp", scales=scales, device="cpu", progress=False)


def test_given_scales_fuse_as_before(pair):
    lr, msi = pair
    from hsi.fusion.api import input_scales

    default = fuse(lr, msi, method="glp", device="cpu", progress=False)
    given = fuse(lr, msi, method="glp", scales=input_scales(lr, msi), device="cpu",
                 progress=False)
    np.testing.assert_array_equal(np.asarray(given.data), np.asarray(default.data))


def _on_cave_grid(salinas) -> Cube:
    """The Salinas-A sample resampled to the CAVE checkpoint's 31 bands (400–700 nm)."""
    wl = np.arange(400.0, 701.0, 10.0)
    x = np.asarray(salinas.data, dtype=np.float64).reshape(salinas.bands, -1)
    y = np.stack([np.interp(wl, salinas.wavelengths, x[:, k]) for k in range(x.shape[1])], 1)
    return Cube(y.reshape(31, salinas.height, salinas.width).astype(np.float32), wavelengths=wl)


@pytest.mark.parametrize("tiled", [False, True])
def test_infinite_value_does_not_skip_the_auto_scene_check(salinas, tiled, caplog):
    from hsi.degrade import simulate_pair

    lr, msi = simulate_pair(_on_cave_grid(salinas), 4, "nikon_d700")

    def run(value: float) -> Cube:
        hr = np.asarray(msi.data).copy()
        hr[:, 40, 40:44] = value
        pair = (_with_lr_pixel(lr, value), msi.with_data(hr))
        if tiled:
            return fuse_cube(*pair, method="auto", tile=16, device="cpu")
        return fuse(*pair, method="auto", device="cpu", progress=False)

    with caplog.at_level(logging.ERROR):
        got, as_nan = run(np.inf), run(np.nan)
    assert as_nan.metadata["fusion_method"] == "glp"  # the scene check refuses the checkpoint
    assert got.metadata["fusion_method"] == "glp"
    assert got.metadata["auto_check"] == as_nan.metadata["auto_check"]


@pytest.mark.parametrize("tiled", [False, True])
@pytest.mark.parametrize(("ratio", "side"), [(4, 2), (4, 3), (8, 3)])
def test_auto_on_a_scene_too_small_for_the_checkpoint_falls_back_to_glp(salinas, ratio, side,
                                                                        tiled, caplog):
    from rasterio.windows import Window

    from hsi.degrade import simulate_pair

    cube = _on_cave_grid(salinas).crop(Window(0, 0, side * ratio, side * ratio))
    lr, msi = simulate_pair(cube, ratio, "nikon_d700")
    with caplog.at_level(logging.WARNING, logger="hsi.fusion"):
        if tiled:
            out = fuse_cube(lr, msi, tile=8, device="cpu")
        else:
            out = fuse(lr, msi, device="cpu", progress=False)
    assert out.metadata["fusion_method"] == "glp"
    assert "using GLP: the LR-HSI of" in caplog.text and "too small" in caplog.text
    glp = fuse(lr, msi, method="glp", device="cpu", progress=False)
    np.testing.assert_allclose(np.asarray(out.data), np.asarray(glp.data), atol=1e-5)
