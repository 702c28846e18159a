"""``hsi info``: describe a cube without loading its pixels."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from hsi.cli.options import var_option

if TYPE_CHECKING:
    from hsi.cube import Cube


#: Class names :func:`describe` lists of a class map (the rest are counted).
MAX_NAMES = 8


def _count(n: int, noun: str) -> str:
    """``"1 band"``, ``"204 bands"``, ``"2 classes"``."""
    plural = "es" if noun.endswith("s") else "s"
    return f"{n} {noun}" + (plural if n != 1 else "")


def describe(cube: Cube, path: str = "") -> list[tuple[str, str]]:
    """Return ``(field, value)`` rows describing ``cube`` (shape, dtype, bands, georeference)."""
    rows = [("file", str(path or cube.name)),
            ("shape", f"{_count(cube.bands, 'band')} × {_count(cube.height, 'row')} × "
                      f"{_count(cube.width, 'col')}"),
            ("dtype", str(cube.dtype))]
    from hsi.io.labels import class_names_of, is_class_map

    if is_class_map(cube):  # class codes: no wavelengths to give
        names = class_names_of(cube)
        listed = ", ".join(f"{code}={name}" for code, name in sorted(names.items())[:MAX_NAMES])
        more = f", … ({len(names) - MAX_NAMES} more)" if len(names) > MAX_NAMES else ""
        rows.append(("class map", f"{_count(len(names), 'class')}: {listed}{more}"))
    elif cube.wavelengths is not None:
        wl = cube.wavelengths
        rows.append(("wavelengths", f"{wl.min():.1f}–{wl.max():.1f} nm "
                                    f"({_count(wl.size, 'band')})"))
    else:
        rows.append(("wavelengths", "none (hsi convert IN OUT --wavelengths START-STOP "
                                    "gives a copy its band centres)"))
    fwhm = None if cube.fwhm is None else cube.fwhm[cube.fwhm > 0]  # NaN is not > 0
    if fwhm is not None and fwhm.size:  # placeholders (0, -1, NaN) are not widths
        rows.append(("fwhm", f"{fwhm.min():.2f}–{fwhm.max():.2f} nm"))
    rows.append(("crs", cube.crs.to_string() if cube.crs is not None else "none"))
    size = cube.pixel_size
    if size is not None:
        units = ""
        if cube.crs is not None:
            units = " " + (cube.crs.linear_units or "") if cube.crs.is_projected else " degrees"
        rows.append(("pixel size", f"{size[0]:g} × {size[1]:g}{units}".rstrip()))
        rows.append(("bounds", ", ".join(f"{v:.6g}" for v in cube.bounds)))
    else:
        rows.append(("pixel size", "none (no transform)"))
    rows.append(("nodata", "none" if cube.nodata is None else f"{cube.nodata:g}"))
    scale = _scale(cube.metadata)
    if scale:
        rows.append(("scale", scale))
    rows += record_rows(cube.metadata)
    if cube.is_lazy:  # how hsi.open reads it by default: lazily over 512 MB
        from hsi.io.geotiff import LAZY_THRESHOLD_BYTES

        if cube.bands * cube.height * cube.width * cube.dtype.itemsize > LAZY_THRESHOLD_BYTES:
            rows.append(("storage", "read lazily (dask)"))
    return rows


def record_rows(metadata: dict) -> list[tuple[str, str]]:
    """``(field, value)`` rows saying what made the pixels, from the file's record
    (:mod:`hsi.io.provenance`): the fusion (method, ratio, PSF, LR-HSI denoiser, ``auto``'s
    scene check, the scene fit) and the sensor response of a simulated HR-MSI; none for a
    file without a record."""
    from hsi.cli.fuse import SCENE_FIT_WORDS
    from hsi.io.provenance import record_of

    record = record_of(metadata)
    rows = []
    if "fusion_method" in record:
        words = [str(record["fusion_method"])]
        if "ratio" in record:
            words.append(f"x{record['ratio']}")
        if "psf_sigma" in record:
            shift = record.get("psf_shift")
            words.append(f"PSF σ {float(record['psf_sigma']):g} HR px"
                         + (f" shifted ({', '.join(f'{float(v):g}' for v in shift)})"
                            if shift else ""))
        rows.append(("fusion", ", ".join(words)))
    if "lr_denoise_snr_db" in record:
        rows.append(("lr denoised", f"estimated SNR {float(record['lr_denoise_snr_db']):.1f} dB, "
                                    f"rank {record.get('lr_denoise_rank', '?')}"))
    check = record.get("auto_check")
    if isinstance(check, dict) and "reprojection_gap_db" in check:
        rows.append(("auto check", f"{check.get('checkpoint', 'checkpoint')} re-predicts the "
                                   f"LR-HSI {float(check['reprojection_gap_db']):.2f} dB worse "
                                   f"than GLP (used up to "
                                   f"{float(check.get('max_reprojection_gap_db', 'nan')):g} dB)"))
    fit = record.get("scene_fit")
    if isinstance(fit, dict):
        rows.append(("scene fit", SCENE_FIT_WORDS.get(fit.get("result"), "ran")))
    if "srf" in record:
        dropped = record.get("srf_dropped_bands")
        rows.append(("simulated", f"HR-MSI through the {record['srf']} response"
                                  + (f" (bands dropped: {', '.join(map(str, dropped))})"
                                     if dropped else "")))
    return rows


def _scale(metadata: dict) -> str:
    """How the stored values become physical ones, from the file's band scales and offsets
    (``stored × scale + offset``, what ``hsi convert --unscale`` applies) or its reflectance
    scale factor (``stored / factor``); ``""`` when it has neither."""
    import numpy as np

    def span(values: object) -> str:
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        lo, hi = float(v.min()), float(v.max())
        return f"{lo:g}" if lo == hi else f"{lo:g}–{hi:g}"

    parts = []
    if "band_scales" in metadata or "band_offsets" in metadata:
        scales, offsets = metadata.get("band_scales", [1.0]), metadata.get("band_offsets", [0.0])
        parts.append(f"stored × {span(scales)} + {span(offsets)} (band scales and offsets)")
    factor = metadata.get("reflectance_scale_factor")
    if factor is not None:
        parts.append(f"reflectance = stored / {float(factor):g} (reflectance scale factor)")
    return "; ".join(parts)


@click.command("info")
@click.argument("path", type=click.Path())
@var_option
def info(path: str, var: str | None) -> None:
    """Describe the cube at PATH: shape, dtype, bands, wavelength range, CRS, pixel size, nodata
    and, where the file has them, its scale factors."""
    import hsi

    # GeoTIFF/ENVI: the header only, so no memory budget applies (.mat and CAVE load the data)
    cube = hsi.open(path, var=var, lazy=True)
    for key, value in describe(cube, path):
        click.echo(f"{key + ':':<13}{value}")
