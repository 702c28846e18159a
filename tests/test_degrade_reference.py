"""hsi.degrade against independent computations on real data (science audit).

The references are written here with numpy/scipy from the definitions: a sampled Gaussian PSF
of σ HR pixels on ±ceil(3σ) normalised to 1, a mirrored border (the edge sample not repeated:
kornia's and numpy's "reflect", scipy's "mirror"), the LR pixel ``(i, j)`` at the centre
``(i·r + (r−1)/2, j·r + (r−1)/2)`` of its ``r × r`` block (one HR sample for an odd ratio, the
mean of the central 2 × 2 for an even one), and Gaussian spectral responses from the published
band table sampled at the cube's band centres. Never through a hsikit helper.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.ndimage
import torch

from hsi.degrade import (
    Psf,
    banded_product,
    blur_decimate,
    decimate,
    gaussian_blur_decimate,
    gaussian_psf,
    gaussian_psf_kernel,
    kernel_blur_decimate,
    simulate_pair,
    spectral_response,
    wald_degradation,
)
from hsi.srf_presets import LANDSAT8_BANDS, SENTINEL2_L2A_BANDS


@pytest.fixture(scope="module")
def salinas():
    from hsi.data import sample_cube

    return sample_cube()


def gaussian_taps(sigma):
    r = math.ceil(3 * sigma)
    t = np.arange(-r, r + 1)
    g = np.exp(-(t**2) / (2 * sigma**2))
    return g / g.sum()


def blur_reference(x, sigma):
    g = gaussian_taps(sigma)
    out = scipy.ndimage.correlate1d(np.asarray(x, np.float64), g, axis=-1, mode="mirror")
    return scipy.ndimage.correlate1d(out, g, axis=-2, mode="mirror")


def decimate_reference(x, r):
    """Each LR pixel from the HR samples nearest its block's centre (i·r + (r − 1)/2)."""
    h, w = x.shape[-2] // r, x.shape[-1] // r
    out = np.empty((*x.shape[:-2], h, w))
    for i in range(h):
        for j in range(w):
            ci, cj = i * r + (r - 1) / 2, j * r + (r - 1) / 2
            rows = sorted({math.floor(ci), math.ceil(ci)})
            cols = sorted({math.floor(cj), math.ceil(cj)})
            out[..., i, j] = x[..., rows, :][..., cols].mean(axis=(-2, -1))
    return out


def gaussian_srf_matrix(bands, wavelengths):
    """Rows: each band's Gaussian (FWHM → σ) at the cube's band centres, normalised to sum 1."""
    wl = np.asarray(wavelengths, np.float64)
    rows = [np.exp(-0.5 * ((wl - c) / (f / (2 * math.sqrt(2 * math.log(2))))) ** 2)
            for _, c, f in bands]
    m = np.stack(rows)
    return m / m.sum(axis=1, keepdims=True)


# ============================================================================ PSF, decimation
@pytest.mark.parametrize("sigma", [0.5, 1.0, 1.5, 2.0, 2.7])
def test_psf_kernel_is_the_normalised_sampled_gaussian(sigma):
    k = gaussian_psf_kernel(sigma, dtype=torch.float64).numpy()
    g = gaussian_taps(sigma)
    assert k.shape == (2 * math.ceil(3 * sigma) + 1,) * 2
    np.testing.assert_allclose(k, np.outer(g, g), rtol=0, atol=1e-15)
    assert k.sum() == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("ratio", [2, 3, 4, 5, 6])
def test_blur_and_decimation_match_the_definitions(ratio):
    x = np.random.default_rng(ratio).random((3, 37, 41))  # no multiple of any ratio
    t = torch.from_numpy(x)
    np.testing.assert_allclose(decimate(t, ratio).numpy(), decimate_reference(x, ratio),
                               rtol=0, atol=1e-15)
    for sigma in (ratio / 2, 1.3):
        blurred = blur_reference(x, sigma)
        np.testing.assert_allclose(gaussian_psf(t, sigma).numpy(), blurred, rtol=0, atol=1e-14)
        expected = decimate_reference(blurred, ratio)
        np.testing.assert_allclose(gaussian_blur_decimate(t, sigma, ratio).numpy(), expected,
                                   rtol=0, atol=1e-14)
        np.testing.assert_allclose(blur_decimate(t, sigma, ratio).numpy(), expected,
                                   rtol=0, atol=1e-14)
    np.testing.assert_allclose(wald_degradation(ratio)(t).numpy(),
                               decimate_reference(blur_reference(x, ratio / 2), ratio),
                               rtol=0, atol=1e-14)


