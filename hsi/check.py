"""One-line input guards shared by every module (kornia's ``KORNIA_CHECK_SHAPE`` style).

Messages are built only on failure and always say expected vs got.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from hsi.errors import ArgumentTypeError, SensorError, ShapeError, WavelengthError

if TYPE_CHECKING:
    import os

    import dask.array as da
    import torch
    from numpy.typing import ArrayLike
    from rasterio.windows import Window


def positive_number(value: object, error: type[Exception], must_be: str) -> float:
    """``value`` as a float when it is a finite number > 0.

    Raises
    ------
    error
        ``"{must_be}, got {value!r}"`` otherwise (not a number, NaN, inf, 0 or negative).
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise error(f"{must_be}, got {value!r}")
    return number


def require_path(path: object, caller: str) -> None:
    """Raise :class:`~hsi.errors.ArgumentTypeError` unless ``path`` is a ``str`` or path-like.

    ``caller`` starts the message (``"hsi.open"``: ``"hsi.open: path must be ..."``).
    """
    import os

    if isinstance(path, (str, os.PathLike)):
        return
    hint = " (an array becomes a cube with hsi.Cube(data, wavelengths=...))" if hasattr(
        path, "shape") else ""
    raise ArgumentTypeError(f"{caller}: path must be a file or folder path (str or "
                            f"pathlib.Path), got {type(path).__name__}{hint}")


def is_whole_number(value: object, low: int, high: int | None = None) -> bool:
    """Whether ``value`` is an integer (Python or numpy, not a bool) in ``low..high``.

    The one test behind the count, seed and crop arguments: ``1.0``, ``True`` and ``"3"`` are
    not whole numbers here, ``numpy.int64(3)`` is.
    """
    import numbers

    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        return False
    return low <= value and (high is None or value <= high)


#: The largest random seed (what scikit-learn and numpy's legacy seeding accept).
MAX_SEED = 2**32 - 1


def check_seed(seed: object) -> int:
    """Check a random seed: a whole number in ``0..MAX_SEED`` (:func:`is_whole_number`).

    Returns
    -------
    int
        The seed, a Python int.

    Raises
    ------
    ConfigError
        Anything else (``None``, a float, a negative or too large number), before any work.
    """
    from hsi.errors import ConfigError

    if not is_whole_number(seed, 0, MAX_SEED):
        raise ConfigError(f"seed: expected a whole number from 0 to {MAX_SEED}, got {seed!r}")
    return int(seed)


def check_shape(x: np.ndarray | torch.Tensor | da.Array, dims: Sequence[str],
                name: str = "input") -> None:
    """Raise :class:`ShapeError` unless ``x`` has one axis per entry of ``dims``.

    Parameters
    ----------
    x : array-like with ``.shape``
        numpy array, dask array or torch tensor.
    dims : sequence of str
        Axis names, e.g. ``["bands", "H", "W"]``. A name that is a digit string
        (``"3"``) also fixes that axis' size. A leading ``"*"`` allows any number of
        extra leading axes.

    Raises
    ------
    ShapeError
        When the number of axes or a fixed size differs.
    """
    shape = tuple(x.shape)
    wanted = list(dims)
    if wanted and wanted[0] == "*":
        wanted = wanted[1:]
        ok = len(shape) >= len(wanted)
        tail = shape[len(shape) - len(wanted):] if ok else shape
    else:
        ok = len(shape) == len(wanted)
        tail = shape
    if ok:
        for size, dim in zip(tail, wanted, strict=True):
            if dim.isdigit() and int(dim) != size:
                ok = False
                break
    if not ok:
        raise ShapeError(
            f"{name} must have shape ({', '.join(dims)}), got {shape}",
            actual_shape=shape,
            expected_shape=tuple(dims),
        )


