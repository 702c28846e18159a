"""What an analyst runs into in a real viewer (Xvfb): broken files, saving over an input,
labels beyond 255, class names of several Labels layers, layers a dock cannot use."""

from __future__ import annotations

import numpy as np
import pytest

from tests.viewer.viewer_checks import JOB_WAIT_MS, painted_sample_labels

pytestmark = pytest.mark.gui

WAIT_MS = JOB_WAIT_MS


def _messages(seen) -> list[str]:
    return [str(n.message) for n in seen]


def _add_sample(viewer, cube, name="salinas", **metadata):
    from hsi.viewer._convert import cube_layer_data

    data, attrs, _ = cube_layer_data(cube, name=name)
    attrs["metadata"].update(metadata)
    return viewer.add_image(data, **attrs)


# ----------------------------------------------------------------------------------- reader
def test_opening_a_broken_cube_shows_one_message_and_nothing_else(make_napari_viewer,
                                                                  tmp_path, sample, notes):
    """viewer.open of an ENVI header whose data file is truncated: one one-line notification,
    no layer, and napari raises nothing on top ("returned no data", its reader dialog)."""
    import hsi

    viewer = make_napari_viewer(show=True)
    hdr = hsi.save(sample, tmp_path / "scene.hdr")
    data_file = next(p for p in tmp_path.iterdir() if p.stem == "scene" and p != hdr)
    data_file.write_bytes(data_file.read_bytes()[:1000])
    layers = viewer.open(str(hdr), plugin="hsikit")
    assert layers == [] and len(viewer.layers) == 0
    messages = _messages(notes)
    assert len(messages) == 1 and "scene.hdr" in messages[0] and "\n" not in messages[0]


# ----------------------------------------------------------------------------------- writer
@pytest.fixture
def lazy_inputs(make_napari_viewer, tmp_path, sample, monkeypatch):
    """A viewer holding a GeoTIFF and an ENVI cube opened lazily (as big files are)."""
    import hsi
    from hsi.viewer import _reader

    monkeypatch.setattr(_reader, "VIEWER_EAGER_BYTES", 1024)  # lazy, as for a big scene
    small = sample.with_data(np.asarray(sample.data)[:12, :40, :50],
                             wavelengths=sample.wavelengths[:12], fwhm=sample.fwhm[:12])
    tif = hsi.save(small, tmp_path / "scene.tif")
    hdr = hsi.save(small, tmp_path / "other.hdr")
    viewer = make_napari_viewer(show=True)
    tif_layer = viewer.open(str(tif), plugin="hsikit")[0]
    hdr_layer = viewer.open(str(hdr), plugin="hsikit")[0]
    assert not isinstance(tif_layer.data, np.ndarray)  # dask: reads the file when shown
    return viewer, small, tif, hdr, tif_layer, hdr_layer


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_saving_over_a_file_open_in_the_viewer_is_refused(lazy_inputs, tmp_path):
    """A result saved (hsikit's writers) under the name of a file a layer was read from: a
    one-line error, the file untouched, the lazy layer still showing its cube."""
    from hsi.errors import HsiIOError

    viewer, small, tif, hdr, tif_layer, hdr_layer = lazy_inputs
    result = viewer.add_image(np.asarray(small.data)[:3] * 2.0, name="index")
    classes = viewer.add_labels(np.ones((40, 50), np.uint8), name="classes")
    targets = [(result, tif), (result, hdr),
               (classes, tif), (result, tmp_path / "link.tif")]
    (tmp_path / "link.tif").symlink_to(tif)
    before = _files(tmp_path)
    for layer, target in targets:
        viewer.layers.selection = {layer}
        with pytest.raises(HsiIOError, match="input") as info:
            viewer.layers.save(str(target), selected=True, plugin="hsikit")
        assert "\n" not in str(info.value)
    assert _files(tmp_path) == before
    np.testing.assert_array_equal(np.asarray(tif_layer.data), np.asarray(small.data))
    np.testing.assert_array_equal(np.asarray(hdr_layer.data), np.asarray(small.data))

    # another name is written; once the input layer is closed, its file may be replaced
    viewer.layers.selection = {result}
    assert viewer.layers.save(str(tmp_path / "index.tif"), selected=True, plugin="hsikit")
    viewer.layers.remove(tif_layer)
    assert viewer.layers.save(str(tif), selected=True, plugin="hsikit")


# --------------------------------------------------------------------------------- classify
def test_classify_keeps_painted_values_above_255(make_napari_viewer, qtbot, sample):
    """An int32 Labels layer painted with 7 and 300: the class map holds 7 and 300 (not 300
    wrapped to 44), and the legend counts what the map shows."""
    from hsi.data import sample_labels

    viewer = make_napari_viewer(show=True)
    _add_sample(viewer, sample)
    truth, _ = sample_labels()
    painted = np.zeros(truth.shape, np.int32)
    for k, value in ((1, 7), (2, 300)):
        rows, cols = np.nonzero(truth == k)
        painted[rows[:10], cols[:10]] = value
    labels = viewer.add_labels(painted, name="ground truth")
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Classify")
    widget.labels_combo.select(labels)
    widget.epochs_spin.setValue(1)
    widget.members_spin.setValue(1)  # one discriminator: quicker
    widget.crf_check.setChecked(False)
    widget.device_combo.setCurrentText("cpu")
    widget.run_button.click()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    layer = widget.class_map_layer
    assert layer is not None, widget.status.text()
    class_map = np.asarray(layer.data)
    assert set(np.unique(class_map)) <= {0, 7, 300}
    assert (class_map == 300).any()
    legend = {name: count for name, _, count in widget.legend_rows()}
    assert legend == {"class 7": int((class_map == 7).sum()),
                      "class 300": int((class_map == 300).sum())}