@pytest.mark.parametrize("ratio", [2, 3, 4, 5])
def test_an_lr_pixel_sits_on_its_block_centre(ratio):
    """A ramp (value = HR column index) is kept by a symmetric blur away from the border: the
    LR pixel j reads column j·r + (r − 1)/2, for odd and even ratios alike."""
    x = torch.arange(60, dtype=torch.float64).expand(1, 30, 60).contiguous()
    out = gaussian_blur_decimate(x, ratio / 2, ratio)[0, 0].numpy()
    j = np.arange(out.size)
    inside = (j * ratio >= 3 * ratio) & ((j + 1) * ratio <= 60 - 3 * ratio)
    np.testing.assert_allclose(out[inside], (j * ratio + (ratio - 1) / 2)[inside], atol=1e-12)


# ================================================================================ real data
@pytest.mark.parametrize(("ratio", "sigma"), [(4, None), (3, None), (5, 1.3)])
def test_simulate_pair_lr_is_blur_then_decimate_of_the_cropped_cube(salinas, ratio, sigma):
    lr, _ = simulate_pair(salinas, ratio, "sentinel2", psf_sigma=sigma)
    h, w = (salinas.height // ratio) * ratio, (salinas.width // ratio) * ratio
    ref = np.asarray(salinas.data, np.float64)[:, :h, :w]
    expected = decimate_reference(blur_reference(ref, ratio / 2 if sigma is None else sigma),
                                  ratio)
    assert lr.shape == expected.shape
    np.testing.assert_allclose(lr.data, expected, rtol=0, atol=1e-6)  # float32 computation


@pytest.mark.parametrize(("preset", "bands"), [("sentinel2", SENTINEL2_L2A_BANDS),
                                               ("landsat8", LANDSAT8_BANDS)])
def test_simulate_pair_msi_is_the_srf_weighted_mean_of_the_band_samples(salinas, preset,
                                                                        bands):
    _, hr = simulate_pair(salinas, 4, preset)
    ref = np.asarray(salinas.data, np.float64)[:, :80, :84]
    m = gaussian_srf_matrix(bands, salinas.wavelengths)
    # SRF.gaussian tabulates each curve at 1 nm (or FWHM/10) and samples it linearly: weights
    # within 0.1 % of the exact Gaussian's (measured 9e-5 in reflectance)
    np.testing.assert_allclose(hr.data, np.einsum("mc,chw->mhw", m, ref), rtol=0, atol=2e-4)
    flat = salinas.with_data(np.full(salinas.shape, 0.25, np.float32))
    _, flat_msi = simulate_pair(flat, 4, preset)
    np.testing.assert_allclose(flat_msi.data, 0.25, rtol=1e-6)  # a flat spectrum stays flat


def test_spectral_weights_are_the_response_at_band_centres_whatever_the_spacing():
    """The documented convention: no Δλ quadrature weights, so a near-duplicate band (AVIRIS
    spectrometer overlaps) counts twice and a band next to a removed interval once."""
    from hsi.srf import SRF

    srf = SRF.gaussian([510.0], [20.0], step_nm=0.05)
    wl = np.array([480.0, 500.0, 500.02, 530.0, 600.0])
    g = np.exp(-0.5 * ((wl - 510.0) / (20.0 / (2 * math.sqrt(2 * math.log(2))))) ** 2)
    np.testing.assert_allclose(srf.matrix(wl)[0], g / g.sum(), rtol=1e-5, atol=1e-9)
    x = torch.from_numpy(np.linspace(0.1, 0.5, 5)[:, None, None])
    np.testing.assert_allclose(spectral_response(x, srf.matrix(wl)).numpy()[0, 0, 0],
                               (g / g.sum()) @ np.linspace(0.1, 0.5, 5), rtol=1e-5)


# ===================================================================== bugs found in the audit
def _nan_count_reference(x, sigma, ratio):
    return int(np.isnan(decimate_reference(blur_reference(x, sigma), ratio)).sum())


def test_one_missing_pixel_stays_local_through_blur_and_decimation():
    """One NaN HR pixel made every LR pixel of a 64-sample block NaN (4096 of 64 × 64, where
    blurring then decimating gives 16): the banded operator multiplied it by its zero taps."""
    x = np.random.default_rng(0).random((2, 256, 256))
    x[0, 100, 100] = np.nan
    t = torch.from_numpy(x)
    expected = decimate_reference(blur_reference(x, 2.0), 4)
    got = gaussian_blur_decimate(t, 2.0, 4).numpy()
    assert int(np.isnan(got).sum()) == 16
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got[~np.isnan(got)], expected[~np.isnan(expected)], atol=1e-14)
    shifted = blur_decimate(t, Psf(2.0, (0.3, -0.2)), 4)
    dense = decimate(gaussian_psf(t, 2.0), 4)
    assert int(torch.isnan(shifted).sum()) == int(torch.isnan(dense).sum()) == 16
    box = kernel_blur_decimate(t, torch.full((4, 4), 1 / 16), 4)
    assert 0 < int(torch.isnan(box).sum()) <= 4
    # float32 and an infinite value: the same footprint (a non-finite input gives NaN)
    t32 = torch.from_numpy(np.where(np.isnan(x), np.inf, x)).float()
    assert int(torch.isnan(gaussian_blur_decimate(t32, 2.0, 4)).sum()) == 16


