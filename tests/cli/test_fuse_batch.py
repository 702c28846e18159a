"""``hsi fuse-batch``: manifest errors, SIGKILL then resume (real processes).

The corrupt-scene run on a two-worker cluster is in ``tests/batch/test_batch.py`` (it shares
that module's cluster through ``--scheduler``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

import hsi

#: HR crop origins (row, col) in Salinas-A (83×86); crops are 48×48 HR pixels.
ORIGINS = [(0, 0), (0, 38), (35, 0), (35, 38), (17, 19), (8, 30)]
NAMES = [f"s{i}" for i in range(len(ORIGINS))]


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """Six real scenes (Salinas-A crops simulated at x4, Sentinel-2) and their manifest."""
    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair
    from hsi.io.geotiff import write_geotiff

    cube = sample_cube()
    folder = tmp_path_factory.mktemp("batch_cli")
    (folder / "in").mkdir()
    rows = ["name,lr_hsi,hr_msi"]
    for name, (r, c) in zip(NAMES, ORIGINS, strict=True):
        t = Affine(3.7, 0, 612000.0 + 3.7 * c, 0, -3.7, 4062000.0 - 3.7 * r)
        crop = cube.with_data(cube.data[:, r:r + 48, c:c + 48], crs="EPSG:32610", transform=t)
        lr, hr = simulate_pair(crop, 4, "sentinel2")
        write_geotiff(lr, folder / "in" / f"{name}_lr.tif", tile=16)
        write_geotiff(hr, folder / "in" / f"{name}_hr.tif", tile=16)
        rows.append(f"{name},in/{name}_lr.tif,in/{name}_hr.tif")
    (folder / "scenes.csv").write_text("\n".join(rows) + "\n")
    return folder


def _hsi_command(*args) -> list[str]:
    return [sys.executable, "-c", "from hsi.cli.main import cli; cli()", *map(str, args)]


class TestManifestErrors:
    def test_missing_column(self, invoke, one_line_error, scenes, tmp_path):
        (tmp_path / "m.csv").write_text("name,lr_hsi\ns0,in/s0_lr.tif\n")
        out = tmp_path / "out"
        line = one_line_error(invoke("fuse-batch", tmp_path / "m.csv", "-o", out,
                                     "--method", "glp"), "m.csv")
        assert "missing column hr_msi" in line
        assert not out.exists()

    def test_missing_file(self, invoke, one_line_error, scenes, tmp_path):
        text = (scenes / "scenes.csv").read_text().replace("in/s3_hr.tif", "in/nope.tif")
        (scenes / "missing.csv").write_text(text)
        out = tmp_path / "out"
        try:
            line = one_line_error(invoke("fuse-batch", scenes / "missing.csv", "-o", out,
                                         "--method", "glp"), "nope.tif")
        finally:
            (scenes / "missing.csv").unlink()
        assert "scene 's3'" in line
        assert not out.exists()

    def test_workers_with_scheduler_is_usage_error(self, invoke, scenes, tmp_path):
        result = invoke("fuse-batch", scenes / "scenes.csv", "-o", tmp_path / "o",
                        "--scheduler", "tcp://127.0.0.1:1", "--workers", "2")
        assert result.exit_code == 2 and "--workers" in result.output


def _wait_gone(pgid: int, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process group {pgid} still alive after SIGKILL")


def _finished(out: Path) -> set[str]:
    """Names of the done-records of finished scenes (not the claims a batch writes first)."""
    done = set()
    for p in out.glob("*.done.json"):
        try:
            if "output_sha256" in json.loads(p.read_text()):
                done.add(p.name)
        except (OSError, ValueError):  # replaced while we read
            continue
    return done


def test_sigkill_then_resume(scenes, tmp_path):
    """SIGKILL the batch (and its workers) after the first scene, re-run, compare."""
    out = tmp_path / "out"
    cmd = _hsi_command("fuse-batch", scenes / "scenes.csv", "-o", out, "--method", "glp",
                       "--workers", "1")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, env=env)
    deadline = time.monotonic() + 180
    try:
        while not _finished(out):
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no scene finished in 180 s"
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _wait_gone(proc.pid)
    done_at_kill = _finished(out)
    assert proc.returncode == -signal.SIGKILL
    assert 1 <= len(done_at_kill) < len(NAMES), "the kill must land mid-batch"
    (out / f".s5.tif.{proc.pid}.x1y2z3.tif.part").write_bytes(b"half a GeoTIFF")  # killed write

    rerun = subprocess.run(cmd, capture_output=True, env=env, timeout=300)
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    report = json.loads((out / "batch-report.json").read_text())
    statuses = {s["name"]: s["status"] for s in report["scenes"]}
    assert {n for n, s in statuses.items() if s == "skipped"} == {
        name.split(".")[0] for name in done_at_kill}
    assert set(statuses.values()) <= {"done", "skipped"}

    # every output exactly once, no temporaries
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".hsi-batch.lock", "batch-report.json"] + [f"{n}.tif" for n in NAMES]
        + [f"{n}.tif.done.json" for n in NAMES])

    # byte-identical to an uninterrupted fusion of each scene with the torch threads of the
    # batch's one worker (all cores): the last bits of GLP's products can change with the
    # thread count (1 vs 2 threads on an AMD EPYC: 3.7e-9), and earlier tests leave this
    # process at 1 thread
    import torch

    from hsi.fusion.scene import fuse_files

    before = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        for n in NAMES:
            ref = fuse_files(scenes / "in" / f"{n}_lr.tif", scenes / "in" / f"{n}_hr.tif",
                             tmp_path / f"{n}.tif", method="glp", progress=False)
            assert (out / f"{n}.tif").read_bytes() == ref.read_bytes(), n
            np.testing.assert_array_equal(hsi.open(out / f"{n}.tif").data, hsi.open(ref).data)
    finally:
        torch.set_num_threads(before)
