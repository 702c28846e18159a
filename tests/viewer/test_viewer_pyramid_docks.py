"""Every hsikit dock and writer on layers shown as multiscale pyramids, in a real viewer (Xvfb).

A big cube file opens as a pyramid (:func:`hsi.viewer._convert.pyramid`): ``layer.data`` is
napari's ``MultiScaleData``, a list of levels that takes no tuple index, whose ``data[i]`` is a
level (not a band) and whose ``np.asarray`` is its *coarsest* level. Whatever a dock reads must
come from the full-resolution level. The shipped 83 × 86 sample as a 2-level pyramid stands in
for a big scene; a Labels layer can be multiscale too (e.g. a big ground truth).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.viewer.viewer_checks import JOB_WAIT_MS, click_pixel, painted_sample_labels

pytestmark = pytest.mark.gui

WAIT_MS = JOB_WAIT_MS


def _pyramid(data) -> list:
    """2 levels: ``data`` and every 2nd pixel of it (rows and columns, the last two axes)."""
    return [data, data[..., ::2, ::2]]


def _pyramid_layer(viewer, cube, name="salinas", **kwargs):
    """``cube`` as a 2-level multiscale image layer, as the reader shows a big cube."""
    from hsi.viewer._convert import cube_layer_data

    data, attrs, _ = cube_layer_data(cube, name=name, **kwargs)
    layer = viewer.add_image(_pyramid(data), **{**attrs, "multiscale": True})
    assert layer.multiscale and layer.data.shape == cube.shape
    return layer


def _multiscale_labels(viewer, labels, cube_layer, **kwargs):
    layer = viewer.add_labels(_pyramid(labels), multiscale=True, scale=cube_layer.scale[1:],
                              translate=cube_layer.translate[1:], **kwargs)
    assert layer.multiscale and layer.data.shape == labels.shape
    return layer


def test_spectrum_click_pin_and_export_on_a_pyramid(make_napari_viewer, qtbot, sample,
                                                     tmp_path):
    """A click plots the full-resolution pixel, the pin marks it, the CSV holds it."""
    import csv


    viewer = make_napari_viewer(show=True)
    layer = _pyramid_layer(viewer, sample)
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Spectrum")
    spec = click_pixel(viewer, qtbot, layer, widget, 31, 41)
    assert (spec.row, spec.col) == (31, 41)  # an odd pixel: not on the coarse level's grid
    np.testing.assert_array_equal(spec.values, np.asarray(sample.data[:, 31, 41], np.float64))
    widget.pin()
    np.testing.assert_allclose(widget.pin_layer.data, [layer.data_to_world((0, 31, 41))[1:]])
    viewer.dims.set_current_step(0, 50)
    assert widget.current_band() == 50 and f"band 50 of {sample.bands}" in widget.readout.text()
    path = widget.export_csv(tmp_path / "spectra.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    np.testing.assert_allclose([float(r["pixel_r31_c41"]) for r in rows],
                               sample.data[:, 31, 41], rtol=1e-6)


def test_roi_spectra_from_a_multiscale_labels_layer(make_napari_viewer, qtbot, sample):
    """Each label value of a multiscale Labels layer is a region of its full-resolution level
    (``np.asarray`` of the layer's data was its coarsest level, mapped as if it were level 0:
    regions a quarter of their size, in the wrong place)."""
    viewer = make_napari_viewer(show=True)
    layer = _pyramid_layer(viewer, sample)
    labels = np.zeros((83, 86), np.int32)
    labels[10:21, 30:46] = 1
    labels[50:70, 5:25] = 4
    roi_layer = _multiscale_labels(viewer, labels, layer, name="regions")
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Spectrum")
    widget.roi_combo.select(roi_layer)
    qtbot.waitUntil(lambda: not widget.roi_job.running and not widget._roi_timer.isActive()
                    and len(widget.rois) == 2, timeout=WAIT_MS)
    data = np.asarray(sample.data, np.float64)
    for roi, value in zip(widget.rois, (1, 4), strict=True):
        mask = labels == value
        assert roi.name == f"label_{value}" and roi.pixels == mask.sum()
        np.testing.assert_allclose(roi.mean, data[:, mask].mean(axis=1), rtol=1e-6)


def test_band_math_true_colour_and_contrast_on_a_pyramid(make_napari_viewer, qtbot, sample):
    """Band math and true colour read the full-resolution level; the band slider's contrast
    follows the band shown."""
    from hsi.viewer._band_math import evaluate
    from hsi.viewer._band_slider import follow_band_slider
    from hsi.viewer._convert import band_contrast_limits

    viewer = make_napari_viewer(show=True)
    layer = _pyramid_layer(viewer, sample)
    _, math = viewer.window.add_plugin_dock_widget("hsikit", "Band math")
    math.compute()
    qtbot.waitUntil(lambda: not math.job.running, timeout=WAIT_MS)
    assert math.result_layer is not None, math.status.text()
    expected, _ = evaluate(math.expression, np.asarray(sample.data), sample.wavelengths)
    np.testing.assert_array_equal(math.result_layer.data, expected)
    assert math.result_layer.scale == pytest.approx(layer.scale[1:])

    _, colour = viewer.window.add_plugin_dock_widget("hsikit", "True colour")
    colour.cube.value = layer
    colour()
    rgb = viewer.layers["salinas true colour"]
    np.testing.assert_allclose(rgb.data, sample.rgb())

    follow_band_slider(viewer)
    viewer.dims.set_current_step(0, 10)
    qtbot.waitUntil(lambda: layer.contrast_limits == pytest.approx(
        band_contrast_limits(np.asarray(sample.data), 10)), timeout=10_000)


def test_cluster_on_a_pyramid(make_napari_viewer, qtbot, sample):
    from hsi.clustering.files import cluster_cube

    viewer = make_napari_viewer(show=True)
    layer = _pyramid_layer(viewer, sample)
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Cluster")
    widget.method_combo.setCurrentText("kmeans")
    widget.k_spin.setValue(3)
    widget.device_combo.setCurrentText("cpu")
    widget.run()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    assert widget.result_layer is not None, widget.status.text()
    expected = cluster_cube(sample, 3, method="kmeans", seed=0, device="cpu", progress=False)
    np.testing.assert_array_equal(widget.result_layer.data, expected.labels)
    assert widget.result_layer.scale == pytest.approx(layer.scale[1:])


def test_classify_on_a_pyramid_painted_and_multiscale_labels(make_napari_viewer, qtbot, sample,
                                                              tmp_path):
    """Painted labels over a pyramid cube train and predict on full resolution; a multiscale
    Labels layer (a big ground truth) trains on its full-resolution level: the class table
    counted the coarsest level's pixels and *Train* refused its shape."""
    from hsi.io.labels import read_labels

    viewer = make_napari_viewer(show=True)
    layer = _pyramid_layer(viewer, sample)
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Classify")
    widget.epochs_spin.setValue(1)
    widget.members_spin.setValue(1)  # one discriminator: quicker
    widget.crf_check.setChecked(False)
    widget.device_combo.setCurrentText("cpu")

    painted_layer = widget.new_labels_layer()
    assert painted_layer.data.shape == (83, 86)
    assert painted_layer.scale == pytest.approx(layer.scale[1:])
    painted, _ = painted_sample_labels({1: 1, 2: 2, 3: 3})
    painted_layer.data[...] = painted
    painted_layer.refresh()
    widget.run()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    class_map = widget.class_map_layer
    assert class_map is not None, widget.status.text()
    assert class_map.data.shape == (83, 86) and widget.probabilities.shape == (3, 83, 86)
    widget.export(str(tmp_path / "classes.tif"))
    back, _, transform = read_labels(tmp_path / "classes.tif")
    np.testing.assert_array_equal(back, class_map.data)
    assert tuple(transform)[:6] == pytest.approx(tuple(sample.transform)[:6])

    truth, _ = painted_sample_labels({1: 4, 2: 5}, per_class=20, seed=1)
    truth_layer = _multiscale_labels(viewer, truth, layer, name="ground truth")
    widget.labels_combo.select(truth_layer)
    widget.refresh_classes()
    assert [(v, n) for v, _, n in widget.class_table()] == [(4, 20), (5, 20)]
    widget.run()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    assert widget.class_map_layer is not class_map, widget.status.text()
    assert set(np.unique(widget.class_map_layer.data)) <= {0, 4, 5}
    assert widget.class_map_layer.data.shape == (83, 86)


