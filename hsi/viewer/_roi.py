"""Regions of interest on a cube layer: masks from Shapes or Labels layers, mean ± std spectra.

A region is a boolean mask over a *window* (bounding box) of the cube's pixel grid, so its
statistics read only that window of every band, a few bands at a time: a lazy (dask) cube
reads the chunks the window touches, never the whole scene. Shapes are rasterised by napari
itself (:meth:`napari.layers.Shapes.to_masks`); a Labels layer gives one region per label
value. The ROI layer may lie on another grid than the cube (other scale or offset): positions
go through world coordinates.

Nothing here needs Qt; napari is imported only to rasterise shapes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hsi.viewer._convert import full_res

if TYPE_CHECKING:
    import dask.array as da
    from napari.layers import Image, Labels, Layer, Shapes

#: At most this many regions (shapes or label values) are measured and plotted.
MAX_ROIS = 32
#: Bytes of float64 pixels read at once while measuring a region (a few bands of its window).
BLOCK_BYTES = 64 * 2**20
#: Shape types with an inside; lines and paths are skipped.
AREA_SHAPES = ("rectangle", "ellipse", "polygon")


@dataclass(eq=False)
class Roi:
    """A region of a cube: ``mask (h, w)`` over rows ``row0 .. row0 + h``, cols likewise.

    ``name`` is a column-safe key (``roi_1`` for the first shape, ``label_3`` for label value
    3); ``label`` the legend text; ``color`` 0-1 RGB.
    """

    name: str
    label: str
    row0: int
    col0: int
    mask: np.ndarray
    color: tuple[float, float, float]

    @property
    def pixels(self) -> int:
        return int(self.mask.sum())

    @property
    def window(self) -> tuple[slice, slice]:
        """Row and column slices of the region's bounding box in the cube."""
        h, w = self.mask.shape
        return slice(self.row0, self.row0 + h), slice(self.col0, self.col0 + w)


@dataclass(eq=False)
class RoiSpectrum:
    """Statistics of one region, per band: ``mean``, ``std`` (population) and ``count``
    (valid pixels: finite and not nodata), all ``(bands,)``, against ``x`` (nm or band)."""

    name: str
    label: str
    x: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    count: np.ndarray
    pixels: int
    color: tuple[float, float, float]


def pixel_map(layer: Layer, cube_layer: Image) -> tuple[np.ndarray, np.ndarray]:
    """The affine map from ``layer``'s last two data axes to the cube's ``(row, col)``.

    Returns
    -------
    A : numpy.ndarray, shape (2, 2)
    b : numpy.ndarray, shape (2,)
        ``cube_rc = A @ layer_rc + b`` (through world coordinates: scale, translate, affine).
    """

    def to_cube(rc: tuple[float, float]) -> np.ndarray:
        point = np.zeros(layer.ndim)
        point[-2:] = rc
        world = np.asarray(layer.data_to_world(point), dtype=np.float64)[-2:]
        full = np.zeros(cube_layer.ndim)
        full[-2:] = world
        return np.asarray(cube_layer.world_to_data(full), dtype=np.float64)[-2:]

    b = to_cube((0.0, 0.0))
    a = np.column_stack([to_cube((1.0, 0.0)) - b, to_cube((0.0, 1.0)) - b])
    return a, b


