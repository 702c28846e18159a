"""hsi.metrics against independent computations on real data (science audit).

Every reference below is written here from the published formula (or from the MATLAB code of
the pansharpening toolbox of Vivone et al. for Q2n), with numpy/scipy only: never through a
hsikit helper. The real pair is the Salinas-A sample cube cropped to whole blocks of 4 and a
bicubic upsampling of its Wald-simulated ×4 LR-HSI (``simulate_pair(..., 4, "sentinel2")``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.ndimage
import torch
from skimage.metrics import structural_similarity

from hsi.errors import ConfigError
from hsi.metrics import ergas, psnr, q2n, rmse, sam, ssim
from tests.test_metrics import _onion_mult


@pytest.fixture(scope="module")
def real_pair():
    """(reference, estimate), float64 (204, 80, 84): Salinas-A and the bicubic ×4 upsampling
    of its simulated LR-HSI (PSNR about 44 dB, SAM about 1.6°)."""
    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair

    cube = sample_cube()
    lr, _ = simulate_pair(cube, 4, "sentinel2")
    ref = np.asarray(cube.data, dtype=np.float64)[:, :80, :84]
    low = torch.from_numpy(np.asarray(lr.data, dtype=np.float64))[None]
    est = torch.nn.functional.interpolate(low, scale_factor=4, mode="bicubic",
                                          align_corners=False)[0].numpy()
    return ref, est


# ===================================================================== formulas, transcribed
def psnr_reference(ref, est, peak=1.0):
    """Mean over bands of 10·log10(peak² / MSE_b) (the MHIF papers' convention)."""
    mse = ((ref - est) ** 2).reshape(ref.shape[0], -1).mean(axis=1)
    return float(np.mean(10.0 * np.log10(peak**2 / mse)))


def sam_reference(ref, est):
    """Mean over pixels of arccos(<a, b> / (|a| |b|)), degrees; zero-norm pixels skipped."""
    a, b = ref.reshape(ref.shape[0], -1), est.reshape(est.shape[0], -1)
    norms = np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0)
    keep = norms > 0
    cos = (a * b).sum(axis=0)[keep] / norms[keep]
    return float(np.degrees(np.mean(np.arccos(np.clip(cos, -1.0, 1.0)))))


def ergas_reference(ref, est, ratio):
    """Wald (2002): 100 · (h / l) · sqrt(mean_b(RMSE_b² / μ_b²)), h / l = 1 / ratio, μ_b the
    reference band's mean."""
    b = ref.shape[0]
    mse = ((ref - est) ** 2).reshape(b, -1).mean(axis=1)
    mu = ref.reshape(b, -1).mean(axis=1)
    return float(100.0 * (1.0 / ratio) * np.sqrt(np.mean(mse / mu**2)))


