"""A napari user's audit of the plugin (real viewers under Xvfb): the True colour dock's Run
with nothing to colour, run again over the reader's composite, the band slider's wavelength
after a layer's data changes, class maps shown with hsikit's colours and their class names
under the cursor, and tooltips on every dock's boxes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.viewer.viewer_checks import (
    JOB_WAIT_MS,
    canvas_std,
    colors_present,
    kmeans_map,
)

pytestmark = pytest.mark.gui


def _status_at(layer, row: int, col: int) -> str:
    """napari's status-bar text for the cursor over data pixel ``(row, col)`` of a 2-D layer."""
    world = layer.data_to_world((row, col))
    return layer.get_status(position=tuple(world), world=True)["coordinates"]


def _pixel_of(labels: np.ndarray, value: int) -> tuple[int, int]:
    rows, cols = np.nonzero(np.asarray(labels) == value)
    return int(rows[0]), int(cols[0])


# ------------------------------------------------------------------------------ true colour
def test_true_colour_run_without_a_cube_is_one_notification(make_napari_viewer, qtbot, notes):
    """*Run* in the True colour dock of an empty viewer: one one-line error notification and
    no layer, not an exception raised into napari's event loop (a traceback dialog)."""
    viewer = make_napari_viewer(show=True)
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "True colour")
    widget.call_button.native.click()
    qtbot.wait(50)
    assert len(viewer.layers) == 0
    assert [str(n.message) for n in notes] == ["true colour: choose a cube layer (bands, H, W)"]


def test_true_colour_run_again_over_the_readers_composite_is_not_black(make_napari_viewer,
                                                                      qtbot, sample_tif):
    """The reader adds ``<scene> true colour`` (uint8, contrast 0-255); the dock's composite
    (float 0-1) of the same name replaces its data in place: with the old 0-255 limits the
    canvas went black. It keeps the layer, with 0-1 limits, and shows the scene."""
    viewer = make_napari_viewer(show=True)
    viewer.open(str(sample_tif), plugin="hsikit")
    rgb_layer = viewer.layers["salinas_a true colour"]
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "True colour")
    widget.low_percentile.value = 5.0
    widget.call_button.native.click()
    qtbot.waitUntil(lambda: rgb_layer.data.dtype == np.float32, timeout=5000)
    assert len(viewer.layers) == 2 and viewer.layers[-1] is rgb_layer
    assert tuple(rgb_layer.contrast_limits) == (0.0, 1.0)
    assert canvas_std(viewer) > 20  # the scene, not a black canvas


# ------------------------------------------------------------------------------ band slider
def test_band_label_keeps_the_wavelength_when_a_layer_changes(make_napari_viewer, qtbot,
                                                              sample_tif):
    """napari resets the axis labels to the layers' own (``band``) whenever a layer's data is
    set (a cluster merge, painting by code): the slider keeps naming the wavelength."""
    viewer = make_napari_viewer(show=True)
    cube = viewer.open(str(sample_tif), plugin="hsikit")[0]
    viewer.dims.set_current_step(0, 20)
    expected = f"λ = {cube.metadata['wavelengths'][20]:.1f} nm"
    assert viewer.dims.axis_labels[0] == expected
    labels = viewer.add_labels(np.zeros((83, 86), np.uint8), scale=cube.scale[-2:],
                               translate=cube.translate[-2:])
    labels.data = np.ones((83, 86), np.uint8)
    qtbot.wait(20)
    assert viewer.dims.axis_labels[0] == expected


