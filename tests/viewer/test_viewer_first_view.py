"""Opening a cube as an analyst would: big files stay lazy, a readable first view, and the
band slider names its wavelength."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import rasterio
from affine import Affine

from tests.io.big_cubes import (
    BIG_SHAPE,
    BIG_WAVELENGTHS,
    COLLAR,
    NODATA,
    ReadCounter,
    pattern,
)
from tests.viewer.viewer_checks import SAMPLE_TRANSFORM, canvas_std

pytestmark = pytest.mark.gui

BAND_BYTES = BIG_SHAPE[1] * BIG_SHAPE[2] * 2
FILE_BYTES = BIG_SHAPE[0] * BAND_BYTES
MID = (BIG_SHAPE[0] - 1) // 2  # the band napari shows first


def small_tif(path, bands: int, wavelengths, *, collar: int = 0, seed: int = 0,
              transform=(10.0, 0, 500000.0, 0, -10.0, 4100000.0)):
    """A float32 GeoTIFF of ``bands`` × 40 × 50 values in 0.1-0.5, nodata −9999 in the top
    ``collar`` rows, wavelengths in the IMAGERY domain."""
    from hsi.io.geotiff import write_wavelength_tags

    data = np.random.default_rng(seed).uniform(0.1, 0.5, (bands, 40, 50)).astype(np.float32)
    data[:, :collar] = NODATA
    with rasterio.open(path, "w", driver="GTiff", count=bands, height=40, width=50,
                       dtype="float32", crs="EPSG:32610", nodata=NODATA,
                       transform=Affine(*transform)) as dst:
        dst.write(data)
        write_wavelength_tags(dst, wavelengths, None)
    return path, data


def test_reader_on_a_big_geotiff_reads_a_few_bands(big_tif, monkeypatch):
    """Open, contrast, first frame and true colour of a 384 MiB file: a handful of bands read,
    peak (Python-tracked) memory under 15 % of the file. 2048 pixels a side: a pyramid."""
    import dask.array as da

    from hsi.viewer._reader import read_cube

    reads = ReadCounter(monkeypatch)
    tracemalloc.start()
    try:
        (levels, attrs, _), (rgbs, rgb_attrs, _) = read_cube(str(big_tif))
        data, rgb = levels[0], rgbs[0]
        frame = np.asarray(data[MID])
        colour = np.asarray(rgb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert attrs["multiscale"] and rgb_attrs["multiscale"]
    assert [level.shape[1:] for level in levels] == [(2048, 2048), (1024, 1024), (512, 512)]
    assert [level.shape[:2] for level in rgbs] == [(2048, 2048), (1024, 1024), (512, 512)]
    assert isinstance(data, da.Array) and data.chunksize == (1, 1024, 1024)
    assert isinstance(rgb, da.Array) and colour.shape == (*BIG_SHAPE[1:], 3)
    assert colour.dtype == np.uint8
    np.testing.assert_array_equal(frame, pattern(MID, np.arange(2048), np.arange(2048)))
    # contrast sample (1 band, coarsest level) + true-colour samples (3, coarsest level) +
    # first frame (1) + true colour (3)
    assert reads.bytes <= 8 * BAND_BYTES, reads.bytes / 2**20
    assert peak < 0.15 * FILE_BYTES, peak / 2**20
    # contrast from the band shown, nodata (the collar) left out
    valid = frame[frame != NODATA].astype(np.float64)
    assert attrs["contrast_limits"] == pytest.approx(tuple(np.percentile(valid, [2, 98])), abs=2)
    assert rgb_attrs["metadata"]["rgb_wavelengths"] == [640.0, 550.0, 460.0]
    assert np.all(colour[:64] == 0) and colour[64:].std() > 10  # nodata collar black


def test_reader_on_a_big_envi_stays_lazy_by_band(big_envi):
    import dask.array as da

    from hsi.viewer._reader import read_cube

    tracemalloc.start()
    try:
        layers = read_cube(str(big_envi))
        frame = np.asarray(layers[0][0][0][MID])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    levels, attrs, _ = layers[0]
    data = levels[0]
    assert attrs["multiscale"] and [level.shape[1] for level in levels] == [2048, 1024, 512]
    assert isinstance(data, da.Array) and data.chunksize == (1, 512, 2048)
    assert frame.shape == BIG_SHAPE[1:] and np.all(frame[100:102] == MID + 1)
    assert attrs["metadata"]["nodata"] == NODATA
    assert len(layers) == 2 and isinstance(layers[1][0][0], da.Array)  # lazy true colour
    assert peak < 0.15 * FILE_BYTES, peak / 2**20


def test_viewer_opens_a_big_geotiff_band_by_band(make_napari_viewer, big_tif, monkeypatch,
                                                  qtbot):
    """In a real viewer: opening reads a few bands, moving the slider reads one more."""
    viewer = make_napari_viewer(show=True)
    reads = ReadCounter(monkeypatch)
    cube, rgb = viewer.open(str(big_tif), plugin="hsikit")
    assert canvas_std(viewer) > 5
    # the reader's 8 bands (see above) + band 0, which napari slices before it centres the
    # slider: 72 of 384 MiB
    assert reads.bytes <= 9 * BAND_BYTES, reads.bytes / 2**20
    assert viewer.dims.current_step[0] == MID
    assert viewer.dims.axis_labels[0] == f"λ = {BIG_WAVELENGTHS[MID]:.1f} nm"

    qtbot.wait(50)  # the deferred contrast check: nothing to do, the reader's limits hold
    assert reads.bytes <= 9 * BAND_BYTES, reads.bytes / 2**20

    rgb.visible = False
    reads.reset()
    viewer.dims.set_current_step(0, 5)
    assert viewer.dims.axis_labels[0] == "λ = 475.0 nm"
    # from the pyramid's coarsest level (every 4th pixel), collar left out
    rows = np.arange(0, 2048, 4)
    band = pattern(5, rows[rows >= COLLAR], rows).astype(float)
    expected = list(np.percentile(band, [2, 98]))
    qtbot.waitUntil(lambda: cube.contrast_limits == pytest.approx(expected), timeout=5000)
    assert canvas_std(viewer) > 5
    # the band shown + a strided read of it for its contrast
    assert reads.bytes <= 2 * BAND_BYTES, reads.bytes / 2**20

    cube.contrast_limits = (0.0, 100.0)  # by hand: kept when the band changes
    viewer.dims.set_current_step(0, 6)
    qtbot.wait(50)
    assert cube.contrast_limits == [0.0, 100.0]


def test_nodata_collar_first_view(make_napari_viewer, tmp_path):
    """Contrast from the shown band without −9999; the collar is black in true colour and
    its pixels' spectra are NaN (not plotted)."""
    from hsi.viewer._widgets._spectrum import pixel_spectrum

    wl = 400.0 + 50.0 * np.arange(10)  # 450, 550 and 650 nm are there
    path, data = small_tif(tmp_path / "collar.tif", 10, wl, collar=8)
    viewer = make_napari_viewer(show=True)
    cube, rgb = viewer.open(str(path), plugin="hsikit")
    assert isinstance(cube.data, np.ndarray)  # small: in memory
    shown = viewer.dims.current_step[0]
    assert shown == 4
    expected = np.percentile(data[shown, 8:], [2, 98])
    assert cube.contrast_limits == pytest.approx(list(expected), rel=1e-5)
    assert rgb.rgb and rgb.metadata["rgb_wavelengths"] == [650.0, 550.0, 450.0]
    shot = np.asarray(rgb.data)
    assert np.all(shot[:8] == 0) and shot[8:].mean() > 50
    assert np.all(np.isnan(pixel_spectrum(cube, 3, 10).values))
    np.testing.assert_allclose(pixel_spectrum(cube, 20, 10).values, data[:, 20, 10],
                               rtol=1e-6)
    assert canvas_std(viewer) > 5


