"""GeoTIFF through rasterio: wavelengths, windows, lazy reads, tiled atomic writes."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

import hsi
from hsi.errors import FormatError, HsiIOError, ShapeError
from hsi.io.geotiff import (
    GeoTiffArray,
    GeoTiffTileWriter,
    read_geotiff,
    read_window,
    write_geotiff,
)
from tests.io.big_cubes import BIG_SHAPE, ReadCounter, pattern

T = Affine(30.0, 0.0, 553_410.0, 0.0, -30.0, 4_182_690.0)
WL = np.array([412.5, 450.5, 500.0, 550.25, 600.0, 650.0, 700.0, 750.0, 800.0])


def make_cube(rng, dtype=np.float32, shape=(9, 5, 7), **changes) -> hsi.Cube:
    data = rng.random(shape)
    data = (data * 4000).astype(dtype) if np.dtype(dtype).kind in "iu" else data.astype(dtype)
    fields = dict(wavelengths=WL[: shape[0]], fwhm=np.linspace(8, 12, shape[0]),
                  crs=CRS.from_epsg(32610), transform=T, nodata=-9999.0, name="scene")
    fields.update(changes)
    return hsi.Cube(data, **fields)


def plain_tiff(path, data, **kw):
    """A GeoTIFF written by plain rasterio (no hsikit conventions)."""
    with rasterio.open(path, "w", driver="GTiff", count=data.shape[0], height=data.shape[1],
                       width=data.shape[2], dtype=data.dtype.name, crs="EPSG:32610",
                       transform=T, **kw) as dst:
        dst.write(data)
    return path


class TestRoundTrip:
    @pytest.mark.parametrize("dtype, predictor, nodata",
                             [(np.float32, "2", -9999.0), (np.uint16, "2", 0),
                              (np.int16, "2", -1)])
    def test_keeps_everything(self, tmp_path, rng, dtype, predictor, nodata):
        cube = make_cube(rng, dtype, nodata=nodata)
        out = hsi.save(cube, tmp_path / "scene.tif")
        assert out == tmp_path / "scene.tif"
        back = hsi.open(out)
        np.testing.assert_array_equal(back.data, cube.data)
        assert back.dtype == np.dtype(dtype)
        np.testing.assert_allclose(back.wavelengths, WL, rtol=0, atol=1e-9)
        np.testing.assert_allclose(back.fwhm, cube.fwhm, rtol=0, atol=1e-9)
        assert back.crs == CRS.from_epsg(32610)
        assert back.transform == T
        assert back.nodata == nodata
        with rasterio.open(out) as src:
            assert src.profile["tiled"] and src.block_shapes[0] == (256, 256)
            structure = src.tags(ns="IMAGE_STRUCTURE")
            assert structure["COMPRESSION"] == "ZSTD"
            assert structure["PREDICTOR"] == predictor
        assert out.read_bytes()[:4] == b"II*\x00"  # classic TIFF: BigTIFF only when needed

    def test_plain_rasterio_sees_wavelengths(self, tmp_path, rng):
        hsi.save(make_cube(rng), tmp_path / "scene.tif")
        with rasterio.open(tmp_path / "scene.tif") as src:
            centres = [float(src.tags(b, ns="IMAGERY")["CENTRAL_WAVELENGTH_UM"])
                       for b in range(1, 10)]
            widths = [float(src.tags(b, ns="IMAGERY")["FWHM_UM"]) for b in range(1, 10)]
            assert src.descriptions[1] == "450.5 nm"
            assert src.descriptions[3] == "550.25 nm"
        np.testing.assert_allclose(centres, WL / 1000)
        np.testing.assert_allclose(widths, np.linspace(8, 12, 9) / 1000)

    def test_no_georeference_no_wavelengths(self, tmp_path, rng):
        data = rng.random((2, 3, 4)).astype(np.float64)
        hsi.save(hsi.Cube(data), tmp_path / "bare.tif")
        back = hsi.open(tmp_path / "bare.tif")
        np.testing.assert_array_equal(back.data, data)
        assert back.crs is None and back.transform is None and back.wavelengths is None
        assert back.nodata is None


class TestWavelengthSources:
    def test_envi_style_dataset_tags_in_micrometres(self, tmp_path, rng):
        path = plain_tiff(tmp_path / "a.tif", rng.random((3, 4, 4)).astype(np.float32))
        with rasterio.open(path, "r+") as dst:
            dst.update_tags(wavelength="{0.45, 0.55, 0.65}", wavelength_units="Micrometers",
                            fwhm="{0.01, 0.01, 0.02}")
        back = hsi.open(path)
        np.testing.assert_allclose(back.wavelengths, [450, 550, 650])
        np.testing.assert_allclose(back.fwhm, [10, 10, 20])

    def test_envi_domain(self, tmp_path, rng):
        path = plain_tiff(tmp_path / "a.tif", rng.random((3, 4, 4)).astype(np.float32))
        with rasterio.open(path, "r+") as dst:
            dst.update_tags(ns="ENVI", wavelength="{450, 550, 650}", wavelength_units="nm")
        np.testing.assert_allclose(hsi.open(path).wavelengths, [450, 550, 650])

    def test_band_descriptions(self, tmp_path, rng):
        path = plain_tiff(tmp_path / "a.tif", rng.random((3, 4, 4)).astype(np.float32))
        with rasterio.open(path, "r+") as dst:
            for b, text in enumerate(["450.5 nm", "0.55 um", "Band 3: 650 nm"], start=1):
                dst.set_band_description(b, text)
        np.testing.assert_allclose(hsi.open(path).wavelengths, [450.5, 550, 650])

    def test_imagery_domain_wins(self, tmp_path, rng):
        path = plain_tiff(tmp_path / "a.tif", rng.random((2, 4, 4)).astype(np.float32))
        with rasterio.open(path, "r+") as dst:
            dst.update_tags(wavelength="{1, 2}")
            for b, um in ((1, 0.9), (2, 1.2)):
                dst.update_tags(b, ns="IMAGERY", CENTRAL_WAVELENGTH_UM=str(um))
        np.testing.assert_allclose(hsi.open(path).wavelengths, [900, 1200])

    def test_unlabelled_bands(self, tmp_path, rng):
        path = plain_tiff(tmp_path / "a.tif", rng.random((2, 4, 4)).astype(np.float32))
        assert hsi.open(path).wavelengths is None


class TestWindowsAndLazy:
    def test_window_read(self, tmp_path, rng):
        cube = make_cube(rng)
        path = hsi.save(cube, tmp_path / "s.tif")
        w = Window(col_off=3, row_off=1, width=4, height=2)
        for part in (hsi.open(path, window=w), read_window(path, w)):
            np.testing.assert_array_equal(part.data, cube.data[:, 1:3, 3:7])
            assert part.transform == window_transform(w, T)
            assert part.transform.c == T.c + 3 * 30 and part.transform.f == T.f - 1 * 30

    def test_window_outside_raises(self, tmp_path, rng):
        path = hsi.save(make_cube(rng), tmp_path / "s.tif")
        with pytest.raises(ShapeError, match="not inside"):
            hsi.open(path, window=Window(0, 3, 2, 4))

    def test_lazy_one_chunk_per_block(self, tmp_path, rng):
        cube = make_cube(rng, shape=(3, 40, 50))
        path = write_geotiff(cube, tmp_path / "big.tif", tile=16)
        lazy = hsi.open(path, lazy=True)
        assert lazy.is_lazy
        assert lazy.data.chunks == ((3,), (16, 16, 8), (16, 16, 16, 2))
        np.testing.assert_array_equal(lazy.compute().data, cube.data)
        part = hsi.open(path, lazy=True, window=Window(5, 7, 20, 30))
        assert part.is_lazy and part.transform == window_transform(Window(5, 7, 20, 30), T)
        np.testing.assert_array_equal(np.asarray(part.data), cube.data[:, 7:37, 5:25])

    def test_lazy_cube_written_back(self, tmp_path, rng):
        cube = make_cube(rng, shape=(3, 40, 50))
        path = write_geotiff(cube, tmp_path / "a.tif", tile=16)
        out = hsi.save(hsi.open(path, lazy=True), tmp_path / "b.tif")
        np.testing.assert_array_equal(hsi.open(out).data, cube.data)


class TestIndexing:
    """``GeoTiffArray`` indexes like numpy, whatever the key (ints, steps, arrays, masks)."""

    @pytest.fixture(params=["tiled", "striped"])
    def source(self, request, tmp_path, rng):
        data = rng.integers(-500, 500, (5, 70, 90)).astype(np.int16)
        kw = ({"tiled": True, "blockxsize": 16, "blockysize": 16} if request.param == "tiled"
              else {"blockysize": 3})
        path = plain_tiff(tmp_path / "t.tif", data, **kw)
        with rasterio.open(path) as src:
            block = src.block_shapes[0]
        return GeoTiffArray(path, data.shape, data.dtype, block), data

    @pytest.mark.parametrize("key", [
        (0, slice(None, None, 7), slice(None, None, 7)),
        (slice(1, 4), slice(5, 60, 3), 4),
        (-1,),
        (slice(None, None, -1), slice(60, 2, -5), [3, 1, 1, 80]),
        (np.array([4, 0]), slice(0, 70), slice(2, 89, 2)),
        (2, 5, 7),
        (Ellipsis, 3),
        (slice(0, 0),),
        (1, np.arange(70) % 2 == 0, slice(10, 20)),
        (1, slice(0, 70, 20), slice(None)),
        (slice(None), slice(17, 18), slice(None, None, 33)),
    ])
    def test_like_numpy(self, source, key):
        arr, data = source
        got = arr[key]
        assert got.dtype == data.dtype
        np.testing.assert_array_equal(got, data[key])

    def test_random_slices_like_numpy(self, source):
        arr, data = source
        gen = np.random.default_rng(7)
        for _ in range(60):
            key = tuple(
                int(gen.integers(-n, n)) if gen.random() < 0.2 else
                slice(int(gen.integers(-n, n)), int(gen.integers(-n, n + 2)),
                      int(gen.choice([1, 2, 3, 7, 17, -1, -4])))
                for n in data.shape)
            np.testing.assert_array_equal(arr[key], data[key], err_msg=str(key))

    def test_out_of_range(self, source):
        arr, _ = source
        with pytest.raises(IndexError, match="band index 5"):
            arr[5]
        with pytest.raises(IndexError, match="too many"):
            arr[0, 0, 0, 0]


class TestBigTiledFile:
    """A 384 MiB (uncompressed) file in 256 × 256 tiles: reads touch only what is asked."""

    BAND_BYTES = BIG_SHAPE[1] * BIG_SHAPE[2] * 2
    FILE_BYTES = BIG_SHAPE[0] * BAND_BYTES

    @pytest.fixture
    def reads(self, monkeypatch):
        return ReadCounter(monkeypatch)

    @pytest.fixture
    def big(self, big_tif):
        with rasterio.open(big_tif) as src:
            assert src.block_shapes[0] == (256, 256) and src.count == BIG_SHAPE[0]
            return GeoTiffArray(big_tif, BIG_SHAPE, np.int16, src.block_shapes[0])

    def test_integer_band_with_steps_reads_that_band_only(self, big, reads):
        """napari's contrast sample ``data[0, ::7, ::7]`` reads band 1, never the cube."""
        got = big[0, ::7, ::7]
        rows, cols = np.arange(0, 2048, 7), np.arange(0, 2048, 7)
        np.testing.assert_array_equal(got, pattern(0, rows, cols))
        assert 0 < reads.bytes <= self.BAND_BYTES

    def test_window_of_one_band_reads_that_window(self, big, reads):
        got = big[30, 100:300, 500:900]
        np.testing.assert_array_equal(got, pattern(30, np.arange(100, 300), np.arange(500, 900)))
        assert reads.bytes == got.nbytes and reads.calls == 1

    def test_large_steps_read_one_row_per_strip(self, big, reads):
        got = big[5, ::512, ::512]
        np.testing.assert_array_equal(got, pattern(5, np.arange(0, 2048, 512),
                                                   np.arange(0, 2048, 512)))
        assert reads.bytes <= 4 * 2048 * 2  # four single rows

    def test_band_chunks_first_frame_reads_one_band(self, big_tif, reads):
        """The viewer's chunks: one band × 1024²; showing a band decodes that band."""
        import tracemalloc

        cube = read_geotiff(big_tif, lazy=True, band_chunks=True)
        assert cube.is_lazy and cube.data.chunksize == (1, 1024, 1024)
        assert cube.nodata == -9999 and cube.wavelengths[0] == 400.0
        tracemalloc.start()
        try:
            sample = cube.data[0, ::7, ::7].compute()
            band = cube.data[24].compute()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        np.testing.assert_array_equal(sample, pattern(0, np.arange(0, 2048, 7),
                                                      np.arange(0, 2048, 7)))
        np.testing.assert_array_equal(band, pattern(24, np.arange(2048), np.arange(2048)))
        assert reads.bytes <= 2 * self.BAND_BYTES
        assert peak < 0.05 * self.FILE_BYTES  # 19 MiB: the band (8 MiB) and its chunks

    def test_default_chunks_unchanged(self, big_tif):
        """Processing keeps all bands × one block per chunk."""
        cube = read_geotiff(big_tif, lazy=True)
        assert cube.data.chunksize == (48, 256, 256)


