"""Quality of a fused or restored cube against its reference (Wald's protocol metrics).

Every function takes ``(bands, H, W)`` arrays, numpy or torch (any device; converted to float64
numpy so both give the same numbers), **reference first**, and returns a Python float. A pair of
bare arrays whose shape looks like ``(H, W, bands)`` (:func:`hsi.cube.looks_channels_last`,
e.g. ``(512, 512, 4)``) is scored as ``(bands, H, W)`` all the same, with one warning line
naming ``np.moveaxis(array, -1, 0)``; PSNR and SSIM at a ``peak`` the data do not fit
(reflectance × 10 000 with the default peak 1: :func:`scale_problem`) are told in one
warning line too. Complex values are refused (:class:`~hsi.errors.FormatError`).

- :func:`psnr` (dB, per band then averaged), :func:`ssim` (per band then averaged),
- :func:`sam` (mean spectral angle in **degrees**), :func:`ergas`, :func:`q2n`, :func:`rmse`,
- :func:`cc` (mean per-band Pearson correlation), :func:`uiqi` (Wang & Bovik's universal image
  quality index in 32×32 sliding windows, per band then averaged),
- :func:`fusion_metrics` bundling the five fusion scores (seven with ``extended=True``).

Every metric takes ``crop=c`` (keyword): ``c`` pixels left out at each edge of both images
before scoring, as fusion papers do (Yokoya's ``ignore_edges``, the toolbox's ``dim_cut``);
``crop=c`` gives exactly the score of ``ref[:, c:-c, c:-c], est[:, c:-c, c:-c]``. :func:`psnr`
also takes ``peak_mode="band-max"``: each band's peak is the maximum of that reference band
(the convention of the MHIF codes) instead of the fixed ``peak``.

Conventions (checked against transcriptions of the published formulas in
``tests/test_metrics_reference.py`` and ``tests/test_metrics_more.py``): PSNR is the **mean of
the per-band PSNRs** with a fixed ``peak`` (the data range, 1 for reflectance) by default, not
a global PSNR over the whole cube (that is lower, e.g. 38.6 against 44.3 dB for a ×4 bicubic
upsampling of the Salinas-A sample); SSIM is Wang et al.'s 11×11 Gaussian window with
``data_range = peak``; SAM the mean angle over pixels; ERGAS uses ``100 / ratio`` (Wald's
``100 · h/l``); Q2n follows the pansharpening toolbox's ``q2n.m`` with 32×32 non-overlapping
blocks, UIQI its ``img_qi.m`` with 32×32 windows sliding by one pixel; CC is the mean of the
per-band correlations. Every pixel is scored unless ``crop`` is given.

A pixel with no data in either image (not finite in some band, as a fusion writes NaN where it
had no data, or a Cube's ``nodata`` value in every band, as a product's collar) is left out: of
the means (RMSE, PSNR, SAM, ERGAS, CC), of SSIM's map with every pixel whose 11×11 window holds
one, of Q2n with every block and of UIQI with every window that holds one, with one warning
line giving their count (:func:`drop_missing`). NaN when nothing is left.

An empty band of the reference (every value NaN or the Cube's ``nodata``, as EnMAP or PRISMA
products hold in water-absorption windows; a fused result is NaN in the same bands) is left
out of every metric, both images, with one warning line naming it (:func:`drop_empty_bands`):
the scores are those of the cubes without it.

>>> import numpy as np
>>> ref = np.ones((3, 8, 8)); est = 2 * ref
>>> round(sam(ref, est), 6)   # scaled spectra have the same direction
0.0
"""

from __future__ import annotations

import logging
import math
import operator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

import numpy as np

from hsi.check import check_shape, positive_number
from hsi.errors import ArgumentTypeError, ConfigError, FormatError, SensorError, ShapeError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import TypeAlias

    import torch
    from numpy.typing import ArrayLike

    from hsi.cube import Cube

    #: What a metric scores: a ``(bands, H, W)`` numpy array (or array-like), tensor or Cube.
    Image: TypeAlias = ArrayLike | torch.Tensor | Cube

__all__ = ["PEAK_MODES", "cc", "drop_empty_bands", "drop_missing", "empty_bands_told", "ergas",
           "fusion_metrics", "psnr", "q2n", "rmse", "sam", "scale_problem", "ssim", "uiqi"]

log = logging.getLogger("hsi.metrics")

#: Side of :func:`ssim`'s Gaussian window (Wang et al.): the smallest image it scores.
SSIM_WINDOW = 11

#: The ``peak_mode`` values of :func:`psnr`: one fixed ``peak`` for every band, or each
#: reference band's maximum.
PEAK_MODES = ("fixed", "band-max")


def _as_float64(x: Image, name: str = "input") -> np.ndarray:
    """Return ``x`` (a Cube, numpy, torch or array-like) as a float64 numpy array.

    Raises
    ------
    ArgumentTypeError
        ``x`` is not numeric (named ``name``).
    """
    from hsi.cube import Cube

    if isinstance(x, Cube):
        x = x.data
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor without importing torch
        x = x.detach().cpu()
        x = x.numpy() if x.is_complex() else x.double().numpy()
    if np.iscomplexobj(x):  # numpy would drop the imaginary part with a ComplexWarning
        raise FormatError(f"{name}: expected real values, got {np.asarray(x).dtype} (complex): "
                          f"take the magnitude or the real part first")
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name}: expected a numeric array of shape (bands, H, W), got "
                        f"{type(x).__name__}") from None


