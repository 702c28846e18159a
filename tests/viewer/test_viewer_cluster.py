"""The Cluster dock widget in a real viewer (Xvfb): cluster, rename, merge, hand to Classify."""

from __future__ import annotations

import numpy as np
import pytest

from tests.viewer.viewer_checks import JOB_WAIT_MS, canvas_std, colors_present, job_threads

pytestmark = pytest.mark.gui

WAIT_MS = JOB_WAIT_MS


@pytest.fixture
def cluster_viewer(sample_dock):
    return sample_dock("Cluster")


def test_cluster_kmeans_rename_merge_and_use_as_training_labels(cluster_viewer, qtbot, sample):
    from hsi.clustering import cluster
    from hsi.viewer._convert import class_color

    viewer, cube_layer, widget = cluster_viewer
    assert widget.cube_combo.currentText() == "salinas"
    widget.k_spin.setValue(6)
    widget.method_combo.setCurrentText("kmeans")
    widget.device_combo.setCurrentText("cpu")
    n_layers = len(viewer.layers)
    widget.run_button.click()
    assert widget.job.running and not widget.run_button.isEnabled()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    layer = widget.result_layer
    assert layer is not None, widget.status.text()
    assert len(viewer.layers) == n_layers + 2
    assert viewer.layers[-1].name == layer.name
    # determinate progress: start, features, end
    assert (widget.progress_bar.maximum(), widget.progress_bar.value()) == (2, 2)

    # the same as hsi.clustering.cluster on the same cube and seed, on the cube's grid
    expected = cluster(sample, 6, method="kmeans", seed=0, device="cpu", progress=False)
    np.testing.assert_array_equal(layer.data, expected.labels)
    # float sums differ in the last bits between threads (BLAS blocking): compare to 1e-4
    np.testing.assert_allclose(widget.confidence_layer.data, expected.confidence, rtol=1e-4,
                               atol=1e-5)
    assert set(np.unique(layer.data)) == set(range(1, 7))
    assert layer.scale == pytest.approx(cube_layer.scale[1:])
    assert layer.translate == pytest.approx(cube_layer.translate[1:])
    assert widget.confidence_layer.scale == pytest.approx(cube_layer.scale[1:])
    counts = np.bincount(expected.labels.ravel(), minlength=7)
    assert widget.table_rows() == [(v, f"cluster {v}", int(counts[v])) for v in range(1, 7)]

    # the cluster colours are on the canvas
    cube_layer.visible = False
    layer.opacity = 1.0
    assert canvas_std(viewer) > 5
    big = [v for v in range(1, 7) if counts[v] > 200]
    present = colors_present(viewer, [class_color(v) for v in big])
    assert present and all(present)

    # rename in the table, merge 6 into 2 with the merge button
    widget.table.item(1, 2).setText("field A")
    qtbot.waitUntil(lambda: widget.table.item(1, 2).text() == "field A", timeout=2000)
    assert layer.metadata["class_names"][2] == "field A"
    widget.merge_source.setCurrentIndex(widget.merge_source.findData(6))
    widget.merge_target.setCurrentIndex(widget.merge_target.findData(2))
    widget.merge_button.click()
    merged = np.where(expected.labels == 6, 2, expected.labels)
    np.testing.assert_array_equal(layer.data, merged)
    assert set(np.unique(layer.data)) == set(range(1, 6))
    rows = widget.table_rows()
    assert len(rows) == 5 and rows[1] == (2, "field A", int(counts[2] + counts[6]))
    assert 6 not in layer.metadata["class_names"]

    # hand-off: the Classify widget trains on the clusters, with their names
    widget.use_button.click()
    _, classify = viewer.window.add_plugin_dock_widget("hsikit", "Classify")
    assert classify.labels_combo.currentText() == layer.name
    assert classify.cube_combo.currentText() == "salinas"
    assert classify.class_table() == [(v, name, count) for v, name, count in rows]
    assert classify.class_table()[1][1] == "field A"


def test_cluster_cancel_stops_training(cluster_viewer, qtbot):
    viewer, _, widget = cluster_viewer
    widget.method_combo.setCurrentText("spectralnet")
    widget.device_combo.setCurrentText("cpu")
    qtbot.waitUntil(lambda: not job_threads(), timeout=WAIT_MS)
    n_layers = len(viewer.layers)
    widget.run_button.click()
    bar = widget.progress_bar
    # SpectralNet's default 400 steps + features + final assignment
    qtbot.waitUntil(lambda: bar.maximum() == 402 and bar.value() >= 3, timeout=WAIT_MS)
    widget.cancel_button.click()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=5000)
    assert widget.status.text() == "cancelled"
    qtbot.waitUntil(lambda: not job_threads(), timeout=30_000)
    assert bar.value() < 400
    qtbot.wait(200)
    assert len(viewer.layers) == n_layers and widget.result_layer is None
