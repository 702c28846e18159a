"""``hsi.simulate.simulate_files``: the library function behind ``hsi simulate`` (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest

from hsi.data import sample_cube
from hsi.degrade import crop_to_ratio, simulate_pair
from hsi.errors import HsiIOError
from hsi.io import open as open_cube
from hsi.simulate import SIMULATION_FILES, simulate_files


@pytest.fixture(scope="module")
def cube():
    """A 40 × 44 crop of the shipped Salinas-A sample (204 bands, reflectance)."""
    c = sample_cube()
    return c.with_data(c.data[:, :40, :44])


def test_writes_the_simulated_pair(cube, tmp_path):
    paths = simulate_files(cube, tmp_path / "pair", 4, "sentinel2", device="cpu")
    assert list(paths) == ["reference", "lr_hsi", "hr_msi"]
    assert sorted(p.name for p in (tmp_path / "pair").iterdir()) == sorted(SIMULATION_FILES)
    lr, hr = simulate_pair(cube, 4, "sentinel2", device="cpu")
    ref, lr_file, hr_file = (open_cube(paths[k]) for k in ("reference", "lr_hsi", "hr_msi"))
    np.testing.assert_array_equal(ref.data, crop_to_ratio(cube, 4).data)  # already in [0, 1]
    assert lr_file.shape == (204, 10, 11) and hr_file.shape == (12, 40, 44)
    np.testing.assert_allclose(lr_file.data, lr.data, rtol=0, atol=1e-6)
    np.testing.assert_allclose(hr_file.data, hr.data, rtol=0, atol=1e-6)
    np.testing.assert_allclose(lr_file.wavelengths, cube.wavelengths, rtol=1e-6)


def test_integer_counts_are_scaled_to_reflectance(cube, tmp_path):
    counts = cube.with_data(np.round(cube.data * 10000).astype(np.int16))
    paths = simulate_files(counts, tmp_path, 4, "sentinel2", device="cpu")
    ref = open_cube(paths["reference"]).data
    assert ref.dtype == np.float32 and 0.5 < ref.max() < 1.5


def test_output_that_is_a_file_writes_nothing(cube, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HsiIOError, match="cannot create output folder"):
        simulate_files(cube, blocker / "pair", 4, "sentinel2", device="cpu")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_cli_module_still_exports_the_moved_names():
    import hsi.cli.simulate as cli_simulate
    from hsi.io.guard import check_output_folder

    assert cli_simulate.simulate_files is simulate_files
    assert cli_simulate.SIMULATION_FILES == SIMULATION_FILES
    assert cli_simulate.check_output_folder is check_output_folder


def test_tiles_equal_the_untiled_simulation_and_report_progress(cube, tmp_path):
    """The scene engine: 3 × 3 ratio-aligned tiles with a PSF halo == one whole-cube run."""
    whole = simulate_files(cube, tmp_path / "whole", 4, "sentinel2", device="cpu", tile=1024)
    calls = []
    tiled = simulate_files(cube, tmp_path / "tiled", 4, "sentinel2", device="cpu", tile=16,
                           callback=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 9) for i in range(10)]
    for key in ("reference", "lr_hsi", "hr_msi"):
        a, b = open_cube(whole[key]), open_cube(tiled[key])
        assert a.shape == b.shape and a.transform == b.transform
        np.testing.assert_allclose(b.data, a.data, rtol=0, atol=1e-6)


def test_a_lazy_file_is_read_by_tiles_and_cancel_writes_nothing(cube, tmp_path):
    from hsi.errors import Cancelled
    from hsi.io import save

    path = save(cube.with_data(np.round(cube.data * 10000).astype(np.int16)), tmp_path / "c.tif")
    lazy = open_cube(path, lazy=True)
    assert lazy.is_lazy
    paths = simulate_files(lazy, tmp_path / "pair", 4, "sentinel2", device="cpu", tile=16)
    ref = open_cube(paths["reference"]).data
    assert ref.dtype == np.float32 and 0.5 < ref.max() < 1.5
    with pytest.raises(Cancelled, match="simulating cancelled after 3 of 9"):
        simulate_files(path, tmp_path / "stopped", 4, "sentinel2", device="cpu", tile=16,
                       callback=lambda done, total: done == 3)
    assert not (tmp_path / "stopped").exists()


def test_a_sensor_outside_the_range_fails_before_any_tile(tmp_path):
    """The SRF check runs on the cube's wavelengths before torch loads (a fraction of a second
    for a wrong ``--sensor``) and leaves nothing behind."""
    import subprocess
    import sys

    from hsi.cube import Cube

    cube = Cube(np.full((3, 32, 32), 0.5, np.float32), wavelengths=[500.0, 550.0, 600.0])
    path = tmp_path / "visible.tif"
    from hsi.io import save

    save(cube, path)
    probe = ("import sys; from hsi.simulate import simulate_files\n"
             "try:\n"
             "    simulate_files(sys.argv[1], sys.argv[2], 4, 'sentinel2', progress=False)\n"
             "except Exception as exc:\n"
             "    print(type(exc).__name__, 'torch' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", probe, str(path), str(tmp_path / "out")],
                         capture_output=True, text=True)
    assert res.stdout.split() == ["SensorError", "False"], res.stdout + res.stderr[-2000:]
    assert not (tmp_path / "out").exists()


def test_a_truncated_band_is_said_once_for_the_whole_scene(tmp_path, caplog):
    from hsi.cube import Cube

    rng = np.random.default_rng(0)
    wl = np.linspace(420.0, 2300.0, 60)  # Sentinel-2's B1, B2 and B12 reach a little outside
    cube = Cube(rng.random((60, 96, 96), dtype=np.float32) * 0.5, wavelengths=wl)
    with caplog.at_level("WARNING", logger="hsi.srf"):
        simulate_files(cube, tmp_path / "out", 4, "sentinel2", tile=32, progress=False)
    lines = [r.getMessage() for r in caplog.records if "truncated" in r.getMessage()]
    assert len(lines) == 1 and "B1" in lines[0]
