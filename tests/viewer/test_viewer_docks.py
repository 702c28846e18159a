"""Every hsikit dock fits a 1000-pixel-high screen; fused results name their method."""

from __future__ import annotations

import pytest

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
    assert labels[:2] == ["INFN, checkpoint", "INFN, fitted"]
    assert "GLP" in labels and len(set(labels)) == len(labels)
