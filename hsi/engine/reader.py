"""Window reads of a scene's inputs: each input opened once, the next tile read ahead."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from hsi.cube import Cube
from hsi.io.formats import reading

if TYPE_CHECKING:
    from rasterio.windows import Window

__all__ = ["STRIP_BYTES", "WindowReader", "read_ahead", "reading"]

#: Largest full-width strip :meth:`WindowReader.read` keeps for the tiles of one row, bytes.
STRIP_BYTES = 256 * 2**20

T = TypeVar("T")
R = TypeVar("R")


class WindowReader:
    """Windowed reads of one input, opened once.

    GeoTIFF and ENVI files are opened lazily and each window is read from the file through
    the cube's file view (:func:`hsi.io.indexing.load_window`); other formats (``.mat``, CAVE)
    are read into memory once. A :class:`~hsi.cube.Cube` (lazy or not) is read the same way.
    Used in a ``with`` block, a GeoTIFF stays open until the block ends, so the blocks that
    overlapping tiles share are decompressed once (GDAL's block cache) instead of once a read.

    Parameters
    ----------
    source : path or Cube
    var : str, optional
        Variable of a ``.mat`` holding several cubes.

    Attributes
    ----------
    band_source : numpy.ndarray of int, shape (bands,), optional
        The stored band each band is read from (after :attr:`missing_as_nan`, before
        :attr:`band_matrix`), e.g. an empty band from its nearest band with data so that it
        spreads no NaN (:func:`hsi.fusion.api.empty_band_sources`); ``None``: each from itself.
    band_matrix : numpy.ndarray, shape (bands, bands), optional
        Applied to every pixel of every read (``x ↦ band_matrix @ x``), e.g. the fusion's
        spectral denoiser of the LR-HSI (:mod:`hsi.fusion.denoise`); ``None`` reads as stored.
    missing_as_nan : bool
        Reads return float32 with the cube's nodata value as NaN (:func:`hsi.cube.missing_as_nan`,
        before ``band_matrix``): what the fusion methods leave out. Default ``False``: as stored.
    """

    def __init__(self, source: str | os.PathLike | Cube, *, var: str | None = None) -> None:
        if isinstance(source, Cube):
            self.cube = source
            self.path = Path(source.name or "cube")
        else:
            from hsi.io import open as open_cube

            self.path = Path(source)
            self.cube = open_cube(self.path, var=var, lazy=True)  # mat/CAVE: into memory
        self.windowed = self.cube.is_lazy
        self.band_matrix: np.ndarray | None = None
        self.band_source: np.ndarray | None = None
        self._stored = self.cube  # what reads load: the input as stored (band_source after)
        self.missing_as_nan = False
        self._open = contextlib.ExitStack()
        self._strip: tuple[tuple[int, int], np.ndarray] | None = None

    def use_cube(self, cube: Cube) -> None:
        """Read ``cube`` from now on: this input transformed lazily (e.g. padded onto another
        grid, :meth:`hsi.fusion.grid.GridAlignment.pad`), read through dask, not the file;
        its bands as they are in ``cube`` (:attr:`band_source` cleared)."""
        self.cube = self._stored = cube
        self.windowed, self._strip, self.band_source = cube.is_lazy, None, None

    def reorder_bands(self, order: np.ndarray) -> None:
        """Read band ``order[k]`` of the input as band ``k`` from now on, still window by
        window from the file: :attr:`cube` becomes the reordered cube (data lazily indexed,
        wavelengths and FWHM to match), e.g. a B, G, R file as R, G, B
        (:func:`hsi.fusion.api.msi_band_order`).

        Parameters
        ----------
        order : numpy.ndarray of int, shape (bands,)
            A permutation of the input's bands.
        """
        order = np.asarray(order)
        c = self.cube
        self.cube = c.with_data(c.data[order],
                                wavelengths=None if c.wavelengths is None else c.wavelengths[order],
                                fwhm=None if c.fwhm is None else c.fwhm[order])
        self.band_source = order

    def __enter__(self) -> WindowReader:
        from hsi.io.indexing import file_view

        view = file_view(self._stored.data) if self.windowed else None
        if hasattr(view, "kept_open"):
            with reading(self.path):
                self._open.enter_context(view.kept_open())
        return self

    def __exit__(self, *exc) -> bool:
        self._open.close()
        self._strip = None
        return False

    def scale(self) -> float:
        """Divisor to reflectance of the whole input (a strided subsample when lazy)."""
        from hsi.degrade import reflectance_scale

        with reading(self.path):
            return reflectance_scale(self._stored)

    def read(self, window: Window, *, strip: bool = False) -> Cube:
        """The pixels of ``window`` in memory, :attr:`band_matrix` applied, without georeference.

        Parameters
        ----------
        window : rasterio.windows.Window
        strip : bool
            Read through a full-width strip of the window's rows, kept (as stored) until a
            window of other rows is asked for: the tiles of one row of a tiled pass then share
            one read, so a file block under several tiles of the row is decompressed once,
            however small GDAL's block cache. Only for a lazy cube whose strip takes at most
            :data:`STRIP_BYTES`; otherwise a direct read.
        """
        from hsi.io.indexing import load_window

        rows = (int(window.row_off), int(window.height))
        if strip and self.windowed and self._strip_fits(rows[1]):
            if self._strip is None or self._strip[0] != rows:
                self._strip = None  # the old strip is freed before the new one is read
                whole = type(window)(0, rows[0], self.cube.width, rows[1])
                with reading(self.path):
                    self._strip = (rows, load_window(self._stored, whole).data)
            c0 = int(window.col_off)
            data = self._strip[1][:, :, c0:c0 + int(window.width)]
        else:
            with reading(self.path):
                data = load_window(self._stored, window).data
        if self.missing_as_nan and self.cube.nodata is not None:
            from hsi.cube import missing_as_nan

            before = data
            data = missing_as_nan(data, self.cube.nodata)
            strip = strip and np.shares_memory(data, before)  # a copy already
        if self.band_source is not None:
            data = np.asarray(data)[self.band_source]  # a copy
            strip = False
        if self.band_matrix is not None:
            with np.errstate(invalid="ignore"):  # ±inf (missing) × 0: NaN, missing too
                data = np.tensordot(self.band_matrix.astype(np.float32, copy=False),
                                    np.asarray(data, dtype=np.float32), axes=1)
        elif strip:  # a copy: the strip is freed once the next row's is read
            data = data.copy()
        # tiles carry no georeference: the scene was checked once, and a tile of a file
        # without georeference would otherwise look georeferenced (shifted identity)
        return self.cube.with_data(data, crs=None, transform=None)

    def _strip_fits(self, height: int) -> bool:
        return self.cube.bands * height * self.cube.width * self.cube.dtype.itemsize <= STRIP_BYTES


def read_ahead(fn: Callable[[T], R], items: Sequence[T]) -> Iterator[tuple[T, R]]:
    """Yield ``(item, fn(item))``, computing the next item's ``fn`` in a thread meanwhile."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="hsi-read")
    try:
        pending = pool.submit(fn, items[0]) if items else None
        for i, item in enumerate(items):
            result = pending.result()
            pending = pool.submit(fn, items[i + 1]) if i + 1 < len(items) else None
            yield item, result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
