"""Cubes with EMPTY bands in a real viewer (Xvfb): bands with no valid value anywhere (all NaN,
or all the file's nodata value −9999), as EnMAP, PRISMA or AVIRIS products hold in
water-absorption windows, written by ``hsi.save`` as GeoTIFF and ENVI.

Before: the first view's contrast came from napari (spanning −9999 when the band napari shows
first was a nodata band), the band slider started on that empty middle band (a blank image),
the true-colour layer and the True colour dock showed a black red channel when the band
nearest 640 nm was empty, and band math on an empty band gave a blank layer without a word.
Now: the slider starts on the band with data nearest the middle one, with its contrast; an
empty band reached with the slider shows blank with finite contrast limits, true colour uses
the nearest band with data (one warning line), and band math says which band is empty.
Spectra and ROI spectra show gaps (NaN), never zeros."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

import hsi
from hsi.cube import Cube
from tests.viewer.viewer_checks import canvas_std

pytestmark = pytest.mark.gui

WAIT_MS = 30_000
#: 20 bands; red (640 nm, index 4) and the middle band, where napari puts the slider (index 9,
#: 860 nm), empty. The band with data nearest it: 8 (800 nm; 10 is 940 nm).
WL = np.array([450, 500, 550, 600, 640, 660, 700, 760, 800, 860, 940, 1100, 1250, 1400, 1500,
               1650, 1800, 1900, 2100, 2300], dtype=np.float64)
RED, MID = 4, 9
EMPTY = [RED, MID]
NODATA = -9999.0


def _cube(fill: str) -> tuple[Cube, np.ndarray]:
    """A georeferenced float32 cube of 20 × 40 × 50 values in 0.1-0.5, bands 4 and 9 empty
    (NaN, or −9999 with nodata −9999)."""
    data = np.random.default_rng(0).uniform(0.1, 0.5, (20, 40, 50)).astype(np.float32)
    data[EMPTY] = np.nan if fill == "nan" else NODATA
    cube = Cube(data, wavelengths=WL, nodata=None if fill == "nan" else NODATA,
                transform=(10.0, 0, 500000.0, 0, -10.0, 4100000.0), crs="EPSG:32610",
                name="scene")
    return cube, data


def _percentiles(plane: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(plane.astype(np.float64), [2.0, 98.0])
    return float(lo), float(hi)


def _hsi_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("hsi") and r.levelno >= logging.WARNING]


@pytest.fixture(params=["nan-tif", "nodata-tif", "nan-hdr", "nodata-hdr"])
def opened(request, make_napari_viewer, tmp_path, caplog):
    """(viewer, cube layer, true-colour layer, data, warnings) of the cube written by
    ``hsi.save`` and opened through the plugin's reader."""
    fill, ext = request.param.split("-")
    cube, data = _cube(fill)
    path = hsi.save(cube, tmp_path / f"scene.{ext}")
    viewer = make_napari_viewer(show=True)
    with caplog.at_level(logging.WARNING), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no "All-NaN slice" and the like
        layers = viewer.open(str(path), plugin="hsikit")
    assert len(layers) == 2, layers
    return viewer, layers[0], layers[1], data, _hsi_warnings(caplog)


