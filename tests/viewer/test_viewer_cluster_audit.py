"""Cluster dock audit (real viewer under Xvfb): errors, re-runs, settings changed mid-run."""

from __future__ import annotations

import numpy as np
import pytest

from tests.viewer.viewer_checks import job_threads

pytestmark = pytest.mark.gui

WAIT_MS = 60_000


@pytest.fixture
def crop(sample):
    """A 20 × 20 crop of the georeferenced sample: a k-means run takes a second."""
    return sample.with_data(np.asarray(sample.data)[:, 20:40, 20:40])


def _viewer_with(make_napari_viewer, cube, name):
    from hsi.viewer._convert import cube_layer_data

    viewer = make_napari_viewer(show=True)
    data, attrs, _ = cube_layer_data(cube, name=name)
    layer = viewer.add_image(data, **attrs)
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Cluster")
    widget.device_combo.setCurrentText("cpu")
    widget.method_combo.setCurrentText("kmeans")
    return viewer, layer, widget


def _notifications(monkeypatch) -> list:
    import napari.utils.notifications as notes

    seen: list = []
    for name in ("show_error", "show_warning", "show_info"):
        monkeypatch.setattr(notes, name, lambda msg, _n=name: seen.append((_n, str(msg))))
    return seen


def test_seed_in_metadata_is_the_seed_the_run_used(make_napari_viewer, qtbot, crop):
    """The seed box changed while a run goes on: the layer records the seed that made it."""
    from hsi.clustering import cluster

    _, _, widget = _viewer_with(make_napari_viewer, crop, "crop")
    widget.k_spin.setValue(3)
    widget.seed_spin.setValue(3)
    widget.run_button.click()
    assert widget.job.running
    widget.seed_spin.setValue(7)  # for the next run
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    layer = widget.result_layer
    assert layer is not None, widget.status.text()
    expected = cluster(crop, 3, method="kmeans", seed=3, device="cpu", progress=False)
    np.testing.assert_array_equal(layer.data, expected.labels)
    assert layer.metadata["seed"] == 3
    assert layer.metadata["k"] == 3


def test_error_is_one_notification_and_no_layer(make_napari_viewer, qtbot, crop, monkeypatch):
    """More clusters than pixels: one error line, nothing added, the dock usable again."""
    viewer, _, widget = _viewer_with(make_napari_viewer,
                                     crop.with_data(np.asarray(crop.data)[:, :2, :2]), "tiny")
    seen = _notifications(monkeypatch)
    widget.k_spin.setValue(6)
    n_layers = len(viewer.layers)
    widget.run_button.click()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    errors = [m for kind, m in seen if kind == "show_error"]
    assert len(errors) == 1, seen
    assert "\n" not in errors[0] and "at most 4 clusters" in errors[0]
    assert widget.status.text().startswith("error: ")
    assert len(viewer.layers) == n_layers and widget.result_layer is None
    assert widget.run_button.isEnabled()


def test_rerun_with_other_k_and_method_adds_a_labels_layer_each(make_napari_viewer, qtbot,
                                                               crop):
    from napari.layers import Labels

    viewer, _, widget = _viewer_with(make_napari_viewer, crop, "crop")
    widget.k_spin.setValue(3)
    widget.run_button.click()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    first = widget.result_layer
    widget.k_spin.setValue(4)
    widget.method_combo.setCurrentText("spectral")
    widget.run_button.click()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    second = widget.result_layer
    assert isinstance(first, Labels) and isinstance(second, Labels) and first is not second
    assert first in viewer.layers and second in viewer.layers
    assert set(np.unique(first.data)) == {1, 2, 3}
    assert set(np.unique(second.data)) == {1, 2, 3, 4}
    assert (first.metadata["method"], second.metadata["method"]) == ("kmeans", "spectral")
    assert (first.metadata["k"], second.metadata["k"]) == (3, 4)
    assert [r[0] for r in widget.table_rows()] == [1, 2, 3, 4]


def test_closing_the_viewer_during_a_run_adds_nothing_and_raises_nothing(
        make_napari_viewer, qtbot, crop, monkeypatch):
    """The run finishing after its viewer was closed is dropped quietly (BackgroundJob's slots
    set the status and bar of the deleted dock: RuntimeError 'wrapped C/C++ object ... has been
    deleted' in a Qt slot, before)."""
    viewer, _, widget = _viewer_with(make_napari_viewer, crop, "crop")
    seen = _notifications(monkeypatch)
    widget.k_spin.setValue(3)
    widget.method_combo.setCurrentText("spectralnet")
    widget.run_button.click()
    assert widget.job.running
    viewer.close()
    qtbot.waitUntil(lambda: not job_threads(), timeout=WAIT_MS)
    qtbot.wait(300)  # the worker's result reaches the GUI thread
    assert widget.result_layer is None
    assert not [m for kind, m in seen if kind == "show_error"], seen