def test_classify_class_names_belong_to_their_labels_layer(make_napari_viewer, sample):
    """Two Labels layers with the same values: each shows (and keeps) its own class names."""
    viewer = make_napari_viewer(show=True)
    _add_sample(viewer, sample)
    painted, _ = painted_sample_labels({1: 1, 2: 2, 3: 3})
    named = viewer.add_labels(painted, name="survey 2023",
                              metadata={"class_names": {1: "water", 2: "corn", 3: "soil"}})
    plain = viewer.add_labels(painted.copy(), name="my strokes")
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Classify")
    widget.labels_combo.select(named)
    assert [name for _, name, _ in widget.class_table()] == ["water", "corn", "soil"]
    widget.labels_combo.select(plain)
    assert [name for _, name, _ in widget.class_table()] == ["class 1", "class 2", "class 3"]
    widget.set_class_name(2, "vineyard")
    assert plain.metadata["class_names"][2] == "vineyard"
    assert named.metadata["class_names"] == {1: "water", 2: "corn", 3: "soil"}
    widget.labels_combo.select(named)
    assert [name for _, name, _ in widget.class_table()] == ["water", "corn", "soil"]
    widget.labels_combo.select(plain)
    assert [name for _, name, _ in widget.class_table()] == ["class 1", "vineyard", "class 3"]


# ------------------------------------------------------------------------------ true colour
def test_true_colour_offers_cube_layers_only(make_napari_viewer, sample):
    """The *cube* box lists (bands, H, W) layers, not an RGB picture or a 2-D plane (which
    made an RGB of the picture's rows as bands)."""
    viewer = make_napari_viewer(show=True)
    cube = _add_sample(viewer, sample)
    viewer.add_image(np.zeros((83, 86, 3), np.uint8), rgb=True, name="photo")
    viewer.add_image(np.zeros((83, 86), np.float32), name="ndvi")
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "True colour")
    widget.reset_choices()
    assert list(widget.cube.choices) == [cube]
    second = _add_sample(viewer, sample, name="second")  # kept up to date
    assert list(widget.cube.choices) == [cube, second]


# --------------------------------------------------------------------- errors before a run
def test_docks_report_a_cube_layer_they_cannot_use(make_napari_viewer, sample, notes):
    """A cube layer whose metadata wavelengths are NaN for its water-absorption bands (as some
    tools mark bad bands; not a valid cube): Cluster, Classify and Fuse each say why in one
    line (status and notification), nothing raised, nothing left running."""
    viewer = make_napari_viewer(show=True)
    wavelengths = [float(w) for w in sample.wavelengths]
    wavelengths[104:115] = [float("nan")] * 11
    bad = _add_sample(viewer, sample, name="bad bands", wavelengths=wavelengths)
    ms = _add_sample(viewer, sample.with_data(np.asarray(sample.data)[:4, ::2, ::2],
                                              wavelengths=sample.wavelengths[:4],
                                              fwhm=sample.fwhm[:4]), name="ms")
    _, cluster = viewer.window.add_plugin_dock_widget("hsikit", "Cluster")
    cluster.cube_combo.select(bad)
    cluster.run()
    _, classify = viewer.window.add_plugin_dock_widget("hsikit", "Classify")
    classify.cube_combo.select(bad)
    painted, _ = painted_sample_labels({1: 1, 2: 2})
    classify.labels_combo.select(viewer.add_labels(painted, name="strokes"))
    classify.run()
    _, fuse = viewer.window.add_plugin_dock_widget("hsikit", "Fuse")
    fuse.lr_combo.select(bad)
    fuse.hr_combo.select(ms)
    fuse.run()
    for widget in (cluster, classify, fuse):
        text = widget.status.text()
        assert text.startswith("error: ") and "wavelengths" in text and "\n" not in text
        assert not widget.job.running and widget.run_button.isEnabled()
    messages = _messages(notes)
    assert [m.split(":")[0] for m in messages] == ["cluster", "classify", "fuse"]
    assert all("\n" not in m for m in messages)


def test_cluster_run_twice_adds_one_result(make_napari_viewer, qtbot, sample):
    """Run asked for again while a run goes on (a second trigger): ignored, one result."""
    viewer = make_napari_viewer(show=True)
    _add_sample(viewer, sample)
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Cluster")
    widget.method_combo.setCurrentText("kmeans")
    widget.k_spin.setValue(3)
    widget.device_combo.setCurrentText("cpu")
    n_layers = len(viewer.layers)
    widget.run()
    widget.run()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    qtbot.wait(500)  # a second job's result would land by now
    assert len(viewer.layers) == n_layers + 2, [layer.name for layer in viewer.layers]


def test_labels_writer_keeps_codes_above_255(tmp_path):
    """A Labels layer with land-cover codes 7 and 300 (a classify result keeps painted codes)
    is written as a uint16 class map with those codes and their names, not refused or
    wrapped."""
    from hsi.io.labels import read_class_map
    from hsi.viewer._writer import write_labels

    labels = np.zeros((6, 5), np.int32)
    labels[:3], labels[4:] = 7, 300
    out = tmp_path / "codes.tif"
    write_labels(str(out), labels, {"name": "classes", "metadata": {
        "class_names": {7: "water", 300: "forest"}}})
    back, names, cmap = read_class_map(out)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, labels)
    assert names[7 - 1] == "water" and names[300 - 1] == "forest"
    assert 7 in cmap and 300 in cmap
