"""``hsi convert``: ENVI ↔ GeoTIFF, and ``.mat``/CAVE folders to either."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from hsi.cli.options import guarded, var_option

if TYPE_CHECKING:
    from hsi.cube import Cube


@click.command("convert")
@click.argument("src", metavar="IN", type=click.Path())
@click.argument("dst", metavar="OUT", type=click.Path())
@var_option
@click.option("--unscale", is_flag=True,
              help="Write the values the band scales and offsets give (stored × scale + "
                   "offset, float32, nodata NaN), as gdal_translate -unscale.")
@click.option("--wavelengths", "wavelengths", metavar="NM",
              help="Band centres in nm to write, for a file without them (or to replace "
                   "them): START-STOP spaced evenly over the bands (420-720: the Harvard "
                   "database's 31 bands; 400-700: CAVE's), numbers separated by commas, or a "
                   "text file of numbers.")
@guarded(outputs=("dst",), inputs=("src",))
def convert(src: str, dst: str, var: str | None, unscale: bool,
            wavelengths: str | None) -> None:
    """Convert the cube IN to OUT, the format following OUT's extension (.tif, .hdr, .mat).

    Data, wavelengths, CRS, transform and nodata are kept, and so are the band names, bad band
    list (ENVI bbl) and reflectance scale factor between ENVI and GeoTIFF, and the band
    scales/offsets (ENVI data gain/offset values) between ENVI, GeoTIFF and .mat; OUT appears
    only once complete. With --unscale, the
    band scales and offsets are applied instead (e.g. Landsat Collection 2's integers become
    reflectance). With --wavelengths, OUT carries the band centres given (a .mat of a
    benchmark database often has none: fusion's `auto` needs them to match a checkpoint's
    sensor).
    """
    import hsi
    from hsi.io import output_format

    output_format(dst)  # an unsupported OUT extension fails before anything is read
    cube = hsi.open(src, var=var)
    if wavelengths is not None:
        cube = with_wavelengths(cube, wavelengths, src)
    if unscale:
        from hsi.degrade import unscale_bands

        if "band_scales" not in cube.metadata:
            raise click.UsageError(f"--unscale: {src} has no band scales or offsets to apply")
        cube = unscale_bands(cube)
    out = hsi.save(cube, dst)
    click.echo(f"wrote {out} ({cube.bands} bands × {cube.height} × {cube.width}, {cube.dtype})")


def with_wavelengths(cube: Cube, text: str, src: str) -> Cube:
    """``cube`` with the band centres ``text`` gives (:func:`hsi.bands.wavelengths_from_text`);
    its FWHM is dropped (they described the old centres) and one warning line says when the
    file's own centres are replaced.

    Raises
    ------
    click.BadParameter
        ``text`` does not give one valid centre in nm per band (the message says why).
    """
    import logging

    from hsi.bands import wavelengths_from_text
    from hsi.errors import WavelengthError

    try:
        wl = wavelengths_from_text(text, cube.bands)
    except WavelengthError as exc:
        raise click.BadParameter(str(exc), param_hint="--wavelengths") from None
    if cube.wavelengths is not None:
        logging.getLogger(__name__).warning(
            "%s: its band centres (%g-%g nm) are replaced by --wavelengths (%g-%g nm)", src,
            float(cube.wavelengths.min()), float(cube.wavelengths.max()), float(wl.min()),
            float(wl.max()))
    return cube.with_data(cube.data, wavelengths=wl, fwhm=None)
