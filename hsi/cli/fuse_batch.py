"""``hsi fuse-batch``: fuse the scenes of a manifest on Dask distributed, resumably.

The options and checks every batch command shares (cluster, TLS, retries, lock) live here too:
:func:`batch_options`, :func:`batch_security`, :func:`scheduler_errors` and :func:`finish`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hsi.cli.fuse import method_option
from hsi.cli.options import CheckpointPath, device_option, ratio_option, seed_option

if TYPE_CHECKING:
    from distributed.security import Security

    from hsi.batch import BatchReport

_F = TypeVar("_F", bound=Callable[..., Any])


def batch_options(fn: _F) -> _F:
    """The output folder and the cluster options of a batch command."""
    options = [
        click.option("-o", "--output", "output", required=True,
                     type=click.Path(file_okay=False),
                     help="Output folder: NAME.tif per scene, done-records and "
                          "batch-report.json."),
        click.option("--scheduler", default=None, metavar="ADDRESS",
                     help="Use a running Dask scheduler (tls://host:port with --tls-*, or "
                          "tcp:// on a trusted network) instead of a local cluster."),
        click.option("--tls-ca-file", type=click.Path(dir_okay=False), default=None,
                     help="CA certificate the tls:// scheduler's certificate is checked "
                          "against."),
        click.option("--tls-cert", type=click.Path(dir_okay=False), default=None,
                     help="This client's TLS certificate (PEM)."),
        click.option("--tls-key", type=click.Path(dir_okay=False), default=None,
                     help="This client's TLS private key (PEM), if not inside --tls-cert."),
        click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="Worker processes of the local cluster [default: CPU count]."),
        click.option("--retries", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Retries of a failing scene before it counts as failed."),
        click.option("--wait", is_flag=True,
                     help="When another batch is writing to OUTPUT, wait for it instead of "
                          "stopping."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def batch_security(scheduler: str | None, tls_ca_file: str | None, tls_cert: str | None,
                   tls_key: str | None, workers: int | None) -> Security | None:
    """Check the cluster options; the TLS settings for a ``tls://`` scheduler, else ``None``.

    A malformed ``--scheduler`` address is refused here, before anything is read or written.
    """
    if scheduler is not None:
        from hsi.batch import check_scheduler_address

        with scheduler_errors():
            check_scheduler_address(scheduler)
    tls = (tls_ca_file, tls_cert, tls_key)
    if any(tls) and not (scheduler or "").startswith("tls://"):
        raise click.UsageError("--tls-ca-file/--tls-cert/--tls-key need --scheduler tls://...")
    if (scheduler or "").startswith("tls://") and not (tls_ca_file and tls_cert):
        raise click.UsageError("a tls:// scheduler needs --tls-ca-file and --tls-cert")
    if scheduler is not None and workers is not None:
        raise click.UsageError("--workers sizes the local cluster; it cannot be used with "
                               "--scheduler")
    from hsi.batch import tls_security

    return tls_security(tls_ca_file, tls_cert, tls_key) if tls_cert else None


@contextlib.contextmanager
def scheduler_errors() -> Iterator[None]:
    """Name the option in a scheduler's error: ``hsi: error: --scheduler ADDRESS: <what>``.

    The library's :class:`hsi.batch.SchedulerError` (a malformed address, or no connection
    within Dask's connect timeout) becomes the same kind of hsikit error, worded for the shell.
    """
    from hsi.batch import SchedulerError
    from hsi.errors import ConfigError, HsiIOError

    try:
        yield
    except SchedulerError as exc:
        kind = HsiIOError if isinstance(exc, OSError) else ConfigError
        raise kind(f"--scheduler {exc.address}: {exc.problem}") from None


def batch_folder(output: str) -> contextlib.AbstractContextManager:
    """Remove the output folder again when the batch made it and fails (or is interrupted,
    e.g. while its cluster starts) before writing anything there but its lock file."""
    from hsi.batch import LOCK_NAME
    from hsi.io.atomic import new_folder_removed_on_failure

    return new_folder_removed_on_failure(output, own_files=(LOCK_NAME,))


def report_table(report: BatchReport) -> str:
    """The report's summary table with the failure reasons in command-line words
    (:func:`hsi.cli.words.cli_words`: ``--fit-scene``, not ``fit_scene=True``)."""
    from hsi.cli.words import cli_words

    return "\n".join(cli_words(line) for line in report.table().splitlines())


def report_warnings(report: BatchReport) -> str:
    """The scenes' warnings under a ``warnings:`` line, one ``  NAME: message`` line each (in
    command-line words); ``""`` when no scene has any."""
    from hsi.cli.words import cli_words

    lines = report.warning_lines()
    return "\n".join(["warnings:", *(f"  {cli_words(line)}" for line in lines)]) if lines else ""


def finish(ctx: click.Context, report: BatchReport) -> None:
    """Print the report's table, the scenes' warnings and where the report is; exit 1 when
    any scene failed."""
    from hsi.batch import REPORT_NAME

    click.echo(report_table(report))
    if warned := report_warnings(report):
        click.echo(warned)
    click.echo(f"report: {report.out_dir}/{REPORT_NAME}")
    ctx.exit(report.exit_code)


@click.command("fuse-batch")
@click.argument("manifest", type=click.Path(exists=True))
@batch_options
@method_option
@click.option("--model", type=CheckpointPath(), default=None,
              help="INFN checkpoint (.pt), loaded once per worker.")
@ratio_option
@device_option
@seed_option
@click.pass_context
def fuse_batch(ctx: click.Context, manifest: str, output: str, method: str, model: str | None,
               scheduler: str | None, tls_ca_file: str | None, tls_cert: str | None,
               tls_key: str | None, workers: int | None, retries: int, wait: bool,
               ratio: int | None, device: str, seed: int) -> None:
    """Fuse every scene of MANIFEST into OUTPUT/NAME.tif.

    MANIFEST is a CSV with columns name,lr_hsi,hr_msi (paths relative to the CSV) or a folder
    of NAME_lr.* / NAME_hr.* pairs. Scenes whose done-record matches are skipped, so re-running
    a killed batch finishes it. Exit code 1 when any scene failed.
    """
    method = method.lower()
    if model is not None and method not in ("infn", "auto"):
        raise click.UsageError(f"--model applies to --method infn, not {method}")
    security = batch_security(scheduler, tls_ca_file, tls_cert, tls_key, workers)

    from hsi.batch import run_batch

    with scheduler_errors(), batch_folder(output):
        report = run_batch(manifest, output, method=method, model=model, scheduler=scheduler,
                           workers=workers, retries=retries, progress=True, device=device,
                           seed=seed, wait=wait, security=security, ratio=ratio)
    finish(ctx, report)
