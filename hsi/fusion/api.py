"""In-memory fusion: :func:`fuse` two cubes; choosing a model (shipped, given or fitted).

INFN checkpoints are read and written by :mod:`hsi.fusion.checkpoints` (re-exported here).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from hsi.cube import Cube, missing_as_nan
from hsi.degrade import Psf, warn_if_zeros_undeclared
from hsi.errors import ConfigError, DataError, ModelError, ShapeError
from hsi.fusion.checkpoints import load_infn, save_infn
from hsi.fusion.denoise import denoiser_for
from hsi.fusion.grid import (
    check_pair,
    grid_alignment,
    warn_if_georeference_unchecked,
    warn_if_not_multispectral,
)
from hsi.fusion.infn import INFN, _fit_size, base_image
from hsi.fusion.psf import AUTO as PSF_AUTO
from hsi.fusion.psf import psf_for
from hsi.progress import ProgressCallback, report_progress

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from hsi.engine import BufferPool
    from hsi.fusion.baselines import GsaStatistics

#: Folder of the checkpoints shipped with the package.
CHECKPOINT_DIR = Path(__file__).resolve().parents[1] / "data" / "checkpoints"
#: Largest difference (nm) between a checkpoint's and a cube's band centres to call them equal.
WAVELENGTH_TOLERANCE_NM = 10.0
#: ``method="auto"``: a shipped INFN checkpoint validated for the inputs' sensors and ratio,
#: else GLP (the classical method INFN must beat), with a one-line notice saying why.
AUTO = "auto"
#: The method ``auto`` falls back to.
FALLBACK = "glp"
#: Methods that fuse the LR-HSI as given unless told otherwise (``lr_denoise=None``): CNMF's
#: unmixing is already a low-rank model of the LR-HSI, and denoising it first cost CNMF
#: 0.25 dB on average (1.4 dB at worst) on 16 noisy CAVE *training* pairs
#: (``benchmarks/lr_denoise.py --methods gsa cnmf --scenes 4``).
RAW_LR_METHODS = ("cnmf",)

log = logging.getLogger("hsi.fusion")

__all__ = ["auto_method", "check_pair", "default_model", "estimate", "fuse", "gsa_statistics",
           "load_infn", "msi_band_order",
           "predict", "resolve_model", "save_infn", "shipped_checkpoints"]


def _describe(model: INFN) -> str:
    c, meta = model.config, model.meta
    wl = meta.get("hsi_wavelengths")
    span = f" ({min(wl):.0f}–{max(wl):.0f} nm)" if wl else ""
    srf = f" ({meta['srf']})" if meta.get("srf") else ""
    return f"{c.hsi_bands} HSI bands{span} and {c.msi_bands} MSI bands{srf}"


def _mismatch(model: INFN, lr: Cube, msi: Cube) -> str | None:
    """Why ``model`` cannot fuse this pair, or ``None`` when it can."""
    c, meta = model.config, model.meta
    if lr.bands != c.hsi_bands or msi.bands != c.msi_bands:
        return f"got {lr.bands} HSI bands and {msi.bands} MSI bands"
    for name, cube, key in (("HSI", lr, "hsi_wavelengths"), ("MSI", msi, "msi_wavelengths")):
        ref = meta.get(key)
        if ref is not None and cube.wavelengths is not None and len(ref) == cube.bands:
            # the MSI's bands in the checkpoint's order (:func:`msi_band_order`), so that
            # B, G, R against R, G, B reports how far the centres are, not how far the order
            diff = _band_match(ref, cube.wavelengths)[1] if name == "MSI" else float(
                np.max(np.abs(np.asarray(ref) - cube.wavelengths)))
            if diff > WAVELENGTH_TOLERANCE_NM:
                return (f"the {name} band centres differ by up to {diff:.0f} nm "
                        f"(tolerance {WAVELENGTH_TOLERANCE_NM:g} nm)")
    return None


def denoises_lr(method: str, lr_denoise: bool | None) -> bool:
    """Whether ``method`` denoises the LR-HSI first (:mod:`hsi.fusion.denoise`):
    ``lr_denoise`` when given, else every method but those of :data:`RAW_LR_METHODS`."""
    return method not in RAW_LR_METHODS if lr_denoise is None else bool(lr_denoise)


def check_model(model: INFN, lr_hsi: Cube, hr_msi: Cube, ratio: int | None = None) -> None:
    """Refuse a model that cannot run on the pair; warn when it runs outside its sensors.

    A band-count mismatch raises (the network cannot run); band centres beyond
    :data:`WAVELENGTH_TOLERANCE_NM`, inputs without wavelengths, or a ratio the checkpoint was
    not validated at log one warning line (the user chose the model; it runs), as does a model
    whose residual its training switched off (``meta["validation"]["kept"]`` false: it returns
    its base image).

    Raises
    ------
    ModelError
        When the band counts differ from the model's.
    """
    c = model.config
    name = model_name(model)
    if lr_hsi.bands != c.hsi_bands or hr_msi.bands != c.msi_bands:
        raise ModelError(f"{name} expects {_describe(model)}; got {lr_hsi.bands} HSI bands and "
                         f"{hr_msi.bands} MSI bands")
    known = {int(r) for r in model.meta.get("validated_ratios", [])} | set(c.ratios)
    why = _outside_validation(model, lr_hsi, hr_msi, ratio, sorted(known))
    if why:
        log.warning("%s is used outside its sensors or ratios: %s", name, why)
    gate = model.meta.get("validation")
    if isinstance(gate, dict) and gate.get("kept") is False:
        log.warning("%s returns its %s base image: its residual was switched off at training, "
                    "where it did not beat that base on its validation scene(s) %s (%.2f vs "
                    "%.2f dB)", name, c.base.upper(), ", ".join(map(str, gate.get("scenes", []))),
                    float(gate.get("psnr_model", float("nan"))),
                    float(gate.get("psnr_base", float("nan"))))


def model_name(model: INFN) -> str:
    """How messages name ``model``: a shipped checkpoint by its file name
    (``infn_aviris204_sentinel2_x4.pt``), a user's by the path it was loaded from."""
    path = model.meta.get("path")
    if path is None:
        return "the model"
    return Path(path).name if Path(path).resolve().parent == CHECKPOINT_DIR else str(path)