def test_banded_product_reads_only_its_band():
    op = torch.zeros(6, 12, dtype=torch.float64)
    for i in range(6):
        op[i, 2 * i:2 * i + 2] = 0.5
    x = torch.arange(24, dtype=torch.float64).reshape(2, 12)
    x[1, 5] = float("nan")
    out = banded_product(x, op, -1)
    expected = x[..., 0::2] / 2 + x[..., 1::2] / 2
    torch.testing.assert_close(out, expected, equal_nan=True)
    assert int(torch.isnan(out).sum()) == 1
    buf = torch.empty(2, 6, dtype=torch.float64)
    assert banded_product(x, op, -1, out=buf) is buf
    torch.testing.assert_close(buf, expected, equal_nan=True)
    rows = banded_product(x.T.contiguous(), op, -2)
    torch.testing.assert_close(rows, expected.T, equal_nan=True)


def test_simulate_pair_keeps_missing_data_local(salinas):
    data = np.asarray(salinas.data).copy()
    data[:, 40, 41] = np.nan           # one pixel with no data in every band
    data[200] = np.nan                 # and a dead band at 2479 nm
    lr, hr = simulate_pair(salinas.with_data(data), 4, "sentinel2")
    ref = data[:, :80, :84].astype(np.float64)
    expected = decimate_reference(blur_reference(ref, 2.0), 4)
    np.testing.assert_array_equal(np.isnan(lr.data), np.isnan(expected))
    assert np.isnan(lr.data[200]).all() and 0 < np.isnan(lr.data[0]).sum() <= 16
    # the dead band is one the sensor did not measure: B12 (2202 nm, FWHM 175), the only
    # band whose response reaches it, is simulated from the other bands (it was NaN
    # everywhere); every MSI band is finite but at the missing pixel
    keep = np.arange(salinas.bands) != 200
    m = gaussian_srf_matrix(SENTINEL2_L2A_BANDS, salinas.wavelengths[keep])
    nan_msi = np.isnan(hr.data)
    assert nan_msi.sum() == 12 and nan_msi[:, 40, 41].all()
    clean = np.nan_to_num(ref[keep])
    np.testing.assert_allclose(hr.data[~nan_msi],
                               np.einsum("mc,chw->mhw", m, clean)[~nan_msi],
                               rtol=0, atol=2e-4)


def test_spectral_response_makes_nan_only_the_bands_that_weight_a_missing_value():
    """A NaN in one HSI band made every MSI band NaN there (0 · NaN in the matrix product)."""
    m = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]], dtype=torch.float64)
    x = torch.rand(3, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x[0, 1, 2] = float("nan")
    x[2, 3, 4] = float("inf")
    out = spectral_response(x, m)
    expected = torch.einsum("mc,chw->mhw", m, torch.nan_to_num(x, 0.0, 0.0, 0.0))
    expected[0, 1, 2] = expected[1, 3, 4] = float("nan")
    torch.testing.assert_close(out, expected, equal_nan=True)


def test_banded_product_with_rows_that_read_nothing():
    # rows 0-3 read nothing (a block of them too), rows 4-7 read a band of 3: the blocks'
    # read ranges come from each row's first and last non-zero column
    op = torch.zeros(8, 10, dtype=torch.float64)
    for i in range(4, 8):
        op[i, i - 2:i + 1] = torch.tensor([0.25, 0.5, 0.25], dtype=torch.float64)
    x = torch.rand(3, 10, dtype=torch.float64)
    x[:, 0] = float("nan")  # read by no row: stays out of every output
    dense = torch.nan_to_num(x) @ op.T
    for block in (1, 2, 3, 4, 8):
        torch.testing.assert_close(banded_product(x, op, -1, block=block), dense)
    assert not banded_product(x, op, -1, block=4)[:, :4].any()
