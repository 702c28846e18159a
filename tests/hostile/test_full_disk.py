"""A full disk: one line naming the output, exit 2, no file, no temporary, no empty folder.

The disk is a real 64 KiB tmpfs where this process may mount one (root on Linux); elsewhere a
write stub raises ``ENOSPC`` when the written file is flushed (the same error path).
"""

from __future__ import annotations

import errno
import os
import subprocess
import uuid
from pathlib import Path

import pytest

COMMANDS = [
    ("convert_tif", "convert {cube} {out}/x.tif"),
    ("convert_envi", "convert {cube} {out}/x.hdr"),
    ("convert_mat", "convert {cube} {out}/x.mat"),
    ("simulate", "simulate {cube} -o {out}/sim --ratio 2 --sensor nikon_d700"),
    ("cluster", "cluster {cube} -k 3 -o {out}/c.tif"),
    ("evaluate_report", "classify evaluate {classmap} {labels} -o {out}/sub/report.md"),
]


def _tmpfs_folder(parent: Path, prefix: str, *, read_only: bool = False) -> tuple[Path, bool]:
    """A new folder ``parent/<prefix>-<6 hex digits>`` with a 64 KiB tmpfs (read-only with
    ``read_only``) mounted on it where this process may mount one (root): the folder, and
    whether the tmpfs is mounted (the caller unmounts it)."""
    folder = parent / f"{prefix}-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    if os.geteuid() != 0:
        return folder, False
    options = "ro,size=64k" if read_only else "size=64k"
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                       capture_output=True)
    return folder, r.returncode == 0


@pytest.fixture
def full_disk(tmp_path, monkeypatch):
    """A folder on a (nearly) full disk; yields it and unmounts afterwards."""
    mnt, mounted = _tmpfs_folder(tmp_path, "disk")
    if mounted:
        filler = mnt / "filler"
        with open(filler, "wb", buffering=0) as f:  # fill it: every later write fails
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
    else:
        import hsi.io.atomic as atomic

        def no_space(path):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))

        monkeypatch.setattr(atomic, "_fsync", no_space)
    yield mnt
    if mounted:
        subprocess.run(["umount", str(mnt)], check=False)


@pytest.mark.parametrize("template", [c[1] for c in COMMANDS], ids=[c[0] for c in COMMANDS])
def test_full_disk(template, work, full_disk, run_hostile):
    names = {k: str(v) for k, v in work.items()}
    args = template.format(out=full_disk, **names).split()
    before = sorted(p.name for p in full_disk.iterdir())
    line = run_hostile(args, work["cube"].parent)
    assert "no space left on device" in line
    assert str(full_disk) in line and ".part" not in line
    assert sorted(p.name for p in full_disk.iterdir()) == before  # nothing left, no folder


def test_cluster_writes_both_outputs_or_neither(work, run_hostile, tmp_path, monkeypatch):
    import hsi.io

    def failing_save(cube, path, **kw):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(hsi.io, "save", failing_save)  # the second output fails
    out = tmp_path / "out"
    out.mkdir()
    run_hostile(["cluster", work["cube"], "-k", 3, "-o", out / "c.tif", "--confidence",
                 out / "conf.tif"], work["cube"].parent, ("conf.tif", "no space left"))
    assert list(out.iterdir()) == []  # the class map was not left behind


def test_full_disk_is_one_line_from_a_real_process(work, full_disk):
    """libtiff prints on the C-level stderr, which only a separate process shows."""
    if not os.path.ismount(full_disk):
        pytest.skip("needs a real full disk (a tmpfs this process may mount)")
    import shutil
    import sys
    from pathlib import Path

    hsi_cmd = shutil.which("hsi", path=str(Path(sys.executable).parent)) or "hsi"
    r = subprocess.run([hsi_cmd, "convert", str(work["cube"]), str(full_disk / "x.tif")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no space left on device" in lines[0], r.stderr


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nobody may write: a read-only tmpfs as root, else a mode-555 folder."""
    folder, mounted = _tmpfs_folder(tmp_path, "ro", read_only=True)
    if os.geteuid() == 0 and not mounted:
        pytest.skip("root without permission to mount: a mode-555 folder would not stop it")
    if not mounted:
        folder.chmod(0o555)
    yield folder
    if mounted:
        subprocess.run(["umount", str(folder)], check=False)
    else:
        folder.chmod(0o755)


@pytest.mark.parametrize("template", [
    "convert {cube} {out}/x.tif", "cluster {cube} -k 3 -o {out}/c.tif",
    "simulate {cube} -o {out}/sim --ratio 2 --sensor nikon_d700",
    "classify split {labels} -o {out}/split --per-class 2",
    "cluster {cube} -k 3 -o {tmp}/c.tif --confidence {out}/conf.tif",
])
def test_read_only_output_folder(template, work, read_only_folder, run_hostile, tmp_path):
    args = template.format(out=read_only_folder, tmp=tmp_path,
                           **{k: str(v) for k, v in work.items()}).split()
    run_hostile(args, work["cube"].parent, (str(read_only_folder),))
    assert list(read_only_folder.iterdir()) == []
    assert not (tmp_path / "c.tif").exists()  # the other output of the pair was not written
