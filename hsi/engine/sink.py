"""Where a scene job's tiles go: a file writer (CLI, batch) or an array in memory (viewer).

Every sink has the interface of :class:`hsi.io.geotiff.GeoTiffTileWriter`: it is made from
the raster's profile (``bands``, ``height``, ``width``, ``dtype``, ``crs``, ``transform``,
``nodata``, ``wavelengths``, ``fwhm``, ``tile``), used in a ``with`` block, and
``write(array, window)`` puts a tile's core in place. A pipeline takes a *sink factory*
(``functools.partial(GeoTiffTileWriter, path)`` or :class:`ArrayWriter`), so the file and the
in-memory doors run the same tiling code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from rasterio.windows import Window

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

__all__ = ["ArrayWriter"]


class ArrayWriter:
    """An in-memory raster ``(bands, height, width)`` filled tile by tile.

    Takes the same keywords as :class:`~hsi.io.geotiff.GeoTiffTileWriter` (less the path);
    the georeference and wavelengths are kept in :attr:`profile` for the caller, the pixels
    in :attr:`data` (zeros where no tile was written).

    >>> w = ArrayWriter(bands=1, height=2, width=3, dtype="float32")
    >>> with w:
    ...     w.write(np.ones((1, 2, 2)), Window(1, 0, 2, 2))
    >>> w.data[0].tolist()
    [[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]
    """

    def __init__(self, *, bands: int, height: int, width: int, dtype: DTypeLike = "float32",
                 **profile: Any) -> None:
        # np.zeros: pages are only touched as tiles are written
        self.data = np.zeros((int(bands), int(height), int(width)), dtype=np.dtype(dtype))
        self.profile = profile
        self.tags: dict[str, Any] = {}

    def tag(self, **values: Any) -> None:
        """Keep ``values`` in :attr:`tags` (what a GeoTIFF sink records as dataset tags)."""
        self.tags.update(values)

    def write(self, array: ArrayLike, window: Window) -> None:
        """Put ``array`` of shape ``(bands, window.height, window.width)`` (or 2-D) at
        ``window``."""
        array = np.asarray(array)
        if array.ndim == 2:
            array = array[None]
        r0, c0 = int(window.row_off), int(window.col_off)
        self.data[:, r0:r0 + int(window.height), c0:c0 + int(window.width)] = array

    def __enter__(self) -> ArrayWriter:
        return self

    def __exit__(self, *exc) -> bool:
        return False
