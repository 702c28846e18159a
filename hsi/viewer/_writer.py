"""napari writers: image layers to GeoTIFF/ENVI cubes, Labels layers to GeoTIFF class maps.

Both are npe2 single-layer writers ``(path, data, attributes) -> list[str]``; the spectral and
georeferencing attributes come from ``attributes["metadata"]`` (see :mod:`hsi.viewer._convert`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hsi.viewer._convert import class_color, cube_from_layer, full_res


def write_image(path: str, data: Any, attributes: dict) -> list[str]:
    """Write an image layer as a cube (``.tif``/``.tiff`` GeoTIFF or ``.hdr`` ENVI).

    Parameters
    ----------
    path : str
        Destination; the extension picks the format.
    data : array-like, shape (bands, H, W), (H, W) or (H, W, 3) with ``rgb``
        Layer data; of a multiscale layer, its levels (the first, full resolution, is written).
    attributes : dict
        Layer attributes; ``metadata`` holds wavelengths, fwhm, crs and transform.

    Returns
    -------
    list of str
        The files written (ENVI writes a header and a data file).
    """
    import hsi

    array = full_res(data)  # a multiscale layer is written at full resolution
    if attributes.get("rgb") and getattr(array, "ndim", 0) == 3:
        array = np.moveaxis(np.asarray(array), -1, 0)
    cube = cube_from_layer(array, attributes.get("metadata"), name=attributes.get("name", ""))
    written = Path(hsi.save(cube, path))
    files = [str(written)]
    if written.suffix.lower() == ".hdr":
        files += [str(p) for p in written.parent.glob(written.stem + ".*") if p != written]
    return files


def labels_colors(values, attributes: dict) -> list[tuple[int, int, int]]:
    """0-255 RGB colours of label ``values``: the layer's colormap, else the default classes."""
    colormap = attributes.get("colormap")
    colors = []
    for v in values:
        rgb = None
        if colormap is not None and hasattr(colormap, "map"):
            rgba = np.asarray(colormap.map(np.asarray([v]))).reshape(-1)
            if rgba.size >= 3 and (rgba.size < 4 or rgba[3] > 0):
                rgb = tuple(round(float(c) * 255) for c in rgba[:3])
        colors.append(rgb or class_color(v))
    return colors


def write_labels(path: str, data: Any, attributes: dict) -> list[str]:
    """Write a Labels layer as a uint8 GeoTIFF class map with its colour table and class names.

    Class names come from ``metadata["class_names"]`` (a dict value -> name, or a list for
    values 1, 2, ...), else ``"class <value>"``; colours from the layer's colormap.
    """
    from hsi.errors import ShapeError
    from hsi.io.labels import write_class_map

    labels = np.asarray(data)
    if labels.ndim != 2:
        raise ShapeError(f"labels layer {attributes.get('name')!r}: expected (H, W), "
                         f"got shape {labels.shape}", actual_shape=labels.shape,
                         expected_shape=("H", "W"))
    if labels.min(initial=0) < 0 or labels.max(initial=0) > 255:
        raise ShapeError(f"labels layer {attributes.get('name')!r}: values must lie in 0..255 "
                         f"for a class map, got {labels.min()}..{labels.max()}")
    meta = attributes.get("metadata") or {}
    k = int(labels.max(initial=0))
    values = list(range(1, k + 1))
    names = meta.get("class_names")
    if isinstance(names, dict):
        names = [str(names.get(v, names.get(str(v), f"class {v}"))) for v in values]
    elif isinstance(names, (list, tuple)) and len(names) >= k:
        names = [str(n) for n in names[:k]]
    else:
        names = [f"class {v}" for v in values]
    colors = meta.get("class_colors")
    if isinstance(colors, dict):
        colors = [tuple(colors.get(v, colors.get(str(v), class_color(v)))) for v in values]
    elif not (isinstance(colors, (list, tuple)) and len(colors) >= k):
        colors = labels_colors(values, attributes)
    cube = cube_from_layer(labels[None], meta)
    write_class_map(path, labels.astype(np.uint8), crs=cube.crs, transform=cube.transform,
                    class_names=names, colors=[tuple(int(c) for c in rgb) for rgb in colors[:k]])
    return [str(path)]
