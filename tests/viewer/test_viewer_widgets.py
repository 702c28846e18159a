"""The plugin's dock widgets driven in a real viewer (Xvfb), results checked against hsi."""

from __future__ import annotations

import numpy as np
import pytest

from tests.viewer.viewer_checks import (
    JOB_WAIT_MS,
    canvas_std,
    click_pixel,
    colors_present,
    job_threads,
    painted_sample_labels,
)

pytestmark = pytest.mark.gui

WAIT_MS = JOB_WAIT_MS


def test_spectrum_click_plots_the_pixel_spectrum(sample_dock, qtbot, sample):


    viewer, layer, widget = sample_dock("Spectrum")
    assert widget.layer_combo.currentText() == layer.name

    # put pixel (row 30, col 40) under the canvas centre, zoomed in, then click there
    spec = click_pixel(viewer, qtbot, layer, widget, 30, 40)
    assert (spec.row, spec.col) == (30, 40)
    np.testing.assert_array_equal(spec.values, np.asarray(sample.data[:, 30, 40], np.float64))
    np.testing.assert_allclose(spec.x, sample.wavelengths)
    line = widget.axes.get_lines()[0]  # what the plot shows
    np.testing.assert_allclose(line.get_xdata(), sample.wavelengths)
    np.testing.assert_allclose(line.get_ydata(), sample.data[:, 30, 40])

    # pin it, plot a second pixel: both on the plot
    widget.pin()
    widget.show_pixel(5, 6)
    ys = [ln.get_ydata() for ln in widget.axes.get_lines()[:2]]
    np.testing.assert_allclose(ys[0], sample.data[:, 30, 40])
    np.testing.assert_allclose(ys[1], sample.data[:, 5, 6])

    # the band slider's wavelength readout
    viewer.dims.set_current_step(0, 50)
    assert widget.current_band() == 50
    assert f"{sample.wavelengths[50]:.1f} nm" in widget.readout.text()

    # plots follow the napari theme
    from matplotlib.colors import to_hex
    from napari.utils.theme import get_theme

    for theme in ("light", "dark"):
        viewer.theme = theme
        assert to_hex(widget.axes.get_facecolor()) == get_theme(theme).background.as_hex()
    assert canvas_std(viewer) > 5


def test_true_colour_adds_rgb_composite(sample_dock, sample):
    viewer, layer, widget = sample_dock("True colour")
    widget.cube.value = layer
    widget()
    rgb = viewer.layers["salinas true colour"]
    assert rgb.rgb and rgb.data.shape == (83, 86, 3)
    np.testing.assert_allclose(rgb.data, sample.rgb())
    wl = sample.wavelengths[rgb.metadata["rgb_bands"]]
    np.testing.assert_allclose(wl, [sample.wavelengths[np.argmin(abs(sample.wavelengths - nm))]
                                    for nm in (640, 550, 460)])
    assert rgb.scale == pytest.approx(layer.scale[1:])
    layer.visible = False
    shot = np.asarray(viewer.screenshot(canvas_only=True, flash=False))[..., :3].astype(float)
    assert canvas_std(viewer) > 5
    # a colour image: the channels differ somewhere
    assert np.abs(shot[..., 0] - shot[..., 2]).mean() > 1


