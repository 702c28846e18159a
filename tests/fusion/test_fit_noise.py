"""Scene fitting's reduced pair is made as noisy as the given pair."""

from __future__ import annotations

import numpy as np
import torch
from rasterio.windows import Window

from hsi.data import sample_cube
from hsi.fusion.fit import noise_sigmas, reduced_pair, with_matched_noise


def _real_crop() -> torch.Tensor:
    cube = sample_cube().crop(Window(0, 0, 64, 64))
    x = np.asarray(cube.data, dtype=np.float32)
    return torch.as_tensor(x / x.max())


def test_noise_sigmas_recover_white_noise_on_a_real_crop():
    clean = _real_crop()
    g = torch.Generator().manual_seed(0)
    noisy = clean + 0.02 * torch.randn(clean.shape, generator=g)
    est = noise_sigmas(noisy)
    assert est.shape == (clean.shape[0],)
    np.testing.assert_allclose(np.median(est), 0.02, rtol=0.15)


def test_reduced_input_gets_the_given_noise_level():
    clean = _real_crop()
    g = torch.Generator().manual_seed(1)
    given = clean + 0.02 * torch.randn(clean.shape, generator=g)
    target, lr_r, _ = reduced_pair(given, given, ratio=4)
    assert np.median(noise_sigmas(lr_r)) < 0.01  # degrading averaged the noise away
    matched = with_matched_noise(lr_r, target, torch.Generator().manual_seed(2))
    # on a 16x16 band the estimator is rough; over all bands the level is the given one
    np.testing.assert_allclose(np.median(noise_sigmas(matched)), 0.02, rtol=0.25)


def test_noise_free_input_is_left_almost_unchanged():
    clean = _real_crop()
    target, lr_r, _ = reduced_pair(clean, clean, ratio=4)
    matched = with_matched_noise(lr_r, target, torch.Generator().manual_seed(3))
    added = (matched - lr_r).std().item()
    assert added < 0.2 * 0.02  # far below the noisy case's level