class TestTileWriter:
    def test_writes_windows_atomically(self, tmp_path, rng):
        data = rng.random((2, 40, 36)).astype(np.float32)
        dest = tmp_path / "tiles.tif"
        with GeoTiffTileWriter(dest, bands=2, height=40, width=36, dtype="float32",
                               crs=CRS.from_epsg(32610), transform=T, nodata=None,
                               wavelengths=[500.0, 600.0], fwhm=None, tile=16) as writer:
            for r0 in (0, 20):
                for c0 in (0, 18):
                    writer.write(data[:, r0:r0 + 20, c0:c0 + 18], Window(c0, r0, 18, 20))
            assert not dest.exists()  # appears only on clean exit
        back = hsi.open(dest)
        np.testing.assert_array_equal(back.data, data)
        np.testing.assert_allclose(back.wavelengths, [500, 600])
        assert back.transform == T

    def test_read_back_catches_a_truncated_last_band(self, tmp_path, rng):
        """The check after close decodes the last band's blocks: a file cut short fails it."""
        from hsi.io.atomic import _verify_written

        path = tmp_path / "cut.tif"
        with rasterio.open(path, "w", driver="GTiff", count=3, height=64, width=64,
                           dtype="float32", tiled=True, blockxsize=16, blockysize=16,
                           compress="zstd", interleave="band") as dst:
            dst.write(rng.random((3, 64, 64)).astype(np.float32))
        _verify_written(path, path)  # whole: passes
        with open(path, "r+b") as f:
            f.truncate(int(path.stat().st_size * 0.8))
        with pytest.raises(OSError, match="cannot read back"):
            _verify_written(path, path)

    def test_exception_leaves_nothing(self, tmp_path):
        with pytest.raises(RuntimeError, match="boom"), GeoTiffTileWriter(
                tmp_path / "x.tif", bands=1, height=8, width=8, dtype="uint8", crs=None,
                transform=None, nodata=None, wavelengths=None, fwhm=None):
            raise RuntimeError("boom")
        assert list(tmp_path.iterdir()) == []

    def test_failed_save_midway_leaves_nothing(self, tmp_path, rng, monkeypatch):
        calls = []
        original = GeoTiffTileWriter.write

        def failing_write(self, array, window):
            calls.append(window)
            if len(calls) == 2:
                raise OSError("No space left on device")
            original(self, array, window)

        monkeypatch.setattr("hsi.io.geotiff.CHUNK_BYTES", 1)  # one strip of tiles per write
        monkeypatch.setattr(GeoTiffTileWriter, "write", failing_write)
        with pytest.raises(OSError, match=r"(?i)no space"):
            write_geotiff(make_cube(rng, shape=(2, 40, 7)), tmp_path / "x.tif", tile=16)
        assert len(calls) == 2
        assert list(tmp_path.iterdir()) == []