def test_fuse_pyramid_lr_and_hr_layers(make_napari_viewer, qtbot):
    """LR-HSI, HR-MSI and reference as pyramids: the same fused cube and metrics as the
    full-resolution cubes give."""
    from hsi.fusion import fuse
    from hsi.viewer._convert import cube_from_layer

    viewer = make_napari_viewer(show=True)
    reference, lr, hr, _ = viewer.open_sample("hsikit", "fusion_pair")
    cubes = {}
    for old in (reference, lr, hr):
        cubes[old.name] = cube_from_layer(old.data, old.metadata, name=old.name)
        attrs = {"name": old.name, "metadata": old.metadata, "scale": old.scale,
                 "translate": old.translate, "visible": old.visible}
        viewer.layers.remove(old)
        assert viewer.add_image(_pyramid(old.data), multiscale=True, **attrs).multiscale
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Fuse")
    widget.lr_combo.setCurrentText(lr.name)
    widget.hr_combo.setCurrentText(hr.name)
    widget.ref_combo.setCurrentText(reference.name)
    widget.set_method("glp")
    widget.device_combo.setCurrentText("cpu")
    widget.run()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    assert widget.last_result is not None, widget.status.text()
    expected = fuse(cubes[lr.name], cubes[hr.name], method="glp", seed=0, device="cpu",
                    progress=False)
    fused = viewer.layers[-1]
    assert fused.data.shape == (204, 80, 84)
    np.testing.assert_array_equal(np.asarray(fused.data), np.asarray(expected.data))
    assert widget.last_metrics and "PSNR" in widget.metrics_label.text()


