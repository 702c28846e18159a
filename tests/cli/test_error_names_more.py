"""More one-line errors that name the file (or the option) the user gave.

Each case was found by an audit: a library message about an image too small for a PSF, for
INFN or for SSIM, about an SRF outside a cube's wavelengths, or about two maps of different
sizes, reached the shell without saying which file it was about. Real files cut from the
shipped Salinas-A sample, through the real CLI.
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

import hsi


@pytest.fixture(scope="module")
def sample():
    """The shipped Salinas-A sample (204 bands, reflectance)."""
    from hsi.data import sample_cube

    return sample_cube()


def _crop(cube, side: int, bands=slice(None)):
    """A ``side``×``side`` crop of ``cube`` (its ``bands``)."""
    keep = np.arange(cube.bands)[bands]
    return cube.with_data(np.ascontiguousarray(cube.data[keep, 32:32 + side, 48:48 + side]),
                          wavelengths=cube.wavelengths[keep], fwhm=cube.fwhm[keep])


def _save(cube, path) -> str:
    hsi.save(cube, path)
    return str(path)


def _pair(tmp_path, sample, side: int, ratio: int = 4) -> tuple[str, str]:
    """An LR-HSI / Sentinel-2 HR-MSI pair simulated from a ``side``×``side`` crop."""
    from hsi.degrade import simulate_pair

    lr, msi = simulate_pair(_crop(sample, side), ratio, "sentinel2")
    return (_save(lr, tmp_path / f"lr{side}.tif"), _save(msi, tmp_path / f"hr{side}.tif"))


def _labels(path, side: int) -> str:
    labels = np.zeros((side, side), np.uint8)
    labels[:4], labels[-4:] = 1, 2
    with rasterio.open(path, "w", driver="GTiff", count=1, height=side, width=side,
                       dtype="uint8") as dst:
        dst.write(labels, 1)
    return str(path)


# ------------------------------------------------------------- 1. too small for a PSF / INFN
def test_fusion_train_names_a_cube_too_small_for_infn(tmp_path, sample, invoke,
                                                      one_line_error):
    # 8×8 at x4: an LR-HSI of 2×2, which INFN's LR high-pass (kernel 7) cannot filter; was
    # "image 2×2 is too small for a PSF of sigma 1 (kernel 7, needs H and W > 3)"
    cube = _save(_crop(sample, 8), tmp_path / "tiny.tif")
    out = tmp_path / "m.pt"
    line = one_line_error(invoke("fusion", "train", cube, "--ratio", 4, "--sensor", "sentinel2",
                                 "--steps", 1, "-o", out, "--device", "cpu"),
                          f"{cube}: 8×8 pixels", "LR-HSI of 2×2", "16×16")
    assert "image 2×2" not in line
    assert not out.exists()


def test_fusion_train_names_a_validation_cube_too_small_before_training(
        tmp_path, sample, invoke, one_line_error):
    cube = _save(_crop(sample, 16), tmp_path / "train.tif")
    held = _save(_crop(sample, 8), tmp_path / "held.tif")
    out = tmp_path / "m.pt"
    result = invoke("fusion", "train", cube, "--validate", held, "--ratio", 4, "--sensor",
                    "sentinel2", "--steps", 1, "-o", out, "--device", "cpu")
    one_line_error(result, f"{held}: 8×8 pixels", "too small for INFN")
    assert "INFN train" not in result.stderr  # refused before any training step
    assert not out.exists()


def test_fusion_train_names_a_cube_too_small_for_the_psf(tmp_path, sample, invoke,
                                                         one_line_error):
    # σ = 3 at x2: kernel 19, more than 9 pixels a side needed; was "image 8×8 is too small
    # for a PSF of sigma 3 (kernel 19, needs H and W > 9) at ratio 2"
    cube = _save(_crop(sample, 8), tmp_path / "small.tif")
    line = one_line_error(invoke("fusion", "train", cube, "--ratio", 2, "--psf-sigma", 3,
                                 "--sensor", "sentinel2", "--steps", 1, "-o",
                                 tmp_path / "m.pt", "--device", "cpu"),
                          f"{cube}: 8 pixels a side", "sigma 3", "10×10", "--psf-sigma")
    assert "image 8×8" not in line


def test_simulate_names_a_cube_too_small_for_the_psf(tmp_path, sample, invoke, one_line_error):
    cube = _save(_crop(sample, 4), tmp_path / "four.tif")
    out = tmp_path / "sim"
    one_line_error(invoke("simulate", cube, "-o", out, "--ratio", 4),
                   f"{cube}: 4 pixels a side", "sigma 2", "8×8")
    assert not out.exists()


def test_fuse_infn_names_an_lr_hsi_too_small_for_it(tmp_path, sample, invoke, one_line_error):
    lr, hr = _pair(tmp_path, sample, 8)  # LR-HSI 2×2
    out = tmp_path / "fused.tif"
    line = one_line_error(invoke("fuse", lr, hr, "-o", out, "--method", "infn", "--device",
                                 "cpu"), f"{lr}: LR-HSI of 2×2 pixels", "--method glp")
    assert "image 2×2" not in line
    assert not out.exists()


def test_fuse_fit_scene_names_an_lr_hsi_too_small_to_fit(tmp_path, sample, invoke,
                                                         one_line_error):
    lr, hr = _pair(tmp_path, sample, 8)
    one_line_error(invoke("fuse", lr, hr, "-o", tmp_path / "fused.tif", "--fit-scene",
                          "--fit-steps", 1, "--device", "cpu"),
                   f"{lr}: --fit-scene at ratio 4", "16×16")


def test_fuse_names_an_hr_msi_too_small_for_the_psf(tmp_path, sample, invoke, one_line_error):
    lr, hr = _pair(tmp_path, sample, 16)
    out = tmp_path / "fused.tif"
    # σ = 9: kernel 55; was "image 16×16 is too small for a PSF of sigma 9 ... at ratio 4"
    one_line_error(invoke("fuse", lr, hr, "-o", out, "--method", "glp", "--psf-sigma", 9,
                          "--device", "cpu"),
                   f"{hr}: HR-MSI of 16×16 pixels", "σ = 9", "--psf-sigma")
    assert not out.exists()


def test_fuse_names_both_inputs_that_do_not_cover_the_same_ground(tmp_path, sample, invoke,
                                                                  one_line_error):
    lr, hr = _pair(tmp_path, sample, 16)  # 4×4 and 16×16: at x3 the HR-MSI has 4 rows extra
    # was "HR-MSI has 16 rows, but LR-HSI 4 rows × ratio 3 = 12: the images do not cover ..."
    line = one_line_error(invoke("fuse", lr, hr, "-o", tmp_path / "fused.tif", "--method",
                                 "glp", "--ratio", 3), "do not cover the same ground")
    assert line.startswith(f"hsi: error: {lr}, {hr}: HR-MSI has 16 rows"), line


# ------------------------------------------------------------------------- 2. SSIM's window
def test_metrics_names_images_too_small_for_ssim(tmp_path, sample, invoke, one_line_error):
    ref = _save(_crop(sample, 8), tmp_path / "ref.tif")
    est = _save(_crop(sample, 8), tmp_path / "est.tif")
    # was "ssim needs images of at least 11×11 pixels, got 8×8"
    one_line_error(invoke("metrics", ref, est), f"{est}: 8×8 pixels", ref, "SSIM", "11×11")


def test_metrics_says_the_crop_leaves_too_few_pixels_for_ssim(tmp_path, sample, invoke,
                                                              one_line_error):
    ref = _save(_crop(sample, 16), tmp_path / "ref.tif")
    est = _save(_crop(sample, 16), tmp_path / "est.tif")
    # 16 - 2·3 = 10 < 11: was "ssim needs images of at least 11×11 pixels, got 10×10"
    one_line_error(invoke("metrics", ref, est, "--crop", 3),
                   f"{est}: --crop 3 leaves 10×10", ref, "SSIM", "use --crop 2 or less")
    assert invoke("metrics", ref, est, "--crop", 2).exit_code == 0


# ------------------------------------------------------ 3. an SRF outside a cube's wavelengths
def _vnir(sample, path) -> str:
    keep = np.flatnonzero((sample.wavelengths >= 400) & (sample.wavelengths <= 750))
    return _save(_crop(sample, 16, keep), path)


def test_simulate_names_the_cube_outside_the_sensor(tmp_path, sample, invoke, one_line_error):
    cube = _vnir(sample, tmp_path / "vnir.tif")
    out = tmp_path / "sim"
    # was "SRF 'sentinel2': band(s) ... fall outside the cube's wavelength range ..."
    line = one_line_error(invoke("simulate", cube, "-o", out, "--ratio", 4, "--sensor",
                                 "sentinel2"), "fall outside")
    assert line.startswith(f"hsi: error: {cube}: SRF 'sentinel2': "), line
    assert not out.exists()


def test_fusion_train_names_the_cube_outside_the_sensor(tmp_path, sample, invoke,
                                                        one_line_error):
    cube = _vnir(sample, tmp_path / "vnir.tif")
    line = one_line_error(invoke("fusion", "train", cube, "--ratio", 4, "--sensor", "sentinel2",
                                 "--steps", 1, "-o", tmp_path / "m.pt", "--device", "cpu"),
                          "fall outside")
    assert line.startswith(f"hsi: error: {cube}: SRF 'sentinel2': "), line


def test_an_srf_file_named_otherwise_is_named_by_the_sensor_option(tmp_path, sample, invoke,
                                                                   one_line_error):
    wl = np.arange(700, 1101, 5.0)
    rows = [f"{w:g},{np.exp(-((w - 900) / 30) ** 2):.5f}" for w in wl]
    srf = tmp_path / "cam.csv"
    srf.write_text("# Camera: MyCam\nwavelength,nir\n" + "\n".join(rows) + "\n")
    cube = _vnir(sample, tmp_path / "vnir.tif")
    line = one_line_error(invoke("simulate", cube, "-o", tmp_path / "sim", "--ratio", 4,
                                 "--sensor", srf), "fall outside")
    assert line.startswith(f"hsi: error: {cube}: SRF 'MyCam' (--sensor {srf}): "), line


# ----------------------------------------------------------- 4. maps of two different sizes
def test_cluster_evaluate_names_both_maps_of_different_sizes(tmp_path, invoke, one_line_error):
    clusters = _labels(tmp_path / "clusters.tif", 16)
    labels = _labels(tmp_path / "truth.tif", 15)
    # was "clusters.tif: shape (16, 16) differs from the labels' (15, 15)"
    line = one_line_error(invoke("cluster-evaluate", clusters, labels),
                          f"{clusters}: ", labels, "16×16", "15×15")
    assert "the labels'" not in line
