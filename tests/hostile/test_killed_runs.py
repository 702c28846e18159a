"""What a killed run leaves behind is cleaned by the next run of the same output."""

from __future__ import annotations

import os
import subprocess

from click.testing import CliRunner

from hsi.cli.main import cli


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_fuse_removes_a_killed_runs_temporary_but_not_a_live_ones(work, tmp_path):
    import hsi
    from hsi.degrade import simulate_pair

    cube = hsi.open(work["cube"])
    lr, msi = simulate_pair(cube, 4, "nikon_d700")
    hsi.save(lr, tmp_path / "lr.tif")
    hsi.save(msi, tmp_path / "hr.tif")
    out = tmp_path / "fused.tif"
    stale = tmp_path / f".fused.tif.{dead_pid()}.x1y2z3.tif.part"
    live = tmp_path / f".fused.tif.{os.getpid()}.a1b2c3.tif.part"  # a concurrent writer
    stale.write_bytes(b"partial")
    live.write_bytes(b"in progress")
    result = CliRunner().invoke(cli, ["fuse", str(tmp_path / "lr.tif"), str(tmp_path / "hr.tif"),
                                      "-o", str(out), "--method", "glp", "--ratio", "4"])
    assert result.exit_code == 0, result.output
    assert out.is_file() and not stale.exists() and live.exists()