def test_layers_with_different_band_counts_stay_visible(make_napari_viewer, sample_tif,
                                                        tmp_path):
    """A 4-band MSI opened beside a 204-band cube gets its own true-colour layer, which
    stays on screen wherever the band slider is; the label follows the active cube."""
    msi_path, _ = small_tif(tmp_path / "msi.tif", 4, [490.0, 560.0, 665.0, 842.0], seed=1,
                            transform=SAMPLE_TRANSFORM)  # on the sample's ground
    viewer = make_napari_viewer(show=True)
    hsi_cube, hsi_rgb = viewer.open(str(sample_tif), plugin="hsikit")
    msi_cube, msi_rgb = viewer.open(str(msi_path), plugin="hsikit")
    assert msi_rgb.ndim == 2 and msi_rgb.rgb
    for layer in (hsi_cube, hsi_rgb, msi_cube):
        layer.visible = False
    viewer.dims.set_current_step(0, 150)  # far above the MSI's 4 bands
    assert canvas_std(viewer) > 5
    viewer.layers.selection.active = msi_cube
    assert viewer.dims.axis_labels[0] == "λ = 842.0 nm"  # band 150 clamped to its last
    viewer.layers.selection.active = hsi_cube
    wl = hsi_cube.metadata["wavelengths"][150]
    assert viewer.dims.axis_labels[0] == f"λ = {wl:.1f} nm"


def test_cube_without_wavelengths_has_band_label_and_no_rgb(make_napari_viewer, tmp_path):
    path = tmp_path / "bare.tif"
    data = np.random.default_rng(0).random((5, 20, 30)).astype(np.float32)
    with rasterio.open(path, "w", driver="GTiff", count=5, height=20, width=30,
                       dtype="float32") as dst:
        dst.write(data)
    viewer = make_napari_viewer(show=True)
    [cube] = viewer.open(str(path), plugin="hsikit")
    assert viewer.dims.axis_labels[0] == "band"
    assert cube.contrast_limits == pytest.approx(list(np.percentile(data[2], [2, 98])))


def test_fusion_pair_msi_stays_on_screen_above_its_bands(make_napari_viewer):
    """The simulated pair: the 13-band HR-MSI as a band layer shows nothing with the slider on
    HSI band 150; its own true-colour layer (on top, its band layer hidden) shows it there."""
    viewer = make_napari_viewer(show=True)
    ref, lr, hr, hr_rgb = viewer.open_sample("hsikit", "fusion_pair")
    viewer.dims.set_current_step(0, 150)
    for layer in (ref, lr, hr):
        layer.visible = False
    assert hr_rgb.visible and canvas_std(viewer) > 5
    shot = np.asarray(viewer.screenshot(canvas_only=True, flash=False))[..., :3].astype(float)
    assert np.abs(shot[..., 0] - shot[..., 2]).mean() > 1  # in colour
    hr_rgb.visible = False
    hr.visible = True  # the MSI's band layer alone: past its last band, nothing on screen
    assert canvas_std(viewer) < 1