@pytest.fixture
def pair_viewer(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    reference, lr, hr, _ = viewer.open_sample("hsikit", "fusion_pair")
    return viewer, reference, lr, hr


def test_fuse_widget_matches_hsi_fuse(pair_viewer, qtbot):
    from hsi.data import sample_cube
    from hsi.degrade import crop_to_ratio, simulate_pair
    from hsi.fusion import fuse
    from hsi.metrics import fusion_metrics

    viewer, reference, lr, hr = pair_viewer
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Fuse")
    assert (widget.lr_combo.currentText(), widget.hr_combo.currentText()) == (lr.name, hr.name)
    widget.ref_combo.select(reference)
    widget.set_method("glp")
    widget.device_combo.setCurrentText("cpu")
    n_layers = len(viewer.layers)
    widget.run_button.click()
    assert widget.job.running and not widget.run_button.isEnabled()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    assert widget.run_button.isEnabled()
    assert len(viewer.layers) == n_layers + 1, widget.status.text()
    fused = viewer.layers[-1]

    # the same as the CLI's function on the same pair, method and seed
    lr_cube, hr_cube = simulate_pair(sample_cube(), 4, "sentinel2")
    expected = fuse(lr_cube, hr_cube, method="glp", seed=0, device="cpu", progress=False)
    assert fused.data.shape == (204, 80, 84)
    np.testing.assert_array_equal(np.asarray(fused.data), np.asarray(expected.data))
    np.testing.assert_allclose(fused.metadata["wavelengths"], lr_cube.wavelengths)
    assert fused.scale == pytest.approx(hr.scale) and fused.translate == pytest.approx(hr.translate)

    ref = np.asarray(crop_to_ratio(sample_cube(), 4).data, np.float32)
    metrics = fusion_metrics(ref, np.asarray(expected.data, np.float32), 4)
    assert widget.last_metrics == pytest.approx(metrics)
    assert f"PSNR {metrics['psnr']:.2f} dB" in widget.metrics_label.text()
    assert canvas_std(viewer) > 5


def test_fuse_cancel_discards_result(pair_viewer, qtbot):
    viewer, _, _, _ = pair_viewer
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Fuse")
    widget.set_method("glp")
    n_layers = len(viewer.layers)
    widget.run_button.click()
    widget.cancel_button.click()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    assert len(viewer.layers) == n_layers
    assert widget.status.text() == "cancelled"
    assert widget.run_button.isEnabled() and not widget.cancel_button.isEnabled()


def test_fuse_cancel_stops_scene_fitting(pair_viewer, qtbot):
    """Cancel during "INFN (fit to scene)": the fitting itself stops, and no layer is added."""
    from hsi.fusion.fit import FIT_STEPS

    viewer, _, _, _ = pair_viewer
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Fuse")
    widget.set_method("infn", fit_scene=True)
    widget.device_combo.setCurrentText("cpu")
    widget.fit_minutes_spin.setValue(60.0)  # far more than the test waits for
    qtbot.waitUntil(lambda: not job_threads(), timeout=WAIT_MS)  # earlier tests' jobs
    n_layers = len(viewer.layers)
    widget.run_button.click()
    # determinate progress: the fitting steps plus one for the prediction
    bar = widget.progress_bar
    qtbot.waitUntil(lambda: bar.maximum() == FIT_STEPS + 1 and bar.value() >= 2,
                    timeout=WAIT_MS)
    assert widget.job._pbar.total == FIT_STEPS + 1  # napari's activity bar too
    assert len(job_threads()) == 1
    widget.cancel_button.click()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=5000)
    assert widget.status.text() == "cancelled"
    assert widget.run_button.isEnabled() and not widget.cancel_button.isEnabled()
    # the fitting thread ends at its next step (Cancelled), long before its budget
    qtbot.waitUntil(lambda: not job_threads(), timeout=30_000)
    assert bar.value() < FIT_STEPS
    qtbot.wait(200)  # let any late signal arrive
    assert len(viewer.layers) == n_layers
    assert widget.last_result is None


def test_fuse_widget_reports_swapped_pair(pair_viewer, qtbot):
    """HR-MSI picked as the LR-HSI and vice versa: one-line error, no layer added. The pair is
    checked in the background job (it imports torch), which stops at the check."""
    viewer, _, lr, hr = pair_viewer
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Fuse")
    widget.lr_combo.select(hr)
    widget.hr_combo.select(lr)
    n_layers = len(viewer.layers)
    widget.run_button.click()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    assert widget.status.text().startswith("error: ")
    assert "\n" not in widget.status.text()
    assert len(viewer.layers) == n_layers


