"""Spectrum dock in a real viewer (Xvfb): ROI spectra from Shapes and Labels layers, pinned
pixels marked on the canvas, export of the spectra to CSV."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from tests.viewer.viewer_checks import SliceRecorder, colors_present

pytestmark = pytest.mark.gui

WAIT_MS = 30_000


def _cube_layer(viewer, cube, name="cube"):
    from hsi.viewer._convert import cube_layer_data

    data, attrs, _ = cube_layer_data(cube, name=name)
    return viewer.add_image(data, **attrs)


def _world(layer, rc) -> np.ndarray:
    """World ``(y, x)`` of cube pixels ``rc (n, 2)``."""
    return np.array([layer.data_to_world((0, r, c))[-2:] for r, c in rc])


def _corners(r0: float, c0: float, r1: float, c1: float) -> np.ndarray:
    """The four vertices of a rectangle with opposite corners ``(r0, c0)``, ``(r1, c1)``."""
    return np.array([[r0, c0], [r0, c1], [r1, c1], [r1, c0]], dtype=np.float64)


def _wait_rois(qtbot, widget, n: int | None = None) -> None:
    def done() -> bool:
        return not widget.roi_job.running and not widget._roi_timer.isActive() and (
            n is None or len(widget.rois) == n)

    qtbot.waitUntil(done, timeout=WAIT_MS)


def _plot_pixels(widget) -> np.ndarray:
    """The spectrum plot as rendered (H, W, 3) 0-255."""
    widget.canvas.draw()
    return np.asarray(widget.canvas.buffer_rgba())[..., :3].astype(int)


def _colour_in(image: np.ndarray, rgb01, tol: int = 6, min_pixels: int = 30) -> bool:
    target = np.round(np.asarray(rgb01) * 255)
    return int((np.abs(image - target).max(axis=-1) <= tol).sum()) >= min_pixels


def _expected(data: np.ndarray, mask: np.ndarray, nodata=None):
    values = data[:, mask].astype(np.float64)
    if nodata is not None:
        values = np.where(values == nodata, np.nan, values)
    return np.nanmean(values, axis=1), np.nanstd(values, axis=1)


def test_roi_spectra_from_shapes(make_napari_viewer, qtbot, sample):
    """A rectangle, a polygon and an ellipse give their pixels' mean ± std spectra, plotted
    against wavelength; a new shape is measured too; shapes on a slice of a 3-D layer (napari's
    *new shapes* button) and shapes in world (map) coordinates work alike."""
    from napari.layers import Shapes

    viewer = make_napari_viewer(show=True)
    layer = _cube_layer(viewer, sample, "salinas")
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Spectrum")
    rect_px = np.array([[10, 30], [10, 45], [20, 45], [20, 30]])
    tri_px = np.array([[40, 10], [70, 10], [40, 50]])
    ell_px = np.array([[50, 55], [50, 75], [70, 75], [70, 55]])  # bounding box corners
    # on the cube's grid (3.7 m pixels, UTM offset), as napari makes a layer from the cube
    shapes = viewer.add_shapes([rect_px, tri_px, ell_px], shape_type=["rectangle", "polygon",
                                                                      "ellipse"],
                               scale=layer.scale[1:], translate=layer.translate[1:],
                               name="rois", face_color="transparent", edge_color="yellow")
    assert widget.roi_combo.currentText() == "(none)" and widget.rois == []
    widget.roi_combo.select(shapes)
    _wait_rois(qtbot, widget, 3)

    cube = np.asarray(sample.data)
    rect = np.zeros((83, 86), bool)
    rect[10:21, 30:46] = True  # pixel centres on or inside the rectangle
    oracle = Shapes([tri_px, ell_px], shape_type=["polygon", "ellipse"]).to_masks((83, 86))
    by_name = {roi.name: roi for roi in widget.rois}
    assert list(by_name) == ["roi_1", "roi_2", "roi_3"]
    for name, mask in zip(by_name, [rect, *oracle], strict=True):
        roi = by_name[name]
        mean, std = _expected(cube, mask)
        assert roi.pixels == mask.sum() > 50
        np.testing.assert_allclose(roi.mean, mean, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(roi.std, std, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(roi.x, sample.wavelengths)

    # the plot: one mean line per region against wavelength, a shaded ± std band, labelled axes
    ax = widget.axes
    lines = [ln for ln in ax.get_lines() if str(ln.get_label()).startswith("ROI")]
    assert [str(ln.get_label()).split(" ±")[0] for ln in lines] == [
        "ROI 1 (rectangle)", "ROI 2 (polygon)", "ROI 3 (ellipse)"]
    np.testing.assert_allclose(lines[0].get_xdata(), sample.wavelengths)
    np.testing.assert_allclose(lines[0].get_ydata(), by_name["roi_1"].mean)
    assert len(ax.collections) == 3  # the std bands
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].max() == pytest.approx(np.max(by_name["roi_1"].mean + by_name["roi_1"].std))
    assert ax.get_xlabel() == "wavelength (nm)" and ax.get_ylabel() == "reflectance"
    shot = _plot_pixels(widget)
    assert all(_colour_in(shot, roi.color) for roi in widget.rois)

    # drawing one more shape measures it (after a short pause)
    shapes.add_rectangles(np.array([[60, 5], [75, 20]]))
    _wait_rois(qtbot, widget, 4)
    assert widget.rois[-1].name == "roi_4" and widget.rois[-1].pixels == 16 * 16

    # a rectangle drawn on band 100 of a 3-D shapes layer counts by its (y, x) outline
    flat = viewer.add_shapes(ndim=3, scale=layer.scale, translate=layer.translate)
    flat.add_rectangles(np.column_stack([np.full(4, 100.0), _corners(10, 30, 20, 45)]))
    widget.roi_combo.select(flat)
    _wait_rois(qtbot, widget, 1)
    np.testing.assert_allclose(widget.rois[0].mean, by_name["roi_1"].mean, rtol=1e-6)

    # in world coordinates (map units); edges between pixel centres, as a user draws them
    world = viewer.add_shapes(_world(layer, _corners(9.5, 29.5, 20.5, 45.5))[None],
                              shape_type="rectangle")
    widget.roi_combo.select(world)
    _wait_rois(qtbot, widget, 1)
    np.testing.assert_allclose(widget.rois[0].mean, by_name["roi_1"].mean, rtol=1e-6)

    widget.roi_combo.setCurrentText("(none)")
    assert widget.rois == [] and not ax.collections



def test_roi_spectra_of_a_pyramid_layer(make_napari_viewer, qtbot, sample):
    """A big cube opens as a multiscale pyramid (napari's ``MultiScaleData``, which takes no
    tuple index): its ROI spectra are read from the full-resolution level."""
    from hsi.viewer._convert import cube_layer_data

    viewer = make_napari_viewer(show=True)
    data, attrs, _ = cube_layer_data(sample, name="salinas")
    layer = viewer.add_image([data, data[:, ::2, ::2]], **{**attrs, "multiscale": True})
    assert layer.multiscale
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Spectrum")
    shapes = viewer.add_shapes([_corners(10, 30, 20, 45)], shape_type="rectangle",
                               scale=layer.scale[1:], translate=layer.translate[1:])
    widget.roi_combo.select(shapes)
    _wait_rois(qtbot, widget, 1)
    rect = np.zeros((83, 86), bool)
    rect[10:21, 30:46] = True
    mean, _ = _expected(np.asarray(sample.data), rect)
    assert widget.rois[0].pixels == rect.sum()
    np.testing.assert_allclose(widget.rois[0].mean, mean, rtol=1e-6, atol=1e-9)
    assert not widget.roi_status.text().startswith("error")

def test_roi_spectra_from_labels_skip_nodata(make_napari_viewer, qtbot):
    """Each label value is a region; nodata pixels inside it are left out, band by band; the y
    axis names the cube's units; a labels layer on a coarser grid maps by ground position."""
    from hsi.cube import Cube

    rng = np.random.default_rng(0)
    data = rng.uniform(0.1, 0.5, (6, 30, 40)).astype(np.float32)
    data[:, 2:4, 5:9] = -9999  # nodata inside label 1
    data[3, 10, 12] = -9999  # one band of one pixel of label 1
    wl = np.linspace(450, 950, 6)
    cube = Cube(data, wavelengths=wl, nodata=-9999, name="scene",
                transform=(10.0, 0, 500000.0, 0, -10.0, 4100000.0), crs="EPSG:32610",
                metadata={"units": "µW cm⁻² sr⁻¹ nm⁻¹", "quantity": "radiance"})
    viewer = make_napari_viewer(show=True)
    layer = _cube_layer(viewer, cube)
    labels = np.zeros((30, 40), np.int32)
    labels[0:15, 0:20] = 1
    labels[20:30, 25:40] = 7
    lab = viewer.add_labels(labels, scale=layer.scale[1:], translate=layer.translate[1:],
                            metadata={"class_names": {1: "water", 7: "soil"}}, name="classes")
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Spectrum")
    widget.roi_combo.select(lab)
    _wait_rois(qtbot, widget, 2)
    water, soil = widget.rois
    assert (water.name, water.label) == ("label_1", "label 1 · water")
    assert (soil.name, soil.label) == ("label_7", "label 7 · soil")
    for roi, value in ((water, 1), (soil, 7)):
        mean, std = _expected(data, labels == value, nodata=-9999)
        np.testing.assert_allclose(roi.mean, mean, rtol=1e-6)
        np.testing.assert_allclose(roi.std, std, rtol=1e-5)
        assert np.all(roi.mean > 0.1) and np.all(roi.mean < 0.5)  # no −9999 pulled in
        assert roi.color == pytest.approx(tuple(lab.get_color(value)[:3]))
    assert water.count[0] == 15 * 20 - 8 and water.count[3] == 15 * 20 - 9
    assert widget.axes.get_ylabel() == "radiance (µW cm⁻² sr⁻¹ nm⁻¹)"

    # painting updates the spectra
    lab.paint((25, 5), 3)
    _wait_rois(qtbot, widget, 3)
    assert [r.name for r in widget.rois] == ["label_1", "label_3", "label_7"]

    # the same classes on a 2x coarser grid (20 m pixels over the 10 m cube)
    coarse = np.zeros((15, 20), np.int32)
    coarse[0:5, 0:10] = 1
    lab2 = viewer.add_labels(coarse, scale=(20.0, 20.0),
                             translate=tuple(np.asarray(layer.translate[1:]) + 5.0))
    widget.roi_combo.select(lab2)
    _wait_rois(qtbot, widget, 1)
    mask = np.zeros((30, 40), bool)
    mask[0:10, 0:20] = True
    np.testing.assert_allclose(widget.rois[0].mean, _expected(data, mask, -9999)[0], rtol=1e-6)


