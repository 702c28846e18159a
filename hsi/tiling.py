"""Tiles over a high-resolution grid: windows with overlap, their low-resolution twins, stitching.

A fusion method sees only the pixels it is given, so a scene is cut into *core* windows that
tile the HR grid exactly, each read with an *overlap* margin that covers the method's receptive
field; after fusion the margin is cropped away and only the core is written. Windows are
:class:`rasterio.windows.Window` objects (rasterio's unit of I/O), so they go straight into
``read(window=)``, ``write(window=)`` and :func:`rasterio.windows.transform`.

Every offset and length is a multiple of the HR/LR ``ratio`` (except where the scene itself
ends), so the matching LR window is exact: ``lr = hr / ratio``.

>>> tiles = tile_windows(100, 70, tile=32, overlap=8, ratio=4)
>>> len(tiles), tiles[0].core
(12, Window(col_off=0, row_off=0, width=32, height=32))
>>> tiles[0].read
Window(col_off=0, row_off=0, width=40, height=40)
>>> tiles[0].lr_read
Window(col_off=0, row_off=0, width=10, height=10)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from rasterio.windows import Window

from hsi.check import check_ratio, is_whole_number
from hsi.errors import ShapeError

if TYPE_CHECKING:
    import torch
    from numpy.typing import DTypeLike

#: An array a tile's result may be: numpy or torch.
_Array = TypeVar("_Array", np.ndarray, "torch.Tensor")

__all__ = ["Tile", "align_up", "crop_to_core", "spread_windows", "stitch", "tile_windows"]


def align_up(value: int, ratio: int) -> int:
    """Return the smallest multiple of ``ratio`` that is ``>= value`` (``value`` >= 0)."""
    value, ratio = int(value), int(ratio)
    return -(-value // ratio) * ratio


@dataclass(frozen=True)
class Tile:
    """One tile of a scene.

    Attributes
    ----------
    index : int
        Position in row-major order.
    core : rasterio.windows.Window
        HR pixels this tile is responsible for; the cores of a scene tile its grid exactly.
    read : rasterio.windows.Window
        HR pixels to read: ``core`` grown by the overlap on every side, clipped to the scene.
    lr_read : rasterio.windows.Window
        The LR pixels covering ``read`` (``read`` divided by the ratio, clipped to the LR grid).
    """

    index: int
    core: Window
    read: Window
    lr_read: Window

    @property
    def inner(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices that select ``core`` inside an array read over ``read``."""
        r0 = int(self.core.row_off - self.read.row_off)
        c0 = int(self.core.col_off - self.read.col_off)
        return (slice(r0, r0 + int(self.core.height)), slice(c0, c0 + int(self.core.width)))

    @property
    def pixels(self) -> int:
        """Number of HR pixels in the core."""
        return int(self.core.width) * int(self.core.height)