def ssim_reference(x, y, data_range=1.0):
    """Wang et al. (2004), ``ssim_index.m``: 11×11 Gaussian window σ = 1.5 (normalised), K1 =
    0.01, K2 = 0.03, population moments, mean of the map over the 'valid' region."""
    t = np.arange(11) - 5
    g = np.exp(-(t**2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def filt(z):
        return scipy.ndimage.correlate(z, w, mode="constant")[5:-5, 5:-5]  # valid part only

    mx, my = filt(x), filt(y)
    sxx, syy, sxy = filt(x * x) - mx**2, filt(y * y) - my**2, filt(x * y) - mx * my
    smap = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return float(smap.mean())


# the toolbox's onion_mult.m, transcribed once (tests/test_metrics.py)
onion_mult = _onion_mult


def onions_quality(dat1, dat2, size):
    """``onions_quality.m`` of the toolbox (with ``norm_blocco.m``), bands on axis 0."""
    dat1, dat2 = dat1.astype(np.float64).copy(), dat2.astype(np.float64).copy()
    dat2[1:] = -dat2[1:]
    n3 = dat1.shape[0]
    for i in range(n3):
        s, t = dat1[i].mean(), dat1[i].std(ddof=1)  # mean2, std2
        t = np.finfo(np.float64).eps if t == 0 else t
        dat1[i] = (dat1[i] - s) / t + 1
        if s == 0:
            dat2[i] = dat2[i] - s + 1 if i == 0 else -(-dat2[i] - s + 1)
        else:
            dat2[i] = (dat2[i] - s) / t + 1 if i == 0 else -((-dat2[i] - s) / t + 1)
    m1, m2 = dat1.mean(axis=(1, 2)), dat2.mean(axis=(1, 2))
    mod_q1m, mod_q2m = math.sqrt((m1**2).sum()), math.sqrt((m2**2).sum())
    mod_q1, mod_q2 = np.sqrt((dat1**2).sum(0)), np.sqrt((dat2**2).sum(0))
    k = size * size / (size * size - 1)
    termine2, termine4 = mod_q1m * mod_q2m, mod_q1m**2 + mod_q2m**2
    termine3 = k * np.mean(mod_q1**2) + k * np.mean(mod_q2**2) - k * termine4
    mean_bias = 2 * termine2 / termine4
    if termine3 == 0:
        q = np.zeros(n3)
        q[-1] = mean_bias
        return q
    qv = k * onion_mult(dat1, dat2).mean(axis=(1, 2))
    return (qv - k * onion_mult(m1, m2)) * mean_bias * 2 / termine3


def q2n_reference(gt, f, block=32, shift=32):
    """``q2n.m`` of the toolbox: symmetric padding to whole blocks (every band), bands
    zero-padded to a power of 2, |q| per block, mean over blocks. Without its uint16 cast."""
    n3, n1, n2 = gt.shape
    stepx, stepy = math.ceil(n1 / shift), math.ceil(n2 / shift)
    est1, est2 = (stepx - 1) * shift + block - n1, (stepy - 1) * shift + block - n2

    def pad(x):  # ia1(:, N2+1:N2+est2) = ia1(:, N2:-1:N2-est2+1), then the rows
        out = np.zeros((n3, n1 + est1, n2 + est2))
        out[:, :n1, :n2] = x
        out[:, :, n2:] = out[:, :, n2 - 1::-1][:, :, :est2]
        out[:, n1:, :] = out[:, n1 - 1::-1, :][:, :est1, :]
        return out

    if est1 or est2:
        gt, f = pad(gt), pad(f)
    n = 2 ** math.ceil(math.log2(n3))
    if n > n3:
        zeros = np.zeros((n - n3, *gt.shape[1:]))
        gt, f = np.concatenate([gt, zeros]), np.concatenate([f, zeros])
    values = [np.sqrt((onions_quality(gt[:, j:j + block, i:i + block],
                                      f[:, j:j + block, i:i + block], block) ** 2).sum())
              for j in range(0, stepx * shift, shift) for i in range(0, stepy * shift, shift)]
    return float(np.mean(values))


# ======================================================================== real-data checks
def test_psnr_rmse_sam_ergas_match_the_formulas_on_real_data(real_pair):
    ref, est = real_pair
    assert psnr(ref, est) == pytest.approx(psnr_reference(ref, est), abs=1e-10)
    top = float(ref.max())  # the "peak = max of the reference" convention, passed explicitly
    assert psnr(ref, est, peak=top) == pytest.approx(psnr_reference(ref, est, top), abs=1e-10)
    assert rmse(ref, est) == pytest.approx(float(np.sqrt(np.mean((ref - est) ** 2))),
                                           rel=1e-12)
    assert sam(ref, est) == pytest.approx(sam_reference(ref, est), abs=1e-9)
    for ratio in (2, 4, 8):
        assert ergas(ref, est, ratio) == pytest.approx(ergas_reference(ref, est, ratio),
                                                       rel=1e-12)


def test_ssim_matches_wang_et_al_and_skimage_on_real_data(real_pair):
    ref, est = real_pair
    bands = slice(0, None, 17)  # 12 bands over the whole range keep the test fast
    r, e = ref[bands], est[bands]
    wang = np.mean([ssim_reference(a, b) for a, b in zip(r, e, strict=True)])
    sk = np.mean([structural_similarity(a, b, data_range=1.0, gaussian_weights=True,
                                        sigma=1.5, use_sample_covariance=False)
                  for a, b in zip(r, e, strict=True)])
    assert ssim(r, e) == pytest.approx(wang, abs=1e-12)
    assert ssim(r, e) == pytest.approx(sk, abs=1e-12)
    assert ssim(r * 1e4, e * 1e4, peak=1e4) == pytest.approx(wang, abs=1e-12)


def test_q2n_matches_the_toolbox_on_real_data(real_pair):
    ref, est = real_pair
    # 80 × 84 is no multiple of 32: padded by mirroring to 96 × 96 (9 blocks); 24 bands are
    # zero-padded to 32 components. A 5-band case checks the padding to 8.
    r, e = ref[::9][:24], est[::9][:24]
    assert q2n(r, e) == pytest.approx(q2n_reference(r, e), abs=1e-12)
    assert q2n(r[:5, :40, :50], e[:5, :40, :50], block=16) == pytest.approx(
        q2n_reference(r[:5, :40, :50], e[:5, :40, :50], 16, 16), abs=1e-12)


# =============================================================================== hand cases
def test_psnr_is_the_mean_of_per_band_psnrs_not_a_global_psnr():
    ref = np.zeros((2, 4, 4))
    est = ref.copy()
    est[0] += 0.1   # MSE 1e-2 -> 20 dB
    est[1] += 0.01  # MSE 1e-4 -> 40 dB
    assert psnr(ref, est) == pytest.approx(30.0, abs=1e-12)
    # a global PSNR would be 10·log10(1 / 5.05e-3) = 22.97 dB
    assert psnr(ref, est) != pytest.approx(10 * np.log10(1 / 5.05e-3), abs=1e-3)
    assert psnr(ref, est, peak=2.0) == pytest.approx(30.0 + 20 * np.log10(2.0), abs=1e-12)


def test_sam_hand_cases():
    ref = np.zeros((2, 1, 3))
    est = np.zeros((2, 1, 3))
    ref[:, 0, 0], est[:, 0, 0] = (1, 0), (1, 1)      # 45°
    ref[:, 0, 1], est[:, 0, 1] = (0, 2), (3, 0)      # 90°
    ref[:, 0, 2], est[:, 0, 2] = (1, 1), (0, 0)      # zero-norm estimate: skipped
    assert sam(ref, est) == pytest.approx(67.5, abs=1e-12)


def test_ergas_hand_case_and_ratio_convention():
    ref = np.full((2, 4, 4), 0.5)
    est = ref.copy()
    est[0] += 0.05  # RMSE / μ = 0.1
    # 100 / ratio · sqrt((0.1² + 0²) / 2), i.e. Wald's 100 · h/l with h/l = 1/4
    assert ergas(ref, est, 4) == pytest.approx(25.0 * 0.1 / math.sqrt(2), rel=1e-12)
    assert ergas(ref, est, 4) == pytest.approx(ergas(ref, est, 2) / 2, rel=1e-12)


def test_q2n_identical_is_one_and_a_contrast_change_gives_2a_over_1_plus_a2(real_pair):
    ref = real_pair[0][:13, :64, :64]
    assert q2n(ref, ref) == pytest.approx(1.0, abs=1e-12)
    # in each 32 × 32 block, every band stretched by a about its block mean: the means and
    # the correlation are kept, the hypercomplex contrast term is 2a / (1 + a²)
    a = 2.0
    blocks = ref.reshape(13, 2, 32, 2, 32)
    mu = blocks.mean(axis=(2, 4), keepdims=True)
    est = (mu + a * (blocks - mu)).reshape(ref.shape)
    assert q2n(ref, est) == pytest.approx(2 * a / (1 + a**2), abs=1e-12)
    assert q2n_reference(ref, est) == pytest.approx(2 * a / (1 + a**2), abs=1e-12)


def test_constant_bands():
    c = np.full((3, 16, 16), 0.5)
    assert psnr(c, c) == math.inf          # zero error: inf, stated in the docstring
    assert psnr(c, c + 0.1) == pytest.approx(20.0, abs=1e-12)
    assert ssim(c, c) == pytest.approx(1.0, abs=1e-12)  # C1, C2 > 0: no division by zero
    assert ssim(c, c + 0.1) == pytest.approx(
        ssim_reference(c[0], c[0] + 0.1), abs=1e-12)
    assert q2n(c, c) == pytest.approx(1.0, abs=1e-12)
    assert ergas(c * 0, c * 0, 4) == 0.0 and ergas(c * 0, c * 0 + 0.1, 4) == math.inf


# ===================================================================== bugs found in the audit
def test_sam_leaves_out_infinite_pixels_like_the_other_means():
    """Was NaN (with a RuntimeWarning): an infinite value gave inf / inf in the unit vector,
    though the module promises that non-finite pixels are left out of SAM's mean."""
    rng = np.random.default_rng(0)
    ref = rng.random((4, 20, 20))
    est = ref + 0.01 * rng.standard_normal(ref.shape)
    for bad in (np.inf, -np.inf, np.nan):
        holed = est.copy()
        holed[1, 3, 4] = bad
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = sam(ref, holed)
        keep = np.ones((20, 20), bool)
        keep[3, 4] = False
        assert got == pytest.approx(sam_reference(ref[:, keep][:, :, None],
                                                  est[:, keep][:, :, None]), abs=1e-10)


def test_ssim_with_an_infinite_pixel_equals_the_nan_case_without_overflow():
    """An infinite value went through ``np.nan_to_num`` as ±1.8e308 and overflowed inside
    skimage's filters (RuntimeWarnings; the window around it was excluded anyway)."""
    rng = np.random.default_rng(1)
    ref = rng.random((3, 30, 30))
    est = ref + 0.01 * rng.standard_normal(ref.shape)
    nan_case = est.copy()
    nan_case[0, 15, 15] = np.nan
    inf_case = est.copy()
    inf_case[0, 15, 15] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = ssim(ref, inf_case)
    assert got == ssim(ref, nan_case)


@pytest.mark.parametrize("peak", [0.0, -1.0, float("nan"), float("inf")])
def test_psnr_and_ssim_refuse_a_peak_that_is_not_positive(peak):
    """peak = 0 gave PSNR −inf, a negative peak the score of its absolute value, NaN a NaN."""
    ref = np.random.default_rng(2).random((2, 16, 16))
    for fn in (psnr, ssim):
        with pytest.raises(ConfigError, match="peak"):
            fn(ref, ref * 0.9, peak=peak)


def test_metrics_take_cubes_and_name_a_non_numeric_input():
    from hsi.cube import Cube

    ref = np.random.default_rng(0).random((3, 16, 16))
    est = ref + 0.01
    assert psnr(Cube(ref), Cube(est)) == pytest.approx(psnr(ref, est))
    with pytest.raises(TypeError, match=r"^estimate: expected a numeric array"):
        psnr(ref, "fused.tif")
