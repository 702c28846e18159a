"""Big scenes as multiscale pyramids: levels decimated on the fly (or a GeoTIFF's overviews),
so the first view of a big cube reads screen-sized levels, not full-resolution bands."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine

from tests.io.big_cubes import BIG_SHAPE, COLLAR, NODATA, pattern
from tests.viewer.viewer_checks import canvas_std

pytestmark = pytest.mark.gui

MID = (BIG_SHAPE[0] - 1) // 2


def _tiled_tif(path, data, *, overviews=()):
    """``data`` (bands, H, W) int16 as a 16-px-tiled GeoTIFF, with internal overviews."""
    bands, h, w = data.shape
    with rasterio.open(path, "w", driver="GTiff", count=bands, height=h, width=w,
                       dtype="int16", crs="EPSG:32610", tiled=True, blockxsize=16,
                       blockysize=16, transform=Affine(10.0, 0, 500000.0, 0, -10.0, 4100000.0),
                       ) as dst:
        dst.write(data)
        if overviews:
            from rasterio.enums import Resampling

            dst.build_overviews(list(overviews), Resampling.average)
    return path


def _views(tmp_path, data):
    """The GeoTIFF and BSQ/BIL/BIP ENVI file views of ``data``."""
    from hsi.io.envi import read_envi
    from hsi.io.geotiff import read_geotiff
    from hsi.io.indexing import file_view

    cube = read_geotiff(_tiled_tif(tmp_path / "c.tif", data), lazy=True)
    views = {"geotiff": file_view(cube.data)}
    bands, h, w = data.shape
    for interleave, order in (("bsq", (0, 1, 2)), ("bil", (1, 0, 2)), ("bip", (1, 2, 0))):
        hdr = tmp_path / f"c_{interleave}.hdr"
        hdr.write_text(f"ENVI\nsamples = {w}\nlines = {h}\nbands = {bands}\n"
                       f"header offset = 0\nfile type = ENVI Standard\ndata type = 2\n"
                       f"interleave = {interleave}\nbyte order = 0\n")
        np.ascontiguousarray(data.transpose(order), "<i2").tofile(hdr.with_suffix(".img"))
        views[interleave] = file_view(read_envi(hdr, lazy=True).data)
    return views


@pytest.mark.parametrize("factor", [2, 4])
def test_decimated_view_samples_every_factor_th_pixel(tmp_path, factor):
    from hsi.io.indexing import DecimatedView

    rng = np.random.default_rng(3)
    data = rng.integers(-500, 500, (4, 37, 50), dtype=np.int16)
    expected = data[:, ::factor, ::factor][:, :37 // factor, :50 // factor]
    for name, view in _views(tmp_path, data).items():
        assert view is not None, name
        level = DecimatedView(view, factor)
        assert level.shape == expected.shape
        np.testing.assert_array_equal(level[:], expected, err_msg=name)
        np.testing.assert_array_equal(level[2], expected[2], err_msg=name)
        np.testing.assert_array_equal(level[1:3, 2:7, ::3], expected[1:3, 2:7, ::3],
                                      err_msg=name)
        np.testing.assert_array_equal(level[[3, 0], -3:, [1, 4]],
                                      expected[[3, 0]][:, -3:][:, :, [1, 4]], err_msg=name)


def test_coarser_level_is_cut_from_a_kept_plane(tmp_path, monkeypatch):
    """A whole band read at level 1 is kept; level 2 and 4 of that band read nothing more."""
    import hsi.io.indexing as indexing
    from hsi.io.indexing import DecimatedView

    data = np.random.default_rng(5).integers(0, 1000, (3, 64, 80), dtype=np.int16)
    view = _views(tmp_path, data)["geotiff"]
    monkeypatch.setattr(indexing, "_PLANES", indexing.OrderedDict())
    reads = []
    read = type(view)._read

    def counted(self, bands, rows, cols):
        reads.append(bands.size * rows.size * cols.size)
        return read(self, bands, rows, cols)

    monkeypatch.setattr(type(view), "_read", counted)
    np.testing.assert_array_equal(DecimatedView(view, 2)[1], data[1, ::2, ::2])
    assert len(reads) == 1
    for f in (2, 4, 8):
        np.testing.assert_array_equal(DecimatedView(view, f)[1], data[1, ::f, ::f])
        np.testing.assert_array_equal(DecimatedView(view, f)[1, 3:5, 1:4],
                                      data[1, ::f, ::f][3:5, 1:4])
    assert len(reads) == 1  # all cut from the kept level-1 plane
    np.testing.assert_array_equal(DecimatedView(view, 4)[2], data[2, ::4, ::4])
    assert len(reads) == 2  # another band: read
    monkeypatch.setattr(indexing, "PLANE_CACHE_BYTES", 0)  # nothing kept: memory bound
    DecimatedView(view, 2)[0]
    assert len(indexing._PLANES) == 0


def test_decimated_geotiff_reads_its_overviews(tmp_path):
    """Where the file has overviews, a level is the overview (here: averages), read from it."""
    from hsi.io.geotiff import read_geotiff
    from hsi.io.indexing import DecimatedView, file_view

    data = np.random.default_rng(4).integers(0, 1000, (3, 64, 64), dtype=np.int16)
    path = _tiled_tif(tmp_path / "ovr.tif", data, overviews=(2, 4))
    view = file_view(read_geotiff(path, lazy=True).data)
    for i, factor in enumerate((2, 4)):
        with rasterio.open(path, overview_level=i) as src:
            overview = src.read()
        level = DecimatedView(view, factor)[:]
        np.testing.assert_array_equal(level, overview)
        assert not np.array_equal(level, data[:, ::factor, ::factor])


def test_pyramid_only_for_big_lazy_files(big_tif):
    from hsi.io.geotiff import read_geotiff
    from hsi.viewer._convert import cube_layer_data, full_res, pyramid

    small = np.zeros((3, 2000, 2000), np.float32)
    assert pyramid(small)[0] is small and len(pyramid(small)) == 1  # in memory: no file view
    cube = read_geotiff(big_tif, lazy=True, band_chunks=True)
    levels = pyramid(cube.data)
    assert [level.shape for level in levels] == [(48, 2048, 2048), (48, 1024, 1024),
                                                 (48, 512, 512)]
    assert levels[1].chunksize == (1, 1024, 1024)
    np.testing.assert_array_equal(np.asarray(levels[2][7, 100:110, 200:230]),
                                  pattern(7, np.arange(400, 440, 4), np.arange(800, 920, 4)))
    data, attrs, _ = cube_layer_data(cube)
    assert attrs["multiscale"] and full_res(data) is cube.data
    assert len(pyramid(cube.data[:, :1024, :1024])) == 1  # not a file view (cropped)


def test_big_geotiff_opens_as_a_pyramid_in_the_viewer(make_napari_viewer, big_tif,
                                                       monkeypatch, qtbot):
    """The first view and a band change read decimated levels only; zoomed in, napari reads
    full-resolution pixels of the part on screen only. Spectra come from full resolution."""
    import hsi.io.geotiff as geotiff
    import hsi.io.indexing as indexing
    from hsi.viewer._widgets._spectrum import pixel_spectrum

    full, decimated = [], []  # bytes of full-resolution and of pyramid-level reads
    getitem, read_level = geotiff.GeoTiffArray.__getitem__, indexing.DecimatedView._read

    def count_full(self, key):
        out = getitem(self, key)
        full.append(out.nbytes)
        return out

    def count_decimated(self, bands, rows, cols):
        out = read_level(self, bands, rows, cols)
        decimated.append(out.nbytes)
        return out

    monkeypatch.setattr(geotiff.GeoTiffArray, "__getitem__", count_full)
    monkeypatch.setattr(indexing.DecimatedView, "_read", count_decimated)
    viewer = make_napari_viewer(show=True)
    cube, rgb = viewer.open(str(big_tif), plugin="hsikit")
    assert cube.multiscale and rgb.multiscale and cube.data.shape == BIG_SHAPE
    assert canvas_std(viewer) > 5
    assert cube.data_level > 0 and rgb.data_level > 0
    band_bytes = BIG_SHAPE[1] * BIG_SHAPE[2] * 2
    assert full == [] and 0 < sum(decimated) < 3 * band_bytes, sum(decimated) / 2**20

    rgb.visible = False
    decimated.clear()
    viewer.dims.set_current_step(0, 5)
    before = list(cube.contrast_limits)
    qtbot.waitUntil(lambda: list(cube.contrast_limits) != before, timeout=10000)  # worker
    assert viewer.dims.axis_labels[0] == "λ = 475.0 nm"
    assert canvas_std(viewer) > 5
    assert full == [] and sum(decimated) < band_bytes, sum(decimated) / 2**20

    full.clear()
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
    camera.center = (0, *cube.data_to_world((0, 1500, 1500))[1:])
    camera.zoom = 20 * camera.zoom
    qtbot.waitUntil(lambda: cube.data_level == 0, timeout=5000)
    assert canvas_std(viewer) > 1  # 64-px steps of the pattern on screen
    # the part on screen only: one 1024² chunk of the 4 of the band
    assert 0 < sum(full) <= band_bytes / 4, sum(full) / 2**20

    spectrum = pixel_spectrum(cube, 1000, 1000)
    np.testing.assert_array_equal(spectrum.values,
                                  [pattern(b, [1000], [1000])[0, 0] for b in range(48)])
    assert np.all(np.isnan(pixel_spectrum(cube, COLLAR - 1, 5).values))  # nodata
    assert cube.metadata["nodata"] == NODATA


def test_true_colour_dock_on_a_pyramid_stays_lazy(make_napari_viewer, big_tif):
    """The True colour widget on a big scene makes a lazy multiscale composite, stretched
    between the percentiles asked for (from a sample), not a full-resolution array."""
    import dask.array as da

    from hsi.viewer._widgets import true_colour

    viewer = make_napari_viewer()
    cube, rgb = viewer.open(str(big_tif), plugin="hsikit")
    viewer.layers.remove(rgb)
    out, attrs, kind = true_colour(cube, 1.0, 99.0)
    assert kind == "image" and attrs["rgb"] and attrs["multiscale"]
    assert all(isinstance(level, da.Array) for level in out)
    assert [level.shape for level in out] == [(2048, 2048, 3), (1024, 1024, 3), (512, 512, 3)]
    assert attrs["scale"] == pytest.approx(tuple(cube.scale[1:]))
    assert attrs["metadata"]["rgb_wavelengths"] == [640.0, 550.0, 460.0]
    coarse = np.asarray(out[2])
    assert coarse.dtype == np.uint8 and np.all(coarse[:COLLAR // 4] == 0)  # nodata black
    assert coarse[COLLAR // 4:].std() > 10
    layer = viewer.add_image(out, **attrs)
    assert layer.multiscale and layer.name == f"{cube.name} true colour"


def test_writers_save_a_pyramid_at_full_resolution(tmp_path):
    """Ctrl-S on a multiscale cube or true-colour layer writes level 0, not a level napari
    happens to show (``np.asarray`` of napari's multiscale data is its coarsest level)."""
    from napari.layers._multiscale_data import MultiScaleData

    import hsi
    from hsi.io.geotiff import read_geotiff
    from hsi.viewer._convert import cube_layer_data, true_colour_layer_data
    from hsi.viewer._writer import write_image

    data = np.random.default_rng(6).integers(0, 1000, (3, 1100, 1040), dtype=np.int16)
    path = _tiled_tif(tmp_path / "wide.tif", data)
    with rasterio.open(path, "r+") as dst:
        from hsi.io.geotiff import write_wavelength_tags

        write_wavelength_tags(dst, [460.0, 550.0, 640.0], None)
    cube = read_geotiff(path, lazy=True, band_chunks=True)
    levels, attrs, _ = cube_layer_data(cube)
    assert attrs["multiscale"] and len(levels) == 3
    [written] = write_image(str(tmp_path / "out.tif"), MultiScaleData(levels), attrs)
    back = hsi.open(written)
    np.testing.assert_array_equal(np.asarray(back.data), data)
    np.testing.assert_allclose(back.wavelengths, [460.0, 550.0, 640.0])
    rgbs, rgb_attrs, _ = true_colour_layer_data(cube)
    [written] = write_image(str(tmp_path / "rgb.tif"), MultiScaleData(rgbs), rgb_attrs)
    assert hsi.open(written).data.shape == (3, 1100, 1040)
