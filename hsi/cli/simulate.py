"""``hsi simulate``: Wald-protocol LR-HSI / HR-MSI pair from a reference cube."""

from __future__ import annotations

import os
from pathlib import Path

import click

from hsi.cli.options import device_option, psf_sigma_option, ratio_option, sensor_option, var_option

#: File names written into the output folder.
SIMULATION_FILES = ("reference.tif", "lr_hsi.tif", "hr_msi.tif")


def simulate_files(cube, out_dir: str | os.PathLike, ratio: int, sensor: str,
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
        ``{"reference": path, "lr_hsi": path, "hr_msi": path}``.

    Raises
    ------
    HsiIOError
        When ``out_dir`` cannot be created or written (nothing is written).
    SensorError, WavelengthError, ShapeError
        From the simulation (nothing is written).
    """
    import hsi
    from hsi.check import check_ratio
    from hsi.degrade import crop_to_ratio, normalize_reflectance, simulate_pair
    from hsi.io.atomic import atomic_files

    r = check_ratio(ratio)
    check_output_folder(out_dir)
    cube, _ = normalize_reflectance(cube.compute().astype("float32"))
    lr, hr = simulate_pair(cube, r, sensor, psf_sigma, device=device)
    reference = crop_to_ratio(cube, r)
    folder = Path(out_dir)  # created by the atomic writes, removed again if they fail
    dests = [folder / name for name in SIMULATION_FILES]
    with atomic_files(dests) as tmps:
        for c, tmp in zip((reference, lr, hr), tmps, strict=True):
            hsi.save(c, tmp, format="geotiff")
    return {Path(name).stem: dest for name, dest in zip(SIMULATION_FILES, dests, strict=True)}


def check_output_folder(folder: str | os.PathLike) -> Path:
    """Check, without creating anything, that ``folder`` exists or can be created, writable.

    Raises
    ------
    HsiIOError
        When ``folder`` (or its nearest existing parent) is not a writable folder.
    """
    from hsi.errors import HsiIOError

    folder = Path(folder)
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise HsiIOError(f"{folder}: cannot create output folder ({probe} is not a folder)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise HsiIOError(f"{folder}: output folder is not writable ({probe})")
    return folder


@click.command("simulate")
@click.argument("cube", type=click.Path())
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder for reference.tif, lr_hsi.tif and hr_msi.tif.")
@ratio_option
@sensor_option
@psf_sigma_option
@var_option
@device_option
def simulate(cube: str, out_dir: str, ratio: int | None, sensor: str, psf_sigma: float | None,
             var: str | None, device: str) -> None:
    """Simulate from CUBE the LR-HSI and HR-MSI a fusion method gets (Wald's protocol).

    Writes OUTPUT/reference.tif (CUBE cropped to a multiple of the ratio, reflectance-scaled),
    OUTPUT/lr_hsi.tif (PSF-blurred and decimated) and OUTPUT/hr_msi.tif (seen through the
    sensor's spectral responses): all three or none.
    """
    if ratio is None:
        raise click.UsageError("--ratio is required (an integer >= 2)")

    import hsi
    from hsi.io.guard import check_outputs

    check_outputs([Path(out_dir) / name for name in SIMULATION_FILES], [cube])
    ref = hsi.open(cube, var=var)
    paths = simulate_files(ref, out_dir, ratio, sensor, psf_sigma, device=device)
    for key, path in paths.items():
        c = hsi.open(path, lazy=True)
        click.echo(f"{key:<10} {c.bands:>4} bands × {c.height} × {c.width}  {path}")
