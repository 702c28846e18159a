"""Spectral denoising of the LR-HSI (``hsi.fusion.denoise``) and its use by every fusion path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from affine import Affine
from rasterio.windows import Window

from hsi.data import sample_cube
from hsi.degrade import simulate_pair
from hsi.fusion import fuse
from hsi.fusion.denoise import (
    MAX_SNR_DB,
    denoiser_for,
    noise_sigmas,
    regression_noise,
    spectral_denoiser,
)
from hsi.metrics import psnr


def _tensor(cube) -> torch.Tensor:
    return torch.as_tensor(np.asarray(cube.data, dtype=np.float32))


def _noisy(x: torch.Tensor, snr_db: float, seed: int) -> torch.Tensor:
    """``x`` (C, H, W) with white Gaussian noise at ``snr_db`` per band."""
    power = x.double().pow(2).mean(dim=(1, 2), keepdim=True)
    sigma = (power / 10 ** (snr_db / 10)).sqrt().float()
    g = torch.Generator().manual_seed(seed)
    return x + sigma * torch.randn(x.shape, generator=g)


@pytest.fixture(scope="module")
def scene31():
    """31 bands of Salinas-A (every ~6.6th), 80 × 84 pixels, georeferenced (real spectra)."""
    cube = sample_cube()
    idx = np.linspace(0, cube.bands - 1, 31).round().astype(int)
    return cube.with_data(np.ascontiguousarray(cube.data[idx, :80, :84]),
                          wavelengths=cube.wavelengths[idx],
                          fwhm=None if cube.fwhm is None else cube.fwhm[idx],
                          crs="EPSG:32610",
                          transform=Affine(3.7, 0, 612111.0, 0, -3.7, 4061925.9))


def test_noise_sigmas_recover_white_noise_on_a_real_crop():
    x = _tensor(sample_cube())[:, :64, :64]
    clean = x / x.max()
    g = torch.Generator().manual_seed(0)
    est = noise_sigmas(clean + 0.02 * torch.randn(clean.shape, generator=g))
    assert est.shape == (clean.shape[0],)
    np.testing.assert_allclose(np.median(est), 0.02, rtol=0.15)


def test_noise_sigmas_equal_skimages_estimate_sigma():
    """The same estimator as skimage's, on a real crop with noise, an odd size and a band
    with exact zeros (masked out by both)."""
    from skimage.restoration import estimate_sigma

    x = _tensor(sample_cube())[:12, :37, :50]
    x = x / x.max() + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    x[3, :, :20] = 0.0
    want = estimate_sigma(x.numpy(), channel_axis=0, average_sigmas=False)
    np.testing.assert_allclose(noise_sigmas(x), want, rtol=1e-5)


def test_regression_noise_is_each_bands_least_squares_residual(scene31):
    y = _tensor(scene31)[:8].reshape(8, -1).double()
    got = regression_noise(y).numpy()
    for i in range(8):
        others = np.delete(y.numpy(), i, axis=0).T
        coef, *_ = np.linalg.lstsq(others, y[i].numpy(), rcond=None)
        np.testing.assert_allclose(got[i], y[i].numpy() - others @ coef, atol=1e-6)


def test_denoiser_removes_most_white_noise_from_real_spectra(scene31):
    clean = _tensor(scene31)
    noisy = _noisy(clean, 25.0, seed=1)
    den = spectral_denoiser(noisy)
    assert den is not None and den.matrix.shape == (31, 31)
    assert 22.0 < den.snr_db < 28.0  # the added noise is 25 dB
    assert 0 < den.rank < 31
    before = psnr(clean.numpy(), noisy.numpy())
    after = psnr(clean.numpy(), den(noisy).numpy())
    assert after > before + 1.5  # measured +2.7 dB: much of the noise is outside the subspace


def test_denoiser_barely_changes_a_noise_free_lr_hsi(scene31):
    lr, _ = simulate_pair(scene31, 2, "nikon_d700")  # blurring averaged the sensor noise away
    x = _tensor(lr)
    den = spectral_denoiser(x)
    assert den is not None and den.snr_db > 45.0
    change = psnr(x.numpy(), den(x).numpy())
    noisy = _noisy(x, 35.0, seed=2)
    removed = psnr(noisy.numpy(), spectral_denoiser(noisy)(noisy).numpy())
    assert change > removed + 10.0  # far less is taken from clean data than from noisy data
    # and a fusion leaves it alone: above MAX_SNR_DB there is nothing to gain
    assert den.snr_db >= MAX_SNR_DB and denoiser_for(True, x) is None
    assert denoiser_for(True, noisy) is not None and denoiser_for(False, noisy) is None


def test_too_few_pixels_or_a_blank_image_get_no_denoiser():
    rng = np.random.default_rng(0)
    assert spectral_denoiser(torch.as_tensor(rng.random((204, 20, 20), np.float32))) is None
    assert spectral_denoiser(torch.zeros(8, 32, 32)) is None


@pytest.fixture(scope="module")
def noisy_pair(scene31):
    lr, msi = simulate_pair(scene31, 2, "nikon_d700")
    return lr.with_data(_noisy(_tensor(lr), 25.0, seed=3).numpy()), msi


def test_fuse_denoises_a_noisy_lr_hsi_by_default(scene31, noisy_pair):
    lr, msi = noisy_pair
    ref = np.asarray(scene31.data, dtype=np.float64)
    on = fuse(lr, msi, method="glp")
    off = fuse(lr, msi, method="glp", lr_denoise=False)
    assert on.metadata["lr_denoise_snr_db"] < 28.0 and "lr_denoise_snr_db" not in off.metadata
    assert psnr(ref, on.data) > psnr(ref, off.data) + 0.6  # measured +1.27 dB


def test_tiled_fusion_applies_the_same_denoiser(noisy_pair):
    from hsi.fusion.scene import fuse_cube

    lr, msi = noisy_pair
    untiled = fuse(lr, msi, method="glp")
    tiled = fuse_cube(lr, msi, method="glp", tile=32)
    assert tiled.metadata["tiles"] > 1
    assert tiled.metadata["lr_denoise_rank"] == untiled.metadata["lr_denoise_rank"]
    np.testing.assert_allclose(tiled.data, untiled.data, rtol=0, atol=2e-4)
    off = fuse_cube(lr, msi, method="glp", tile=32, lr_denoise=False)
    assert np.abs(off.data - tiled.data).max() > 1e-3


def test_cli_fuse_denoises_unless_told_not_to(noisy_pair, tmp_path):
    from click.testing import CliRunner

    import hsi
    from hsi.cli.main import cli
    from hsi.io.geotiff import write_geotiff

    lr, msi = noisy_pair
    write_geotiff(lr, tmp_path / "lr.tif", tile=16)
    write_geotiff(msi, tmp_path / "hr.tif", tile=16)
    for flag, expected in (([], fuse(lr, msi, method="glp")),
                           (["--no-lr-denoise"], fuse(lr, msi, method="glp", lr_denoise=False))):
        out = tmp_path / f"fused{len(flag)}.tif"
        result = CliRunner().invoke(cli, ["fuse", str(tmp_path / "lr.tif"),
                                          str(tmp_path / "hr.tif"), "-o", str(out),
                                          "--method", "glp", *flag])
        assert result.exit_code == 0, result.output
        np.testing.assert_allclose(hsi.open(out).data, expected.data, rtol=0, atol=2e-4)


def test_cnmf_fuses_the_lr_hsi_as_given_unless_told_to_denoise(noisy_pair):
    from hsi.fusion.api import denoises_lr

    assert denoises_lr("glp", None) and denoises_lr("infn", None) and not denoises_lr("cnmf", None)
    assert denoises_lr("cnmf", True) and not denoises_lr("glp", False)
    lr, msi = noisy_pair
    lr, msi = lr.crop(Window(0, 0, 20, 20)), msi.crop(Window(0, 0, 40, 40))
    assert "lr_denoise_rank" not in fuse(lr, msi, method="cnmf").metadata
    assert "lr_denoise_rank" in fuse(lr, msi, method="cnmf", lr_denoise=True).metadata
