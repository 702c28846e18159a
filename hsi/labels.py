"""The label raster type: class codes on a grid, with optional class names.

A :class:`Labels` is what the label readers return (:func:`hsi.io.labels.read_labels`) and what
training and evaluation accept, so the library itself checks that labels and a cube share a
grid (:meth:`Labels.check_grid`). It unpacks and indexes like the ``(array, crs, transform)``
tuple the readers used to return.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from affine import Affine
from rasterio.crs import CRS

from hsi.check import check_shape
from hsi.errors import DataError, FormatError, GridError, ShapeError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from hsi.cube import Cube


@dataclass(frozen=True, eq=False)
class Labels:
    """A label raster: integer class codes on a georeferenced grid.

    Parameters
    ----------
    array : numpy.ndarray of int, shape (H, W)
        Class codes, 0 = unlabelled.
    crs : rasterio.crs.CRS, optional
    transform : affine.Affine, optional
        Pixel-to-map transform (map units per pixel); ``None`` for an ungeoreferenced raster.
    names : tuple of str, optional
        Class names, ``names[i]`` the name of ``codes[i]``.
    codes : tuple of int, optional
        The codes that ``names`` name (default ``1..len(names)``).
    colors : tuple of (r, g, b), optional
        The colour of each named class (0-255), ``colors[i]`` that of ``codes[i]``: a label
        raster's colour table, kept by the rasters made from it (a train/test split).

    Raises
    ------
    ShapeError
        ``array`` is not 2-D.
    FormatError
        ``array`` is not of an integer (or boolean) type, names and codes differ in length, or
        colours are given without names, of another count, or not three values in 0..255.
    """

    array: np.ndarray
    crs: CRS | None = None
    transform: Affine | None = None
    names: tuple[str, ...] | None = None
    codes: tuple[int, ...] | None = None
    colors: tuple[tuple[int, int, int], ...] | None = None

    def __post_init__(self) -> None:
        array = np.asarray(self.array)
        check_shape(array, ["H", "W"], name="labels")
        if array.dtype.kind not in "iub":
            raise FormatError(f"labels: expected integer class codes, got {array.dtype}")
        object.__setattr__(self, "array", array)
        if self.crs is not None and not isinstance(self.crs, CRS):
            object.__setattr__(self, "crs", CRS.from_user_input(self.crs))
        if self.names is not None:
            names = tuple(str(n) for n in self.names)
            codes = tuple(range(1, len(names) + 1)) if self.codes is None \
                else tuple(int(c) for c in self.codes)
            if len(codes) != len(names):
                raise FormatError(f"labels: {len(names)} class names for {len(codes)} codes")
            object.__setattr__(self, "names", names)
            object.__setattr__(self, "codes", codes)
        if self.colors is not None:
            if self.names is None or len(self.colors) != len(self.names):
                raise FormatError(f"labels: {len(self.colors)} class colours for "
                                  f"{len(self.names or ())} named classes")
            colors = tuple(tuple(int(v) for v in tuple(c)[:3]) for c in self.colors)
            if any(len(c) != 3 or not all(0 <= v <= 255 for v in c) for c in colors):
                raise FormatError("labels: class colours must be (r, g, b) in 0..255")
            object.__setattr__(self, "colors", colors)

    def __repr__(self) -> str:
        from hsi.cube import _crs_label
        from hsi.reprs import array_summary, names_summary

        names = f", {names_summary(self.names)}" if self.names is not None else ""
        crs = f", crs={_crs_label(self.crs)}" if self.crs is not None else ""
        return f"Labels({array_summary(self.array)}{names}{crs})"

    def __iter__(self) -> Iterator[Any]:
        """Unpack as ``array, crs, transform`` (the readers' former tuple)."""
        return iter((self.array, self.crs, self.transform))

    def __getitem__(self, index: int | slice) -> Any:
        """Index as the ``(array, crs, transform)`` tuple (``labels[0]`` is the array)."""
        return (self.array, self.crs, self.transform)[index]

    @property
    def height(self) -> int:
        """Rows (pixels)."""
        return int(self.array.shape[0])

    @property
    def width(self) -> int:
        """Columns (pixels)."""
        return int(self.array.shape[1])

    @property
    def class_names(self) -> dict[int, str] | None:
        """``{code: name}`` (what :func:`hsi.classification.pipeline.class_codes` takes)."""
        if self.names is None:
            return None
        return dict(zip(self.codes, self.names, strict=True))

    def check_grid(self, grid: Cube | Labels, name: str = "labels", of: str = "the cube") -> None:
        """Raise unless these labels lie on the grid of ``grid`` (a Cube or other Labels).

        Parameters
        ----------
        grid : hsi.Cube or Labels
            Anything with ``height``, ``width``, ``crs`` and ``transform``.
        name, of : str
            What the labels and ``grid`` are called in the message.

        Raises
        ------
        ShapeError
            The labels are not ``(grid.height, grid.width)``.
        GridError
            Both have a CRS (or a transform) and they differ (transforms by more than a
            thousandth of a pixel, :func:`same_transform`).
        """
        want = (grid.height, grid.width)
        if self.array.shape != want:
            raise ShapeError(
                f"{name}: expected {of}'s grid {want[0]}×{want[1]}, got "
                f"{self.height}×{self.width}{transposed_hint(self.array.shape, want)}",
                actual_shape=self.array.shape, expected_shape=want,
            )
        if self.crs is not None and grid.crs is not None and self.crs != grid.crs:
            raise GridError(f"{name}: CRS {self.crs} differs from {of}'s {grid.crs}")
        if self.transform is not None and grid.transform is not None and not \
                same_transform(self.transform, grid.transform):
            raise GridError(f"{name}: transform {tuple(self.transform)[:6]} differs from "
                            f"{of}'s {tuple(grid.transform)[:6]}")


def transposed_hint(shape: tuple[int, ...], expected: tuple[int, ...]) -> str:
    """The end of a message refusing a label raster of ``shape`` where ``expected`` (H, W)
    was wanted: ``"; rows and columns look swapped ..."`` when ``shape`` is ``expected``
    transposed (a raster written column-major, or a MATLAB array), else ``""``."""
    if len(shape) == 2 and tuple(shape) == tuple(expected)[::-1] and shape[0] != shape[1]:
        return "; rows and columns look swapped: store the labels transposed (array.T)"
    return ""


def same_transform(a: Affine, b: Affine, tolerance: float = 1e-3) -> bool:
    """Whether two pixel-to-map transforms put every pixel on the same ground.

    Compared in pixels, not map units: each coefficient may differ by ``tolerance`` times the
    pixel size of ``a`` (its largest coefficient of ``a, b, d, e``). An absolute tolerance
    would not do for geographic grids: at 1e-6 degrees, labels of a drone scene in EPSG:4326
    (pixels of 2e-7 degrees, about 2 cm) passed shifted by 5 pixels.

    Parameters
    ----------
    a, b : affine.Affine
    tolerance : float
        Largest difference, in pixels of ``a``.

    Returns
    -------
    bool
    """
    pixel = max(abs(a.a), abs(a.b), abs(a.d), abs(a.e))
    return all(abs(x - y) <= tolerance * pixel for x, y in zip(tuple(a)[:6], tuple(b)[:6],
                                                              strict=True))


def as_labels(labels: Labels | ArrayLike, crs: CRS | None = None,
              transform: Affine | None = None) -> Labels:
    """Return ``labels`` if it is a :class:`Labels`, else wrap the ``(H, W)`` array in one."""
    if isinstance(labels, Labels):
        return labels
    return Labels(np.asarray(labels), crs=crs, transform=transform)


def whole_ids(values: np.ndarray, name: str) -> np.ndarray:
    """``values`` (class or cluster ids) as int64 ids >= 0, refusing what would be silently
    truncated or dropped: the one check of a class map's and a cluster map's values when
    they are scored.

    Raises
    ------
    DataError
        Non-numeric values, values that are not whole numbers (a confidence or a cube given
        as a map; NaN), or negative values.
    """
    if values.dtype.kind == "b":
        return values.astype(np.int64)
    if values.dtype.kind not in "iuf":
        raise DataError(f"{name}: expected whole-number ids, got {values.dtype} values")
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        bad = ~finite | (values != np.round(values))
        if bad.any():
            raise DataError(f"{name}: expected whole-number ids, got non-integer values "
                            f"(e.g. {float(values[bad].flat[0])!r})")
    if values.size and values.min() < 0:
        raise DataError(f"{name}: expected ids >= 0 (0 = none), got {int(values.min())}")
    return values.astype(np.int64)