def _outside_validation(model: INFN, lr: Cube, msi: Cube, ratio: int | None,
                        ratios: list[int]) -> str | None:
    """Why ``model`` is not known to fit this pair, or ``None`` when it is.

    The pair must carry wavelengths where the model recorded its sensors', match them
    (:func:`_mismatch`), and ``ratio`` must be one of ``ratios``.
    """
    recorded = model.meta.get("hsi_wavelengths") is not None
    if recorded and (lr.wavelengths is None or msi.wavelengths is None):
        return "the inputs carry no wavelengths, so their sensors cannot be checked"
    why = _mismatch(model, lr, msi)
    if why:
        return why
    if ratio is not None and int(ratio) not in ratios:
        if not ratios:
            return "it beat GLP at no ratio on its validation scenes"
        return f"ratio x{ratio} (validated against GLP at x{'/x'.join(map(str, ratios))})"
    return None


def default_model(lr_hsi: Cube, hr_msi: Cube, ratio: int, device: str | torch.device = "cpu"
                  ) -> tuple[INFN | None, str]:
    """The shipped checkpoint ``method="auto"`` uses for this pair, or ``None`` and why not.

    A checkpoint qualifies when the inputs carry wavelengths, its sensors match them (band
    counts, centres within :data:`WAVELENGTH_TOLERANCE_NM`) and ``ratio`` is one of its
    ``meta["validated_ratios"]``: the ratios at which a model trained the same way beat GLP
    on validation scenes it never saw (CAVE: :data:`hsi.data.cave_database.CAVE_VALIDATION`).

    Returns
    -------
    (INFN or None, str)
        The model and its file name, or ``None`` and the reason in words.
    """
    reasons = []
    for path, model in _shipped_models(device):
        c = model.config
        if lr_hsi.bands != c.hsi_bands or hr_msi.bands != c.msi_bands:
            reasons.append(f"{path.stem}: {_describe(model)}")
            continue
        validated = [int(r) for r in model.meta.get("validated_ratios", [])]
        why = _outside_validation(model, lr_hsi, hr_msi, ratio, validated)
        if why is None and lr_hsi.wavelengths is None:
            why = "the inputs carry no wavelengths, so their sensors cannot be checked"
        if why is None:
            return model, path.name
        reasons.append(f"{path.stem}: {why}")
    detail = "; ".join(reasons) if reasons else "none shipped"
    return None, (f"no shipped INFN checkpoint is validated for {lr_hsi.bands} HSI and "
                  f"{hr_msi.bands} MSI bands at x{ratio} ({detail})")


def auto_method(lr_hsi: Cube, hr_msi: Cube, ratio: int, device: str | torch.device = "cpu",
                pair: tuple[torch.Tensor, torch.Tensor] | None = None,
                psf_sigma: float | Psf | None = None
                ) -> tuple[str, INFN | None, dict | None]:
    """Resolve ``method="auto"``: ``("infn", model, check)`` or ``("glp", None, check)``, with
    a notice line when GLP is chosen.

    The shipped checkpoint of :func:`default_model` is used unless the LR-HSI is smaller than
    its filters accept (:func:`hsi.fusion.infn.min_patch_lr`; a scene INFN would refuse), or
    the scene looks unlike its training scenes: when its metadata sets
    :data:`hsi.fusion.gate.GAP_KEY` and its fusion of ``pair``'s central window
    (:func:`hsi.fusion.gate.central_pair`) re-predicts the LR-HSI more than that many dB worse
    than GLP does (:func:`hsi.fusion.gate.reprojection_gap`); then GLP is used and the notice
    says so.

    Parameters
    ----------
    lr_hsi, hr_msi : Cube
        The inputs (their bands and wavelengths are read, not their pixels).
    ratio : int
    device : str or torch.device
    pair : (torch.Tensor, torch.Tensor), optional
        The pair as the model will see it, ``(C, h, w)`` and ``(m, H, W)``, normalised (and
        denoised) on ``device``; no scene check without it.
    psf_sigma : float or Psf, optional
        The PSF the fusion uses.

    Returns
    -------
    (str, INFN or None, dict or None)
        The method, its model, and the scene check when one ran: ``{"checkpoint": name,
        "reprojection_gap_db": gap, "max_reprojection_gap_db": limit}`` (for the result's
        metadata).
    """
    from hsi.fusion.gate import GAP_KEY, central_pair, reprojection_gap
    from hsi.fusion.infn import min_patch_lr

    model, why = default_model(lr_hsi, hr_msi, ratio, device)
    if model is None:
        log.warning("using %s: %s", FALLBACK.upper(), why)
        return FALLBACK, None, None
    need = min_patch_lr(ratio, model.config)
    if min(lr_hsi.height, lr_hsi.width) < need:  # INFN would refuse it (check_infn_size)
        log.warning("using %s: the LR-HSI of %d×%d pixels is too small for %s (its filters "
                    "need at least %d×%d LR pixels at x%d)", FALLBACK.upper(), lr_hsi.height,
                    lr_hsi.width, why, need, need, ratio)
        return FALLBACK, None, None
    limit, check = model.meta.get(GAP_KEY), None
    if limit is not None and pair is not None:
        try:
            gap = reprojection_gap(model, *central_pair(*pair, ratio), ratio, psf_sigma)
        except ShapeError:  # a pair too small to blur at this PSF: nothing to check on
            gap = None
        if gap is not None and not np.isfinite(gap):  # no pixel far from missing data
            gap = None
        if gap is not None:
            check = {"checkpoint": why, "reprojection_gap_db": round(gap, 3),
                     GAP_KEY: float(limit)}
        if gap is not None and gap > float(limit):
            log.warning("using %s: %s re-predicts this LR-HSI %.1f dB worse than %s does (it is "
                        "used up to %.1f dB): the scene looks unlike its training scenes",
                        FALLBACK.upper(), why, gap, FALLBACK.upper(), float(limit))
            return FALLBACK, None, check
    log.info("using INFN (%s)", why)
    return "infn", model, check


