"""Training INFN by Wald's protocol: random patches, flips/rotations, L1 loss, Adam + cosine LR.

:func:`train_infn` trains on reference cubes (each degraded to an LR-HSI / HR-MSI pair by
:func:`hsi.degrade.simulate_pair`); :func:`hsi.fusion.fit.fit_scene` reuses the same loop on
a scene's own pair degraded once more. Checkpoints are written atomically every
``config.checkpoint_every`` steps and at the end, with the optimizer state and step so that a
run can be resumed.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.nn import functional as F

from hsi.cube import Cube
from hsi.degrade import Psf
from hsi.errors import ModelError, ShapeError, WavelengthError, naming
from hsi.fusion.checkpoints import save_infn
from hsi.fusion.config import InfnConfig
from hsi.fusion.infn import INFN, autocast_for, base_image
from hsi.interrupts import interrupts_deferred
from hsi.progress import ProgressCallback, progress_bar, report_progress

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from hsi.srf import SRF

log = logging.getLogger("hsi.fusion")

#: Defaults of ``hsi fusion train``: about 10 minutes on a 2-core CPU.
DEFAULT_STEPS = 3000
DEFAULT_MINUTES = 10.0


@dataclass
class TrainScene:
    """One training pair on the device, normalised.

    Attributes
    ----------
    target : (C, H, W) reference the model must output
    lr : (C, h, w) LR-HSI
    msi : (m, H, W) HR-MSI
    base : (C, H, W) base image of ``lr``/``msi``
    clean : (h, w) bool, optional
        LR pixels whose patch content is all data (see :func:`clean_lr_pixels`); patches are
        drawn only where every LR pixel is clean. ``None``: everywhere.
    """

    target: torch.Tensor
    lr: torch.Tensor
    msi: torch.Tensor
    base: torch.Tensor
    clean: torch.Tensor | None = None


def make_scene(target: np.ndarray | torch.Tensor, lr: np.ndarray | torch.Tensor,
               msi: np.ndarray | torch.Tensor, ratio: int, base_kind: str,
               device: str | torch.device, psf_sigma: float | Psf | None = None) -> TrainScene:
    """Move a pair to ``device`` (float32) and compute its base image once for all patches.

    ``target`` and ``msi`` are cropped to ``lr``'s size × ``ratio``; ``psf_sigma`` is the GLP
    base's PSF (σ in HR pixels or a :class:`~hsi.degrade.Psf`, default σ = ``ratio / 2``).
    """
    to = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32), device=device)  # noqa: E731
    lr_t = torch.nan_to_num(to(lr))
    h, w = lr_t.shape[-2:]
    H, W = h * ratio, w * ratio
    tgt = torch.nan_to_num(to(target))[:, :H, :W]
    msi_t = torch.nan_to_num(to(msi))[:, :H, :W]
    with torch.no_grad():
        base = base_image(lr_t[None], msi_t[None], ratio, base_kind, psf_sigma=psf_sigma)[0]
    return TrainScene(tgt, lr_t, msi_t, base)


class PatchSampler:
    """Random aligned patches (HR ``patch`` px, LR ``patch / ratio``) with flips and rot90.

    Parameters
    ----------
    scenes : list of TrainScene
    ratio : int
    patch : int
        HR patch size; lowered to the smallest scene and rounded to a multiple of ``ratio``.
    seed : int
        Seed of the sampler's own generator (reproducible batches).
    """

    def __init__(self, scenes: list[TrainScene], ratio: int, patch: int, seed: int) -> None:
        self.scenes, self.ratio = scenes, int(ratio)
        smallest = min(min(s.lr.shape[-2:]) for s in scenes)
        self.lr_patch = max(1, min(patch // self.ratio, smallest))
        self.rng = np.random.default_rng(seed)
        # the patch corners allowed in each scene (None: all): those of all-clean patches
        self.corners = [None if s.clean is None else _clean_corners(s.clean, self.lr_patch)
                        for s in scenes]
        if all(c is not None and len(c) == 0 for c in self.corners):  # nothing clean: all
            self.corners = [None] * len(scenes)
        sizes = np.array([s.lr.shape[-1] * s.lr.shape[-2] if c is None else len(c)
                          for s, c in zip(scenes, self.corners, strict=True)], dtype=np.float64)
        self.p = sizes / sizes.sum()

    def batch(self, n: int) -> tuple[torch.Tensor, ...]:
        """Return ``(target, lr, msi, base)`` batches, shapes ``(n, bands, ·, ·)``."""
        out: list[list[torch.Tensor]] = [[], [], [], []]
        p, r = self.lr_patch, self.ratio
        for _ in range(n):
            pick = int(self.rng.choice(len(self.scenes), p=self.p))
            s, corners = self.scenes[pick], self.corners[pick]
            if corners is None:
                h, w = s.lr.shape[-2:]
                i = int(self.rng.integers(0, h - p + 1))
                j = int(self.rng.integers(0, w - p + 1))
            else:
                i, j = (int(v) for v in corners[int(self.rng.integers(0, len(corners)))])
            k, flip = int(self.rng.integers(0, 4)), bool(self.rng.integers(0, 2))
            hi, hj, hp = i * r, j * r, p * r
            parts = (s.target[:, hi:hi + hp, hj:hj + hp], s.lr[:, i:i + p, j:j + p],
                     s.msi[:, hi:hi + hp, hj:hj + hp], s.base[:, hi:hi + hp, hj:hj + hp])
            for lst, a in zip(out, parts, strict=True):
                a = torch.rot90(a, k, dims=(-2, -1))
                lst.append(torch.flip(a, dims=(-1,)) if flip else a)
        return tuple(torch.stack(lst) for lst in out)


def _clean_corners(clean: torch.Tensor, p: int) -> np.ndarray:
    """``(n, 2)`` top-left corners ``(i, j)`` of the ``p × p`` windows of ``clean`` (h, w) that
    are all True (a summed-area table of the unclean pixels)."""
    bad = np.pad((~clean.cpu().numpy()).astype(np.int64), ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    counts = bad[p:, p:] - bad[:-p, p:] - bad[p:, :-p] + bad[:-p, :-p]
    return np.argwhere(counts == 0)


@dataclass
class Augmentation:
    """Realistic-protocol augmentation of the simulated training pairs.

    Attributes
    ----------
    realizations : int
        Pairs simulated per reference cube (each with its own PSF σ and noise).
    sigma_jitter : float
        PSF σ drawn uniformly in ``nominal × [1 − jitter, 1 + jitter]``.
    lr_snr_db, msi_snr_db : (float, float)
        Ranges of the per-band SNR (dB) of the white noise added to the LR-HSI and HR-MSI.
    box_probability : float
        Chance that a realization's PSF is a square box (width drawn from ``box_widths``, HR
        pixels) instead of a jittered Gaussian: a non-Gaussian PSF the GLP base does not assume.
    box_widths : tuple of int
        Odd box widths (centred without a half-pixel shift).
    srf_shift_nm : float
        Each realization sees the sensor through perturbed response curves: every band's curve
        shifted by up to ± this many nm and its width scaled by up to ``srf_width_jitter``
        (a camera the model never saw stays in reach; 0 keeps the sensor's own curves).
    srf_width_jitter : float
        Width factor drawn log-uniformly in ``[1 / (1 + j), 1 + j]``.
    clean_pairs : int
        Noise-free pairs per reference cube, simulated with the sensor's own curves and the
        nominal Gaussian PSF, added to the ``realizations`` (keeps the ideal case in the mix).
    estimated_base_psf : bool
        Build each pair's GLP base with the PSF (σ and shift) estimated from the pair
        (:func:`hsi.fusion.psf.estimate_psf`), as :func:`hsi.fusion.fuse` does by default,
        instead of the nominal σ: the model learns on the base image it will be given.
    misregistration : float
        Each Gaussian-PSF realization's PSF centre is moved off the LR block centre by a
        shift drawn uniformly in ``± misregistration`` HR pixels per axis: the two sensors'
        sub-pixel misregistration (:class:`~hsi.degrade.Psf`). 0 draws nothing.
    denoise_lr : bool
        Denoise each pair's LR-HSI across bands as :func:`hsi.fusion.fuse` does by default
        (:mod:`hsi.fusion.denoise`; pairs whose estimated SNR is 45 dB or more stay as they
        are), so the model learns on the LR-HSI it will be given.
    """

    realizations: int = 2
    sigma_jitter: float = 0.3
    lr_snr_db: tuple = (30.0, 45.0)
    msi_snr_db: tuple = (35.0, 50.0)
    box_probability: float = 0.0
    box_widths: tuple = (3, 5)
    srf_shift_nm: float = 0.0
    srf_width_jitter: float = 0.3
    clean_pairs: int = 0
    estimated_base_psf: bool = False
    misregistration: float = 0.0
    denoise_lr: bool = False

    def sigma(self, nominal: float, rng: np.random.Generator) -> float:
        """A PSF σ (HR pixels) around ``nominal``."""
        return float(nominal * rng.uniform(1 - self.sigma_jitter, 1 + self.sigma_jitter))

    def camera(self, srf: SRF, rng: np.random.Generator, wavelengths: ArrayLike) -> object:
        """``srf`` with each band's curve shifted and widened at random (see the attributes).

        Draws again (up to 10 times) when a perturbed band leaves ``wavelengths``; returns
        ``srf`` itself when ``srf_shift_nm`` is 0 or no draw fits.
        """
        from hsi.errors import SensorError
        from hsi.srf import SRF

        if self.srf_shift_nm <= 0:
            return srf
        wl = np.asarray(srf.wavelengths, dtype=np.float64)
        for _ in range(10):
            curves = []
            for c in srf.curves:
                centre = float((wl * c).sum() / c.sum())
                shift = rng.uniform(-self.srf_shift_nm, self.srf_shift_nm)
                width = float(np.exp(rng.uniform(-1, 1) * np.log1p(self.srf_width_jitter)))
                curves.append(np.interp(centre + (wl - centre - shift) / width, wl, c,
                                        left=0.0, right=0.0))
            try:
                cam = SRF(wl, np.asarray(curves), band_names=list(srf.band_names),
                          name=f"{srf.name} (perturbed)")
                with warnings.catch_warnings():
                    warnings.simplefilter("error")  # a truncated band: draw again
                    cam.matrix(wavelengths)
                return cam
            except (SensorError, UserWarning):
                continue
        return srf

    def psf(self, sigma: float, rng: np.random.Generator) -> Psf:
        """A Gaussian PSF of ``sigma`` whose centre is shifted at random (``misregistration``)."""
        if self.misregistration <= 0:
            return Psf(sigma)
        shift = rng.uniform(-self.misregistration, self.misregistration, 2)
        return Psf(sigma, (float(shift[0]), float(shift[1])))

    def box_width(self, rng: np.random.Generator) -> int | None:
        """The width of a box PSF for this realization, or ``None`` for a Gaussian one."""
        if self.box_probability <= 0 or rng.uniform() >= self.box_probability:
            return None
        return int(rng.choice(self.box_widths))

    def noisy(self, cube: Cube, rng: np.random.Generator, hr: bool = False) -> Cube:
        """``cube`` plus white Gaussian noise at an SNR drawn from the LR or HR range."""
        lo, hi = self.msi_snr_db if hr else self.lr_snr_db
        snr = rng.uniform(lo, hi)
        x = np.asarray(cube.data, dtype=np.float32)
        power = np.mean(x.astype(np.float64) ** 2, axis=(1, 2), keepdims=True)
        noise = rng.standard_normal(x.shape) * np.sqrt(power / 10 ** (snr / 10.0))
        return cube.with_data((x + noise).astype(np.float32))


def _lr_at(progress: float, lr0: float) -> float:
    """Cosine annealing from ``lr0`` to ``lr0 / 20`` as ``progress`` goes 0 -> 1."""
    lo = lr0 / 20.0
    return lo + (lr0 - lo) * 0.5 * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


#: Steps of linear learning-rate warm-up at the start of a run (at most a tenth of its steps).
#: INFN's head starts at zero, so Adam's first step, about ``lr`` on every head weight whatever
#: its gradient, gives the residual a jump (the training L1 up from 0.0058 to 0.0094 on the
#: Salinas-A crop) that the next steps undo by switching the hidden ReLU units off, until
#: none is left to feed the head and the model stays at its base image: seed 0 of the 32-wide
#: Salinas-A / Sentinel-2 setup (``tests/fusion/test_training_start.py``) kept 1 of 32 units
#: active after 20 steps (none from step 30) and gained -0.006 dB over bicubic after 200; with
#: a 20-step warm-up 13 to 26 of 32 stay active over steps 10-60 and it gains +2.4 dB (seeds
#: 0-9: mean +2.76 -> +4.13 dB, worst -0.006 -> +2.42 dB, 2026-12-05).
WARMUP_STEPS = 20


def _warmup(step: int, steps: int) -> float:
    """Learning-rate factor of step ``step`` (0-based) of a ``steps``-step run: rising
    linearly to 1 over the first ``min(WARMUP_STEPS, steps // 10)`` steps, 1 after them (and
    throughout runs of fewer than 10 steps)."""
    n = min(WARMUP_STEPS, int(steps) // 10)
    return 1.0 if n <= 0 or step >= n else (step + 1) / n


def run_training(
    model: INFN,
    sampler: PatchSampler,
    *,
    steps: int,
    max_minutes: float | None,
    device: torch.device,
    progress: bool = True,
    out_path: str | os.PathLike | None = None,
    meta: dict | None = None,
    train_state: dict | None = None,
    desc: str = "INFN",
    callback: ProgressCallback | None = None,
) -> INFN:
    """The training loop shared by :func:`train_infn` and :func:`~hsi.fusion.fit.fit_scene`.

    The learning rate follows a cosine from ``config.lr`` to a twentieth of it over the larger
    of ``step / steps`` and the fraction of this call's time budget spent, so a time-limited
    run still anneals; over the first steps of the run (:data:`WARMUP_STEPS`, counted from
    step 0, so a resumed run is not warmed up again) it is scaled by a linear warm-up.
    ``max_minutes`` limits this call (a resumed run gets a new budget). Only
    a run that stops on ``steps`` is bit-reproducible (a time budget makes the step count vary).

    ``callback(done, steps)`` (see :mod:`hsi.progress`) is called before the first step and
    after every step, and once with ``(steps, steps)`` when the time budget ends the run early;
    when it returns ``True`` the run stops at once with :class:`~hsi.errors.Cancelled`: no
    final checkpoint is written (the last periodic one, written atomically, stays valid for
    ``resume_from``), the optimizer state and gradients are dropped.

    On a CPU torch uses :data:`hsi.device.SMALL_MODEL_THREADS` threads meanwhile
    (:func:`hsi.device.cpu_threads`; 150 fitting steps on Salinas-A with one core busy
    elsewhere: 7.0 s on 1 thread, 106 s on 2).
    """
    from hsi.device import SMALL_MODEL_THREADS, cpu_threads

    with cpu_threads(SMALL_MODEL_THREADS, device):
        return _run_training(model, sampler, steps=steps, max_minutes=max_minutes,
                             device=device, progress=progress, out_path=out_path, meta=meta,
                             train_state=train_state, desc=desc, callback=callback)


def _run_training(model: INFN, sampler: PatchSampler, *, steps: int,
                  max_minutes: float | None, device: torch.device, progress: bool,
                  out_path: str | os.PathLike | None, meta: dict | None,
                  train_state: dict | None, desc: str,
                  callback: ProgressCallback | None) -> INFN:
    """:func:`run_training`, on the threads torch has."""

    c = model.config
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=c.lr)
    step, elapsed0 = 0, 0.0
    if train_state:
        step = int(train_state.get("step", 0))
        elapsed0 = float(train_state.get("elapsed_s", 0.0))
        if train_state.get("optimizer"):
            opt.load_state_dict(_optimizer_state(train_state["optimizer"]))
        if train_state.get("sampler_state"):  # the same patches an uninterrupted run draws
            sampler.rng.bit_generator.state = _from_text(train_state["sampler_state"])
    use_scaler = device.type == "cuda" and not torch.cuda.is_bf16_supported()
    scaler = torch.amp.GradScaler("cuda") if use_scaler else None
    budget = None if max_minutes is None else float(max_minutes) * 60.0
    start = time.perf_counter()
    bar = progress_bar(total=steps, initial=step, desc=desc, disable=not progress,
                       leave=False, dynamic_ncols=True)

    saved = step  # the step the checkpoint at out_path holds (or the run started from)

    def save() -> None:
        nonlocal saved
        if out_path is not None:
            state = {"step": step, "elapsed_s": elapsed0 + time.perf_counter() - start,
                     "steps": steps, "optimizer": opt.state_dict(),
                     "sampler_state": _to_text(sampler.rng.bit_generator.state)}
            save_infn(out_path, model, meta={**(meta or {}), "steps_done": step},
                      train_state=state)
            saved = step

    f0 = step / steps if steps else 1.0
    try:
        report_progress(callback, step, steps, desc)
        while step < steps:
            elapsed = time.perf_counter() - start
            if budget is not None and elapsed >= budget:
                break
            frac = step / steps
            if budget is not None:  # a time-limited run anneals over what is left of it
                frac = max(frac, f0 + (1.0 - f0) * elapsed / budget)
            for group in opt.param_groups:
                group["lr"] = _lr_at(frac, c.lr) * _warmup(step, steps)
            with interrupts_deferred():  # Ctrl-C between steps: a resumable state
                target, lr, msi, base = sampler.batch(c.batch)
                with autocast_for(device):
                    pred = model(lr, msi, ratio=sampler.ratio, base=base)
                loss = F.l1_loss(pred.float(), target)
                opt.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(opt)
                    scaler.update()
                else:
                    loss.backward()
                    opt.step()
                step += 1
            bar.update(1)
            if step % 20 == 0:
                bar.set_postfix(l1=f"{loss.item():.4f}")
            if out_path is not None and c.checkpoint_every and step % c.checkpoint_every == 0:
                save()
            report_progress(callback, step, steps, desc)
        if step < steps:  # the time budget ended the run: the job is complete
            report_progress(callback, steps, steps, desc)
    except KeyboardInterrupt:  # Ctrl-C: keep the steps done since the last checkpoint
        if out_path is not None and step > saved:
            save()  # atomic: a second Ctrl-C leaves the last checkpoint as it was
        opt.state.clear()
        model.zero_grad(set_to_none=True)
        raise
    except BaseException:  # Cancelled, errors: free the optimizer's device memory now
        opt.state.clear()
        model.zero_grad(set_to_none=True)
        raise
    finally:
        bar.close()
    model.meta = dict(meta or {})
    model.meta["steps_done"] = step
    if out_path is not None:
        save()
    return model.eval()


def _to_text(state: Any) -> Any:
    """A numpy bit-generator state with its (128-bit) integers as strings, for checkpoints."""
    if isinstance(state, dict):
        return {k: _to_text(v) for k, v in state.items()}
    return str(state) if isinstance(state, int) and not isinstance(state, bool) else state


def _from_text(state: Any) -> Any:
    """Undo :func:`_to_text`."""
    if isinstance(state, dict):
        return {k: _from_text(v) for k, v in state.items()}
    return int(state) if isinstance(state, str) and state.lstrip("-").isdigit() else state


def _optimizer_state(state: dict) -> dict:
    """Undo the str keys that checkpoint metadata gives the optimizer's per-parameter state."""
    state = dict(state)
    state["state"] = {int(k): v for k, v in state.get("state", {}).items()}
    return state


def check_trainable_size(cube: Cube, ratio: int, config: InfnConfig | None = None) -> None:
    """Refuse, naming the cube (its file), a reference cube whose LR-HSI at ``ratio`` would be
    smaller than INFN's filters accept (:func:`hsi.fusion.infn.min_patch_lr`: its LR high-pass
    needs 4×4 LR pixels), before any training.

    Raises
    ------
    ShapeError
        ``"data/small.tif: 12×12 pixels give an LR-HSI of 3×3 at ratio 4, ..."``.
    """
    from hsi.fusion.infn import min_patch_lr

    need = min_patch_lr(ratio, config)
    h, w = cube.height // ratio, cube.width // ratio
    if h < need or w < need:
        raise ShapeError(f"{cube.name or 'cube'}: {cube.height}×{cube.width} pixels give an "
                         f"LR-HSI of {h}×{w} at ratio {ratio}, too small for INFN (its filters "
                         f"need at least {need}×{need} LR pixels): use a cube of at least "
                         f"{need * ratio}×{need * ratio} pixels or a smaller ratio",
                         actual_shape=cube.shape,
                         expected_shape=("bands", f">={need * ratio}", f">={need * ratio}"))


def training_pairs(
    ref: Cube,
    ratio: int,
    srf: SRF,
    psf_sigma: float | Psf | None,
    augment: Augmentation | None,
    rng: np.random.Generator,
    device: str | torch.device,
) -> list[tuple[Cube, Cube]]:
    """The simulated (LR-HSI, HR-MSI) pairs of one reference cube.

    Without ``augment``: one pair through ``srf`` and the nominal Gaussian PSF (σ =
    ``psf_sigma``, default ``ratio / 2`` HR pixels). With it: ``augment.realizations`` pairs,
    each with its own PSF (jittered Gaussian, off-centre with ``augment.misregistration``, or
    box), perturbed camera and noise, then
    ``augment.clean_pairs`` noise-free nominal pairs.
    """
    from hsi.degrade import blur_decimate, crop_to_ratio, kernel_blur_decimate, simulate_pair

    nominal = ratio / 2.0 if psf_sigma is None else float(psf_sigma)
    pairs = []
    count = augment.realizations + augment.clean_pairs if augment else 1
    for i in range(count):
        aug = augment if augment and i < augment.realizations else None
        sigma = aug.sigma(nominal, rng) if aug else psf_sigma
        camera = aug.camera(srf, rng, ref.wavelengths) if aug else srf
        lr, msi = simulate_pair(ref, ratio, camera, sigma, device=device)
        box = aug.box_width(rng) if aug else None
        shifted = aug.psf(sigma, rng) if aug and box is None else None
        if box is not None or (shifted is not None and any(shifted.shift)):
            x = torch.as_tensor(crop_to_ratio(ref, ratio).data, dtype=torch.float32)
            if box is not None:  # the same pair seen through a box PSF
                lr_x = kernel_blur_decimate(x, torch.full((box, box), 1.0 / box**2), ratio)
            else:  # ... or through its Gaussian off the block centre (misregistered)
                lr_x = blur_decimate(x, shifted, ratio)
            lr = lr.with_data(lr_x.numpy())
        if aug:
            lr, msi = aug.noisy(lr, rng), aug.noisy(msi, rng, hr=True)
        pairs.append((lr, msi))
    return pairs


def model_input(lr: Cube, augment: Augmentation | None) -> Cube:
    """One training pair's LR-HSI as the model will see it (denoised with
    ``augment.denoise_lr``, as :func:`hsi.fusion.fuse` does by default)."""
    if not (augment and augment.denoise_lr):
        return lr
    from hsi.fusion.denoise import denoiser_for

    x = torch.as_tensor(np.asarray(lr.data, dtype=np.float32))
    den = denoiser_for(True, x)
    return lr if den is None else lr.with_data(den(x).numpy())


def base_psf(lr: Cube, msi: Cube, ratio: int, psf_sigma: float | Psf | None,
             augment: Augmentation | None) -> float | Psf | None:
    """The PSF of one training pair's GLP base.

    Estimated from the pair (σ and shift, :func:`hsi.fusion.psf.estimate_psf`, as
    :func:`hsi.fusion.fuse` does by default, without its notice) when
    ``augment.estimated_base_psf``; otherwise ``psf_sigma`` (``None``: the nominal
    ``ratio / 2``).
    """
    if not (augment and augment.estimated_base_psf):
        return psf_sigma
    from hsi.fusion.psf import estimate_psf

    as_tensor = lambda c: torch.as_tensor(np.asarray(c.data, dtype=np.float32))  # noqa: E731
    return estimate_psf(as_tensor(lr), as_tensor(msi), ratio)


#: Largest difference (nm) between band centres taken to be the same band.
WAVELENGTH_TOLERANCE_NM = 1.0


def _wavelength_gap(a: ArrayLike | None, b: ArrayLike | None) -> float:
    """Largest difference (nm) between two same-length wavelength lists (0 when one is None)."""
    if a is None or b is None:
        return 0.0
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def _checked_train_state(path: str | os.PathLike, train_state: object,
                         model: INFN) -> dict | None:
    """``train_state`` of checkpoint ``path`` once it is known to fit ``model``.

    Raises
    ------
    ModelError
        The step is not a count, or the optimizer or sampler state does not fit the model
        (a damaged checkpoint, or one edited by hand), rather than a failure of torch's.
    """
    if train_state is None:
        return None

    def refuse(why: str) -> ModelError:
        return ModelError(f"{path}: malformed checkpoint: its training state cannot be resumed "
                          f"({why}); start a new run")

    if not isinstance(train_state, dict):
        raise refuse(f"a {type(train_state).__name__}, not a mapping")
    try:
        step = int(train_state.get("step", 0))
        float(train_state.get("elapsed_s", 0.0))
        if "steps" in train_state:
            int(train_state["steps"])
        if step < 0:
            raise refuse(f"step {step} < 0")
        if train_state.get("optimizer"):
            probe = torch.optim.Adam(model.parameters(), lr=model.config.lr)
            probe.load_state_dict(_optimizer_state(train_state["optimizer"]))
        if train_state.get("sampler_state"):
            np.random.default_rng().bit_generator.state = _from_text(
                train_state["sampler_state"])
    except ModelError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise refuse(why) from None
    return train_state


def _check_resumable(path: str | os.PathLike, config: dict, meta: dict, *,
                     given: InfnConfig | None, srf: SRF, psf_sigma: float,
                     wavelengths: ArrayLike | None = None) -> None:
    """Refuse to resume a run with another sensor, PSF, base image or cube wavelengths than
    it was started with (the weights would not load, or would go on learning another task).

    Raises
    ------
    ModelError
        Naming each difference, e.g. ``"the checkpoint's sensor is sentinel2 (13 MSI bands),
        not landsat8 (7)"``.
    """
    from hsi.errors import ModelError

    problems = []
    if int(config.get("msi_bands", srf.msi_bands)) != srf.msi_bands or (
            meta.get("srf") not in (None, srf.name)):
        problems.append(f"the checkpoint's sensor is {meta.get('srf')} ({config.get('msi_bands')}"
                        f" MSI bands), not {srf.name} ({srf.msi_bands})")
    if meta.get("psf_sigma") is not None and abs(float(meta["psf_sigma"]) - psf_sigma) > 1e-6:
        problems.append(f"its PSF σ is {float(meta['psf_sigma']):g}, not {psf_sigma:g}")
    if given is not None and config.get("base") not in (None, given.base):
        problems.append(f"its base image is {config['base']}, not {given.base}")
    gap = _wavelength_gap(meta.get("hsi_wavelengths"), wavelengths)
    if gap > WAVELENGTH_TOLERANCE_NM:
        problems.append(f"its cubes' wavelengths differ from these by up to {gap:.1f} nm "
                        "(another HSI sensor?)")
    if problems:
        raise ModelError(f"{path}: a resumed run keeps what it was started with: "
                         + "; ".join(problems))


def train_infn(
    cubes: list[Cube],
    *,
    srf: SRF | str | os.PathLike,
    ratio: int,
    config: InfnConfig | None = None,
    steps: int | None = None,
    max_minutes: float | None = DEFAULT_MINUTES,
    seed: int = 0,
    device: str | torch.device = "auto",
    resume_from: str | os.PathLike | None = None,
    out_path: str | os.PathLike | None = None,
    progress: bool = True,
    psf_sigma: float | Psf | None = None,
    callback: ProgressCallback | None = None,
    augment: Augmentation | None = None,
    validation: list[Cube] | None = None,
) -> INFN:
    """Train INFN on reference cubes by Wald's protocol.

    Each cube is scaled to reflectance (:func:`hsi.degrade.normalize_reflectance`) and degraded
    to an LR-HSI / HR-MSI pair (:func:`hsi.degrade.simulate_pair`: Gaussian PSF σ = ratio / 2,
    decimation, the sensor's SRF); the pair is normalised the way :func:`hsi.fusion.fuse`
    normalises its inputs; random aligned patches with flips/rot90 train the model with an L1
    loss.

    Parameters
    ----------
    cubes : list of Cube, each (bands, H, W)
        Reference hyperspectral cubes, same band count, with wavelengths in nm.
    srf : SRF or str
        The multispectral sensor (preset name, SRF file or :class:`hsi.degrade.SRF`).
    ratio : int
        Spatial ratio (integer >= 2).
    config : InfnConfig, optional
        Architecture and training settings; band counts and ratio are filled in.
    steps : int, optional
        Optimiser steps (default :data:`DEFAULT_STEPS`).
    max_minutes : float or None
        Wall-clock budget; training stops when it is spent (``None``: no limit).
    seed : int
        Seeds weights and patch sampling.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    resume_from : path, optional
        Checkpoint to continue from (weights, config, optimizer state and step).
    out_path : path, optional
        Checkpoint written every ``config.checkpoint_every`` steps and at the end.
    progress : bool
        Show a tqdm bar on stderr.
    psf_sigma : float, optional
        Gaussian PSF sigma of the simulated pairs in HR pixels (default ``ratio / 2``).
    callback : callable, optional
        ``callback(done_steps, total_steps)``, called before the first step and after each
        step (:mod:`hsi.progress`); return ``True`` from it to stop training.
    augment : Augmentation, optional
        Realistic-protocol augmentation: each cube is degraded ``augment.realizations`` times
        with a PSF σ drawn around the nominal one and white noise on both inputs.
    validation : list of Cube, optional
        Scenes kept out of training (same bands) that decide, after training, whether the
        network's residual is kept: each is degraded like the training cubes (no
        augmentation), and when the trained model's PSNR over them is below its own base
        image's, the residual head is zeroed, so the model returns its base image
        (:func:`hsi.fusion.gate.keep_if_better`). The scores are in
        ``meta["validation"]``; the final checkpoint at ``out_path`` holds the validated
        weights (a run resumed from it continues from them).

    Returns
    -------
    INFN
        The trained model (eval mode) with its sensor metadata in ``.meta``.

    Raises
    ------
    Cancelled
        When ``callback`` returns ``True`` (``out_path`` then holds the last periodic
        checkpoint, if any, never a partial file).
    WavelengthError
        When the cubes (or ``validation`` cubes) have no wavelengths or differ in band count
        or in wavelengths (by more than :data:`WAVELENGTH_TOLERANCE_NM`).
    ModelError
        When ``resume_from`` is for other bands, wavelengths, sensor, PSF or another ratio,
        or is malformed (missing config, weights or training state that do not fit).
    ShapeError
        When a cube (or ``validation`` cube) is too small for INFN at ``ratio``
        (:func:`check_trainable_size`, before any training) or for the PSF; the message
        starts with the cube's name (its file).
    """
    from hsi.check import check_ratio
    from hsi.checkpoint import config_from_dict, load_checkpoint
    from hsi.degrade import (
        load_srf,
        normalize_reflectance,
    )
    from hsi.device import pick_device, seed_everything

    if not cubes:
        raise WavelengthError("train_infn needs at least one reference cube")
    ratio = check_ratio(ratio)
    dev = pick_device(device)
    seed_everything(seed)
    srf = load_srf(srf)
    bands = cubes[0].bands
    for cube in cubes:
        if cube.wavelengths is None:
            raise WavelengthError(f"cube {cube.name!r} has no wavelengths: cannot simulate "
                                  f"the {srf.name} MSI")
        if cube.bands != bands:
            raise WavelengthError(f"training cubes differ in band count: {cubes[0].name!r} has "
                                  f"{bands}, {cube.name!r} has {cube.bands}")
        gap = _wavelength_gap(cube.wavelengths, cubes[0].wavelengths)
        if gap > WAVELENGTH_TOLERANCE_NM:
            raise WavelengthError(f"training cubes differ in wavelengths: {cube.name!r} is up "
                                  f"to {gap:.1f} nm off {cubes[0].name!r} (another sensor?); "
                                  "one model learns one sensor's bands")
    # without the bands the cubes' sampling does not observe (a gap of removed water bands):
    # the MSI the pairs get, and what the checkpoint records as its sensor; "cube: SRF ..."
    # names the first cube (its file), whose wavelengths these are
    with naming(**({"cube": cubes[0].name} if cubes[0].name else {})):
        srf = srf.for_cube(cubes[0].wavelengths)

    train_state, state_dict, given = None, None, config
    if resume_from is not None and Path(resume_from).is_file():
        ckpt = load_checkpoint(resume_from, "infn")
        config = config_from_dict(InfnConfig, ckpt["config"], resume_from)
        train_state = ckpt["meta"].get("train_state")
        state_dict = ckpt["state_dict"]
        if config.hsi_bands != bands or ratio not in config.ratios:
            raise ModelError(f"{resume_from}: checkpoint is for {config.hsi_bands} bands at x"
                             f"{'/x'.join(map(str, config.ratios))}, got {bands} bands at x{ratio}")
        _check_resumable(resume_from, ckpt["config"], ckpt["meta"], given=given, srf=srf,
                         psf_sigma=ratio / 2.0 if psf_sigma is None else float(psf_sigma),
                         wavelengths=cubes[0].wavelengths)

    # before any work: a cube whose LR-HSI would be smaller than INFN's filters accept
    for cube in [*cubes, *(validation or [])]:
        check_trainable_size(cube, ratio, config)
    scenes, scales = [], []
    msi_bands = srf.msi_bands
    rng = np.random.default_rng(seed)
    for cube in cubes:
        ref, _ = normalize_reflectance(cube.compute())
        for lr, msi in training_pairs(ref, ratio, srf, psf_sigma, augment, rng, dev):
            lr_n, s_lr = normalize_reflectance(model_input(lr, augment))
            msi_n, s_msi = normalize_reflectance(msi)
            scales.append([s_lr, s_msi])
            target = np.asarray(ref.data, dtype=np.float32) / np.float32(s_lr)
            msi_bands = msi.bands
            cfg_base = (config or InfnConfig()).base
            base_sigma = base_psf(lr_n, msi_n, ratio, psf_sigma, augment)
            scenes.append(make_scene(target, lr_n.data, msi_n.data, ratio, cfg_base, dev,
                                     base_sigma))

    if config is None:
        config = InfnConfig()
    config = dataclasses.replace(config, hsi_bands=bands, msi_bands=msi_bands, ratios=(ratio,))
    model = INFN(config)
    if state_dict is not None:
        try:
            model.load_state_dict(state_dict)
        except RuntimeError as exc:  # a checkpoint of another shape than its config says
            first = str(exc).strip().splitlines()[-1].strip()
            raise ModelError(f"{resume_from}: malformed checkpoint: its weights do not fit "
                             f"the model its config describes ({first})") from None
        train_state = _checked_train_state(resume_from, train_state, model)
    meta = {
        "hsi_wavelengths": cubes[0].wavelengths,
        "msi_bands": msi_bands,
        "srf": srf.name,
        "srf_matrix": srf.matrix(cubes[0].wavelengths),
        "msi_wavelengths": srf.centres,
        "ratios": [ratio],
        "psf_sigma": ratio / 2.0 if psf_sigma is None else float(psf_sigma),
        "normalisation": "each input divided by hsi.degrade.normalize_reflectance's scale",
        "train_scales": scales,
        "trained_on": [c.name for c in cubes],
        "seed": seed,
    }
    if augment:
        meta["augmentation"] = dataclasses.asdict(augment)
    total = int(steps) if steps is not None else (
        int(train_state["steps"]) if train_state and "steps" in train_state else DEFAULT_STEPS)
    done = int((train_state or {}).get("step", 0))
    if done >= total and train_state:
        log.warning("%s: the run had already made %d steps, steps=%d asks for no more: "
                    "nothing to train (give more steps to continue it)", resume_from, done,
                    total)
    sampler = PatchSampler(scenes, ratio, config.patch, seed + done)
    held_out = validation_scenes(validation or [], bands, ratio, srf, psf_sigma, config.base,
                                 dev, wavelengths=cubes[0].wavelengths)
    model = run_training(model, sampler, steps=total, max_minutes=max_minutes, device=dev,
                         progress=progress, out_path=out_path, meta=meta,
                         train_state=train_state, desc="INFN train", callback=callback)
    if held_out:
        from hsi.fusion.gate import keep_if_better

        model.meta["validation"] = {"scenes": [c.name for c in validation],
                                    **keep_if_better(model, held_out, ratio)}
        if out_path is not None:  # the final checkpoint holds what the validation decided
            from hsi.checkpoint import load_checkpoint

            state = load_checkpoint(out_path, "infn")["meta"].get("train_state")
            save_infn(out_path, model, meta=model.meta, train_state=state)
    return model


def validation_scenes(cubes: list[Cube], bands: int, ratio: int, srf: SRF | str,
                      psf_sigma: float | Psf | None, base_kind: str,
                      device: str | torch.device, *,
                      wavelengths: ArrayLike | None = None) -> list[TrainScene]:
    """Held-out reference cubes as scored :class:`TrainScene` s (see :func:`train_infn`'s
    ``validation``): reflectance-scaled, degraded by Wald's protocol, normalised like the
    training pairs, with their base images.

    ``wavelengths`` (the training cubes', optional): each cube's must agree within
    :data:`WAVELENGTH_TOLERANCE_NM`.

    Raises
    ------
    WavelengthError
        A cube with another band count, no wavelengths or other wavelengths.
    """
    from hsi.degrade import normalize_reflectance, simulate_pair

    out = []
    for cube in cubes:
        if cube.bands != bands or cube.wavelengths is None:
            raise WavelengthError(f"validation cube {cube.name!r}: expected {bands} bands with "
                                  f"wavelengths, got {cube.bands}")
        gap = _wavelength_gap(cube.wavelengths, wavelengths)
        if gap > WAVELENGTH_TOLERANCE_NM:
            raise WavelengthError(f"validation cube {cube.name!r}: its wavelengths differ from "
                                  f"the training cubes' by up to {gap:.1f} nm (another sensor?)")
        ref, _ = normalize_reflectance(cube.compute())
        lr, msi = simulate_pair(ref, ratio, srf, psf_sigma, device=device)
        lr_n, s_lr = normalize_reflectance(lr)
        msi_n, _ = normalize_reflectance(msi)
        target = np.asarray(ref.data, dtype=np.float32) / np.float32(s_lr)
        out.append(make_scene(target, lr_n.data, msi_n.data, ratio, base_kind, device,
                              psf_sigma))
    return out