def test_first_view_slider_and_true_colour(opened, qtbot):
    viewer, layer, rgb, data, told = opened
    # the first view: not band 9 (empty, a blank image) but the nearest band with data (8),
    # with its contrast, not napari's own limits (spanning −9999 in the nodata files)
    assert viewer.dims.current_step[0] == MID - 1
    assert viewer.dims.axis_labels[0] == "λ = 800.0 nm"
    assert layer.metadata["first_band"] == MID - 1
    assert tuple(layer.contrast_limits) == pytest.approx(_percentiles(data[MID - 1]), rel=1e-6)
    # true colour: red from 660 nm (band 5), the band with data nearest 640 nm
    assert rgb.metadata["rgb_bands"] == [RED + 1, 2, 0]
    assert rgb.metadata["rgb_wavelengths"] == [660.0, 550.0, 450.0]
    red = np.asarray(rgb.data)[..., 0].astype(np.float64)
    lo, hi = _percentiles(data[RED + 1])
    want = np.clip((data[RED + 1] - lo) * (255.0 / (hi - lo)), 0, 255)
    np.testing.assert_allclose(red, want.astype(np.uint8), atol=1)
    assert red.std() > 40
    assert len(told) == 1, told  # one line, naming the band replaced and its replacement
    assert told[0].endswith(": true colour: red band 5 (640 nm) has no valid value, band 6 "
                            "(660 nm) used instead"), told

    # the cube alone on the canvas: the first band shows, its contrast kept (it is the
    # reader's); an empty band is blank, the slider reaches the others
    rgb.visible = False
    qtbot.wait(100)
    assert canvas_std(viewer) > 40
    assert tuple(layer.contrast_limits) == pytest.approx(_percentiles(data[MID - 1]), rel=1e-6)
    assert layer.metadata["band_contrast"]  # not taken for limits set by hand
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        viewer.dims.set_current_step(0, 3)
        qtbot.waitUntil(lambda: tuple(layer.contrast_limits) == pytest.approx(
            _percentiles(data[3]), rel=1e-6), timeout=WAIT_MS)
        qtbot.wait(100)
        assert canvas_std(viewer) > 40
        before = tuple(layer.contrast_limits)
        viewer.dims.set_current_step(0, RED)  # onto an empty band: blank, limits kept
        qtbot.wait(300)
        assert tuple(layer.contrast_limits) == pytest.approx(before)
        assert np.all(np.isfinite(layer.contrast_limits))
        assert canvas_std(viewer) == 0.0


def test_spectrum_and_roi_spectra_have_gaps(opened, qtbot):
    """A pixel's spectrum and a region's mean spectrum are NaN (a gap in the plotted line) in
    the empty bands, the values elsewhere; the plot renders without a warning."""
    viewer, layer, _, data, _ = opened
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Spectrum")
    widget.layer_combo.select(layer)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        spec = widget.show_pixel(7, 11)
        assert np.isnan(spec.values[EMPTY]).all()
        keep = np.setdiff1d(np.arange(20), EMPTY)
        np.testing.assert_array_equal(spec.values[keep], data[keep, 7, 11].astype(np.float64))
        line = next(ln for ln in widget.axes.get_lines() if ln.get_label() == spec.label)
        assert np.isnan(np.asarray(line.get_ydata(), dtype=float)[EMPTY]).all()  # a gap
        widget.canvas.draw()

        shapes = viewer.add_shapes([np.array([[2, 3], [2, 20], [15, 20], [15, 3]])],
                                   shape_type="rectangle", scale=layer.scale[1:],
                                   translate=layer.translate[1:])
        widget.roi_combo.select(shapes)
        qtbot.waitUntil(lambda: not widget.roi_job.running and not widget._roi_timer.isActive()
                        and len(widget.rois) == 1, timeout=WAIT_MS)
        roi = widget.rois[0]
        assert np.isnan(roi.mean[EMPTY]).all() and np.isnan(roi.std[EMPTY]).all()
        assert roi.count[EMPTY].tolist() == [0, 0]
        np.testing.assert_allclose(roi.mean[keep],
                                   data[keep, 2:16, 3:21].astype(np.float64).mean(axis=(1, 2)),
                                   rtol=1e-6)
        widget.canvas.draw()
    assert not widget.roi_status.text().startswith("error")


def test_band_math_on_an_empty_band_says_so(opened, qtbot):
    """NDVI with an empty 860 nm band: a NaN layer with finite contrast and a status line
    naming the empty band; an index of bands with data: no such note, values computed."""
    viewer, layer, _, data, _ = opened
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Band math")
    widget.layer_combo.select(layer)
    for expression, empty in (("(R860 - R660) / (R860 + R660)", True),
                              ("(R800 - R660) / (R800 + R660)", False)):
        widget.set_expression(expression)
        widget.compute()
        qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
        qtbot.waitUntil(lambda e=expression: widget.result_layer is not None
                        and widget.result_layer.name == e, timeout=WAIT_MS)
        result = np.asarray(widget.result_layer.data)
        assert np.all(np.isfinite(widget.result_layer.contrast_limits))
        status = widget.status.text()
        if empty:
            assert np.isnan(result).all()
            assert status.endswith("; no valid value (all NaN or nodata) in R860 → band 9 "
                                   "(860.0 nm): the result is NaN where it is used"), status
            assert widget.result_layer.metadata["empty_bands"] == [MID]
        else:
            nir, red = data[8].astype(np.float64), data[5].astype(np.float64)
            np.testing.assert_allclose(result, (nir - red) / (nir + red), rtol=1e-5)
            assert "no valid value" not in status, status