def check_window(window: Window | tuple[float, float, float, float], height: int, width: int,
                 path: str | os.PathLike | None = None) -> Window:
    """Return ``window`` with integer offsets and lengths after checking it lies in the grid.

    The one bounds check of every reader (GeoTIFF, ENVI, ``.mat``, CAVE) and of
    :meth:`hsi.cube.Cube.crop`, so a window outside the image fails the same way in every format.

    Parameters
    ----------
    window : rasterio.windows.Window or (col_off, row_off, width, height)
        Rows/columns (pixels) asked for, as a ``Window`` or a tuple of its four fields in
        ``Window``'s order; fractional offsets and lengths are rounded.
    height, width : int
        Size of the grid in pixels (rows, columns).
    path : path, optional
        The file the window is read from, put at the start of the message.

    Returns
    -------
    rasterio.windows.Window
        The rounded window (integer ``row_off``, ``col_off``, ``height``, ``width``).

    Raises
    ------
    ShapeError
        The window is empty or reaches outside the ``height × width`` grid
        (``actual_shape`` is the window's ``(rows, cols)``, ``expected_shape`` the grid's).
    TypeError
        ``window`` is neither a ``Window`` nor four numbers.
    """
    from rasterio.windows import Window

    if not isinstance(window, Window):
        try:
            window = Window(*(float(v) for v in window))
        except (TypeError, ValueError):
            raise ArgumentTypeError(f"window: expected a rasterio Window or (col_off, row_off, "
                                    f"width, height), got {window!r}") from None
    window = window.round_offsets().round_lengths()
    r0, c0, h, w = (int(window.row_off), int(window.col_off), int(window.height),
                    int(window.width))
    if h <= 0 or w <= 0 or r0 < 0 or c0 < 0 or r0 + h > height or c0 + w > width:
        where = f"{path}: " if path is not None else ""
        raise ShapeError(f"{where}window rows {r0}:{r0 + h}, cols {c0}:{c0 + w} is not inside "
                         f"the {height}×{width} image",
                         actual_shape=(h, w), expected_shape=(height, width))
    return window


def check_wavelengths(wavelengths: ArrayLike, bands: int, name: str = "wavelengths", *,
                      increasing: bool = False) -> np.ndarray:
    """Return ``wavelengths`` as a float64 array in nm after checking them.

    A cube's bands keep the file's order: RGB cameras store R, G, B (600/530/460 nm) and
    AVIRIS's spectrometers overlap (696.5 nm then 686.9 nm), so order is only enforced where a
    method needs a sorted grid (``increasing=True``, e.g. the sample grid of a response curve).

    Parameters
    ----------
    wavelengths : array-like, shape (bands,)
        Band centres in nm.
    bands : int
        The cube's band count.
    increasing : bool
        Also require strictly increasing values.

    Raises
    ------
    WavelengthError
        Wrong count, non-finite or non-positive values, or (``increasing``) not strictly
        increasing.
    """
    try:
        wl = np.asarray(wavelengths, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise WavelengthError(f"{name}: expected {bands} numbers in nm (one per band), got "
                              f"{_short(wavelengths)}") from None
    if wl.size != bands:
        raise WavelengthError(f"{name}: expected {bands} values (one per band), got {wl.size}")
    if not np.all(np.isfinite(wl)):
        raise WavelengthError(f"{name}: contains NaN or infinite values")
    if np.any(wl <= 0):
        i = int(np.argmax(wl <= 0))
        raise WavelengthError(f"{name}: band {i + 1} is {wl[i]:g} nm; wavelengths must be "
                              f"positive")
    if increasing and wl.size > 1 and not np.all(np.diff(wl) > 0):
        i = int(np.argmax(np.diff(wl) <= 0))
        raise WavelengthError(
            f"{name}: must be strictly increasing, but band {i + 1} is {wl[i]:g} nm "
            f"and band {i + 2} is {wl[i + 1]:g} nm"
        )
    return wl


def check_ratio(ratio: object) -> int:
    """Return ``ratio`` as an int after checking it is an integer >= 2.

    Raises
    ------
    SensorError
        For a non-integer ratio or one below 2.
    """
    try:
        value = float(ratio)
    except (TypeError, ValueError):
        raise SensorError(f"ratio must be an integer >= 2, got {ratio!r}") from None
    if not value.is_integer() or value < 2:
        raise SensorError(f"ratio must be an integer >= 2, got {ratio!r}")
    return int(value)


def _short(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"
