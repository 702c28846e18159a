"""``hsi metrics``: PSNR, SSIM, SAM, ERGAS, Q2n, CC and UIQI of an estimate against its
reference."""

from __future__ import annotations

import click

from hsi.cli.options import ratio_option

#: Printed names and units of :func:`hsi.metrics.fusion_metrics`' keys (``extended=True``), in
#: the printed order: the original five first, new metrics appended.
LABELS = {"psnr": ("PSNR", "dB"), "ssim": ("SSIM", ""), "sam": ("SAM", "deg"),
          "ergas": ("ERGAS", ""), "q2n": ("Q2n", ""), "cc": ("CC", ""), "uiqi": ("UIQI", "")}

#: Why a metric missing from the scores was not computed.
NOT_COMPUTED = {"ergas": "give --ratio", "uiqi": "needs at least 32×32 pixels after --crop"}

#: UIQI's window side (:func:`hsi.metrics.uiqi`'s default).
UIQI_BLOCK = 32


def score_files(reference: str, estimate: str, ratio: int | None, peak: float = 1.0,
                peak_mode: str = "fixed", crop: int = 0) -> dict[str, float]:
    """Read two cubes and return the scores of :func:`hsi.metrics.fusion_metrics` with
    ``extended=True`` (ERGAS only with ``ratio``, UIQI only for images of at least 32×32
    pixels once cropped; PSNR and SSIM for the data range ``peak``, PSNR's peak per
    ``peak_mode``; ``crop`` pixels left out at each edge), after a one-line warning when the
    pair does not fit that range (:func:`hsi.metrics.scale_problem`). ``"pixels_left_out"``
    counts the pixels with no data inside the scored (cropped) area, ``"bands_left_out"`` the
    reference's empty bands (every value NaN or nodata there) left out of every metric; each
    told in one warning line (:func:`hsi.metrics.drop_missing`).

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

    ref = hsi.open(reference, lazy=True)
    est = hsi.open(estimate, lazy=True)
    if ref.shape != est.shape:
        raise ShapeError(f"{estimate}: shape {est.shape} differs from the reference "
                         f"{reference} {ref.shape}", actual_shape=est.shape,
                         expected_shape=ref.shape)
    from hsi.cube import missing_as_nan

    r = check_ratio(ratio) if ratio is not None else None
    # bad options are refused before any pixel is read
    mode = metrics.check_peak_mode(peak_mode)
    c = metrics.check_crop(crop, ref.shape)
    check_ssim_size(reference, estimate, ref.shape, c)
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
    with metrics.empty_bands_told():
        scores = {"psnr": metrics.psnr(a, b, peak=peak, peak_mode=mode),
                  "ssim": metrics.ssim(a, b, peak=peak), "sam": metrics.sam(a, b)}
        if r is not None:
            scores["ergas"] = metrics.ergas(a, b, r)
        scores["q2n"] = metrics.q2n(a, b)
        scores["cc"] = metrics.cc(a, b)
        if min(a.shape[1:]) >= UIQI_BLOCK:
            scores["uiqi"] = metrics.uiqi(a, b, UIQI_BLOCK)
    return {**scores, "pixels_left_out": left_out, "bands_left_out": int(empty.size)}


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
    and the reason for one not computed), one saying how many pixels had no data
    (``scores["pixels_left_out"]``) when there were any, and one saying how many empty bands
    of the reference were left out (``scores["bands_left_out"]``) when there were any."""
    lines = []
    for key, (label, unit) in LABELS.items():
        value = (f"{scores[key]:.4f} {unit}".rstrip() if key in scores
                 else f"n/a ({NOT_COMPUTED.get(key, 'not computed')})")
        lines.append(f"{label:<6} {value}")
    if scores.get("pixels_left_out"):
        lines.append(f"{scores['pixels_left_out']} pixel(s) with no data (NaN or nodata) in "
                     "either image left out")
    if scores.get("bands_left_out"):
        lines.append(f"{scores['bands_left_out']} band(s) with no data (all NaN or nodata) in "
                     "the reference left out")
    return lines


@click.command("metrics")
@click.argument("reference", type=click.Path())
@click.argument("estimate", type=click.Path())
@ratio_option
@click.option("--peak", type=click.FloatRange(min=0.0, min_open=True), default=1.0,
              show_default=True,
              help="Data range of PSNR and SSIM (1 for reflectance in [0, 1], 10000 for "
                   "reflectance stored × 10 000).")
@click.option("--peak-mode", type=click.Choice(["fixed", "band-max"]), default="fixed",
              show_default=True,
              help="PSNR's peak per band: 'fixed' uses --peak for every band; 'band-max' the "
                   "maximum of each reference band (the MHIF codes' convention, lower for "
                   "reflectance below 1). SSIM always uses --peak.")
@click.option("--crop", type=int, default=0, show_default=True, metavar="PIXELS",
              help="Leave out PIXELS pixels at each edge (top, bottom, left, right) of both "
                   "images before every metric, as fusion papers often do (e.g. the ratio). "
                   "An integer >= 0 that leaves some pixels.")
def metrics(reference: str, estimate: str, ratio: int | None, peak: float, peak_mode: str,
            crop: int) -> None:
    """Score ESTIMATE against REFERENCE (both (bands, H, W), reflectance in [0, 1] by default).

    PSNR and SSIM are per band averaged (data range --peak; PSNR's peak per --peak-mode), SAM
    the mean spectral angle in degrees, ERGAS needs the resolution --ratio, Q2n uses 32×32
    blocks, CC is the mean over bands of the Pearson correlation, UIQI (Wang & Bovik's Q) is
    averaged over 32×32 windows sliding by one pixel, then over bands. --crop leaves a border
    out of every metric. A pair that is not on one scale, or that exceeds --peak, gets a
    one-line warning first.
    """
    for line in format_scores(score_files(reference, estimate, ratio, peak, peak_mode, crop)):
        click.echo(line)
