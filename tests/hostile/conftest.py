"""The hostile-input corpus: files a careless or hostile user could hand to ``hsi``.

Every case asserts the contract: exit status 2 (130 for an interrupt), one stderr line
``hsi: error: ...`` naming the file or option, no traceback, no output or temporary left, and
every input byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hsi.cli.main import cli
from tests.cli_checks import one_error_line


@pytest.fixture(scope="session")
def scene_files(tmp_path_factory) -> dict[str, Path]:
    """Small real inputs written once: cube (GeoTIFF + ENVI), MSI, labels, class map, model."""
    import hsi
    from hsi.data import sample_cube, sample_labels
    from hsi.io.labels import write_class_map

    folder = tmp_path_factory.mktemp("hostile-inputs")
    cube = sample_cube()
    keep = np.flatnonzero((cube.wavelengths >= 400) & (cube.wavelengths <= 1000))
    small = cube.with_data(cube.data[keep, :24, :32], wavelengths=cube.wavelengths[keep],
                           fwhm=cube.fwhm[keep])
    files = {"cube": hsi.save(small, folder / "cube.tif"),
             "envi": hsi.save(small, folder / "envi.hdr"),
             "msi": hsi.save(small.with_data(small.data[::8], wavelengths=small.wavelengths[::8],
                                             fwhm=small.fwhm[::8]), folder / "msi.tif")}
    labels, names = sample_labels()
    codes = np.searchsorted(np.unique(labels), labels)  # 1..6, 0 kept
    files["labels"] = write_class_map(folder / "labels.tif", codes[:24, :32], crs=None,
                                      transform=None, class_names=names)
    files["classmap"] = write_class_map(folder / "classmap.tif", codes[:24, :32], crs=None,
                                        transform=None, class_names=names)
    files["model"] = folder / "model.pt"
    # a zip's first bytes pass the command line's checkpoint check; the rest is never read:
    # the guard runs before any model is loaded
    files["model"].write_bytes(b"PK\x03\x04 not read: the guard runs first")
    return {k: Path(v) for k, v in files.items()}


@pytest.fixture
def work(scene_files, tmp_path) -> dict[str, Path]:
    """A private copy of :func:`scene_files` (plus the ENVI data file) in ``tmp_path/in``."""
    folder = tmp_path / "in"
    folder.mkdir()
    src = scene_files["cube"].parent
    for p in src.iterdir():
        shutil.copy2(p, folder / p.name)
    return {k: folder / v.name for k, v in scene_files.items()}


def digest(folder: Path) -> dict[str, str]:
    """Name -> sha256 of every file under ``folder`` (symbolic links by their target name)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            out[str(p.relative_to(folder))] = "-> " + str(p.readlink())
        elif p.is_file():
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def run_hostile():
    """``run_hostile(args, folder, names)``: run ``hsi args``, check the contract, return stderr.

    ``folder`` is every file the case may touch: afterwards it must hold exactly the same
    bytes (nothing written, nothing replaced, no temporary left).
    """
    runner = CliRunner()

    def run(args, folder: Path, names: tuple[str, ...] = (), status: int = 2) -> str:
        before = digest(folder)
        result = runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
        line = one_error_line(result, *names, status=status)
        assert digest(folder) == before
        return line

    return run
