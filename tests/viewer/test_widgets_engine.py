"""The Fuse, Classify and Cluster docks run on the scene engine (issue 16): the layer is read
window by window in tiles, progress is per tile, and the result equals the CLI's file output."""

from __future__ import annotations

import numpy as np
import pytest

import hsi
from tests.viewer.viewer_checks import JOB_WAIT_MS

pytestmark = pytest.mark.gui

WAIT_MS = JOB_WAIT_MS


@pytest.fixture
def window_reads(monkeypatch):
    """``(height, width)`` of every window the scene engine reads."""
    from hsi.engine import WindowReader

    reads: list[tuple[int, int]] = []
    original = WindowReader.read

    def read(self, window, **options):
        reads.append((int(window.height), int(window.width)))
        return original(self, window, **options)

    monkeypatch.setattr(WindowReader, "read", read)
    return reads


def _progress(widget) -> list[tuple[int, int]]:
    """``(done, total)`` of every progress report of the widget's job, in order."""
    calls: list[tuple[int, int]] = []
    widget.job._bridge.progressed.connect(lambda done, total: calls.append((done, total)))
    return calls


def _run(widget, qtbot, viewer) -> None:
    n_layers = len(viewer.layers)
    widget.run_button.click()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    assert len(viewer.layers) > n_layers, widget.status.text()


def _as_file(layer, path):
    from hsi.viewer._widgets._common import layer_cube

    return hsi.save(layer_cube(layer), path)


def test_dock_tiles_default_to_the_cli_ones():
    from hsi.classification.predict import TILE
    from hsi.clustering.files import cluster_file
    from hsi.fusion.scene import fuse_files
    from hsi.viewer._widgets._classify import PREDICT_TILE
    from hsi.viewer._widgets._cluster import CLUSTER_TILE
    from hsi.viewer._widgets._fuse import FUSE_TILE

    assert FUSE_TILE == fuse_files.__kwdefaults__["tile"]
    assert PREDICT_TILE == TILE
    assert CLUSTER_TILE == cluster_file.__kwdefaults__["tile"]


def test_fuse_dock_runs_tile_by_tile_like_fuse_files(make_napari_viewer, qtbot, tmp_path,
                                                     computed_shapes, window_reads):
    from hsi.fusion.scene import fuse_files

    viewer = make_napari_viewer(show=True)
    _, lr, hr, _ = viewer.open_sample("hsikit", "fusion_pair")
    expected = hsi.open(fuse_files(_as_file(lr, tmp_path / "lr.tif"),
                                   _as_file(hr, tmp_path / "hr.tif"), tmp_path / "fused.tif",
                                   method="glp", tile=16, device="cpu", progress=False)).data
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Fuse")
    widget.set_method("glp")
    widget.device_combo.setCurrentText("cpu")
    widget.tile = 16
    progress = _progress(widget)
    del computed_shapes[:], window_reads[:]
    _run(widget, qtbot, viewer)

    fused = np.asarray(viewer.layers[-1].data)
    assert fused.shape == (204, 80, 84)
    np.testing.assert_array_equal(fused, expected)
    # the PSF estimate reads one central window of at most 128² LR pixels first (on this small
    # sample: the whole pair, once; the LR-HSI's denoiser would read its LR part too, but this
    # 204-band LR-HSI is too small for one, so it reads nothing); then GLP's statistics pass
    # reads by cores of at most STATS_LR_TILE² LR pixels (here the whole pair, once: LR and
    # HR); then the fusion pass reads only tiles: 30 of 16 × 16 HR with their halo, LR and HR
    from hsi.fusion.scene import STATS_LR_TILE

    assert computed_shapes.count(tuple(lr.data.shape)) <= 2
    assert computed_shapes.count(tuple(hr.data.shape)) <= 2
    psf_reads, stats_reads, tile_reads = window_reads[:2], window_reads[2:4], window_reads[4:]
    assert max(max(h, w) for h, w in psf_reads) <= 4 * 128
    assert max(max(h, w) for h, w in stats_reads) <= 4 * STATS_LR_TILE
    assert len(tile_reads) == 2 * 30
    assert max(h * w for h, w in tile_reads) < 80 * 84
    assert progress[-1] == (60, 60) and [d for d, _ in progress] == sorted(d for d, _ in progress)


