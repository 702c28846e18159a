"""Multi-threaded GeoTIFF compression (GDAL ``NUM_THREADS``): same file content, more cores."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

import hsi
import hsi.io.geotiff as geotiff
from hsi.io.geotiff import GeoTiffTileWriter, compression_threads, geotiff_profile, write_geotiff

T = Affine(30.0, 0.0, 553_410.0, 0.0, -30.0, 4_182_690.0)


@pytest.fixture()
def cube():
    """A float32 cube of 4 × 3 tiles of 64 px (several tiles for the workers)."""
    rng = np.random.default_rng(7)
    data = np.cumsum(rng.normal(0, 0.01, (5, 200, 150)), axis=0).astype(np.float32)
    return hsi.Cube(data, wavelengths=np.linspace(450, 850, 5), crs="EPSG:32610", transform=T,
                    nodata=-9999.0)


def _structure(path):
    with rasterio.open(path) as src:
        image = src.tags(ns="IMAGE_STRUCTURE")
        return (src.read(), src.block_shapes, image.get("COMPRESSION"), image.get("PREDICTOR"),
                src.crs, src.transform, src.nodata, src.descriptions)


def test_profile_asks_for_one_compression_thread_per_cpu():
    profile = geotiff_profile(bands=2, height=8, width=8, dtype="float32", crs=None,
                              transform=None, nodata=None)
    assert profile["num_threads"] == str(compression_threads())
    assert profile["compress"] == "zstd" and profile["predictor"] == 2


def test_compression_threads_follow_the_cpu_set(monkeypatch):
    monkeypatch.setattr(geotiff.os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert compression_threads() == 1


def test_gdal_honours_the_thread_count(tmp_path, cube, caplog):
    """GDAL logs (CPL_DEBUG) the workers it starts for the NUM_THREADS creation option."""
    with caplog.at_level(logging.DEBUG, logger="rasterio._env"), rasterio.Env(CPL_DEBUG=True):
        write_geotiff(cube, tmp_path / "c.tif", tile=64)
    assert any("threads for compression" in r.getMessage() for r in caplog.records), \
        [r.getMessage() for r in caplog.records if "GTiff" in r.getMessage()]


def test_threaded_write_reads_back_like_a_single_threaded_one(tmp_path, cube, monkeypatch):
    threaded = write_geotiff(cube, tmp_path / "threaded.tif", tile=64)
    real = geotiff.geotiff_profile

    def one_thread(**kwargs):
        profile = real(**kwargs)
        del profile["num_threads"]
        return profile

    monkeypatch.setattr(geotiff, "geotiff_profile", one_thread)
    single = write_geotiff(cube, tmp_path / "single.tif", tile=64)
    a, b = _structure(threaded), _structure(single)
    np.testing.assert_array_equal(a[0], cube.data)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:] == b[1:]
    assert a[2:4] == ("ZSTD", "2")


def test_tile_writer_compresses_with_threads(tmp_path, cube):
    """The writer of ``fuse_files`` and classification prediction shares the profile."""
    path = tmp_path / "tiles.tif"
    with GeoTiffTileWriter(path, bands=cube.bands, height=cube.height, width=cube.width,
                           dtype="float32", crs=cube.crs, transform=T, nodata=None,
                           wavelengths=cube.wavelengths, fwhm=None, tile=64) as writer:
        assert writer.profile["num_threads"] == str(compression_threads())
        for r0 in range(0, cube.height, 64):
            for c0 in range(0, cube.width, 64):
                h, w = min(64, cube.height - r0), min(64, cube.width - c0)
                writer.write(cube.data[:, r0:r0 + h, c0:c0 + w], Window(c0, r0, w, h))
    data, _, compression, predictor, *_ = _structure(path)
    np.testing.assert_array_equal(data, cube.data)
    assert (compression, predictor) == ("ZSTD", "2")
