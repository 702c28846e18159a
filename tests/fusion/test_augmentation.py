"""Realistic-protocol augmentation of INFN's training pairs."""

from __future__ import annotations

import numpy as np
from rasterio.windows import Window

from hsi.data import sample_cube
from hsi.fusion import Augmentation, InfnConfig, train_infn


def test_noise_reaches_the_drawn_snr():
    aug = Augmentation(lr_snr_db=(30.0, 30.0))
    cube = sample_cube().crop(Window(0, 0, 32, 32))
    noisy = aug.noisy(cube, np.random.default_rng(0))
    x = np.asarray(cube.data, dtype=np.float64)
    noise = np.asarray(noisy.data, dtype=np.float64) - x
    snr = 10 * np.log10(np.mean(x**2, axis=(1, 2)) / np.mean(noise**2, axis=(1, 2)))
    assert abs(snr.mean() - 30.0) < 0.1  # 1024 pixels a band: each within sampling error
    np.testing.assert_allclose(snr, 30.0, atol=1.0)


def test_sigma_stays_in_the_jitter_range():
    aug = Augmentation(sigma_jitter=0.25)
    rng = np.random.default_rng(1)
    sigmas = [aug.sigma(2.0, rng) for _ in range(200)]
    assert 1.5 <= min(sigmas) < 1.6 and 2.4 < max(sigmas) <= 2.5


def test_augmented_training_records_its_settings():
    cube = sample_cube().crop(Window(0, 0, 48, 48))
    config = InfnConfig(hidden=8, depth=1, patch=16, batch=2)
    model = train_infn([cube], srf="sentinel2", ratio=4, config=config, steps=2,
                       max_minutes=None, device="cpu", progress=False,
                       augment=Augmentation(realizations=2))
    assert model.meta["augmentation"]["realizations"] == 2
    assert len(model.meta["train_scales"]) == 2  # one pair per realization


def test_box_psf_is_drawn_at_its_probability_and_widths():
    aug = Augmentation(box_probability=0.25, box_widths=(3, 5))
    rng = np.random.default_rng(2)
    widths = [aug.box_width(rng) for _ in range(2000)]
    boxes = [w for w in widths if w is not None]
    assert abs(len(boxes) / 2000 - 0.25) < 0.03
    assert set(boxes) == {3, 5}
    assert Augmentation().box_width(rng) is None  # off by default


def test_box_realization_trains():
    cube = sample_cube().crop(Window(0, 0, 48, 48))
    config = InfnConfig(hidden=8, depth=1, patch=16, batch=2)
    model = train_infn([cube], srf="sentinel2", ratio=4, config=config, steps=2,
                       max_minutes=None, device="cpu", progress=False,
                       augment=Augmentation(realizations=1, box_probability=1.0))
    assert model.meta["augmentation"]["box_probability"] == 1.0


def test_perturbed_camera_moves_each_band_within_bounds():
    from hsi.degrade import load_srf

    nikon = load_srf("nikon_d700")
    wl = np.arange(400.0, 701.0, 10.0)
    aug = Augmentation(srf_shift_nm=15.0, srf_width_jitter=0.3)
    rng = np.random.default_rng(4)
    assert Augmentation().camera(nikon, rng, wl) is nikon  # off by default

    def centres(srf):
        w = np.asarray(srf.wavelengths)
        return (srf.curves * w).sum(1) / srf.curves.sum(1)

    moved = []
    for _ in range(20):
        cam = aug.camera(nikon, rng, wl)
        d = centres(cam) - centres(nikon)
        assert np.all(np.abs(d) <= 15.0 + 1.0)  # shift bound (+ interpolation)
        np.testing.assert_allclose(cam.matrix(wl).sum(1), 1.0, atol=1e-9)
        moved.append(np.abs(d).max())
    assert np.median(moved) > 3.0  # it does perturb



def test_clean_pairs_are_the_unaugmented_pairs():
    from hsi.degrade import load_srf
    from hsi.fusion.train import training_pairs

    cube = sample_cube().crop(Window(0, 0, 48, 48))
    srf = load_srf("sentinel2")
    plain = training_pairs(cube, 4, srf, None, None, np.random.default_rng(0), "cpu")
    aug = Augmentation(realizations=2, clean_pairs=1, box_probability=0.5, srf_shift_nm=10.0)
    mixed = training_pairs(cube, 4, srf, None, aug, np.random.default_rng(0), "cpu")
    assert len(plain) == 1 and len(mixed) == 3
    for a, b in zip(plain[0], mixed[2], strict=True):  # clean: nominal PSF, camera
        np.testing.assert_array_equal(a.data, b.data)
    for a, b in zip(plain[0], mixed[0], strict=True):  # an augmented pair differs
        assert not np.allclose(a.data, b.data)


def test_the_base_psf_is_estimated_from_each_pair_only_when_asked():
    from hsi.degrade import simulate_pair
    from hsi.fusion.train import base_psf

    cube = sample_cube().crop(Window(0, 0, 80, 80))
    lr, msi = simulate_pair(cube, 4, "sentinel2", 2.5)  # wider than the nominal σ = 2
    assert base_psf(lr, msi, 4, None, Augmentation()) is None
    estimated = base_psf(lr, msi, 4, None, Augmentation(estimated_base_psf=True))
    assert abs(estimated.sigma - 2.5) <= 0.15 and estimated.shift == (0.0, 0.0)


def test_misregistration_shifts_the_lr_psf_of_augmented_pairs_only():
    import torch

    from hsi.degrade import Psf, blur_decimate, crop_to_ratio
    from hsi.fusion.train import training_pairs

    cube = sample_cube().crop(Window(0, 0, 80, 80))
    quiet = dict(lr_snr_db=(200.0, 200.0), msi_snr_db=(200.0, 200.0), sigma_jitter=0.0)
    aug = Augmentation(realizations=1, clean_pairs=1, misregistration=1.0, **quiet)
    (lr, _), (clean, _) = training_pairs(cube, 4, "sentinel2", None, aug,
                                         np.random.default_rng(0), "cpu")
    x = torch.as_tensor(np.asarray(crop_to_ratio(cube, 4).data, dtype=np.float32))
    centred = blur_decimate(x, Psf(2.0), 4).numpy()
    np.testing.assert_allclose(clean.data, centred, rtol=1e-5)
    assert not np.allclose(lr.data, centred, rtol=1e-3)  # the augmented LR-HSI is shifted
    drawn = Augmentation(misregistration=1.0).psf(2.0, np.random.default_rng(0))
    assert drawn.sigma == 2.0 and all(abs(s) <= 1.0 for s in drawn.shift) and any(drawn.shift)


def test_the_model_input_is_denoised_only_when_asked():
    from hsi.fusion.train import model_input

    cube = sample_cube()  # 204 bands × 83 × 86: enough pixels for the denoiser
    clean = np.asarray(cube.data, dtype=np.float32)
    noisy = Augmentation(lr_snr_db=(25.0, 25.0)).noisy(cube, np.random.default_rng(2))
    assert model_input(noisy, Augmentation()) is noisy
    assert model_input(noisy, None) is noisy
    denoised = model_input(noisy, Augmentation(denoise_lr=True))
    err_noisy = np.mean((np.asarray(noisy.data) - clean) ** 2)
    err_denoised = np.mean((np.asarray(denoised.data) - clean) ** 2)
    assert err_denoised < 0.5 * err_noisy
