"""Every hsikit dock fits a 1000-pixel-high screen; fused results name their method."""

from __future__ import annotations

import pytest

from tests.viewer.viewer_checks import JOB_WAIT_MS

pytestmark = pytest.mark.gui

DOCKS = ["Spectrum", "True colour", "Fuse", "Classify", "Cluster", "Band math"]
#: A 1000-px screen less the window's title bar, menu, status bar and the dock's title.
MAX_DOCK_HEIGHT = 1000 - 200


def test_each_dock_fits_a_1000_pixel_screen(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("hsikit", "salinas_a")
    heights = {}
    for name in DOCKS:
        dock, widget = viewer.window.add_plugin_dock_widget("hsikit", name)
        heights[name] = dock.minimumSizeHint().height()
        assert getattr(widget, "native", widget).minimumSizeHint().height() <= heights[name]
    assert max(heights.values()) <= MAX_DOCK_HEIGHT, heights


def test_fused_layer_names_are_distinct_per_method():
    from hsi.viewer._widgets._fuse import method_choices, result_label

    labels = [result_label(shown) for shown, _, _ in method_choices()]
    assert labels[:3] == ["auto", "INFN, checkpoint", "INFN, fitted"]
    assert "GLP" in labels and len(set(labels)) == len(labels)


def test_default_class_colours_are_clearly_different():
    """The first 20 default class colours differ by a CIE76 ΔE over 12 pair by pair (2.3 is the
    just-noticeable difference; two shades of one hue are typically 5-10 apart)."""
    import numpy as np
    from skimage.color import rgb2lab

    from hsi.viewer._convert import class_color

    lab = rgb2lab(np.array([[class_color(v) for v in range(1, 21)]], dtype=np.float64) / 255)[0]
    delta = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
    np.fill_diagonal(delta, np.inf)
    assert delta.min() > 12.0, delta.min()


def test_full_class_names_are_visible_in_the_classify_dock(sample_dock, qtbot):
    """Salinas-A's longest class names fit their column in the class table and the legend of a
    dock at its default width (nothing elided); a new training layer paints in hsikit's
    class colours."""
    import numpy as np
    from qtpy.QtWidgets import QApplication

    from hsi.data import sample_labels
    from hsi.viewer._convert import class_color

    _, _, widget = sample_dock("Classify")
    labels = widget.new_labels_layer()
    for value in (1, 2, 7):  # painted in hsikit's class colours, not napari's random ones
        np.testing.assert_allclose(labels.colormap.map(np.array([value]))[0][:3],
                                   np.array(class_color(value)) / 255, atol=1e-6)
    truth, names = sample_labels()
    labels.data[...] = np.where(np.arange(truth.size).reshape(truth.shape) % 7 == 0, truth, 0)
    labels.refresh()
    widget.refresh_classes()
    for value, name in enumerate(names, start=1):
        widget.set_class_name(value, name)
    QApplication.processEvents()
    table = widget.table
    metrics = table.fontMetrics()
    shown = [table.item(row, 2).text() for row in range(table.rowCount())]
    assert sorted(shown) == sorted(names)
    longest = max(metrics.horizontalAdvance(text) for text in shown)
    assert table.columnWidth(2) >= longest, (table.columnWidth(2), longest, shown)
    assert table.viewport().width() >= sum(table.columnWidth(c) for c in range(3))  # no scroll
    # the legend of the class map after training
    widget.epochs_spin.setValue(1)
    widget.members_spin.setValue(1)  # one discriminator: quicker
    widget.crf_check.setChecked(False)  # no CRF, so no cross-validation of it: the legend is
    widget.device_combo.setCurrentText("cpu")  # what is checked
    widget.run_button.click()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=JOB_WAIT_MS)
    legend = widget.legend
    assert legend.rowCount() == len(names), widget.status.text()
    QApplication.processEvents()
    texts = [legend.item(row, 1).text() for row in range(legend.rowCount())]
    assert legend.columnWidth(1) >= max(legend.fontMetrics().horizontalAdvance(t) for t in texts)