def test_classify_widget_paint_train_legend_export(sample_dock, qtbot, sample, tmp_path):
    from hsi.data import sample_labels
    from hsi.io.labels import read_labels

    viewer, cube_layer, widget = sample_dock("Classify")
    labels_layer = widget.new_labels_layer()
    assert labels_layer.data.shape == (83, 86) and labels_layer.scale == pytest.approx((3.7, 3.7))

    # paint 12 ground-truth pixels per class, with non-consecutive label values
    truth, names = sample_labels()
    painted_values = {1: 3, 2: 5, 3: 8, 4: 11, 5: 12, 6: 20}
    painted, _ = painted_sample_labels(painted_values)
    labels_layer.data[...] = painted
    labels_layer.refresh()
    widget.refresh_classes()
    assert widget.table.rowCount() == 6
    widget.set_class_name(3, names[0])
    widget.epochs_spin.setValue(3)
    widget.members_spin.setValue(1)  # one discriminator: the dock's path, a fifth of the time
    widget.device_combo.setCurrentText("cpu")
    widget.run_button.click()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
    class_layer = widget.class_map_layer
    assert class_layer is not None, widget.status.text()
    assert viewer.layers[-1].name == class_layer.name
    class_map = np.asarray(class_layer.data)
    values = set(np.unique(class_map)) - {0}
    assert len(values) > 1 and values <= set(painted_values.values())
    # the painted values come back: the map agrees with the ground truth where it has one
    truth_as_painted = np.vectorize(lambda k: painted_values.get(k, 0))(truth)
    known = truth > 0
    assert (class_map[known] == truth_as_painted[known]).mean() > 0.9

    legend = widget.legend_rows()
    assert len(legend) == 6
    assert legend[0][0] == names[0]
    assert sum(count for _, _, count in legend) == int((class_map > 0).sum())
    for (_, rgb, count), value in zip(legend, sorted(painted_values.values()), strict=True):
        assert count == int((class_map == value).sum())
        expected = np.round(labels_layer.colormap.map(np.asarray([value]))[0][:3] * 255)
        assert rgb == pytest.approx(tuple(expected), abs=1)
    probs = widget.probabilities
    assert probs.shape == (6, 83, 86)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-4)
    np.testing.assert_array_equal(viewer.layers["salinas class probability"].data,
                                  probs.max(axis=0))
    entropy = -(np.clip(probs, 1e-12, 1) * np.log(np.clip(probs, 1e-12, 1))).sum(0) / np.log(6)
    np.testing.assert_allclose(viewer.layers["salinas uncertainty"].data, entropy, atol=1e-5)

    # the class colours are on the canvas
    cube_layer.visible = False
    labels_layer.visible = False
    class_layer.opacity = 1.0
    assert canvas_std(viewer) > 5
    present = colors_present(viewer, [rgb for _, rgb, count in legend if count > 200])
    assert present and all(present)

    # export: GeoTIFF with the map, georeference and colours
    out = tmp_path / "classes.tif"
    widget.export(str(out))
    back, crs, transform = read_labels(out)
    assert tuple(transform)[:6] == pytest.approx(tuple(sample.transform)[:6])
    np.testing.assert_array_equal(back, class_map)
    assert crs == sample.crs


def test_classify_cancel_stops_training(sample_dock, qtbot):
    """Cancel during training: the training thread stops at its next step, no layer is added."""
    import math

    from hsi.classification import GanConfig
    from hsi.data import sample_labels

    viewer, _, widget = sample_dock("Classify")
    labels_layer = widget.new_labels_layer()
    truth, _ = sample_labels()
    painted = np.zeros_like(truth)
    for k in (1, 2):
        rows, cols = np.nonzero(truth == k)
        painted[rows[:10], cols[:10]] = k
    labels_layer.data = painted
    epochs = 1000  # far more than the test waits for
    widget.epochs_spin.setValue(epochs)
    widget.crf_check.setChecked(False)
    assert widget.members_spin.value() == GanConfig().members  # the library's default
    members = 2  # the dock's choice reaches the training
    widget.members_spin.setValue(members)
    widget.device_combo.setCurrentText("cpu")
    qtbot.waitUntil(lambda: not job_threads(), timeout=WAIT_MS)  # earlier tests' jobs
    n_layers = len(viewer.layers)
    widget.run_button.click()
    # determinate progress: every training step (batch 64 over the 83 × 86 pixels) + predict
    total = members * epochs * math.ceil(83 * 86 / 64) + 1
    bar = widget.progress_bar
    qtbot.waitUntil(lambda: bar.maximum() == total and bar.value() >= 2, timeout=WAIT_MS)
    assert widget.job._pbar.total == total
    assert len(job_threads()) == 1
    widget.cancel_button.click()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=5000)
    assert widget.status.text() == "cancelled"
    assert widget.run_button.isEnabled() and not widget.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not job_threads(), timeout=30_000)
    assert bar.value() < total // 10
    qtbot.wait(200)  # let any late signal arrive
    assert len(viewer.layers) == n_layers
    assert widget.class_map_layer is None and widget.classifier is None


def test_fuse_widget_shows_the_warnings_a_terminal_user_reads(pair_viewer, qtbot):
    """The reference cube (204 bands) picked as the HR-MSI: the job runs, and the warning
    ``hsi fuse`` prints on stderr reaches the napari user as a warning notification."""
    from napari.utils.notifications import NotificationSeverity, notification_manager

    viewer, reference, _, _ = pair_viewer
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Fuse")
    widget.hr_combo.select(reference)
    widget.set_method("glp")
    widget.device_combo.setCurrentText("cpu")
    seen: list = []
    notification_manager.notification_ready.connect(seen.append)
    try:
        widget.run_button.click()
        qtbot.waitUntil(lambda: not widget.job.running, timeout=WAIT_MS)
        qtbot.wait(50)  # queued signals from the job's thread
    finally:
        notification_manager.notification_ready.disconnect(seen.append)
    warnings = [str(n.message) for n in seen if n.severity == NotificationSeverity.WARNING]
    assert any("the HR-MSI has 204 bands, as many as the LR-HSI's 204" in m
               for m in warnings), [str(n.message) for n in seen]
    assert all("\n" not in m for m in warnings)
