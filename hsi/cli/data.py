"""``hsi data``: list, fetch, verify and export the registered datasets."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from hsi.cli.options import OutputFolder

root_option = click.option(
    "--root", type=click.Path(file_okay=False), default=None,
    help="Data folder [default: $HSI_DATA_DIR, else ../shared/data, else ~/.cache/hsikit].")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""  # pragma: no cover


def _folder(root: str | None, missing_ok: bool = False) -> Path:
    """The data folder: ``--root``, else :func:`hsi.data.data_dir`.

    Raises
    ------
    HsiIOError
        When it is not a folder, or (unless ``missing_ok``) does not exist; the message names
        it and where it came from (``--root``, ``$HSI_DATA_DIR`` or the default).
    """
    from hsi.data import data_dir
    from hsi.data.base import ENV_VAR
    from hsi.errors import HsiIOError

    if root is not None:
        folder, origin = Path(root), "given by --root"
    elif os.environ.get(ENV_VAR):
        folder, origin = data_dir(), f"set by {ENV_VAR}"
    else:
        folder, origin = data_dir(), "the default; hsi data fetch NAME creates it"
    if folder.exists() and not folder.is_dir():
        raise HsiIOError(f"{folder}: not a folder (the data folder, {origin})")
    if not missing_ok and not folder.exists():
        raise HsiIOError(f"{folder}: the data folder does not exist ({origin})")
    return folder


def _check_names(names: tuple[str, ...] | list[str]) -> None:
    from hsi.data import DATASETS

    for name in names:
        if name not in DATASETS:
            raise click.BadParameter(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})",
                                     param_hint="NAME")


@click.group("data")
def data() -> None:
    """List, fetch, verify and export the registered datasets."""


@data.command("list")
@root_option
def list_(root: str | None) -> None:
    """Show each dataset: files present, size, licence."""
    from hsi.data import DATASETS
    from hsi.data.base import ENV_VAR

    # the default per-user folder may not exist yet: the list is how one learns what to fetch
    folder = _folder(root, missing_ok=root is None and not os.environ.get(ENV_VAR))
    created = "" if folder.exists() else " (not created yet)"
    click.echo(f"data folder: {folder}{created}")
    rows = []
    for name, cls in DATASETS.items():
        missing = len(cls.missing_files(folder))
        total = len(cls.files)
        present = "yes" if missing == 0 else ("no" if missing == total else
                                              f"{total - missing}/{total}")
        rows.append((name, present, _size(cls.size_bytes(folder)), cls.licence))
    widths = [max(len(r[i]) for r in [("name", "present", "size", ""), *rows]) for i in range(3)]
    header = ("name", "present", "size", "licence")
    for row in [header, *rows]:
        cells = [c.ljust(w) for c, w in zip(row[:3], widths, strict=True)]
        click.echo("  ".join([*cells, row[3]]))


@data.command("verify")
@click.argument("name", required=False)
@root_option
def verify(name: str | None, root: str | None) -> None:
    """Check the sha256 of every file of NAME (default: every dataset present).

    Exits with status 1 when a file is missing or differs, printing one line per problem. A
    dataset counts as present when one of its own files is there (a file another dataset
    shares, such as the AVIRIS calibration Salinas-A reads, does not count).
    """
    from hsi.data import DATASETS

    if name is not None:
        _check_names([name])
    folder = _folder(root)
    names = [name] if name else list(DATASETS)
    failed = False
    absent = []
    for n in names:
        cls = DATASETS[n]
        if name is None and not _own_files_present(n, folder):
            absent.append(n)
            continue
        problems = cls.check_files(folder)
        if problems:
            failed = True
            for line in problems:
                click.echo(f"{n}: {line}", err=True)
        else:
            click.echo(f"{n}: ok ({len(cls.files)} file{'s' if len(cls.files) != 1 else ''})")
    if absent:  # one line, not one per registered dataset
        click.echo(f"not present, skipped: {len(absent)} dataset(s) "
                   f"({', '.join(absent[:5])}{', ...' if len(absent) > 5 else ''}; "
                   f"see hsi data list)")
    if failed:
        sys.exit(1)


def _own_files_present(name: str, folder: Path) -> bool:
    """Whether any file of dataset ``name`` is in ``folder``, not counting the files it shares
    with another dataset (``salinas_a`` brings ``indian_pines/92AV3C.spc``, which does not
    make Indian Pines a dataset with three files missing). All present counts too."""
    from hsi.data import DATASETS

    cls = DATASETS[name]
    missing = set(cls.missing_files(folder))
    if not missing:
        return True
    shared = {rel for other, c in DATASETS.items() if other != name for rel in c.files}
    return any(rel not in missing and rel not in shared for rel in cls.files)


@data.command("fetch")
@click.argument("names", metavar="NAME...", nargs=-1, required=True)
@root_option
def fetch(names: tuple[str, ...], root: str | None) -> None:
    """Download the missing files of each NAME into the data folder.

    Every file, downloaded or already there, is checked against the registry's sha256; a
    download appears only once it matches (a failed or interrupted one leaves nothing). A
    data folder that does not exist is created. A progress bar shows on a terminal.

    Set HSI_DATA_MIRROR to a base URL (or a folder) holding the files under the data
    folder's layout (e.g. a data folder served by `python -m http.server`) to download from
    it instead of the registered URLs.
    """
    from hsi.data import DATASETS

    _check_names(names)
    folder = _folder(root, missing_ok=True)  # created by the first download
    for name in names:
        cls = DATASETS[name]
        missing = cls.missing_files(folder)
        cls(root=folder, download=True, checksum=True)
        click.echo(f"{name}: {len(missing)} downloaded, {len(cls.files)} of {len(cls.files)} "
                   f"files verified in {folder}")


@data.command("export")
@click.argument("name")
@click.option("-o", "--output", "out_dir", required=True, type=OutputFolder(),
              help="Folder for NAME.tif, NAME_gt.tif and NAME_abundances.tif.")
@root_option
def export(name: str, out_dir: str, root: str | None) -> None:
    """Write dataset NAME as GeoTIFFs the other commands read.

    NAME.tif is the cube with its wavelengths, NAME_gt.tif the ground truth (a class map with
    the class names and colours), NAME_abundances.tif the abundances of an unmixing
    benchmark (one band per class): those the dataset has, all together or none.
    """
    from hsi.data.export import export_dataset

    _check_names([name])
    _folder(root, missing_ok=True)  # a missing one: the dataset is not found (fetch it)
    written = export_dataset(name, out_dir, root=root)
    click.echo("wrote " + ", ".join(str(p) for p in written.values()))