def shipped_checkpoints() -> list[Path]:
    """The INFN checkpoints shipped in ``hsi/data/checkpoints`` (sorted by name)."""
    return sorted(CHECKPOINT_DIR.glob("*.pt"))


def _shipped_models(device: str | torch.device) -> Iterator[tuple[Path, INFN]]:
    """``(path, model)`` for every shipped checkpoint that loads (a broken one is skipped)."""
    for path in shipped_checkpoints():
        try:
            yield path, load_infn(path, device)
        except ModelError:
            continue


def _shipped_for(lr: Cube, msi: Cube, device: str | torch.device, ratio: int | None = None) -> INFN:
    """The first shipped checkpoint that can fuse the pair; one warning line when it is not
    known to fit it (no wavelengths to check, an unvalidated ratio), as for ``model=``."""
    found = []
    for path, model in _shipped_models(device):
        if _mismatch(model, lr, msi) is None:
            check_model(model, lr, msi, ratio)
            return model
        found.append(f"{path.stem} ({_describe(model)})")
    span = ""
    if lr.wavelengths is not None:
        span = f" ({lr.wavelengths.min():.0f}–{lr.wavelengths.max():.0f} nm)"
    have = "; ".join(found) if found else "none"
    raise ModelError(
        f"no shipped INFN checkpoint matches {lr.bands} HSI bands{span} and {msi.bands} MSI "
        f"bands (shipped: {have}): give model=PATH, use fit_scene=True, or method='glp'"
    )


# ----------------------------------------------------------------------------- fusion
def input_scales(lr_hsi: Cube, hr_msi: Cube) -> tuple[float, float]:
    """Divisors that bring each input to reflectance (:func:`hsi.degrade.reflectance_scale`).

    A tiled run computes them once on the whole scene and passes them to every tile's
    :func:`fuse` (``scales=``) so that tiles agree.
    """
    from hsi.degrade import reflectance_scale

    return reflectance_scale(lr_hsi), reflectance_scale(hr_msi)


def msi_band_order(hr_msi: Cube, method: str, model: INFN | str | os.PathLike | None = None,
                   fit_scene: bool = False) -> np.ndarray | None:
    """The order of the HR-MSI's bands an INFN checkpoint records for the same camera, when
    the file stores them in another order; ``None`` when no reordering is needed.

    A camera's file may store R, G, B where a checkpoint's camera was recorded B, G, R (or
    the other way round). The classical methods take the bands in any order (the result has
    the LR-HSI's); INFN reads them in its own, so the doors (:func:`fuse`,
    :func:`hsi.fusion.scene.fuse_scene`) read the HR-MSI in the order of ``model``, or with
    ``method`` ``"auto"`` / ``"infn"`` and no model, of the first shipped checkpoint whose
    camera has these band centres (within :data:`WAVELENGTH_TOLERANCE_NM`, in any order).

    Parameters
    ----------
    hr_msi : Cube, shape (msi_bands, H, W)
    method : str
        Checked method name (:func:`checked_method`); a classical one needs no order.
    model : INFN or path, optional
    fit_scene : bool
        A network fitted on this scene (no model given) takes the file's order.

    Returns
    -------
    numpy.ndarray of int, shape (msi_bands,), or None
        ``hr_msi`` band ``order[k]`` is the checkpoint's band ``k``.
    """
    wl = hr_msi.wavelengths
    if wl is None or method not in (AUTO, "infn") or (fit_scene and model is None):
        return None
    if model is None:
        models = [m for _, m in _shipped_models("cpu")]
    else:
        models = [model if isinstance(model, INFN) else load_infn(model, "cpu")]
    for m in models:
        ref = m.meta.get("msi_wavelengths")
        if ref is None or len(ref) != wl.size:
            continue
        ref = np.asarray(ref, dtype=np.float64)
        if float(np.max(np.abs(ref - wl))) <= WAVELENGTH_TOLERANCE_NM:
            return None  # already in its order
        order, diff = _band_match(ref, wl)
        if order is not None and diff <= WAVELENGTH_TOLERANCE_NM:
            return order
    return None


def _band_match(ref: ArrayLike, wl: ArrayLike) -> tuple[np.ndarray | None, float]:
    """How an MSI's band centres ``wl`` (stored in any order) match a checkpoint's ``ref``.

    Parameters
    ----------
    ref, wl : array-like, shape (msi_bands,)
        Band centres, nm.

    Returns
    -------
    order : numpy.ndarray of int or None
        ``wl[order]`` is in ``ref``'s order (each checkpoint band's nearest band); ``None``
        when two checkpoint bands would take the same band.
    diff : float
        The largest centre difference, nm: in that order, or as stored without one (and
        never more than as stored).
    """
    ref, wl = np.asarray(ref, dtype=np.float64), np.asarray(wl, dtype=np.float64)
    stored = float(np.max(np.abs(ref - wl)))
    order = np.abs(ref[:, None] - wl[None, :]).argmin(axis=1)
    if len(set(order.tolist())) != wl.size:
        return None, stored
    return order, min(stored, float(np.max(np.abs(wl[order] - ref))))


