"""Keep a trained INFN's residual only where it beats the fallback: the shared gate.

:func:`keep_if_better` decides whether a model's residual head stays, from held-out pairs
(:func:`strip_psnr`: the model against its own base image, or against the weights it started
from) and, for a fitted scene, the full-resolution re-prediction of the given LR-HSI
(:func:`reprojection_psnr`). Used by scene fitting (:func:`hsi.fusion.fit.fit_scene`, on its
held-back strips) and by training (:func:`hsi.fusion.train.train_infn` with ``validation``,
on held-out scenes). :func:`reprojection_gap` on a scene's central window is how
``method="auto"`` tells a scene unlike a shipped checkpoint's training scenes
(:func:`hsi.fusion.api.auto_method`).
"""

from __future__ import annotations

import numpy as np
import torch

from hsi.degrade import Psf
from hsi.fusion.infn import INFN

#: HR pixels a side of the central window :func:`central_pair` keeps for the scene check.
CHECK_SIDE_HR = 256
#: Checkpoint metadata key: the largest :func:`reprojection_gap` (dB) at which
#: ``method="auto"`` still uses the checkpoint on a scene.
GAP_KEY = "max_reprojection_gap_db"


def strip_psnr(model: INFN, held_back: list, ratio: int) -> tuple[float, float]:
    """PSNR (dB, peak 1) of ``model`` and of its base image over the held-back strips."""
    err_model = err_base = 0.0
    count = 0
    model.eval()
    with torch.no_grad():
        for s in held_back:
            pred = model(s.lr[None], s.msi[None], ratio=ratio, base=s.base[None])[0].float()
            err_model += float(((pred - s.target) ** 2).sum())
            err_base += float(((s.base - s.target) ** 2).sum())
            count += s.target.numel()
    return (float(10 * np.log10(count / max(err_model, 1e-30))),
            float(10 * np.log10(count / max(err_base, 1e-30))))


