"""The hsikit error tree.

Every error derives from :class:`HsiError` *and* from the builtin it means, rasterio-style, so
``except OSError`` and ``except HsiError`` both work. The CLI turns any :class:`HsiError` into
one line on stderr (``hsi: error: <what is wrong>``) and exit code 2.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


class HsiError(Exception):
    """Root of every error hsikit raises on purpose."""


class HsiIOError(HsiError, OSError):
    """A file cannot be read or written (missing, unreadable, truncated, not writable)."""


class FormatError(HsiError, ValueError):
    """A file exists but its content is malformed or of an unsupported kind."""


class ShapeError(HsiError, ValueError):
    """An array has the wrong number of dimensions or a wrong size.

    Parameters
    ----------
    message : str
        What is wrong, in words.
    actual_shape, expected_shape : tuple or str, optional
        The shape seen and the shape wanted (names such as ``"bands"`` allowed).
    """

    def __init__(self, message: str, actual_shape: tuple[int | str, ...] | str | None = None,
                 expected_shape: tuple[int | str, ...] | str | None = None) -> None:
        super().__init__(message)
        self.actual_shape = actual_shape
        self.expected_shape = expected_shape


class ArgumentTypeError(HsiError, TypeError):
    """An argument of the wrong type: text where an array or a window is expected."""


class CubeTypeError(ArgumentTypeError):
    """An argument that must be an :class:`hsi.Cube` is something else (e.g. a bare array)."""


class WavelengthError(HsiError, ValueError):
    """Wavelengths are missing, of the wrong count, not positive, or outside a sensor's range."""


class SensorError(HsiError, ValueError):
    """A spectral response, PSF or ratio is invalid for the cube it is applied to."""


class GridError(HsiError, ValueError):
    """Two rasters do not cover the same ground (CRS, extent or pixel-size ratio)."""


class ModelError(HsiError, ValueError):
    """A checkpoint is malformed or does not match the inputs it is applied to."""


class DatasetNotFoundError(HsiError, FileNotFoundError):
    """A registered dataset is not under the data directory (and was not downloaded)."""


class ChecksumError(HsiError, OSError):
    """A file's sha256 differs from the registry's."""


class ResourceError(HsiError, MemoryError):
    """A file declares more data than the memory budget allows (checked before decoding)."""


class ConfigError(HsiError, ValueError):
    """A parameter or configuration value is invalid (out of range, unknown option or name)."""


class DataError(HsiError, ValueError):
    """Inputs are well formed but unusable for the request (too few valid or labelled pixels)."""


class DeviceError(HsiError, RuntimeError):
    """A compute device was asked for that this machine does not have (e.g. CUDA)."""


class Cancelled(HsiError, RuntimeError):
    """The user cancelled a long job (a progress callback returned ``True``).

    The one cancellation error of hsikit: library code and the viewer raise this class.
    """


@contextlib.contextmanager
def naming(**paths: str | os.PathLike) -> Iterator[None]:
    """Let an error that names a parameter (``"cube: ..."``) name the file instead.

    Library messages start with the parameter they are about; a caller that read that
    parameter from a file passes ``naming(cube=path)`` and the error, same class, then reads
    ``"PATH: ..."``.

    >>> with naming(cube="scene.tif"):
    ...     raise DataError("cube: clustering needs at least 2 valid pixels, got 0")
    Traceback (most recent call last):
      ...
    hsi.errors.DataError: scene.tif: clustering needs at least 2 valid pixels, got 0
    """
    try:
        yield
    except HsiError as exc:
        text = str(exc)
        for word, path in paths.items():
            if text.startswith(f"{word}: ") and exc.args:
                exc.args = (f"{path}: {text[len(word) + 2:]}", *exc.args[1:])
                break
        raise
