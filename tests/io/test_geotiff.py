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
from hsi.errors import FormatError, HsiIOError
from hsi.io.geotiff import GeoTiffTileWriter, read_window, write_geotiff

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
                             [(np.float32, "3", -9999.0), (np.uint16, "2", 0),
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
            assert structure["COMPRESSION"] == "DEFLATE"
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
        with pytest.raises(FormatError, match="not inside"):
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
