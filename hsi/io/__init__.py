"""Reading and writing cubes: ENVI, GeoTIFF, MATLAB ``.mat`` and CAVE-style PNG folders.

>>> import hsi
>>> cube = hsi.open("scene.hdr")                      # doctest: +SKIP
>>> hsi.save(cube, "scene.tif")                       # doctest: +SKIP
PosixPath('scene.tif')

Format modules are imported on first use so ``import hsi`` stays light.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hsi.check import require_path as _require_path
from hsi.io.formats import check_var_applies, detect_format, output_format

if TYPE_CHECKING:
    from rasterio.windows import Window

    from hsi.cube import Cube

__all__ = ["detect_format", "open", "output_format", "save"]


def open(
    path: str | os.PathLike,
    *,
    var: str | None = None,
    window: Window | tuple[int, int, int, int] | None = None,
    lazy: bool | None = None,
) -> Cube:
    """Read a cube from a file or folder, choosing the reader from the file itself.

    Parameters
    ----------
    path : path
        ENVI header or data file (``.hdr``, ``.img``, ``.dat``, ``.raw``, ``.bsq``/``.bil``/``.bip``
        or no extension beside a ``.hdr``), GeoTIFF (``.tif``/``.tiff``), MATLAB file (``.mat``,
        v5 or v7.3) or a folder of one 16-bit PNG per band (CAVE).
    var : str, optional
        Variable to read from a ``.mat`` holding several 3-D arrays.
    window : rasterio.windows.Window or (col_off, row_off, width, height), optional
        Read only these rows/columns (pixels); the transform is shifted to match.
    lazy : bool, optional
        Return a dask-backed cube instead of loading the data. ``None`` (default): lazy for
        ENVI and GeoTIFF files over 512 MB.

    Returns
    -------
    Cube
        Data ``(bands, H, W)`` kept as stored (no scaling, except CAVE PNGs which are divided by
        65535), wavelengths in nm when the file has them. Its ``name`` is ``path`` as given
        (what error messages about the cube name); a CAVE folder's is its scene's name.

    Raises
    ------
    HsiIOError
        The file is missing, empty or cannot be read.
    FormatError
        The content is not a supported cube (e.g. a text file named ``.tif``).
    WavelengthError
        The file's wavelengths are not one positive value per band.
    ShapeError
        ``window`` is empty or reaches outside the image (the same error for every format,
        from :func:`hsi.check.check_window`).
    ConfigError
        ``var`` given for a file that is not a ``.mat`` (it would be ignored).
    ArgumentTypeError
        ``path`` is not a path (e.g. an array or a number).
    """
    _require_path(path, "hsi.open")
    fmt = detect_format(path)
    check_var_applies(path, fmt, var)
    if fmt == "envi":
        from hsi.io.envi import read_envi

        cube = read_envi(path, window=window, lazy=lazy)
    elif fmt == "geotiff":
        from hsi.io.geotiff import read_geotiff

        cube = read_geotiff(path, window=window, lazy=lazy)
    elif fmt == "mat":
        from hsi.io.mat import read_mat

        cube = read_mat(path, var=var)
        if window is not None:
            from hsi.check import check_window

            cube = cube.crop(check_window(window, cube.height, cube.width, path))
    else:  # "cave"
        from hsi.io.cave import read_cave

        return read_cave(path, window=window)  # named after its scene (the folder less _ms)
    # Named by the path as given, so that what the library says about the cube ("cube
    # 'scene.tif' has no wavelengths", "training cubes differ in band count: 'a.tif' has 204,
    # 'b.tif' has 50") names the file the user gave, not its bare stem.
    cube.name = os.fsdecode(path)
    return cube


def save(cube: Cube, path: str | os.PathLike, *, format: str | None = None) -> Path:
    """Write ``cube`` atomically and return the path written.

    Parameters
    ----------
    cube : Cube
        The cube to write (a lazy cube is written block by block for GeoTIFF).
    path : path
        Destination. The format follows the extension (``.tif``/``.tiff`` GeoTIFF, ``.hdr``/
        ``.img`` ENVI, ``.mat`` MATLAB v5) unless ``format`` is given.
    format : {"geotiff", "envi", "mat"}, optional
        Force a format.

    Returns
    -------
    pathlib.Path
        The written file (for ENVI, the ``.hdr``; the data file sits beside it).

    Raises
    ------
    FormatError
        Unknown extension or format name.
    HsiIOError
        The destination folder cannot be written, or (ENVI, .mat) the disk has less free space
        than the file needs. Nothing is left at the destination on failure.
    CubeTypeError
        ``cube`` is not a :class:`~hsi.cube.Cube` (e.g. a bare numpy array).
    ArgumentTypeError
        ``path`` is not a path (e.g. ``None`` or a number).
    """
    from hsi.cube import require_cube
    from hsi.io.guard import check_free_space

    cube = require_cube(cube, "hsi.save: cube")
    _require_path(path, "hsi.save")
    fmt = output_format(path, format)
    if fmt in ("envi", "mat"):  # uncompressed: the size is known before writing
        check_free_space(path, int(np.prod(cube.shape)) * np.dtype(cube.dtype).itemsize)
    if fmt == "geotiff":
        from hsi.io.geotiff import write_geotiff

        return write_geotiff(cube, path)
    if fmt == "envi":
        from hsi.io.envi import write_envi

        return write_envi(cube, path)
    from hsi.io.mat import write_mat

    return write_mat(cube, path)

