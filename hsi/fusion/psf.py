"""The sensor PSF, estimated from the pair itself.

Every method degrades the HR-MSI to the LR-HSI's grid somewhere (GLP's and GSA's regressions,
CNMF's unmixing, scene fitting's reduced pair); a PSF that differs from the one assumed
(σ = ratio / 2) costs GLP several dB (``benchmarks/fusion_cave.py --protocols factors``).
The MSI bands are linear combinations of the HSI bands (the camera's spectral response), so
with the right PSF the degraded MSI is explained by the LR-HSI up to noise:
:func:`estimate_psf_sigma` picks the Gaussian σ whose degraded MSI the LR-HSI explains best
(least squares over the pixels, every MSI band regressed on all LR-HSI bands and a constant).
"""

from __future__ import annotations

import logging

import numpy as np
import torch

__all__ = ["AUTO", "estimate_psf_sigma", "psf_sigma_for"]

log = logging.getLogger(__name__)

#: ``psf_sigma="auto"``: estimate σ from the pair.
AUTO = "auto"
#: Candidate σ, as multiples of the nominal ``ratio / 2``.
SIGMA_FACTORS = tuple(0.25 + k / 16 for k in range(21))  # 0.25 ... 1.5
#: Largest LR window (pixels a side, centred) the estimate reads.
MAX_SIDE = 128
#: The LR-HSI enters the regression as at most this many principal components, and with at
#: least this many pixels per component (fewer pixels: the nominal σ is returned).
MAX_COMPONENTS = 32
PIXELS_PER_REGRESSOR = 10


def estimate_psf_sigma(lr: torch.Tensor, msi: torch.Tensor, ratio: int) -> float:
    """Gaussian PSF σ (HR pixels) that best maps the HR-MSI onto the LR-HSI's grid.

    Parameters
    ----------
    lr : torch.Tensor, shape (C, h, w)
        LR-HSI (any scale; NaN read as 0).
    msi : torch.Tensor, shape (m, H, W), ``H ≈ h * ratio``
        HR-MSI on a grid ``ratio`` times finer, block-centre aligned with the LR-HSI.
    ratio : int

    Returns
    -------
    float
        One of ``ratio / 2 * SIGMA_FACTORS`` (HR pixels): the σ whose blurred, decimated
        MSI leaves the smallest relative least-squares residual when regressed on the LR-HSI
        (its leading :data:`MAX_COMPONENTS` principal components, at most one per
        :data:`PIXELS_PER_REGRESSOR` pixels). A centred window of at most :data:`MAX_SIDE` LR
        pixels a side is used, without a border as wide as the largest kernel's radius; a pair
        too small to tell the kernels apart gets the nominal ``ratio / 2``.
    """
    from hsi.degrade import gaussian_blur_decimate, psf_kernel_size

    r = int(ratio)
    lr = torch.nan_to_num(lr.detach().float().cpu())
    msi = torch.nan_to_num(msi.detach().float().cpu())
    h = min(lr.shape[-2], msi.shape[-2] // r)
    w = min(lr.shape[-1], msi.shape[-1] // r)
    r0, c0 = max(0, (h - MAX_SIDE) // 2), max(0, (w - MAX_SIDE) // 2)
    h, w = min(h, MAX_SIDE), min(w, MAX_SIDE)
    sigmas = [r / 2 * f for f in SIGMA_FACTORS]
    border = psf_kernel_size(max(sigmas)) // 2 // r + 1
    if h - 2 * border < 4 or w - 2 * border < 4:
        border = 0
    inner = (slice(border, h - border or None), slice(border, w - border or None))
    y = lr[:, r0 : r0 + h, c0 : c0 + w][:, inner[0], inner[1]].flatten(1).double()
    n = y.shape[1]
    k = min(y.shape[0], MAX_COMPONENTS, n // PIXELS_PER_REGRESSOR)
    if k < 1:
        return r / 2.0  # too few pixels to tell kernels apart: the nominal PSF
    y = y - y.mean(1, keepdim=True)
    if k < y.shape[0]:  # the LR-HSI's leading principal components as regressors
        u = torch.linalg.svd(y, full_matrices=False).U[:, :k]
        y = u.T @ y
    x = torch.cat([y, torch.ones(1, n, dtype=y.dtype)]).T  # (n, k + 1)
    hr = msi[:, r0 * r : (r0 + h) * r, c0 * r : (c0 + w) * r]
    scores = []
    for sigma in sigmas:
        m = gaussian_blur_decimate(hr, sigma, r)[:, inner[0], inner[1]].flatten(1).double().T
        residual = m - x @ torch.linalg.lstsq(x, m).solution
        var = m.var(0).clamp_min(1e-30)
        scores.append(float((residual.pow(2).mean(0) / var).mean()))
    return float(sigmas[int(np.argmin(scores))])


def psf_sigma_for(psf_sigma: float | str | None, lr: torch.Tensor, msi: torch.Tensor,
                  ratio: int) -> float:
    """The PSF σ (HR pixels) a fusion uses: given, nominal (``None``: ``ratio / 2``) or
    estimated (``"auto"``, :func:`estimate_psf_sigma`)."""
    from hsi.errors import ConfigError

    if psf_sigma is None:
        return int(ratio) / 2.0
    if isinstance(psf_sigma, str):
        if psf_sigma.lower() != AUTO:
            raise ConfigError(f"psf_sigma must be a number of HR pixels or 'auto', got "
                              f"{psf_sigma!r}")
        sigma = estimate_psf_sigma(lr, msi, ratio)
        if abs(sigma - ratio / 2) > 0.1 * ratio / 2:
            log.warning("PSF estimated from the pair: Gaussian σ = %.3g HR pixels (nominal "
                        "%.3g)", sigma, ratio / 2)
        return sigma
    sigma = float(psf_sigma)
    if not np.isfinite(sigma) or sigma <= 0:
        raise ConfigError(f"psf_sigma must be positive, got {psf_sigma!r}")
    return sigma
