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


def _scenes(tmp_path: Path, n: int) -> Path:
    """A folder of ``n`` copies of the sample's x4 Sentinel-2 pair (``s{i}_lr/hr.tif``)."""
    import hsi
    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair

    scenes = tmp_path / "scenes"
    scenes.mkdir()
    lr, msi = simulate_pair(sample_cube(), 4, "sentinel2")
    for i in range(n):
        hsi.save(lr, scenes / f"s{i}_lr.tif")
        hsi.save(msi, scenes / f"s{i}_hr.tif")
    return scenes


def _start_batch(scenes: Path, out: Path) -> subprocess.Popen:
    """``hsi fuse-batch SCENES -o OUT`` (CNMF, 2 workers) in its own process group."""
    hsi_cmd = shutil.which("hsi", path=str(Path(sys.executable).parent)) or "hsi"
    return subprocess.Popen([hsi_cmd, "fuse-batch", str(scenes), "-o", str(out), "--method",
                             "cnmf", "--workers", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_default_sigint)


def _interrupted(proc: subprocess.Popen) -> str:
    """Send Ctrl-C to ``proc``'s process group; its stderr, after checking it ended as
    interrupted (exit 130, last line ``hsi: interrupted``)."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    text = err.decode()
    assert proc.returncode == 130, text[-2000:]
    assert text.rstrip().splitlines()[-1].endswith("hsi: interrupted")
    return text


def test_ctrl_c_during_fuse_batch(work, tmp_path):
    out = tmp_path / "out"
    # enough scenes that the batch is still running when Ctrl-C comes
    proc = _start_batch(_scenes(tmp_path, 8), out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (list(out.glob(".*.part"))
                                               or list(out.glob("*.done.json"))):
        time.sleep(0.05)  # until a worker writes (a fast write may finish between two looks)
    assert proc.poll() is None, "the batch ended before it could be interrupted"
    text = _interrupted(proc)
    assert "Traceback" not in text and "leaked semaphore" not in text
    assert "Warning" not in text
    assert not list(out.glob(".*.part"))  # no temporary left
    for tif in out.glob("*.tif"):  # an output only with its done-record
        assert (out / (tif.name + ".done.json")).is_file()


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_ctrl_c_while_the_workers_start_is_not_lost(work, tmp_path):
    """Ctrl-C in the second the local cluster takes to start its workers (SIGINT ignored then,
    so the workers inherit that) used to be dropped: the batch ran on to the end."""
    out = tmp_path / "out"
    proc = _start_batch(_scenes(tmp_path, 4), out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not _children(proc.pid):
        time.sleep(0.01)  # the first child (resource tracker or worker): the cluster is starting
    assert proc.poll() is None and not list(out.glob("*.tif")), "too late for this test"
    text = _interrupted(proc)
    assert "Traceback" not in text
    assert not list(out.glob("*.tif"))  # interrupted before any scene was written
