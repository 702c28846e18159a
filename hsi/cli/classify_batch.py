"""``hsi classify-batch``: classify the cubes of a manifest on Dask distributed, resumably."""

from __future__ import annotations

import click

from hsi.cli.fuse_batch import (
    batch_folder,
    batch_options,
    batch_security,
    finish,
    scheduler_errors,
)
from hsi.cli.options import CheckpointPath, device_option


@click.command("classify-batch")
@click.argument("manifest", type=click.Path(exists=True))
@batch_options
@click.option("--model", "model", required=True, type=CheckpointPath(),
              help="Checkpoint written by `hsi classify train`, loaded once per worker.")
@click.option("--no-crf", is_flag=True, help="Skip the dense-CRF refinement.")
@click.option("--tile", type=click.IntRange(min=32), default=512, show_default=True,
              help="Tile side in pixels.")
@device_option
@click.pass_context
def classify_batch(ctx: click.Context, manifest: str, output: str, model: str, no_crf: bool,
                   tile: int, scheduler: str | None, tls_ca_file: str | None, tls_cert: str | None,
                   tls_key: str | None, workers: int | None, retries: int, wait: bool,
                   device: str) -> None:
    """Classify every cube of MANIFEST into the class map OUTPUT/NAME.tif.

    MANIFEST is a CSV with columns name,cube (paths relative to the CSV) or a folder of
    NAME.* cubes. The same contract as fuse-batch: scenes whose done-record matches are
    skipped, so re-running a killed batch finishes it; exit code 1 when any scene failed.
    """
    security = batch_security(scheduler, tls_ca_file, tls_cert, tls_key, workers)

    from hsi.batch import run_classify_batch

    with scheduler_errors(), batch_folder(output):
        report = run_classify_batch(manifest, output, model=model, use_crf=not no_crf,
                                    tile=tile, scheduler=scheduler, workers=workers,
                                    retries=retries, progress=True, device=device, wait=wait,
                                    security=security)
    finish(ctx, report)
