"""The sensor PSF estimated from the pair (``psf_sigma="auto"``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rasterio.windows import Window

from hsi.data import sample_cube
from hsi.degrade import Psf, blur_decimate, crop_to_ratio, simulate_pair, spectral_response
from hsi.errors import ConfigError
from hsi.fusion import fuse
from hsi.fusion.psf import estimate_psf, psf_for
from hsi.metrics import psnr


def _tensor(cube) -> torch.Tensor:
    return torch.as_tensor(np.asarray(cube.data, dtype=np.float32))


@pytest.fixture(scope="module")
def crop():
    return sample_cube().crop(Window(0, 0, 80, 80))


@pytest.mark.parametrize("sigma", [1.25, 2.0, 2.75])
def test_recovers_the_gaussian_psf_of_a_simulated_pair(crop, sigma):
    lr, msi = simulate_pair(crop, 4, "sentinel2", psf_sigma=sigma)
    assert estimate_psf(_tensor(lr), _tensor(msi), 4) == Psf(sigma)


def test_auto_beats_the_nominal_psf_when_the_sensor_differs(crop):
    lr, msi = simulate_pair(crop, 4, "sentinel2", psf_sigma=2.75)
    ref = np.asarray(crop.data, dtype=np.float64)[:, :80, :80] / 1e4
    auto = fuse(lr, msi, method="glp")
    nominal = fuse(lr, msi, method="glp", psf_sigma=None)
    assert auto.metadata["psf_sigma"] == pytest.approx(2.75) and "psf_shift" not in auto.metadata
    assert nominal.metadata["psf_sigma"] == 2.0
    assert psnr(ref, auto.data / 1e4) > psnr(ref, nominal.data / 1e4) + 1.0


def test_a_pair_too_small_to_tell_gets_the_nominal_sigma():
    rng = np.random.default_rng(0)
    lr = torch.as_tensor(rng.random((200, 2, 2), dtype=np.float32))
    msi = torch.as_tensor(rng.random((4, 8, 8), dtype=np.float32))
    assert estimate_psf(lr, msi, 4) == Psf(2.0)


def test_a_tiny_real_pair_keeps_the_nominal_psf():
    # the whole Salinas-A sample at x8 is a 10×10 LR-HSI: 16 pixels inside the border, too
    # few to tell the kernels apart (the estimate was σ 6 shifted (-1, -1) and cost GLP 12 dB)
    lr, msi = simulate_pair(sample_cube(), 8, "sentinel2")
    assert lr.data.shape[1:] == (10, 10)
    assert estimate_psf(_tensor(lr), _tensor(msi), 8) == Psf(4.0)


@pytest.mark.parametrize("bad", ["sharp", 0.0, -1.0, float("nan")])
def test_bad_psf_sigma_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="psf_sigma"):
        psf_for(bad, None, None, 4)


@pytest.mark.parametrize("shift", [(-0.5, -0.5), (0.75, -0.25)])
def test_recovers_the_misregistration_of_a_shifted_psf(crop, shift):
    from hsi.srf import load_srf

    x = torch.as_tensor(np.asarray(crop_to_ratio(crop, 4).data, dtype=np.float32)) / 1e4
    lr = blur_decimate(x, Psf(1.5, shift), 4)
    matrix = torch.as_tensor(load_srf("sentinel2").matrix(crop.wavelengths), dtype=torch.float32)
    msi = spectral_response(x, matrix)
    assert estimate_psf(lr, msi, 4) == Psf(1.5, shift)


def test_glp_with_the_estimated_shift_beats_the_centred_psf(crop):
    from hsi.fusion.baselines import glp
    from hsi.srf import load_srf

    x = torch.as_tensor(np.asarray(crop_to_ratio(crop, 4).data, dtype=np.float32)) / 1e4
    lr = blur_decimate(x, Psf(1.5, (0.5, -0.5)), 4)
    msi = spectral_response(x, torch.as_tensor(load_srf("sentinel2").matrix(crop.wavelengths),
                                               dtype=torch.float32))
    psf = psf_for("auto", lr, msi, 4)
    shifted = psnr(x.numpy(), glp(lr, msi, 4, psf_sigma=psf).numpy())
    centred = psnr(x.numpy(), glp(lr, msi, 4, psf_sigma=psf.sigma).numpy())
    assert shifted > centred + 1.0


def test_psf_kernel_is_normalised_and_centred():
    k = Psf(1.0).kernel()
    assert k.shape == (7, 7) and float(k.sum()) == pytest.approx(1.0)
    assert torch.allclose(k, k.flip(0)) and torch.allclose(k, k.flip(1))
    s = Psf(1.0, (0.5, 0.0)).kernel()
    rows = torch.arange(s.shape[0], dtype=s.dtype) - s.shape[0] // 2
    assert float((s.sum(1) * rows).sum()) == pytest.approx(0.5, abs=1e-3)  # centre moved down
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(blur_decimate(x, Psf(2.0), 4), blur_decimate(x, 2.0, 4))
