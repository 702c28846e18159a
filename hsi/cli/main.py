"""The ``hsi`` click group.

Subcommands live one per module and are imported only when invoked, so ``hsi --help`` stays
fast despite torch. Every :class:`hsi.errors.HsiError` becomes one line on stderr
(``hsi: error: <what is wrong>``, its parameter names spelt as options by
:func:`hsi.cli.words.cli_words`) and exit code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

# torch's CPU threads (GNU OpenMP) spin at every barrier by default, so on a busy CPU each
# parallel op waits for a descheduled thread. Passive waiting, set before torch loads (the
# commands import it lazily) and only where the user has not chosen: `hsi fuse` of a 1024²
# 204-band scene with one core busy elsewhere took 10.3 s instead of 13.1 s (glp) and 20.8 s
# instead of 21.9 s (infn); idle 8.1 vs 8.9 s and 15.1 vs 16.7 s.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

#: name -> (module, attribute, one-line help). Add a command by adding a line here.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "info": ("hsi.cli.info", "info", "Describe a cube: shape, bands, wavelengths, CRS."),
    "convert": ("hsi.cli.convert", "convert", "Convert a cube between ENVI, GeoTIFF, .mat."),
    "simulate": ("hsi.cli.simulate", "simulate", "Simulate an LR-HSI/HR-MSI pair (Wald)."),
    "metrics": ("hsi.cli.metrics", "metrics", "Score an estimate against a reference."),
    "data": ("hsi.cli.data", "data", "List, fetch, verify and export the registered datasets."),
    "demo": ("hsi.cli.demo", "demo", "Run the demo on the shipped real sample."),
    "fuse": ("hsi.cli.fuse", "fuse", "Fuse an LR-HSI with an HR-MSI."),
    "fuse-batch": ("hsi.cli.fuse_batch", "fuse_batch", "Fuse many scenes on Dask."),
    "fusion": ("hsi.cli.fusion", "fusion", "Train INFN fusion models."),
    "classify": ("hsi.cli.classify", "classify", "Train, predict and evaluate classifiers."),
    "classify-batch": ("hsi.cli.classify_batch", "classify_batch",
                       "Classify many scenes on Dask."),
    "cluster": ("hsi.cli.cluster", "cluster", "Cluster a scene's pixels without labels."),
    "cluster-evaluate": ("hsi.cli.cluster", "cluster_evaluate",
                         "Score a cluster map: ACC, NMI, ARI."),
}


class LazyGroup(click.Group):
    """A group that imports each subcommand's module only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (mod, _, _) in COMMANDS.items() if _module_exists(mod))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _module_exists(COMMANDS[cmd_name][0]):
            return None
        module, attr, _ = COMMANDS[cmd_name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        """Run the CLI; usage errors become one line (``hsi: error: ...``) and exit code 2."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
            sys.exit(2)
        except click.UsageError as exc:
            # "hsi fuse: Missing argument ..." -> "hsi: error: fuse: Missing argument ..."
            path = exc.ctx.command_path.split(" ", 1) if exc.ctx else []
            where = path[1] + ": " if len(path) > 1 else ""
            click.echo(f"hsi: error: {where}{exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"hsi: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo(_line_start() + "hsi: interrupted", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        import warnings

        from rasterio.errors import NotGeoreferencedWarning

        from hsi.errors import HsiError

        try:
            with warnings.catch_warnings():
                # Cubes without a geotransform are normal here (lab scenes, .mat benchmarks).
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                return super().invoke(ctx)
        except HsiError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            from hsi.cli.words import cli_words

            click.echo(f"hsi: error: {cli_words(str(exc))}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo(_line_start() + "hsi: interrupted", err=True)
            ctx.exit(130)


def _line_start() -> str:
    """What moves a terminal's cursor to a clean line (a progress bar may be on it)."""
    return "\r\033[K" if sys.stderr.isatty() else ""


def _module_exists(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.version_option(package_name="hsikit")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """hsikit: hyperspectral cubes, fusion and classification."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    from hsi.memory import budget_setting

    budget_setting()  # a bad HSI_MEMORY_LIMIT is an error, even for a command that reads no data
    if not debug:
        import logging

        # GDAL's own messages (e.g. "_tiffWriteProc: No space left on device") would add lines
        # to the one-line error that names the file and the cause.
        logging.getLogger("rasterio").setLevel(logging.CRITICAL)
        from hsi.io.geotiff import silence_libtiff_stderr

        silence_libtiff_stderr()


def main() -> None:
    """The ``hsi`` console script: :func:`cli`, then an exit that does not garbage-collect
    and that Ctrl-C no longer interrupts.

    The objects torch, dask and the command leave behind are moved out of the collector's
    reach (``gc.freeze``) before the interpreter exits, which collects them for nothing: its
    shutdown took 0.3–0.4 s after ``import torch`` and 0.1 s with them frozen. Only here,
    where the process ends; in-process callers (tests, notebooks) use :func:`cli`.
    """
    import signal

    try:
        cli()
    finally:
        # The command is over, its files complete (or removed): a Ctrl-C from here on could
        # only interrupt the interpreter's shutdown (a traceback from a finaliser, or exit
        # status 130 after a complete result).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        gc.freeze()
