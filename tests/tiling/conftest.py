"""A real co-registered LR-HSI / HR-MSI pair (Salinas-A crop, Wald-simulated) as GeoTIFFs."""

from __future__ import annotations

import pytest
from affine import Affine

#: UTM zone 10N, where Salinas Valley lies; 3.7 m AVIRIS-like HR pixels.
CRS = "EPSG:32610"
TRANSFORM = Affine(3.7, 0.0, 612000.0, 0.0, -3.7, 4062000.0)


@pytest.fixture(scope="module")
def pair_files(tmp_path_factory):
    """``(lr_path, hr_path, lr, hr)``: 204×16×16 LR-HSI, 13×64×64 Sentinel-2 HR-MSI, x4."""
    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair
    from hsi.io.geotiff import write_geotiff

    cube = sample_cube()
    crop = cube.with_data(cube.data[:, 10:74, 12:76], crs=CRS, transform=TRANSFORM)
    lr, hr = simulate_pair(crop, 4, "sentinel2")
    folder = tmp_path_factory.mktemp("pair")
    lr_path, hr_path = folder / "scene_lr.tif", folder / "scene_hr.tif"
    write_geotiff(lr, lr_path, tile=16)
    write_geotiff(hr, hr_path, tile=16)
    return lr_path, hr_path, lr, hr
