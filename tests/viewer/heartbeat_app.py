"""A fresh napari viewer with a 50 ms heartbeat, run in its own process by
``test_viewer_responsive.py`` (torch and dask.array must not be imported yet for the first
imports to be measured).

Usage: ``python tests/viewer/heartbeat_app.py CUBE.tif CUBE.hdr BIG.tif`` under a display
(Xvfb); CUBE is the Salinas-A sample, BIG a multi-tile GeoTIFF of a few hundred MB. Prints one
JSON line: per phase the longest gap between heartbeat ticks while the GUI thread was only
waiting (docks warming up torch, the reader's work in ``viewer.open`` of each cube, a bicubic
fusion job, a classification job and a clustering job on the sample, the big cube opened and
its true colour made), the threads that first imported torch and dask.array, the readers napari
picked, and whether torch/dask were imported before the phases began.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time


class _ImportWatch:
    """A meta-path hook noting the thread that first imports each watched module."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.threads: dict[str, str] = {}

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.names and fullname not in self.threads:
            self.threads[fullname] = threading.current_thread().name
        return None


def main(paths: list[str]) -> dict:
    before = {m: m in sys.modules for m in ("torch", "dask.array")}
    watch = _ImportWatch(("torch", "dask.array"))
    sys.meta_path.insert(0, watch)
    import napari
    from qtpy.QtCore import QEventLoop, QTimer

    viewer = napari.Viewer(show=False)
    report: dict = {"imported_before": before, "gaps": {}, "readers": {}}
    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(50)
    heartbeat.timeout.connect(lambda: ticks.append(time.perf_counter()))
    heartbeat.start()

    def wait_until(predicate, timeout: float) -> None:
        """Let the event loop run (no busy GUI work) until ``predicate()`` or ``timeout``."""
        loop = QEventLoop()
        poll = QTimer()
        poll.setInterval(20)
        deadline = time.perf_counter() + timeout
        poll.timeout.connect(lambda: (predicate() or time.perf_counter() > deadline)
                             and loop.quit())
        poll.start()
        if not predicate():
            (getattr(loop, "exec", None) or loop.exec_)()
        poll.stop()

    def max_gap(start: float, end: float) -> float:
        """Longest wait between heartbeats from ``start`` to ``end`` (both ends included)."""
        edges = [start, *(t for t in ticks if start < t < end), end]
        return max(b - a for a, b in itertools.pairwise(edges))

    wait_until(lambda: len(ticks) >= 5, 10)  # the heartbeat is running

    # 1. docks: building them is GUI work; their torch warm-up must leave the GUI free
    t0 = time.perf_counter()
    docks = {name: viewer.window.add_plugin_dock_widget("hsikit", name)[1]
             for name in ("Fuse", "Classify", "Cluster")}
    t1 = time.perf_counter()
    report["dock_open_s"] = t1 - t0

    def warming() -> bool:
        return any(t.name == "hsikit-import" and t.is_alive() for t in threading.enumerate())

    wait_until(lambda: not warming(), 240)
    t2 = time.perf_counter()
    report["torch_imported"] = "torch" in sys.modules
    report["gaps"]["docks_warm_up"] = max_gap(t1, t2)
    report["warm_up_s"] = t2 - t1

    # 2. reader: viewer.open choosing the reader as the GUI does (hsikit preferred now); the
    #    gaps are measured while the reader's work (dask import, reads) runs
    from hsi.viewer import _reader

    windows: list[tuple[float, float, str]] = []
    layers_for = _reader._layers_for

    def timed_layers_for(path):
        start = time.perf_counter()
        try:
            return layers_for(path)
        finally:
            windows.append((start, time.perf_counter(), threading.current_thread().name))

    _reader._layers_for = timed_layers_for
    sample_tif, sample_hdr, big_tif = paths
    opened = {}
    for path in (sample_tif, sample_hdr):
        layers = viewer.open(path, plugin=None)  # as File > Open: reader from preferences
        opened[path] = layers
        start, end, thread = windows[-1]
        key = f"open {path.rsplit('.', 1)[-1]}"
        report["gaps"][key] = max_gap(start, end)
        report["reader_threads"] = [*report.get("reader_threads", []), thread]
        report["readers"][path] = sorted({layer.source.reader_plugin for layer in layers})
    report["dask_imported"] = "dask.array" in sys.modules

    # 3. a short job: bicubic fusion of the simulated pair (torch) in the Fuse dock
    _, lr, hr, _ = viewer.open_sample("hsikit", "fusion_pair")  # GUI work, not measured
    fuse = docks["Fuse"]
    fuse.lr_combo.select(lr)
    fuse.hr_combo.select(hr)
    fuse.ref_combo.setCurrentIndex(0)  # (none): no metrics
    fuse.set_method("bicubic")
    fuse.device_combo.setCurrentText("cpu")

    def job_alive() -> bool:
        return any(t.name == "hsikit-job" and t.is_alive() for t in threading.enumerate())

    def run_job(dock, key: str) -> None:
        """Click Run; the gap is measured while the job's worker runs (the GUI only waits)."""
        dock.run_button.click()
        start = time.perf_counter()
        wait_until(lambda: job_alive() or not dock.job.running, 30)
        # the moment the worker ends, taken off the GUI thread: the GUI may handle the job's
        # result (adding its layers, GUI work) before its poll below sees the worker gone
        workers = [t for t in threading.enumerate() if t.name == "hsikit-job" and t.is_alive()]
        ended: dict[str, float] = {}

        def watch() -> None:
            for t in workers:
                t.join()
            ended["at"] = time.perf_counter()

        threading.Thread(target=watch, daemon=True).start()
        wait_until(lambda: not job_alive() and "at" in ended, 300)
        end = ended["at"]
        wait_until(lambda: not dock.job.running, 60)  # its layers are added (GUI work)
        report["gaps"][key] = max_gap(start, end)
        report[f"{key}_status"] = dock.status.text()

    run_job(fuse, "fuse_job")

    # 4. classification of the sample (12 painted pixels per class, one epoch)
    from tests.viewer.viewer_checks import painted_sample_labels

    cube_layer = opened[sample_tif][0]
    classify = docks["Classify"]
    classify.cube_combo.select(cube_layer)
    labels_layer = classify.new_labels_layer()
    labels_layer.data[...] = painted_sample_labels()[0]
    labels_layer.refresh()
    classify.refresh_classes()
    classify.epochs_spin.setValue(1)
    classify.members_spin.setValue(1)  # one discriminator: quicker
    classify.device_combo.setCurrentText("cpu")
    run_job(classify, "classify_job")

    # 5. clustering of the sample (k-means, 6 clusters)
    cluster = docks["Cluster"]
    cluster.cube_combo.select(cube_layer)
    cluster.k_spin.setValue(6)
    cluster.method_combo.setCurrentText("kmeans")
    cluster.device_combo.setCurrentText("cpu")
    run_job(cluster, "cluster_job")

    # 6. a big multi-tile GeoTIFF: opened (reader), then the True colour widget on it
    big_layers = viewer.open(big_tif, plugin=None)
    start, end, _ = windows[-1]
    report["gaps"]["open big tif"] = max_gap(start, end)
    from hsi.viewer._widgets import true_colour

    start = time.perf_counter()
    made = true_colour(big_layers[0], 2.0, 98.0)  # its reads run off the GUI thread
    end = time.perf_counter()
    report["gaps"]["true colour big tif"] = max_gap(start, end)
    report["true_colour_big"] = {"kind": made[2], "multiscale": bool(made[1].get("multiscale"))}
    report["import_threads"] = watch.threads
    report["fuse_status"] = fuse.status.text()
    heartbeat.stop()
    viewer.close()
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])), flush=True)
