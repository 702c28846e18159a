"""Ctrl-S (napari's *Save Selected Layers* dialog) in a real viewer with hsikit's file type:
class maps keep CRS, transform, colour table and class names; cubes keep wavelengths."""

from __future__ import annotations

import numpy as np
import pytest

from tests.viewer.viewer_checks import SAMPLE_TRANSFORM

pytestmark = pytest.mark.gui


@pytest.fixture
def save_dialog(monkeypatch):
    """Answer napari's save dialog with ``target`` and hsikit's file type, as a user picks
    it (napari lists its own writers first outside pytest; npe2 has no writer priority)."""
    from qtpy.QtWidgets import QFileDialog

    answer: dict = {}

    def get_save_file_name(*args, filter="", **kwargs):  # Qt names it "filter"
        answer["filters"] = filter.split(";;")
        return str(answer["target"]), next(f for f in answer["filters"] if "hsikit" in f)

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(get_save_file_name))
    return answer


def _ctrl_s(viewer, layer) -> None:
    """What Ctrl-S does with ``layer`` selected."""
    viewer.layers.selection = {layer}
    viewer.window._qt_viewer._save_layers_dialog(selected=True)


def test_ctrl_s_on_a_class_map_writes_a_georeferenced_palette_geotiff(
        make_napari_viewer, sample, tmp_path, save_dialog):
    import rasterio

    from hsi.io.labels import read_labels
    from hsi.viewer._convert import georef_metadata

    viewer = make_napari_viewer(show=True)
    labels = np.zeros((83, 86), dtype=np.int32)
    labels[:30] = 1
    labels[30:, :40] = 2
    labels[60:, 50:] = 3
    names = {1: "Brocoli green weeds 1", 2: "Corn senesced green weeds", 3: "Lettuce romaine 4wk"}
    layer = viewer.add_labels(labels, name="class map",
                              metadata={**georef_metadata(sample), "class_names": names})
    save_dialog["target"] = tmp_path / "classes.tif"
    _ctrl_s(viewer, layer)
    assert any(f.startswith("hsikit class map") for f in save_dialog["filters"])
    back, crs, transform = read_labels(tmp_path / "classes.tif")
    np.testing.assert_array_equal(back, labels)
    assert crs == sample.crs and tuple(transform)[:6] == pytest.approx(SAMPLE_TRANSFORM)
    with rasterio.open(tmp_path / "classes.tif") as src:
        assert src.dtypes[0] == "uint8"
        cmap = src.colormap(1)
        tags = src.tags()
    for value in (1, 2, 3):  # the colours napari shows
        expected = tuple(round(float(c) * 255) for c in layer.get_color(value)[:3])
        assert cmap[value][:3] == pytest.approx(expected, abs=1)
        assert names[value] in tags["CLASS_NAMES"]


def test_ctrl_s_on_a_cube_writes_a_cube_geotiff(make_napari_viewer, sample, tmp_path,
                                                save_dialog):
    import hsi
    from hsi.viewer._convert import cube_layer_data

    viewer = make_napari_viewer(show=True)
    data, attrs, _ = cube_layer_data(sample, name="salinas")
    layer = viewer.add_image(data, **attrs)
    save_dialog["target"] = tmp_path / "cube.tif"
    _ctrl_s(viewer, layer)
    assert any(f.startswith("hsikit hyperspectral cube") for f in save_dialog["filters"])
    back = hsi.open(tmp_path / "cube.tif")
    assert back.shape == sample.shape
    np.testing.assert_allclose(back.wavelengths, sample.wavelengths)
    assert back.crs == sample.crs
