"""``hsi metrics``: PSNR, SSIM, SAM, ERGAS, Q2n, CC and UIQI of an estimate against its
reference."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from hsi.cli.options import ratio_option

if TYPE_CHECKING:
    from affine import Affine

    from hsi.cube import Cube

#: Printed names and units of :func:`hsi.metrics.fusion_metrics`' keys (``extended=True``), in
#: the printed order: the original five first, new metrics appended.
LABELS = {"psnr": ("PSNR", "dB"), "ssim": ("SSIM", ""), "sam": ("SAM", "deg"),
          "ergas": ("ERGAS", ""), "q2n": ("Q2n", ""), "cc": ("CC", ""), "uiqi": ("UIQI", "")}

#: Why a metric missing from the scores was not computed.
NOT_COMPUTED = {"ergas": "give --ratio", "uiqi": "needs at least 32×32 pixels after --crop"}

#: UIQI's window side (:func:`hsi.metrics.uiqi`'s default).
UIQI_BLOCK = 32

#: Largest difference (nm) between a band's wavelength in the two files that still counts as
#: the same band (:func:`pair_problem`).
WAVELENGTH_TOLERANCE_NM = 1.0

#: Why a metric computed over whole blocks or windows is NaN when some pixels have no data
#: (its blocks or windows with a missing pixel are left out, and none was left).
NAN_WITH_MISSING = {"q2n": f"every {UIQI_BLOCK}×{UIQI_BLOCK} block holds a pixel with no data",
                    "uiqi": f"every {UIQI_BLOCK}×{UIQI_BLOCK} window holds a pixel with no data"}


def score_files(reference: str, estimate: str, ratio: int | None, peak: float | None = None,
                peak_mode: str = "fixed", crop: int = 0, *, var: str | None = None,
                progress: bool = False) -> dict[str, float]:
    """Read two cubes and return the scores of :func:`hsi.metrics.fusion_metrics` with
    ``extended=True`` (ERGAS only with ``ratio``, by default the one a fused estimate records,
    :func:`recorded_ratio`, then returned as ``"recorded_ratio"``; UIQI only for images of at
    least 32×32 pixels once cropped; PSNR and SSIM for the data range ``peak``, PSNR's peak per
    ``peak_mode``; ``crop`` pixels left out at each edge), after a one-line warning when the two
    are on other grids or bands (:func:`pair_problem`) and one when the pair does not fit that
    range (:func:`hsi.metrics.scale_problem`). ``"pixels_left_out"`` counts the pixels with no
    data inside the scored (cropped) area, ``"bands_left_out"`` the reference's empty bands
    (every value NaN or nodata there) left out of every metric; each told in one warning line
    (:func:`hsi.metrics.drop_missing`). ``var`` is the variable read from each of the two files
    that is a ``.mat`` (an error when neither is). ``progress`` shows a bar over the metrics on
    stderr (:func:`hsi.progress.progress_bar`). ``peak`` ``None`` is the value the reference
    declares for reflectance 1 (:func:`hsi.degrade.declared_scale`, e.g. 10 000 for int16 tagged
    with scale 1e-4), else 1; the peak used is returned as ``"peak"``.

    Raises
    ------
    ShapeError
        When the two cubes differ in shape (the message names both files).
    ConfigError
        When ``peak_mode`` or ``crop`` is invalid (checked before the cubes are read).
    ShapeError
        Also when the images, once cropped, are smaller than SSIM's window (checked before
        the pixels are read; :func:`check_ssim_size`).
    """
    import numpy as np

    import hsi
    from hsi import metrics
    from hsi.check import check_ratio
    from hsi.errors import ShapeError
    from hsi.io.formats import mat_vars

    ref_var, est_var = mat_vars((reference, estimate), var)  # for the .mat files of the two
    ref = hsi.open(reference, var=ref_var, lazy=True)
    est = hsi.open(estimate, var=est_var, lazy=True)
    if ref.shape != est.shape:
        raise ShapeError(f"{estimate}: shape {est.shape} differs from the reference "
                         f"{reference} {ref.shape}", actual_shape=est.shape,
                         expected_shape=ref.shape)
    from hsi.cube import missing_as_nan

    recorded = ratio is None and recorded_ratio(est) is not None
    r = check_ratio(ratio) if ratio is not None else recorded_ratio(est)
    # bad options are refused before any pixel is read
    mode = metrics.check_peak_mode(peak_mode)
    if peak is None:
        from hsi.degrade import declared_scale

        peak = declared_scale(ref) or 1.0
    c = metrics.check_crop(crop, ref.shape)
    check_ssim_size(reference, estimate, ref.shape, c)
    mismatch = pair_problem(ref, est)
    if mismatch:  # the same shape, but another place or other bands: told once the options
        import logging  # are valid (an error stays one line), then scored

        logging.getLogger(__name__).warning("%s: %s; scored pixel by pixel and band by band "
                                            "all the same", estimate, mismatch)
    window = (slice(None), slice(c, ref.shape[1] - c), slice(c, ref.shape[2] - c))
    # read (within the memory budget); nodata values are judged with the files' nodata values
    a = missing_as_nan(ref.data[window], None).astype(np.float64)
    b = missing_as_nan(est.data[window], None).astype(np.float64)
    # a band with no valid value in the reference (all NaN or nodata) is left out of every
    # metric, and so is a pixel with no data in either file (NaN), each told once
    a, b, empty, missing = metrics.drop_missing(ref.with_data(a, name=reference),
                                                est.with_data(b, name=estimate))
    left_out = int(missing.sum())
    problem = metrics.scale_problem(a, b, peak)
    if problem:
        import logging

        logging.getLogger(__name__).warning(
            "%s: %s; PSNR and SSIM below are computed for a peak of %g (--peak)", estimate,
            problem, peak)
    todo = {"psnr": lambda: metrics.psnr(a, b, peak=peak, peak_mode=mode),
            "ssim": lambda: metrics.ssim(a, b, peak=peak), "sam": lambda: metrics.sam(a, b)}
    if r is not None:
        todo["ergas"] = lambda: metrics.ergas(a, b, r)
    todo["q2n"] = lambda: metrics.q2n(a, b)
    todo["cc"] = lambda: metrics.cc(a, b)
    if min(a.shape[1:]) >= UIQI_BLOCK:
        todo["uiqi"] = lambda: metrics.uiqi(a, b, UIQI_BLOCK)
    from hsi.progress import progress_bar

    scores = {}
    # a 217-band 1024×512 pair takes about a minute (SSIM, Q2n and UIQI the most): a bar
    # over the metrics, as over the tiles of the other commands
    with metrics.empty_bands_told(), progress_bar(total=len(todo), desc="scoring", unit="metric",
                                                  disable=not progress, leave=False) as bar:
        for key, compute in todo.items():
            bar.set_postfix_str(LABELS[key][0], refresh=False)
            scores[key] = compute()
            bar.update()
    return {**scores, "pixels_left_out": left_out, "bands_left_out": int(empty.size),
            "peak": float(peak), **({"recorded_ratio": r} if recorded else {})}


def recorded_ratio(estimate: Cube) -> int | None:
    """The resolution ratio ``hsi fuse`` recorded in a fused file (its ``ratio`` record,
    :mod:`hsi.io.provenance`), or ``None`` when it has none (or not an integer >= 2)."""
    from hsi.check import check_ratio
    from hsi.errors import HsiError

    value = estimate.metadata.get("ratio")
    if value is None or isinstance(value, bool):
        return None
    try:
        return check_ratio(value)
    except (HsiError, TypeError, ValueError):
        return None


def pair_problem(ref: Cube, est: Cube) -> str | None:
    """Why two cubes of one shape may not show the same scene, or ``None``: both georeferenced
    on other grids (another CRS, origin or pixel size), or both with wavelengths that differ
    by more than :data:`WAVELENGTH_TOLERANCE_NM` in some band (e.g. one stored in reverse
    order). A cube without a georeference or wavelengths is not compared on them.

    Parameters
    ----------
    ref, est : Cube
        The reference and the estimate (only their metadata is read).

    Returns
    -------
    str or None
        One sentence, e.g. ``"its CRS EPSG:32612 differs from the reference's EPSG:32611"``.
    """
    import numpy as np

    if ref.crs is not None and est.crs is not None and ref.crs != est.crs:
        return f"its CRS {est.crs.to_string()} differs from the reference's {ref.crs.to_string()}"
    if ref.transform is not None and est.transform is not None and \
            not ref.transform.almost_equals(est.transform, precision=1e-6):
        return (f"its grid ({_grid(est.transform)}) differs from the reference's "
                f"({_grid(ref.transform)})")
    if ref.wavelengths is not None and est.wavelengths is not None and \
            ref.wavelengths.shape == est.wavelengths.shape:
        gap = np.abs(np.asarray(est.wavelengths, float) - np.asarray(ref.wavelengths, float))
        if gap.max() > WAVELENGTH_TOLERANCE_NM:
            k = int(gap.argmax())
            return (f"its wavelengths differ from the reference's (band {k + 1}: "
                    f"{est.wavelengths[k]:.2f} nm against {ref.wavelengths[k]:.2f} nm)")
    return None


def _grid(transform: Affine) -> str:
    """A transform in words: its origin and pixel size."""
    return (f"origin {transform.c:.10g}, {transform.f:.10g}, pixel {transform.a:.10g} × "
            f"{-transform.e:.10g}")


def check_ssim_size(reference: str, estimate: str, shape: tuple[int, ...], crop: int) -> None:
    """Refuse, before any pixel is read, images that once cropped by ``crop`` are smaller than
    SSIM's window (:data:`hsi.metrics.SSIM_WINDOW`): the message names both files and says
    whether --crop or the images are too small.

    Raises
    ------
    ShapeError
        ``"est.tif: --crop 3 leaves 10×10 of its 16×16 pixels ... use --crop 2 or less"``.
    """
    from hsi import metrics
    from hsi.errors import ShapeError

    n = metrics.SSIM_WINDOW
    h, w = shape[-2:]
    hc, wc = h - 2 * crop, w - 2 * crop
    if min(hc, wc) >= n:
        return
    if min(h, w) >= n:  # the images are large enough: the border is not
        raise ShapeError(f"{estimate}: --crop {crop} leaves {hc}×{wc} of its {h}×{w} pixels "
                         f"(and of the reference {reference}'s), too few for SSIM's {n}×{n} "
                         f"window: use --crop {(min(h, w) - n) // 2} or less",
                         actual_shape=(shape[0], hc, wc), expected_shape=("bands", f">={n}",
                                                                          f">={n}"))
    raise ShapeError(f"{estimate}: {h}×{w} pixels, like the reference {reference}, are too few "
                     f"for SSIM's {n}×{n} window: score images of at least {n}×{n} pixels",
                     actual_shape=tuple(shape), expected_shape=("bands", f">={n}", f">={n}"))


def format_scores(scores: dict[str, float]) -> list[str]:
    """One line per metric of :data:`LABELS`, in its order, e.g. ``PSNR    38.214 dB`` (``n/a``
    and the reason for one not computed; the reason for a block or window metric NaN where
    pixels had no data, :data:`NAN_WITH_MISSING`), one saying how many pixels had no data
    (``scores["pixels_left_out"]``) when there were any, and one saying how many empty bands
    of the reference were left out (``scores["bands_left_out"]``) when there were any, and
    one giving the data range of PSNR and SSIM (``scores["peak"]``) when it is not 1."""
    import math

    lines = []
    for key, (label, unit) in LABELS.items():
        value = (f"{scores[key]:.4f} {unit}".rstrip() if key in scores
                 else f"n/a ({NOT_COMPUTED.get(key, 'not computed')})")
        if (key in NAN_WITH_MISSING and key in scores and math.isnan(scores[key])
                and scores.get("pixels_left_out")):
            value += f" ({NAN_WITH_MISSING[key]})"
        lines.append(f"{label:<6} {value}")
    if scores.get("pixels_left_out"):
        lines.append(f"{scores['pixels_left_out']} pixel(s) with no data (NaN or nodata) in "
                     "either image left out")
    if scores.get("bands_left_out"):
        lines.append(f"{scores['bands_left_out']} band(s) with no data (all NaN or nodata) in "
                     "the reference left out")
    if scores.get("peak", 1.0) != 1.0:
        lines.append(f"PSNR and SSIM for a data range of {scores['peak']:g}")
    if "recorded_ratio" in scores:
        lines.append(f"ERGAS for the ratio x{scores['recorded_ratio']} the estimate's file "
                     "records (--ratio to give another)")
    return lines


@click.command("metrics")
@click.argument("reference", type=click.Path())
@click.argument("estimate", type=click.Path())
@ratio_option
@click.option("--peak", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Data range of PSNR and SSIM (1 for reflectance in [0, 1], 10000 for "
                   "reflectance stored × 10 000) [default: the value the reference declares "
                   "for reflectance 1 (a reflectance scale factor, or one band scale for "
                   "every band, e.g. 1e-4 → 10000), else 1].")
@click.option("--peak-mode", type=click.Choice(["fixed", "band-max"]), default="fixed",
              show_default=True,
              help="PSNR's peak per band: 'fixed' uses --peak for every band; 'band-max' the "
                   "maximum of each reference band (the MHIF codes' convention, lower for "
                   "reflectance below 1). SSIM always uses --peak.")
@click.option("--crop", type=int, default=0, show_default=True, metavar="PIXELS",
              help="Leave out PIXELS pixels at each edge (top, bottom, left, right) of both "
                   "images before every metric, as fusion papers often do (e.g. the ratio). "
                   "An integer >= 0 that leaves some pixels.")
@click.option("--var", default=None,
              help="Variable to read from a .mat file (from each .mat of the two).")
def metrics(reference: str, estimate: str, ratio: int | None, peak: float | None,
            peak_mode: str, crop: int, var: str | None) -> None:
    """Score ESTIMATE against REFERENCE (both (bands, H, W), reflectance in [0, 1] by default).

    PSNR and SSIM are per band averaged (data range --peak; PSNR's peak per --peak-mode), SAM
    the mean spectral angle in degrees, ERGAS needs the resolution --ratio (by default the one
    `hsi fuse` recorded in ESTIMATE), Q2n uses 32×32
    blocks, CC is the mean over bands of the Pearson correlation, UIQI (Wang & Bovik's Q) is
    averaged over 32×32 windows sliding by one pixel, then over bands. --crop leaves a border
    out of every metric. A pair that is not on one scale, or that exceeds --peak, gets a
    one-line warning first, and so does one on other grids (CRS, origin, pixel size) or with
    other wavelengths (more than 1 nm apart in a band).
    """
    scores = score_files(reference, estimate, ratio, peak, peak_mode, crop, var=var,
                         progress=True)
    for line in format_scores(scores):
        click.echo(line)
