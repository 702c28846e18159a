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


@pytest.fixture(scope="session")
def big_tif(tmp_path_factory):
    """A 384 MiB (uncompressed) int16 GeoTIFF, 48 bands in 256 × 256 tiles, nodata collar."""
    from tests.io.big_cubes import write_big_geotiff

    return write_big_geotiff(tmp_path_factory.mktemp("big") / "big.tif")


@pytest.fixture(scope="session")
def big_envi(tmp_path_factory):
    """A 384 MiB sparse BIL ENVI cube (header path)."""
    from tests.io.big_cubes import write_big_envi

    return write_big_envi(tmp_path_factory.mktemp("big_envi") / "big.hdr")
