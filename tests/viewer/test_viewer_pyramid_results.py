"""Results of docks on a big scene shown as a multiscale pyramid stay pyramids: band math and
true colour (also when the wavelengths miss 460-640 nm) read only the level on screen, and
their level 0 is the full-resolution result."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.io.big_cubes import BIG_SHAPE, BIG_WAVELENGTHS, COLLAR, NODATA, pattern
from tests.viewer.viewer_checks import canvas_std

pytestmark = pytest.mark.gui

WAIT_MS = 60_000
NDVI = "(R860 - R650) / (R860 + R650)"


@pytest.fixture
def reads(monkeypatch):
    """Bytes read at full resolution (``full``) and from decimated levels (``decimated``)."""
    import hsi.io.geotiff as geotiff
    import hsi.io.indexing as indexing

    counts = {"full": [], "decimated": []}
    getitem, read_level = geotiff.GeoTiffArray.__getitem__, indexing.DecimatedView._read

    def count_full(self, key):
        out = getitem(self, key)
        counts["full"].append(out.nbytes)
        return out

    def count_decimated(self, bands, rows, cols):
        out = read_level(self, bands, rows, cols)
        counts["decimated"].append(out.nbytes)
        return out

    monkeypatch.setattr(geotiff.GeoTiffArray, "__getitem__", count_full)
    monkeypatch.setattr(indexing.DecimatedView, "_read", count_decimated)
    return counts


def _clear(reads):
    for v in reads.values():
        v.clear()


def test_band_math_on_a_pyramid_is_a_lazy_pyramid(make_napari_viewer, big_tif, reads, qtbot,
                                                   tmp_path):
    """NDVI of a big scene: a multiscale layer (the same levels, scale and translate as the
    cube), shown at a coarse zoom without a full-resolution read; level 0 is the
    full-resolution index exactly; saving writes full resolution."""
    import hsi
    from hsi.viewer._band_math import evaluate
    from hsi.viewer._convert import full_res

    viewer = make_napari_viewer(show=True)
    cube, rgb = viewer.open(str(big_tif), plugin="hsikit")
    viewer.layers.remove(rgb)
    assert cube.multiscale
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Band math")
    widget.layer_combo.setCurrentText(cube.name)
    widget.set_expression(NDVI)
    _clear(reads)
    widget.compute()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    result = viewer.layers[-1]
    assert result.name == NDVI, widget.status.text()
    cube.visible = False
    assert canvas_std(viewer) > 5  # the index shows, with contrast
    band_bytes = BIG_SHAPE[1] * BIG_SHAPE[2] * 2
    assert sum(reads["full"]) == 0, sum(reads["full"]) / 2**20  # nothing at full resolution
    assert result.multiscale and result.data_level > 0
    assert 0 < sum(reads["decimated"]) < 2 * band_bytes
    assert [level.shape for level in result.data] == [level.shape[1:] for level in cube.data]
    assert tuple(result.scale) == pytest.approx(tuple(cube.scale[1:]))
    assert tuple(result.translate) == pytest.approx(tuple(cube.translate[1:]))
    lo, hi = result.contrast_limits
    assert 0 < lo < hi < 1

    # level 0: the full-resolution index, exactly
    nir, red = (int(np.argmin(np.abs(BIG_WAVELENGTHS - nm))) for nm in (860, 650))
    level0 = np.asarray(result.data[0])
    assert level0.dtype == np.float32 and level0.shape == BIG_SHAPE[1:]
    expected, _ = evaluate(NDVI, np.asarray(full_res(cube.data)), cube.metadata["wavelengths"],
                           NODATA)
    np.testing.assert_array_equal(level0, expected)
    rows, cols = np.arange(BIG_SHAPE[1]), np.arange(BIG_SHAPE[2])
    a, b = (pattern(band, rows, cols).astype(np.float64) for band in (nir, red))
    ndvi = ((a - b) / (a + b)).astype(np.float32)
    ndvi[:COLLAR] = np.nan  # nodata
    np.testing.assert_array_equal(level0, ndvi)
    coarse = np.asarray(result.data[-1])
    np.testing.assert_array_equal(coarse, ndvi[::4, ::4])  # sampled levels, no overviews

    viewer.layers.selection = {result}
    [written] = viewer.layers.save(str(tmp_path / "ndvi.tif"), selected=True, plugin="hsikit")
    back = hsi.open(written)
    assert back.data.shape == (1, *BIG_SHAPE[1:])
    np.testing.assert_array_equal(np.asarray(back.data)[0], ndvi)


def test_band_math_on_a_small_cube_stays_single_scale(make_napari_viewer, sample, qtbot):
    """A cube in memory: one plane in memory, as before."""
    from hsi.viewer._convert import cube_layer_data

    viewer = make_napari_viewer()
    data, attrs, _ = cube_layer_data(sample, name="salinas")
    layer = viewer.add_image(data, **attrs)
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Band math")
    widget.compute()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    result = viewer.layers[-1]
    assert result is not layer and not result.multiscale
    assert isinstance(result.data, np.ndarray) and result.data.shape == sample.data.shape[1:]


@pytest.fixture(scope="module")
def nir_tif(big_tif, tmp_path_factory):
    """The big GeoTIFF with wavelengths 520 ... 1225 nm: true colour not covered (no band
    within 40 nm of 460 nm)."""
    import rasterio

    from hsi.io.geotiff import write_wavelength_tags

    path = tmp_path_factory.mktemp("nir") / "nir.tif"
    shutil.copy(big_tif, path)
    with rasterio.open(path, "r+") as dst:
        write_wavelength_tags(dst, BIG_WAVELENGTHS + 120.0, None)
    return path


def test_true_colour_fallback_on_a_pyramid_stays_lazy(make_napari_viewer, nir_tif, reads):
    """Wavelengths missing 460-640 nm: the True colour dock still makes a lazy multiscale
    composite (bands nearest 640/550/460 nm), shown at a coarse zoom without a
    full-resolution read; level 0 is the full-resolution stretch of those bands."""
    import dask.array as da

    from hsi.cube import Cube
    from hsi.viewer._convert import _stretch_u8, full_res, rgb_band_indices
    from hsi.viewer._widgets import true_colour

    viewer = make_napari_viewer(show=True)
    layers = viewer.open(str(nir_tif), plugin="hsikit")
    assert len(layers) == 1  # no true-colour layer from the reader
    [cube] = layers
    assert cube.multiscale
    wl = np.asarray(cube.metadata["wavelengths"])
    assert rgb_band_indices(Cube(data=np.zeros((48, 1, 1)), wavelengths=wl)) is None
    bands = [int(np.argmin(np.abs(wl - nm))) for nm in (640, 550, 460)]
    assert bands == [8, 2, 0]

    _clear(reads)
    out, attrs, kind = true_colour(cube, 1.0, 99.0)
    assert sum(reads["full"]) == 0, sum(reads["full"]) / 2**20  # nothing at full resolution
    assert kind == "image" and attrs["rgb"] and attrs.get("multiscale")
    assert all(isinstance(level, da.Array) for level in out)
    assert [level.shape for level in out] == [(*level.shape[1:], 3) for level in cube.data]
    assert attrs["scale"] == pytest.approx(tuple(cube.scale[1:]))
    assert attrs["translate"] == pytest.approx(tuple(cube.translate[1:]))
    assert attrs["metadata"]["rgb_bands"] == bands
    assert attrs["metadata"]["rgb_wavelengths"] == [float(wl[b]) for b in bands]
    layer = viewer.add_image(out, **attrs)
    cube.visible = False
    assert canvas_std(viewer) > 5
    assert layer.multiscale and layer.data_level > 0
    band_bytes = BIG_SHAPE[1] * BIG_SHAPE[2] * 2
    assert sum(reads["full"]) == 0, sum(reads["full"]) / 2**20
    assert 0 < sum(reads["decimated"]) < 3 * band_bytes

    # level 0: the full-resolution bands, stretched between percentiles of their values
    level0 = np.asarray(out[0])
    assert level0.dtype == np.uint8 and level0.shape == (*BIG_SHAPE[1:], 3)
    full = np.asarray(full_res(cube.data)[bands])
    for c, plane in enumerate(full):
        values = plane[plane != NODATA].astype(np.float64)
        lo, hi = np.percentile(values, (1.0, 99.0))
        expected = _stretch_u8(plane, lo, hi, NODATA)
        assert np.all(level0[:COLLAR, :, c] == 0)  # nodata black
        diff = np.abs(level0[..., c].astype(int) - expected.astype(int))
        assert diff.max() <= 1, (c, diff.max())  # limits from a sample, not every pixel
    np.testing.assert_array_equal(np.asarray(out[-1]), level0[::4, ::4])
