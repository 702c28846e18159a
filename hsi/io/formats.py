"""Which reader or writer handles a path: extension first, then the file's first bytes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hsi.check import require_path
from hsi.errors import FormatError, HsiIOError, ShapeError, WavelengthError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import ArrayLike, DTypeLike

    from hsi.cube import Cube

#: Data-file extensions of ENVI images (besides no extension at all).
ENVI_DATA_EXTS = (".img", ".dat", ".raw", ".bin", ".bsq", ".bil", ".bip", ".hyspex", ".envi")
TIFF_EXTS = (".tif", ".tiff", ".gtif", ".gtiff")
MAT_EXTS = (".mat",)

_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_UTF8_BOM = b"\xef\xbb\xbf"

#: Output format names accepted by :func:`hsi.save` and the extensions mapped to them.
OUTPUT_FORMATS = {"geotiff": TIFF_EXTS, "envi": (".hdr", *ENVI_DATA_EXTS), "mat": MAT_EXTS}
_FORMAT_ALIASES = {"gtiff": "geotiff", "tif": "geotiff", "tiff": "geotiff", "hdr": "envi",
                   "matlab": "mat"}


def check_readable(path: str | os.PathLike) -> Path:
    """Return ``path`` as a Path after checking it exists and is a non-empty file or a folder.

    Raises
    ------
    HsiIOError
        The path does not exist or cannot be read.
    FormatError
        The file is empty.
    """
    path = Path(path)
    if not path.exists():
        raise HsiIOError(f"{path}: no such file or folder")
    if not os.access(path, os.R_OK):
        raise HsiIOError(f"{path}: permission denied")
    if path.is_file() and path.stat().st_size == 0:
        raise FormatError(f"{path}: file is empty (0 bytes)")
    return path


def _head(path: Path, n: int = 1024) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(n)
    except OSError as exc:
        raise HsiIOError(f"{path}: cannot read ({exc.strerror or exc})") from None


def is_tiff(head: bytes) -> bool:
    return head[:4] in _TIFF_MAGICS


def is_envi_header(head: bytes) -> bool:
    """True for text starting with ``ENVI``, also behind a UTF-8 byte order mark (Notepad's)."""
    return head.removeprefix(_UTF8_BOM).lstrip().startswith(b"ENVI")


def is_mat(head: bytes) -> bool:
    """True for MATLAB v5/v7 (text header) and v7.3 (HDF5) files."""
    return head.startswith(b"MATLAB") or head.startswith(_HDF5_MAGIC) or (
        len(head) >= 520 and head[512:520] == _HDF5_MAGIC)


def find_envi_header(path: Path) -> Path | None:
    """Return the ``.hdr`` of an ENVI data file (``x.img`` -> ``x.img.hdr`` or ``x.hdr``).

    ``x.img.hdr`` names this data file alone and comes first, as in GDAL's ENVI driver:
    ``x.hdr`` may describe an ``x.dat`` beside it.
    """
    for cand in (Path(str(path) + ".hdr"), Path(str(path) + ".HDR"),
                 path.with_suffix(".hdr"), path.with_suffix(".HDR")):
        if cand != path and cand.is_file():
            return cand
    return None


def detect_format(path: str | os.PathLike) -> str:
    """Return the reader for ``path``: ``"envi"``, ``"geotiff"``, ``"mat"`` or ``"cave"``.

    The extension decides, and the first bytes must agree with it (a text file named
    ``.tif`` is an error, not a crash inside GDAL). Unknown extensions are sniffed.

    Raises
    ------
    HsiIOError
        Missing or unreadable path.
    FormatError
        Empty file, content that does not match its extension, or an unknown format.
    ArgumentTypeError
        ``path`` is not a path (e.g. ``None`` or an array).
    """
    require_path(path, "detect_format")
    path = check_readable(path)
    if path.is_dir():
        return "cave"
    ext = path.suffix.lower()
    head = _head(path)
    if ext in TIFF_EXTS:
        if not is_tiff(head):
            raise FormatError(f"{path}: not a TIFF file (the first bytes are not a TIFF header)")
        return "geotiff"
    if ext in MAT_EXTS:
        if not is_mat(head):
            raise FormatError(f"{path}: not a MATLAB .mat file (no MATLAB or HDF5 header)")
        return "mat"
    if ext == ".hdr":
        if not is_envi_header(head):
            raise FormatError(f"{path}: not an ENVI header (first line must be 'ENVI')")
        return "envi"
    if find_envi_header(path) is not None:
        return "envi"
    if is_tiff(head):
        return "geotiff"
    if is_mat(head):
        return "mat"
    if is_envi_header(head):
        return "envi"
    if ext in ENVI_DATA_EXTS:
        raise HsiIOError(f"{path}: ENVI data file without a header (looked for "
                          f"{path.with_suffix('.hdr').name} and {path.name}.hdr)")
    raise FormatError(f"{path}: unknown file format (expected ENVI .hdr, GeoTIFF .tif, "
                      f".mat or a folder of PNG bands)")


def check_var_applies(path: str | os.PathLike, fmt: str, var: str | None) -> None:
    """Refuse a ``.mat`` variable name given for a file of another format (``fmt``), which
    would otherwise be ignored without a word.

    Raises
    ------
    ConfigError
        ``"x.tif: var='gt' applies to .mat files only, not to this geotiff file"``.
    """
    if var is not None and fmt != "mat":
        from hsi.errors import ConfigError

        raise ConfigError(f"{path}: var={var!r} applies to .mat files only, not to this {fmt} "
                          "file")


def mat_vars(sources: Sequence[object], var: str | None) -> list[str | None]:
    """The ``var=`` to open each of several inputs with: ``var`` for the ``.mat`` files among
    them, ``None`` for the others.

    One variable name serves a command's inputs (``hsi fuse``'s two, ``hsi metrics``' two).
    When none of them is a ``.mat`` file the first gets ``var`` anyway, so that
    :func:`hsi.open` refuses it in one line instead of ``var`` being ignored. Sources that are
    not paths (a :class:`~hsi.cube.Cube`) get ``None``.

    Parameters
    ----------
    sources : sequence of path or Cube
    var : str, optional
        Variable name, or ``None`` (every input gets ``None``).

    Returns
    -------
    list
        One ``var`` or ``None`` per source, in order.
    """
    paths = [isinstance(s, (str, os.PathLike)) for s in sources]
    if var is None or not any(paths):
        return [None] * len(sources)
    mats = [p and detect_format(s) == "mat" for s, p in zip(sources, paths, strict=True)]
    if not any(mats):
        mats[paths.index(True)] = True
    return [var if m else None for m in mats]


def output_format(path: str | os.PathLike, format: str | None = None) -> str:
    """Return the writer for ``path``: ``"geotiff"``, ``"envi"`` or ``"mat"``.

    Parameters
    ----------
    path : str or os.PathLike
        The destination; its extension names the format unless ``format`` is given.
    format : str, optional
        A format name (``"geotiff"``, ``"envi"``, ``"mat"`` or an alias such as ``"tif"``).

    Raises
    ------
    FormatError
        Unknown ``format`` name (or not a string) or extension.
    ArgumentTypeError
        ``path`` is not a path (e.g. ``None``).
    """
    require_path(path, "output_format")
    if format is not None:
        if not isinstance(format, str):
            raise FormatError(f"{path}: output format must be a name (one of "
                              f"{', '.join(OUTPUT_FORMATS)}), got {format!r}")
        key = _FORMAT_ALIASES.get(format.lower(), format.lower())
        if key not in OUTPUT_FORMATS:
            raise FormatError(f"{path}: unknown output format {format!r} "
                              f"(expected one of {', '.join(OUTPUT_FORMATS)})")
        return key
    ext = Path(path).suffix.lower()
    for key, exts in OUTPUT_FORMATS.items():
        if ext in exts:
            return key
    raise FormatError(f"{path}: cannot tell the output format from the extension {ext!r} "
                      f"(use .tif, .hdr or .mat)")


def build_cube(path: str | os.PathLike, data: Any, **fields: Any) -> Cube:
    """Return ``Cube(data, **fields)``, prefixing validation errors with the file name.

    Raises
    ------
    WavelengthError, ShapeError
        As :class:`hsi.cube.Cube` does, with ``path`` at the start of the message.
    """
    from hsi.cube import Cube

    try:
        return Cube(data=data, **fields)
    except (WavelengthError, ShapeError) as exc:
        raise type(exc)(f"{path}: {exc}") from None


#: ENVI ``wavelength units`` that :func:`hsi.cube.wavelengths_in_nm` does not know: the factor
#: to nm of a length, ``None`` for a frequency (ENVI's GHz/MHz axes), which is not a length.
_MORE_UNITS_TO_NM: dict[str, float | None] = {
    "angstrom": 0.1, "angstroms": 0.1, "cm": 1e7, "centimeter": 1e7, "centimeters": 1e7,
    "centimetre": 1e7, "centimetres": 1e7, "m": 1e9, "meter": 1e9, "meters": 1e9,
    "metre": 1e9, "metres": 1e9, "ghz": None, "mhz": None, "thz": None, "hz": None,
}


#: Wavelengths (nm) where imaging spectrometers measure, UV to thermal infrared with margin:
#: declared units that put every band outside are a mislabel (:func:`unit_factor`).
SPECTRAL_RANGE_NM = (100.0, 100_000.0)


def unit_factor(values: ArrayLike, units: str | None) -> float:
    """Return the factor turning ``values`` (wavelengths in ``units``) into nm.

    The same factor converts FWHM values, which are too small for the µm/nm guess of
    :func:`hsi.cube.wavelengths_in_nm`. Besides that function's units, ENVI's Angstroms,
    Centimeters and Meters are lengths, and its GHz/MHz frequencies are refused like
    wavenumbers.

    Declared units that put every band outside :data:`SPECTRAL_RANGE_NM` (``wavelength units =
    Micrometers`` over ``450, 550 ...``, which would be 450 000 nm, or ``Nanometers`` over
    ``0.45 ...``) are a mislabel, common in headers other software writes: the values' own
    magnitude then decides (below 100: µm, else nm), as for missing units, where that puts
    every band inside the range; whole numbers are not taken for µm (``1, 2, 3`` labelled
    nanometres are band numbers).

    Raises
    ------
    WavelengthError
        For units that are not lengths (wavenumbers, frequencies).
    """
    from hsi.cube import wavelengths_in_nm

    key = (units or "").strip().lower()
    wl = np.asarray(values, dtype=np.float64).reshape(-1)
    nz = wl[np.isfinite(wl) & (wl != 0)]
    if key in _MORE_UNITS_TO_NM:
        factor = _MORE_UNITS_TO_NM[key]
        if factor is None:
            raise WavelengthError(f"wavelength units {units!r} are not a length")
    elif nz.size == 0:
        return 1.0
    else:
        factor = float(np.median(wavelengths_in_nm(nz, units) / nz))
    if nz.size == 0 or _spectral_nm(nz * factor).any():
        return factor
    guess = float(np.median(wavelengths_in_nm(nz) / nz))  # mislabelled: the values decide
    if guess > factor and np.all(nz == np.round(nz)):  # 1, 2, 3 "nm": band numbers, not µm
        return factor
    return guess if _spectral_nm(nz * guess).all() else factor


def _spectral_nm(nm: np.ndarray) -> np.ndarray:
    """Which of ``nm`` lie where imaging spectrometers measure (:data:`SPECTRAL_RANGE_NM`)."""
    return (np.abs(nm) >= SPECTRAL_RANGE_NM[0]) & (np.abs(nm) <= SPECTRAL_RANGE_NM[1])


def storable_nodata(value: float | None, dtype: DTypeLike) -> int | float | None:
    """``value`` as the nodata value of ``dtype`` data, ``None`` when no value of it can equal
    ``value``.

    Headers and tags carry such values (ENVI's ``data ignore value = -9999`` over unsigned
    integers, ``0.5`` or NaN over integers, 1e39 over float32); they mark no pixel, GeoTIFF
    refuses them (rasterio: "beyond the valid range of its data type") and an integer ENVI
    header would round 0.5 to 0, marking the pixels of 0 missing.

    Parameters
    ----------
    value : float or None
        The nodata value as found (or as a cube holds it).
    dtype : numpy dtype
        Data type of the pixels.

    Returns
    -------
    int, float or None
        An int for integer data, the float otherwise; ``None`` for ``None`` or a value the data
        type cannot hold.
    """
    if value is None:
        return None
    dtype = np.dtype(dtype)
    v = float(value)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return int(v) if v.is_integer() and info.min <= v <= info.max else None
    if dtype.kind == "f" and np.isfinite(v) and abs(v) > float(np.finfo(dtype).max):
        return None
    return v


def parse_number_list(value: str | Iterable[object]) -> np.ndarray:
    """Parse ``"{450, 460.5}"``, ``"450,460.5"``, ``"450 460.5"`` or a list into float64 values.

    Raises
    ------
    ValueError
        When an item is not a number.
    """
    if isinstance(value, str):
        items = value.strip().strip("{}[]()").replace(",", " ").split()
    else:
        items = [str(v).strip() for v in value]
    return np.array([float(v) for v in items if v != ""], dtype=np.float64)


@contextlib.contextmanager
def reading(path: str | os.PathLike) -> Iterator[None]:
    """Turn a low-level read failure (GDAL, a memory map...) into a one-line HsiIOError.

    The message is GDAL's own (behind rasterio's "see previous exception"), e.g. ``scene.tif:
    read failed (scene.tif, band 76: IReadBlock failed at X offset 0, Y offset 0:
    TIFFReadEncodedTile() failed.)`` for a truncated file.
    """
    from hsi.errors import HsiError

    try:
        yield
    except HsiError:
        raise
    except (OSError, ValueError, RuntimeError) as exc:
        from hsi.io.atomic import _cause

        text = _cause(exc) or type(exc).__name__  # GDAL's message, behind rasterio's own
        # no chained cause: the error must pickle to cross Dask process boundaries intact
        raise HsiIOError(f"{path}: read failed ({text})") from None
