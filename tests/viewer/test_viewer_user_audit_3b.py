"""A napari user's audit of the plugin, third round (real viewers under Xvfb): a ``.mat``
holding several cubes and a saved class map opened again through the reader, and the
Spectrum dock on a pixel without data (a scene's nodata collar) and with its ROI layer
changed while measured."""

from __future__ import annotations

import numpy as np
import pytest

from tests.viewer.viewer_checks import (
    JOB_WAIT_MS,
    canvas_std,
    click_pixel,
    colors_present,
    kmeans_map,
)

pytestmark = pytest.mark.gui


# ----------------------------------------------------------------------------------- reader
def test_mat_with_several_cubes_opens_each_as_a_layer(make_napari_viewer, qtbot, notes,
                                                      tmp_path):
    """``Samson.mat`` holds the cube (95×95×156) and its abundances (95×95×3): the reader
    said "several 3-D arrays ...; choose one with var=", which no napari user can do, and
    showed nothing. It opens each as a cube layer named after the file and the variable."""
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    cube = rng.random((12, 10, 30)).astype(np.float32)  # MATLAB order: H × W × bands
    abundances = rng.random((12, 10, 3)).astype(np.float32)
    path = tmp_path / "unmixing.mat"
    savemat(path, {"Y": cube, "A": abundances})

    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin="hsikit")
    qtbot.wait(50)
    assert [str(n.message) for n in notes] == []
    shapes = {layer.name: layer.data.shape for layer in viewer.layers}
    assert shapes == {"unmixing Y": (30, 12, 10), "unmixing A": (3, 12, 10)}
    np.testing.assert_array_equal(viewer.layers["unmixing Y"].data,
                                  np.moveaxis(cube, -1, 0))
    assert canvas_std(viewer) > 5  # the top layer is drawn, not a blank canvas


def test_saved_class_map_opens_again_as_a_class_map(sample_dock, qtbot, notes, tmp_path):
    """A cluster map saved with the plugin (File › Save Selected Layers, a class-map GeoTIFF)
    came back through the plugin's reader as a one-band grey *image*: no class colours, no
    names, not a Labels layer the Classify dock could train on. It opens as a Labels layer
    in the saved colours, naming its classes, on the cube's grid; saved again, it keeps them."""
    from hsi.io.labels import read_class_map

    viewer, cube, widget = sample_dock("Cluster")
    kmeans_map(widget, qtbot, k=3)
    widget.rename(1, "bare soil")
    saved = widget.result_layer
    viewer.layers.selection = {saved}
    viewer.layers.save(str(tmp_path / "clusters.tif"), selected=True, plugin="hsikit")

    opened = viewer.open(str(tmp_path / "clusters.tif"), plugin="hsikit")
    assert [str(n.message) for n in notes] == []
    [layer] = opened
    assert layer._type_string == "labels"
    np.testing.assert_array_equal(layer.data, saved.data)
    assert tuple(layer.scale) == tuple(cube.scale[-2:])  # the georeference kept
    assert tuple(layer.translate) == tuple(cube.translate[-2:])
    assert layer.metadata["class_names"] == {1: "bare soil", 2: "cluster 2", 3: "cluster 3"}
    rows, cols = np.nonzero(np.asarray(layer.data) == 1)
    world = layer.data_to_world((rows[0], cols[0]))
    assert "class: bare soil" in layer.get_status(position=tuple(world),
                                                  world=True)["coordinates"]
    colours = [tuple(round(float(c) * 255) for c in saved.get_color(v)[:3]) for v in (1, 2, 3)]
    for other in viewer.layers:
        other.visible = other is layer
    layer.opacity = 1.0  # napari blends labels at 0.7 by default
    qtbot.wait(50)
    assert all(colors_present(viewer, colours))  # drawn in the saved colours

    viewer.layers.selection = {layer}
    viewer.layers.save(str(tmp_path / "again.tif"), selected=True, plugin="hsikit")
    _, names, colormap = read_class_map(tmp_path / "again.tif")
    assert names == ["bare soil", "cluster 2", "cluster 3"]
    assert [colormap[v][:3] for v in (1, 2, 3)] == colours


