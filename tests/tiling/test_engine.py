"""The scene engine (:mod:`hsi.engine`): threads, progress, cancellation, halos, atomic output."""

from __future__ import annotations

import threading
import weakref

import numpy as np
import pytest
from rasterio.windows import Window

import hsi
from hsi.engine import SceneProgress, WindowReader, run_tiles, scene_pass
from hsi.errors import Cancelled
from hsi.tiling import crop_to_core, tile_windows


def test_reads_ahead_and_writes_behind_in_order():
    tiles = tile_windows(40, 30, tile=16)
    seen = {"read": [], "compute": [], "write": []}

    def read(t):
        seen["read"].append((t.index, threading.current_thread().name))
        return t.index * 10

    def compute(t, data):
        seen["compute"].append((t.index, threading.current_thread().name))
        return data + 1

    def write(t, result):
        seen["write"].append((t.index, result, threading.current_thread().name))

    calls = []
    with SceneProgress(len(tiles), progress=False,
                       callback=lambda d, n: calls.append((d, n))) as bar:
        run_tiles(tiles, read, compute, write, bar=bar)
    assert [i for i, _ in seen["read"]] == list(range(len(tiles)))
    assert all(name.startswith("hsi-read") for _, name in seen["read"])
    assert all(name == threading.current_thread().name for _, name in seen["compute"])
    assert [(i, r) for i, r, _ in seen["write"]] == [(t.index, t.index * 10 + 1) for t in tiles]
    assert all(name.startswith("hsi-write") for *_, name in seen["write"])
    assert calls == [(i, len(tiles)) for i in range(len(tiles) + 1)]


def test_cancel_stops_between_tiles_and_leaves_no_file(tmp_path):
    from hsi.io.geotiff import GeoTiffTileWriter

    tiles = tile_windows(64, 64, tile=16)
    computed = []

    def compute(t, _):
        computed.append(t.index)
        return np.full((1, int(t.core.height), int(t.core.width)), t.index, np.float32)

    with pytest.raises(Cancelled, match="job cancelled after 3 of 16"):
        with SceneProgress(len(tiles), what="job", progress=False,
                           callback=lambda done, total: done == 3) as bar, \
                GeoTiffTileWriter(tmp_path / "out.tif", bands=1, height=64, width=64,
                                  dtype="float32", crs=None, transform=None, nodata=None,
                                  wavelengths=None, fwhm=None, tile=16) as writer:
            run_tiles(tiles, lambda t: None, compute,
                      lambda t, r: writer.write(r, t.core), bar=bar)
    assert computed == [0, 1, 2, 3]  # stopped once tile 2 was written, tile 3 in hand
    assert list(tmp_path.iterdir()) == []


def test_halo_tiles_equal_the_untiled_filter(tmp_path):
    """A 5×5 mean filter over a real crop: halo-2 tiles read from a lazy file == whole image."""
    from scipy.ndimage import uniform_filter

    from hsi.data import sample_cube

    cube = sample_cube()
    crop = cube.with_data(np.asarray(cube.data[:8, :50, :45], dtype=np.float32),
                          wavelengths=cube.wavelengths[:8], fwhm=None)
    path = hsi.save(crop, tmp_path / "crop.tif")
    reader = WindowReader(path)
    assert reader.cube.is_lazy
    want = uniform_filter(crop.data, size=(1, 5, 5), mode="reflect")
    got = np.zeros_like(want)
    tiles = tile_windows(50, 45, tile=12, overlap=2)

    def compute(t, part):
        # reflect only at the scene's border, as the whole-image filter does
        return crop_to_core(uniform_filter(part.data, size=(1, 5, 5), mode="reflect"), t)

    def write(t, result):
        got[:, int(t.core.row_off):int(t.core.row_off + t.core.height),
            int(t.core.col_off):int(t.core.col_off + t.core.width)] = result

    run_tiles(tiles, lambda t: reader.read(t.read), compute, write)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_scene_pass_accumulates_every_tile_once():
    tiles = tile_windows(33, 20, tile=8)
    total = []
    scene_pass(tiles, lambda t: t.pixels, lambda t, n: total.append(n))
    assert sum(total) == 33 * 20


