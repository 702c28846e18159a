"""A command that fails after creating its output folder leaves the file system as it was.

``hsi classify split``, ``hsi fuse-batch``/``classify-batch`` and ``hsi demo`` create their
output folder before writing into it. A failure or Ctrl-C in between used to leave that folder
behind, empty (split) or holding only the command's own lock (batch) or marker (demo) file.
A folder that existed before is kept, whatever happens.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import rasterio

import hsi

SIDE = 16


def _labels(path, array):
    with rasterio.open(path, "w", driver="GTiff", count=1, height=array.shape[0],
                       width=array.shape[1], dtype="uint8") as dst:
        dst.write(array.astype("uint8"), 1)
    return path


@pytest.fixture
def halves(tmp_path):
    """A 16×16 label raster: class 1 on the left half, class 2 on the right."""
    labels = np.ones((SIDE, SIDE))
    labels[:, SIDE // 2:] = 2
    return _labels(tmp_path / "halves.tif", labels)


@pytest.fixture
def interrupted_writes(monkeypatch):
    """Ctrl-C as the atomic writes begin (after the output folder is made)."""
    import hsi.io.atomic

    @contextlib.contextmanager
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
        yield  # pragma: no cover

    monkeypatch.setattr(hsi.io.atomic, "atomic_files", interrupted)


def test_split_interrupted_leaves_no_folder(tmp_path, halves, invoke, interrupted_writes):
    out = tmp_path / "new" / "split"
    result = invoke("classify", "split", halves, "--per-class", 4, "-o", out)
    assert result.exit_code == 130, result.output
    assert not (tmp_path / "new").exists()  # nor the parent made for it


def test_split_interrupted_keeps_an_existing_folder(tmp_path, halves, invoke,
                                                   interrupted_writes):
    out = tmp_path / "split"
    out.mkdir()
    result = invoke("classify", "split", halves, "--per-class", 4, "-o", out)
    assert result.exit_code == 130, result.output
    assert out.is_dir() and not list(out.iterdir())


@pytest.fixture
def manifest(tmp_path):
    """A folder of one real scene pair (x4 Sentinel-2 pair of a 16×16 crop of the sample)."""
    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair

    cube = sample_cube()
    crop = cube.with_data(np.ascontiguousarray(cube.data[:, :SIDE, :SIDE]))
    lr, msi = simulate_pair(crop, 4, "sentinel2")
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    hsi.save(lr, scenes / "s_lr.tif")
    hsi.save(msi, scenes / "s_hr.tif")
    return scenes


@pytest.fixture
def cluster_start_interrupted(monkeypatch):
    """Ctrl-C while the local Dask cluster starts (the folder and its lock exist by then)."""
    import distributed

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(distributed, "LocalCluster", interrupted)


def test_fuse_batch_interrupted_before_any_scene_leaves_no_folder(
        tmp_path, manifest, invoke, cluster_start_interrupted):
    out = tmp_path / "new" / "out"
    result = invoke("fuse-batch", manifest, "-o", out, "--method", "glp", "--workers", 1)
    assert result.exit_code == 130, result.output
    assert not (tmp_path / "new").exists()  # not even its lock file


def test_fuse_batch_interrupted_keeps_an_existing_folder(tmp_path, manifest, invoke,
                                                         cluster_start_interrupted):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    result = invoke("fuse-batch", manifest, "-o", out, "--method", "glp", "--workers", 1)
    assert result.exit_code == 130, result.output
    assert (out / "notes.txt").read_text() == "mine\n"


def test_demo_failing_in_a_step_leaves_no_folder(tmp_path, invoke, monkeypatch):
    from hsi.cli import demo
    from hsi.errors import DataError

    def fails(state):
        raise DataError("boom: a step failed")

    monkeypatch.setattr(demo, "DEMO_STEPS", [("info", demo.step_info), ("fails", fails)])
    out = tmp_path / "new" / "demo"
    result = invoke("demo", "-o", out, "--device", "cpu")
    assert result.exit_code == 2, result.output
    assert "boom" in result.stderr
    assert not (tmp_path / "new").exists()  # not even its .hsi-demo marker


def test_demo_on_a_missing_device_makes_no_folder(tmp_path, invoke):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    out = tmp_path / "demo"
    result = invoke("demo", "-o", out, "--device", "cuda")
    assert result.exit_code == 2 and "--device cpu" in result.stderr, result.output
    assert not out.exists()