def test_classify_dock_predicts_tile_by_tile_like_classify_to_files(
        sample_dock, qtbot, tmp_path, window_reads, monkeypatch):
    from hsi.classification.pipeline import Classifier, classify_to_files
    from hsi.data import sample_labels
    from hsi.io.labels import read_class_map

    viewer, cube_layer, widget = sample_dock("Classify")
    labels_layer = widget.new_labels_layer()
    truth, _ = sample_labels()
    painted = np.zeros_like(truth)
    values = [3, 5, 8, 11, 12, 20]
    for k, value in enumerate(values, start=1):
        rows, cols = np.nonzero(truth == k)
        painted[rows[:8], cols[:8]] = value
    labels_layer.data = painted
    widget.refresh_classes()
    widget.epochs_spin.setValue(1)
    widget.members_spin.setValue(1)  # one discriminator: quicker
    widget.crf_check.setChecked(False)
    widget.device_combo.setCurrentText("cpu")
    widget.tile = 32

    def whole_scene_predict(*args, **kwargs):
        raise AssertionError("the dock predicted on the whole cube")

    monkeypatch.setattr(Classifier, "predict", whole_scene_predict)
    progress = _progress(widget)
    del window_reads[:]
    _run(widget, qtbot, viewer)

    # prediction: 3 × 3 tiles of 32 read with their halo, one progress step each
    assert len(window_reads) == 9
    assert max(h * w for h, w in window_reads) < 83 * 86
    trained = progress[-1][1] - 9
    assert trained > 0 and progress[-1] == (trained + 9, trained + 9)
    # training counts one step for the prediction; the prediction then counts its tiles
    assert progress[0][1] == trained + 1
    assert [d for d, n in progress if n == trained + 9] == list(range(trained, trained + 10))

    classifier = widget.classifier
    out, probs = tmp_path / "classes.tif", tmp_path / "probs.tif"
    classify_to_files(classifier, hsi.open(_as_file(cube_layer, tmp_path / "cube.tif"),
                                           lazy=True),
                      out, probabilities=probs, use_crf=False, tile=32)
    np.testing.assert_array_equal(widget.probabilities, hsi.open(probs).data)
    written, _, _ = read_class_map(out)
    to_painted = np.zeros(max(classifier.codes) + 1, dtype=np.int64)
    to_painted[list(classifier.codes)] = values
    np.testing.assert_array_equal(np.asarray(widget.class_map_layer.data), to_painted[written])


def test_cluster_dock_runs_the_tiled_path_like_cluster_file(sample_dock, qtbot, sample,
                                                            tmp_path, computed_shapes,
                                                            window_reads, monkeypatch):
    import hsi.clustering.files as files
    from hsi.io.labels import read_class_map

    viewer, cube_layer, widget = sample_dock("Cluster")
    # a "large" scene: above the whole-scene limit, fitted on 16 windows of 16 pixels
    monkeypatch.setattr(files, "WHOLE_SCENE_PIXELS", 83 * 86 - 1)
    monkeypatch.setattr(files, "FIT_WINDOW", 16)
    path = _as_file(cube_layer, tmp_path / "cube.tif")
    out, conf = tmp_path / "clusters.tif", tmp_path / "conf.tif"
    files.cluster_file(path, 4, out, confidence=conf, method="kmeans", seed=0, device="cpu",
                       tile=32, progress=False)
    widget.k_spin.setValue(4)
    widget.method_combo.setCurrentText("kmeans")
    widget.device_combo.setCurrentText("cpu")
    widget.tile = 32
    progress = _progress(widget)
    del computed_shapes[:], window_reads[:]
    _run(widget, qtbot, viewer)

    result = widget.last_result
    assert result.info["tiles"] == 9
    labels, _, _ = read_class_map(out)
    np.testing.assert_array_equal(np.asarray(widget.result_layer.data), labels)
    # the same assignment; the confidence's floats may differ in their last digits (the
    # worker thread's BLAS calls are not the main thread's)
    np.testing.assert_allclose(np.asarray(widget.confidence_layer.data),
                               hsi.open(conf).data[0], rtol=0, atol=1e-4)
    # read by windows: the 16 fit windows, then 9 tiles of 32 with their halo
    assert tuple(sample.shape) not in computed_shapes
    assert len(window_reads) == 16 + 9
    assert max(h * w for h, w in window_reads) < 83 * 86
    assert progress[-1] == (9 + 2, 9 + 2)  # the fit, every tile, the end


def test_cluster_dock_small_scene_is_clustered_whole_like_cluster_file(
        sample_dock, qtbot, tmp_path, window_reads):
    import hsi.clustering.files as files
    from hsi.io.labels import read_class_map

    viewer, cube_layer, widget = sample_dock("Cluster")
    out = tmp_path / "clusters.tif"
    files.cluster_file(_as_file(cube_layer, tmp_path / "cube.tif"), 4, out, method="kmeans",
                       seed=0, device="cpu", progress=False)
    widget.k_spin.setValue(4)
    widget.method_combo.setCurrentText("kmeans")
    widget.device_combo.setCurrentText("cpu")
    del window_reads[:]
    _run(widget, qtbot, viewer)
    assert "tiles" not in widget.last_result.info and not window_reads
    np.testing.assert_array_equal(np.asarray(widget.result_layer.data), read_class_map(out)[0])
