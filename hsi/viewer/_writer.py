"""napari writers: image layers to GeoTIFF/ENVI cubes, Labels layers to GeoTIFF class maps.

Both are npe2 single-layer writers ``(path, data, attributes) -> list[str]``; the spectral and
georeferencing attributes come from ``attributes["metadata"]`` (see :mod:`hsi.viewer._convert`).

Neither writes over a file that a layer of the viewer was read from (napari's ``layer.source``,
or the file a lazy layer reads its pixels from): as ``hsi``'s commands
(:func:`hsi.io.guard.check_outputs`), an output never replaces an input, which would also
leave a lazy layer reading another cube's bytes. Writes are atomic (:func:`hsi.save`), so a
failed save leaves no half-written file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hsi.viewer._convert import class_color, cube_from_layer, full_res

if TYPE_CHECKING:
    from collections.abc import Iterable

    import napari


def open_inputs(viewer: napari.Viewer | None = None) -> list[str]:
    """The files the layers of ``viewer`` (napari's current viewer by default) come from.

    ``layer.source.path`` (what a reader opened) and, for a lazy layer, the file its pixels are
    read from (a GeoTIFF, or an ENVI data file).
    """
    from hsi.io.indexing import file_view

    if viewer is None:
        try:
            from napari import current_viewer

            viewer = current_viewer()
        except Exception:  # napari unusable here: no viewer, no open inputs
            return []
    if viewer is None:
        return []
    from napari.layers import Image, Labels

    paths = []
    for layer in list(viewer.layers):
        source = getattr(getattr(layer, "source", None), "path", None)
        if source:
            paths.append(str(source))
        if not isinstance(layer, (Image, Labels)):
            # only these hold pixels (or a pyramid of them) read from a file; a Shapes
            # layer's data is a list of shapes, empty when nothing is drawn: no pyramid
            continue
        view = file_view(full_res(layer.data))
        if getattr(view, "path", None):
            paths.append(str(view.path))
    return paths


def check_not_an_input(path: str) -> None:
    """Refuse ``path`` when it is (or is a companion of) a file a viewer layer comes from.

    Raises
    ------
    hsi.errors.HsiIOError
        ``OUT: output is the input file IN: refusing to overwrite an input ...``.
    """
    from hsi.io.guard import check_outputs

    check_outputs([path], open_inputs())


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

    Raises
    ------
    hsi.errors.HsiIOError
        ``path`` is a file a layer of the viewer was read from (see :func:`check_not_an_input`).
    """
    import hsi

    check_not_an_input(path)
    array = full_res(data)  # a multiscale layer is written at full resolution
    if attributes.get("rgb") and getattr(array, "ndim", 0) == 3:
        array = np.moveaxis(np.asarray(array), -1, 0)
    cube = cube_from_layer(array, attributes.get("metadata"), name=attributes.get("name", ""))
    written = Path(hsi.save(cube, path))
    files = [str(written)]
    if written.suffix.lower() == ".hdr":
        files += [str(p) for p in written.parent.glob(written.stem + ".*") if p != written]
    return files


def labels_colors(values: Iterable[int], attributes: dict) -> list[tuple[int, int, int]]:
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
    """Write a Labels layer as a GeoTIFF class map with its colour table and class names
    (uint8, or uint16 for codes above 255).

    Class names come from ``metadata["class_names"]`` (a dict value -> name, or a list for
    values 1, 2, ...), else ``"class <value>"``; colours from the layer's colormap.
    """
    from hsi.errors import ShapeError
    from hsi.io.labels import MAX_CODE, write_class_map

    labels = np.asarray(full_res(data))  # a multiscale layer: its full-resolution level
    if labels.ndim != 2:
        raise ShapeError(f"labels layer {attributes.get('name')!r}: expected (H, W), "
                         f"got shape {labels.shape}", actual_shape=labels.shape,
                         expected_shape=("H", "W"))
    if labels.min(initial=0) < 0 or labels.max(initial=0) > MAX_CODE:
        raise ShapeError(f"labels layer {attributes.get('name')!r}: values must lie in "
                         f"0..{MAX_CODE} for a class map, got {labels.min()}..{labels.max()}")
    meta = attributes.get("metadata") or {}
    top = int(labels.max(initial=0))
    # up to 255: every code 1..max named (a class may be painted later); above: the codes
    # present (a uint16 map, e.g. land-cover codes), each named by its own code
    values = (list(range(1, top + 1)) if top <= 255
              else [int(v) for v in np.unique(labels) if v > 0])
    k = len(values)
    names = meta.get("class_names")
    if isinstance(names, dict):
        names = [str(names.get(v, names.get(str(v), f"class {v}"))) for v in values]
    elif isinstance(names, (list, tuple)) and len(names) >= k and top <= 255:
        names = [str(n) for n in names[:k]]
    else:
        names = [f"class {v}" for v in values]
    colors = meta.get("class_colors")
    if isinstance(colors, dict):
        colors = [tuple(colors.get(v, colors.get(str(v), class_color(v)))) for v in values]
    elif not (isinstance(colors, (list, tuple)) and len(colors) >= k):
        colors = labels_colors(values, attributes)
    check_not_an_input(path)
    cube = cube_from_layer(labels[None], meta)
    write_class_map(path, labels, crs=cube.crs, transform=cube.transform, class_names=names,
                    colors=[tuple(int(c) for c in rgb) for rgb in colors[:k]],
                    codes=None if top <= 255 else values)
    return [str(path)]
