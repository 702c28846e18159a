"""Label rasters: ground truth in (GeoTIFF, ENVI, ``.mat``) and class maps out (GeoTIFF).

A class map is a uint8 GeoTIFF (uint16 for codes above 255): 0 means "no class", and each
class has its code, ``1..K`` by default or the training labels' own (Salinas' 1, 10–14). It
carries a colour table (0 black), the names as JSON in the ``CLASS_NAMES`` tag and a band
description, so GIS tools and :func:`read_class_map` both find them.
"""

from __future__ import annotations

import colorsys
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import RasterioError

from hsi.check import check_shape
from hsi.errors import FormatError, HsiIOError
from hsi.io.atomic import atomic_path
from hsi.io.formats import check_readable, check_var_applies, detect_format
from hsi.labels import Labels
from hsi.memory import check_allocation

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from rasterio.crs import CRS
    from rasterio.io import DatasetReader

    from hsi.cube import Cube

#: Distinct colours for classes 1.. (0 is black); beyond these, hues are spread evenly.
PALETTE: list[tuple[int, int, int]] = [
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
    (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
    (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128), (128, 128, 128),
]


#: Largest class code a label raster may hold (codes are mapped, never used as sizes).
MAX_CODE = 65535


def default_colors(n: int) -> list[tuple[int, int, int]]:
    """``n`` distinct RGB colours for classes 1..n (none of them black)."""
    colors = list(PALETTE[:n])
    for i in range(len(colors), n):
        h = (i * 0.618033988749895) % 1.0
        r, g, b = colorsys.hsv_to_rgb(h, 0.65 + 0.35 * (i % 2), 0.75 + 0.25 * ((i // 2) % 2))
        colors.append((int(r * 255), int(g * 255), int(b * 255)))
    return colors


def unlabelled_nodata(arr: np.ndarray, nodata: float | None, named: dict[int, str] | None,
                      path: str | os.PathLike) -> np.ndarray:
    """``arr`` with the pixels of the raster's declared ``nodata`` value unlabelled (0).

    A label raster made in a GIS often marks its unlabelled pixels with its nodata value (255
    in a uint8 raster, 65535 in uint16, -9999 or NaN in int16 / float32) rather than 0: GIS
    tools show them empty, and read as codes they would make a class of the background (or be
    refused as negative or not whole). How many pixels held it is said in one warning line.

    Parameters
    ----------
    arr : numpy.ndarray, shape (H, W)
        The raster's values as stored.
    nodata : float, optional
        Its declared nodata value (``None`` or 0: nothing changes).
    named : dict, optional
        ``{code: name}`` of the classes the file names.
    path : path
        The file, for the messages.

    Returns
    -------
    numpy.ndarray
        ``arr`` itself when no pixel holds ``nodata``, else a copy with those pixels 0.

    Raises
    ------
    FormatError
        ``nodata`` is the code of a class the file names: the file says both that its pixels
        are that class and that they have no data.
    """
    if nodata is None or nodata == 0:
        return arr
    if np.isnan(nodata):
        hit = np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, bool)
    else:
        if named and nodata in named:
            raise FormatError(f"{path}: its nodata value {nodata:g} is also the code of class "
                              f"{nodata:g} ({named[int(nodata)]}): declare another nodata "
                              "value (or none) so that the class is not read as unlabelled")
        hit = arr == nodata
    pixels = int(hit.sum())
    if not pixels:
        return arr
    log.warning("%s: %d pixel(s) hold its nodata value %g: read as unlabelled (0)", path,
                pixels, nodata)
    return np.where(hit, np.zeros((), arr.dtype), arr)


def _as_int_labels(arr: np.ndarray, path: str | os.PathLike) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if np.isnan(arr).any():  # a GIS raster's unlabelled pixels, undeclared
            raise FormatError(f"{path}: labels must be whole numbers, got NaN in "
                              f"{int(np.isnan(arr).sum())} pixel(s); if NaN marks unlabelled "
                              "pixels, declare NaN as the raster's nodata (or store 0)")
        if not finite.all() or not np.all(arr == np.round(arr)):
            raise FormatError(f"{path}: labels must be whole numbers, got non-integer values")
    elif arr.dtype.kind not in "iu":
        raise FormatError(f"{path}: labels must be integers, got {arr.dtype}")
    if arr.size and (arr.max() > MAX_CODE or arr.min() < 0):
        bad = arr.max() if arr.max() > MAX_CODE else arr.min()
        raise FormatError(f"{path}: label value {bad:g} outside 0..{MAX_CODE} (0 = unlabelled, "
                          f"classes are positive codes)")
    return arr.astype(np.int64)


def check_one_band(path: str | os.PathLike, count: int) -> None:
    """Refuse a raster of ``count`` bands as a label raster or class map (they have one).

    Raises
    ------
    FormatError
        ``count`` is not 1 (a probability raster, a cube).
    """
    if count != 1:
        raise FormatError(f"{path}: label raster must have 1 band, got {count}")


def _colormap(src: DatasetReader) -> dict[int, tuple[int, int, int, int]]:
    """The colour table of band 1 of an open raster (empty without one)."""
    try:
        return dict(src.colormap(1))
    except ValueError:
        return {}


def _names_tag(text: str | None) -> dict[int, str]:
    """``{code: name}`` from a ``CLASS_NAMES`` tag (a JSON list for 1..K or a dict by code)."""
    try:
        names = json.loads(text or "[]")
    except ValueError:
        return {}
    if isinstance(names, dict):
        try:
            return {int(k): str(v) for k, v in names.items()}
        except ValueError:
            return {}
    if isinstance(names, list):
        return {i + 1: str(n) for i, n in enumerate(names)}
    return {}


def is_class_map(cube: Cube) -> bool:
    """True for a class map: one band of integers named by a ``CLASS_NAMES`` tag (what
    :func:`write_class_map`, ``hsi classify``/``hsi cluster`` and the napari plugin's
    class-map writer save), read as a cube (its pixels are not read)."""
    return (cube.bands == 1 and "class_names" in (cube.metadata or {})
            and np.issubdtype(cube.dtype, np.integer))


def class_names_of(cube: Cube) -> dict[int, str]:
    """``{code: name}`` of a class map read as a cube (its ``CLASS_NAMES`` tag), ``{}``
    when it names none."""
    names = (cube.metadata or {}).get("class_names")
    return _names_tag(names if isinstance(names, str) else json.dumps(names))


def read_labels(path: str | os.PathLike, var: str | None = None) -> Labels:
    """Read a label raster.

    Parameters
    ----------
    path : path
        Single-band GeoTIFF or ENVI file, or a ``.mat`` holding one 2-D integer array.
    var : str, optional
        Variable of a ``.mat`` holding several 2-D arrays.

    Returns
    -------
    hsi.labels.Labels
        ``array`` (H, W) int64 class ids (0 means unlabelled, and so do the pixels of the
        file's declared nodata value, :func:`unlabelled_nodata`), ``crs`` and
        ``transform`` (or ``None``), and the class names (and colours) of a GeoTIFF's
        ``CLASS_NAMES`` tag or an ENVI Classification file's ``class names`` (``class
        lookup``, :func:`envi_classes`).
        Unpacks as ``array, crs, transform``.

    Raises
    ------
    FormatError
        Several bands, non-integer values, no (or several) 2-D arrays in a ``.mat``, or a
        nodata value that is the code of a class the file names.
    ConfigError
        ``var`` given for a file that is not a ``.mat`` (:func:`check_var_applies`).
    """
    fmt = detect_format(path)
    check_var_applies(path, fmt, var)
    path = Path(path)
    if fmt == "mat":
        from hsi.io.mat import read_mat_array

        return Labels(_as_int_labels(read_mat_array(path, var=var, ndim=2), path))
    if fmt == "cave":
        raise FormatError(f"{path}: a folder is not a label raster")
    if fmt == "envi":
        from hsi.io.envi import read_envi

        lazy = read_envi(path, lazy=True)
        check_allocation(8 * lazy.height * lazy.width * lazy.bands, str(path))
        cube = read_envi(path, lazy=False)
        check_one_band(path, cube.bands)
        named, colors = envi_classes(path)
        values = unlabelled_nodata(np.asarray(cube.data[0]), cube.nodata, named, path)
        return Labels(_as_int_labels(values, path), cube.crs, cube.transform,
                      names=tuple(named.values()) or None, codes=tuple(named) or None,
                      colors=colors)
    check_readable(path)
    try:
        with rasterio.open(path) as src:
            check_one_band(path, src.count)
            # declared size, checked before decompressing (a small file may claim a huge grid)
            check_allocation(8 * src.height * src.width, str(path))
            labels = src.read(1)
            crs = src.crs if src.crs else None
            transform = None if src.transform == Affine.identity() and crs is None \
                else src.transform
            names = _names_tag(src.tags().get("CLASS_NAMES"))
            cmap = _colormap(src)
            nodata = src.nodata
    except RasterioError as exc:
        raise FormatError(f"{path}: cannot be read as a raster ({exc})") from None
    labels = unlabelled_nodata(labels, nodata, names, path)
    colors = None  # the colour table of named classes (a class map's), kept for their rasters
    if names and all(code in cmap for code in names):
        colors = tuple(tuple(cmap[code][:3]) for code in names)
    return Labels(_as_int_labels(labels, path), crs, transform,
                  names=tuple(names.values()) or None, codes=tuple(names) or None,
                  colors=colors)


def envi_classes(path: str | os.PathLike
                 ) -> tuple[dict[int, str], tuple[tuple[int, int, int], ...] | None]:
    """Class names and colours of an ENVI Classification file, keyed by code.

    ENVI writes ``file type = ENVI Classification`` with ``classes = N``, ``class names =
    {Unclassified, water, ...}`` and ``class lookup = {r, g, b, ...}``: code ``i`` is the
    ``i``-th entry, code 0 "Unclassified" (no class). Other ENVI files have none.

    Parameters
    ----------
    path : path
        The header or data file.

    Returns
    -------
    named : dict
        ``{code: name}`` of the codes 1..N-1 (empty without ``class names``).
    colors : tuple of (r, g, b), optional
        Their colours in code order, when ``class lookup`` gives one per class.
    """
    from hsi.io.envi import envi_paths, read_header

    header = read_header(envi_paths(path)[0])
    names = [str(n).strip() for n in header.get("class names") or []]
    named = {code: name for code, name in enumerate(names) if code > 0 and name}
    lookup = header.get("class lookup") or []
    colors = None
    try:
        rgb = [int(float(v)) for v in lookup]
    except (TypeError, ValueError):
        rgb = []
    if named and len(rgb) == 3 * len(names):
        colors = tuple(tuple(rgb[3 * c:3 * c + 3]) for c in named)
    return named, colors


def read_class_map(path: str | os.PathLike) -> tuple[np.ndarray, list[str], dict]:
    """Read a class map written by :func:`write_class_map`.

    Returns
    -------
    labels : numpy.ndarray, shape (H, W), uint8 or uint16
    class_names : list of str
        Name of value ``v`` at ``class_names[v - 1]`` (``"class v"`` for values between
        codes that have no class; empty when the file has no ``CLASS_NAMES`` tag).
    colormap : dict
        ``{value: (r, g, b, a)}`` (empty without a colour table).

    Raises
    ------
    FormatError
        Not one band (a probability raster, a cube), or values that are not class codes
        (whole numbers in 0..65535; an uncertainty raster), as :func:`read_labels` refuses.
    """
    path = check_readable(path)
    try:
        with rasterio.open(path) as src:
            check_one_band(path, src.count)  # a probability raster or a cube is no class map
            check_allocation(8 * src.height * src.width, str(path))  # before decompressing
            labels = src.read(1)
            by_code = _names_tag(src.tags().get("CLASS_NAMES"))
            # names keyed by codes (1, 10, 11...): listed by value
            names = [by_code.get(c, f"class {c}") for c in range(1, max(by_code, default=0) + 1)]
            cmap = _colormap(src)
            nodata = src.nodata
    except RasterioError as exc:
        raise FormatError(f"{path}: cannot be read as a raster ({exc})") from None
    # another tool's class map may mark its unclassified pixels with its nodata value
    labels = unlabelled_nodata(labels, nodata, by_code, path)
    if labels.dtype not in (np.uint8, np.uint16):
        # the label check (whole numbers in 0..MAX_CODE): an entropy raster is no class map
        values = _as_int_labels(labels, path)
        labels = values.astype(np.uint8 if values.max(initial=0) <= 255 else np.uint16)
    if names:  # GDAL pads colour tables to 256 entries
        cmap = {k: v for k, v in cmap.items() if k <= len(names)}
    return labels, list(names), cmap


def write_class_map(path: str | os.PathLike, labels: ArrayLike, *, crs: CRS | None,
                    transform: Affine | None, class_names: list[str],
                    colors: list[tuple[int, int, int]] | None = None,
                    codes: list[int] | None = None, nodata: int | None = None,
                    tags: dict[str, str] | None = None) -> Path:
    """Write a uint8 class map GeoTIFF with a colour table and class names, atomically.

    Parameters
    ----------
    path : path
        Destination ``.tif``.
    labels : array-like, shape (H, W)
        Class values: 0 = no class, ``codes[i]`` = ``class_names[i]``.
    crs, transform
        Georeference (``None`` allowed).
    class_names : list of str, length K
        Names of the classes.
    colors : list of (r, g, b), optional
        Colours of the classes (0-255); distinct defaults otherwise. Value 0 is black.
    codes : list of int, optional
        The value of each class in the raster (default ``1..K``); values above 255 make the
        file uint16.
    nodata : int, optional
        Declared nodata value (e.g. 0 for "not classified"; readers then mask it).
    tags : dict of str, optional
        More GeoTIFF tags, e.g. how the map was made.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ShapeError
        ``labels`` is not 2-D.
    FormatError
        Labels outside 0..K (or 0..255), or a colour list of the wrong length.
    HsiIOError
        The folder cannot be written.
    """
    path = Path(path)
    labels = np.asarray(labels)
    check_shape(labels, ["H", "W"], name="labels")
    if labels.dtype.kind not in "iub" and not (
            labels.dtype.kind == "f" and np.all(labels == np.round(labels))):
        raise FormatError(f"{path}: labels must be integers, got {labels.dtype}")
    k = len(class_names)
    codes = list(range(1, k + 1)) if codes is None else [int(c) for c in codes]
    if len(codes) != k or len(set(codes)) != k or min(codes, default=1) < 1 \
            or max(codes, default=1) > MAX_CODE:
        raise FormatError(f"{path}: expected {k} distinct codes in 1..{MAX_CODE} (one per class "
                          f"name), got {codes}")
    present = np.unique(labels) if labels.size else np.zeros(0)
    stray = sorted(set(present.tolist()) - {0, *codes})
    if stray:
        raise FormatError(f"{path}: labels must be 0 (no class) or one of the class codes "
                          f"{codes[:10]}, got {stray[:5]}")
    dtype = "uint8" if max(codes, default=0) <= 255 else "uint16"
    colors = default_colors(k) if colors is None else [tuple(c)[:3] for c in colors]
    if len(colors) != k:
        raise FormatError(f"{path}: expected {k} colours (one per class name), got {len(colors)}")
    cmap = {0: (0, 0, 0, 255)}
    cmap.update({code: (int(c[0]), int(c[1]), int(c[2]), 255)
                 for code, c in zip(codes, colors, strict=True)})
    consecutive = codes == list(range(1, k + 1))
    names_tag = list(class_names) if consecutive else {
        str(code): n for code, n in zip(codes, class_names, strict=True)}
    profile = {"driver": "GTiff", "count": 1, "height": labels.shape[0],
               "width": labels.shape[1], "dtype": dtype, "compress": "deflate",
               "tiled": True, "blockxsize": 256, "blockysize": 256, "photometric": "PALETTE"}
    if crs is not None:
        profile["crs"] = crs
    if transform is not None:
        profile["transform"] = transform
    if nodata is not None:
        profile["nodata"] = nodata
    with atomic_path(path) as tmp:
        try:
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(labels.astype(dtype), 1)
                dst.write_colormap(1, cmap)
                dst.update_tags(CLASS_NAMES=json.dumps(names_tag), **(tags or {}))
                dst.set_band_description(1, "class: " + ", ".join(
                    f"{code}={n}" for code, n in zip(codes, class_names, strict=True)))
        except RasterioError as exc:
            raise HsiIOError(f"{path}: cannot write class map ({exc})") from None
    return path