def test_true_colour_dock_uses_the_nearest_band_with_data(opened, caplog):
    from hsi.viewer._widgets._true_colour import true_colour

    _, layer, _, data, _ = opened
    with caplog.at_level(logging.WARNING):
        rgb, attrs, _ = true_colour(layer)
    assert attrs["metadata"]["rgb_bands"] == [RED + 1, 2, 0]
    assert attrs["metadata"]["rgb_wavelengths"] == [660.0, 550.0, 450.0]
    lo, hi = _percentiles(data[RED + 1])
    np.testing.assert_allclose(rgb[..., 0], np.clip((data[RED + 1] - lo) / (hi - lo), 0, 1),
                               atol=1e-5)
    assert len([m for m in _hsi_warnings(caplog) if "true colour" in m]) == 1


def test_lazy_cube_first_contrast_from_the_nearest_band_with_data():
    """A lazy (dask) cube whose middle band is nodata: the first contrast reads the band
    shown and its nearest neighbour with data only, and comes from that neighbour."""
    import dask.array as da

    from hsi.viewer._convert import cube_layer_data

    cube, data = _cube("nodata")
    lazy = cube.with_data(da.from_array(data, chunks=(1, 40, 50)))
    _, attrs, _ = cube_layer_data(lazy)
    assert attrs["contrast_limits"] == pytest.approx(_percentiles(data[MID - 1]), rel=1e-6)
    assert attrs["metadata"]["first_band"] == MID - 1
    every = cube.with_data(np.full_like(data, NODATA))  # no band with data at all
    assert cube_layer_data(every)[1]["contrast_limits"] == (0.0, 1.0)
    assert cube_layer_data(every)[1]["metadata"]["first_band"] == MID  # napari's own


def test_first_band_is_the_nearest_with_data_by_wavelength_else_by_index():
    """Middle band 9 empty: with wavelengths, the band nearest 860 nm (10 at 870 nm, not 8 at
    780 nm); without, the nearest index (8 before 10); a middle band with data is kept."""
    from hsi.viewer._convert import cube_layer_data

    cube, data = _cube("nan")
    wl = WL.copy()
    wl[MID - 1], wl[MID + 1] = 780.0, 870.0
    first = cube_layer_data(cube.with_data(data, wavelengths=wl))[1]
    assert first["metadata"]["first_band"] == MID + 1
    assert first["contrast_limits"] == pytest.approx(_percentiles(data[MID + 1]), rel=1e-6)
    unnamed = Cube(data, nodata=None, name="scene")  # no wavelengths
    assert cube_layer_data(unnamed)[1]["metadata"]["first_band"] == MID - 1
    full = np.random.default_rng(1).uniform(0.1, 0.5, (20, 40, 50)).astype(np.float32)
    assert cube_layer_data(cube.with_data(full))[1]["metadata"]["first_band"] == MID


def test_an_opened_cube_leaves_a_slider_other_layers_set(make_napari_viewer, tmp_path, qtbot):
    """The slider starts on the first band with data only when the cube is the viewer's first
    layer (where napari centres it): with a layer there already, it is left where it is."""
    cube, _ = _cube("nan")
    path = hsi.save(cube, tmp_path / "scene.tif")
    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.ones((20, 40, 50), np.float32), name="first")
    viewer.dims.set_current_step(0, MID)
    layer = viewer.open(str(path), plugin="hsikit")[0]
    qtbot.wait(100)
    assert layer.metadata["first_band"] == MID - 1
    assert viewer.dims.current_step[0] == MID
