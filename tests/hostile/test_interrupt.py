"""Ctrl-C (SIGINT to the whole process group, as a terminal sends it) during a batch."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.skipif(sys.platform == "win32", reason="process groups")
def _default_sigint() -> None:
    """Give the child the default SIGINT action: a test runner started in the background (a
    non-interactive shell's ``cmd &``) ignores SIGINT, and children inherit that, so a
    terminal's Ctrl-C would not be what the test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_fuse_batch(work, tmp_path):
    import hsi
    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair

    scenes = tmp_path / "scenes"
    scenes.mkdir()
    lr, msi = simulate_pair(sample_cube(), 4, "sentinel2")
    for i in range(8):  # enough scenes that the batch is still running when Ctrl-C comes
        hsi.save(lr, scenes / f"s{i}_lr.tif")
        hsi.save(msi, scenes / f"s{i}_hr.tif")
    out = tmp_path / "out"
    hsi_cmd = shutil.which("hsi", path=str(Path(sys.executable).parent)) or "hsi"
    proc = subprocess.Popen([hsi_cmd, "fuse-batch", str(scenes), "-o", str(out), "--method",
                             "cnmf", "--workers", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_default_sigint)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (list(out.glob(".*.part"))
                                               or list(out.glob("*.done.json"))):
        time.sleep(0.05)  # until a worker writes (a fast write may finish between two looks)
    assert proc.poll() is None, "the batch ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    text = err.decode()
    assert proc.returncode == 130, text[-2000:]
    assert text.rstrip().splitlines()[-1].endswith("hsi: interrupted")
    assert "Traceback" not in text and "leaked semaphore" not in text
    assert "Warning" not in text
    assert not list(out.glob(".*.part"))  # no temporary left
    for tif in out.glob("*.tif"):  # an output only with its done-record
        assert (out / (tif.name + ".done.json")).is_file()
