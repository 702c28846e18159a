"""Georeference and nodata survive the commands that write rasters.

Found by an audit with georeferenced inputs (UTM north-up, EPSG:4326, rotated, sheared,
south-up; a diagonal nodata wedge and NaN holes):

- ENVI: a south-up grid (positive y pixel size) was written without ``rotation=180``, so
  hsikit and GDAL read it back north-up (mirrored, its origin the wrong edge); a GDAL-written
  south-up header (``rotation=180``) was read north-up; a sheared or mirrored transform,
  which ``map info`` cannot hold, was replaced by another grid silently.
- ``Cube.pixel_size`` (``hsi info``) read only ``a`` and ``e``: 3.53 m for a 3.7 m pixel
  rotated by 17°; ``Cube.bounds`` of a south-up grid had its bottom above its top.
- The simulated LR-HSI / HR-MSI and the fused image are NaN where they have no data but
  declared no nodata value, so GIS readers took NaN for a value.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS

import hsi
from hsi import Cube
from hsi.cube import valid_mask

UTM = CRS.from_epsg(32610)
NORTH_UP = Affine(3.7, 0.0, 600000.0, 0.0, -3.7, 4100000.0)
SOUTH_UP = Affine(3.7, 0.0, 600000.0, 0.0, 3.7, 4000000.0)
ROTATED = Affine.translation(600000.0, 4100000.0) @ Affine.rotation(20) @ Affine.scale(3.7, -3.7)
SHEARED = Affine(3.7, 0.5, 600000.0, 0.2, -3.7, 4100000.0)


def _cube(transform: Affine, shape: tuple[int, int, int] = (3, 5, 6), **kw) -> Cube:
    data = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    return Cube(data, wavelengths=[500.0, 600.0, 700.0][:shape[0]], crs=UTM,
                transform=transform, **kw)


def _gdal_transform(hdr) -> tuple[float, ...]:
    with rasterio.open(hdr.with_suffix(".img")) as ds:
        return tuple(ds.transform)[:6]


# ------------------------------------------------------------------------------------ ENVI
@pytest.mark.parametrize("transform", [NORTH_UP, SOUTH_UP, ROTATED], ids=["north", "south", "rot"])
def test_envi_keeps_north_up_south_up_and_rotated_grids(tmp_path, caplog, transform):
    with caplog.at_level(logging.WARNING, logger="hsi.io"):
        hdr = hsi.save(_cube(transform), tmp_path / "c.hdr")
    assert "cannot hold" not in caplog.text
    back = hsi.open(hdr)
    assert back.crs == UTM
    np.testing.assert_allclose(tuple(back.transform)[:6], tuple(transform)[:6], rtol=0,
                               atol=1e-9)
    # GDAL (QGIS, gdalwarp) reads the same grid from the header
    np.testing.assert_allclose(_gdal_transform(hdr), tuple(transform)[:6], rtol=0, atol=1e-9)


def test_envi_south_up_is_written_as_gdal_writes_it(tmp_path):
    hdr = hsi.save(_cube(SOUTH_UP), tmp_path / "c.hdr")
    info = next(line for line in hdr.read_text().splitlines() if line.startswith("map info"))
    assert "rotation=180" in info and ", 3.7 , 3.7 ," in info


def test_envi_reads_a_gdal_written_south_up_header(tmp_path):
    path = tmp_path / "gdal.img"
    with rasterio.open(path, "w", driver="ENVI", width=4, height=3, count=1, dtype="float32",
                       crs=UTM, transform=SOUTH_UP) as ds:
        ds.write(np.ones((1, 3, 4), dtype=np.float32))
    assert "rotation=180" in path.with_suffix(".hdr").read_text()
    assert hsi.open(path.with_suffix(".hdr")).transform == SOUTH_UP


def test_envi_warns_for_a_transform_map_info_cannot_hold(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="hsi.io"):
        hsi.save(_cube(SHEARED), tmp_path / "c.hdr")
    assert "ENVI map info cannot hold the transform" in caplog.text
    assert "GeoTIFF" in caplog.text


# ------------------------------------------------------------------------------ cube grid
def test_pixel_size_of_a_rotated_grid_is_the_pixel_side():
    cube = _cube(ROTATED)
    np.testing.assert_allclose(cube.pixel_size, (3.7, 3.7), rtol=1e-12)


def test_bounds_of_a_south_up_grid_are_ordered():
    cube = _cube(SOUTH_UP)  # 5 rows, 6 columns
    assert cube.bounds == pytest.approx((600000.0, 4000000.0, 600000.0 + 6 * 3.7,
                                         4000000.0 + 5 * 3.7))


# --------------------------------------------------------------- simulate, fuse: nodata
@pytest.fixture(scope="module")
def wedge_scene(tmp_path_factory):
    """32×32 Salinas-A crop, south-up UTM, nodata -9999 over a diagonal wedge, a NaN hole."""
    from hsi.data import sample_cube

    cube = sample_cube().crop((0, 0, 32, 32))
    data = np.asarray(cube.data, dtype=np.float32) * 1e-4
    rows, cols = np.mgrid[:32, :32]
    wedge = cols > rows + 12
    data[:, wedge] = -9999.0
    data[:, 20:22, 4:6] = np.nan
    missing = wedge.copy()
    missing[20:22, 4:6] = True
    path = tmp_path_factory.mktemp("wedge") / "scene.tif"
    hsi.save(Cube(data, wavelengths=cube.wavelengths, fwhm=cube.fwhm, crs=UTM,
                  transform=SOUTH_UP, nodata=-9999.0), path)
    return path, missing


@pytest.fixture(scope="module")
def simulated(wedge_scene, tmp_path_factory):
    from hsi.simulate import simulate_files

    path, _ = wedge_scene
    return simulate_files(path, tmp_path_factory.mktemp("sim"), 4, "sentinel2", device="cpu")


def _missing(path) -> np.ndarray:
    cube = hsi.open(path)
    return ~valid_mask(np.asarray(cube.data), cube.nodata)


def test_simulated_pair_keeps_the_grid_and_declares_nodata(wedge_scene, simulated):
    _, missing = wedge_scene
    ref, lr, hr = (hsi.open(simulated[k]) for k in ("reference", "lr_hsi", "hr_msi"))
    assert ref.crs == lr.crs == hr.crs == UTM
    assert ref.transform == hr.transform == SOUTH_UP
    assert lr.transform == SOUTH_UP @ Affine.scale(4)  # same origin, 4× the pixel
    assert ref.nodata == -9999.0
    assert np.isnan(lr.nodata) and np.isnan(hr.nodata)
    np.testing.assert_array_equal(_missing(simulated["reference"]), missing)
    np.testing.assert_array_equal(_missing(simulated["hr_msi"]), missing)
    with rasterio.open(simulated["hr_msi"]) as ds:  # GDAL masks them
        np.testing.assert_array_equal(ds.read_masks(1) == 0, missing)


def test_fused_image_is_on_the_hr_grid_and_declares_nodata(simulated, tmp_path):
    from hsi.fusion.scene import fuse_files

    out = fuse_files(simulated["lr_hsi"], simulated["hr_msi"], tmp_path / "fused.tif",
                     method="glp", device="cpu", progress=False)
    fused, lr = hsi.open(out), hsi.open(simulated["lr_hsi"])
    assert fused.crs == UTM and fused.transform == SOUTH_UP
    np.testing.assert_allclose(fused.wavelengths, lr.wavelengths)
    assert np.isnan(fused.nodata)
    expected = np.kron(_missing(simulated["lr_hsi"]), np.ones((4, 4), bool)) | _missing(
        simulated["hr_msi"])
    np.testing.assert_array_equal(_missing(out), expected)
    with rasterio.open(out) as ds:
        assert np.isnan(ds.nodata)
