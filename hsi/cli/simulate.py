"""``hsi simulate``: Wald-protocol LR-HSI / HR-MSI pair from a reference cube."""

from __future__ import annotations

from pathlib import Path

import click

from hsi.cli.options import (
    OutputFolder,
    device_option,
    psf_sigma_option,
    required_ratio_option,
    sensor_named,
    sensor_option,
    var_option,
)
from hsi.lazy import lazy_attributes

#: Names that moved to the library, still importable from here: ``{name: module}``.
_MOVED = {"SIMULATION_FILES": "hsi.simulate", "simulate_files": "hsi.simulate",
          "check_output_folder": "hsi.io.guard"}


__getattr__, __dir__ = lazy_attributes(__name__, _MOVED)


@click.command("simulate")
@click.argument("cube", type=click.Path())
@click.option("-o", "--output", "out_dir", required=True, type=OutputFolder(),
              help="Output folder for reference.tif, lr_hsi.tif and hr_msi.tif.")
@required_ratio_option
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

    The sentinel2 preset is the 12 bands of a Level-2A product (B10, cirrus, left out);
    sentinel2_l1c has all 13. A sensor band whose response lies mostly (over half) in a gap of
    CUBE's sampling, e.g. B10 (1373.5 nm) on an AVIRIS cube without its water-absorption
    bands, is left out of the HR-MSI with a warning. Choose the bands yourself after a colon:
    --sensor sentinel2_l1c:-B10 (all but B10) or --sensor sentinel2:B2,B3,B4,B8.
    """
    if ratio is None:
        raise click.UsageError("--ratio is required (an integer >= 2)")

    import hsi
    from hsi.errors import naming
    from hsi.io.guard import check_outputs
    from hsi.simulate import SIMULATION_FILES, simulate_files

    check_outputs([Path(out_dir) / name for name in SIMULATION_FILES], [cube])
    ref = hsi.open(cube, var=var, lazy=True)  # read by tiles (GeoTIFF/ENVI)
    # "cube: SRF 'sentinel2': band(s) ... fall outside the cube's wavelength range" names CUBE
    # (and the --sensor value, where the SRF's name is another text)
    with sensor_named(sensor), naming(cube=cube):
        paths = simulate_files(ref, out_dir, ratio, sensor, psf_sigma, device=device,
                               progress=True)
    for key, path in paths.items():
        c = hsi.open(path, lazy=True)
        click.echo(f"{key:<10} {c.bands:>4} bands × {c.height} × {c.width}  {path}")