def _pair(ref: Image, est: Image, crop: int = 0, *, drop_empty: bool = True,
          tell_axes: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Both images as float64 ``(bands, H, W)`` of one shape, ``crop`` pixels cut off each edge,
    without the bands empty in the reference (:func:`drop_empty_bands`) and with the pixels
    with no data NaN (:func:`drop_missing`), unless ``drop_empty`` is false (then as given).
    Two bare arrays whose shape looks like ``(H, W, bands)`` are told in one warning line
    (:func:`hsi.cube.warn_if_channels_last`), unless inside :func:`empty_bands_told` or
    ``tell_axes`` is false (a caller whose result does not depend on the axis order)."""
    ref_cube, est_cube = _cube_or_none(ref), _cube_or_none(est)
    ref = _as_float64(ref, "reference")
    est = _as_float64(est, "estimate")
    check_shape(ref, ["bands", "H", "W"], name="reference")
    check_shape(est, ["bands", "H", "W"], name="estimate")
    if ref.shape != est.shape:
        raise ShapeError(f"reference and estimate must have the same shape (bands, H, W), got "
                         f"{ref.shape} and {est.shape}{_moved_hint(ref.shape, est.shape)}",
                         actual_shape=est.shape, expected_shape=ref.shape)
    if tell_axes and ref_cube is None and est_cube is None and not _TOLD.get():  # told once
        from hsi.cube import warn_if_channels_last

        warn_if_channels_last(ref.shape, "reference and estimate", log)
    c = check_crop(crop, ref.shape)
    if c:
        ref, est = ref[:, c:-c, c:-c], est[:, c:-c, c:-c]
    if drop_empty:
        ref, est, _ = _drop_empty(ref, est, ref_cube, est_cube)
        ref, est, _ = _drop_missing(ref, est, ref_cube, est_cube)
    return ref, est


def _moved_hint(ref_shape: tuple[int, ...], est_shape: tuple[int, ...]) -> str:
    """The end of the shape-mismatch message when one image is the other's shape with the
    bands last (:func:`hsi.cube.axis_order_hint`), else ``""``.

    Parameters
    ----------
    ref_shape, est_shape : tuple of int
        Two shapes of 3 axes.
    """
    from hsi.cube import axis_order_hint

    for moved, other in ((est_shape, ref_shape), (ref_shape, est_shape)):
        if moved == (*other[1:], other[0]):
            return axis_order_hint(moved)
    return ""


def _cube_or_none(x: Image) -> Cube | None:
    """``x`` when it is a :class:`~hsi.cube.Cube` (its wavelengths, nodata and name), else None."""
    from hsi.cube import Cube

    return x if isinstance(x, Cube) else None


def _drop_empty(ref: np.ndarray, est: np.ndarray, ref_cube: Cube | None,
                est_cube: Cube | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`drop_empty_bands` on float64 arrays of one shape; ``ref_cube`` and ``est_cube``
    (or None) give the nodata values, wavelengths and names the arrays came with."""
    from hsi.cube import Cube

    def has_missing(x: np.ndarray, like: Cube | None) -> bool:
        nodata = None if like is None else like.nodata
        return not np.isfinite(x.sum()) or (nodata is not None and bool((x == nodata).any()))

    if not (has_missing(ref, ref_cube) or has_missing(est, est_cube)):
        return ref, est, np.zeros(0, dtype=np.int64)  # no band can be empty: nothing to judge
    from hsi.bands import band_label, empty_bands

    def as_cube(x: np.ndarray, like: Cube | None) -> Cube:
        if like is None:
            return Cube(x)
        return Cube(x, wavelengths=like.wavelengths, nodata=like.nodata, name=like.name)

    ref_c = as_cube(ref, ref_cube)
    empty = empty_bands(ref_c)
    tell = not _TOLD.get()
    est_empty = np.setdiff1d(empty_bands(as_cube(est, est_cube)), empty)
    if est_empty.size and empty.size < ref.shape[0]:
        if tell:
            log.warning("%s: the estimate has no valid value in band(s) %s, where the "
                        "reference has data: every pixel is left out (NaN scores)",
                        (est_cube.name if est_cube is not None else "") or "metrics",
                        band_label(ref_c, est_empty))
        est = est.copy()
        est[est_empty] = np.nan  # a nodata value is no data, not a value to score
    if not empty.size:
        return ref, est, empty
    name = ref_c.name or "metrics"
    if empty.size == ref.shape[0]:
        if tell:
            log.warning("%s: no band of the reference has a valid value (all NaN or nodata): "
                        "nothing to score (NaN scores)", name)
        return ref, est, np.zeros(0, dtype=empty.dtype)
    if tell:
        log.warning("%s: band(s) %s of the reference have no valid value (all NaN or nodata): "
                    "left out of every metric (%d of %d bands scored)", name,
                    band_label(ref_c, empty), ref.shape[0] - empty.size, ref.shape[0])
    keep = np.setdiff1d(np.arange(ref.shape[0]), empty)
    return ref[keep], est[keep], empty


def _nodata_as_nan(x: np.ndarray, like: Cube | None) -> np.ndarray:
    """``x`` (float64, ``(bands, H, W)``) with the pixels whose bands all equal ``like``'s
    ``nodata`` NaN (:func:`hsi.cube.missing_as_nan`); ``x`` itself without any."""
    from hsi.cube import missing_as_nan

    return x if like is None else missing_as_nan(x, like.nodata, np.float64)


def _drop_missing(ref: np.ndarray, est: np.ndarray, ref_cube: Cube | None,
                  est_cube: Cube | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`drop_missing`'s pixel step on float64 arrays of one shape (their empty bands
    left out already): each one's ``nodata`` pixels NaN, the mask of the pixels with no data,
    one warning line giving their count."""
    ref, est = _nodata_as_nan(ref, ref_cube), _nodata_as_nan(est, est_cube)
    valid = _valid(ref, est)
    if valid is None:
        return ref, est, np.zeros(ref.shape[1:], dtype=bool)
    missing = ~valid
    # a band without any value (every pixel missing) was told by _drop_empty already
    whole_band = any(not np.isfinite(x).any(axis=(1, 2)).all() for x in (ref, est))
    if not _TOLD.get() and not whole_band:
        names = [c.name for c in (ref_cube, est_cube) if c is not None and c.name]
        n, total = int(missing.sum()), missing.size
        log.warning("%s: %d of %d pixels have no data (NaN or nodata) in the reference or the "
                    "estimate: left out of every metric%s", ", ".join(names) or "metrics", n,
                    total, " (nothing left: NaN scores)" if n == total else "")
    return ref, est, missing


#: True while the empty bands and missing pixels of the pair being scored have been told
#: already (by :func:`fusion_metrics` or ``hsi metrics``): the metrics it calls do not repeat
#: the warnings.
_TOLD: ContextVar[bool] = ContextVar("hsi_metrics_empty_bands_told", default=False)


@contextmanager
def empty_bands_told() -> Iterator[None]:
    """Inside it, the metrics do not warn about empty bands or pixels with no data: for a
    caller that scored the pair with several metrics after telling them once
    (:func:`drop_empty_bands`, :func:`drop_missing`).

    The bands and pixels are still left out, and the estimate's empty bands still give NaN
    scores.
    """
    token = _TOLD.set(True)
    try:
        yield
    finally:
        _TOLD.reset(token)


def drop_empty_bands(ref: Image, est: Image, *,
                     crop: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both images without the reference's empty bands, with one warning line naming them.

    An empty band (:func:`hsi.bands.empty_bands`: every value NaN, infinite or the cube's
    ``nodata``, as EnMAP, PRISMA or AVIRIS products hold in water-absorption windows, and as a
    fusion writes the bands its LR input had no data in) has no truth to score against: it
    would leave every pixel out (NaN) or be scored as values (a nodata value). It is left out
    of both images; every metric calls this first, so each scores the bands with data only.
    One warning line (logger ``hsi.metrics``) names the bands, with their wavelengths when
    ``ref`` is a Cube that has them. An estimate that is empty in a band where the reference
    has data is not forgiven: it is named in a warning and its scores are NaN. A reference
    without any band with data is returned whole (NaN scores), with a warning.

    Parameters
    ----------
    ref, est : array-like, torch.Tensor or Cube, shape (bands, H, W)
        A Cube's ``nodata`` value counts as no data, its wavelengths and name go into the
        warning.
    crop : int
        Pixels left out at each edge of both images first (keyword, >= 0); the bands are
        judged on what is left.

    Returns
    -------
    ref, est : numpy.ndarray, float64, shape (bands_with_data, H', W')
    empty : numpy.ndarray of int, shape (k,)
        The indices (from 0) of the bands left out; empty when none was.

    Raises
    ------
    ArgumentTypeError
        When ``ref`` or ``est`` is not numeric (e.g. text).
    FormatError
        When ``ref`` or ``est`` holds complex values.
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ.
    ConfigError
        When ``crop`` is negative, not an integer or leaves no pixel.
    """
    ref_cube, est_cube = _cube_or_none(ref), _cube_or_none(est)
    ref, est = _pair(ref, est, crop, drop_empty=False)
    return _drop_empty(ref, est, ref_cube, est_cube)


def drop_missing(ref: Image, est: Image, *, crop: int = 0,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What every metric scores: both images without the reference's empty bands and with
    the pixels that have no data in either image as NaN, each told in one warning line.

    First :func:`drop_empty_bands`; then, on the bands left, a pixel has no data in an image
    when a band of it is not finite (NaN where a fusion had no data) or, for a Cube with a
    ``nodata`` value, when every band of it equals that value (a product's collar; the rule of
    :func:`hsi.cube.valid_mask`: one band equal to it in a pixel with data stays a value).
    Such a pixel of either image is left out of every metric (not scored as values, and not
    making every score NaN); one warning line (logger ``hsi.metrics``) gives their count.

    Parameters
    ----------
    ref, est : array-like, torch.Tensor or Cube, shape (bands, H, W)
        A Cube's ``nodata`` value counts as no data, its name goes into the warnings.
    crop : int
        Pixels left out at each edge of both images first (keyword, >= 0).

    Returns
    -------
    ref, est : numpy.ndarray, float64, shape (bands_with_data, H', W')
        Each one's own ``nodata`` pixels NaN (a metric leaves out a pixel that either image
        is NaN at).
    empty : numpy.ndarray of int, shape (k,)
        The indices (from 0) of the bands left out (:func:`drop_empty_bands`).
    missing : numpy.ndarray of bool, shape (H', W')
        The pixels left out: no data in either image.

    Raises
    ------
    ArgumentTypeError
        When ``ref`` or ``est`` is not numeric (e.g. text).
    FormatError
        When ``ref`` or ``est`` holds complex values.
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ.
    ConfigError
        When ``crop`` is negative, not an integer or leaves no pixel.
    """
    ref_cube, est_cube = _cube_or_none(ref), _cube_or_none(est)
    ref, est, empty = drop_empty_bands(ref, est, crop=crop)
    ref, est, missing = _drop_missing(ref, est, ref_cube, est_cube)
    return ref, est, empty, missing


def check_crop(crop: int, shape: tuple[int, ...]) -> int:
    """``crop`` as an int after checking it leaves pixels of an image of ``shape``.

    Parameters
    ----------
    crop : int
        Pixels left out at each edge (top, bottom, left, right), >= 0.
    shape : tuple of int
        ``(bands, H, W)`` or ``(H, W)`` of the image to crop.

    Returns
    -------
    int

    Raises
    ------
    ConfigError
        ``crop`` is not an integer, is negative, or leaves no pixel (``2·crop >= H`` or ``W``).
    """
    from hsi.check import is_whole_number

    if not is_whole_number(crop, 0):
        raise ConfigError(f"crop (pixels left out at each edge) must be an integer >= 0, "
                          f"got {crop!r}")
    c = int(crop)
    h, w = shape[-2:]
    if 2 * c >= min(h, w):
        raise ConfigError(f"crop {c} leaves no pixel of the {h}×{w} image (it removes {c} "
                          f"pixels at each edge: needs 2 × crop < {min(h, w)})")
    return c


def check_peak_mode(peak_mode: str) -> str:
    """``peak_mode`` as one of :data:`PEAK_MODES` (``"band_max"`` read as ``"band-max"``).

    Raises
    ------
    ConfigError
        For any other value.
    """
    mode = peak_mode.replace("_", "-") if isinstance(peak_mode, str) else None
    if mode not in PEAK_MODES:
        raise ConfigError(f"PSNR peak mode must be 'fixed' (one peak for every band) or "
                          f"'band-max' (each reference band's maximum), got {peak_mode!r}")
    return mode


def _check_peak(peak: float) -> float:
    """``peak`` as a float after checking it is a positive finite number."""
    return positive_number(peak, ConfigError, "peak (the data range) must be a positive number")


def _valid(ref: np.ndarray, est: np.ndarray) -> np.ndarray | None:
    """``(H, W)`` mask of the pixels finite in every band of both images, or ``None`` when all
    are (a fused image is NaN where it had no data: such pixels are left out of the scores)."""
    if np.isfinite(ref.sum()) and np.isfinite(est.sum()):
        return None
    return np.isfinite(ref).all(0) & np.isfinite(est).all(0)


def _scored_pixels(ref: np.ndarray, est: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both images restricted to the pixels a mean scores: those finite in every band of both
    (:func:`_valid`).

    Parameters
    ----------
    ref, est : numpy.ndarray, float64, shape (bands, H, W)

    Returns
    -------
    ref, est : numpy.ndarray, float64
        ``ref`` and ``est`` themselves, shape (bands, H, W), when every pixel is finite; else
        shape (bands, n, 1): the ``n`` pixels kept, in row-major order (``n`` may be 0). A
        reduction over axes (1, 2) or a reshape to (bands, -1) reads either the same way.
    """
    valid = _valid(ref, est)
    if valid is None:
        return ref, est
    return ref[:, valid][:, :, None], est[:, valid][:, :, None]


def rmse(ref: Image, est: Image, *, crop: int = 0) -> float:
    """Root mean square error over all bands and pixels (data units).

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)
    crop : int
        Pixels left out at each edge of both images before scoring (keyword, >= 0).

    Raises
    ------
    ArgumentTypeError
        When ``ref`` or ``est`` is not numeric (e.g. text).
    FormatError
        When ``ref`` or ``est`` holds complex values.
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ.
    ConfigError
        When ``crop`` is negative, not an integer or leaves no pixel.
    """
    ref, est = _scored_pixels(*_pair(ref, est, crop))
    return float(np.sqrt(np.mean((ref - est) ** 2))) if ref.size else float("nan")


def psnr(ref: Image, est: Image, peak: float = 1.0, *, peak_mode: str = "fixed",
         crop: int = 0) -> float:
    """Peak signal-to-noise ratio in dB, computed per band and averaged over bands.

    ``PSNR = mean_b 10 log10(peak_b² / MSE_b)``: the convention of the hyperspectral fusion
    (MHIF) papers. It is not the global ``10 log10(peak² / MSE)`` over the whole cube (several
    dB lower on real data). Two peaks:

    - ``peak_mode="fixed"`` (default): ``peak_b = peak`` for every band, the data range;
    - ``peak_mode="band-max"``: ``peak_b = max(ref_b)``, the maximum of reference band ``b``
      over the pixels scored (the MHIF / HyperPNN codes' ``np.max(ref[..., b])``); ``peak`` is
      then unused. Lower than the fixed peak 1 for reflectance below 1 (by
      ``20 log10(max_b)`` dB per band). A band whose reference maximum is not positive has no
      peak: it is left out of the mean with a warning (logger ``hsi.metrics``), NaN when no
      band is left.

    A band with zero error gives ``inf`` (so does the mean).

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)
    peak : float
        Maximum possible value, the data range (1 for reflectance in [0, 1]); > 0. Used by
        ``peak_mode="fixed"``; a pair it does not fit (:func:`scale_problem`, e.g.
        reflectance × 10 000 at peak 1) is told in one warning line and scored all the same.
    peak_mode : {"fixed", "band-max"}
        Where each band's peak comes from (keyword; ``"band_max"`` is accepted too).
    crop : int
        Pixels left out at each edge of both images before scoring (keyword, >= 0).

    Returns
    -------
    float
        dB.

    Raises
    ------
    ArgumentTypeError
        When ``ref`` or ``est`` is not numeric (e.g. text).
    FormatError
        When ``ref`` or ``est`` holds complex values.
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ.
    ConfigError
        When ``peak`` is not a positive finite number, ``peak_mode`` is not one of
        :data:`PEAK_MODES`, or ``crop`` is invalid.
    """
    peak = _check_peak(peak)
    mode = check_peak_mode(peak_mode)
    ref, est = _pair(ref, est, crop)
    if mode == "fixed":
        _warn_scale(ref, est, peak, "psnr")
    ref, est = _scored_pixels(ref, est)
    if ref.shape[1] == 0:  # no pixel to score
        return float("nan")
    mse = np.mean((ref - est) ** 2, axis=(1, 2))
    if mode == "fixed":
        peaks = np.full(mse.shape, float(peak))
    else:
        peaks = ref.max(axis=(1, 2))
        bad = ~(peaks > 0)
        if bad.any():
            log.warning("psnr: %d band(s) whose reference maximum is not positive (%s) have "
                        "no peak for peak mode 'band-max' and are left out", int(bad.sum()),
                        _band_list(np.flatnonzero(bad)))
            if bad.all():
                return float("nan")
            peaks, mse = peaks[~bad], mse[~bad]
    with np.errstate(divide="ignore"):
        per_band = 10.0 * np.log10(peaks ** 2 / mse)
    return float(np.mean(per_band))


def _band_list(indices: np.ndarray, most: int = 8) -> str:
    """``"bands 0, 3, 7"``, with ``", ..."`` past ``most`` of them (0-based indices)."""
    shown = ", ".join(str(int(i)) for i in indices[:most])
    more = ", ..." if len(indices) > most else ""
    return f"band{'s' if len(indices) > 1 else ''} {shown}{more}"


def ssim(ref: Image, est: Image, peak: float = 1.0, *, crop: int = 0) -> float:
    """Structural similarity, computed per band and averaged over bands.

    The setting of Wang et al. (2004): 11×11 Gaussian window of σ = 1.5, K1 = 0.01, K2 = 0.03,
    population covariances (``skimage.metrics.structural_similarity`` with
    ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=peak``); each
    band's score is the mean of its SSIM map over the pixels whose whole window lies inside
    the image (the 5-pixel border left out, as ``ssim_index.m``'s 'valid' filtering). The data
    range is the fixed ``peak``, not each band's ``max − min``; the automatic downsampling of
    Wang's 2009 ``ssim.m`` (by ``round(min(H, W) / 256)``) is not applied. With ``crop`` the
    images are cropped first and scored as above (the 5-pixel border of the cropped images
    is left out too).

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)
        H and W (after ``crop``) must be at least 11.
    peak : float
        Data range (1 for reflectance); > 0. A pair it does not fit (:func:`scale_problem`) is
        told in one warning line and scored all the same.
    crop : int
        Pixels left out at each edge of both images before scoring (keyword, >= 0).

    Raises
    ------
    ArgumentTypeError
        When ``ref`` or ``est`` is not numeric (e.g. text).
    FormatError
        When ``ref`` or ``est`` holds complex values.
    ShapeError
        When the shapes differ or the images are smaller than the 11×11 window.
    ConfigError
        When ``peak`` is not a positive finite number or ``crop`` is invalid.
    """
    from skimage.metrics import structural_similarity

    peak = _check_peak(peak)
    ref, est = _pair(ref, est, crop)
    if min(ref.shape[1:]) < SSIM_WINDOW:
        raise ShapeError(f"ssim needs images of at least {SSIM_WINDOW}×{SSIM_WINDOW} pixels, "
                         f"got {ref.shape[1]}×{ref.shape[2]}", actual_shape=ref.shape,
                         expected_shape=("bands", f">={SSIM_WINDOW}", f">={SSIM_WINDOW}"))
    _warn_scale(ref, est, peak, "ssim")
    valid = _valid(ref, est)
    if valid is None:
        values = [structural_similarity(r, e, data_range=float(peak), gaussian_weights=True,
                                        sigma=1.5, use_sample_covariance=False)
                  for r, e in zip(ref, est, strict=True)]
        return float(np.mean(values))
    # missing pixels: the mean of the SSIM map over the pixels whose 11×11 window holds none
    # (skimage's own mean leaves the 5-pixel border out the same way)
    from scipy.ndimage import binary_dilation

    counted = ~binary_dilation(~valid, structure=np.ones((11, 11), bool))
    counted[:5], counted[-5:], counted[:, :5], counted[:, -5:] = False, False, False, False
    if not counted.any():
        return float("nan")
    # 0 for a missing value (not nan_to_num's ±1.8e308 for ±inf, which overflows the filters):
    # any pixel whose window reads it is left out above
    ref = np.where(np.isfinite(ref), ref, 0.0)
    est = np.where(np.isfinite(est), est, 0.0)
    maps = [structural_similarity(r, e, data_range=float(peak), gaussian_weights=True,
                                  sigma=1.5, use_sample_covariance=False, full=True)[1]
            for r, e in zip(ref, est, strict=True)]
    return float(np.mean([m[counted].mean() for m in maps]))


def sam(ref: Image, est: Image, *, crop: int = 0) -> float:
    """Mean spectral angle mapper in degrees.

    The angle between the reference and estimated spectrum of each pixel, averaged over the
    pixels where both spectra have a non-zero norm (others are skipped, as ``SAM.m`` of the
    pansharpening toolbox does) and are finite in every band. Computed as
    ``2·atan2(‖â − ê‖, ‖â + ê‖)`` on unit vectors, equal to ``arccos(⟨a, b⟩ / (‖a‖ ‖b‖))`` and
    accurate near 0° and 180°.

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)
    crop : int
        Pixels left out at each edge of both images before scoring (keyword, >= 0).

    Returns
    -------
    float
        Degrees in [0, 180]; NaN when no pixel has two non-zero spectra.

    Raises
    ------
    ArgumentTypeError
        When ``ref`` or ``est`` is not numeric (e.g. text).
    FormatError
        When ``ref`` or ``est`` holds complex values.
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ.
    ConfigError
        When ``crop`` is negative, not an integer or leaves no pixel.
    """
    ref, est = _pair(ref, est, crop)
    a = ref.reshape(ref.shape[0], -1)
    b = est.reshape(est.shape[0], -1)
    finite = _valid(ref, est)
    if finite is not None:  # a pixel with ±inf would give inf / inf: left out like NaN
        finite = finite.reshape(-1)
        a = np.where(finite, a, 0.0)
        b = np.where(finite, b, 0.0)
    na = np.linalg.norm(a, axis=0)
    nb = np.linalg.norm(b, axis=0)
    valid = (na > 0) & (nb > 0)
    if not np.any(valid):
        return float("nan")
    ua = a[:, valid] / na[valid]
    ub = b[:, valid] / nb[valid]
    angle = 2.0 * np.arctan2(np.linalg.norm(ua - ub, axis=0), np.linalg.norm(ua + ub, axis=0))
    return float(np.degrees(np.mean(angle)))


def ergas(ref: Image, est: Image, ratio: float, *, crop: int = 0) -> float:
    """Erreur relative globale adimensionnelle de synthèse (Wald, 2002).

    ``ERGAS = 100 / ratio · sqrt(mean_b(RMSE_b² / μ_b²))`` with ``μ_b`` the mean of reference
    band ``b``; 0 is perfect. ``ratio`` is the LR pixel size over the HR one (4 for a ×4
    pair), so ``100 / ratio`` is Wald's ``100 · h/l`` (``ERGAS.m`` of the pansharpening
    toolbox); codes that multiply by the ratio, or pass ``h/l`` itself, give ``ratio²`` times
    these values. A band with zero reference mean makes it ``inf`` (0 when its error is 0 too).

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)
    ratio : float
        Resolution ratio between the low- and high-resolution images (e.g. 4), > 0.
    crop : int
        Pixels left out at each edge of both images before scoring (keyword, >= 0).

    Raises
    ------
    ArgumentTypeError
        When ``ref`` or ``est`` is not numeric (e.g. text).
    FormatError
        When ``ref`` or ``est`` holds complex values.
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ.
    SensorError
        When ``ratio`` is not a positive number.
    ConfigError
        When ``crop`` is negative, not an integer or leaves no pixel.
    """
    ref, est = _pair(ref, est, crop)
    try:
        r = float(ratio)
    except (TypeError, ValueError):
        raise SensorError(f"ergas ratio must be a positive number, got {ratio!r}") from None
    if not (math.isfinite(r) and r > 0):
        raise SensorError(f"ergas ratio must be a positive number, got {ratio!r}")
    ref, est = _scored_pixels(ref, est)
    if ref.shape[1] == 0:  # no pixel to score
        return float("nan")
    mse = np.mean((ref - est) ** 2, axis=(1, 2))
    mu2 = np.mean(ref, axis=(1, 2)) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(mse == 0, 0.0, mse / mu2)
    return float(100.0 / r * np.sqrt(np.mean(terms)))


def cc(ref: Image, est: Image, *, crop: int = 0) -> float:
    """Cross-correlation: the mean over bands of the Pearson correlation of each band pair.

    ``CC = mean_b Σ(r − r̄)(e − ē) / sqrt(Σ(r − r̄)² · Σ(e − ē)²)`` over the pixels of band
    ``b`` (Loncan et al. 2015; Yokoya's ``quality_assessment.m``; the MHIF / HyperPNN codes'
    ``cross_correlation``): one correlation per band, then their plain mean, not one
    correlation of the whole flattened cube. 1 is perfect; invariant to a gain > 0 and an
    offset per band.

    A band that is constant (the same value in every pixel scored) in either image has no
    correlation (0 / 0). Rather than NaN it is scored **1 when both images are constant**
    (the estimate reproduces the absence of structure; the only limit consistent with the
    offset invariance) and **0 when only one is** (no shared variation: a flat estimate of a
    textured band must not be left out and so flatter the mean). Such bands are named in a
    warning (logger ``hsi.metrics``).

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)
    crop : int
        Pixels left out at each edge of both images before scoring (keyword, >= 0).

    Returns
    -------
    float
        In [-1, 1] (dimensionless); NaN when no pixel is finite in both images.

    Raises
    ------
    ArgumentTypeError
        When ``ref`` or ``est`` is not numeric (e.g. text).
    FormatError
        When ``ref`` or ``est`` holds complex values.
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ.
    ConfigError
        When ``crop`` is negative, not an integer or leaves no pixel.
    """
    ref, est = _scored_pixels(*_pair(ref, est, crop))
    a = ref.reshape(ref.shape[0], -1)
    b = est.reshape(est.shape[0], -1)
    if a.shape[1] == 0:
        return float("nan")
    flat_a = np.ptp(a, axis=1) == 0
    flat_b = np.ptp(b, axis=1) == 0
    ac = a - a.mean(axis=1, keepdims=True)
    bc = b - b.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.sum(ac * bc, axis=1) / np.sqrt(np.sum(ac**2, axis=1) * np.sum(bc**2, axis=1))
    r = np.clip(r, -1.0, 1.0)
    flat = flat_a | flat_b
    if flat.any():
        r[flat] = np.where(flat_a & flat_b, 1.0, 0.0)[flat]
        log.warning("cc: %s constant in the reference or the estimate: scored 1 where both "
                    "are constant, 0 where only one is", _band_list(np.flatnonzero(flat)))
    return float(np.mean(r))


def _check_block(block: int, metric: str) -> int:
    """``block`` (a window side of :func:`uiqi` or :func:`q2n`) as an int >= 2.

    Raises
    ------
    ShapeError
        Not an integer (``2.5``, ``"8"``: never truncated) or below 2.
    """
    try:
        k = operator.index(block)
    except TypeError:
        raise ShapeError(f"{metric} block must be an integer >= 2 (pixels), got "
                         f"{block!r}") from None
    if k < 2:
        raise ShapeError(f"{metric} block must be at least 2 pixels, got {k}")
    return k


def _window_sums(x: np.ndarray, k: int) -> np.ndarray:
    """Sums of ``x`` (H, W) over every k×k window inside it, shape (H − k + 1, W − k + 1)."""
    c = np.zeros((x.shape[0] + 1, x.shape[1] + 1))
    np.cumsum(np.cumsum(x, axis=0), axis=1, out=c[1:, 1:])
    return c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]