def empty_band_sources(lr_hsi: Cube, hr_msi: Cube) -> np.ndarray | None:
    """The LR-HSI band each band is fused from: itself, or for an empty band (no valid value,
    :func:`hsi.bands.empty_bands`) its nearest band with data; ``None`` when none is empty.

    An empty band read as NaN would make every fused pixel NaN (the methods leave out a pixel
    any band is missing at); fused from a neighbour it spreads nothing, and its output band is
    set to NaN (:func:`fuse`, :func:`hsi.fusion.scene.fuse_scene`). One warning line names the
    bands.

    Parameters
    ----------
    lr_hsi, hr_msi : Cube
        The pair, ``(bands, h, w)`` and ``(msi_bands, H, W)``.

    Returns
    -------
    numpy.ndarray of int, shape (bands,), or None
        Nearest by wavelength (by band number without wavelengths).

    Raises
    ------
    DataError
        Every LR-HSI band is empty, or an HR-MSI band is (no band to fuse from, or a band the
        methods would read as 0 everywhere).
    """
    from hsi.bands import band_label, empty_bands

    empty_msi = empty_bands(hr_msi)
    if empty_msi.size:
        raise DataError(f"HR-MSI {hr_msi.name!r}: band(s) {band_label(hr_msi, empty_msi)} have "
                        f"no valid pixel (all NaN or nodata): give an HR-MSI without them")
    empty = empty_bands(lr_hsi)
    if not empty.size:
        return None
    if empty.size == lr_hsi.bands:
        raise DataError(f"LR-HSI {lr_hsi.name!r}: no band has a valid pixel (all NaN or nodata)")
    full = np.setdiff1d(np.arange(lr_hsi.bands), empty)
    position = (np.asarray(lr_hsi.wavelengths, np.float64) if lr_hsi.wavelengths is not None
                else np.arange(lr_hsi.bands, dtype=np.float64))
    sources = np.arange(lr_hsi.bands)
    sources[empty] = full[np.abs(position[empty, None] - position[None, full]).argmin(axis=1)]
    log.warning("LR-HSI %r: band(s) %s have no valid pixel (all NaN or nodata): fused from "
                "their nearest bands with data, and NaN in the result", lr_hsi.name,
                band_label(lr_hsi, empty))
    return sources


def checked_scales(scales: tuple[float, float]) -> tuple[float, float]:
    """``scales`` (the divisors of :func:`fuse`) as two floats, after checking they are two
    positive finite numbers.

    Raises
    ------
    ConfigError
        Not two numbers, or one that is 0, negative or not finite (a divisor of 0 made every
        fused value NaN).
    """
    try:
        values = tuple(float(v) for v in scales)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 2 or not all(np.isfinite(v) and v > 0 for v in values):
        raise ConfigError(f"scales must be two positive numbers (the LR-HSI's and the "
                          f"HR-MSI's divisors, see input_scales), got {scales!r}")
    return values


def scaled(cube: Cube, scale: float) -> Cube:
    """``cube`` divided by ``scale`` (float32, in memory): reflectance for the models."""
    return cube.with_data(np.asarray(cube.data, dtype=np.float32) / np.float32(scale))


def checked_method(method: str, *, model: INFN | str | os.PathLike | None = None,
                   fit_scene: bool = False) -> str:
    """Return ``method`` lower-cased after checking it exists and fits ``model``/``fit_scene``.

    Raises
    ------
    ModelError
        For an unknown method, or a model / scene fitting given to a classical baseline.
    """
    from hsi.fusion.baselines import BASELINES

    names = f"auto, infn or {', '.join(sorted(BASELINES))}"
    if not isinstance(method, str):  # None or a number: one line, not an AttributeError
        raise ModelError(f"unknown fusion method {method!r}: use {names}")
    method = method.lower()
    if method == AUTO and (model is not None or fit_scene):
        method = "infn"  # a model or scene fitting says which method the user wants
    if method not in ("infn", AUTO) and method not in BASELINES:
        raise ModelError(f"unknown fusion method {method!r}: use {names}")
    if method != "infn" and (model is not None or fit_scene):
        raise ModelError(f"model and fit_scene apply to method 'infn', not {method!r}")
    return method


def resolve_model(
    lr_hsi: Cube,
    hr_msi: Cube,
    *,
    model: INFN | str | os.PathLike | None = None,
    ratio: int | None = None,
    fit_scene: bool = False,
    device: str | torch.device = "auto",
    seed: int = 0,
    progress: bool = True,
    fit_steps: int | None = None,
    fit_minutes: float | None = None,
    scales: tuple[float, float] | None = None,
    callback: ProgressCallback | None = None,
    psf_sigma: float | Psf | None = None,
) -> INFN:
    """The INFN that :func:`fuse` would use for this pair (loaded, shipped or scene-fitted).

    A tiled run calls this once on the whole scene (or a representative part of it), then
    passes the model to :func:`fuse` for each tile. ``callback`` follows scene fitting
    (:func:`hsi.fusion.fit.fit_scene`); it is not called otherwise. ``psf_sigma`` (HR pixels,
    default ``ratio / 2``) is the PSF scene fitting degrades the pair with.

    Raises
    ------
    Cancelled
        When ``callback`` returns ``True``.
    ModelError
        A model whose bands do not match, or no shipped checkpoint for these sensors.
    GridError
        The pair does not cover the same ground.
    """
    from hsi.device import pick_device

    dev = pick_device(device)
    if model is not None:
        if isinstance(model, (str, os.PathLike)):
            model = load_infn(model, dev)
        if not isinstance(model, INFN):
            raise ModelError(f"model must be a checkpoint path or an INFN, got "
                             f"{type(model).__name__}")
        check_model(model, lr_hsi, hr_msi, ratio)
        model = model.to(dev).eval()
    if fit_scene:
        from hsi.fusion.fit import fit_scene as _fit

        r = check_pair(lr_hsi, hr_msi, ratio)
        check_fit_input(lr_hsi, r)
        s_lr, s_msi = scales or input_scales(lr_hsi, hr_msi)
        return _fit(scaled(lr_hsi, s_lr), scaled(hr_msi, s_msi), ratio=r, steps=fit_steps,
                    minutes=fit_minutes, seed=seed, device=dev, progress=progress,
                    callback=callback, init=model, psf_sigma=psf_sigma)
    return model if model is not None else _shipped_for(lr_hsi, hr_msi, dev, ratio)


