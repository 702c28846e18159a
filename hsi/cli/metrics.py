"""``hsi metrics``: PSNR, SSIM, SAM, ERGAS and Q2n of an estimate against its reference."""

from __future__ import annotations

import click

from hsi.cli.options import ratio_option

#: Printed names and units of :func:`hsi.metrics.fusion_metrics`' keys.
LABELS = {"psnr": ("PSNR", "dB"), "ssim": ("SSIM", ""), "sam": ("SAM", "deg"),
          "ergas": ("ERGAS", ""), "q2n": ("Q2n", "")}


def score_files(reference: str, estimate: str, ratio: int | None,
                peak: float = 1.0) -> dict[str, float]:
    """Read two cubes and return :func:`hsi.metrics.fusion_metrics` (ERGAS only with ``ratio``;
    PSNR and SSIM for the data range ``peak``), after a one-line warning when the pair does
    not fit that range (:func:`hsi.metrics.scale_problem`).

    Raises
    ------
    ShapeError
        When the two cubes differ in shape (the message names both files).
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
    # a file's nodata value is no data: NaN, which the metrics leave out
    a = missing_as_nan(ref.data, ref.nodata).astype(np.float64)
    b = missing_as_nan(est.data, est.nodata).astype(np.float64)
    left_out = int((~(np.isfinite(a).all(0) & np.isfinite(b).all(0))).sum())
    problem = metrics.scale_problem(a, b, peak)
    if problem:
        import logging

        logging.getLogger(__name__).warning(
            "%s: %s; PSNR and SSIM below are computed for a peak of %g (--peak)", estimate,
            problem, peak)
    if r is not None:
        scores = metrics.fusion_metrics(a, b, r, peak=peak)
    else:
        scores = {"psnr": metrics.psnr(a, b, peak=peak), "ssim": metrics.ssim(a, b, peak=peak),
                  "sam": metrics.sam(a, b), "q2n": metrics.q2n(a, b)}
    return {**scores, "pixels_left_out": left_out}


def format_scores(scores: dict[str, float]) -> list[str]:
    """One line per metric, e.g. ``PSNR    38.214 dB``, and one saying how many pixels had no
    data (``scores["pixels_left_out"]``) when there were any."""
    lines = []
    for key, (label, unit) in LABELS.items():
        value = f"{scores[key]:.4f} {unit}".rstrip() if key in scores else "n/a (give --ratio)"
        lines.append(f"{label:<6} {value}")
    if scores.get("pixels_left_out"):
        lines.append(f"{scores['pixels_left_out']} pixel(s) with no data (NaN or nodata) in "
                     "either image left out")
    return lines


@click.command("metrics")
@click.argument("reference", type=click.Path())
@click.argument("estimate", type=click.Path())
@ratio_option
@click.option("--peak", type=click.FloatRange(min=0.0, min_open=True), default=1.0,
              show_default=True,
              help="Data range of PSNR and SSIM (1 for reflectance in [0, 1], 10000 for "
                   "reflectance stored × 10 000).")
def metrics(reference: str, estimate: str, ratio: int | None, peak: float) -> None:
    """Score ESTIMATE against REFERENCE (both (bands, H, W), reflectance in [0, 1] by default).

    PSNR and SSIM are per band averaged (data range --peak), SAM the mean spectral angle in
    degrees, ERGAS needs the resolution --ratio, Q2n uses 32×32 blocks. A pair that is not on
    one scale, or that exceeds --peak, gets a one-line warning first.
    """
    for line in format_scores(score_files(reference, estimate, ratio, peak)):
        click.echo(line)
