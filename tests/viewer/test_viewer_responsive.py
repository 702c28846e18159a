"""Nothing heavy on the GUI thread, and no reader prompt for hsikit's formats (real viewers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from hsi.viewer._activate import PLUGIN_NAME, PREFERRED_PATTERNS, prefer_hsikit_reader

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
#: The longest the heartbeat may pause while the GUI thread only waits (a robust bound: the
#: freezes fixed here were 1-6 s; a tick is due every 50 ms).
MAX_GAP_S = 0.5


@pytest.fixture(scope="module")
def sample_hdr(sample, tmp_path_factory):
    import hsi

    return hsi.save(sample, tmp_path_factory.mktemp("responsive") / "salinas_a.hdr")


def test_heavy_imports_and_reads_leave_the_gui_free(sample_tif, sample_hdr, big_tif, tmp_path):
    """A fresh viewer (torch and dask.array not imported yet) ticks every 50 ms while the Fuse,
    Classify and Cluster docks import torch, the reader opens a GeoTIFF and an ENVI cube
    (importing dask), a fusion, a classification and a clustering run, and a 384 MiB
    multi-tile GeoTIFF is opened and its true colour made: no pause over 0.5 s, and the imports
    happen off the GUI thread. Run in a subprocess: this test process may have imported torch
    already."""
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        pytest.skip("no display for the subprocess viewer (pytest-xvfb not active)")
    env = {**os.environ, "NAPARI_CONFIG": str(tmp_path / "settings.yaml"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "viewer" / "heartbeat_app.py"), str(sample_tif),
         str(sample_hdr), str(big_tif)], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    if any(report["imported_before"].values()):
        pytest.skip(f"a fresh interpreter already imports {report['imported_before']} "
                    "(sitecustomize?): the first imports cannot be measured")

    slow = {phase: round(gap, 3) for phase, gap in report["gaps"].items() if gap > MAX_GAP_S}
    assert not slow, f"GUI paused longer than {MAX_GAP_S} s: {slow}\n{report}"
    assert set(report["gaps"]) == {"docks_warm_up", "open tif", "open hdr", "fuse_job",
                                   "classify_job", "cluster_job", "open big tif",
                                   "true colour big tif"}
    threads = report["import_threads"]
    if report["torch_imported"]:
        assert threads.get("torch") not in (None, "MainThread"), threads
    assert report["dask_imported"]
    assert threads.get("dask.array") not in (None, "MainThread"), threads
    assert report["reader_threads"] == ["hsikit-call", "hsikit-call"]
    # no reader prompt: napari chose hsikit from the preferences set on activation
    assert report["readers"] == {str(sample_tif): [PLUGIN_NAME], str(sample_hdr): [PLUGIN_NAME]}
    assert report["fuse_status"].startswith("added"), report["fuse_status"]
    for job in ("classify_job", "cluster_job"):  # the jobs finished with their layers
        assert report[f"{job}_status"].startswith("added"), report
    assert report["true_colour_big"] == {"kind": "image", "multiscale": True}


def test_preference_fills_gaps_only():
    """Patterns the user chose a reader for keep it; the others get hsikit."""
    settings = SimpleNamespace(plugins=SimpleNamespace(
        extension2reader={"*.tif": "napari", "*.png": "other"}))
    added = prefer_hsikit_reader(settings)
    prefs = settings.plugins.extension2reader
    assert prefs["*.tif"] == "napari" and prefs["*.png"] == "other"
    assert "*.tif" not in added
    assert {p: prefs[p] for p in PREFERRED_PATTERNS if p != "*.tif"} == {
        p: PLUGIN_NAME for p in PREFERRED_PATTERNS if p != "*.tif"}
    assert prefer_hsikit_reader(settings) == {}  # idempotent


@pytest.fixture
def reader_prefs():
    """napari's reader preferences, emptied for the test (a user with no choice yet), restored."""
    from napari.settings import get_settings

    plugins = get_settings().plugins
    saved = dict(plugins.extension2reader)
    plugins.extension2reader = {}
    yield plugins
    plugins.extension2reader = saved


def test_open_uses_hsikit_without_a_dialog(make_napari_viewer, sample_tif, sample_hdr,
                                          reader_prefs, monkeypatch):
    """After activation, File > Open (``_qt_open``: the path that shows the reader dialog) and
    ``viewer.open(path, plugin=None)`` read a .hdr and a 204-band .tif with hsikit, no dialog;
    a user's explicit choice for another pattern stays."""
    import napari._qt.qt_viewer as qt_viewer

    from hsi.viewer._activate import activate

    def no_dialog(*args, **kwargs):
        raise AssertionError("napari asked which reader to use")

    monkeypatch.setattr(qt_viewer, "handle_gui_reading", no_dialog)
    reader_prefs.extension2reader = {"*.png": "napari"}
    activate(None)
    prefs = reader_prefs.extension2reader
    assert prefs["*.png"] == "napari"
    assert all(prefs[p] == PLUGIN_NAME for p in PREFERRED_PATTERNS)

    viewer = make_napari_viewer()
    for path in (sample_hdr, sample_tif):
        n = len(viewer.layers)
        viewer.window._qt_viewer._qt_open([str(path)], stack=False)
        new = list(viewer.layers)[n:]
        assert new, f"nothing opened from {path.name}"
        assert {layer.source.reader_plugin for layer in new} == {PLUGIN_NAME}
        assert new[0].data.shape[0] == 204
        layers = viewer.open(path, plugin=None)
        assert {layer.source.reader_plugin for layer in layers} == {PLUGIN_NAME}


def test_fuse_dock_lists_every_baseline():
    """The Fuse dock names the baselines without importing torch; they match hsi's."""
    pytest.importorskip("torch")
    from hsi.fusion.baselines import BASELINES
    from hsi.viewer._widgets._fuse import BASELINE_NAMES

    assert tuple(BASELINES) == BASELINE_NAMES


def test_call_off_gui_returns_and_raises_like_a_call(qapp):
    """On the GUI thread the function runs in another thread; results and errors come back."""
    import threading
    import time

    from hsi.viewer._offthread import call_off_gui

    assert call_off_gui(lambda x: (x, threading.current_thread().name), 3) == (3, "hsikit-call")

    def slow() -> str:  # long enough for the nested event loop to run
        time.sleep(0.3)
        return threading.current_thread().name

    assert call_off_gui(slow) == "hsikit-call"
    with pytest.raises(ValueError, match="boom"):
        call_off_gui(lambda: (_ for _ in ()).throw(ValueError("boom")))


def test_true_colour_computes_off_the_gui_thread(make_napari_viewer, sample, monkeypatch):
    """The True colour widget reads and stretches the bands in a thread, not the GUI's."""
    import threading

    from hsi.cube import Cube
    from hsi.viewer._convert import cube_layer_data
    from hsi.viewer._widgets import true_colour

    threads = []
    rgb = Cube.rgb

    def recording_rgb(self, *args, **kwargs):
        threads.append(threading.current_thread().name)
        return rgb(self, *args, **kwargs)

    monkeypatch.setattr(Cube, "rgb", recording_rgb)
    viewer = make_napari_viewer()
    data, kwargs, _ = cube_layer_data(sample, name="cube")
    layer = viewer.add_image(data, **kwargs)
    out, attrs, kind = true_colour(layer)
    assert threads == ["hsikit-call"]
    assert kind == "image" and attrs["rgb"] and out.shape == (*sample.data.shape[1:], 3)
