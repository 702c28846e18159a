"""Fixtures for the napari plugin tests (real viewers under Xvfb via pytest-xvfb)."""

from __future__ import annotations

import pytest

pytest.importorskip("napari")

from tests.viewer.viewer_checks import SAMPLE_CRS, SAMPLE_TRANSFORM


@pytest.fixture(scope="session")
def sample():
    """The shipped Salinas-A cube (204 × 83 × 86), given a UTM georeference."""
    from affine import Affine

    from hsi.data import sample_cube

    cube = sample_cube()
    return cube.with_data(cube.data, crs=SAMPLE_CRS, transform=Affine(*SAMPLE_TRANSFORM))


@pytest.fixture(scope="session")
def sample_tif(sample, tmp_path_factory):
    """The georeferenced sample written as a GeoTIFF by :func:`hsi.save`."""
    import hsi

    return hsi.save(sample, tmp_path_factory.mktemp("viewer") / "salinas_a.tif")


@pytest.fixture
def sample_dock(make_napari_viewer, sample):
    """``sample_dock(name)``: a shown viewer holding the sample as the cube layer ``salinas``
    and the hsikit dock ``name`` (as the plugin menu names it) opened beside it:
    ``(viewer, cube_layer, widget)``."""
    from hsi.viewer._convert import cube_layer_data

    def open_dock(name: str):
        viewer = make_napari_viewer(show=True)
        data, attrs, _ = cube_layer_data(sample, name="salinas")
        cube_layer = viewer.add_image(data, **attrs)
        _, widget = viewer.window.add_plugin_dock_widget("hsikit", name)
        return viewer, cube_layer, widget

    return open_dock


@pytest.fixture
def notes():
    """The napari notifications shown during the test (``.message`` gives each one's text)."""
    from napari.utils.notifications import notification_manager

    seen: list = []
    notification_manager.notification_ready.connect(seen.append)
    yield seen
    notification_manager.notification_ready.disconnect(seen.append)
