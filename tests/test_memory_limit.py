"""``HSI_MEMORY_LIMIT``: which reads are checked, how the limit is written, how sizes read.

The rule (:func:`hsi.memory.check_allocation`): every array read from a file into memory is
checked at its own size before it is read. Loading a whole cube (``hsi metrics``, the
whole-scene path of ``hsi cluster``, an eager open) is checked at the cube's size, a window
or tile at the window's; reading a header only (``hsi info``) is not checked.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from rasterio.windows import Window

import hsi
from hsi.cli.main import cli
from hsi.cube import Cube
from hsi.errors import ConfigError, ResourceError
from hsi.memory import BUDGET_ENV, check_allocation, memory_budget

BANDS, H, W = 10, 40, 50
#: The test cube's float32 data: 80 kB.
NBYTES = BANDS * H * W * 4


@pytest.fixture
def cube_file(tmp_path):
    """A small float32 GeoTIFF cube of :data:`NBYTES` bytes."""
    data = np.random.default_rng(0).random((BANDS, H, W), dtype=np.float32)
    path = tmp_path / "cube.tif"
    hsi.save(Cube(data, wavelengths=np.linspace(450.0, 900.0, BANDS)), path)
    return path


def run(limit, *args):
    """``hsi args...`` in-process with ``HSI_MEMORY_LIMIT=limit``."""
    return CliRunner().invoke(cli, [str(a) for a in args], env={BUDGET_ENV: str(limit)},
                              catch_exceptions=False)


def one_line_error(result, *words) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hsi: error: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.output
    return lines[0]


# ------------------------------------------------------------------ which reads are checked
@pytest.mark.parametrize("ext", [".tif", ".hdr"])
def test_info_reads_only_the_header_and_is_not_refused(cube_file, tmp_path, ext):
    path = cube_file
    if ext == ".hdr":
        path = tmp_path / "cube.hdr"
        hsi.save(hsi.open(cube_file), path)
    result = run(1000, "info", path)
    assert result.exit_code == 0, result.output
    assert f"{BANDS} bands × {H} rows × {W} cols" in result.output


def test_metrics_loads_both_cubes_whole_and_is_checked(cube_file):
    one_line_error(run(NBYTES // 2, "metrics", cube_file, cube_file), "cube.tif",
                   "memory budget")
    result = run(10 * NBYTES, "metrics", cube_file, cube_file)
    assert result.exit_code == 0, result.output
    assert "PSNR" in result.output


def test_cluster_whole_scene_path_is_checked(cube_file, tmp_path):
    """Up to 512² pixels ``hsi cluster`` reads the scene whole (in blocks of up to 64 MB:
    here one); it is refused like any other whole-cube load, and nothing is written."""
    out = tmp_path / "clusters.tif"
    one_line_error(run(NBYTES // 2, "cluster", cube_file, "-k", 3, "-o", out), "cube.tif",
                   "memory budget")
    assert not out.exists()
    result = run(10 * NBYTES, "cluster", cube_file, "-k", 3, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.exists()


def test_windows_are_checked_at_their_own_size(cube_file, monkeypatch):
    """What a tiled command reads: a window under the budget is read, the whole cube is not."""
    from hsi.io.indexing import load_window

    monkeypatch.setenv(BUDGET_ENV, str(NBYTES // 2))
    cube = hsi.open(cube_file, lazy=True)
    assert load_window(cube, Window(0, 0, 20, 20)).shape == (BANDS, 20, 20)
    with pytest.raises(ResourceError, match=r"cube\.tif"):
        cube.compute()
    with pytest.raises(ResourceError, match=r"cube\.tif"):
        hsi.open(cube_file)  # an eager open reads the whole cube


# ---------------------------------------------------------------------- how sizes are shown
@pytest.mark.parametrize(("nbytes", "limit", "need", "have"), [
    (80_000, 50_000, "80.0 kB", "50.0 kB"),
    (5_480_000, 5_000_000, "5.48 MB", "5.00 MB"),
    (2_500, 999, "2.50 kB", "999 bytes"),
    (17 * 10**9, 4 * 2**30, "17.0 GB", "4.29 GB"),
    (5_000_001, 5_000_000, "5,000,001 bytes", "5,000,000 bytes"),  # equal once rounded
])
def test_sizes_in_the_message_are_readable(monkeypatch, nbytes, limit, need, have):
    monkeypatch.setenv(BUDGET_ENV, str(limit))
    with pytest.raises(ResourceError) as err:
        check_allocation(nbytes, "x.tif")
    assert str(err.value).startswith(f"x.tif: declares {need}, over the memory budget of {have}")


def test_small_budget_message_in_the_cli(cube_file, tmp_path):
    line = one_line_error(run(50_000, "convert", cube_file, tmp_path / "out.hdr"), "cube.tif")
    assert "declares 80.0 kB, over the memory budget of 50.0 kB" in line


# --------------------------------------------------------------------- how the limit is set
@pytest.mark.parametrize(("text", "value"), [
    ("123", 123), ("4e9", 4 * 10**9), ("1.5G", 1_500_000_000), ("500M", 500 * 10**6),
    ("500 MB", 500 * 10**6), ("10GB", 10 * 10**9), ("10gb", 10 * 10**9), ("64k", 64_000),
    ("64kB", 64_000), ("64KiB", 65_536), ("2GiB", 2 * 2**30), ("3 mib", 3 * 2**20),
    ("100B", 100), (" 7M ", 7 * 10**6),
])
def test_limit_accepts_bytes_with_a_unit(monkeypatch, text, value):
    monkeypatch.setenv(BUDGET_ENV, text)
    assert memory_budget() == value


@pytest.mark.parametrize("text", ["abc", "10XB", "GB", "1e", "1,000", "10 G B", "nan", "inf",
                                  "1e999", "-5", "0", "0k", "0.4", "-1GB"])
def test_unparseable_or_non_positive_limit_is_an_error(monkeypatch, text):
    monkeypatch.setenv(BUDGET_ENV, text)
    with pytest.raises(ConfigError, match=f"{BUDGET_ENV}.*expected a positive"):
        memory_budget()


def test_unset_or_empty_limit_is_half_the_available_memory(monkeypatch):
    monkeypatch.delenv(BUDGET_ENV, raising=False)
    default = memory_budget()
    assert default > 0
    monkeypatch.setenv(BUDGET_ENV, "")
    assert memory_budget() > 0


@pytest.mark.parametrize("text", ["abc", "10XB", "-5", "0"])
def test_cli_refuses_a_bad_limit_even_when_nothing_is_checked(cube_file, text):
    """``hsi info`` reads no data, yet a bad setting is not ignored silently."""
    one_line_error(run(text, "info", cube_file), BUDGET_ENV, "expected a positive")


def test_cli_limit_with_a_unit_is_applied(cube_file, tmp_path):
    one_line_error(run("40kB", "convert", cube_file, tmp_path / "a.hdr"), "cube.tif",
                   "memory budget of 40.0 kB")
    result = run("1MiB", "convert", cube_file, tmp_path / "b.hdr")
    assert result.exit_code == 0, result.output
