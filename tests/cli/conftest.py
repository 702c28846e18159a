"""Fixtures for the CLI tests: a runner, small real cubes written in tmp_path."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from hsi.cli.main import cli


@pytest.fixture
def invoke():
    """``invoke(*args)`` runs ``hsi args...`` in-process and returns the click Result."""
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return run


@pytest.fixture
def one_line_error():
    """Assert exit 2 and exactly one stderr line ``hsi: error: ...`` naming ``name``."""
    from tests.cli_checks import one_error_line

    return one_error_line


@pytest.fixture
def vnir_cube(tmp_path):
    """The 400-750 nm bands of a 24×32 crop of the shipped Salinas-A sample, as GeoTIFF."""
    import hsi
    from hsi.data import sample_cube

    cube = sample_cube()
    keep = np.flatnonzero((cube.wavelengths >= 400) & (cube.wavelengths <= 750))
    small = cube.with_data(cube.data[keep, :24, :32], wavelengths=cube.wavelengths[keep],
                           fwhm=cube.fwhm[keep])
    path = tmp_path / "vnir.tif"
    hsi.save(small, path)
    return path, small