def check_infn_size(lr_hsi: Cube, model: INFN, ratio: int) -> None:
    """Refuse, naming it (its file), an LR-HSI smaller than ``model``'s filters accept at
    ``ratio`` (:func:`hsi.fusion.infn.min_patch_lr`: INFN's LR high-pass needs 4×4 pixels),
    before any tile is fused; the baselines take smaller ones.

    Raises
    ------
    ShapeError
        ``"lr.tif: LR-HSI of 2×2 pixels is too small for INFN ..."``.
    """
    from hsi.fusion.infn import min_patch_lr

    need = min_patch_lr(ratio, model.config)
    h, w = lr_hsi.height, lr_hsi.width
    if h < need or w < need:
        raise ShapeError(f"{lr_hsi.name or 'lr_hsi'}: LR-HSI of {h}×{w} pixels is too small for "
                         f"INFN (its filters need at least {need}×{need} LR pixels at ratio "
                         f"{ratio}): use method='glp' (or another baseline) for so small a "
                         "scene", actual_shape=lr_hsi.shape,
                         expected_shape=("bands", f">={need}", f">={need}"))


def check_psf_size(hr_msi: Cube, psf: Psf, ratio: int) -> None:
    """Refuse, naming it (its file), an HR-MSI smaller than the PSF the methods degrade it
    with (:func:`hsi.degrade.blur_decimate` needs more pixels a side than the kernel's
    radius), before any tile is fused; a larger scene's tiles are read large enough.

    Raises
    ------
    ShapeError
        ``"hr.tif: HR-MSI of 16×16 pixels is too small for the PSF Gaussian σ = 9 ..."``.
    """
    from hsi.degrade import as_psf

    psf = as_psf(psf, ratio)
    k, h, w = psf.size, hr_msi.height, hr_msi.width
    if min(h, w) <= k // 2:
        raise ShapeError(f"{hr_msi.name or 'hr_msi'}: HR-MSI of {h}×{w} pixels is too small for "
                         f"the PSF ({psf} HR pixels, kernel {k}: needs more than {k // 2} "
                         "pixels a side): use a smaller psf_sigma= or a larger scene",
                         actual_shape=hr_msi.shape,
                         expected_shape=("bands", f">{k // 2}", f">{k // 2}"))


def check_fit_input(lr_hsi: Cube, ratio: int) -> None:
    """:func:`hsi.fusion.fit.check_fit_size` of a whole LR-HSI, its message naming the cube
    (its file): ``"lr.tif: fit_scene=True at ratio 4 needs an LR-HSI of at least 16×16
    pixels ..."``, before the fit reads any window."""
    from hsi.fusion.fit import check_fit_size

    try:
        check_fit_size(lr_hsi.height, lr_hsi.width, ratio, shape=tuple(lr_hsi.shape))
    except ShapeError as exc:
        if not lr_hsi.name:
            raise
        raise ShapeError(f"{lr_hsi.name}: {exc}", exc.actual_shape, exc.expected_shape) from None


def predict(model: INFN, lr: torch.Tensor, msi: torch.Tensor, ratio: int,
            glp_gains: torch.Tensor | None = None, psf_sigma: float | Psf | None = None,
            core: tuple[slice, slice] | None = None,
            out: torch.Tensor | None = None, pool: BufferPool | None = None) -> torch.Tensor:
    """Apply ``model`` to a batch of normalised pairs (no grad, float32).

    Float32 on CUDA too: bfloat16 autocast ran the network 15 % faster on an H200 (1000² × 31,
    0.123 s against 0.144) but its fusion was 77.6 dB from float32's on a CAVE scene, and on
    the Salinas-A sample with the AVIRIS checkpoint it differed from the CPU's by up to 6.0 on
    values near 400 (benchmarks/gpu.py and the CUDA tests, 2026-12-04): a change of result
    for a small gain. Training keeps mixed precision.

    Parameters
    ----------
    lr : torch.Tensor, shape (N, C, h, w)
    msi : torch.Tensor, shape (N, m, H, W)
    glp_gains : torch.Tensor, shape (C, m), optional
        Scene-wide GLP gains for a ``base="glp"`` model (tiled runs).
    psf_sigma : float or Psf, optional
        PSF of a ``base="glp"`` model's base image (default Gaussian σ = ``ratio / 2``).
    core : (slice, slice), optional
        Rows and columns of the ``(H, W)`` grid to decode (:meth:`INFN.forward`).
    out : torch.Tensor, optional
        Float32 buffer of the result's shape to decode into (a reused tile buffer).
    pool : hsi.engine.BufferPool, optional
        Where the GLP base image of a single pair on CPU is taken from and given back to once
        decoded (fresh pages for it cost about a tenth of a 204-band tile's time).

    Returns
    -------
    torch.Tensor, shape (N, C, H, W) or that of ``core``, float32, on the model's device
    """
    from hsi.fusion.baselines import missing_filled

    dev = next(model.parameters()).device
    lr_given, msi_given = lr.to(dev, torch.float32), msi.to(dev, torch.float32)
    lr, msi = missing_filled(lr_given), missing_filled(msi_given)
    model.check_inputs(lr, msi)
    with torch.no_grad():
        base = scratch = None
        if (glp_gains is not None or psf_sigma is not None) and model.config.base == "glp":
            region = model.encoder_region(core, *msi.shape[-2:])
            if pool is not None and dev.type == "cpu" and lr.shape[0] == 1:
                scratch = pool.take((1, lr.shape[1], *(r.stop - r.start for r in region)))
            # GLP leaves missing data out of its gains: it is given the NaN
            base = base_image(lr_given, msi_given, ratio, "glp", gains=glp_gains,
                              psf_sigma=psf_sigma, region=region, out=scratch)
        est = model(lr, msi, ratio=ratio, base=base, core=core, out=out)
    if scratch is not None:
        pool.give(scratch)
    return est.float()