def test_cube_opened_over_a_class_map_starts_at_its_first_band(make_napari_viewer, qtbot,
                                                               sample, sample_tif, tmp_path):
    """The ground truth opened first, then the scene: the cube came up at band 0 (390 nm,
    AVIRIS's noisiest) instead of its middle band, as napari adds a band axis at 0 to a
    viewer of 2-D layers. The slider is new there: it starts at the cube's first band."""
    from hsi.data import sample_labels
    from hsi.io.labels import write_class_map

    truth, names = sample_labels()
    ground_truth = write_class_map(tmp_path / "truth.tif", truth, crs=sample.crs,
                                   transform=sample.transform, class_names=list(names))
    viewer = make_napari_viewer(show=True)
    viewer.open(str(ground_truth), plugin="hsikit")
    cube = viewer.open(str(sample_tif), plugin="hsikit")[0]
    qtbot.wait(50)
    band = cube.metadata["first_band"]
    assert band == (sample.bands - 1) // 2
    assert viewer.dims.current_step[0] == band
    assert viewer.dims.axis_labels[0] == f"λ = {sample.wavelengths[band]:.1f} nm"


# --------------------------------------------------------------------------------- spectrum
NODATA = -9999.0


def test_spectrum_of_a_pixel_without_data_is_said_and_not_pinned(make_napari_viewer, qtbot,
                                                                 sample):
    """A click in a scene's nodata collar plotted an empty line and said nothing (the
    analyst took the tool for broken), and *Pin* marked the pixel and exported an empty CSV
    column. The status line says the pixel has no data, Pin refuses it, and the note goes at
    the next pixel with data."""

    from hsi.viewer._convert import cube_layer_data

    data = np.array(sample.data, dtype=np.float32)
    data[:, :, :5] = NODATA  # the collar: 5 columns of nodata on the west side
    viewer = make_napari_viewer(show=True)
    layer_data, attrs, _ = cube_layer_data(sample.with_data(data, nodata=NODATA),
                                           name="collar")
    layer = viewer.add_image(layer_data, **attrs)
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Spectrum")

    click_pixel(viewer, qtbot, layer, widget, 30, 2)  # a user's click, in the collar
    assert (widget.current.row, widget.current.col) == (30, 2)
    assert np.isnan(widget.current.values).all()
    assert widget.status.text() == "no data at collar (30, 2): every band is NaN or nodata"

    widget.pin()
    assert widget.pins == [] and "pinned pixels" not in viewer.layers
    assert widget.status.text().endswith("; nothing to pin")

    spec = widget.show_pixel(30, 40)  # a pixel with data: the note goes, Pin works
    assert widget.status.text() == ""
    widget.pin()
    assert widget.pins == [spec] and "pinned pixels" in viewer.layers


def _roi_settled(widget) -> bool:
    return not widget.roi_job.running and not widget._roi_timer.isActive()


def test_roi_layer_changed_while_measured_shows_the_new_choice(sample_dock, qtbot):
    """A ROI layer switched (or set to none, or deleted) while its spectra were measured:
    the request waited for the measurement, then was never made (the job still counted as
    running while handing its result over), so the plot, the status and the CSV export kept
    the old layer's spectra under the new choice. The new choice is measured."""
    from hsi.viewer._widgets._spectrum import ROI_DEBOUNCE_MS

    viewer, cube, widget = sample_dock("Spectrum")
    plane = {"scale": cube.scale[1:], "translate": cube.translate[1:]}
    shapes = viewer.add_shapes([np.array([[2, 3], [2, 20], [15, 20], [15, 3]])],
                               shape_type="rectangle", name="field", **plane)
    painted = np.zeros((83, 86), np.uint8)
    painted[40:50, 40:45] = 1
    labels = viewer.add_labels(painted, name="plots", **plane)

    widget.roi_combo.select(shapes)
    assert widget.roi_job.running  # measuring the rectangle (252 pixels)
    widget.roi_combo.select(labels)  # another choice meanwhile
    qtbot.waitUntil(lambda: _roi_settled(widget) and [r.pixels for r in widget.rois] == [50],
                    timeout=5000)
    assert widget.roi_status.text() == "1 region, 50 pixels"

    widget.roi_combo.select(shapes)
    assert widget.roi_job.running
    viewer.layers.remove(shapes)  # the ROI box falls back to (none)
    assert widget.roi_combo.currentText() == "(none)"
    qtbot.wait(2 * ROI_DEBOUNCE_MS)
    qtbot.waitUntil(lambda: _roi_settled(widget), timeout=5000)
    assert widget.rois == [] and widget.roi_status.text() == ""
    assert widget.spectra_columns()[2] == {}  # nothing left to export