def test_roi_reads_only_the_bounding_box(make_napari_viewer, qtbot):
    """On a lazy (dask) cube a small rectangle reads the chunks its bounding box touches."""
    import dask.array as da

    from hsi.cube import Cube

    data = np.random.default_rng(1).random((8, 128, 128)).astype(np.float32)
    recorder = SliceRecorder(data, "roi-window")
    cube = Cube(da.from_array(recorder, chunks=(1, 32, 32)), wavelengths=np.arange(8) * 50 + 450)
    viewer = make_napari_viewer(show=True)
    layer = _cube_layer(viewer, cube)
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Spectrum")
    shapes = viewer.add_shapes(_corners(70, 40, 80, 60)[None], shape_type="rectangle",
                               scale=layer.scale[1:], translate=layer.translate[1:])
    qtbot.wait(200)
    recorder.keys.clear()
    widget.roi_combo.select(shapes)
    _wait_rois(qtbot, widget, 1)
    rows = [k[1] for k in recorder.keys]
    cols = [k[2] for k in recorder.keys]
    assert recorder.keys and all(64 <= r.start and r.stop <= 96 for r in rows)
    assert all(32 <= c.start and c.stop <= 64 for c in cols)
    read = sum((r.stop - r.start) * (c.stop - c.start) for r, c in zip(rows, cols, strict=True))
    assert read <= 8 * 32 * 32 * 2  # ≤ 2 chunks a band, of 16 in each band
    mask = np.zeros((128, 128), bool)
    mask[70:81, 40:61] = True
    np.testing.assert_allclose(widget.rois[0].mean, _expected(data, mask)[0], rtol=1e-6)