def test_scene_pass_holds_one_item_at_a_time():
    # a statistics pass reads large items (256² LR pixels of every band): when the next one is
    # read, no earlier one may still be alive (read ahead, the peak memory varied by 0.3 GB)
    class Item:
        pass

    alive: weakref.WeakSet = weakref.WeakSet()
    alive_at_read = []

    def read(i: int) -> Item:
        alive_at_read.append(len(alive))
        item = Item()
        alive.add(item)
        return item

    steps = []
    scene_pass(list(range(6)), read, lambda i, item: steps.append(i))
    assert steps == list(range(6))
    assert alive_at_read == [0] * 6


def test_window_reader_reads_a_cube_in_memory():
    from hsi.data import sample_cube

    cube = sample_cube()
    part = WindowReader(cube).read(Window(3, 4, 5, 6))
    np.testing.assert_array_equal(part.data, np.asarray(cube.data)[:, 4:10, 3:8])
    assert part.transform is None


def test_fuse_files_reports_both_passes_and_cancels(pair_files, tmp_path):
    from hsi.fusion.scene import fuse_files

    lr_path, hr_path, _, _ = pair_files
    calls = []
    fuse_files(lr_path, hr_path, tmp_path / "a.tif", method="glp", tile=32, progress=False,
               device="cpu", callback=lambda d, n: calls.append((d, n)))
    # 4 tiles: GLP's statistics pass reads the 64² scene as one core (it holds the 4 tiles),
    # then fusion writes the tiles one by one
    assert calls == [(0, 8), (4, 8), (5, 8), (6, 8), (7, 8), (8, 8)]
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(Cancelled, match="fuse glp cancelled after 5 of 8"):
        fuse_files(lr_path, hr_path, out / "b.tif", method="glp", tile=32, progress=False,
                   device="cpu", callback=lambda d, n: d == 5)
    assert list(out.iterdir()) == []


def test_glp_statistics_read_each_lr_pixel_once(pair_files, tmp_path, monkeypatch):
    """GLP's statistics pass reads the LR-HSI by cores without a margin (each LR block
    decompressed once), the HR-MSI with the PSF's margin; the gains, and so the fused pixels,
    do not depend on the core size."""
    import hsi.fusion.scene as scene
    from hsi.engine import WindowReader

    lr_path, hr_path, lr, _ = pair_files
    one = hsi.open(scene.fuse_files(lr_path, hr_path, tmp_path / "one.tif", method="glp",
                                    tile=16, progress=False, device="cpu")).data
    reads = []
    original = WindowReader.read

    def recording(self, window, *, strip=False):
        if self.cube.bands == lr.bands and not strip:
            reads.append(window)
        return original(self, window, strip=strip)

    monkeypatch.setattr(WindowReader, "read", recording)
    monkeypatch.setattr(scene, "STATS_LR_TILE", 4)  # 16 cores of 4² LR pixels
    four = hsi.open(scene.fuse_files(lr_path, hr_path, tmp_path / "four.tif", method="glp",
                                     tile=16, progress=False, device="cpu")).data
    cores = [w for w in reads if (w.height, w.width) == (4, 4)]
    assert len(cores) == 16
    seen = np.zeros((lr.height, lr.width), int)
    for w in cores:
        seen[int(w.row_off):int(w.row_off) + 4, int(w.col_off):int(w.col_off) + 4] += 1
    assert (seen == 1).all()  # every LR pixel read once, no margin
    # Equal up to float32 rounding: the MSI's blur runs on cores of another shape, whose
    # products BLAS may sum in another order (1e-7 relative), and this small regression
    # (256 LR pixels, 13 correlated MSI bands) amplifies that: up to 3.5e-6 on an AMD EPYC,
    # 0 on the Intel CPUs before. Dropping one core's moments changes pixels by up to 0.74.
    np.testing.assert_allclose(four, one, rtol=0, atol=2e-5)