def test_save_a_pyramid_cube_beside_an_empty_shapes_layer(make_napari_viewer, sample,
                                                          tmp_path):
    """Saving checks the output is no layer's input file; an empty Shapes layer's data (an
    empty list) was taken for a pyramid and its level 0 asked for: IndexError, nothing saved."""
    import hsi

    viewer = make_napari_viewer(show=True)
    layer = _pyramid_layer(viewer, sample)
    viewer.add_shapes(name="regions")  # added to draw ROIs, nothing drawn yet
    [path] = layer.save(str(tmp_path / "cube.tif"), plugin="hsikit")
    back = hsi.open(path)
    np.testing.assert_array_equal(np.asarray(back.data), np.asarray(sample.data))
    np.testing.assert_allclose(back.wavelengths, sample.wavelengths)


def test_save_a_multiscale_labels_layer_at_full_resolution(make_napari_viewer, sample,
                                                           tmp_path):
    """A multiscale Labels layer is written from its full-resolution level (``np.asarray``
    of it was the coarsest level, written with level 0's geotransform)."""
    from hsi.io.labels import read_labels
    from hsi.viewer._convert import georef_metadata

    viewer = make_napari_viewer(show=True)
    layer = _pyramid_layer(viewer, sample)
    truth, _ = painted_sample_labels()
    labels = _multiscale_labels(viewer, truth, layer, name="ground truth",
                                metadata=georef_metadata(sample))
    [path] = labels.save(str(tmp_path / "truth.tif"), plugin="hsikit")
    back, crs, transform = read_labels(path)
    np.testing.assert_array_equal(back, truth)
    assert crs == sample.crs
    assert tuple(transform)[:6] == pytest.approx(tuple(sample.transform)[:6])
