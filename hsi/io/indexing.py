"""numpy-style indexing for the lazy ``(bands, rows, cols)`` file views of :mod:`hsi.io`.

:func:`read_positions` turns a key (ints, slices with any step, 1-D integer arrays, boolean
masks, ``...``) into the sorted, unique band, row and column positions it selects, has a
reader fetch just those, and returns what ``numpy`` would: so ``view[0, ::7, ::7]`` reads one
band, subsampled, and never the cube. Several array indices select independently (outer
indexing, as ``dask`` asks for it), not pointwise as in numpy.

:func:`load_window` reads one window of an opened lazy cube through its file view in one
read, without opening the file again or going through dask's per-chunk tasks.

:class:`DecimatedView` is a file view decimated 2, 4, 8... times: a level of the multiscale
pyramid a viewer shows a big scene with (:func:`pyramid_factors`).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from types import EllipsisType
    from typing import TypeAlias

    import dask.array as da
    from rasterio.windows import Window

    from hsi.cube import Cube
    from hsi.io.envi import EnviArray
    from hsi.io.geotiff import GeoTiffArray

    #: An index of one axis: an int, a slice, a 1-D integer array or a boolean mask.
    AxisKey: TypeAlias = int | np.integer | slice | np.ndarray | Sequence[int] | Sequence[bool]
    #: A numpy-style key of a ``(bands, rows, cols)`` file view.
    Key: TypeAlias = AxisKey | EllipsisType | tuple[AxisKey | EllipsisType, ...]

AXES = ("band", "row", "column")


def normalise_key(key: Key, ndim: int = 3) -> tuple:
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


def axis_positions(key: AxisKey, n: int, axis: str) -> tuple[np.ndarray, bool]:
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


def read_positions(read: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray], key: Key,
                   shape: tuple[int, int, int], dtype: np.dtype) -> np.ndarray:
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


def file_view(data: np.ndarray | da.Array) -> Any:
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
    check_allocation(int(np.prod(part.shape)) * part.dtype.itemsize,
                     str(getattr(view, "path", None) or cube.name or "cube"))
    return part.with_data(np.asarray(view[:, r0:r0 + part.height, c0:c0 + part.width]))


#: Bytes of decimated band planes :class:`DecimatedView` keeps (all views together), and the
#: largest plane it keeps.
PLANE_CACHE_BYTES = 32 * 2**20
PLANE_CACHE_MAX = 8 * 2**20

_PLANES: OrderedDict = OrderedDict()
_PLANES_LOCK = threading.Lock()


def _plane_key(base: GeoTiffArray | EnviArray, band: int, factor: int) -> tuple | None:
    path = getattr(base, "path", None)
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (str(path), st.st_mtime_ns, st.st_size, tuple(base.shape), int(band), int(factor))


def _cached_plane(base: GeoTiffArray | EnviArray, band: int,
                  factor: int) -> tuple[np.ndarray, int] | None:
    """A kept plane of ``band`` at ``factor`` or at a finer factor dividing it, and the step
    from that plane to ``factor`` (planes sampled at ``(r·f, c·f)`` nest: the plane at ``2f``
    is every other pixel of the plane at ``f``)."""
    f = int(factor)
    with _PLANES_LOCK:
        finer = f
        while finer >= 1:
            key = _plane_key(base, band, finer)
            if key is None:
                return None
            plane = _PLANES.get(key)
            if plane is not None:
                _PLANES.move_to_end(key)
                return plane, f // finer
            if finer % 2:
                break
            finer //= 2
    return None


def _keep_plane(base: GeoTiffArray | EnviArray, band: int, factor: int,
                plane: np.ndarray) -> None:
    key = _plane_key(base, band, factor)
    if key is None or plane.nbytes > PLANE_CACHE_MAX:
        return
    with _PLANES_LOCK:
        _PLANES[key] = plane
        _PLANES.move_to_end(key)
        total = sum(p.nbytes for p in _PLANES.values())
        while total > PLANE_CACHE_BYTES and _PLANES:
            total -= _PLANES.popitem(last=False)[1].nbytes


class DecimatedView:
    """A file view decimated ``factor`` times in rows and columns: one level of a pyramid.

    Shape ``(bands, H // factor, W // factor)``; pixel ``(r, c)`` is the view's pixel
    ``(r·factor, c·factor)``, except where a GeoTIFF has internal overviews: then a
    :class:`hsi.io.geotiff.GeoTiffArray` base reads the level from them (GDAL picks the
    overview, ``read_decimated``). Indexed like numpy (:func:`read_positions`), reading only
    what the key selects, so it serves as a napari multiscale level or a
    ``dask.array.from_array`` source.

    Sampled levels nest (level ``2f`` is every other pixel of level ``f``): a whole band plane
    read (what napari shows at a coarse level, and its thumbnail) is kept in a small cache
    (:data:`PLANE_CACHE_BYTES`, least recently used dropped), and a coarser level of the same
    band is cut from it without reading the file again.

    Parameters
    ----------
    base : array-like file view
        :class:`hsi.io.geotiff.GeoTiffArray` or :class:`hsi.io.envi.EnviArray` (anything with
        ``_read(bands, rows, cols)``).
    factor : int
        Decimation factor (>= 1, a power of two for the levels to nest).
    """

    def __init__(self, base: GeoTiffArray | EnviArray, factor: int) -> None:
        bands, rows, cols = base.shape
        self.base = base
        self.factor = int(factor)
        self.shape = (bands, max(1, rows // self.factor), max(1, cols // self.factor))
        self.dtype = np.dtype(base.dtype)
        self.ndim = 3
        overviews = getattr(base, "has_overviews", None)
        self.sampled = not (overviews is not None and overviews())

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __getitem__(self, key: Key) -> np.ndarray:
        return read_positions(self._read, key, self.shape, self.dtype)

    def _read(self, bands: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        f = self.factor
        if not self.sampled:
            return self.base.read_decimated(bands, rows, cols, f)
        whole = rows.size == self.shape[1] and cols.size == self.shape[2]
        out = np.empty((bands.size, rows.size, cols.size), self.dtype)
        for i, band in enumerate(bands.tolist()):
            kept = _cached_plane(self.base, band, f)
            if kept is not None:
                plane, step = kept
                out[i] = plane[::step, ::step][:self.shape[1], :self.shape[2]][
                    np.ix_(rows, cols)]
                continue
            out[i] = self.base._read(np.array([band]), rows * f, cols * f)[0]
            if whole:
                _keep_plane(self.base, band, f, out[i].copy())
        return out


def pyramid_factors(height: int, width: int, *, min_side: int = 512) -> list[int]:
    """Decimation factors ``[1, 2, 4, ...]`` of a pyramid, down to a level whose longer side
    is at most ``min_side`` (just ``[1]`` for an image that small)."""
    factors = [1]
    while max(height, width) // factors[-1] > min_side:
        factors.append(factors[-1] * 2)
    return factors