class TestClusterFileByTiles:
    """``cluster_file(tiled=True)``: fit on a sample, assign tile by tile with a halo."""

    def test_any_tile_size_gives_the_same_map(self, tmp_path):
        from hsi.clustering import cluster_file
        from hsi.data.shipped import CUBE_PATH
        from hsi.io.labels import read_class_map

        a = cluster_file(CUBE_PATH, 4, tmp_path / "a.tif", tiled=True, tile=1024,
                         progress=False, device="cpu")
        calls = []
        b = cluster_file(CUBE_PATH, 4, tmp_path / "b.tif", tiled=True, tile=24, progress=False,
                         device="cpu", confidence=tmp_path / "conf.tif",
                         callback=lambda d, n: calls.append((d, n)))
        np.testing.assert_array_equal(a.labels, b.labels)
        # float32 sums are not bit-stable across machines: 1.5e-5 apart on a 16-core Xeon
        # (torch 2.11, numpy 2.5; 2026-12-04), equal on the 2-core CI machine
        np.testing.assert_allclose(a.confidence, b.confidence, atol=1e-4)
        assert set(np.unique(b.labels)) == {1, 2, 3, 4} and b.info["tiles"] == 16
        assert calls == [(i, 18) for i in range(19)]  # fit, 16 tiles, writing
        labels, _, _ = read_class_map(tmp_path / "b.tif")
        np.testing.assert_array_equal(labels, b.labels)
        np.testing.assert_array_equal(hsi.open(tmp_path / "conf.tif").data[0], b.confidence)

    def test_cancel_writes_nothing(self, tmp_path):
        from hsi.clustering import cluster_file
        from hsi.data.shipped import CUBE_PATH

        with pytest.raises(Cancelled, match="clustering cancelled after 4 of 18"):
            cluster_file(CUBE_PATH, 4, tmp_path / "c.tif", tiled=True, tile=24,
                         confidence=tmp_path / "conf.tif", progress=False, device="cpu",
                         callback=lambda d, n: d == 4)
        assert list(tmp_path.iterdir()) == []


def _lazy_crop(tmp_path, bands=6, height=70, width=80):
    from hsi.data import sample_cube

    cube = sample_cube()
    crop = cube.with_data(np.asarray(cube.data[:bands, :height, :width], dtype=np.float32),
                          wavelengths=cube.wavelengths[:bands], fwhm=None)
    path = hsi.save(crop, tmp_path / "crop.tif")
    return crop, path


