"""Checks on real viewer screenshots and on the docks' background jobs, shared by the plugin
tests."""

from __future__ import annotations

import threading

import numpy as np

#: A georeference for the (non-georeferenced) Salinas-A sample: UTM 10N, 3.7 m AVIRIS pixels.
SAMPLE_CRS = "EPSG:32610"
SAMPLE_TRANSFORM = (3.7, 0.0, 620000.0, 0.0, -3.7, 4060000.0)
#: How long a test waits for a dock's background job (training a classifier, clustering,
#: fusing) before calling it hung: a guard, not a speed check. A job returns as soon as it is
#: done; a 2-core machine shared with other work trained the Classify dock's model in 82 s,
#: too close to the 120 s the tests waited before.
JOB_WAIT_MS = 600_000


def job_threads() -> list[threading.Thread]:
    """The live threads running BackgroundJob functions (named ``hsikit-job`` by
    :mod:`hsi.viewer._widgets._common`)."""
    return [t for t in threading.enumerate() if t.name == "hsikit-job" and t.is_alive()]


def canvas_std(viewer) -> float:
    """Standard deviation of the canvas screenshot's RGB values (0 for a blank canvas)."""
    shot = viewer.screenshot(canvas_only=True, flash=False)
    return float(np.asarray(shot)[..., :3].astype(np.float64).std())


def colors_present(viewer, colors, tol: int = 12, min_pixels: int = 20) -> list[bool]:
    """For each 0-255 RGB colour: are ``min_pixels`` canvas pixels within ``tol`` of it?"""
    shot = np.asarray(viewer.screenshot(canvas_only=True, flash=False))[..., :3].astype(int)
    flat = shot.reshape(-1, 3)
    return [int((np.abs(flat - np.asarray(c)).max(axis=1) <= tol).sum()) >= min_pixels
            for c in colors]


#: Keys each :class:`SliceRecorder` was indexed with, by recorder name (module level, so the
#: copies dask makes of a recorder when it builds a graph all record here).
RECORDED: dict[str, list] = {}


class SliceRecorder:
    """A numpy array stand-in that records every ``__getitem__`` key in ``RECORDED[name]``."""

    def __init__(self, data: np.ndarray, name: str) -> None:
        self.data = data
        self.name = name
        self.shape, self.dtype, self.ndim = data.shape, data.dtype, data.ndim
        RECORDED[name] = []

    @property
    def keys(self) -> list:
        return RECORDED[self.name]

    def __getitem__(self, key):
        RECORDED[self.name].append(key)
        return self.data[key]


def painted_sample_labels(values: dict[int, int] | None = None, per_class: int = 12,
                          seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Training labels as a user paints them on the Salinas-A sample: ``per_class`` random
    ground-truth pixels of each class, painted with ``values[class]`` (default the class).

    Returns
    -------
    (numpy.ndarray, list of str)
        The painted (83, 86) label image (0 elsewhere) and the ground truth's class names.
    """
    from hsi.data import sample_labels

    truth, names = sample_labels()
    values = values or {k: k for k in range(1, int(truth.max()) + 1)}
    rng = np.random.default_rng(seed)
    painted = np.zeros_like(truth)
    for k, value in values.items():
        rows, cols = np.nonzero(truth == k)
        pick = rng.choice(rows.size, per_class, replace=False)
        painted[rows[pick], cols[pick]] = value
    return painted, names


def click_pixel(viewer, qtbot, layer, spectrum_dock, row: int, col: int):
    """A user's click on pixel ``(row, col)`` of ``layer``: the pixel put under the canvas
    centre, zoomed in, then clicked; returns the Spectrum dock's spectrum of it."""
    from qtpy.QtCore import QPoint, Qt

    viewer.scene.camera.center = tuple(layer.data_to_world((0, row, col))[1:])
    viewer.scene.camera.zoom = 8 / layer.scale[1]
    canvas = viewer.window._qt_viewer.canvas.native  # the vispy canvas: no public accessor
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton,
                     pos=QPoint(canvas.width() // 2, canvas.height() // 2))
    qtbot.waitUntil(lambda: spectrum_dock.current is not None, timeout=5000)
    return spectrum_dock.current


def kmeans_map(cluster_dock, qtbot, k: int = 3):
    """The Cluster dock's k-means map of its cube (``k`` clusters), once its job has ended."""
    cluster_dock.method_combo.setCurrentText("kmeans")
    cluster_dock.k_spin.setValue(k)
    cluster_dock.run()
    qtbot.waitUntil(lambda: cluster_dock.result_layer is not None
                    and not cluster_dock.job.running, timeout=JOB_WAIT_MS)
    return cluster_dock.result_layer
