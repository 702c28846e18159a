"""Options shared by several commands: defined once here, used everywhere."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

_F = TypeVar("_F", bound=Callable[..., Any])

device_option = click.option(
    "--device", default="auto", show_default=True,
    type=click.Choice(["auto", "cpu", "cuda"], case_sensitive=False),
    help="Torch device: CUDA when present with 'auto'.",
)
seed_option = click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
_RATIO_HELP = "Spatial ratio between HR and LR pixels (integer >= 2)."
ratio_option = click.option("--ratio", type=click.IntRange(min=2), default=None, help=_RATIO_HELP)
#: The same for a command that cannot run without it (its absence is a one-line usage error
#: of the command's own, not click's "Missing option").
required_ratio_option = click.option("--ratio", type=click.IntRange(min=2), default=None,
                                     help=_RATIO_HELP + "  [required]")
sensor_option = click.option(
    "--sensor", default="sentinel2", show_default=True,
    help="MSI sensor: a preset (sentinel2 = the 12 Level-2A bands, sentinel2_l1c, landsat8, "
         "nikon_d700) or an SRF .csv/.mat file, optionally with bands to keep or leave out "
         "after a colon (sentinel2:B2,B3,B4,B8; sentinel2_l1c:-B10).",
)


@contextlib.contextmanager
def sensor_named(sensor: str) -> Iterator[None]:
    """Let an error about the ``--sensor`` SRF name the value given where the SRF's own name
    is other text: ``SRF 'MyCam' (--sensor cam.csv): ...`` for a file whose ``# Camera:``
    line names the sensor, ``SRF 'sentinel2' (--sensor sentinel2:B2,B8)`` for a selection.
    Only for commands whose one SRF is ``--sensor`` (the error's ``SRF '...'`` is that one).
    """
    import re

    from hsi.errors import HsiError

    try:
        yield
    except HsiError as exc:
        text = str(exc)
        said = re.search(r"\bSRF '([^']*)'", text)
        if said and exc.args and said.group(1) != sensor and f"--sensor {sensor}" not in text:
            exc.args = (f"{text[:said.end()]} (--sensor {sensor}){text[said.end():]}",
                        *exc.args[1:])
        raise


psf_sigma_option = click.option(
    "--psf-sigma", type=float, default=None,
    help="Gaussian PSF sigma in HR pixels [default: ratio / 2].",
)
def output_file_option(what: str) -> Callable[[_F], _F]:
    """``-o/--output FILE`` (required), its help naming ``what`` the file holds."""
    return click.option("-o", "--output", "output", required=True,
                        type=click.Path(dir_okay=False), help=what)
var_option = click.option("--var", default=None, help="Variable to read from a .mat file.")


class CheckpointPath(click.Path):
    """An existing file that can be a torch checkpoint, checked from its first bytes while the
    command line is parsed (:func:`hsi.checkpoint.checkpoint_format_problem`), so a wrong
    ``--model`` is refused before torch loads."""

    name = "checkpoint"

    def __init__(self) -> None:
        super().__init__(exists=True, dir_okay=False)

    def convert(self, value: str | os.PathLike[str], param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        from hsi.checkpoint import checkpoint_format_problem

        why = checkpoint_format_problem(path)
        if why:
            self.fail(f"{path}: not a readable checkpoint ({why})", param, ctx)
        return path


class OutputFolder(click.Path):
    """A folder the command writes its files into. A name that does not exist yet and ends
    like a file (``.tif``, ``.hdr``, ``.mat``, ``.csv``, ...) is refused while the command line
    is parsed: it was meant as a file, and a folder of that name would be a surprise."""

    name = "folder"

    def __init__(self) -> None:
        super().__init__(file_okay=False)

    def convert(self, value: str | os.PathLike[str], param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        from pathlib import Path

        from hsi.io.formats import OUTPUT_FORMATS

        suffix = Path(path).suffix.lower()
        file_like = {ext for exts in OUTPUT_FORMATS.values() for ext in exts}
        file_like |= {".csv", ".json", ".md", ".npy", ".png", ".pt"}
        if suffix in file_like and not Path(path).exists():
            self.fail(f"{path}: expected a folder (the outputs are written into it), got a "
                      f"name ending like a file ({suffix}); give a folder name", param, ctx)
        return path


def guarded(outputs: tuple[str, ...], inputs: tuple[str, ...] = ()) -> Callable[[_F], _F]:
    """Decorate a command's callback: check its outputs against its inputs before any work.

    ``outputs`` and ``inputs`` name the callback's parameters holding paths (a tuple-valued
    parameter counts each path). See :func:`hsi.io.guard.check_outputs` for what is refused.
    Put it below the click decorators.
    """
    import functools

    def paths(kwargs: dict, names: tuple[str, ...]) -> list:
        out = []
        for name in names:
            value = kwargs.get(name)
            out.extend(value if isinstance(value, (tuple, list)) else [value])
        return out

    def decorate(callback: _F) -> _F:
        @functools.wraps(callback)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from hsi.io.guard import check_outputs

            check_outputs(paths(kwargs, outputs), paths(kwargs, inputs))
            return callback(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def check_checkpoint_output(path: str | os.PathLike, reader: str, kind: str) -> None:
    """Refuse, before training, a model output that would fail or destroy something when the
    trained model is written: a name that says raster (``.tif``, ``.hdr``, ``.mat``,
    ``.png``...), or an existing file that is not a readable checkpoint of the same ``kind``
    (another kind of model, another program's torch file). An older checkpoint of the same
    kind, or a truncated one, is replaced, as a rerun expects.

    Parameters
    ----------
    path : path
        The output the command will write.
    reader : str
        The command that reads the model, named in the message.
    kind : str
        The checkpoint kind the command writes (``"infn"``, ``"gan_crf_classifier"``).

    Raises
    ------
    FormatError
        The suffix is one of a raster or cube format.
    HsiIOError
        ``path`` exists and is not a checkpoint of ``kind``.
    """
    from pathlib import Path

    from hsi.errors import FormatError, HsiIOError
    from hsi.io.formats import OUTPUT_FORMATS

    suffix = Path(path).suffix.lower()
    rasters = {ext for exts in OUTPUT_FORMATS.values() for ext in exts}
    if suffix in rasters | {".png", ".jpg", ".jpeg"}:
        raise FormatError(f"{path}: a trained model is a torch checkpoint, not a raster "
                          f"({suffix}); name it .pt (`{reader}` reads it)")
    if Path(path).is_file() and Path(path).stat().st_size > 0:
        from hsi.checkpoint import KIND_WORDS, load_checkpoint
        from hsi.errors import ModelError

        try:
            load_checkpoint(path, kind)
        except ModelError as exc:
            why = str(exc).removeprefix(f"{path}: ").split(", expected")[0]
            if "truncated or corrupted" in why:
                return  # nothing left to lose; the message said "train it again"
            ours = KIND_WORDS.get(kind, kind).split(" (written")[0]
            what = f"{why}, not {ours}" if why.startswith("holds ") else f"is not {ours} ({why})"
            raise HsiIOError(f"{path}: exists and {what}: refusing to replace it (choose "
                             f"another output name, or remove it first)") from None