class TestErrors:
    def test_corrupt_tiff(self, tmp_path):
        path = tmp_path / "bad.tif"
        path.write_bytes(b"II*\x00" + b"\xff" * 100)
        with pytest.raises(FormatError, match=r"bad\.tif"):
            hsi.open(path)

    def test_unwritable_folder(self, tmp_path, rng):
        (tmp_path / "file").write_text("not a folder")
        with pytest.raises(HsiIOError, match="cannot create output folder"):
            hsi.save(make_cube(rng), tmp_path / "file" / "out.tif")


def _wide_cube(width: int) -> hsi.Cube:
    rng = np.random.default_rng(3)
    data = rng.random((3, 40, width), dtype=np.float32)
    return hsi.Cube(data, wavelengths=[450.0, 550.0, 650.0], crs="EPSG:32610",
                    transform=Affine(2.0, 0, 500000.0, 0, -2.0, 4100000.0))


def test_wide_cube_is_written_with_averaged_overviews(tmp_path):
    from hsi.io.geotiff import write_geotiff

    cube = _wide_cube(1100)
    path = write_geotiff(cube, tmp_path / "wide.tif")
    with rasterio.open(path) as src:
        assert src.overviews(1) == [2, 4]  # 1100 → 550 → 275 px: down to <= 512
        np.testing.assert_array_equal(src.read(), cube.data)  # full resolution untouched
        level = src.read(1, out_shape=(20, 550))  # served from the x2 overview
        expected = cube.data[0].reshape(20, 2, 550, 2).mean(axis=(1, 3))
        np.testing.assert_allclose(level, expected, rtol=1e-5)
    assert hsi.open(path).wavelengths.tolist() == [450.0, 550.0, 650.0]


