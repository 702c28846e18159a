"""Fixtures of the I/O tests: big cubes written once per session."""

from __future__ import annotations

import pytest

from tests.io.big_cubes import write_big_envi, write_big_geotiff


@pytest.fixture(scope="session")
def big_tif(tmp_path_factory):
    """A 384 MiB (uncompressed) int16 GeoTIFF of 48 bands in 256 × 256 tiles."""
    return write_big_geotiff(tmp_path_factory.mktemp("big") / "big.tif")


@pytest.fixture(scope="session")
def big_envi(tmp_path_factory):
    """A 384 MiB sparse BIL ENVI cube (header path)."""
    return write_big_envi(tmp_path_factory.mktemp("big_envi") / "big.hdr")
