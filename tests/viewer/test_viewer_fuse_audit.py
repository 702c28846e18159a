"""An analyst fuses a real LR-HSI / HR-MSI GeoTIFF pair in napari: opened with hsikit's reader,
fused in the Fuse dock with its default method, saved with Ctrl-S through hsikit's writer."""

from __future__ import annotations

import numpy as np
import pytest

from tests.viewer.viewer_checks import JOB_WAIT_MS, SAMPLE_CRS

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def pair_files(tmp_path_factory):
    """``(lr_hsi.tif, hr_msi.tif, lr_100.tif, reference.tif)``: the georeferenced sample seen
    at x4 by Sentinel-2 (as ``hsi simulate``), the LR-HSI's first 100 bands (a band count no
    shipped checkpoint has), and the sample on the HR-MSI's grid."""
    from affine import Affine

    import hsi
    from hsi.data import sample_cube
    from hsi.degrade import crop_to_ratio, simulate_pair

    cube = sample_cube()
    cube = cube.with_data(cube.data, crs=SAMPLE_CRS,
                          transform=Affine(3.7, 0, 600000, 0, -3.7, 4050000))
    lr, hr = simulate_pair(cube, 4, "sentinel2")
    folder = tmp_path_factory.mktemp("fuse_audit")
    lr100 = lr.with_data(lr.data[:100], wavelengths=lr.wavelengths[:100], fwhm=lr.fwhm[:100])
    return (hsi.save(lr, folder / "lr_hsi.tif"), hsi.save(hr, folder / "hr_msi.tif"),
            hsi.save(lr100, folder / "lr_100.tif"),
            hsi.save(crop_to_ratio(cube, 4), folder / "reference.tif"))


def _fuse(viewer, qtbot, lr_path, hr_path):
    """Open the pair with hsikit's reader, open the Fuse dock and press Fuse (on the CPU)."""
    lr = viewer.open(str(lr_path), plugin="hsikit")[0]
    hr = viewer.open(str(hr_path), plugin="hsikit")[0]
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Fuse")
    assert (widget.lr_combo.layer(), widget.hr_combo.layer()) == (lr, hr)
    widget.device_combo.setCurrentText("cpu")
    n_layers = len(viewer.layers)
    widget.run_button.click()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=JOB_WAIT_MS)
    qtbot.wait(50)  # queued warnings from the job's thread
    assert len(viewer.layers) == n_layers + 1, widget.status.text()
    return widget, hr, viewer.layers[-1]


def test_default_method_is_auto_and_the_layer_names_what_ran(
        make_napari_viewer, qtbot, notes, pair_files, tmp_path, monkeypatch):
    """The dock's default was "INFN (checkpoint)", which ran a checkpoint ``hsi fuse`` (auto)
    does not use for this pair (not validated at x4) and failed outright on a pair with no
    checkpoint. Now ``auto`` runs, as ``hsi fuse``: GLP here, said in the status, a warning
    and the layer's name; the layer, saved with Ctrl-S, is a GeoTIFF ``hsi info`` reads."""
    from click.testing import CliRunner
    from qtpy.QtWidgets import QFileDialog

    import hsi
    from hsi.cli.info import info

    viewer = make_napari_viewer(show=True)
    lr_path, hr_path, *_ = pair_files
    widget, hr, fused = _fuse(viewer, qtbot, lr_path, hr_path)
    assert widget.method_combo.currentText().startswith("auto")
    assert fused.name == "lr_hsi fused (GLP)"
    assert fused.metadata["method"] == "glp"
    assert widget.status.text().endswith("; auto chose GLP"), widget.status.text()
    assert any(str(n.message).startswith("fusing (auto): using GLP: no shipped INFN")
               for n in notes), [str(n.message) for n in notes]
    # overlaid on the HR-MSI, band slider in nm
    assert fused.scale == pytest.approx(hr.scale) and fused.translate == pytest.approx(hr.translate)
    assert len(fused.metadata["wavelengths"]) == 204

    target = tmp_path / "fused.tif"

    def get_save_file_name(*args, filter="", **kwargs):  # napari's save dialog, answered
        return str(target), next(f for f in filter.split(";;") if "hsikit" in f)

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(get_save_file_name))
    viewer.layers.selection = {fused}
    viewer.window._qt_viewer._save_layers_dialog(selected=True)
    back, source = hsi.open(target), hsi.open(hr_path)
    assert back.crs == source.crs and back.transform == source.transform
    assert np.isnan(back.nodata) and back.wavelengths == pytest.approx(
        hsi.open(lr_path).wavelengths)
    np.testing.assert_array_equal(np.asarray(back.data), np.asarray(fused.data))
    said = CliRunner().invoke(info, [str(target)])
    assert said.exit_code == 0 and "EPSG:32610" in said.output and "nodata:      nan" in said.output


