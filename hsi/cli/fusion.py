"""``hsi fusion``: train INFN fusion models."""

from __future__ import annotations

import click

from hsi.cli.options import (
    check_checkpoint_output,
    device_option,
    guarded,
    output_file_option,
    psf_sigma_option,
    seed_option,
    sensor_named,
)


@click.group("fusion")
def fusion() -> None:
    """Train INFN fusion models."""


@fusion.command("train")
@click.argument("cubes", nargs=-1, required=True, type=click.Path(exists=True))
@output_file_option("INFN checkpoint to write (.pt); with --resume, the one to continue.")
@click.option("--ratio", type=click.IntRange(min=2), required=True,
              help="Spatial ratio between HR and LR pixels (integer >= 2).")
@click.option("--sensor", required=True,
              help="MSI sensor: a preset name (sentinel2, landsat8, nikon_d700) or an SRF "
                   ".csv/.mat file.")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Optimiser steps [default: 3000, or the resumed run's].")
@click.option("--max-minutes", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="Wall-clock budget of this run.")
@click.option("--base", type=click.Choice(["glp", "bicubic"]), default=None,
              help="Image INFN adds its residual to: GLP detail injection or bicubic (paper) "
                   "[default: glp, or the resumed run's].")
@click.option("--batch", type=click.IntRange(min=1), default=None,
              help="Patches per optimiser step [default: 8]. On a GPU a step of 8 is "
                   "launch-bound: 128 trains ~8× more patches per second (benchmarks/gpu.py).")
@psf_sigma_option
@seed_option
@device_option
@click.option("--resume", is_flag=True, help="Continue from OUTPUT's step and optimizer state.")
@click.option("--validate", "validate", multiple=True, type=click.Path(exists=True),
              help="A reference cube kept out of training (repeatable): when the trained model "
                   "does not beat its base image there, its residual is switched off.")
@click.option("--var", default=None, help="Variable to read from .mat cubes.")
@guarded(outputs=("output",), inputs=("cubes", "validate"))
def train(cubes, output, ratio, sensor, steps, max_minutes, base, batch, psf_sigma, seed, device,
          resume, validate, var):
    """Train INFN on reference CUBES degraded by Wald's protocol; write the checkpoint OUTPUT.

    Each cube is blurred (Gaussian PSF, sigma = ratio / 2 unless --psf-sigma) and decimated
    into the LR-HSI and seen through the sensor's spectral response into the HR-MSI; random
    patches with flips and rotations train the model (L1 loss, Adam, cosine learning rate).
    Checkpoints are written along the way; --resume continues an interrupted run.
    """
    from pathlib import Path

    import hsi
    from hsi.fusion import InfnConfig, train_infn

    check_checkpoint_output(output, "hsi fuse --model", "infn")  # before any training
    from hsi.io.guard import same_file

    for held in validate:
        if any(same_file(held, cube) for cube in cubes):
            raise click.BadParameter(f"{held} is also a training cube: a validation cube "
                                     "must be kept out of training", param_hint="--validate")
    if resume and not Path(output).is_file():
        raise click.BadParameter(f"{output} does not exist: nothing to resume",
                                 param_hint="--resume")
    if resume and batch is not None:
        raise click.BadParameter("a resumed run keeps the batch it was started with",
                                 param_hint="--batch")
    loaded = [hsi.open(path, var=var) for path in cubes]
    given = {k: v for k, v in (("base", base), ("batch", batch)) if v is not None}
    config = InfnConfig(**given) if given or not resume else None  # resumed: its own
    held_out = [hsi.open(path, var=var) for path in validate] or None
    import time

    started = time.time()
    try:
        # "PATH: SRF 'MyCam' (--sensor cam.csv): band(s) ... fall outside ..."
        with sensor_named(sensor):
            model = train_infn(
                loaded, srf=sensor, ratio=ratio, config=config, steps=steps,
                max_minutes=max_minutes, seed=seed, device=device,
                resume_from=output if resume else None, out_path=output, progress=True,
                psf_sigma=psf_sigma, validation=held_out,
            )
    except KeyboardInterrupt:  # train_infn saved the steps done: say how to go on
        _tell_resumable(output, started)
        raise
    c = model.config
    click.echo(f"wrote {output}: INFN {c.hsi_bands} HSI bands, {c.msi_bands} MSI bands "
               f"({model.meta.get('srf')}), x{ratio}, {model.meta.get('steps_done')} steps")
    check = model.meta.get("validation")
    if check:
        verdict = ("residual kept" if check["kept"] else
                   "residual switched off: the model returns its base image")
        click.echo(f"validation: {check['psnr_model']:.2f} dB vs base {check['psnr_base']:.2f} "
                   f"dB on {len(check['scenes'])} held-out cube(s): {verdict}")


def _tell_resumable(output, since: float) -> None:
    """After Ctrl-C: one stderr line saying at which step ``output`` (written after ``since``)
    stopped and that ``--resume`` continues; nothing when no checkpoint was written."""
    import os

    try:
        if os.stat(output).st_mtime < since - 1:
            return  # an older checkpoint: this run wrote none
        import torch

        state = torch.load(output, map_location="cpu", weights_only=True)["meta"]["train_state"]
        click.echo(f"{output}: saved at step {state['step']} of {state['steps']}; --resume "
                   "continues from there", err=True)
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, EOFError):
        return
