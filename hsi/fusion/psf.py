"""The sensor PSF, estimated from the pair itself.

Every method degrades the HR-MSI to the LR-HSI's grid somewhere (GLP's and GSA's regressions,
CNMF's unmixing, scene fitting's reduced pair); a PSF that differs from the one assumed
(σ = ratio / 2) costs GLP several dB (``benchmarks/fusion_cave.py --protocols factors``).
The MSI bands are linear combinations of the HSI bands (the camera's spectral response), so
with the right PSF the degraded MSI is explained by the LR-HSI up to noise:
:func:`estimate_psf` picks the Gaussian σ, and the sub-pixel shift of its centre (the two grids'
misregistration), whose degraded MSI the LR-HSI explains best (least squares over the pixels,
every MSI band regressed on all LR-HSI bands and a constant).
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from hsi.degrade import Psf

__all__ = ["AUTO", "SHIFTS", "estimate_psf", "psf_for"]

log = logging.getLogger(__name__)

#: ``psf_sigma="auto"``: estimate the PSF (σ and shift) from the pair.
AUTO = "auto"
#: Candidate σ, as multiples of the nominal ``ratio / 2``.
SIGMA_FACTORS = tuple(0.25 + k / 16 for k in range(21))  # 0.25 ... 1.5
#: Largest LR window (pixels a side, centred) the estimate reads.
MAX_SIDE = 128
#: The LR-HSI enters the regression as at most this many principal components, and with at
#: least this many pixels per component (fewer pixels: the nominal σ is returned).
MAX_COMPONENTS = 32
#: Candidate shifts of the PSF's centre from the LR block centre, HR pixels, per axis.
SHIFTS = tuple(k / 4 for k in range(-4, 5))  # -1 ... 1
PIXELS_PER_REGRESSOR = 10
#: Fewer LR pixels than this inside the border: the nominal PSF. On Salinas-A at x8 (a 10×10
#: LR-HSI, 16 pixels inside the border, one regressor) the estimate was σ 6 shifted (-1, -1)
#: for a true σ 4, and GLP lost 12 dB (44.78 against 56.86 dB with the nominal PSF).
MIN_PIXELS = 100


def estimate_psf(lr: torch.Tensor, msi: torch.Tensor, ratio: int) -> Psf:
    """The Gaussian PSF, σ and sub-pixel shift, that best maps the HR-MSI onto the LR-HSI's grid.

    Parameters
    ----------
    lr : torch.Tensor, shape (C, h, w)
        LR-HSI (any scale). NaN: missing, left out of the regression with the LR pixels whose
        PSF footprint reaches a NaN of ``msi`` (:func:`hsi.fusion.baselines.regression_pixels`).
    msi : torch.Tensor, shape (m, H, W), ``H ≈ h * ratio``
        HR-MSI on a grid ``ratio`` times finer, block-centre aligned with the LR-HSI up to
        the shift estimated here.
    ratio : int

    Returns
    -------
    Psf
        σ one of ``ratio / 2 * SIGMA_FACTORS`` HR pixels and each shift one of
        :data:`SHIFTS` HR pixels: those whose blurred, decimated MSI leaves the smallest
        relative least-squares residual when regressed on the LR-HSI (its leading
        :data:`MAX_COMPONENTS` principal components, at most one per
        :data:`PIXELS_PER_REGRESSOR` pixels). Searched coarse to fine: σ with no shift
        (every other candidate, then the two beside the best), the shift at that σ (every other
        grid point, then the points next to the best), σ again at that shift. A centred window
        of at most :data:`MAX_SIDE` LR pixels a side is used, without a border as wide as the
        largest kernel's radius; a pair too small to tell the kernels apart (fewer than
        :data:`MIN_PIXELS` LR pixels inside that border) gets the nominal ``Psf(ratio / 2)``.
    """
    from hsi.degrade import blur_decimate_axis
    from hsi.fusion.baselines import regression_pixels

    r = int(ratio)
    lr = lr.detach().float().cpu()
    msi = msi.detach().float().cpu()
    h = min(lr.shape[-2], msi.shape[-2] // r)
    w = min(lr.shape[-1], msi.shape[-1] // r)
    r0, c0 = max(0, (h - MAX_SIDE) // 2), max(0, (w - MAX_SIDE) // 2)
    h, w = min(h, MAX_SIDE), min(w, MAX_SIDE)
    sigmas = [r / 2 * f for f in SIGMA_FACTORS]
    largest = Psf(max(sigmas), (max(SHIFTS),) * 2).size
    border = largest // 2 // r + 1
    if h - 2 * border < 4 or w - 2 * border < 4:
        border = 0
    inner = (slice(border, h - border or None), slice(border, w - border or None))
    lr = lr[:, r0 : r0 + h, c0 : c0 + w]
    # missing data (NaN) stays out of the regression, read as 0 by the blur
    valid = regression_pixels(lr, msi[:, r0 * r : (r0 + h) * r, c0 * r : (c0 + w) * r], r,
                              Psf(max(sigmas), (max(SHIFTS),) * 2))
    keep = None if valid is None else valid[inner[0], inner[1]].flatten()
    lr, msi = torch.nan_to_num(lr), torch.nan_to_num(msi)
    y = lr[:, inner[0], inner[1]].flatten(1).double()
    if keep is not None:
        y = y[:, keep]
    n = y.shape[1]
    k = min(y.shape[0], MAX_COMPONENTS, n // PIXELS_PER_REGRESSOR)
    if k < 1 or n < MIN_PIXELS:
        return Psf(r / 2.0)  # too few pixels to tell kernels apart: the nominal PSF
    y = y - y.mean(1, keepdim=True)
    if k < y.shape[0]:  # the LR-HSI's leading principal components as regressors
        u = torch.linalg.eigh(y @ y.T).eigenvectors[:, -k:]  # = the SVD's leading U
        y = u.T @ y
    x = torch.cat([y, torch.ones(1, n, dtype=y.dtype)]).T  # (n, k + 1)
    q = torch.linalg.qr(x).Q  # least-squares fits on x are projections onto q's columns
    hr = msi[:, r0 * r : (r0 + h) * r, c0 * r : (c0 + w) * r]
    if min(hr.shape[-2:]) <= largest // 2:
        return Psf(r / 2.0)  # too small for the widest kernel
    scores: dict[Psf, float] = {}
    column_passes: dict[tuple[float, float, int], torch.Tensor] = {}

    def score(psf: Psf) -> float:
        if psf not in scores:
            # blur_decimate(hr, psf, r), its costly column pass shared by the row shifts
            key = (psf.sigma, psf.shift[1], psf.size)
            if key not in column_passes:
                column_passes[key] = blur_decimate_axis(hr, psf, r, -1)
            m = blur_decimate_axis(column_passes[key], psf, r, -2)
            m = m[:, inner[0], inner[1]].flatten(1).double()
            m = (m if keep is None else m[:, keep]).T
            residual = m - q @ (q.T @ m)
            var = m.var(0).clamp_min(1e-30)
            scores[psf] = float((residual.pow(2).mean(0) / var).mean())
        return scores[psf]

    def best_sigma(shift: tuple[float, float]) -> Psf:
        """Every other σ, then the two beside the best."""
        i = min(range(0, len(sigmas), 2), key=lambda j: score(Psf(sigmas[j], shift)))
        return min((Psf(sigmas[j], shift) for j in range(max(i - 1, 0), min(i + 2, len(sigmas)))),
                   key=score)

    best = best_sigma((0.0, 0.0))
    coarse = SHIFTS[::2]
    best = min((Psf(best.sigma, (dy, dx)) for dy in coarse for dx in coarse), key=score)
    step = SHIFTS[1] - SHIFTS[0]
    near = [(dy, dx) for dy in SHIFTS for dx in SHIFTS
            if abs(dy - best.shift[0]) <= step and abs(dx - best.shift[1]) <= step]
    best = min((Psf(best.sigma, d) for d in near), key=score)
    return best_sigma(best.shift)


def psf_for(psf_sigma: float | str | Psf | None, lr: torch.Tensor | None,
            msi: torch.Tensor | None, ratio: int) -> Psf:
    """The PSF a fusion uses: a given Gaussian σ (HR pixels) or :class:`~hsi.degrade.Psf`,
    the nominal σ = ``ratio / 2`` (``None``), or estimated from the pair (``"auto"``,
    :func:`estimate_psf`; logged in one line when it is not the nominal PSF)."""
    from hsi.errors import ConfigError

    if psf_sigma is None:
        return Psf(int(ratio) / 2.0)
    if isinstance(psf_sigma, Psf):
        return psf_sigma
    if isinstance(psf_sigma, str):
        if psf_sigma.lower() != AUTO:
            raise ConfigError(f"psf_sigma must be a number of HR pixels or 'auto', got "
                              f"{psf_sigma!r}")
        psf = estimate_psf(lr, msi, ratio)
        if abs(psf.sigma - ratio / 2) > 0.1 * ratio / 2 or any(psf.shift):
            log.warning("PSF estimated from the pair: %s HR pixels (nominal Gaussian σ = %.3g)",
                        psf, ratio / 2)
        return psf
    try:
        sigma = float(psf_sigma)
    except (TypeError, ValueError):
        sigma = float("nan")
    if not np.isfinite(sigma) or sigma <= 0:
        raise ConfigError(f"psf_sigma must be positive, got {psf_sigma!r}")
    return Psf(sigma)