# ---------------------------------------------------------------------------------- cluster
def test_use_as_training_labels_after_the_cube_was_closed_says_so(sample_dock, qtbot, notes):
    """*Use as training labels* after the clustered cube was closed opened Classify on
    whatever cube its box held (here another scene of the same size) and said all was
    well: a run would train on the wrong cube. It says the cube is gone."""
    viewer, cube, widget = sample_dock("Cluster")
    # another scene of the same size stays open (its band count keeps the viewer 3-D)
    viewer.add_image(np.zeros((3, 83, 86), np.float32), name="other scene",
                     scale=cube.scale, translate=cube.translate)
    kmeans_map(widget, qtbot, k=3)
    viewer.layers.remove(cube)
    classify = widget.use_as_training_labels()
    assert classify.labels_combo.currentText() == widget.result_layer.name
    assert classify.cube_combo.currentText() == "other scene"
    closed = "cluster cube 'salinas' is no longer open: choose the cube in Classify"
    assert widget.status.text().endswith(closed)
    assert [str(n.message) for n in notes] == [f"use as training labels: {closed}"]


# --------------------------------------------------------------------------------- classify
def test_class_map_keeps_the_names_and_colours_of_the_labels_it_was_trained_on(
        sample_dock, qtbot):
    """The training labels box switched to another Labels layer while the classifier trains
    (to paint the next scene's labels): the class map came out named "class 3"... and in the
    other layer's colours, not as the classes were named and painted. It keeps those of the
    labels it was trained on."""
    from tests.viewer.viewer_checks import painted_sample_labels

    viewer, cube, widget = sample_dock("Classify")
    training = widget.new_labels_layer()
    training.data = painted_sample_labels(per_class=3)[0]
    widget.set_class_name(3, "lettuce")
    expected = {v: tuple(round(float(c) * 255) for c in widget.class_color(v)[:3])
                for v, _, _ in widget.class_table()}
    other = viewer.add_labels(np.zeros((83, 86), np.uint8), name="next scene labels",
                              scale=cube.scale[-2:], translate=cube.translate[-2:])
    widget.epochs_spin.setValue(1)
    widget.members_spin.setValue(1)
    widget.crf_check.setChecked(False)
    widget.run()
    assert widget.job.running
    widget.labels_combo.select(other)  # meanwhile
    qtbot.waitUntil(lambda: not widget.job.running, timeout=JOB_WAIT_MS)
    result = widget.class_map_layer
    assert result is not None, widget.status.text()
    assert result.metadata["class_names"][3] == "lettuce"
    assert result.metadata["class_colors"] == expected
    assert [name for name, _, _ in widget.legend_rows()][2] == "lettuce"


def test_labels_with_a_band_axis_are_explained(sample_dock, qtbot, notes):
    """napari's own *New labels layer* button (the usual way to paint in napari) makes a
    Labels layer with the cube's band axis: the labels box does not offer it, and *Train*
    said "choose ... a Labels layer with painted classes" over the strokes just painted.
    It says why that layer cannot be used and which button makes one that can."""
    viewer, cube, widget = sample_dock("Classify")
    painted = np.zeros(cube.data.shape, np.uint8)  # what the napari button makes
    painted[101, 10:20, 10:20], painted[101, 40:50, 40:50] = 1, 2  # strokes on one band
    viewer.add_labels(painted, name="salinas - Labels", scale=cube.scale,
                      translate=cube.translate)
    assert widget.labels_combo.count() == 0
    widget.run()
    qtbot.wait(20)
    expected = ("Labels layer 'salinas - Labels' has a plane per band (204, 83, 86), "
                "training labels are one (H, W) plane: paint on 'New training labels for "
                "this cube'")
    assert [str(n.message) for n in notes] == [f"classify: {expected}"]
    assert widget.status.text() == f"error: {expected}"