def _missing_as_zero(x: torch.Tensor) -> torch.Tensor:
    """``x`` with every value that is not finite (NaN, ±inf: missing data) read as 0."""
    return torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


def estimate(method: str, lr: torch.Tensor, msi: torch.Tensor, ratio: int, *,
             model: INFN | None = None, glp_gains: torch.Tensor | None = None,
             gsa_statistics: GsaStatistics | None = None,
             psf_sigma: float | Psf | None = None,
             cores: list[tuple[slice, slice]] | None = None, outs: list | None = None,
             pool: BufferPool | None = None) -> torch.Tensor | list[torch.Tensor]:
    """Fused estimate of a batch of normalised pairs, by INFN or a classical baseline.

    Parameters
    ----------
    method : str
        ``"infn"`` (needs ``model``) or a key of :data:`hsi.fusion.baselines.BASELINES`.
    lr : torch.Tensor, shape (N, C, h, w)
        LR-HSI batch, reflectance in about [0, 1].
    msi : torch.Tensor, shape (N, m, H, W)
        HR-MSI batch on the output grid (``H`` need not be exactly ``h * ratio``).
    ratio : int
    model : INFN, optional
    glp_gains : torch.Tensor, shape (C, m), optional
        Scene-wide GLP gains (method ``"glp"`` and GLP-based INFN models).
    gsa_statistics : hsi.fusion.baselines.GsaStatistics, optional
        Scene-wide statistics of method ``"gsa"``.
    psf_sigma : float or Psf, optional
        The PSF the methods assume (default Gaussian σ = ``ratio / 2``; see
        :mod:`hsi.fusion.psf`).
    cores : list of (slice, slice), optional
        For each item, the rows and columns of the ``(H, W)`` grid wanted (a tile's core in
        its read window); GLP computes only those pixels, and so does INFN's decoder when
        the batch's cores are equal (always on CPU, one tile a batch); the others crop.
    outs : list of torch.Tensor, optional
        With ``cores``: a buffer per item, of its core's shape ``(C, core_h, core_w)``, that
        GLP writes its estimate into (reused memory, :class:`hsi.engine.BufferPool`), and
        INFN too when the batch is one tile; the other methods return new tensors.
    pool : hsi.engine.BufferPool, optional
        Where INFN takes its GLP base image's buffer from (:func:`predict`).

    Returns
    -------
    torch.Tensor, shape (N, C, H, W), float32
        Without ``cores``; with them, a list of N tensors ``(C, core_h, core_w)``.
    """
    from hsi.fusion.baselines import BASELINES

    if method == "infn":  # a batch's common core is the only part decoded
        core = cores[0] if cores and all(c == cores[0] for c in cores) else None
        # one tile a batch (CPU): decoded straight into its buffer
        into = outs[0].unsqueeze(0) if outs is not None and len(outs) == 1 and core else None
        est = predict(model, lr, msi, ratio, glp_gains=glp_gains, psf_sigma=psf_sigma,
                      core=core, out=into, pool=pool)
        if cores is None or core is not None:
            return est if cores is None else list(est)
        return [e[:, rows, cols] for e, (rows, cols) in zip(est, cores, strict=True)]
    r = int(ratio)
    out = []
    for i, (x, m) in enumerate(zip(lr, msi, strict=True)):
        h, w = x.shape[-2:]
        core = None if cores is None else cores[i]
        # GLP, GSA and CNMF leave missing data (NaN) out of what they estimate, and GLP and
        # GSA fill it from its rim inwards with scene statistics too (a tile; read as 0
        # instead, a nodata border cost GLP's pixels beside it 16 dB, and a tile's NaN LR
        # pixel changed GSA's within the bicubic support by 0.05 against the untiled run);
        # bicubic reads it as 0 (the pixels it reaches are NaN in the result), ±inf too (as
        # the largest float it gave 1e38 beside it)
        keep_nan = method in ("glp", "gsa", "cnmf")
        x = x if keep_nan else _missing_as_zero(x)
        m_fit = _fit_size(m if keep_nan else _missing_as_zero(m), h * r, w * r)
        kwargs = {"psf_sigma": psf_sigma}
        if method == "glp" and glp_gains is not None:
            kwargs["gains"] = glp_gains
        if method == "gsa" and gsa_statistics is not None:
            kwargs["statistics"] = gsa_statistics
        inside = core is not None and all(
            sl.stop is not None and sl.stop <= n for sl, n in zip(core, (h * r, w * r),
                                                                   strict=True))
        if method == "glp" and inside:  # only the core computed
            out.append(BASELINES[method](x, m_fit, r, core=core,
                                         out=None if outs is None else outs[i], **kwargs))
            continue
        est = BASELINES[method](x, m_fit, r, **kwargs)
        est = _fit_size(torch.as_tensor(est, dtype=torch.float32, device=x.device),
                        *m.shape[-2:])
        out.append(est if core is None else est[:, core[0], core[1]])
    return torch.stack(out) if cores is None else out