def tile_windows(height: int, width: int, *, tile: int = 256, overlap: int = 0, ratio: int = 1,
                 lr_height: int | None = None, lr_width: int | None = None,
                 min_read: int = 0) -> list[Tile]:
    """Cut an HR grid into tiles aligned to ``ratio``.

    Parameters
    ----------
    height, width : int
        HR grid size in pixels.
    tile : int
        Core size in HR pixels; rounded up to a multiple of ``ratio``.
    overlap : int
        Margin read around each core, in HR pixels; rounded up to a multiple of ``ratio``.
    ratio : int
        HR pixels per LR pixel (1 for a single-resolution grid).
    lr_height, lr_width : int, optional
        LR grid size; defaults to ``ceil(height / ratio)`` and ``ceil(width / ratio)``. LR
        windows are clipped to it.
    min_read : int
        Smallest read window side in HR pixels (a method's filters need it): a thin edge tile
        reads further into the scene (its core is unchanged).

    Returns
    -------
    list of Tile
        Row-major; the cores cover ``height × width`` exactly once.

    Raises
    ------
    ShapeError
        For an empty grid, a tile size that is not a whole number >= 1 or an overlap that is
        not a whole number >= 0.
    """
    # a tile of 16.5, "16" or True was read as 16, 16 or 1 without a word
    if not is_whole_number(tile, 1):
        raise ShapeError(f"tile must be a whole number >= 1 of HR pixels, got {tile!r}")
    if not is_whole_number(overlap, 0):
        raise ShapeError(f"overlap must be a whole number >= 0 of HR pixels, got {overlap!r}")
    height, width, tile, overlap = int(height), int(width), int(tile), int(overlap)
    ratio = 1 if int(ratio) == 1 else check_ratio(ratio)
    if height < 1 or width < 1:
        raise ShapeError(f"grid must be at least 1×1 pixels, got {height}×{width}",
                         actual_shape=(height, width))
    tile = align_up(tile, ratio)
    overlap = align_up(overlap, ratio)
    lr_h = align_up(height, ratio) // ratio if lr_height is None else int(lr_height)
    lr_w = align_up(width, ratio) // ratio if lr_width is None else int(lr_width)

    def widened(a: int, b: int, size: int) -> tuple[int, int]:
        """Grow the read span [a, b) to ``min_read`` pixels, into the scene, ratio-aligned."""
        if b - a >= min_read:
            return a, b
        a = max(0, (max(b - min_read, 0) // ratio) * ratio)
        return a, min(size, max(b, a + min_read))

    tiles: list[Tile] = []
    for r0 in range(0, height, tile):
        r1 = min(r0 + tile, height)
        rr0, rr1 = widened(max(r0 - overlap, 0), min(r1 + overlap, height), height)
        for c0 in range(0, width, tile):
            c1 = min(c0 + tile, width)
            cc0, cc1 = widened(max(c0 - overlap, 0), min(c1 + overlap, width), width)
            lr_r0, lr_c0 = rr0 // ratio, cc0 // ratio
            lr_r1 = min(align_up(rr1, ratio) // ratio, lr_h)
            lr_c1 = min(align_up(cc1, ratio) // ratio, lr_w)
            tiles.append(Tile(
                index=len(tiles),
                core=Window(c0, r0, c1 - c0, r1 - r0),
                read=Window(cc0, rr0, cc1 - cc0, rr1 - rr0),
                lr_read=Window(lr_c0, lr_r0, lr_c1 - lr_c0, lr_r1 - lr_r0),
            ))
    return tiles


def spread_windows(height: int, width: int, size: int, count: int,
                   ratio: int = 1) -> list[Window]:
    """``count`` (a square number) windows of ``size`` pixels a side spread over a grid.

    Each window is centred in a cell of an even ``√count × √count`` grid over the scene,
    clipped into it and its offsets rounded down to multiples of ``ratio``; a side is cut to
    the scene (rounded down to ``ratio``). The sample a scene-wide fit sees: several parts of
    the scene at a memory cost that does not grow with it.

    Returns
    -------
    list of rasterio.windows.Window
        Row-major, without repeats (a thin scene can give the same window twice).
    """
    import math

    ratio = max(1, int(ratio))
    h = min(int(size), int(height) // ratio * ratio)
    w = min(int(size), int(width) // ratio * ratio)
    grid = math.isqrt(int(count))
    windows = []
    for i in range(grid):
        for j in range(grid):
            r0 = int((i + 0.5) * height / grid - h / 2)
            c0 = int((j + 0.5) * width / grid - w / 2)
            r0 = min(max(r0, 0), height - h) // ratio * ratio
            c0 = min(max(c0, 0), width - w) // ratio * ratio
            windows.append(Window(c0, r0, w, h))
    return list(dict.fromkeys(windows))


def crop_to_core(array: _Array, tile: Tile) -> _Array:
    """Return the part of ``array`` (read over ``tile.read``) that lies in ``tile.core``.

    Parameters
    ----------
    array : numpy.ndarray or torch.Tensor, shape (..., h, w)
        Result for the read window; ``(h, w)`` equals the read window's size.

    Returns
    -------
    array, shape (..., core_h, core_w)

    Raises
    ------
    ShapeError
        When the array's last two axes differ from the read window's size.
    """
    want = (int(tile.read.height), int(tile.read.width))
    got = tuple(array.shape[-2:])
    if got != want:
        raise ShapeError(f"tile {tile.index}: expected a result of {want[0]}×{want[1]} pixels "
                         f"(its read window), got {got[0]}×{got[1]}",
                         actual_shape=tuple(array.shape), expected_shape=want)
    rows, cols = tile.inner
    return array[..., rows, cols]


def stitch(tiles: Sequence[Tile], arrays: Sequence[np.ndarray], height: int, width: int,
           dtype: DTypeLike | None = None) -> np.ndarray:
    """Assemble per-tile results (each over its read window) into one in-memory array.

    Meant for small scenes and tests; scene-scale output goes through a tiled GeoTIFF writer.

    Parameters
    ----------
    tiles : sequence of Tile
    arrays : sequence of numpy.ndarray, each shape (bands, read_h, read_w)
    height, width : int
        HR grid size.

    Returns
    -------
    numpy.ndarray, shape (bands, height, width)
    """
    if len(tiles) != len(arrays):
        raise ShapeError(f"stitch: {len(tiles)} tiles but {len(arrays)} arrays")
    if not tiles:
        raise ShapeError("stitch: no tiles")
    first = np.asarray(arrays[0])
    out = np.zeros((first.shape[0], int(height), int(width)), dtype=dtype or first.dtype)
    for t, a in zip(tiles, arrays, strict=True):
        r0, c0 = int(t.core.row_off), int(t.core.col_off)
        out[:, r0:r0 + int(t.core.height), c0:c0 + int(t.core.width)] = crop_to_core(
            np.asarray(a), t)
    return out