# -------------------------------------------------------------------------------- class maps
def test_sample_ground_truth_has_class_colours_and_names(make_napari_viewer, qtbot):
    """File › Open Sample › hsikit › Salinas-A: its ground truth is drawn in hsikit's class
    colours (those of the Classify/Cluster docks and saved class maps), on the cube's grid,
    and the status bar names the class under the cursor."""
    from hsi.data import sample_labels
    from hsi.viewer._convert import class_color

    truth, names = sample_labels()
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("hsikit", "salinas_a")
    cube, gt = viewer.layers["Salinas-A"], viewer.layers["Salinas-A ground truth"]
    assert tuple(gt.scale) == tuple(cube.scale[-2:])
    assert tuple(gt.translate) == tuple(cube.translate[-2:])
    colours = [class_color(k) for k in range(1, len(names) + 1)]
    mapped = np.asarray(gt.colormap.map(np.arange(1, len(names) + 1)))[:, :3] * 255
    np.testing.assert_allclose(mapped, colours, atol=1)
    cube.visible, gt.visible, gt.opacity = False, True, 1.0
    qtbot.wait(50)
    assert all(colors_present(viewer, colours))
    row, col = _pixel_of(truth, 2)
    assert f"class: {names[1]}" in _status_at(gt, row, col)


def test_cluster_map_names_the_cluster_under_the_cursor(sample_dock, qtbot):
    """A cluster map's status-bar text names the cluster, and follows a rename and a merge."""
    _, _, widget = sample_dock("Cluster")
    kmeans_map(widget, qtbot, k=3)
    layer = widget.result_layer
    row, col = _pixel_of(layer.data, 1)
    assert "class: cluster 1" in _status_at(layer, row, col)
    widget.rename(1, "bare soil")
    assert "class: bare soil" in _status_at(layer, row, col)
    widget.merge(1, 2)
    assert "class: cluster 2" in _status_at(layer, row, col)


def test_classify_layers_name_the_class_under_the_cursor(sample_dock, qtbot):
    """The training labels (as named in the class table) and the class map name the class
    under the cursor in the status bar."""
    from tests.viewer.viewer_checks import painted_sample_labels

    _, cube, widget = sample_dock("Classify")
    training = widget.new_labels_layer()
    painted, names = painted_sample_labels(per_class=3)
    training.data = painted
    widget.set_class_name(3, names[2])
    row, col = _pixel_of(painted, 3)
    assert f"class: {names[2]}" in _status_at(training, row, col)
    # the table cell edited by hand, as a user renames a class
    cell = next(widget.table.item(r, 2) for r in range(widget.table.rowCount())
                if widget.table.item(r, 0).text() == "3")
    cell.setText("lettuce")
    assert "class: lettuce" in _status_at(training, row, col)
    # the class map the run adds (its result handed over as the job would)
    values = np.array([1, 3])
    class_map = np.where(np.arange(86)[None, :] < 43, 1, 2).repeat(83, axis=0)
    probabilities = np.stack([class_map == 1, class_map == 2]).astype(np.float32)
    widget._add_results(cube, class_map, probabilities, values)
    result = widget.class_map_layer
    assert "class: lettuce" in _status_at(result, 10, 80)
    assert f"class: {widget.class_names[1]}" in _status_at(result, 10, 5)


# ---------------------------------------------------------------------------------- tooltips
@pytest.mark.parametrize("dock", ["Spectrum", "Band math", "Fuse", "Classify", "Cluster"])
def test_every_box_of_a_dock_has_a_tooltip(make_napari_viewer, dock):
    """Each layer picker, choice, number, text field and check box says what it is for."""
    from qtpy.QtWidgets import (
        QAbstractSpinBox,
        QCheckBox,
        QComboBox,
        QLineEdit,
    )

    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", dock)
    boxes = [box for kind in (QComboBox, QAbstractSpinBox, QLineEdit, QCheckBox)
             for box in widget.findChildren(kind)
             # a spin box's or combo box's own line edit is part of that box
             if not isinstance(box.parent(), (QAbstractSpinBox, QComboBox))]
    assert boxes
    missing = [f"{type(box).__name__} {box.objectName() or box.currentText()}"
               if isinstance(box, QComboBox) else type(box).__name__
               for box in boxes if not box.toolTip().strip()]
    assert missing == []