def _clip_box(points: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Inclusive pixel box ``(r0, r1, c0, c1)`` around ``points (n, 2)``, clipped to ``shape``."""
    r0 = max(0, math.floor(points[:, 0].min()))
    r1 = min(shape[0] - 1, math.ceil(points[:, 0].max()))
    c0 = max(0, math.floor(points[:, 1].min()))
    c1 = min(shape[1] - 1, math.ceil(points[:, 1].max()))
    if r0 > r1 or c0 > c1:
        return None
    return r0, r1, c0, c1


def _tab10(i: int) -> tuple[float, float, float]:
    from matplotlib import colormaps

    return tuple(float(c) for c in colormaps["tab10"](i % 10)[:3])


def shape_rois(shapes_layer: Shapes, cube_layer: Image, max_rois: int = MAX_ROIS
               ) -> list[Roi]:
    """One region per rectangle, ellipse or polygon of ``shapes_layer`` (on the cube's grid).

    Each shape is moved to the cube's pixel grid and rasterised by napari
    (``Shapes.to_masks``) over its own bounding box only; a pixel belongs to a shape when its
    centre lies inside. Lines, paths and shapes wholly outside the cube are skipped.

    Parameters
    ----------
    shapes_layer : napari.layers.Shapes
        2-D shapes, or shapes drawn on a slice of a 3-D viewer (the band coordinate is ignored).
    cube_layer : napari.layers.Image
        The ``(bands, H, W)`` cube layer.

    Returns
    -------
    list of Roi
        Named ``roi_<n>`` with ``n`` the shape's 1-based position in the layer; labelled
        ``ROI <n> (<kind>)``, or ``<name> (<kind>)`` when the layer has a ``name`` feature
        (``viewer.add_shapes(..., features={"name": [...]})``, shown with ``text="name"``).
    """
    from napari.layers import Shapes

    shape = tuple(cube_layer.data.shape[-2:])
    features = getattr(shapes_layer, "features", None)
    names = (list(features["name"]) if features is not None and "name" in features
             else [None] * len(shapes_layer.data))
    a, b = pixel_map(shapes_layer, cube_layer)
    rois: list[Roi] = []
    for i, (vertices, kind) in enumerate(zip(shapes_layer.data, shapes_layer.shape_type,
                                             strict=True)):
        if kind not in AREA_SHAPES:
            continue
        # snapped to 1e-6 pixel: a vertex on a pixel centre stays on it after the round trip
        # through world coordinates (napari counts a centre on the outline as inside)
        points = np.round(np.asarray(vertices, dtype=np.float64)[:, -2:] @ a.T + b, 6)
        box = _clip_box(points, shape)
        if box is None:
            continue
        r0, r1, c0, c1 = box
        local = Shapes([points - (r0, c0)], shape_type=[kind])
        mask = np.asarray(local.to_masks((r1 - r0 + 1, c1 - c0 + 1))[0], dtype=bool)
        if not mask.any():
            continue
        given = names[i] if i < len(names) else None
        title = f"ROI {i + 1}" if given is None or str(given) in ("", "nan") else str(given)
        rois.append(Roi(f"roi_{i + 1}", f"{title} ({kind})", r0, c0, mask, _tab10(i)))
        if len(rois) >= max_rois:
            break
    return rois


def _class_name(metadata: dict | None, value: int) -> str | None:
    names = (metadata or {}).get("class_names")
    if isinstance(names, dict):
        name = names.get(value, names.get(str(value)))
        return None if name is None else str(name)
    if isinstance(names, (list, tuple)) and 1 <= value <= len(names):
        return str(names[value - 1])
    return None


def _label_boxes(labels: np.ndarray, max_rois: int) -> list[tuple[int, tuple[slice, slice]]]:
    """``(value, (rows, cols))`` bounding boxes of the positive label values, lowest first."""
    from scipy import ndimage

    top = int(labels.max(initial=0))
    if top <= 0:
        return []
    if top <= 65535:
        boxes = ndimage.find_objects(np.clip(labels, 0, None).astype(np.int32, copy=False))
        found = [(v + 1, s) for v, s in enumerate(boxes) if s is not None]
        return found[:max_rois]
    out = []
    for v in np.unique(labels[labels > 0])[:max_rois]:
        rows, cols = np.nonzero(labels == v)
        out.append((int(v), (slice(rows.min(), rows.max() + 1),
                             slice(cols.min(), cols.max() + 1))))
    return out


def label_rois(labels_layer: Labels, cube_layer: Image, max_rois: int = MAX_ROIS
               ) -> list[Roi]:
    """One region per positive label value of a 2-D Labels layer (0 is background).

    The labels may lie on another grid than the cube: each cube pixel takes the label at its
    centre (nearest label pixel).

    Returns
    -------
    list of Roi
        Named ``label_<value>``, labelled with ``metadata["class_names"]`` where given and
        coloured as the layer shows them.
    """
    labels = np.asarray(full_res(labels_layer.data))  # a multiscale layer: its level 0
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        return []
    shape = tuple(cube_layer.data.shape[-2:])
    a, b = pixel_map(labels_layer, cube_layer)
    inverse = np.linalg.inv(a)
    rois: list[Roi] = []
    for value, (rows, cols) in _label_boxes(labels, max_rois):
        top, bottom = rows.start - 0.5, rows.stop - 0.5  # pixel edges, not centres
        left, right = cols.start - 0.5, cols.stop - 0.5
        corners = np.array([[top, left], [top, right], [bottom, left], [bottom, right]])
        box = _clip_box(corners @ a.T + b, shape)
        if box is None:
            continue
        r0, r1, c0, c1 = box
        rr, cc = np.mgrid[r0:r1 + 1, c0:c1 + 1]
        centres = np.stack([rr.ravel(), cc.ravel()], axis=1).astype(np.float64)
        src = np.rint((centres - b) @ inverse.T).astype(np.int64)
        inside = ((src[:, 0] >= 0) & (src[:, 0] < labels.shape[0])
                  & (src[:, 1] >= 0) & (src[:, 1] < labels.shape[1]))
        hit = np.zeros(centres.shape[0], dtype=bool)
        hit[inside] = labels[src[inside, 0], src[inside, 1]] == value
        mask = hit.reshape(rr.shape)
        if not mask.any():
            continue
        name = _class_name(labels_layer.metadata, value)
        label = f"label {value}" + (f" · {name}" if name else "")
        rgb = tuple(float(c) for c in np.asarray(labels_layer.get_color(value))[:3])
        rois.append(Roi(f"label_{value}", label, r0, c0, mask, rgb))
    return rois


def roi_spectrum(data: np.ndarray | da.Array, roi: Roi, x: np.ndarray,
                 nodata: float | None = None, *,
                 block_bytes: int = BLOCK_BYTES) -> RoiSpectrum:
    """Mean ± std spectrum of ``roi`` in ``data``, reading only the region's window.

    Parameters
    ----------
    data : array-like, shape (bands, H, W)
        numpy or dask cube; read as ``data[b0:b1, rows, cols]`` over the region's bounding box,
        a few bands at a time (at most ``block_bytes`` of float64 each).
    roi : Roi
    x : numpy.ndarray, shape (bands,)
        Wavelengths (nm) or band numbers.
    nodata : float, optional
        Value left out, like non-finite values (per band).

    Returns
    -------
    RoiSpectrum
        ``mean``/``std`` are NaN in bands where no pixel of the region is valid.
    """
    bands = int(data.shape[0])
    rows, cols = roi.window
    area = max(1, roi.mask.size)
    step = max(1, block_bytes // (8 * area))
    mean = np.full(bands, np.nan)
    std = np.full(bands, np.nan)
    count = np.zeros(bands, dtype=np.int64)
    for b0 in range(0, bands, step):
        b1 = min(bands, b0 + step)
        block = np.asarray(data[b0:b1, rows, cols], dtype=np.float64)[:, roi.mask]
        valid = np.isfinite(block)
        if nodata is not None:
            valid &= block != float(nodata)
        n = valid.sum(axis=1)
        total = np.where(valid, block, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = total / n
            var = np.where(valid, (block - m[:, None]) ** 2, 0.0).sum(axis=1) / n
        count[b0:b1] = n
        mean[b0:b1] = np.where(n > 0, m, np.nan)
        std[b0:b1] = np.where(n > 0, np.sqrt(var), np.nan)
    return RoiSpectrum(roi.name, roi.label, np.asarray(x, dtype=np.float64), mean, std, count,
                       roi.pixels, roi.color)


def roi_spectra(data: np.ndarray | da.Array, rois: list[Roi], x: np.ndarray,
                nodata: float | None = None,
                report: Callable[[int, int], None] | None = None) -> list[RoiSpectrum]:
    """:func:`roi_spectrum` of each region; ``report(done, total)`` after each."""
    out = []
    for i, roi in enumerate(rois):
        out.append(roi_spectrum(data, roi, x, nodata))
        if report is not None:
            report(i + 1, len(rois))
    return out
