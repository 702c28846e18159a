"""The sensor PSF estimated from the pair (``psf_sigma="auto"``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rasterio.windows import Window

from hsi.data import sample_cube
from hsi.degrade import simulate_pair
from hsi.errors import ConfigError
from hsi.fusion import fuse
from hsi.fusion.psf import estimate_psf_sigma, psf_sigma_for
from hsi.metrics import psnr


def _tensor(cube) -> torch.Tensor:
    return torch.as_tensor(np.asarray(cube.data, dtype=np.float32))


@pytest.fixture(scope="module")
def crop():
    return sample_cube().crop(Window(0, 0, 80, 80))


@pytest.mark.parametrize("sigma", [1.25, 2.0, 2.75])
def test_recovers_the_gaussian_psf_of_a_simulated_pair(crop, sigma):
    lr, msi = simulate_pair(crop, 4, "sentinel2", psf_sigma=sigma)
    assert estimate_psf_sigma(_tensor(lr), _tensor(msi), 4) == pytest.approx(sigma)


def test_auto_beats_the_nominal_psf_when_the_sensor_differs(crop):
    lr, msi = simulate_pair(crop, 4, "sentinel2", psf_sigma=2.75)
    ref = np.asarray(crop.data, dtype=np.float64)[:, :80, :80] / 1e4
    auto = fuse(lr, msi, method="glp")
    nominal = fuse(lr, msi, method="glp", psf_sigma=None)
    assert auto.metadata["psf_sigma"] == pytest.approx(2.75)
    assert nominal.metadata["psf_sigma"] == 2.0
    assert psnr(ref, auto.data / 1e4) > psnr(ref, nominal.data / 1e4) + 1.0


def test_a_pair_too_small_to_tell_gets_the_nominal_sigma():
    rng = np.random.default_rng(0)
    lr = torch.as_tensor(rng.random((200, 2, 2), dtype=np.float32))
    msi = torch.as_tensor(rng.random((4, 8, 8), dtype=np.float32))
    assert estimate_psf_sigma(lr, msi, 4) == 2.0


@pytest.mark.parametrize("bad", ["sharp", 0.0, -1.0, float("nan")])
def test_bad_psf_sigma_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="psf_sigma"):
        psf_sigma_for(bad, None, None, 4)