def reprojection_psnr(model: INFN, given: list, ratio: int,
                      psf_sigma: float | Psf | None = None) -> tuple[float, float]:
    """How well the full-resolution fusion re-predicts the given LR-HSI, for model and base.

    Each fusion is blurred with the Gaussian PSF and decimated by ``ratio`` (block centres,
    :func:`hsi.degrade.gaussian_blur_decimate`) and compared with the LR-HSI it was made from:
    a check at the scale the model is applied at that needs no reference image.

    Only LR pixels away from missing data count: a pixel NaN in any LR-HSI band, or whose HR
    block is NaN in any HR-MSI band, is left out with its neighbours up to the PSF's reach plus
    two LR pixels (both fusions are wrong there in the same way, which would hide how they
    differ elsewhere); the missing values (NaN, ±inf) are read as 0 by the fusions.

    Parameters
    ----------
    model : INFN
    given : list of (lr, msi)
        The pairs as given, ``lr`` (C, h, w) and ``msi`` (m, H, W), normalised, on the model's
        device.
    ratio : int
    psf_sigma : float or Psf, optional
        The sensor's PSF, default Gaussian σ = ``ratio / 2``.

    Returns
    -------
    (float, float)
        PSNR (dB, peak 1) of the re-predicted LR-HSI for the model and for its base image.
    """
    from hsi.degrade import as_psf, blur_decimate
    from hsi.fusion.infn import base_image

    err_model = err_base = 0.0
    count = 0
    model.eval()
    with torch.no_grad():
        for lr, msi in given:
            h = min(lr.shape[-2], msi.shape[-2] // ratio)
            w = min(lr.shape[-1], msi.shape[-1] // ratio)
            lr, msi = lr[:, :h, :w].float(), msi[:, : h * ratio, : w * ratio].float()
            valid = _valid_lr_pixels(lr, msi, ratio, as_psf(psf_sigma, ratio))
            # ±inf too: as the largest float it made both errors NaN, and auto's scene check
            # then kept a checkpoint it would have refused
            lr, msi = (torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0) for x in (lr, msi))
            base = base_image(lr[None], msi[None], ratio, model.config.base, psf_sigma=psf_sigma)
            pred = model(lr[None], msi[None], ratio=ratio, base=base)[0].float()
            err_model += float((((blur_decimate(pred, psf_sigma, ratio) - lr) ** 2)
                                * valid).sum())
            err_base += float((((blur_decimate(base[0], psf_sigma, ratio) - lr) ** 2)
                               * valid).sum())
            count += int(valid.sum()) * lr.shape[0]
    if count == 0:
        return float("nan"), float("nan")
    return (float(10 * np.log10(count / max(err_model, 1e-30))),
            float(10 * np.log10(count / max(err_base, 1e-30))))


def _valid_lr_pixels(lr: torch.Tensor, msi: torch.Tensor, ratio: int, psf: Psf
                     ) -> torch.Tensor:
    """``(h, w)`` float mask of the LR pixels :func:`reprojection_psnr` counts: those
    :func:`hsi.fusion.baselines.regression_pixels` keeps, no nearer to one it leaves out than
    the PSF's reach (``psf.size // 2`` HR pixels) plus two LR pixels (the fusions' own reach)."""
    from torch.nn import functional as F

    from hsi.fusion.baselines import regression_pixels

    valid = regression_pixels(lr, msi, ratio, psf)
    if valid is None:
        return torch.ones(lr.shape[-2:], device=lr.device)
    reach = -(-(psf.size // 2) // ratio) + 2
    bad = (~valid).float()[None, None]
    return 1.0 - F.max_pool2d(bad, 2 * reach + 1, stride=1, padding=reach)[0, 0]


def keep_if_better(model: INFN, held_back: list, ratio: int,
                   start: dict | None = None, *, given: list | None = None,
                   psf_sigma: float | Psf | None = None) -> dict:
    """Keep the fitted weights only where they win on the strips and pass at full scale.

    The reference is what the fit falls back to: ``start``'s weights (a trained model being
    fine-tuned), otherwise the base image. The fitted weights replace it only when they score
    at least as well on the held-back strips *and* their full-resolution fusion re-predicts the
    given LR-HSI at least as well as the reference's (:func:`reprojection_psnr`, when
    ``given``). A trained model is never swapped for the base image on the strips' word: on
    the CAVE test crops the strips preferred the GLP base to the shipped checkpoint on 15 of 22
    pairs where the checkpoint was better on all 22.

    Parameters
    ----------
    model : INFN
        The fitted model (eval mode), changed in place when it loses: back to ``start``'s
        weights, or its ``head`` zeroed (the base image).
    held_back : list of TrainScene
        The strips :func:`fit_scene` kept out of training; with none, the full-scale check
        alone decides.
    start : dict, optional
        State dict the fit started from.
    given : list of (lr, msi), optional
        The pairs at full resolution (see :func:`reprojection_psnr`); no full-scale check
        without them.
    psf_sigma : float or Psf, optional
        The sensor's PSF for the full-scale check, default Gaussian σ = ``ratio / 2``.

    Returns
    -------
    dict
        ``psnr_model``, ``psnr_base`` (and ``psnr_start``) in dB over the strips,
        ``reprojection`` (dB, fitted and reference), ``kept`` (bool, the fitted weights stayed)
        and ``result`` (``"fitted"``, ``"start"`` or ``"base"``).
    """
    report: dict = {"strips": len(held_back)}
    fitted = {k: v.detach().clone() for k, v in model.state_dict().items()}
    reference = "start" if start is not None else "base"
    fitted_wins = True
    if held_back:
        psnr_fitted, psnr_reference = strip_psnr(model, held_back, ratio)
        report.update(psnr_model=round(psnr_fitted, 3), psnr_base=round(psnr_reference, 3))
        if start is not None:
            model.load_state_dict(start)
            psnr_reference = strip_psnr(model, held_back, ratio)[0]
            report["psnr_start"] = round(psnr_reference, 3)
        fitted_wins = psnr_fitted >= psnr_reference
    if fitted_wins and given:
        model.load_state_dict(fitted)
        repro_fitted, repro_reference = reprojection_psnr(model, given, ratio, psf_sigma)
        if start is not None:
            model.load_state_dict(start)
            repro_reference = reprojection_psnr(model, given, ratio, psf_sigma)[0]
        report["reprojection"] = {"fitted": round(repro_fitted, 3),
                                  reference: round(repro_reference, 3)}
        fitted_wins = repro_fitted >= repro_reference
    result = "fitted" if fitted_wins else reference
    model.load_state_dict(start if result == "start" else fitted)
    if result == "base":
        torch.nn.init.zeros_(model.head.weight)
        torch.nn.init.zeros_(model.head.bias)
    return {"kept": result == "fitted", **report, "result": result}


def central_pair(lr: torch.Tensor, msi: torch.Tensor, ratio: int,
                 side_hr: int = CHECK_SIDE_HR) -> tuple[torch.Tensor, torch.Tensor]:
    """The central window of a pair, at most ``side_hr`` HR pixels a side.

    Parameters
    ----------
    lr : torch.Tensor, shape (C, h, w)
    msi : torch.Tensor, shape (m, H, W), ``H ≈ h * ratio``

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        ``(C, h', w')`` and ``(m, h' * ratio, w' * ratio)``, views of the inputs.
    """
    side = max(1, side_hr // ratio)
    h = min(lr.shape[-2], msi.shape[-2] // ratio)
    w = min(lr.shape[-1], msi.shape[-1] // ratio)
    r0, c0 = max(0, (h - side) // 2), max(0, (w - side) // 2)
    h, w = min(h, side), min(w, side)
    return (lr[:, r0:r0 + h, c0:c0 + w],
            msi[:, r0 * ratio:(r0 + h) * ratio, c0 * ratio:(c0 + w) * ratio])


def reprojection_gap(model: INFN, lr: torch.Tensor, msi: torch.Tensor, ratio: int,
                     psf_sigma: float | Psf | None = None) -> float:
    """How much worse (dB) ``model``'s fusion re-predicts the LR-HSI than its base image's.

    :func:`reprojection_psnr` of the base image minus the model's: 0 for a model whose head is
    zero. A model that generalises to the scene adds detail the LR-HSI cannot see and
    re-predicts it about as well as its base (GLP) does; one that does not changes what the
    LR-HSI does see. Measured with the shipped CAVE checkpoint (``benchmarks/auto_guard.py``,
    RESULTS 2026-12-04 18:02): −4.2 … 2.6 dB on its training scenes, −0.8 … 6.6 dB on the
    CAVE test scenes, 1.5–17 dB on airborne scenes resampled to its sensors, where it lost to
    GLP on 40 of 42 pairs.

    Parameters
    ----------
    lr : torch.Tensor, shape (C, h, w)
        LR-HSI, normalised as the model expects, on the model's device (NaN: missing, see
        :func:`reprojection_psnr`).
    msi : torch.Tensor, shape (m, h * ratio, w * ratio)
    ratio : int
    psf_sigma : float or Psf, optional
        The sensor's PSF, default Gaussian σ = ``ratio / 2``.

    Returns
    -------
    float
        dB; positive when the model re-predicts the LR-HSI worse than its base; NaN when no
        LR pixel is far enough from missing data to count.
    """
    psnr_model, psnr_base = reprojection_psnr(model, [(lr, msi)], ratio, psf_sigma)
    return psnr_base - psnr_model
