"""``hsi convert``: ENVI ↔ GeoTIFF, and ``.mat``/CAVE folders to either."""

from __future__ import annotations

import click

from hsi.cli.options import guarded, var_option


@click.command("convert")
@click.argument("src", metavar="IN", type=click.Path())
@click.argument("dst", metavar="OUT", type=click.Path())
@var_option
@click.option("--unscale", is_flag=True,
              help="Write the values the band scales and offsets give (stored × scale + "
                   "offset, float32, nodata NaN), as gdal_translate -unscale.")
@guarded(outputs=("dst",), inputs=("src",))
def convert(src: str, dst: str, var: str | None, unscale: bool) -> None:
    """Convert the cube IN to OUT, the format following OUT's extension (.tif, .hdr, .mat).

    Data, wavelengths, CRS, transform and nodata are kept, and so are the band names, bad band
    list (ENVI bbl) and reflectance scale factor between ENVI and GeoTIFF, and the band
    scales/offsets (ENVI data gain/offset values) between ENVI, GeoTIFF and .mat; OUT appears
    only once complete. With --unscale, the
    band scales and offsets are applied instead (e.g. Landsat Collection 2's integers become
    reflectance).
    """
    import hsi
    from hsi.io import output_format

    output_format(dst)  # an unsupported OUT extension fails before anything is read
    cube = hsi.open(src, var=var)
    if unscale:
        from hsi.degrade import unscale_bands

        if "band_scales" not in cube.metadata:
            raise click.UsageError(f"--unscale: {src} has no band scales or offsets to apply")
        cube = unscale_bands(cube)
    out = hsi.save(cube, dst)
    click.echo(f"wrote {out} ({cube.bands} bands × {cube.height} × {cube.width}, {cube.dtype})")
