"""Spectral denoising of the LR-HSI before fusion (signal subspace with Wiener weights).

Sensor noise on the LR-HSI is white across bands and pixels, while the scene's spectra fill a
low-dimensional subspace, so most of the noise can be removed band to band, without blurring:

1. every band is regressed on all the others (HySime's noise estimate, Bioucas-Dias &
   Nascimento 2008); the residuals hold the noise and the spectral detail no other band
   predicts;
2. the noise std of each band is the residual's finest-scale wavelet detail (Donoho's
   estimator, :func:`noise_sigmas`): white noise is rough from pixel to pixel, the spectral
   detail of a blurred LR-HSI is smooth, so detail is not taken for noise;
3. in the eigenbasis of the signal correlation ``R_y − R_n``, each direction is kept with the
   Wiener weight ``1 − noise power / total power``.

On noise-free inputs the weights are ≈ 1, but not quite: on AVIRIS Wald pairs (x2) the
denoiser cost GLP 0.1 dB, so a fusion denoises only when the estimated SNR is below
:data:`MAX_SNR_DB` (:func:`denoiser_for`). On CAVE *training* scenes noisy pairs (35 dB added)
estimate 30–34 dB and noise-free ones 55–69 dB (``benchmarks/lr_denoise.py``): the threshold
sits between them. Every fusion method then works on the cleaner LR-HSI (GLP and INFN pass its
noise on into the result).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["MAX_SNR_DB", "SpectralDenoiser", "denoiser_for", "noise_sigmas", "regression_noise",
           "spectral_denoiser", "window_fits"]

log = logging.getLogger(__name__)

#: A fusion denoises the LR-HSI only when its estimated SNR (dB) is below this.
MAX_SNR_DB = 45.0
#: Largest LR window (pixels a side, centred) the estimate reads.
MAX_SIDE = 128
#: Fewer pixels than this many per band, or a side under 8 pixels: no denoiser.
PIXELS_PER_BAND = 10
MIN_SIDE = 8


@dataclass(frozen=True)
class SpectralDenoiser:
    """A band-to-band linear denoiser: ``x ↦ matrix @ x`` at every pixel.

    Attributes
    ----------
    matrix : torch.Tensor, shape (bands, bands), float32
        ``E diag(w) Eᵀ`` (eigenvectors ``E`` of the signal correlation, Wiener weights ``w``).
    snr_db : float
        Estimated SNR of the LR-HSI it was fitted on (dB: total power over noise power).
    rank : int
        Directions whose signal power exceeds the noise's (HySime's subspace dimension).
    """

    matrix: torch.Tensor
    snr_db: float
    rank: int

    def __call__(self, lr: torch.Tensor) -> torch.Tensor:
        """Denoise ``lr`` of shape ``(..., bands, h, w)`` (same shape, dtype and device)."""
        m = self.matrix.to(lr.device, torch.float32)
        flat = lr.float().flatten(-2)  # (..., b, n)
        return (m @ flat).view_as(lr).to(lr.dtype)

    def metadata(self) -> dict:
        """What to record in a result's metadata."""
        return {"lr_denoise_snr_db": round(self.snr_db, 2), "lr_denoise_rank": self.rank}


def noise_sigmas(image: torch.Tensor) -> np.ndarray:
    """Per-band standard deviation of the white noise in an image.

    Donoho's wavelet estimator (median absolute finest-scale diagonal detail / 0.6745), as
    :func:`skimage.restoration.estimate_sigma` computes it (tested equal).

    Parameters
    ----------
    image : torch.Tensor, shape (C, H, W)

    Returns
    -------
    numpy.ndarray, shape (C,)
        Noise std in the image's units (texture finer than a pixel counts as noise too).
    """
    import pywt  # skimage's estimator, without importing scipy.stats for one constant

    data = np.nan_to_num(image.detach().cpu().numpy().astype(np.float32, copy=False))
    detail = pywt.dwtn(data, wavelet="db2", axes=(1, 2))["dd"]  # finest diagonal detail
    sigmas = []
    for band in detail:
        band = band[np.nonzero(band)]  # exactly zero: masked out, as skimage does
        sigmas.append(np.median(np.abs(band)) / _GAUSSIAN_MAD if band.size else 0.0)
    return np.asarray(sigmas, dtype=np.float32)


