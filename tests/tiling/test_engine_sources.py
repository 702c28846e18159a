"""One pipeline, two doors (issue 16): a lazy cube into an array in memory (the napari docks)
gives what the file function writes (the CLI), and only windows of the cube are read."""

from __future__ import annotations

import numpy as np
import pytest
from rasterio.windows import Window

import hsi
from hsi.engine import ArrayWriter


def test_array_writer_places_tile_cores():
    writer = ArrayWriter(bands=2, height=5, width=4, dtype="float32", crs=None, tile=16)
    with writer:
        writer.write(np.ones((2, 2, 3)), Window(1, 3, 3, 2))
        writer.write(np.full((2, 3), 2.0), Window(0, 0, 3, 2))  # 2-D: one band broadcast
    want = np.zeros((2, 5, 4), np.float32)
    want[:, 3:5, 1:4] = 1.0
    want[:, 0:2, 0:3] = 2.0
    np.testing.assert_array_equal(writer.data, want)
    assert writer.profile == {"crs": None, "tile": 16}


@pytest.mark.parametrize("method", ["glp", "bicubic"])
def test_fuse_cube_on_lazy_pair_equals_fuse_files(pair_files, tmp_path, computed_shapes, method):
    from hsi.fusion.scene import fuse_cube, fuse_files

    lr_path, hr_path, lr, hr = pair_files
    out = fuse_files(lr_path, hr_path, tmp_path / "fused.tif", method=method, tile=16,
                     device="cpu", progress=False)
    written = hsi.open(out).data
    lazy_lr, lazy_hr = hsi.open(lr_path, lazy=True), hsi.open(hr_path, lazy=True)
    assert lazy_lr.is_lazy and lazy_hr.is_lazy
    del computed_shapes[:]
    calls = []
    fused = fuse_cube(lazy_lr, lazy_hr, method=method, tile=16, device="cpu",
                      callback=lambda done, total: calls.append((done, total)))
    np.testing.assert_array_equal(fused.data, written)
    assert fused.data.max() > 0.1
    np.testing.assert_allclose(fused.wavelengths, lr.wavelengths)
    assert fused.transform == hr.transform and fused.crs == hr.crs
    assert fused.metadata["tiles"] == 16
    # progress per tile, ending at done == total; glp's statistics pass first, by its cores
    # (one here: the 64² scene holds all 16 tiles)
    steps = 16 * (2 if method == "glp" else 1)
    first = [0, 16] if method == "glp" else [0]
    assert calls == [(i, steps) for i in [*first, *range(first[-1] + 1, steps + 1)]]
    # read by windows: never the whole LR or HR cube at once
    assert lr.shape not in computed_shapes and hr.shape not in computed_shapes


def test_fuse_cube_cancel_stops_between_tiles(pair_files):
    from hsi.errors import Cancelled
    from hsi.fusion.scene import fuse_cube

    lr_path, hr_path, *_ = pair_files
    calls = []
    with pytest.raises(Cancelled):
        fuse_cube(hsi.open(lr_path, lazy=True), hsi.open(hr_path, lazy=True), method="bicubic",
                  tile=16, device="cpu",
                  callback=lambda done, total: calls.append(done) or done == 3)
    assert calls == [0, 1, 2, 3]


@pytest.fixture(scope="module")
def crop_path(tmp_path_factory):
    """A 32-band 60 × 50 crop of Salinas-A as a GeoTIFF (tiles of 16)."""
    from hsi.data import sample_cube
    from hsi.io.geotiff import write_geotiff

    cube = sample_cube()
    crop = cube.with_data(np.asarray(cube.data[::6, 10:70, 20:70]),
                          wavelengths=cube.wavelengths[::6], fwhm=None)
    return write_geotiff(crop, tmp_path_factory.mktemp("crop") / "crop.tif", tile=16)


@pytest.mark.parametrize("tiled", [True, False])
def test_cluster_cube_on_lazy_cube_equals_cluster_file(crop_path, tmp_path, computed_shapes,
                                                       tiled):
    from hsi.clustering.files import cluster_cube, cluster_file
    from hsi.io.labels import read_class_map

    out, conf = tmp_path / "clusters.tif", tmp_path / "conf.tif"
    cluster_file(crop_path, 4, out, confidence=conf, tiled=tiled, tile=24, seed=0,
                 device="cpu", progress=False)
    labels, _, _ = read_class_map(out)
    written_conf = hsi.open(conf).data[0]
    cube = hsi.open(crop_path, lazy=True)
    del computed_shapes[:]
    result = cluster_cube(cube, 4, tiled=tiled, tile=24, seed=0, device="cpu", progress=False)
    np.testing.assert_array_equal(result.labels, labels)
    # equal on the 2-core CI machine; 5e-7 apart on a 16-core Xeon (torch 2.11, 2026-12-04)
    np.testing.assert_allclose(result.confidence, written_conf, rtol=0, atol=1e-5)
    assert set(np.unique(result.labels)) == {1, 2, 3, 4}
    assert ("tiles" in result.info) == tiled
    if tiled:  # read by windows: never the whole scene
        assert result.info["tiles"] == 9
        assert cube.shape not in computed_shapes


def test_cluster_cube_tiles_above_whole_scene_pixels(crop_path, monkeypatch):
    """``tiled=None`` (what the Cluster dock passes) decides as ``cluster_file``: by size and
    method."""
    import hsi.clustering.files as files

    cube = hsi.open(crop_path, lazy=True)
    whole = files.cluster_cube(cube, 3, tile=24, device="cpu", progress=False)
    assert "tiles" not in whole.info
    monkeypatch.setattr(files, "WHOLE_SCENE_PIXELS", 60 * 50 - 1)
    tiled = files.cluster_cube(cube, 3, tile=24, device="cpu", progress=False)
    assert tiled.info["tiles"] == 9
    graph = files.cluster_cube(cube, 3, method="spectral", tile=24, device="cpu",
                               progress=False)
    assert "tiles" not in graph.info and graph.labels.shape == (60, 50)