# -------------------------------------------------------------------------------- band math
def test_band_math_result_nan_everywhere_is_said(sample_dock, qtbot, notes):
    """An index NaN everywhere (``R860 / (R650 - R650)``: a division by zero) is a blank
    layer: a warning and the status line say so; a usable index says nothing of the kind."""
    _, _, widget = sample_dock("Band math")
    widget.set_expression("R860 / (R650 - R650)")
    widget.compute()
    qtbot.waitUntil(lambda: widget.result_layer is not None and not widget.job.running,
                    timeout=JOB_WAIT_MS)
    assert widget.result_layer.metadata["has_data"] is False
    assert "NaN everywhere" in widget.status.text()
    said = [str(n.message) for n in notes]
    assert len(said) == 1 and "NaN everywhere" in said[0] and "\n" not in said[0]
    widget.set_expression("R860 / R650")
    widget.compute()
    qtbot.waitUntil(lambda: widget.result_layer.name == "R860 / R650"
                    and not widget.job.running, timeout=JOB_WAIT_MS)
    assert widget.result_layer.metadata["has_data"] is True
    assert "NaN everywhere" not in widget.status.text() and len(notes) == 1


# ------------------------------------------------------------------------------ dock width
@pytest.mark.parametrize("dock", ["Classify", "Cluster"])
def test_class_table_docks_leave_the_canvas_its_room(make_napari_viewer, qtbot, sample_tif,
                                                     dock):
    """With a scene open, the Classify and Cluster docks took ~640 of 1400 pixels (their
    tables asked for the width of their stretched last column, so the dock widened itself),
    leaving the canvas 414 pixels and eliding the band slider's wavelength. They take what
    their boxes and class names need; Salinas-A's longest names still fit unelided."""
    from qtpy.QtWidgets import QApplication

    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1400, 1000)
    viewer.open(str(sample_tif), plugin="hsikit")
    dock_widget, widget = viewer.window.add_plugin_dock_widget("hsikit", dock)
    qtbot.wait(100)
    canvas = viewer.window._qt_viewer.canvas.native
    assert dock_widget.width() < 450, dock_widget.width()
    assert canvas.width() > 600, canvas.width()
    if dock == "Classify":
        from tests.viewer.viewer_checks import painted_sample_labels

        labels = widget.new_labels_layer()
        painted, names = painted_sample_labels(per_class=3)
        labels.data = painted
        for value, name in enumerate(names, start=1):
            widget.set_class_name(value, name)
        QApplication.processEvents()
        qtbot.wait(50)
        table = widget.table
        longest = max(table.fontMetrics().horizontalAdvance(name) for name in names)
        assert table.columnWidth(2) >= longest
        assert not table.horizontalScrollBar().isVisible()  # nothing cut off at the right
        assert table.viewport().width() >= sum(table.columnWidth(c) for c in range(3))


def test_cluster_merge_boxes_show_whole_names(make_napari_viewer, qtbot, sample_tif):
    """The merge boxes sat side by side with "into" and the button, so at the dock's width a
    renamed cluster read "3: Corn_sen…"; each now has a row of its own, and its popup is as
    wide as its longest entry. The dock still leaves the canvas its room."""
    from qtpy.QtWidgets import QApplication, QStyle, QStyleOptionComboBox

    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1400, 1000)
    viewer.open(str(sample_tif), plugin="hsikit")
    dock_widget, widget = viewer.window.add_plugin_dock_widget("hsikit", "Cluster")
    kmeans_map(widget, qtbot, k=3)
    names = {1: "Corn_senesced_green_weeds", 2: "Lettuce_romaine_7wk", 3: "Brocoli_green_weeds_1"}
    for value, name in names.items():
        widget.rename(value, name)
    QApplication.processEvents()
    qtbot.wait(100)
    assert dock_widget.width() < 450, dock_widget.width()
    for combo in (widget.merge_source, widget.merge_target):
        for index in range(combo.count()):
            combo.setCurrentIndex(index)
            option = QStyleOptionComboBox()
            combo.initStyleOption(option)
            field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                                 QStyle.SubControl.SC_ComboBoxEditField, combo)
            text = combo.currentText()
            assert text.endswith(names[combo.currentData()])
            assert field.width() >= combo.fontMetrics().horizontalAdvance(text), (text, field)
        longest = max(combo.fontMetrics().horizontalAdvance(combo.itemText(i))
                      for i in range(combo.count()))
        assert combo.view().minimumWidth() >= longest