#: The median absolute deviation of a standard normal variable (``Φ⁻¹(0.75)``).
_GAUSSIAN_MAD = 0.6744897501960817


def regression_noise(y: torch.Tensor) -> torch.Tensor:
    """Residual of every band's least-squares fit on all the other bands.

    Parameters
    ----------
    y : torch.Tensor, shape (bands, n), float64
        Pixels as columns.

    Returns
    -------
    torch.Tensor, shape (bands, n)
        The residuals (HySime's ``est_additive_noise``).
    """
    b = y.shape[0]
    corr = y @ y.T
    ridge = 1e-9 * torch.trace(corr) / b
    inv = torch.linalg.inv(corr + ridge * torch.eye(b, dtype=y.dtype, device=y.device))
    # Band i on the others: weights (inv − inv[:, i] inv[i, :] / inv[i, i]) @ corr[:, i],
    # with band i's own weight zeroed; column i of `coef` holds them, for all bands at once.
    inv_corr = inv @ corr
    coef = inv_corr - inv / torch.diag(inv)[None, :] * torch.diag(inv_corr)[None, :]
    coef.fill_diagonal_(0.0)
    return y - coef.T @ y


def window_fits(bands: int, height: int, width: int) -> bool:
    """Whether an LR-HSI of this size gives a central window large enough for the estimate
    (at least ``10 × bands`` pixels and 8 a side, 2 bands or more)."""
    h, w = min(height, MAX_SIDE), min(width, MAX_SIDE)
    return bands >= 2 and h * w >= PIXELS_PER_BAND * bands and min(h, w) >= MIN_SIDE


def spectral_denoiser(lr: torch.Tensor) -> SpectralDenoiser | None:
    """Fit the spectral denoiser on an LR-HSI (its central window of at most 128² pixels).

    Parameters
    ----------
    lr : torch.Tensor, shape (bands, h, w)
        LR-HSI, any scale (NaN-free).

    Returns
    -------
    SpectralDenoiser or None
        ``None`` when the window is too small for the estimate (fewer than ``10 × bands``
        pixels or a side under 8) or the image is blank.
    """
    b, h, w = lr.shape
    if not window_fits(b, h, w):
        return None
    r0, c0 = max(0, (h - MAX_SIDE) // 2), max(0, (w - MAX_SIDE) // 2)
    window = lr[:, r0: r0 + MAX_SIDE, c0: c0 + MAX_SIDE].double().cpu()
    n = window.shape[1] * window.shape[2]
    y = window.reshape(b, n)
    corr_y = y @ y.T / n
    total = float(torch.trace(corr_y))
    if not total > 0:
        return None
    residual = regression_noise(y).reshape(window.shape)
    corr_n = torch.diag(torch.as_tensor(noise_sigmas(residual), dtype=torch.float64) ** 2)
    noise = float(torch.trace(corr_n))
    _, vectors = torch.linalg.eigh(corr_y - corr_n)
    power_y = ((corr_y @ vectors) * vectors).sum(0)
    power_n = ((corr_n @ vectors) * vectors).sum(0)
    weights = (1.0 - power_n / power_y.clamp_min(1e-300)).clamp(0.0, 1.0)
    matrix = (vectors * weights) @ vectors.T
    snr_db = 10.0 * float(np.log10(total / max(noise, 1e-300)))
    return SpectralDenoiser(matrix.float().to(lr.device), snr_db,
                            int((power_y > 2 * power_n).sum()))


def denoiser_for(lr_denoise: bool, lr: torch.Tensor) -> SpectralDenoiser | None:
    """The denoiser a fusion applies to ``lr`` (bands, h, w): ``None`` when ``lr_denoise`` is
    false, the image is too small to fit one (:func:`spectral_denoiser`) or its estimated SNR
    is :data:`MAX_SNR_DB` or more (nothing to gain)."""
    if not lr_denoise:
        return None
    den = spectral_denoiser(lr)
    if den is None or den.snr_db >= MAX_SNR_DB:
        return None
    log.info("LR-HSI denoised across bands (estimated SNR %.1f dB, signal subspace %d of %d "
             "bands)", den.snr_db, den.rank, lr.shape[0])
    return den
