"""Window reads of a scene's inputs: each input opened once, the next tile read ahead."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from hsi.cube import Cube

__all__ = ["WindowReader", "read_ahead", "reading"]

T = TypeVar("T")
R = TypeVar("R")


@contextlib.contextmanager
def reading(path: str | os.PathLike) -> Iterator[None]:
    """Turn a low-level read failure (GDAL, a memory map...) into a one-line HsiIOError."""
    from hsi.errors import HsiError, HsiIOError

    try:
        yield
    except HsiError:
        raise
    except (OSError, ValueError, RuntimeError) as exc:
        from hsi.io.atomic import _cause

        text = _cause(exc) or type(exc).__name__  # GDAL's message, behind rasterio's own
        # no chained cause: the error must pickle to cross Dask process boundaries intact
        raise HsiIOError(f"{path}: read failed ({text})") from None


class WindowReader:
    """Windowed reads of one input, opened once.

    GeoTIFF and ENVI files are opened lazily and each window is read from the file through
    the cube's file view (:func:`hsi.io.indexing.load_window`); other formats (``.mat``, CAVE)
    are read into memory once. A :class:`~hsi.cube.Cube` (lazy or not) is read the same way.

    Parameters
    ----------
    source : path or Cube
    var : str, optional
        Variable of a ``.mat`` holding several cubes.

    Attributes
    ----------
    band_matrix : numpy.ndarray, shape (bands, bands), optional
        Applied to every pixel of every read (``x ↦ band_matrix @ x``), e.g. the fusion's
        spectral denoiser of the LR-HSI (:mod:`hsi.fusion.denoise`); ``None`` reads as stored.
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

    def scale(self) -> float:
        """Divisor to reflectance of the whole input (a strided subsample when lazy)."""
        from hsi.degrade import reflectance_scale

        with reading(self.path):
            return reflectance_scale(self.cube)

    def read(self, window) -> Cube:
        """The pixels of ``window`` in memory, without georeference."""
        from hsi.io.indexing import load_window

        with reading(self.path):
            data = load_window(self.cube, window).data
        if self.band_matrix is not None:
            data = np.tensordot(self.band_matrix.astype(np.float32),
                                np.asarray(data, dtype=np.float32), axes=1)
        # tiles carry no georeference: the scene was checked once, and a tile of a file
        # without georeference would otherwise look georeferenced (shifted identity)
        return self.cube.with_data(data, crs=None, transform=None)


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
