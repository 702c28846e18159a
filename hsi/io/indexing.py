"""numpy-style indexing for the lazy ``(bands, rows, cols)`` file views of :mod:`hsi.io`.

:func:`read_positions` turns a key (ints, slices with any step, 1-D integer arrays, boolean
masks, ``...``) into the sorted, unique band, row and column positions it selects, has a
reader fetch just those, and returns what ``numpy`` would: so ``view[0, ::7, ::7]`` reads one
band, subsampled, and never the cube. Several array indices select independently (outer
indexing, as ``dask`` asks for it), not pointwise as in numpy.

:func:`load_window` reads one window of an opened lazy cube through its file view in one
read, without opening the file again or going through dask's per-chunk tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rasterio.windows import Window

    from hsi.cube import Cube

AXES = ("band", "row", "column")


def normalise_key(key, ndim: int = 3) -> tuple:
    """``key`` as a tuple of ``ndim`` indices (``...`` expanded, missing axes ``slice(None)``).

    Raises
    ------
    IndexError
        More than ``ndim`` indices.
    """
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key):
        i = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:i] + (slice(None),) * (ndim - len(key) + 1) + key[i + 1:]
    if len(key) > ndim:
        raise IndexError(f"too many indices for a {ndim}-D array: {len(key)}")
    return key + (slice(None),) * (ndim - len(key))


def axis_positions(key, n: int, axis: str) -> tuple[np.ndarray, bool]:
    """Positions (int64, in ``0..n-1``, in key order) one index selects on an axis of size
    ``n``, and whether the axis is dropped (an integer index).

    Raises
    ------
    IndexError
        An integer or array index out of range, or an index that is not an int, slice, 1-D
        integer array or boolean mask.
    """
    if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
        i = int(key)
        if not -n <= i < n:
            raise IndexError(f"{axis} index {i} is out of range for size {n}")
        return np.array([i % n], dtype=np.int64), True
    if isinstance(key, slice):
        return np.arange(*key.indices(n), dtype=np.int64), False
    arr = np.asarray(key)
    if arr.ndim == 1 and arr.size == 0:
        return np.empty(0, dtype=np.int64), False
    if arr.dtype == np.bool_ and arr.shape == (n,):
        return np.flatnonzero(arr).astype(np.int64), False
    if arr.ndim == 1 and arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
        if arr.min() < -n or arr.max() >= n:
            raise IndexError(f"{axis} index out of range for size {n}")
        return np.where(arr < 0, arr + n, arr), False
    raise IndexError(f"unsupported {axis} index {key!r} (ints, slices, 1-D integer arrays or "
                     f"boolean masks)")


def as_step(positions: np.ndarray) -> slice | np.ndarray:
    """Increasing ``positions`` relative to the first, as a slice when evenly spaced."""
    rel = positions - positions[0]
    if positions.size == 1:
        return slice(0, 1)
    steps = np.diff(rel)
    if np.all(steps == steps[0]):
        return slice(0, int(rel[-1]) + 1, int(steps[0]))
    return rel


def runs(positions: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` index ranges of the runs of consecutive values in increasing
    ``positions`` (``[3, 4, 5, 9]`` → ``[(0, 3), (3, 4)]``)."""
    cuts = (np.flatnonzero(np.diff(positions) != 1) + 1).tolist()
    return list(zip([0, *cuts], [*cuts, positions.size], strict=True))


def read_positions(read: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray], key,
                   shape: tuple[int, int, int], dtype) -> np.ndarray:
    """Index a ``(bands, rows, cols)`` file view like numpy, reading only what ``key`` selects.

    Parameters
    ----------
    read : callable
        ``read(bands, rows, cols)`` with sorted unique int64 positions of each axis (none
        empty) returning the array ``(bands.size, rows.size, cols.size)``.
    key
        A numpy basic or 1-D integer/boolean index.
    shape : (int, int, int)
        Shape of the view.
    dtype : numpy dtype
        Data type of the result (for empty selections).

    Returns
    -------
    numpy.ndarray
        ``view[key]``.
    """
    picked = [axis_positions(k, n, axis)
              for k, n, axis in zip(normalise_key(key), shape, AXES, strict=True)]
    if any(p.size == 0 for p, _ in picked):
        out = np.empty(tuple(p.size for p, _ in picked), dtype)
    else:
        uniq = [np.unique(p, return_inverse=True) for p, _ in picked]
        out = read(*(u for u, _ in uniq))
        for axis, ((p, _), (u, inverse)) in enumerate(zip(picked, uniq, strict=True)):
            if u.size != p.size or np.any(np.diff(p) < 0):
                out = np.take(out, inverse.reshape(-1), axis=axis)
    return out[tuple(0 if drop else slice(None) for _, drop in picked)]


def file_view(data):
    """The array-like file view a lazy cube's dask array reads, or ``None``.

    Only a dask array made by ``dask.array.from_array`` of a view (as the lazy GeoTIFF and
    ENVI readers make it, :class:`hsi.io.geotiff.GeoTiffArray`, :class:`hsi.io.envi.EnviArray`)
    and not transformed since has one; then ``view[key]`` equals ``data[key]`` computed.

    Parameters
    ----------
    data : numpy.ndarray or dask.array.Array, shape (bands, H, W)

    Returns
    -------
    array-like or None
    """
    graph, name = getattr(data, "dask", None), getattr(data, "name", None)
    if graph is None or not isinstance(name, str):
        return None
    try:
        view = graph["original-" + name]  # where from_array keeps its source
    except KeyError:
        return None
    if tuple(getattr(view, "shape", ())) != tuple(data.shape) or not hasattr(view, "__getitem__"):
        return None
    return view


def load_window(cube: Cube, window: Window) -> Cube:
    """The pixels of ``window`` in memory, read from the file of a lazy cube in one read.

    A lazy cube opened from a GeoTIFF or ENVI file (:func:`hsi.io.open` with ``lazy=True``)
    is read through its file view (:func:`file_view`): only the window is read, and the file
    is not opened, sniffed or validated again. Any other cube is cropped and computed.

    Parameters
    ----------
    cube : Cube, shape (bands, H, W)
    window : rasterio.windows.Window
        Integer window inside the cube.

    Returns
    -------
    Cube, shape (bands, window.height, window.width)
        Numpy data, with the transform shifted to the window (as :meth:`hsi.cube.Cube.crop`).

    Raises
    ------
    ShapeError
        The window is empty or reaches outside the cube.
    ResourceError
        The window is larger than the memory budget.
    """
    part = cube.crop(window)  # checks the bounds; lazy data stays a (cheap) dask slice
    view = file_view(cube.data) if cube.is_lazy else None
    if view is None:
        return part.compute()
    from hsi.memory import check_allocation

    window = window.round_offsets().round_lengths()
    r0, c0 = int(window.row_off), int(window.col_off)
    check_allocation(int(np.prod(part.shape)) * part.dtype.itemsize, cube.name or "cube")
    return part.with_data(np.asarray(view[:, r0:r0 + part.height, c0:c0 + part.width]))