# ------------------------------------------------------------------------------------- fuse
def test_fuse_run_again_names_the_layer_it_added(make_napari_viewer, qtbot):
    """Fused twice with the same method, napari names the second layer "<name> [1]", but
    the status line said "added '<name>'": the first result's name. It names the layer
    each run added."""
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("hsikit", "fusion_pair")
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Fuse")
    widget.set_method("glp")
    for _ in range(2):
        widget.run()
        qtbot.waitUntil(lambda: not widget.job.running, timeout=JOB_WAIT_MS)
    fused = [layer.name for layer in viewer.layers if " fused (GLP)" in layer.name]
    assert fused == ["Salinas-A LR-HSI (x4) fused (GLP)", "Salinas-A LR-HSI (x4) fused (GLP) [1]"]
    assert widget.status.text().startswith(f"added {fused[1]!r} (204×80×84)")


def test_spectrum_readout_with_the_slider_outside_the_cubes_bands(make_napari_viewer, qtbot):
    """The fusion pair's HR-MSI has 12 bands, the LR-HSI 204: with the slider at band 101
    (where the LR-HSI opens), napari shows nothing of the HR-MSI, but the Spectrum dock read
    "band 11 of 12 · 2202.4 nm" and marked 2202 nm on the plot. It says the slider is outside
    that cube's bands, and marks no band."""
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("hsikit", "fusion_pair")
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Spectrum")
    msi = viewer.layers["Salinas-A HR-MSI (sentinel2)"]
    widget.layer_combo.select(msi)
    bands = msi.data.shape[0]
    viewer.dims.set_current_step(0, 101)
    assert widget.current_band() is None
    assert widget.readout.text() == (f"band slider outside the {bands} bands of "
                                     "'Salinas-A HR-MSI (sentinel2)'")
    widget.show_pixel(10, 10)  # the spectrum, without a band marked
    assert [line.get_label() for line in widget.axes.get_lines()] == [widget.current.label]
    viewer.dims.set_current_step(0, 3)
    wavelength = msi.metadata["wavelengths"][3]
    assert widget.readout.text() == f"band 3 of {bands} · {wavelength:.1f} nm"


def test_dock_errors_speak_of_the_docks_controls_not_parameters(make_napari_viewer, qtbot):
    """A pair without georeference whose sizes are no one ratio was refused with "give
    ratio=N", a parameter the Fuse dock does not have; "use device='cpu'" named a parameter
    where the dock has a device box."""
    from napari.layers import Layer

    from hsi.cube import Cube
    from hsi.viewer._convert import cube_layer_data
    from hsi.viewer._widgets._common import one_line

    viewer = make_napari_viewer(show=False)
    rng = np.random.default_rng(0)
    for name, shape in (("lr", (20, 10, 10)), ("hr", (3, 45, 45))):  # x4.5: no integer ratio
        data, attrs, kind = cube_layer_data(Cube(rng.random(shape).astype(np.float32)),
                                            name=name)
        viewer.add_layer(Layer.create(data, attrs, kind))
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Fuse")
    widget.lr_combo.select(viewer.layers["lr"])
    widget.hr_combo.select(viewer.layers["hr"])
    widget.set_method("glp")
    widget.run()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=JOB_WAIT_MS)
    status = widget.status.text()
    assert status.startswith("error: ") and "is not one integer ratio" in status
    assert "ratio=N" not in status and "takes the ratio from the layers' sizes" in status
    said = one_line(RuntimeError("device 'cuda' asked for, but CUDA is not available here "
                                 "(use device='cpu')"))
    assert said == ("device 'cuda' asked for, but CUDA is not available here (choose cpu in "
                    "the device box)")