def _flat_windows(x: np.ndarray, k: int) -> np.ndarray:
    """Whether each k×k window inside ``x`` (H, W) holds a single value (max = min, exact)."""
    from scipy.ndimage import maximum_filter, minimum_filter

    s = slice(k // 2, None)  # the filters' window at i covers i − k//2 … i − k//2 + k − 1
    h, w = x.shape[0] - k + 1, x.shape[1] - k + 1
    return (maximum_filter(x, size=k, mode="nearest")[s, s][:h, :w]
            == minimum_filter(x, size=k, mode="nearest")[s, s][:h, :w])


def _uiqi_map(x: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Q of every k×k window inside the (H, W) images ``x`` (reference) and ``y``, as Wang's
    ``img_qi.m``, its special cases included (see :func:`uiqi`)."""
    n = float(k * k)
    # moments of the data shifted by each image's mean (variances and covariance do not
    # change; less cancellation in E[x²] − E[x]²)
    cx, cy = float(x.mean()), float(y.mean())
    xs, ys = x - cx, y - cy
    mx, my = _window_sums(xs, k) / n, _window_sums(ys, k) / n
    vx = np.maximum(_window_sums(xs * xs, k) / n - mx * mx, 0.0)
    vy = np.maximum(_window_sums(ys * ys, k) / n - my * my, 0.0)
    cov = _window_sums(xs * ys, k) / n - mx * my
    mx, my = mx + cx, my + cy
    # a constant window has no variance, exactly (rounding in the sums would give ~1e-17)
    fx, fy = _flat_windows(x, k), _flat_windows(y, k)
    vx[fx], vy[fy], cov[fx | fy] = 0.0, 0.0, 0.0
    var_sum, mean_sq = vx + vy, mx * mx + my * my
    q = np.ones_like(var_sum)
    both_flat = (var_sum == 0) & (mean_sq != 0)
    q[both_flat] = 2.0 * mx[both_flat] * my[both_flat] / mean_sq[both_flat]
    regular = (var_sum * mean_sq) != 0
    q[regular] = (4.0 * cov[regular] * mx[regular] * my[regular]
                  / (var_sum[regular] * mean_sq[regular]))
    return q


def uiqi(ref: Image, est: Image, block: int = 32, *, crop: int = 0) -> float:
    """Universal image quality index of Wang & Bovik (2002), per band then averaged.

    ``Q = 4 σ_xy μ_x μ_y / ((σ_x² + σ_y²)(μ_x² + μ_y²))``, the product of correlation,
    luminance and contrast terms (SSIM with C1 = C2 = 0), computed in every ``block × block``
    window **sliding by one pixel** inside the image (no padding: ``(H − block + 1)(W −
    block + 1)`` windows), averaged over windows, then over bands. This is Wang's
    ``img_qi.m`` as the pansharpening toolbox (Vivone et al.) calls it per band with its
    ``Qblocks_size = 32`` (the "Q" / "Q_avg" of fusion papers); Wang & Bovik's paper used
    8×8 windows (``block=8``). x is the reference, y the estimate (Q is symmetric).

    Windows without variance follow ``img_qi.m``: both constant gives the mean term
    ``2 μ_x μ_y / (μ_x² + μ_y²)`` (1 for equal values), only one constant gives 0 (no
    covariance), and zero means in both (``μ_x² + μ_y² = 0``) give 1. Constancy is tested
    exactly (max = min in the window), so rounding cannot turn a flat window into noise.

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)
        H and W (after ``crop``) must be at least ``block``.
    block : int
        Window side in pixels (32 as in the toolbox); at least 2.
    crop : int
        Pixels left out at each edge of both images before scoring (keyword, >= 0).

    Returns
    -------
    float
        In [-1, 1] (dimensionless), 1 for identical images; NaN when every window holds a
        pixel that is not finite in both images.

    Raises
    ------
    ArgumentTypeError
        When ``ref`` or ``est`` is not numeric (e.g. text).
    FormatError
        When ``ref`` or ``est`` holds complex values.
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ, ``block`` < 2, or the images are
        smaller than ``block × block``.
    ConfigError
        When ``crop`` is negative, not an integer or leaves no pixel.
    """
    ref, est = _pair(ref, est, crop)
    k = _check_block(block, "uiqi")
    h, w = ref.shape[1:]
    if min(h, w) < k:
        raise ShapeError(f"uiqi needs images of at least {k}×{k} pixels (block), got {h}×{w}",
                         actual_shape=ref.shape, expected_shape=("bands", f">={k}", f">={k}"))
    valid = _valid(ref, est)
    counted = None
    if valid is not None:
        counted = _window_sums((~valid).astype(np.float64), k) == 0
        if not counted.any():
            return float("nan")
        ref = np.where(valid, ref, 0.0)
        est = np.where(valid, est, 0.0)
    per_band = []
    for x, y in zip(ref, est, strict=True):
        q = _uiqi_map(x, y, k)
        per_band.append(q.mean() if counted is None else q[counted].mean())
    return float(np.mean(per_band))


# ========================================================================================= Q2^n
_TABLES: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _product_table(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Multiplication table of the 2^k-component hypercomplex algebra used by Q2^n.

    ``e_i · e_j = sign[i, j] · e_{index[i, j]}``. The algebra is built by doubling
    (Cayley–Dickson) with the product of the pansharpening toolbox's ``onion_mult`` (Vivone et
    al.): ``(a, b)(c, d) = (a c − d̄ b, ā d̄ + c b̄)``, the conjugate negating every component but
    the first. n = 2 gives the complex numbers, n = 4 quaternions.
    """
    if n not in _TABLES:
        if n == 1:
            _TABLES[1] = (np.ones((1, 1)), np.zeros((1, 1), dtype=np.intp))
        else:
            half = n // 2
            s_h, i_h = _product_table(half)
            c = np.ones(half)
            c[1:] = -1.0  # conj(e_k) = c[k] e_k
            sign = np.empty((n, n))
            index = np.empty((n, n), dtype=np.intp)
            lo, hi = slice(0, half), slice(half, n)
            # (e_i, 0)(e_j, 0) = (e_i e_j, 0)
            sign[lo, lo], index[lo, lo] = s_h, i_h
            # (e_i, 0)(0, e_j) = (0, conj(e_i) conj(e_j))
            sign[lo, hi] = c[:, None] * c[None, :] * s_h
            index[lo, hi] = half + i_h
            # (0, e_i)(e_j, 0) = (0, e_j conj(e_i))
            sign[hi, lo] = s_h.T * c[:, None]
            index[hi, lo] = half + i_h.T
            # (0, e_i)(0, e_j) = (−conj(e_j) e_i, 0)
            sign[hi, hi] = -(s_h.T * c[None, :])
            index[hi, hi] = i_h.T
            _TABLES[n] = (sign, index)
    return _TABLES[n]


def _hypercomplex_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Product of hypercomplex numbers with components on the first axis, shape (n, ...)."""
    n = a.shape[0]
    sign, index = _product_table(n)
    out = np.zeros(np.broadcast_shapes(a.shape, b.shape))
    for i in range(n):
        for j in range(n):
            out[index[i, j]] += sign[i, j] * a[i] * b[j]
    return out


def _q_block(z: np.ndarray, v: np.ndarray) -> float:
    """Q2^n of one block: z, v shape (n, P) with n a power of 2 (hypercomplex pixels), P >= 2.

    Exactly 1 when the two blocks are equal."""
    if np.array_equal(z, v):
        return 1.0  # the formula's value, which rounding would miss by a few ulps
    n, p = z.shape
    conj = np.ones((n, 1))
    conj[1:] = -1.0
    # Block normalisation of the toolbox (norm_blocco): each band by the reference's mean and
    # sample std, applied to both images. A band that is 0 throughout the reference block
    # (the bands padding n to a power of 2, an empty block) is only shifted in the estimate:
    # onions_quality.m does so for any band of zero mean, which scored identical blocks with
    # a zero-mean band (signed data) below 1, e.g. 0.64. Then the estimate is conjugated: v̄.
    mu = z.mean(axis=1, keepdims=True)
    sd = z.std(axis=1, ddof=1, keepdims=True)
    zero = (mu == 0) & (sd == 0)
    sd = np.where(sd == 0, np.finfo(np.float64).eps, sd)
    z = (z - mu) / sd + 1.0
    v = ((v - mu) / np.where(zero, 1.0, sd) + 1.0) * conj
    m1 = z.mean(axis=1)
    m2 = v.mean(axis=1)
    k = p / (p - 1.0)
    mod_m1_sq = float(np.sum(m1 ** 2))
    mod_m2_sq = float(np.sum(m2 ** 2))
    mean_bias = 2.0 * math.sqrt(mod_m1_sq * mod_m2_sq) / (mod_m1_sq + mod_m2_sq)
    var_sum = k * (np.mean(np.sum(z ** 2, axis=0)) + np.mean(np.sum(v ** 2, axis=0))) \
        - k * (mod_m1_sq + mod_m2_sq)
    if var_sum == 0:
        return abs(mean_bias)
    sign, index = _product_table(n)
    cross = (z @ v.T) / p  # E[z_i v̄_j], (n, n)
    qv = np.zeros(n)
    np.add.at(qv, index.ravel(), (sign * cross).ravel())
    qm = np.zeros(n)
    np.add.at(qm, index.ravel(), (sign * np.outer(m1, m2)).ravel())
    q = k * (qv - qm) * mean_bias * 2.0 / var_sum
    return float(np.linalg.norm(q))


def q2n(ref: Image, est: Image, block: int = 32, *, crop: int = 0) -> float:
    """Q2^n index of Garzelli & Nencini (2009), the hypercomplex extension of Q4 / UIQI.

    Each pixel's spectrum is a hypercomplex number of 2^k components (bands zero-padded to the
    next power of two). On each non-overlapping ``block × block`` window,
    ``Q = |σ_zv| / (σ_z σ_v) · 2 σ_z σ_v / (σ_z² + σ_v²) · 2 |μ_z| |μ_v| / (|μ_z|² + |μ_v|²)``
    with hypercomplex means, variances and covariance ``σ_zv = E[(z − μ_z)(v − μ_v)*]``; the
    index is the mean over blocks. Follows ``q2n.m``/``onions_quality.m`` of the pansharpening
    toolbox (Vivone et al.) called as in its ``indexes_evaluation.m``, with the shift equal to
    the block size (non-overlapping blocks): per-block band normalisation by the reference's
    mean and sample std, its product convention, and the image padded by mirroring (edge
    sample repeated) to whole blocks. The toolbox also casts both images to uint16 first
    (meant for digital numbers; reflectance in [0, 1] would round to 0 or 1): not done here.
    Matches a transcription of the toolbox to 1e-12 on real data
    (``tests/test_metrics_reference.py``). Where the toolbox fails or misleads, it differs:
    an image side shorter than half a block (which one mirroring cannot fill: the toolbox
    stops on an index error) is one block of that side, each pixel counted once; a band
    whose block mean is 0 but not its values (signed data) is normalised in the estimate as
    in the reference (the toolbox only shifts it, scoring identical images below 1);
    identical blocks score exactly 1. Bands are counted as given: 1 band is a real number
    (Q2n is then the modulus of UIQI on the normalised block), 3 bands are padded to 4.

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)
    block : int
        Block size in pixels (32 as in the literature); an integer, at least 2.
    crop : int
        Pixels left out at each edge of both images before scoring (keyword, >= 0).

    Returns
    -------
    float
        In [0, 1], exactly 1 for identical images; NaN when every block holds a pixel with
        no data (one warning line says so, unless inside :func:`empty_bands_told`).

    Raises
    ------
    ArgumentTypeError
        When ``ref`` or ``est`` is not numeric (e.g. text).
    FormatError
        When ``ref`` or ``est`` holds complex values.
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ, ``block`` is not an integer
        >= 2, or the images have a single pixel (a block needs two).
    ConfigError
        When ``crop`` is negative, not an integer or leaves no pixel.
    """
    ref, est = _pair(ref, est, crop)
    block = _check_block(block, "q2n")
    bands, h, w = ref.shape
    if h * w < 2:
        raise ShapeError(f"q2n needs images of at least 2 pixels (a block's variance), got "
                         f"{h}×{w}", actual_shape=ref.shape, expected_shape=("bands", "H", "W"))
    by, bx = _q2n_side(h, block), _q2n_side(w, block)
    ny, nx = math.ceil(h / by), math.ceil(w / bx)
    pad = ((0, 0), (0, ny * by - h), (0, nx * bx - w))
    if pad[1][1] or pad[2][1]:
        ref = np.pad(ref, pad, mode="symmetric")
        est = np.pad(est, pad, mode="symmetric")
    n = 1 << max(0, math.ceil(math.log2(bands)))
    if n > bands:
        zeros = ((0, n - bands), (0, 0), (0, 0))
        ref = np.pad(ref, zeros)
        est = np.pad(est, zeros)
    valid = _valid(ref, est)
    values = []
    for i in range(ny):
        for j in range(nx):
            win = (slice(None), slice(i * by, (i + 1) * by), slice(j * bx, (j + 1) * bx))
            if valid is not None and not valid[win[1:]].all():
                continue  # a block with missing pixels is left out
            values.append(_q_block(ref[win].reshape(n, -1), est[win].reshape(n, -1)))
    if not values and valid is not None and valid.any() and not _TOLD.get():
        log.warning("q2n: every block (%d of %d×%d pixels) holds a pixel with no data: NaN "
                    "(a smaller block= scores the blocks without one)", ny * nx, by, bx)
    return float(np.mean(values)) if values else float("nan")


def _q2n_side(n: int, block: int) -> int:
    """The block side :func:`q2n` uses along an image side of ``n`` pixels: ``block``, or
    ``n`` when one mirroring cannot fill a block (``n < block / 2``; repeated mirroring would
    count the pixels unevenly)."""
    return block if 2 * n >= block else n


def fusion_metrics(ref: Image, est: Image, ratio: float, peak: float = 1.0, *,
                   peak_mode: str = "fixed", crop: int = 0,
                   extended: bool = False) -> dict[str, float]:
    """The usual fusion scores of an estimate against its reference.

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)
    ratio : float
        Resolution ratio (for ERGAS).
    peak : float
        Data range for PSNR and SSIM.
    peak_mode : {"fixed", "band-max"}
        PSNR's peak per band (:func:`psnr`); SSIM always uses ``peak``.
    crop : int
        Pixels left out at each edge of both images before every score (>= 0).
    extended : bool
        Also :func:`cc` and :func:`uiqi` (32×32 windows: the images, once cropped, must be at
        least 32×32).

    Returns
    -------
    dict
        ``{"psnr": dB, "ssim": ..., "sam": degrees, "ergas": ..., "q2n": ...}``, then
        ``"cc"`` and ``"uiqi"`` with ``extended=True`` (in this order).

    Raises
    ------
    ArgumentTypeError
        When ``ref`` or ``est`` is not numeric (e.g. text).
    FormatError
        When ``ref`` or ``est`` holds complex values.
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ, or the images (once cropped)
        are smaller than SSIM's 11×11 window (32×32 with ``extended=True``).
    SensorError
        When ``ratio`` is not a positive number (:func:`ergas`).
    ConfigError
        When ``peak``, ``peak_mode`` or ``crop`` is invalid.
    """
    peak = _check_peak(peak)
    mode = check_peak_mode(peak_mode)
    ref, est = _pair(ref, est, crop)  # empty bands left out here, told once
    if min(ref.shape[1:]) >= SSIM_WINDOW:  # else ssim's error below
        _warn_scale(ref, est, peak, "fusion_metrics")  # PSNR's and SSIM's peak, told once
    with empty_bands_told():
        scores = {
            "psnr": psnr(ref, est, peak=peak, peak_mode=mode),
            "ssim": ssim(ref, est, peak=peak),
            "sam": sam(ref, est),
            "ergas": ergas(ref, est, ratio),
            "q2n": q2n(ref, est),
        }
        if extended:
            scores["cc"] = cc(ref, est)
            scores["uiqi"] = uiqi(ref, est)
    return scores


def scale_problem(ref: Image, est: Image, peak: float = 1.0) -> str | None:
    """Why PSNR and SSIM at ``peak`` would mislead for this pair, or ``None`` when they fit.

    Two cases: the images are not on one scale (their mean absolute values differ more than
    tenfold, e.g. digital numbers scored against reflectance), or the reference reaches well
    above ``peak`` (its 99.9th percentile over 1.5 × ``peak``, e.g. reflectance stored × 10 000
    scored with a peak of 1). Pixels with no data (NaN, or a Cube's ``nodata`` in every band)
    are left out.

    Parameters
    ----------
    ref, est : array-like, shape (bands, H, W)
    peak : float
        The data range PSNR and SSIM assume; > 0.

    Returns
    -------
    str or None
        One sentence, e.g. ``"the estimate's values are 9,862× the reference's: the two are
        not on one scale"``.

    Raises
    ------
    ArgumentTypeError
        When ``ref`` or ``est`` is not numeric (e.g. text).
    FormatError
        When ``ref`` or ``est`` holds complex values.
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ.
    ConfigError
        When ``peak`` is not a positive finite number (as :func:`psnr`).
    """
    peak = _check_peak(peak)
    ref_cube, est_cube = _cube_or_none(ref), _cube_or_none(est)
    ref, est = _pair(ref, est, drop_empty=False, tell_axes=False)  # any order: same answer
    ref, est = _nodata_as_nan(ref, ref_cube), _nodata_as_nan(est, est_cube)
    return _scale_words(ref, est, peak)


#: Values of each image :func:`_warn_scale` judges at most (a strided sample of a larger one).
SCALE_SAMPLE = 1_000_000


def _warn_scale(ref: np.ndarray, est: np.ndarray, peak: float, metric: str) -> None:
    """One warning line (logger ``hsi.metrics``) when ``metric`` (PSNR, SSIM) at ``peak``
    would mislead for the pair (:func:`scale_problem`'s two cases, e.g. reflectance × 10 000
    scored with the default peak 1), judged on a strided sample of at most about
    :data:`SCALE_SAMPLE` values; not inside :func:`empty_bands_told` (its caller told).

    Parameters
    ----------
    ref, est : numpy.ndarray, float64, shape (bands, H, W)
        What the metric scores (NaN: no data).
    peak : float
    metric : str
        The metric, as the warning names it first.
    """
    if _TOLD.get():
        return
    step = max(1, int(math.sqrt(ref.size / SCALE_SAMPLE)))
    problem = _scale_words(ref[:, ::step, ::step], est[:, ::step, ::step], peak)
    if problem:
        log.warning("%s: %s; scored for a peak of %g all the same: pass peak=, the data range "
                    "(e.g. 10000 for reflectance stored × 10 000)", metric, problem, peak)


def _scale_words(ref: np.ndarray, est: np.ndarray, peak: float) -> str | None:
    """:func:`scale_problem`'s sentence for float arrays of one shape (NaN: no data)."""
    a, b = np.abs(ref[np.isfinite(ref)]), np.abs(est[np.isfinite(est)])
    if not a.size or not b.size:
        return None
    ma, mb = float(a.mean()), float(b.mean())
    if ma > 0 and mb > 0 and not 0.1 <= mb / ma <= 10.0:
        times = f"{mb / ma:,.0f}" if mb > ma else f"{mb / ma:.2g}"
        return f"the estimate's values are {times}× the reference's: the two are not on one scale"
    top = float(np.percentile(a, 99.9))
    if top > 1.5 * peak:
        return (f"the reference reaches {top:.4g} (99.9th percentile), above the peak "
                f"{peak:g} that PSNR and SSIM assume")
    return None
