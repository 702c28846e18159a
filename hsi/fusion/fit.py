"""Scene fitting: train INFN on one scene's own pair, degraded once more, then apply it.

The analyst's usual case has no high-resolution reference. Wald's protocol is applied to the
given pair itself: the LR-HSI (h × w) and the HR-MSI (H × W) are both blurred with the PSF
(σ = ratio / 2) and decimated by the ratio, giving an (h/r × w/r) HSI and an (h × w) MSI; INFN
learns to recover the given LR-HSI from them, and the fitted model is then applied to the
given pair at full resolution (scale invariance assumption).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from hsi.cube import Cube
from hsi.errors import ShapeError
from hsi.fusion.config import InfnConfig
from hsi.fusion.infn import INFN
from hsi.fusion.train import PatchSampler, make_scene, run_training

#: Default budget of ``--fit-scene``: a 512×512 HR-MSI in about 3 minutes on a 2-core CPU.
FIT_STEPS = 600
FIT_MINUTES = 3.0


def reduced_pair(lr: torch.Tensor, msi: torch.Tensor, ratio: int,
                 psf_sigma: float | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
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
    from hsi.degrade import wald_degradation

    h, w = (lr.shape[-2] // ratio) * ratio, (lr.shape[-1] // ratio) * ratio
    if h < 2 * ratio or w < 2 * ratio:
        raise ShapeError(
            f"--fit-scene needs an LR-HSI of at least {2 * ratio}×{2 * ratio} pixels at ratio "
            f"{ratio}, got {lr.shape[-2]}×{lr.shape[-1]}",
            actual_shape=tuple(lr.shape),
            expected_shape=("bands", f">={2 * ratio}", f">={2 * ratio}"),
        )
    target = lr[:, :h, :w]
    degrade = wald_degradation(ratio, psf_sigma)
    with torch.no_grad():
        lr_r = degrade(target)
        msi_r = degrade(msi[:, : h * ratio, : w * ratio])
    return target, lr_r, msi_r


def fit_scene(
    lr_hsi: Cube,
    hr_msi: Cube,
    *,
    ratio: int,
    config: InfnConfig | None = None,
    steps: int | None = None,
    minutes: float | None = None,
    seed: int = 0,
    device="auto",
    progress: bool = True,
) -> INFN:
    """Fit INFN to one scene at reduced resolution.

    Parameters
    ----------
    lr_hsi : Cube, shape (C, h, w)
        LR-HSI, already normalised (as :func:`hsi.fusion.fuse` does) or raw.
    hr_msi : Cube, shape (m, H, W)
        HR-MSI on a grid ``ratio`` times finer.
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

    Returns
    -------
    INFN
        Fitted model (eval mode) to apply to ``(lr_hsi, hr_msi)`` at full resolution.

    Raises
    ------
    ShapeError
        When the LR-HSI is smaller than twice the ratio.
    """
    from hsi.check import check_ratio
    from hsi.device import pick_device, seed_everything

    ratio = check_ratio(ratio)
    dev = pick_device(device) if isinstance(device, str) else torch.device(device)
    seed_everything(seed)
    lr = torch.as_tensor(np.asarray(lr_hsi.data, dtype=np.float32), device=dev)
    msi = torch.as_tensor(np.asarray(hr_msi.data, dtype=np.float32), device=dev)
    target, lr_r, msi_r = reduced_pair(torch.nan_to_num(lr), torch.nan_to_num(msi), ratio)
    config = dataclasses.replace(config or InfnConfig(), hsi_bands=lr_hsi.bands,
                                 msi_bands=hr_msi.bands, ratios=(ratio,))
    scene = make_scene(target, lr_r, msi_r, ratio, config.base, dev)
    model = INFN(config)
    meta = {
        "hsi_wavelengths": lr_hsi.wavelengths,
        "msi_bands": hr_msi.bands,
        "msi_wavelengths": hr_msi.wavelengths,
        "srf": "unknown (scene-fitted)",
        "ratios": [ratio],
        "fitted_on": lr_hsi.name or "scene",
        "seed": seed,
    }
    meta = {k: v for k, v in meta.items() if v is not None}
    sampler = PatchSampler([scene], ratio, config.patch, seed)
    return run_training(
        model, sampler, steps=FIT_STEPS if steps is None else int(steps),
        max_minutes=FIT_MINUTES if minutes is None else float(minutes), device=dev,
        progress=progress, meta=meta, desc="INFN fit-scene",
    )
