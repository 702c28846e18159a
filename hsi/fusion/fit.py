"""Scene fitting: train INFN on one scene's own pair, degraded once more, then apply it.

The analyst's usual case has no high-resolution reference. Wald's protocol is applied to the
given pair itself: the LR-HSI (h × w) and the HR-MSI (H × W) are both blurred with the PSF
(σ = ratio / 2) and decimated by the ratio, giving an (h/r × w/r) HSI and an (h × w) MSI; INFN
learns to recover the given LR-HSI from them, and the fitted model is then applied to the
given pair at full resolution (scale invariance assumption). Degrading averages noise away, so
white noise is added to the reduced inputs until they are as noisy as the given ones
(:func:`with_matched_noise`, noise levels estimated from the data): the model then learns on
inputs like those it is applied to.

A strip of the reduced pair (the right-most fifth of each window, :data:`HOLDOUT_FRACTION`) is
held back from training. After training the fitted model and its own base image are scored
there; when the model does not beat the base image on the held-back strip, its residual head is
zeroed, so the result *is* the base image (when fine-tuning a trained model, its own weights
are the fallback).

The strip lives at the reduced scale, and a model that wins there can still lose at full
resolution (measured on CAVE crops: +0.4 to +1.4 dB on the strip, −0.1 to −2.8 dB on the
fusion). So a winner must also pass a check at the scale it is applied at, which needs no
reference: its full-resolution fusion, blurred and decimated with the PSF, must re-predict the
given LR-HSI at least as well as the fallback does (:func:`hsi.fusion.gate.reprojection_psnr`).
Otherwise the fallback is returned.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from hsi.cube import Cube
from hsi.degrade import Psf, as_psf
from hsi.errors import ShapeError
from hsi.fusion.config import InfnConfig
from hsi.fusion.denoise import noise_sigmas
from hsi.fusion.gate import keep_if_better
from hsi.fusion.infn import INFN, min_patch_lr
from hsi.fusion.train import PatchSampler, make_scene, run_training
from hsi.progress import ProgressCallback

#: Default budget of ``--fit-scene``: a 512×512 HR-MSI in about 3 minutes on a 2-core CPU.
FIT_STEPS = 600
FIT_MINUTES = 3.0
#: Share of each reduced window's width held back to validate the fitted model.
HOLDOUT_FRACTION = 0.2
#: Learning rate of fine-tuning a trained model (``fit_scene(init=...)``), as a share of its own.
FINETUNE_LR_SCALE = 0.3


def min_fit_size(ratio: int, config: InfnConfig | None = None) -> int:
    """Smallest LR-HSI side (pixels) that :func:`fit_scene` can train on at ``ratio``.

    Degraded once more by ``ratio`` (:func:`reduced_pair`), the LR-HSI must keep
    :func:`min_patch_lr` pixels a side for the training patches, and its HR twin must exceed
    the radius of the PSF (σ = ratio / 2) that degrades it.

    Returns
    -------
    int
        ``ratio`` times the smallest side of the reduced LR-HSI (e.g. 16 at x4, 32 at x8).
    """
    from hsi.degrade import psf_kernel_size

    ratio = int(ratio)
    psf = psf_kernel_size(ratio / 2.0) // 2 // ratio + 1
    return ratio * max(min_patch_lr(ratio, config), psf)


def check_fit_size(height: int, width: int, ratio: int, config: InfnConfig | None = None,
                   shape: tuple | None = None) -> None:
    """Raise a one-line :class:`ShapeError` when an LR-HSI is too small to fit INFN on.

    Parameters
    ----------
    height, width : int
        LR-HSI size in pixels.
    ratio : int
    config : InfnConfig, optional
    shape : tuple, optional
        The LR-HSI's full shape, for the error's ``actual_shape``.
    """
    need = min_fit_size(ratio, config)
    if height < need or width < need:
        raise ShapeError(
            f"fit_scene=True at ratio {ratio} needs an LR-HSI of at least {need}×{need} pixels "
            f"(degraded once more by {ratio} for training, it must keep {need // ratio}×"
            f"{need // ratio} pixels for the PSF and the training patches), got {height}×{width}",
            actual_shape=shape or (height, width),
            expected_shape=("bands", f">={need}", f">={need}"),
        )


def reduced_pair(lr: torch.Tensor, msi: torch.Tensor, ratio: int,
                 psf_sigma: float | Psf | None = None,
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Degrade a pair once more by ``ratio`` (Wald's protocol).

    Parameters
    ----------
    lr : torch.Tensor, shape (C, h, w)
    msi : torch.Tensor, shape (m, H, W) with ``H ≈ h * ratio``

    Returns
    -------
    target : (C, h', w') the LR-HSI cropped to a multiple of ``ratio``
    lr_reduced : (C, h' / ratio, w' / ratio)
    msi_reduced : (m, h', w')
    """
    from hsi.degrade import blur_decimate

    h, w = (lr.shape[-2] // ratio) * ratio, (lr.shape[-1] // ratio) * ratio
    if h < 2 * ratio or w < 2 * ratio:
        raise ShapeError(
            f"fit_scene=True needs an LR-HSI of at least {2 * ratio}×{2 * ratio} pixels at ratio "
            f"{ratio}, got {lr.shape[-2]}×{lr.shape[-1]}",
            actual_shape=tuple(lr.shape),
            expected_shape=("bands", f">={2 * ratio}", f">={2 * ratio}"),
        )
    target = lr[:, :h, :w]
    with torch.no_grad():
        lr_r = blur_decimate(target, psf_sigma, ratio)
        msi_r = blur_decimate(msi[:, : h * ratio, : w * ratio], psf_sigma, ratio)
    return target, lr_r, msi_r


def clean_reduced_pixels(lr: torch.Tensor, msi: torch.Tensor, ratio: int,
                         psf_sigma: float | Psf | None = None) -> torch.Tensor | None:
    """Pixels of the reduced pair's LR grid (:func:`reduced_pair`) computed from data alone.

    A reduced LR pixel is clean when its PSF footprint in the target (the given LR-HSI) holds
    no pixel that is NaN in a band or whose own HR-MSI footprint reaches a NaN
    (:func:`hsi.fusion.baselines.regression_pixels`), and no such pixel lies within two
    reduced LR pixels (the reach of the base image and of the network). Training patches are
    drawn where every pixel is clean: missing data read as 0 would teach the network edges
    that are not in the scene.

    Parameters
    ----------
    lr : torch.Tensor, shape (C, h, w)
        The LR-HSI as given (NaN: missing).
    msi : torch.Tensor, shape (m, H, W), ``H ≥ h * ratio``
    ratio : int
    psf_sigma : float or Psf, optional

    Returns
    -------
    torch.Tensor of bool, shape (h // ratio, w // ratio), or None
        ``None`` when the pair has no missing data.
    """
    from torch.nn import functional as F

    from hsi.fusion.baselines import regression_pixels

    valid = regression_pixels(lr, msi, ratio, psf_sigma)
    if valid is None:
        return None
    h, w = (lr.shape[-2] // ratio) * ratio, (lr.shape[-1] // ratio) * ratio
    reach = as_psf(psf_sigma, ratio).size // 2
    bad = (~valid[:h, :w]).float()[None, None]
    bad = F.max_pool2d(bad, 2 * reach + 1, stride=1, padding=reach)
    bad = bad.reshape(h // ratio, ratio, w // ratio, ratio).amax(dim=(1, 3))[None, None]
    bad = F.max_pool2d(bad, 5, stride=1, padding=2)[0, 0]
    return bad == 0


def fit_scene(
    lr_hsi: Cube | Sequence[Cube],
    hr_msi: Cube | Sequence[Cube],
    *,
    ratio: int,
    config: InfnConfig | None = None,
    steps: int | None = None,
    minutes: float | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: bool = True,
    callback: ProgressCallback | None = None,
    init: INFN | None = None,
    psf_sigma: float | Psf | None = None,
) -> INFN:
    """Fit INFN to one scene at reduced resolution.

    Parameters
    ----------
    lr_hsi : Cube, shape (C, h, w), or a list of them
        LR-HSI, already normalised (as :func:`hsi.fusion.fuse` does) or raw; a list holds
        windows of one large scene (a sample of its tiles), trained on together.
    hr_msi : Cube, shape (m, H, W), or a list of them
        HR-MSI on a grid ``ratio`` times finer (one per LR-HSI window).
    ratio : int
        The pair's ratio (see :func:`hsi.fusion.check_pair`).
    config : InfnConfig, optional
        Architecture; band counts and ratio are filled in.
    steps : int, optional
        Optimiser steps (default :data:`FIT_STEPS`).
    minutes : float, optional
        Time budget (default :data:`FIT_MINUTES`).
    seed : int
    device : str or torch.device
    progress : bool
    callback : callable, optional
        ``callback(done_steps, total_steps)``, called before the first step and after each
        step (:mod:`hsi.progress`); return ``True`` from it to stop fitting.
    init : INFN, optional
        A trained model to fine-tune (its architecture and base image are kept, ``config`` is
        ignored; learning rate ``config.lr * FINETUNE_LR_SCALE``). It is not modified; when
        fine-tuning does not beat it on the held-back strip and at full scale
        (:func:`hsi.fusion.gate.keep_if_better`), its weights are what is returned.
    psf_sigma : float or Psf, optional
        The sensor's PSF (default Gaussian σ = ``ratio / 2``; see
        :func:`hsi.fusion.psf.estimate_psf`): it degrades the pair once more and is the GLP
        base's.

    Returns
    -------
    INFN
        Fitted model (eval mode) to apply to ``(lr_hsi, hr_msi)`` at full resolution.

    Raises
    ------
    ShapeError
        When the LR-HSI is smaller than :func:`min_fit_size` (checked before any work).
    Cancelled
        When ``callback`` returns ``True``.
    """
    from hsi.check import check_ratio
    from hsi.device import pick_device, seed_everything

    ratio = check_ratio(ratio)
    lrs = [lr_hsi] if isinstance(lr_hsi, Cube) else list(lr_hsi)
    msis = [hr_msi] if isinstance(hr_msi, Cube) else list(hr_msi)
    if not lrs or len(lrs) != len(msis):
        raise ShapeError(f"fit_scene needs as many HR-MSI as LR-HSI windows (at least one), "
                         f"got {len(lrs)} and {len(msis)}")
    for lr_w in lrs:
        check_fit_size(lr_w.height, lr_w.width, ratio, config, shape=tuple(lr_w.shape))
    dev = pick_device(device)
    seed_everything(seed)
    if init is not None:
        if (init.config.hsi_bands, init.config.msi_bands) != (lrs[0].bands, msis[0].bands):
            raise ShapeError(f"init model is for {init.config.hsi_bands} + "
                             f"{init.config.msi_bands} bands, the pair has {lrs[0].bands} + "
                             f"{msis[0].bands}")
        config = dataclasses.replace(init.config, lr=init.config.lr * FINETUNE_LR_SCALE)
    config = config or InfnConfig()
    config = dataclasses.replace(config, hsi_bands=lrs[0].bands, msi_bands=msis[0].bands,
                                 ratios=(ratio,),
                                 patch=max(config.patch, ratio * min_patch_lr(ratio, config)))
    scenes, held_back, given = [], [], []
    min_lr = min_patch_lr(ratio, config)
    generator = torch.Generator(device=dev).manual_seed(seed)
    for lr_w, msi_w in zip(lrs, msis, strict=True):
        lr = torch.as_tensor(np.asarray(lr_w.data, dtype=np.float32), device=dev)
        msi = torch.as_tensor(np.asarray(msi_w.data, dtype=np.float32), device=dev)
        given.append((lr, msi))  # NaN kept: the full-scale check leaves missing data out
        clean = clean_reduced_pixels(lr, msi, ratio, psf_sigma)
        target, lr_r, msi_r = reduced_pair(torch.nan_to_num(lr), torch.nan_to_num(msi), ratio,
                                           psf_sigma)
        lr_r = with_matched_noise(lr_r, target, generator)
        msi_r = with_matched_noise(msi_r, msi[:, : msi_r.shape[-2], : msi_r.shape[-1]],
                                   generator)
        train_part, val_part = _split_columns(target, lr_r, msi_r, ratio, min_lr)
        scene = make_scene(*train_part, ratio, config.base, dev, psf_sigma)
        if clean is not None:  # patches only where all is data
            scene.clean = clean[:, : scene.lr.shape[-1]]
        scenes.append(scene)
        if val_part is not None:
            held_back.append(make_scene(*val_part, ratio, config.base, dev, psf_sigma))
    lr_hsi, hr_msi = lrs[0], msis[0]
    model = INFN(config)
    start = None
    if init is not None:
        start = {k: v.detach().clone().float() for k, v in init.state_dict().items()}
        model.load_state_dict(start)
    meta = {
        "hsi_wavelengths": lr_hsi.wavelengths,
        "msi_bands": hr_msi.bands,
        "msi_wavelengths": hr_msi.wavelengths,
        "srf": "unknown (scene-fitted)",
        "ratios": [ratio],
        "fitted_on": lr_hsi.name or "scene",
        **as_psf(psf_sigma, ratio).metadata(),
        "seed": seed,
    }
    meta = {k: v for k, v in meta.items() if v is not None}
    sampler = PatchSampler(scenes, ratio, config.patch, seed)
    model = run_training(
        model, sampler, steps=FIT_STEPS if steps is None else int(steps),
        max_minutes=FIT_MINUTES if minutes is None else float(minutes), device=dev,
        progress=progress, meta=meta, desc="INFN fit-scene", callback=callback,
    )
    model.meta["fit_validation"] = keep_if_better(model, held_back, ratio, start, given=given,
                                                  psf_sigma=psf_sigma)
    if init is not None:
        model.meta["fine_tuned_from"] = (init.meta.get("trained_on") or init.meta.get("fitted_on")
                                         or "a trained model")
    return model


def with_matched_noise(reduced: torch.Tensor, given: torch.Tensor,
                       generator: torch.Generator) -> torch.Tensor:
    """Add white noise to a reduced input so that it is as noisy as the given full input.

    Blurring and decimating averages the noise away, so without this the fitted model learns
    from clean inputs at reduced resolution and is applied to noisy ones at full resolution.
    Per band, the added std is ``sqrt(max(s_given**2 - s_reduced**2, 0))``
    (:func:`noise_sigmas` of both), so a noise-free pair gets (almost) nothing.

    Parameters
    ----------
    reduced : torch.Tensor, shape (C, h, w)
        An input degraded once more by :func:`reduced_pair`.
    given : torch.Tensor, shape (C, H, W)
        The same input as given (at its own resolution).
    generator : torch.Generator
        On ``reduced``'s device (seeded: fitting stays reproducible).

    Returns
    -------
    torch.Tensor, shape (C, h, w)
    """
    s_given, s_reduced = noise_sigmas(given), noise_sigmas(reduced)
    extra = np.sqrt(np.maximum(s_given ** 2 - s_reduced ** 2, 0.0)).astype(np.float32)
    if not extra.any():
        return reduced
    std = torch.as_tensor(extra, device=reduced.device)[:, None, None]
    noise = torch.randn(reduced.shape, generator=generator, device=reduced.device,
                        dtype=reduced.dtype)
    return reduced + std.to(reduced.dtype) * noise


def _split_columns(target: torch.Tensor, lr_r: torch.Tensor, msi_r: torch.Tensor, ratio: int,
                   min_lr: int) -> tuple[tuple, tuple | None]:
    """Split a reduced pair into a training part and a held-back right-hand strip.

    The strip is :data:`HOLDOUT_FRACTION` of the reduced LR width (at least ``min_lr`` LR
    pixels); ``None`` when the window is too narrow to spare it and still train.
    """
    w_lr = lr_r.shape[-1]
    hold = max(min_lr, round(w_lr * HOLDOUT_FRACTION))
    cut = w_lr - hold
    if cut < min_lr:
        return (target, lr_r, msi_r), None
    hr_cut = cut * ratio
    train = (target[..., :hr_cut], lr_r[..., :cut], msi_r[..., :hr_cut])
    val = (target[..., hr_cut:], lr_r[..., cut:], msi_r[..., hr_cut:])
    return train, val
