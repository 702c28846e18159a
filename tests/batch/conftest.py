"""Real scene crops for batch tests, and a real two-process Dask cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from affine import Affine

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from hsi.cube import Cube

#: (row, col) of the 32×32 HR crops cut from Salinas-A (83×86), one scene each.
CROPS = {"north": (0, 0), "east": (8, 52), "south": (48, 20)}


def _write_scenes(folder: Path, crops: dict[str, tuple[int, int]],
                  edit_lr: Callable[[str, Cube], Cube] | None = None) -> Path:
    """Write a pair of GeoTIFFs ``NAME_lr.tif`` / ``NAME_hr.tif`` (x4, Sentinel-2, 16-pixel
    tiles) in ``folder`` for each 32×32 HR crop of Salinas-A at ``crops[NAME]`` (row, col),
    each with its own UTM origin, and ``manifest.csv`` listing them with relative paths;
    ``edit_lr(name, lr)`` changes an LR-HSI before it is written. Returns ``folder``."""
    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair
    from hsi.io.geotiff import write_geotiff

    cube = sample_cube()
    lines = ["name,lr_hsi,hr_msi"]
    for name, (r, c) in crops.items():
        transform = Affine(3.7, 0.0, 612000.0 + 3.7 * c, 0.0, -3.7, 4062000.0 - 3.7 * r)
        crop = cube.with_data(cube.data[:, r:r + 32, c:c + 32], crs="EPSG:32610",
                              transform=transform)
        lr, hr = simulate_pair(crop, 4, "sentinel2")
        if edit_lr is not None:
            lr = edit_lr(name, lr)
        write_geotiff(lr, folder / f"{name}_lr.tif", tile=16)
        write_geotiff(hr, folder / f"{name}_hr.tif", tile=16)
        lines.append(f"{name},{name}_lr.tif,{name}_hr.tif")
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="session")
def write_scenes():
    """``write_scenes(folder, crops, edit_lr=None)``: scene pairs of Salinas-A crops and
    their ``manifest.csv`` written in ``folder`` (:func:`_write_scenes`)."""
    return _write_scenes


@pytest.fixture(scope="module")
def scenes_dir(tmp_path_factory, write_scenes):
    """A folder with ``NAME_lr.tif`` / ``NAME_hr.tif`` pairs (x4, Sentinel-2) and manifest.csv.

    Each scene gets its own UTM origin; ``manifest.csv`` lists them with relative paths.
    """
    return write_scenes(tmp_path_factory.mktemp("scenes"), CROPS)


@pytest.fixture(scope="module")
def client():
    """A real LocalCluster: two worker processes, one thread each."""
    import logging

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as c:
        yield c