def _normalised_pair(lr_hsi: Cube, hr_msi: Cube, ratio: int,
                     scales: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(lr, msi)`` tensors divided by ``scales`` (NaN kept: the statistics leave missing data
    out), MSI cut or padded to ``ratio``×LR."""
    r = int(ratio)
    s_lr, s_msi = scales
    lr = torch.as_tensor(np.asarray(lr_hsi.data, dtype=np.float32)) / s_lr
    msi = torch.as_tensor(np.asarray(hr_msi.data, dtype=np.float32)) / s_msi
    h, w = lr.shape[-2:]
    return lr, _fit_size(msi, h * r, w * r)


def gsa_statistics(lr_hsi: Cube, hr_msi: Cube, *, ratio: int, scales: tuple[float, float],
                   rows: slice = slice(None), cols: slice = slice(None),
                   psf_sigma: float | Psf | None = None) -> GsaStatistics:
    """GSA's scene statistics of a pair (normalised like :func:`fuse` does).

    A tiled run sums them over its tiles' cores and passes the total to every tile's
    :func:`estimate` as ``gsa_statistics``.

    Returns
    -------
    hsi.fusion.baselines.GsaStatistics
    """
    from hsi.fusion.baselines import gsa_statistics as _statistics

    return _statistics(*_normalised_pair(lr_hsi, hr_msi, ratio, scales), int(ratio), rows=rows,
                       cols=cols, psf_sigma=psf_sigma)


def fuse(
    lr_hsi: Cube,
    hr_msi: Cube,
    *,
    method: str = AUTO,
    model: INFN | str | os.PathLike | None = None,
    ratio: int | None = None,
    fit_scene: bool = False,
    device: str | torch.device = "auto",
    seed: int = 0,
    progress: bool = True,
    fit_steps: int | None = None,
    fit_minutes: float | None = None,
    scales: tuple[float, float] | None = None,
    glp_gains: torch.Tensor | None = None,
    callback: ProgressCallback | None = None,
    psf_sigma: float | str | None = PSF_AUTO,
    lr_denoise: bool | None = None,
) -> Cube:
    """Fuse an LR-HSI with an HR-MSI into an HR-HSI on the HR-MSI grid.

    Parameters
    ----------
    lr_hsi : Cube, shape (C, h, w)
        Low-resolution hyperspectral image (any numeric scale; wavelengths in nm).
    hr_msi : Cube, shape (m, H, W)
        High-resolution multispectral image of the same ground.
    method : str
        ``"auto"`` (default: a shipped INFN checkpoint validated for these sensors and this
        ratio, else GLP with a one-line notice, see :func:`default_model`), ``"infn"`` or a
        classical baseline of :data:`hsi.fusion.baselines.BASELINES` (``"bicubic"``,
        ``"glp"``, ``"gsa"``, ``"cnmf"``).
    model : path or INFN, optional
        INFN checkpoint or model. With ``method="infn"`` and neither a model nor
        ``fit_scene``, a shipped checkpoint whose sensor metadata matches the inputs is used.
    ratio : int, optional
        HR/LR ratio; needed only for images without georeference whose sizes are not an
        exact multiple (see :func:`check_pair`).
    fit_scene : bool
        Fit INFN on this pair at reduced resolution first (:func:`hsi.fusion.fit.fit_scene`).
    device : str or torch.device
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    seed : int
        Seed of scene fitting: a whole number from 0 to :data:`hsi.check.MAX_SEED`.
    progress : bool
        Progress bar while fitting.
    fit_steps, fit_minutes : optional
        Budget of scene fitting (defaults: :data:`hsi.fusion.fit.FIT_STEPS` /
        :data:`~hsi.fusion.fit.FIT_MINUTES`).
    scales : (float, float), optional
        Normalisation divisors of the LR-HSI and HR-MSI (default: :func:`input_scales` of
        these inputs); give the whole scene's when fusing tiles.
    glp_gains : array-like, shape (C, m), optional
        GLP regression gains of the whole scene (see
        :func:`hsi.fusion.baselines.glp_moments`), used by
        ``method="glp"`` and by INFN models whose base image is GLP; give them when fusing
        tiles so that tiles agree with the untiled result.
    callback : callable, optional
        ``callback(done_steps, total_steps)`` (:mod:`hsi.progress`); return ``True`` from it
        to stop. With ``fit_scene`` it follows every fitting step and counts the prediction
        as one more step; otherwise it is called with ``(0, 1)`` before and ``(1, 1)`` after
        fusing.
    psf_sigma : float, "auto", Psf or None
        The sensor's PSF, used wherever a method degrades the HR-MSI to the LR grid (GLP/GSA
        regressions, CNMF, INFN's GLP base, scene fitting): a Gaussian σ in HR pixels, a
        :class:`~hsi.degrade.Psf`, ``"auto"`` (default) to estimate σ and the grids' sub-pixel
        shift from the pair (:func:`hsi.fusion.psf.estimate_psf`), or ``None`` for the
        nominal σ = ``ratio / 2``.
    lr_denoise : bool, optional
        Denoise the LR-HSI across bands before the method sees it (signal subspace with
        Wiener weights, :mod:`hsi.fusion.denoise`) when its estimated SNR is below 45 dB.
        Default: every method but CNMF (:func:`denoises_lr`).

    Returns
    -------
    Cube, shape (C, H, W), float32
        In the LR-HSI's units, with its wavelengths/FWHM, on the HR-MSI's grid (CRS,
        transform).

    Raises
    ------
    Cancelled
        When ``callback`` returns ``True``.
    GridError
        The images do not cover the same ground (CRS, extents, ratio).
    ModelError
        Unknown method, ``model`` or ``fit_scene`` with a method other than INFN, or a model
        that does not match the bands (one line saying what it expects).
    HsiIOError
        ``model`` names a checkpoint file that does not exist.
    ConfigError
        ``scales`` that are not two positive numbers, a ``psf_sigma`` that is not a positive
        number or ``"auto"``, an unknown ``device`` name, or a ``seed`` that is not a whole
        number in range.
    DeviceError
        ``device`` asks for CUDA on a machine without it.
    ShapeError
        The HR-MSI is too small for the PSF, or ``glp_gains`` is not ``(C, m)``.
    CubeTypeError
        ``lr_hsi`` or ``hr_msi`` is not a :class:`~hsi.cube.Cube` (e.g. a bare numpy array).
    """
    from hsi.check import check_seed
    from hsi.cube import require_cube
    from hsi.device import pick_device, seed_everything
    from hsi.fusion.baselines import missing_pixels
    from hsi.io.envi import band_metadata

    lr_hsi = require_cube(lr_hsi, "fuse: lr_hsi")
    hr_msi = require_cube(hr_msi, "fuse: hr_msi")
    method = checked_method(method, model=model, fit_scene=fit_scene)
    seed = check_seed(seed)
    r = check_pair(lr_hsi, hr_msi, ratio)
    warn_if_georeference_unchecked(lr_hsi, hr_msi)
    warn_if_not_multispectral(lr_hsi, hr_msi)
    fitting = method == "infn" and fit_scene
    steps = {"total": 1}  # fitting steps + 1 for the prediction, once fitting has said

    def fit_callback(done: int, total: int) -> bool | None:
        steps["total"] = total + 1
        return callback(done, total + 1)

    if not fitting:
        report_progress(callback, 0, 1, "fusion")
    lr_hsi, hr_msi = lr_hsi.compute(), hr_msi.compute()
    order = msi_band_order(hr_msi, method, model, fit_scene)
    if order is not None:  # e.g. R, G, B read as B, G, R: the order of the checkpoint's camera
        hr_msi = hr_msi.with_data(np.asarray(hr_msi.data)[order],
                                  wavelengths=hr_msi.wavelengths[order],
                                  fwhm=None if hr_msi.fwhm is None else hr_msi.fwhm[order])
    dev = pick_device(device)
    seed_everything(seed)
    s_lr, s_msi = input_scales(lr_hsi, hr_msi) if scales is None else checked_scales(scales)
    if scales is None:  # a tile (scales given) was checked with its scene
        for cube in (lr_hsi, hr_msi):
            warn_if_zeros_undeclared(cube)
    # LR pixels off the HR-MSI's blocks of r: fused on inputs padded to line up, then cut back
    grid = grid_alignment(lr_hsi, hr_msi, r)
    lr_in, msi_in = grid.pad(lr_hsi, hr_msi)
    # a nodata value is missing data (NaN), which the methods' statistics leave out
    lr = torch.as_tensor(missing_as_nan(lr_in.data, lr_in.nodata), device=dev) / s_lr
    msi = torch.as_tensor(missing_as_nan(msi_in.data, msi_in.nodata), device=dev) / s_msi
    sources = empty_band_sources(lr_hsi, hr_msi)
    if sources is not None:  # an empty band, read from a neighbour, spreads no NaN
        lr = lr[torch.as_tensor(sources, device=dev)]
    denoiser = denoiser_for(denoises_lr(method, lr_denoise),
                            _missing_as_zero(lr[:, : msi.shape[-2] // r, : msi.shape[-1] // r]))
    if denoiser is not None:
        lr = denoiser(lr)
    sigma = psf_for(psf_sigma, lr, msi, r) if method != "bicubic" else None
    if sigma is not None:
        check_psf_size(hr_msi, sigma, r)
    net = check = None
    if method == AUTO:
        method, net, check = auto_method(lr_hsi, hr_msi, r, dev, pair=(lr, msi),
                                         psf_sigma=sigma)
    elif method == "infn":
        net = resolve_model(lr_in, msi_in, model=model, ratio=r, fit_scene=fit_scene,
                            device=dev, seed=seed, progress=progress, fit_steps=fit_steps,
                            fit_minutes=fit_minutes, scales=(s_lr, s_msi), psf_sigma=sigma,
                            callback=fit_callback if fitting and callback is not None else None)
    if method == "infn":
        check_infn_size(lr_hsi, net, r)
    est = estimate(method, lr[None], msi[None], r, model=net, glp_gains=glp_gains,
                   psf_sigma=sigma)[0]
    missing = missing_pixels(lr, msi, r)  # no data there: NaN, not a guess
    if missing is not None:
        est[:, missing[: est.shape[-2], : est.shape[-1]]] = float("nan")
    if sources is not None:  # no data in those bands: NaN, not a neighbour's
        est[torch.as_tensor(np.flatnonzero(sources != np.arange(sources.size)))] = float("nan")
    est = est[(slice(None), *grid.crop(hr_msi.height, hr_msi.width))]
    data = (est * s_lr).cpu().numpy().astype(np.float32)
    report_progress(callback, steps["total"], steps["total"], "fusion")
    return Cube(
        data, wavelengths=lr_hsi.wavelengths, fwhm=lr_hsi.fwhm, crs=hr_msi.crs,
        transform=hr_msi.transform, nodata=None,
        name=f"{lr_hsi.short_name or 'hsi'}_{method}_x{r}",
        metadata={**band_metadata(lr_hsi), "fusion_method": method, "ratio": r,
                  "lr_hsi": lr_hsi.name,
                  "hr_msi": hr_msi.name, **(sigma.metadata() if sigma else {}),
                  **(denoiser.metadata() if denoiser else {}),
                  **({"auto_check": check} if check else {})},
    )
