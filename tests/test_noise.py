"""Noise estimation (hsi.noise) and the noise-matched reduced pair of scene fitting."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hsi.data import sample_cube
from hsi.errors import ShapeError
from hsi.noise import band_noise_sigma, regression_noise_sigma, wavelet_noise_sigma


def _real_crop() -> np.ndarray:
    from hsi.degrade import normalize_reflectance

    cube, _ = normalize_reflectance(sample_cube())
    return np.asarray(cube.data, dtype=np.float64)[:, :96, :96]


def test_noise_added_to_a_real_cube_is_recovered():
    x = _real_crop()
    rng = np.random.default_rng(0)
    sigma = np.linspace(0.005, 0.02, x.shape[0])
    noisy = x + sigma[:, None, None] * rng.standard_normal(x.shape)
    est = band_noise_sigma(noisy)
    ratio = est / sigma  # an upper bound by design (the cube's own noise adds to it)
    assert np.all(ratio > 0.9) and abs(np.median(ratio) - 1) < 0.05
    assert np.percentile(ratio, 95) < 1.1


def test_each_estimate_bounds_the_noise_from_above():
    x = _real_crop()
    noisy = x + 0.01 * np.random.default_rng(1).standard_normal(x.shape)
    for estimate in (regression_noise_sigma, wavelet_noise_sigma):
        assert np.median(estimate(noisy)) > 0.009


def test_real_cube_reads_its_own_low_noise():
    x = _real_crop()  # AVIRIS: most bands well above 30 dB SNR, the water bands far below
    snr_db = 20 * np.log10(np.sqrt(np.mean(x**2, axis=(1, 2))) / band_noise_sigma(x))
    assert np.median(snr_db) > 30


def test_bad_shape_is_a_shape_error():
    with pytest.raises(ShapeError):
        band_noise_sigma(np.zeros((4, 4)))


def test_reduced_pair_keeps_the_given_noise_level():
    from hsi.degrade import simulate_pair
    from hsi.fusion.fit import noise_kept, reduced_pair

    ref = sample_cube()
    lr, msi = simulate_pair(ref, 2, "sentinel2")
    rng = np.random.default_rng(2)
    lr_t = torch.as_tensor(np.asarray(lr.data, np.float32))
    msi_t = torch.as_tensor(np.asarray(msi.data, np.float32))
    sigma = 0.02 * float(lr_t.abs().mean())
    noisy = lr_t + sigma * torch.as_tensor(rng.standard_normal(lr_t.shape), dtype=torch.float32)
    _, plain, _ = reduced_pair(noisy, msi_t, 2)
    _, matched, _ = reduced_pair(noisy, msi_t, 2, match_noise=True, seed=3)
    assert np.median(band_noise_sigma(plain.numpy())) < 0.6 * sigma  # the blur removed most
    assert np.median(band_noise_sigma(matched.numpy())) == pytest.approx(sigma, rel=0.3)
    # the blur's share of white noise: sqrt(sum k^2), checked on noise itself
    from hsi.degrade import wald_degradation

    gen = torch.Generator().manual_seed(0)
    white = torch.randn(1, 512, 512, dtype=torch.float64, generator=gen)

    measured = float(wald_degradation(4, 2.0)(white).std())
    assert noise_kept(4, 2.0) == pytest.approx(measured, rel=0.05)
