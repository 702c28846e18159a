"""ENVI reading/writing: SPy headers, byte order, interleave, offsets, nodata, map info."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import spectral
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

import hsi
from hsi.errors import FormatError, HsiIOError, ShapeError, WavelengthError
from hsi.io.envi import read_envi
from tests.io.big_cubes import BIG_SHAPE

T = Affine(30.0, 0.0, 553_410.0, 0.0, -30.0, 4_182_690.0)
WL = np.array([412.5, 450.5, 500.0, 550.25, 600.0, 650.0, 700.0, 750.0, 800.0])


def make_cube(rng, dtype=np.float32, **changes) -> hsi.Cube:
    data = rng.random((9, 5, 7)).astype(dtype)
    fields = dict(wavelengths=WL, fwhm=np.linspace(8, 12, 9), crs=CRS.from_epsg(32610),
                  transform=T, nodata=-9999.0, name="scene")
    fields.update(changes)
    return hsi.Cube(data, **fields)


def write_raw(tmp_path, data_bsq, header_lines, *, interleave="bsq", byteorder="<", offset=0,
              name="raw"):
    """Write an ENVI pair by hand (independent of hsi's writer)."""
    axes = {"bsq": (0, 1, 2), "bil": (1, 0, 2), "bip": (1, 2, 0)}[interleave]
    raw = np.ascontiguousarray(data_bsq.transpose(axes)).astype(
        data_bsq.dtype.newbyteorder(byteorder))
    img = tmp_path / f"{name}.img"
    with open(img, "wb") as f:
        f.write(b"\xab" * offset)
        f.write(raw.tobytes())
    b, r, c = data_bsq.shape
    code = {np.dtype(np.uint8): 1, np.dtype(np.int16): 2, np.dtype(np.float32): 4,
            np.dtype(np.uint16): 12, np.dtype(np.float64): 5}[np.dtype(data_bsq.dtype)]
    text = ["ENVI", f"samples = {c}", f"lines = {r}", f"bands = {b}",
            f"header offset = {offset}", f"data type = {code}", f"interleave = {interleave}",
            f"byte order = {0 if byteorder == '<' else 1}", *header_lines]
    hdr = tmp_path / f"{name}.hdr"
    hdr.write_text("\n".join(text) + "\n")
    return hdr, img


class TestRoundTrip:
    def test_keeps_everything(self, tmp_path, rng):
        cube = make_cube(rng)
        out = hsi.save(cube, tmp_path / "scene.hdr")
        assert out == tmp_path / "scene.hdr"
        assert (tmp_path / "scene.img").stat().st_size == 9 * 5 * 7 * 4
        for path in (out, tmp_path / "scene.img"):
            back = hsi.open(path)
            np.testing.assert_array_equal(back.data, cube.data)
            assert back.data.dtype == np.float32
            np.testing.assert_allclose(back.wavelengths, WL)
            np.testing.assert_allclose(back.fwhm, cube.fwhm)
            assert back.crs == CRS.from_epsg(32610)
            assert back.transform == T
            assert back.nodata == -9999.0

    def test_integer_nodata_and_no_georeference(self, tmp_path, rng):
        data = rng.integers(0, 4000, (4, 6, 3)).astype(np.uint16)
        cube = hsi.Cube(data, nodata=0)
        hsi.save(cube, tmp_path / "c.hdr")
        back = hsi.open(tmp_path / "c.hdr")
        np.testing.assert_array_equal(back.data, data)
        assert back.nodata == 0 and isinstance(back.nodata, int)
        assert back.crs is None and back.transform is None and back.wavelengths is None

    def test_header_readable_by_spectral_and_gdal(self, tmp_path, rng):
        cube = make_cube(rng)
        hsi.save(cube, tmp_path / "scene.hdr")
        img = spectral.envi.open(str(tmp_path / "scene.hdr"))
        np.testing.assert_array_equal(img.load().transpose(2, 0, 1), cube.data)
        np.testing.assert_allclose(img.bands.centers, WL)
        assert img.metadata["wavelength units"] == "Nanometers"
        assert float(img.metadata["data ignore value"]) == -9999.0
        with rasterio.open(tmp_path / "scene.img") as src:
            assert src.crs == CRS.from_epsg(32610)
            assert src.transform == T
            assert src.nodata == -9999.0

    def test_spy_written_file(self, tmp_path, rng):
        data = rng.random((6, 4, 5)).astype(np.float32)  # SPy wants (rows, cols, bands)
        spectral.envi.save_image(str(tmp_path / "spy.hdr"), data.transpose(1, 2, 0),
                                 metadata={"wavelength": [0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
                                           "wavelength units": "Micrometers",
                                           "fwhm": [0.01] * 6, "data ignore value": -1},
                                 interleave="bip", ext=".img")
        back = hsi.open(tmp_path / "spy.hdr")
        np.testing.assert_array_equal(back.data, data)
        np.testing.assert_allclose(back.wavelengths, [500, 600, 700, 800, 900, 1000])
        np.testing.assert_allclose(back.fwhm, [10.0] * 6)
        assert back.nodata == -1.0


class TestHeaderFeatures:
    @pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
    @pytest.mark.parametrize("byteorder", ["<", ">"])
    def test_interleave_byte_order_offset(self, tmp_path, rng, interleave, byteorder):
        data = rng.integers(-3000, 3000, (3, 4, 5)).astype(np.int16)
        hdr, _ = write_raw(tmp_path, data, [], interleave=interleave, byteorder=byteorder,
                           offset=128)
        back = hsi.open(hdr)
        np.testing.assert_array_equal(back.data, data)
        assert back.data.dtype == np.dtype(np.int16)  # native order
        assert back.metadata["interleave"] == interleave

    def test_micrometres_and_data_ignore_value(self, tmp_path, rng):
        data = rng.integers(0, 1000, (3, 2, 2)).astype(np.uint16)
        hdr, _ = write_raw(tmp_path, data, [
            "wavelength units = Micrometers", "wavelength = {0.45, 0.55, 0.65}",
            "fwhm = {0.01, 0.012, 0.015}", "data ignore value = 65535"])
        back = hsi.open(hdr)
        np.testing.assert_allclose(back.wavelengths, [450, 550, 650])
        np.testing.assert_allclose(back.fwhm, [10, 12, 15])
        assert back.nodata == 65535

    def test_utm_map_info_with_reference_pixel(self, tmp_path, rng):
        data = rng.random((2, 3, 4)).astype(np.float32)
        hdr, _ = write_raw(tmp_path, data, [
            "map info = {UTM, 2.0, 3.0, 600000.0, 5000000.0, 10.0, 20.0, 33, South, WGS-84, "
            "units=Meters}"])
        back = hsi.open(hdr)
        assert back.crs == CRS.from_epsg(32733)
        # pixel (col 2, row 3), 1-based, upper-left corner sits at (600000, 5000000)
        assert back.transform == Affine(10.0, 0.0, 599_990.0, 0.0, -20.0, 5_000_040.0)

    def test_gdal_written_envi(self, tmp_path, rng):
        data = rng.integers(-500, 9000, (9, 5, 7)).astype(np.int16)
        with rasterio.open(tmp_path / "g.img", "w", driver="ENVI", width=7, height=5, count=9,
                           dtype="int16", crs="EPSG:32610", transform=T, nodata=-1) as dst:
            dst.write(data)
        back = hsi.open(tmp_path / "g.img")
        np.testing.assert_array_equal(back.data, data)
        assert back.crs == CRS.from_epsg(32610)
        assert back.transform == T
        assert back.nodata == -1

    def test_rotated_map_info_matches_gdal(self, tmp_path):
        rotated = T @ Affine.rotation(20)
        with rasterio.open(tmp_path / "r.img", "w", driver="ENVI", width=4, height=3, count=1,
                           dtype="uint8", crs="EPSG:32610", transform=rotated) as dst:
            dst.write(np.ones((1, 3, 4), np.uint8))
        assert "rotation=-20" in (tmp_path / "r.hdr").read_text()
        assert hsi.open(tmp_path / "r.img").transform.almost_equals(rotated)
        hsi.save(hsi.Cube(np.ones((1, 3, 4), np.float32), crs="EPSG:32610", transform=rotated),
                 tmp_path / "ours.hdr")
        with rasterio.open(tmp_path / "ours.img") as src:  # GDAL reads our header the same way
            assert src.transform.almost_equals(rotated)


class TestWindowAndLazy:
    def test_window_keeps_transform(self, tmp_path, rng):
        cube = make_cube(rng)
        hsi.save(cube, tmp_path / "s.hdr")
        w = Window(col_off=2, row_off=1, width=4, height=3)
        part = hsi.open(tmp_path / "s.hdr", window=w)
        np.testing.assert_array_equal(part.data, cube.data[:, 1:4, 2:6])
        assert part.transform == T @ Affine.translation(2, 1)

    def test_window_outside_raises(self, tmp_path, rng):
        hsi.save(make_cube(rng), tmp_path / "s.hdr")
        with pytest.raises(ShapeError, match="not inside"):
            hsi.open(tmp_path / "s.hdr", window=Window(5, 0, 4, 2))

    @pytest.mark.parametrize("interleave", ["bsq", "bip"])
    def test_lazy_is_dask_with_same_values(self, tmp_path, rng, interleave):
        data = rng.random((3, 4, 5)).astype(np.float32)
        hdr, _ = write_raw(tmp_path, data, [], interleave=interleave)
        cube = hsi.open(hdr, lazy=True)
        assert cube.is_lazy
        assert cube.data.chunks[0] == ((1, 1, 1) if interleave == "bsq" else (3,))
        np.testing.assert_array_equal(cube.compute().data, data)
        part = hsi.open(hdr, lazy=True, window=Window(1, 2, 3, 2))
        np.testing.assert_array_equal(np.asarray(part.data), data[:, 2:4, 1:4])

    def test_small_file_is_eager_by_default(self, tmp_path, rng):
        hsi.save(make_cube(rng), tmp_path / "s.hdr")
        assert not hsi.open(tmp_path / "s.hdr").is_lazy


class TestBandChunks:
    """The viewer's chunking: one band × about 1024² pixels, whatever the interleave."""

    @pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
    def test_one_band_per_chunk_same_values(self, tmp_path, rng, interleave):
        data = rng.random((3, 40, 50)).astype(np.float32)
        hdr, _ = write_raw(tmp_path, data, [], interleave=interleave)
        cube = read_envi(hdr, lazy=True, band_chunks=True)
        assert cube.data.chunks[0] == (1, 1, 1)
        np.testing.assert_array_equal(cube.compute().data, data)
        np.testing.assert_array_equal(np.asarray(cube.data[1, ::7, ::3]), data[1, ::7, ::3])

    def test_wide_images_get_square_tiles(self, tmp_path):
        from hsi.io.envi import EnviArray

        arr = EnviArray(tmp_path / "x.img", np.dtype("<f4"), 100, 5000, 9000, "bil", 0)
        assert arr.band_chunks() == (1, 1024, 1024)
        assert EnviArray(tmp_path / "x.img", np.dtype("<f4"), 100, 5000, 2000, "bsq",
                         0).band_chunks() == (1, 524, 2000)

    def test_big_bil_first_frame_copies_one_band(self, big_envi):
        """384 MiB, band-interleaved by line: showing a band copies that band, not the rows
        of every band (the old chunks held all 48 bands)."""
        import tracemalloc

        cube = read_envi(big_envi, lazy=True, band_chunks=True)
        assert cube.data.chunksize == (1, 512, 2048)
        band_bytes = BIG_SHAPE[1] * BIG_SHAPE[2] * 2
        tracemalloc.start()
        try:
            band = cube.data[24].compute()
            sample = cube.data[3, ::7, ::7].compute()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert band.shape == BIG_SHAPE[1:] and np.all(band[100:102] == 25)
        assert band.sum() == 25 * 2 * BIG_SHAPE[2]
        assert sample.shape == (293, 293) and np.all(sample[100 // 7 + 1:] == 0)
        assert peak < 3 * band_bytes  # 24 MiB of a 384 MiB file


class TestErrors:
    def test_truncated_data_file(self, tmp_path, rng):
        hdr, img = write_raw(tmp_path, rng.random((3, 4, 5)).astype(np.float32), [])
        img.write_bytes(img.read_bytes()[:-7])
        with pytest.raises(FormatError, match=r"233 bytes .* 240 bytes.*truncated"):
            hsi.open(hdr)

    def test_too_long_data_file(self, tmp_path, rng):
        hdr, img = write_raw(tmp_path, rng.random((3, 4, 5)).astype(np.float32), [])
        img.write_bytes(img.read_bytes() + b"\0" * 4)
        with pytest.raises(FormatError, match="244 bytes"):
            hsi.open(hdr)

    def test_unknown_data_type(self, tmp_path, rng):
        hdr, _ = write_raw(tmp_path, rng.random((3, 4, 5)).astype(np.float32), [])
        hdr.write_text(hdr.read_text().replace("data type = 4", "data type = 7"))
        with pytest.raises(FormatError, match=r"raw\.hdr: unknown ENVI data type 7"):
            hsi.open(hdr)

    def test_missing_data_file(self, tmp_path, rng):
        hdr, img = write_raw(tmp_path, rng.random((3, 4, 5)).astype(np.float32), [])
        img.unlink()
        with pytest.raises(HsiIOError, match="data file not found"):
            hsi.open(hdr)

    def test_missing_header(self, tmp_path, rng):
        _, img = write_raw(tmp_path, rng.random((3, 4, 5)).astype(np.float32), [])
        (tmp_path / "raw.hdr").unlink()
        with pytest.raises(HsiIOError, match="without a header"):
            hsi.open(img)

    @pytest.mark.parametrize("wl, match", [("{400, 500}", "expected 3 values"),
                                           ("{400, -500, 450}", "must be positive")])
    def test_bad_wavelengths(self, tmp_path, rng, wl, match):
        hdr, _ = write_raw(tmp_path, rng.random((3, 4, 5)).astype(np.float32),
                           [f"wavelength = {wl}"])
        with pytest.raises(WavelengthError, match=match) as info:
            hsi.open(hdr)
        assert str(hdr) in str(info.value)

    def test_band_order_of_the_file_is_kept(self, tmp_path, rng):
        # AVIRIS's overlapping spectrometers: a band centre lower than the one before it
        data = rng.random((3, 4, 5)).astype(np.float32)
        hdr, _ = write_raw(tmp_path, data, ["wavelength = {696.5, 686.9, 705.0}"])
        cube = hsi.open(hdr)
        np.testing.assert_array_equal(cube.wavelengths, [696.5, 686.9, 705.0])
        np.testing.assert_array_equal(np.asarray(cube.data), data)

    def test_failed_write_leaves_nothing(self, tmp_path, rng):
        import dask
        import dask.array as da

        good = da.from_array(rng.random((1, 5, 7)).astype(np.float32))

        def explode():
            raise OSError("disk read failed")

        bad = da.from_delayed(dask.delayed(explode)(), shape=(1, 5, 7), dtype=np.float32)
        cube = hsi.Cube(da.concatenate([good, good, bad]), wavelengths=[400, 500, 600])
        with pytest.raises(OSError, match="disk read failed"):
            hsi.save(cube, tmp_path / "out.hdr")
        assert list(tmp_path.iterdir()) == []


def test_wavelength_units_that_are_not_a_length_name_the_header(tmp_path):
    import hsi
    from hsi.errors import WavelengthError

    hdr = hsi.save(hsi.Cube(np.zeros((2, 3, 4), np.float32), wavelengths=[500.0, 600.0]),
                   tmp_path / "c.hdr")
    hdr.write_text(hdr.read_text().replace("Nanometers", "Wavenumber"))
    with pytest.raises(WavelengthError, match=r"c\.hdr: wavelength units 'Wavenumber'"):
        hsi.open(hdr)