def test_pair_without_a_checkpoint_fuses_by_default(make_napari_viewer, qtbot, notes,
                                                    pair_files):
    """100 LR bands: no shipped checkpoint. The old default ("INFN (checkpoint)") failed with
    ``give model=PATH, use fit_scene=True, or method='glp'``; ``auto`` fuses with GLP."""
    viewer = make_napari_viewer(show=True)
    _, hr_path, lr100_path, _ = pair_files
    widget, _, fused = _fuse(viewer, qtbot, lr100_path, hr_path)
    assert widget.status.text().endswith("; auto chose GLP"), widget.status.text()
    assert fused.name == "lr_100 fused (GLP)" and fused.data.shape == (100, 80, 84)
    assert not any("model=PATH" in str(n.message) for n in notes)


def test_pair_in_another_crs_is_refused_with_a_command_on_the_real_file(
        make_napari_viewer, qtbot, notes, pair_files, tmp_path):
    """An HR-MSI in another UTM zone: refused before anything runs, with the ``gdalwarp`` call
    that fixes it. It named the layer (``gdalwarp ... hr_utm11 OUT.tif``, no such file); it
    names the file the layer was read from, as ``hsi fuse`` does."""
    import hsi

    lr_path, hr_path, *_ = pair_files
    moved = tmp_path / "hr_utm11.tif"
    hsi.save(hsi.open(hr_path).with_data(hsi.open(hr_path).data, crs="EPSG:32611"), moved)
    viewer = make_napari_viewer(show=True)
    viewer.open(str(lr_path), plugin="hsikit")
    viewer.open(str(moved), plugin="hsikit")
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Fuse")
    widget.device_combo.setCurrentText("cpu")
    n_layers = len(viewer.layers)
    widget.run_button.click()
    qtbot.waitUntil(lambda: not widget.job.running, timeout=JOB_WAIT_MS)
    assert len(viewer.layers) == n_layers
    text = widget.status.text()
    assert text.startswith("error: CRS differ: LR-HSI is EPSG:32610, HR-MSI is EPSG:32611")
    assert text.endswith(f" {moved} OUT.tif"), text
    assert [str(n.message) for n in notes] == [f"fuse: {text.removeprefix('error: ')}"]


def test_pair_preselected_as_the_files_are_opened(make_napari_viewer, pair_files):
    """The dock opened first, then reference.tif, lr_hsi.tif and hr_msi.tif (``hsi simulate``'s
    files): the reference (as many bands as the LR-HSI) was preselected as the HR-MSI and kept
    once the HR-MSI came. The preselection follows the layers until the user picks a pair."""
    lr_path, hr_path, _, ref_path = pair_files
    viewer = make_napari_viewer(show=True)
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Fuse")
    for path in (ref_path, lr_path, hr_path):
        viewer.open(str(path), plugin="hsikit")
    assert (widget.lr_combo.currentText(), widget.hr_combo.currentText()) == ("lr_hsi", "hr_msi")
    widget.hr_combo.select(viewer.layers["reference"])  # the user's choice stays
    viewer.open(str(lr_path), plugin="hsikit")
    assert (widget.lr_combo.currentText(), widget.hr_combo.currentText()) == (
        "lr_hsi", "reference")