def test_pinned_pixels_marked_on_canvas(make_napari_viewer, sample):
    from hsi.viewer._widgets._spectrum import PIN_LAYER_NAME, pin_color

    viewer = make_napari_viewer(show=True)
    layer = _cube_layer(viewer, sample, "salinas")
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Spectrum")
    colors = [tuple(round(c * 255) for c in pin_color(i)) for i in range(2)]
    assert colors_present(viewer, colors) == [False, False]
    n_layers = len(viewer.layers)

    widget.show_pixel(30, 40)
    widget.pin()
    widget.show_pixel(30, 40)  # the same pixel again: pinned once
    widget.pin()
    widget.show_pixel(70, 10)
    widget.pin()
    assert len(widget.pins) == 2 and len(viewer.layers) == n_layers + 1
    points = viewer.layers[PIN_LAYER_NAME]
    assert viewer.layers.selection.active is layer  # the cube stays the active layer
    np.testing.assert_allclose(points.data, _world(layer, [(30, 40), (70, 10)]))
    np.testing.assert_allclose(points.face_color[:, :3], [pin_color(0), pin_color(1)],
                               atol=1e-6)
    # on screen: a marker in each pin's colour, over the grey cube
    assert colors_present(viewer, colors) == [True, True]
    # the colour under the first marker's centre
    viewer.scene.camera.center = tuple(points.data[0])
    viewer.scene.camera.zoom = 30 / layer.scale[1]
    shot = np.asarray(viewer.screenshot(canvas_only=True, flash=False))[..., :3].astype(int)
    h, w = shot.shape[:2]
    centre = shot[h // 2 - 3:h // 2 + 4, w // 2 - 3:w // 2 + 4].reshape(-1, 3)
    assert np.abs(centre - np.asarray(colors[0])).max(axis=1).min() <= 12
    viewer.reset_view()

    widget.clear_pins()
    assert len(viewer.layers) == n_layers + 1 and len(points.data) == 0
    assert colors_present(viewer, colors) == [False, False]
    widget.show_pixel(5, 6)
    widget.pin()
    assert viewer.layers[PIN_LAYER_NAME] is points and len(points.data) == 1
    viewer.layers.remove(points)  # deleted by the user: made again at the next pin
    widget.show_pixel(8, 9)
    widget.pin()
    assert len(viewer.layers[PIN_LAYER_NAME].data) == 2


def test_export_spectra_csv(make_napari_viewer, qtbot, sample, tmp_path):
    viewer = make_napari_viewer(show=True)
    layer = _cube_layer(viewer, sample, "salinas")
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Spectrum")
    assert widget.export_csv(tmp_path / "none.csv") is None
    assert widget.status.text().startswith("nothing to export")
    assert not (tmp_path / "none.csv").exists()

    for rc in ((12, 40), (30, 5)):
        widget.show_pixel(*rc)
        widget.pin()
    shapes = viewer.add_shapes(_corners(10, 30, 20, 45)[None], shape_type="rectangle",
                               scale=layer.scale[1:], translate=layer.translate[1:])
    widget.roi_combo.select(shapes)
    _wait_rois(qtbot, widget, 1)
    out = tmp_path / "spectra.csv"
    assert widget.export_csv(out) == out
    assert widget.status.text() == "wrote 4 spectra to spectra.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spectra.csv"]  # no temporaries
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["wavelength_nm", "pixel_r12_c40", "pixel_r30_c5", "roi_1_mean",
                       "roi_1_std"]
    table = np.array(rows[1:], dtype=np.float64)
    assert table.shape == (204, 5)
    np.testing.assert_allclose(table[:, 0], sample.wavelengths, rtol=1e-6)
    np.testing.assert_allclose(table[:, 1], sample.data[:, 12, 40], rtol=1e-6)
    np.testing.assert_allclose(table[:, 2], sample.data[:, 30, 5], rtol=1e-6)
    mask = np.zeros((83, 86), bool)
    mask[10:21, 30:46] = True
    mean, std = _expected(np.asarray(sample.data), mask)
    np.testing.assert_allclose(table[:, 3], mean, rtol=1e-6)
    np.testing.assert_allclose(table[:, 4], std, rtol=1e-5)

    # an unwritable destination: one-line error, nothing left behind
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert widget.export_csv(blocker / "spectra.csv") is None
    assert widget.status.text().startswith("error: ") and "\n" not in widget.status.text()


def test_export_csv_without_wavelengths_and_with_nodata(make_napari_viewer, tmp_path):
    from hsi.cube import Cube

    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    data[2, 1, 1] = -1
    viewer = make_napari_viewer(show=True)
    _cube_layer(viewer, Cube(data, nodata=-1), "bare")
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Spectrum")
    widget.show_pixel(1, 1)
    widget.pin()
    assert widget.axes.get_xlabel() == "band" and widget.axes.get_ylabel() == "value (DN)"
    out = widget.export_csv(tmp_path / "bare.csv")
    rows = list(csv.reader(open(out, newline="")))
    assert rows == [["band", "pixel_r1_c1"], ["0", "7"], ["1", "37"], ["2", ""], ["3", "97"]]
