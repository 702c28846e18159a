"""``hsi fuse``: fuse one LR-HSI with its HR-MSI, tile by tile, into a GeoTIFF."""

from __future__ import annotations

import time

import click

from hsi.cli.options import (
    CheckpointPath,
    device_option,
    guarded,
    output_file_option,
    ratio_option,
    seed_option,
)

#: Fusion methods the CLI offers (INFN and the classical baselines of ``hsi.fusion``).
METHODS = ("auto", "infn", "glp", "gsa", "cnmf", "bicubic")

method_option = click.option(
    "--method", default="auto", show_default=True,
    type=click.Choice(METHODS, case_sensitive=False),
    help="Fusion method: auto (a shipped INFN checkpoint validated for these sensors and this "
         "ratio, else GLP, said in one line), INFN or a classical baseline.",
)


@click.command("fuse")
@click.argument("lr_hsi", type=click.Path(exists=True))
@click.argument("hr_msi", type=click.Path(exists=True))
@output_file_option("Fused HR-HSI GeoTIFF to write (.tif).")
@click.option("--model", type=CheckpointPath(), default=None,
              help="INFN checkpoint (.pt) [default: a shipped one matching the sensors].")
@click.option("--fit-scene", is_flag=True,
              help="Fit INFN to this scene at reduced resolution, then apply it (with "
                   "--model: fine-tune that model; it is kept as it is where fitting does not "
                   "beat it on a held-back part of the scene).")
@method_option
@ratio_option
@click.option("--psf-sigma", default="auto", show_default=True, metavar="auto|nominal|SIGMA",
              help="Gaussian PSF sigma of the sensor in HR pixels: estimated from the pair "
                   "with the sub-pixel misregistration of the two grids (auto), ratio/2 "
                   "(nominal), or given.")
@click.option("--lr-denoise/--no-lr-denoise", default=None,
              help="Denoise the LR-HSI across bands before fusing (signal subspace with Wiener "
                   "weights) when its estimated SNR is below 45 dB [default: every method "
                   "but cnmf].")
@click.option("--tile", default=256, show_default=True, type=click.IntRange(min=16),
              help="Tile size in HR pixels (memory is bounded by the tile, not the scene).")
@click.option("--overlap", default=None, type=click.IntRange(min=0),
              help="Margin read around each tile, HR pixels [default: the method's receptive "
                   "field; a smaller one is warned about: tiles then differ from an untiled "
                   "fusion].")
@click.option("--batch", default=None, type=click.IntRange(min=1),
              help="Tiles fused at once [default: 8 on CUDA, 1 on CPU].")
@device_option
@seed_option
@click.option("--fit-steps", type=click.IntRange(min=1), default=None,
              help="Training steps of --fit-scene.")
@click.option("--fit-minutes", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Time budget of --fit-scene in minutes.")
@click.option("--var", default=None,
              help="Variable to read from a .mat file (from each .mat of the two).")
@guarded(outputs=("output",), inputs=("lr_hsi", "hr_msi", "model"))
def fuse(lr_hsi: str, hr_msi: str, output: str, model: str | None, fit_scene: bool, method: str,
         ratio: int | None, psf_sigma: str, lr_denoise: bool | None, tile: int, overlap: int | None,
         batch: int | None, device: str, seed: int, fit_steps: int | None,
         fit_minutes: float | None, var: str | None) -> None:
    """Fuse LR_HSI with HR_MSI into OUTPUT on the HR-MSI grid with the LR-HSI's wavelengths.

    The two images must cover the same ground (same CRS, extents within half an LR pixel);
    the ratio comes from the pixel sizes, or from --ratio for files without georeference.
    """
    method = method.lower()
    if (model is not None or fit_scene) and method not in ("infn", "auto"):
        raise click.UsageError(f"--model and --fit-scene apply to --method infn, not {method}")
    if (fit_steps is not None or fit_minutes is not None) and not fit_scene:
        raise click.UsageError("--fit-steps and --fit-minutes need --fit-scene")
    psf_sigma = _psf_sigma(psf_sigma)
    from hsi.io.guard import same_file

    if same_file(lr_hsi, hr_msi):
        raise click.BadParameter(f"{hr_msi} is the LR_HSI file too: fusion needs the "
                                 f"low-resolution hyperspectral image and the high-resolution "
                                 f"multispectral image of one scene", param_hint="HR_MSI")

    from hsi.fusion.scene import fuse_files

    start = time.perf_counter()
    out = fuse_files(lr_hsi, hr_msi, output, method=method, model=model, ratio=ratio,
                     fit_scene=fit_scene, tile=tile, overlap=overlap, device=device, seed=seed,
                     progress=True, fit_steps=fit_steps, fit_minutes=fit_minutes, batch=batch,
                     psf_sigma=psf_sigma, lr_denoise=lr_denoise, var=var)
    seconds = time.perf_counter() - start
    import json

    import rasterio

    with rasterio.open(out) as written:  # what ran: the file's own record of it
        tags = written.tags()
    if method == "auto":  # with --model: that model, not a choice made for the user
        made = tags.get("fusion_method", "unknown")
        method = f"{made}: {model}" if model is not None else f"auto: {made}"
    if "scene_fit" in tags:
        method += "; " + SCENE_FIT_WORDS.get(json.loads(tags["scene_fit"]).get("result"),
                                             "scene fit")
    click.echo(f"wrote {out} ({method}, {seconds:.1f} s)")


#: What ``--fit-scene`` wrote, by :func:`hsi.fusion.gate.keep_if_better`'s result.
SCENE_FIT_WORDS = {
    "fitted": "the scene fit beat its base image on the held-back part and was used",
    "base": "the scene fit did not beat its base image on the held-back part: the base image "
            "was written",
    "start": "the scene fit did not beat --model on the held-back part: --model was used",
}


def _psf_sigma(text: str) -> float | str | None:
    """``--psf-sigma``: ``"auto"``, ``None`` (nominal) or a positive number of HR pixels."""
    text = text.strip().lower()
    if text in ("auto", "nominal"):
        return None if text == "nominal" else "auto"
    try:
        sigma = float(text)
    except ValueError:
        sigma = float("nan")
    if not sigma > 0 or sigma == float("inf"):
        raise click.BadParameter(f"{text!r}: use auto, nominal or a positive number of HR "
                                 "pixels", param_hint="--psf-sigma")
    return sigma