def test_strip_reads_equal_window_reads_one_file_read_per_row(tmp_path, monkeypatch):
    """Tiles of one row share one full-width read; every tile equals its direct read, with the
    band matrix applied the same way."""
    import hsi.io.indexing as indexing

    crop, path = _lazy_crop(tmp_path)
    tiles = tile_windows(70, 80, tile=32, overlap=3)
    rows = {(int(t.read.row_off), int(t.read.height)) for t in tiles}
    matrix = np.random.default_rng(0).random((6, 6)).astype(np.float32)
    with WindowReader(path) as reader:
        reader.band_matrix = matrix
        direct = [reader.read(t.read).data for t in tiles]
        calls = []
        real = indexing.load_window
        monkeypatch.setattr(indexing, "load_window",
                            lambda cube, w: calls.append(w) or real(cube, w))
        stripped = [reader.read(t.read, strip=True).data for t in tiles]
    assert len(tiles) == 9 and len(calls) == len(rows) == 3
    assert all(int(w.col_off) == 0 and int(w.width) == 80 for w in calls)
    for t, a, b in zip(tiles, direct, stripped, strict=True):
        want = np.tensordot(matrix, crop.data[:, t.read.row_off:t.read.row_off + t.read.height,
                                              t.read.col_off:t.read.col_off + t.read.width], 1)
        np.testing.assert_allclose(a, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(a, b)


def test_window_reader_keeps_its_file_open_in_a_with_block(tmp_path, monkeypatch):
    """One open for every read inside the block (GDAL's block cache survives between tiles);
    one per read outside it; the array-like still pickles without its handle."""
    import pickle

    import rasterio

    import hsi.io.geotiff as geotiff
    from hsi.io.indexing import file_view

    crop, path = _lazy_crop(tmp_path)
    reader = WindowReader(path)
    opened = []
    real_open = rasterio.open
    monkeypatch.setattr(geotiff.rasterio, "open", lambda *a, **k: opened.append(a[0])
                        or real_open(*a, **k))
    windows = [Window(c, r, 20, 20) for r in (0, 25, 50) for c in (0, 40)]
    with reader:
        view = file_view(reader.cube.data)
        parts = [reader.read(w).data for w in windows]
        again = pickle.loads(pickle.dumps(view))
        assert again._src is None and again[:, :3, :4].shape == (6, 3, 4)
    assert len(opened) == 2  # the kept dataset, and the unpickled copy's own read
    for w, part in zip(windows, parts, strict=True):
        np.testing.assert_array_equal(part, crop.data[:, w.row_off:w.row_off + 20,
                                                      w.col_off:w.col_off + 20])
    reader.read(windows[0])
    assert len(opened) == 3  # closed at the end of the block: a read opens the file again


def test_buffer_pool_reuses_what_was_given_back():
    import torch

    from hsi.engine import BufferPool

    pool = BufferPool()
    a, b = pool.take((2, 3, 4)), pool.take((2, 3, 4))
    assert a.data_ptr() != b.data_ptr()
    pool.give(a)
    c = pool.take((2, 3, 4))
    assert c.data_ptr() == a.data_ptr() and c.shape == (2, 3, 4)  # reused
    assert pool.take((2, 3, 5)).data_ptr() not in (a.data_ptr(), b.data_ptr())  # none free
    pool.give(torch.from_numpy(b.numpy()))  # a tensor sharing b's memory gives b back
    small = pool.take((3, 4))  # smaller: b's memory, viewed in the shape asked
    assert small.data_ptr() == b.data_ptr() and small.shape == (3, 4) and small.is_contiguous()
    pool.give(small)
    pool.give(pool.take((2, 3, 5)))  # two free buffers of different sizes
    assert pool.take((2, 3, 4)).data_ptr() == b.data_ptr()  # the smaller that fits, whole


def test_readers_and_writer_cap_gdals_block_cache(tmp_path):
    """A kept-open input fills GDAL's block cache with decompressed blocks and a tile writer
    with dirty ones: both cap it (GDAL's default, 5 % of RAM, let a 4096² classification
    grow to 1.5 GB), and restore the setting they found afterwards."""
    import rasterio
    from rasterio._env import get_gdal_config

    from hsi.io.geotiff import GDAL_CACHE_BYTES, GeoTiffTileWriter

    _, path = _lazy_crop(tmp_path)
    outer = 3 * GDAL_CACHE_BYTES
    with rasterio.Env(GDAL_CACHEMAX=outer):
        with WindowReader(path):
            assert get_gdal_config("GDAL_CACHEMAX") == GDAL_CACHE_BYTES
        assert get_gdal_config("GDAL_CACHEMAX") == outer
        with GeoTiffTileWriter(tmp_path / "out.tif", bands=1, height=8, width=8,
                               dtype="float32", crs=None, transform=None, nodata=None,
                               wavelengths=None, fwhm=None, tile=16) as w:
            assert get_gdal_config("GDAL_CACHEMAX") == GDAL_CACHE_BYTES
            w.write(np.zeros((1, 8, 8), np.float32), Window(0, 0, 8, 8))
        assert get_gdal_config("GDAL_CACHEMAX") == outer


def test_ctrl_c_stops_the_threads_before_run_tiles_returns():
    """A Ctrl-C in the compute waits for the write in flight and the read ahead: the caller
    then closes files no thread is still using (GDAL aborts the process otherwise)."""
    import time

    tiles = tile_windows(64, 64, tile=16)
    finished = {"write": [], "read": []}
    writing_1 = threading.Event()

    def read(t):
        time.sleep(0.05)
        finished["read"].append(t.index)

    def compute(t, _):
        if t.index == 2:
            # interrupted while tile 1's write is in flight (on a loaded machine the writer
            # thread could otherwise not have started it yet: a queued write is cancelled)
            assert writing_1.wait(30)
            raise KeyboardInterrupt
        return t.index

    def write(t, result):
        if result == 1:
            writing_1.set()
        time.sleep(0.3)  # still writing tile 1 when tile 2's compute is interrupted
        finished["write"].append(result)

    with pytest.raises(KeyboardInterrupt):
        run_tiles(tiles, read, compute, write)
    assert finished["write"] == [0, 1]  # the write in flight completed before the return
    assert not [t.name for t in threading.enumerate()
                if t.name.startswith(("hsi-read", "hsi-write"))]
