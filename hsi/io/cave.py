"""CAVE-style folders: one grey PNG per band, ordered by the number ending each file name.

Files named like the CAVE database (``<scene>_ms_01.png`` … ``_ms_31.png``) get the CAVE
wavelengths, ``400 + 10 · (n − 1)`` nm. Values are scaled to [0, 1] (``/65535`` for 16-bit,
``/255`` for 8-bit PNGs) as float32.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from rasterio.windows import Window

from hsi.check import check_window
from hsi.cube import Cube
from hsi.errors import FormatError, HsiIOError, ShapeError
from hsi.io.formats import build_cube, check_readable

_BAND_RE = re.compile(r"(\d+)\.png$", re.IGNORECASE)
_CAVE_RE = re.compile(r"_ms_(\d+)\.png$", re.IGNORECASE)
#: First CAVE band centre and spacing, nm.
CAVE_START_NM, CAVE_STEP_NM = 400.0, 10.0


def _numbered_pngs(folder: Path) -> list[tuple[int, Path]]:
    """``(band number, path)`` of the folder's PNGs whose names end in a number."""
    return [(int(m.group(1)), p) for p in folder.iterdir()
            if (m := _BAND_RE.search(p.name)) and p.is_file()]


def band_files(folder: str | os.PathLike) -> list[Path]:
    """Return the folder's band PNGs sorted by their trailing band number.

    A folder holding no PNG but one sub-folder that does is read through it: the CAVE
    release unpacks each scene as ``<scene>_ms/<scene>_ms/*.png``, and either level works.

    Raises
    ------
    FormatError
        No PNG ending in a number, or two files with the same band number.
    """
    folder = Path(folder)
    numbered = _numbered_pngs(folder)
    if not numbered:
        subfolders = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
        if len(subfolders) == 1:
            folder, numbered = subfolders[0], _numbered_pngs(subfolders[0])
    if not numbered:
        raise FormatError(f"{folder}: a folder without band PNGs: expected a cube file, or a "
                          "CAVE-style folder of band PNGs (scene_ms_01.png, ...)")
    numbered.sort()
    numbers = [n for n, _ in numbered]
    if len(set(numbers)) != len(numbers):
        dup = next(n for n in numbers if numbers.count(n) > 1)
        raise FormatError(f"{folder}: several PNGs carry band number {dup}")
    missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
    if missing:  # read as they are, with their own wavelengths; one line says so
        import logging

        logging.getLogger(__name__).warning(
            "%s: band PNG(s) %s missing between %d and %d: read without them", folder,
            ", ".join(map(str, missing[:8])) + (" ..." if len(missing) > 8 else ""),
            numbers[0], numbers[-1])
    return [p for _, p in numbered]


def cave_wavelengths(files: list[Path]) -> np.ndarray | None:
    """CAVE wavelengths (nm) when every file is named ``*_ms_NN.png``, else ``None``."""
    numbers = []
    for p in files:
        m = _CAVE_RE.search(p.name)
        if m is None:
            return None
        numbers.append(int(m.group(1)))
    return CAVE_START_NM + CAVE_STEP_NM * (np.asarray(numbers, dtype=np.float64) - 1)


def _png_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.height, im.width
    except OSError as exc:
        raise FormatError(f"{path}: not a readable PNG ({exc})") from None


def _read_png(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    try:
        arr = np.asarray(iio.imread(path))
    except OSError as exc:
        raise HsiIOError(f"{path}: cannot read ({exc})") from None
    if arr.ndim == 3:
        if arr.shape[2] in (2, 4):  # drop alpha
            arr = arr[..., : arr.shape[2] - 1]
        if arr.shape[2] > 1 and not all(np.array_equal(arr[..., 0], arr[..., c])
                                        for c in range(1, arr.shape[2])):
            raise FormatError(f"{path}: colour PNG; expected one grey PNG per band")
        arr = arr[..., 0]
    if arr.dtype not in (np.uint8, np.uint16):
        raise FormatError(f"{path}: PNG of type {arr.dtype}, expected 8- or 16-bit grey")
    return arr


def read_cave(folder: str | os.PathLike, *, window: Window | None = None) -> Cube:
    """Read a folder of one grey PNG per band.

    Parameters
    ----------
    folder : path
        Folder holding ``*_01.png``, ``*_02.png``, ...
    window : rasterio.windows.Window, optional
        Rows/columns to keep (PNGs are decoded whole, then cropped band by band).

    Returns
    -------
    Cube
        float32 ``(bands, H, W)`` in [0, 1], CAVE wavelengths when the names follow CAVE.

    Raises
    ------
    ShapeError
        PNGs of differing sizes (checked from their headers before decoding), or a window
        outside the image (:func:`hsi.check.check_window`).
    FormatError
        No numbered PNGs, or colour PNGs.
    """
    folder = check_readable(folder)
    files = band_files(folder)
    sizes = [_png_size(p) for p in files]
    if len(set(sizes)) != 1:
        first = sizes[0]
        bad = next(i for i, s in enumerate(sizes) if s != first)
        raise ShapeError(f"{folder}: band PNGs differ in size: {files[0].name} is "
                         f"{first[0]}×{first[1]} but {files[bad].name} is "
                         f"{sizes[bad][0]}×{sizes[bad][1]}",
                         actual_shape=sizes[bad], expected_shape=first)
    height, width = sizes[0]
    r0, c0, h, w = 0, 0, height, width
    if window is not None:
        window = check_window(window, height, width, folder)
        r0, c0, h, w = (int(window.row_off), int(window.col_off), int(window.height),
                        int(window.width))
    data = np.empty((len(files), h, w), dtype=np.float32)
    for i, p in enumerate(files):
        band = _read_png(p)
        scale = 65535.0 if band.dtype == np.uint16 else 255.0
        data[i] = band[r0:r0 + h, c0:c0 + w].astype(np.float32) / np.float32(scale)
    name = re.sub(r"_ms$", "", folder.name) or folder.name
    return build_cube(folder, data, wavelengths=cave_wavelengths(files),
                      name=name, metadata={"format": "CAVE", "files": [p.name for p in files]})
