"""Simulating a Wald-protocol LR-HSI / HR-MSI pair from a reference cube into files.

>>> from hsi.simulate import simulate_files
>>> simulate_files(cube, "pair", ratio=4, sensor="sentinel2")        # doctest: +SKIP
{'reference': PosixPath('pair/reference.tif'), 'lr_hsi': ..., 'hr_msi': ...}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hsi.cube import Cube

__all__ = ["SIMULATION_FILES", "simulate_files"]

#: File names written into the output folder.
SIMULATION_FILES = ("reference.tif", "lr_hsi.tif", "hr_msi.tif")


def simulate_files(cube: Cube, out_dir: str | os.PathLike, ratio: int, sensor: str,
                   psf_sigma: float | None = None, device: str = "auto") -> dict[str, Path]:
    """Simulate a pair from ``cube`` and write ``reference.tif``, ``lr_hsi.tif``, ``hr_msi.tif``.

    The cube is scaled to reflectance-like values (:func:`hsi.degrade.normalize_reflectance`)
    and cropped to a multiple of ``ratio``; everything is computed before anything is written,
    and the three files replace their destinations together only when all three are complete.

    Parameters
    ----------
    cube : Cube, shape (bands, H, W)
        Reference with wavelengths in nm.
    out_dir : path
        Output folder (created when missing).
    ratio, sensor, psf_sigma, device
        As :func:`hsi.degrade.simulate_pair`.

    Returns
    -------
    dict
        ``{"reference": path, "lr_hsi": path, "hr_msi": path}``: float32 GeoTIFFs, the
        reference ``(bands, H, W)`` cropped to a multiple of ``ratio``, the LR-HSI
        ``(bands, H / ratio, W / ratio)`` and the HR-MSI ``(sensor bands, H, W)``.

    Raises
    ------
    HsiIOError
        When ``out_dir`` cannot be created or written (nothing is written).
    SensorError, WavelengthError, ShapeError
        From the simulation (nothing is written).
    """
    from hsi.check import check_ratio
    from hsi.degrade import crop_to_ratio, normalize_reflectance, simulate_pair
    from hsi.io import save
    from hsi.io.atomic import atomic_files
    from hsi.io.guard import check_output_folder

    r = check_ratio(ratio)
    check_output_folder(out_dir)
    cube, _ = normalize_reflectance(cube.compute().astype("float32"))
    lr, hr = simulate_pair(cube, r, sensor, psf_sigma, device=device)
    reference = crop_to_ratio(cube, r)
    folder = Path(out_dir)  # created by the atomic writes, removed again if they fail
    dests = [folder / name for name in SIMULATION_FILES]
    with atomic_files(dests) as tmps:
        for c, tmp in zip((reference, lr, hr), tmps, strict=True):
            save(c, tmp, format="geotiff")
    return {Path(name).stem: dest for name, dest in zip(SIMULATION_FILES, dests, strict=True)}