def test_small_cube_gets_no_overviews_unless_asked(tmp_path):
    from hsi.io.geotiff import write_geotiff

    with rasterio.open(write_geotiff(_wide_cube(300), tmp_path / "small.tif")) as src:
        assert src.overviews(1) == []
    with rasterio.open(write_geotiff(_wide_cube(1100), tmp_path / "plain.tif",
                                     overviews=False)) as src:
        assert src.overviews(1) == []


def test_failed_overviews_leave_no_file(tmp_path, monkeypatch):
    import hsi.io.geotiff as geotiff

    def broken(dst):
        raise HsiIOError("overviews failed")

    monkeypatch.setattr(geotiff, "build_overviews", broken)
    with pytest.raises(HsiIOError, match="overviews failed"):
        geotiff.write_geotiff(_wide_cube(1100), tmp_path / "wide.tif")
    assert list(tmp_path.iterdir()) == []


def test_a_multi_page_tiff_is_refused_not_read_as_its_first_page(tmp_path):
    """GDAL shows only the first page: 11 of 12 bands would be lost without a word."""
    tifffile = pytest.importorskip("tifffile")
    import hsi
    from hsi.errors import FormatError

    tifffile.imwrite(tmp_path / "pages.tif", np.zeros((12, 8, 8), np.float32))
    with pytest.raises(FormatError, match=r"pages\.tif: a multi-page TIFF \(12 pages\)"):
        hsi.open(tmp_path / "pages.tif")
