"""Scene fitting: the reduced pair is as noisy as the given one; the best candidate is kept."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rasterio.windows import Window

from hsi.data import sample_cube
from hsi.fusion import InfnConfig
from hsi.fusion.denoise import noise_sigmas
from hsi.fusion.fit import reduced_pair, with_matched_noise
from hsi.fusion.gate import keep_if_better, reprojection_psnr, strip_psnr
from hsi.fusion.infn import INFN
from hsi.fusion.train import make_scene


def _real_crop() -> torch.Tensor:
    cube = sample_cube().crop(Window(0, 0, 64, 64))
    x = np.asarray(cube.data, dtype=np.float32)
    return torch.as_tensor(x / x.max())


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


def test_a_fine_tuning_that_loses_on_the_strip_returns_the_start_weights():
    clean = _real_crop()
    # 4 bands of the crop, on a grid 4x finer, stand in for the HR-MSI
    msi = clean[::40][:4].repeat_interleave(4, -1).repeat_interleave(4, -2)
    target, lr_r, msi_r = reduced_pair(clean, msi, ratio=4)
    strip = make_scene(target, lr_r, msi_r, 4, "glp", "cpu")
    torch.manual_seed(0)
    model = INFN(InfnConfig(hsi_bands=clean.shape[0], msi_bands=4, ratios=(4,))).eval()
    with torch.no_grad():
        for p in model.head.parameters():
            p.normal_(0.0, 1e-3)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.head.parameters():
            p.normal_(0.0, 0.05)  # "fitting" that went wrong
    report = keep_if_better(model, [strip], 4, start)
    assert report["psnr_model"] < report["psnr_start"]
    assert report["result"] == "start" and not report["kept"]
    for k, v in model.state_dict().items():
        assert torch.equal(v, start[k]), k
    assert strip_psnr(model, [strip], 4)[0] == pytest.approx(report["psnr_start"], abs=2e-3)


def _pair_and_model(head_std: float):
    clean = _real_crop()
    msi = clean[::40][:4].repeat_interleave(4, -1).repeat_interleave(4, -2)
    torch.manual_seed(0)
    model = INFN(InfnConfig(hsi_bands=clean.shape[0], msi_bands=4, ratios=(4,))).eval()
    with torch.no_grad():
        for p in model.head.parameters():
            p.normal_(0.0, head_std) if head_std else p.zero_()
    return clean, msi, model


def test_a_model_that_fails_the_full_scale_check_is_replaced_by_the_base_image():
    clean, msi, model = _pair_and_model(0.05)  # a residual of noise: worse at full scale
    psnr_model, psnr_base = reprojection_psnr(model, [(clean, msi)], 4)
    assert psnr_model < psnr_base - 1.0
    # no strip: only the full-scale check decides
    report = keep_if_better(model, [], 4, given=[(clean, msi)])
    assert report["result"] == "base" and not report["kept"]
    assert report["reprojection"]["fitted"] == pytest.approx(psnr_model, abs=1e-3)
    assert not model.head.weight.any() and not model.head.bias.any()


def test_a_model_no_worse_than_its_base_at_full_scale_is_kept():
    clean, msi, model = _pair_and_model(0.0)  # the base image itself
    psnr_model, psnr_base = reprojection_psnr(model, [(clean, msi)], 4)
    assert psnr_model == pytest.approx(psnr_base, abs=1e-4)
    assert keep_if_better(model, [], 4, given=[(clean, msi)])["result"] == "fitted"


def test_a_fine_tuning_that_fails_the_full_scale_check_returns_the_start_weights():
    clean, msi, model = _pair_and_model(0.0)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.head.parameters():
            p.normal_(0.0, 0.05)
    report = keep_if_better(model, [], 4, start, given=[(clean, msi)])
    assert report["result"] == "start"
    assert report["reprojection"]["fitted"] < report["reprojection"]["start"]
    for k, v in model.state_dict().items():
        assert torch.equal(v, start[k]), k


def test_the_full_scale_check_sees_the_missing_data(monkeypatch):
    """fit_scene hands keep_if_better the pair as given, NaN kept, so that its reprojection
    check leaves the pixels near missing data out (read as 0 they counted as errors)."""
    import hsi.fusion.fit as fit
    from hsi.degrade import simulate_pair

    lr, msi = simulate_pair(sample_cube(), 4, "sentinel2")
    holed = np.asarray(lr.data).copy()
    holed[:, 5:8, 5:8] = np.nan
    seen = []
    real = fit.keep_if_better

    def spy(model, held_back, ratio, start=None, *, given=None, psf_sigma=None):
        seen.extend(given)
        return real(model, held_back, ratio, start, given=given, psf_sigma=psf_sigma)

    monkeypatch.setattr(fit, "keep_if_better", spy)
    fit.fit_scene(lr.with_data(holed), msi, ratio=4, steps=2, device="cpu", progress=False,
                  config=InfnConfig(hidden=8, depth=1, base_features=4))
    ((lr_given, _),) = seen
    assert torch.isnan(lr_given[:, 5:8, 5:8]).all()
    assert int(torch.isnan(lr_given).sum()) == 9 * lr.bands


def test_clean_corners_are_those_of_all_clean_windows():
    from hsi.fusion.train import _clean_corners

    clean = torch.ones(5, 6, dtype=torch.bool)
    clean[2, 3] = False
    corners = {tuple(c) for c in _clean_corners(clean, 2)}
    every = {(i, j) for i in range(4) for j in range(5)}
    assert corners == every - {(1, 2), (1, 3), (2, 2), (2, 3)}


def test_reduced_pixels_near_missing_data_are_not_clean():
    from hsi.fusion.fit import clean_reduced_pixels

    lr = _real_crop()[:, :32, :32]  # LR 32², MSI 128² at x4 (any bands will do)
    msi = torch.zeros(3, 128, 128)
    assert clean_reduced_pixels(lr, msi, 4) is None
    lr[:, 13, 13] = float("nan")  # reduced LR pixel (3, 3)
    clean = clean_reduced_pixels(lr, msi, 4)
    # the PSF (σ = 2, 13 px wide) carries target pixel 13 into the reduced LR-HSI's pixels
    # 1-4 (target 7-19); two more around them: reduced rows and columns 0-6 are out
    expected = torch.ones(8, 8, dtype=torch.bool)
    expected[:7, :7] = False
    assert torch.equal(clean, expected)


def test_the_sampler_draws_only_clean_patches():
    from hsi.fusion.train import PatchSampler, TrainScene

    lr = torch.rand(2, 16, 16)
    lr[:, 6:9, 6:9] = float("nan")  # patches over these LR pixels would carry NaN
    clean = ~torch.isnan(lr).any(0)
    hr = torch.rand(2, 64, 64)
    scene = TrainScene(hr, lr, hr, hr, clean=clean)
    batch = PatchSampler([scene], 4, 16, seed=0).batch(300)
    assert not torch.isnan(batch[1]).any()
    free = PatchSampler([TrainScene(hr, lr, hr, hr)], 4, 16, seed=0).batch(300)
    assert torch.isnan(free[1]).any()  # without the mask they would


def test_a_scene_with_no_clean_patch_is_sampled_everywhere():
    from hsi.fusion.train import PatchSampler, TrainScene

    lr, hr = torch.rand(2, 8, 8), torch.rand(2, 32, 32)
    scene = TrainScene(hr, lr, hr, hr, clean=torch.zeros(8, 8, dtype=torch.bool))
    sampler = PatchSampler([scene], 4, 16, seed=0)
    assert sampler.corners == [None] and sampler.batch(4)[1].shape == (4, 2, 4, 4)
