"""ENVI images (``.hdr`` + raw data file): headers parsed and written with ``spectral`` (SPy).

The pixels are memory-mapped with numpy from the header's own description (data type, byte
order, interleave, header offset), after checking the data file's size against it: SPy does
not, and it also ignores ``data ignore value``, which becomes :attr:`Cube.nodata` here. Map
info / ``coordinate system string`` become the transform and CRS (a south-up grid is
``rotation=180``, as GDAL's ENVI driver writes and reads it; a sheared or mirrored transform,
which map info cannot hold, is written as the nearest rotated grid with a warning).

``band names``, ``bbl`` (the bad band list: 1 a good band, 0 a bad one) and ``reflectance scale
factor`` go to ``cube.metadata`` as ``band_names``, ``bbl`` and ``reflectance_scale_factor``
(:func:`read_band_metadata`) and back into the header on writing (:func:`band_metadata`), as
long as they still describe the cube: one value per band, and no scale factor once
:func:`hsi.degrade.normalize_reflectance` has divided the data. No reader scales the pixels:
they are kept as stored, and the reflectance scale factor is the divisor
:func:`hsi.degrade.reflectance_scale` takes when a method normalises the cube.

Likewise ``data gain values`` and ``data offset values`` (per-band ``value = stored × gain +
offset``, which GDAL's ENVI driver reads as the band scales and offsets) go to
``cube.metadata`` as ``band_scales`` and ``band_offsets`` when some band is scaled
(:func:`parse_band_scaling`), and back into the header while they still describe the data:
the pixels are never multiplied by them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from hsi.check import check_wavelengths, check_window
from hsi.cube import Cube
from hsi.errors import FormatError, HsiIOError
from hsi.io.atomic import atomic_files
from hsi.io.formats import (
    ENVI_DATA_EXTS,
    TIFF_EXTS,
    build_cube,
    check_readable,
    find_envi_header,
    parse_number_list,
    storable_nodata,
    unit_factor,
)
from hsi.io.indexing import as_step, read_positions, runs

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from hsi.io.indexing import Key

log = logging.getLogger("hsi.io")

#: ENVI ``data type`` codes hsikit reads and writes (complex types are refused).
ENVI_DTYPES = {1: np.uint8, 2: np.int16, 3: np.int32, 4: np.float32, 5: np.float64,
               12: np.uint16, 13: np.uint32, 14: np.int64, 15: np.uint64}
_DTYPE_TO_ENVI = {np.dtype(v): k for k, v in ENVI_DTYPES.items()}
_COMPLEX_CODES = {6: "complex64", 9: "complex128"}

#: Cubes larger than this many bytes are opened lazily when ``lazy=None``.
LAZY_THRESHOLD_BYTES = 512 * 2**20
#: Target size of one dask chunk.
CHUNK_BYTES = 64 * 2**20
#: Pixels in a viewer's chunk (one band × about 1024 × 1024).
VIEW_PIXELS = 1024 * 1024
#: Largest single read of :class:`EnviArray` (whole rows are grouped up to this size).
READ_BYTES = 8 * 2**20


def envi_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """Return ``(header, data_file)`` for an ENVI header or data file path.

    Raises
    ------
    HsiIOError
        When the header or the data file does not exist.
    """
    path = Path(path)
    if path.suffix.lower() == ".hdr":
        hdr = path
        stem = path.with_suffix("")
        candidates = [stem] + [stem.with_suffix(e) for ext in ENVI_DATA_EXTS
                               for e in (ext, ext.upper())]
        if stem.suffix.lower() in ENVI_DATA_EXTS:  # x.img.hdr
            candidates.insert(0, stem)
        data = next((c for c in candidates if c.is_file()), None)
        if data is None:
            raise HsiIOError(f"{hdr}: ENVI data file not found (looked for "
                             f"{stem.name} with no extension or {'/'.join(ENVI_DATA_EXTS)})")
        return hdr, data
    hdr = find_envi_header(path)
    if hdr is None:
        raise HsiIOError(f"{path}: ENVI header not found (looked for "
                         f"{path.with_suffix('.hdr').name} and {path.name}.hdr)")
    return hdr, path


def _header_text(raw: bytes) -> str:
    """The text of a header's bytes: UTF-8 (a byte order mark dropped), else Windows-1252.

    ENVI on Windows writes headers in the system code page (a ``µm`` or ``°`` in the
    description); the keys and numbers are ASCII in every encoding.
    """
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def read_header(hdr: str | os.PathLike) -> dict:
    """Parse an ENVI header with SPy; keys are lower-case, ``{...}`` values are lists of str.

    SPy reads the file in the locale's encoding and takes a byte order mark for part of the
    first line, so a header in another encoding (:func:`_header_text`) is parsed from a copy
    in the locale's encoding.

    Raises
    ------
    FormatError
        When the file is not an ENVI header or cannot be parsed.
    """
    import locale
    import tempfile

    import spectral.io.envi as spy_envi

    try:
        raw = Path(hdr).read_bytes()
    except OSError as exc:
        raise HsiIOError(f"{hdr}: cannot read ({exc.strerror or exc})") from None
    encoding = locale.getpreferredencoding(False)
    text = _header_text(raw)
    try:
        with warnings.catch_warnings(), contextlib.ExitStack() as stack:
            warnings.simplefilter("ignore")
            source = Path(hdr)
            if text.encode(encoding, errors="replace") != raw:
                source = Path(stack.enter_context(tempfile.TemporaryDirectory())) / source.name
                source.write_text(text, encoding=encoding, errors="replace")
            return spy_envi.read_envi_header(str(source))
    except spy_envi.EnviException as exc:
        raise FormatError(f"{hdr}: not a valid ENVI header ({exc or type(exc).__name__})") from None
    except (UnicodeDecodeError, IndexError) as exc:
        raise FormatError(f"{hdr}: not a valid ENVI header ({exc})") from None


def _int_field(header: dict, key: str, hdr: Path, default: int | None = None) -> int:
    value = header.get(key)
    if value is None:
        if default is None:
            raise FormatError(f"{hdr}: ENVI header has no '{key}'")
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        raise FormatError(f"{hdr}: ENVI header '{key}' must be an integer, got {value!r}") from None


def header_dtype(header: dict, hdr: Path) -> np.dtype:
    """Return the numpy dtype (with byte order) the header describes.

    Raises
    ------
    FormatError
        Unknown or complex ``data type``, or a ``byte order`` other than 0/1.
    """
    code = _int_field(header, "data type", hdr)
    if code in _COMPLEX_CODES:
        raise FormatError(f"{hdr}: ENVI data type {code} ({_COMPLEX_CODES[code]}) is not "
                          f"supported (real-valued cubes only)")
    if code not in ENVI_DTYPES:
        raise FormatError(f"{hdr}: unknown ENVI data type {code} (expected one of "
                          f"{', '.join(str(k) for k in sorted(ENVI_DTYPES))})")
    order = _int_field(header, "byte order", hdr, default=0)
    if order not in (0, 1):
        raise FormatError(f"{hdr}: ENVI 'byte order' must be 0 or 1, got {order}")
    return np.dtype(ENVI_DTYPES[code]).newbyteorder("<" if order == 0 else ">")


class EnviArray:
    """Array-like view of an ENVI data file in ``(bands, rows, cols)`` order.

    Each ``__getitem__`` reads (``os.pread``, no memory map) only the bytes of the bands, rows
    and columns asked for, in pieces of at most :data:`READ_BYTES`, and returns them in native
    byte order; so the object pickles cheaply, works as a ``dask.array.from_array`` source
    (also on distributed workers), and a read takes the memory and address space of its result,
    never of the file. One band of a band-interleaved-by-line file is one read per line.
    """

    def __init__(self, path: Path, dtype: np.dtype, bands: int, lines: int, samples: int,
                 interleave: str, offset: int) -> None:
        self.path = Path(path)
        self.file_dtype = np.dtype(dtype)
        self.dtype = self.file_dtype.newbyteorder("=")
        self.shape = (bands, lines, samples)
        self.ndim = 3
        self.interleave = interleave
        self.offset = offset

    def __getitem__(self, key: Key) -> np.ndarray:
        return read_positions(self._read, key, self.shape, self.dtype)

    def _pread(self, fd: int, item: int, count: int) -> np.ndarray:
        """``count`` file items starting at item ``item`` of the data."""
        size = self.file_dtype.itemsize
        buf = os.pread(fd, count * size, self.offset + item * size)
        if len(buf) != count * size:
            raise HsiIOError(f"{self.path}: short read at byte {self.offset + item * size} "
                             f"(file truncated while open?)")
        return np.frombuffer(buf, dtype=self.file_dtype)

    def _read(self, bands: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Read ``bands × rows × cols`` (sorted unique positions, none empty)."""
        nb, nr, nc = self.shape
        out = np.empty((bands.size, rows.size, cols.size), self.dtype)
        c0, c1 = int(cols[0]), int(cols[-1]) + 1
        csel = as_step(cols)
        per_read = max(1, READ_BYTES // max(1, nc * self.file_dtype.itemsize))
        fd = os.open(self.path, os.O_RDONLY)
        try:
            if self.interleave == "bip":  # a line is cols × bands: read the columns' span
                for j, r in enumerate(rows.tolist()):
                    line = self._pread(fd, (r * nc + c0) * nb, (c1 - c0) * nb)
                    out[:, j] = line.reshape(c1 - c0, nb)[csel][:, bands].T
                return out
            # BSQ and BIL: a record (band, row) is one row of ``nc`` items; records adjacent in
            # the file (rows of a band / bands of a line) are read together when full-width
            bsq = self.interleave == "bsq"
            outer, inner = (bands, rows) if bsq else (rows, bands)
            for i, o in enumerate(outer.tolist()):
                for s0, s1 in runs(inner):
                    for t0 in range(s0, s1, per_read if c0 == 0 and c1 == nc else 1):
                        t1 = min(s1, t0 + per_read) if c0 == 0 and c1 == nc else t0 + 1
                        first = int(inner[t0])
                        record = o * nr + first if bsq else o * nb + first
                        if t1 - t0 > 1:
                            block = self._pread(fd, record * nc, (t1 - t0) * nc)
                            block = block.reshape(t1 - t0, nc)[:, csel]
                        else:
                            block = self._pread(fd, record * nc + c0, c1 - c0)[csel][None]
                        if bsq:
                            out[i, t0:t1] = block
                        else:
                            out[t0:t1, i] = block
        finally:
            os.close(fd)
        return out

    def chunks(self) -> tuple[int, int, int]:
        """Dask chunk shape: whole bands for BSQ, all bands for BIL/BIP, rows to ~64 MB."""
        b, r, c = self.shape
        depth = 1 if self.interleave == "bsq" else b
        rows = max(1, min(r, CHUNK_BYTES // max(1, depth * c * self.dtype.itemsize)))
        return (depth, rows, c)

    def band_chunks(self, pixels: int = VIEW_PIXELS) -> tuple[int, int, int]:
        """One band × about ``pixels`` pixels (full rows up to 2048 columns, else square
        tiles): what a viewer showing one band reads, whatever the interleave."""
        _, r, c = self.shape
        if c <= 2048:
            return (1, max(1, min(r, pixels // c)), c)
        side = max(1, math.isqrt(pixels))
        return (1, min(r, side), min(c, side))


def _map_info(header: dict, hdr: Path) -> tuple[Affine | None, CRS | None]:
    """Transform and CRS from ``map info`` / ``coordinate system string`` (None when absent)."""
    crs = None
    css = header.get("coordinate system string")
    if css:
        wkt = ",".join(css) if isinstance(css, list) else str(css)
        wkt = wkt.strip().strip("{}").strip()
        try:
            with rasterio.Env():  # GDAL's complaint about bad WKT goes to logging, not stderr
                crs = CRS.from_wkt(wkt)
            code = crs.to_epsg()
            if code is not None:
                crs = CRS.from_epsg(code)
        except Exception:
            crs = None
    info = header.get("map info")
    if not info:
        return None, crs
    if isinstance(info, str):
        info = [v.strip() for v in info.strip("{}").split(",")]
    name = info[0].strip()
    keyed = {k.strip().lower(): v.strip() for k, _, v in
             (item.partition("=") for item in info if "=" in item)}
    plain = [item for item in info[1:] if "=" not in item]
    try:
        rx, ry, east, north, xs, ys = (float(v) for v in plain[:6])
        theta = math.radians(float(keyed.get("rotation", 0.0)))
        zone = int(float(plain[6])) if name.upper() == "UTM" and len(plain) > 7 else None
    except ValueError:
        raise FormatError(f"{hdr}: cannot parse 'map info' {info!r} (expected {{projection, "
                          f"reference x, reference y, easting, northing, x size, y size[, zone, "
                          f"North|South], ...}} with numbers; fix or remove it)") from None
    grid = _rotated_grid(xs, ys, math.degrees(theta))
    x0 = east - (rx - 1) * grid.a - (ry - 1) * grid.b
    y0 = north - (rx - 1) * grid.d - (ry - 1) * grid.e
    transform = Affine(grid.a, grid.b, x0, grid.d, grid.e, y0)
    rest = [v.strip() for v in plain[6:]]
    datum = rest[2].lower().replace("-", "").replace(" ", "") if len(rest) > 2 else ""
    if crs is None and zone is not None:
        hemi = rest[1].lower()
        if datum in ("wgs84", ""):
            crs = CRS.from_epsg((32700 if hemi.startswith("s") else 32600) + zone)
        elif datum in ("nad83", "northamerica1983") and not hemi.startswith("s"):
            crs = CRS.from_epsg(26900 + zone)
    elif crs is None and name.lower().startswith("geographic lat/lon"):
        datum = rest[0].lower().replace("-", "").replace(" ", "") if rest else "wgs84"
        if datum == "wgs84":
            crs = CRS.from_epsg(4326)
    if name.lower() == "arbitrary" and transform == Affine(1, 0, 0, 0, -1, 0) and crs is None:
        transform = None
    return transform, crs


def _wavelengths(header: dict, bands: int,
                 hdr: Path) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Wavelengths and FWHM in nm (``None`` when absent or the units are band indices)."""
    units = header.get("wavelength units")
    if isinstance(units, list):
        units = ",".join(units)
    if units and units.strip().lower() == "index":
        return None, None
    wl = fwhm = None
    try:
        if header.get("wavelength") is not None:
            wl = parse_number_list(header["wavelength"])
        if header.get("fwhm") is not None:
            fwhm = parse_number_list(header["fwhm"])
    except ValueError:
        raise FormatError(f"{hdr}: 'wavelength' or 'fwhm' holds a value that is not a "
                          f"number") from None
    if wl is None:
        return None, None
    from hsi.errors import WavelengthError

    try:
        factor = unit_factor(wl, units)
    except WavelengthError as exc:  # "wavelength units 'Wavenumber' are not a length"
        raise WavelengthError(f"{hdr}: {exc}; set 'wavelength units = Index' in the header to "
                              f"read it without wavelengths") from None
    return wl * factor, (fwhm * factor if fwhm is not None else None)


def _nodata(header: dict, dtype: np.dtype, hdr: Path) -> float | None:
    """``data ignore value`` (also as a one-item ``{...}`` list) as the cube's nodata, ``None``
    where the data type cannot hold it (:func:`~hsi.io.formats.storable_nodata`)."""
    value = header.get("data ignore value")
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if value is None or str(value).strip() == "":
        return None
    try:
        v = float(str(value).strip())
    except ValueError:
        raise FormatError(f"{hdr}: 'data ignore value' must be a number, got {value!r}") from None
    return storable_nodata(v, dtype)


def open_envi_array(path: str | os.PathLike) -> tuple[EnviArray, dict, Path]:
    """Return ``(array, header, hdr_path)`` after checking the data file against the header.

    Raises
    ------
    HsiIOError
        Header or data file missing.
    FormatError
        Malformed header, unknown data type or interleave, or a data file whose size differs
        from ``header offset + bands × lines × samples × item size``.
    """
    hdr, data_file = envi_paths(check_readable(path))
    check_readable(hdr)
    header = read_header(hdr)
    samples = _int_field(header, "samples", hdr)
    lines = _int_field(header, "lines", hdr)
    bands = _int_field(header, "bands", hdr)
    offset = _int_field(header, "header offset", hdr, default=0)
    if min(samples, lines, bands) <= 0 or offset < 0:
        raise FormatError(f"{hdr}: ENVI header sizes must be positive, got samples={samples}, "
                          f"lines={lines}, bands={bands}, header offset={offset}")
    interleave = str(header.get("interleave", "bsq")).strip().lower()
    if interleave not in ("bsq", "bil", "bip"):
        raise FormatError(f"{hdr}: unknown ENVI interleave {interleave!r} (expected bsq, bil "
                          f"or bip)")
    dtype = header_dtype(header, hdr)
    expected = offset + bands * lines * samples * dtype.itemsize
    actual = data_file.stat().st_size
    if actual != expected:
        raise FormatError(
            f"{data_file}: data file is {actual} bytes but its header {hdr.name} describes "
            f"{expected} bytes ({bands} bands × {lines} lines × {samples} samples × "
            f"{dtype.itemsize} bytes + {offset} offset)"
            + (": truncated?" if actual < expected else ""))
    return EnviArray(data_file, dtype, bands, lines, samples, interleave, offset), header, hdr


def sidecar_tiff(hdr: str | os.PathLike) -> Path | None:
    """The TIFF that an ENVI header describes as its sidecar, or ``None``.

    ENVI saves a TIFF with a header beside it (``x.hdr`` or ``x.tif.hdr``, ``file type =
    TIFF``) that holds what the TIFF cannot: the wavelengths, FWHM, band names.

    Parameters
    ----------
    hdr : path
        A ``.hdr`` file (any other path gives ``None``).
    """
    hdr = Path(hdr)
    if hdr.suffix.lower() != ".hdr":
        return None
    stem = hdr.with_suffix("")
    candidates = ([stem] if stem.suffix.lower() in TIFF_EXTS else
                  [stem.with_suffix(e) for ext in TIFF_EXTS for e in (ext, ext.upper())])
    tif = next((c for c in candidates if c.is_file()), None)
    if tif is None or not hdr.is_file():
        return None
    file_type = str(read_header(hdr).get("file type", "")).strip().lower()
    return tif if file_type.startswith("tiff") else None


def sidecar_bands(tif: Path, bands: int) -> tuple[np.ndarray | None, np.ndarray | None, dict]:
    """Wavelengths, FWHM (nm) and :func:`read_band_metadata` entries of a TIFF's ENVI sidecar
    header (:func:`sidecar_tiff`); ``(None, None, {})`` without a usable one.

    A sidecar that cannot be parsed, describes another band count or holds unusable
    wavelengths is ignored, as GDAL ignores it: the TIFF itself is readable.

    Parameters
    ----------
    tif : pathlib.Path
        The TIFF.
    bands : int
        Its band count.
    """
    from hsi.errors import HsiError

    hdr = find_envi_header(tif)
    try:
        if hdr is None or sidecar_tiff(hdr) != tif:
            return None, None, {}
        header = read_header(hdr)
        if _int_field(header, "bands", hdr) != bands:
            return None, None, {}
        wl, fwhm = _wavelengths(header, bands, hdr)
        if wl is not None:
            check_wavelengths(wl, bands)
        if fwhm is not None:
            check_wavelengths(fwhm, bands)
    except HsiError:
        return None, None, {}
    return wl, fwhm, read_band_metadata(header.get("band names"), header.get("bbl"),
                                        header.get("reflectance scale factor"), bands=bands,
                                        wavelengths=wl)


def read_envi(path: str | os.PathLike, *, window: Window | None = None,
              lazy: bool | None = None, band_chunks: bool = False) -> Cube:
    """Read an ENVI image.

    Parameters
    ----------
    path : path
        The ``.hdr`` or the data file beside it.
    window : rasterio.windows.Window, optional
        Rows/columns to read; only those bytes are read from disk.
    lazy : bool, optional
        Return a dask-backed cube (memory-mapped chunks). ``None``: lazy above 512 MB.
    band_chunks : bool
        Lazy cubes only: one dask chunk per band × about 1024 × 1024 pixels (what a viewer
        showing one band reads), instead of whole bands (BSQ) or all bands (BIL/BIP) × rows.

    A header of ``file type = TIFF`` beside a TIFF (ENVI's sidecar, :func:`sidecar_tiff`) reads
    that TIFF, with the header's wavelengths where the TIFF has none.

    Returns
    -------
    Cube
        ``(bands, H, W)`` in the file's data type (native byte order), wavelengths/FWHM in nm,
        ``nodata`` from ``data ignore value``, CRS/transform from the map info; band names,
        ``bbl``, reflectance scale factor and ``data gain values`` / ``data offset values`` in
        ``metadata`` (:func:`read_band_metadata`): the pixels are not scaled by them.

    Raises
    ------
    ShapeError
        A window outside the image (:func:`hsi.check.check_window`).
    """
    tif = sidecar_tiff(path)
    if tif is not None:  # ENVI's header of a TIFF: the TIFF, with the header's wavelengths
        from hsi.io.geotiff import read_geotiff

        return read_geotiff(tif, window=window, lazy=lazy, band_chunks=band_chunks)
    arr, header, hdr = open_envi_array(path)
    transform, crs = _map_info(header, hdr)
    wl, fwhm = _wavelengths(header, arr.shape[0], hdr)
    _, lines, samples = arr.shape
    if window is not None:
        window = check_window(window, lines, samples, hdr)
        r0, c0, h, w = (int(window.row_off), int(window.col_off), int(window.height),
                        int(window.width))
    else:
        r0, c0, h, w = 0, 0, lines, samples
    nbytes = arr.shape[0] * h * w * arr.dtype.itemsize
    if lazy is None:
        lazy = nbytes > LAZY_THRESHOLD_BYTES
    if lazy:
        import dask.array as da
        from dask.base import tokenize

        chunks = arr.band_chunks() if band_chunks else arr.chunks()
        token = tokenize(str(arr.path.resolve()), os.stat(arr.path).st_mtime_ns, chunks)
        data = da.from_array(arr, chunks=chunks, asarray=False,
                             meta=np.empty((0, 0, 0), arr.dtype),
                             name=f"envi-{arr.path.name}-{token}")
        data = data[:, r0:r0 + h, c0:c0 + w]
    else:
        from hsi.memory import check_allocation

        check_allocation(nbytes, str(arr.path))
        data = arr[:, r0:r0 + h, c0:c0 + w]
    if transform is not None and window is not None:
        from rasterio.windows import transform as window_transform

        transform = window_transform(window, transform)
    metadata = {"format": "ENVI", "interleave": arr.interleave,
                 **read_band_metadata(header.get("band names"), header.get("bbl"),
                                      header.get("reflectance scale factor"), bands=arr.shape[0],
                                      wavelengths=wl, scales=header.get("data gain values"),
                                      offsets=header.get("data offset values"))}
    return build_cube(hdr, data, wavelengths=wl, fwhm=fwhm, crs=crs, transform=transform,
                      nodata=_nodata(header, arr.dtype, hdr), name=hdr.stem, metadata=metadata)


def _fmt(v: float) -> str:
    return repr(float(v))


def _number(v: float) -> str:
    """``v`` as a header writes it: ``10000`` for a whole number, else ``repr``."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)


def wavelength_band_names(wavelengths: ArrayLike) -> list[str]:
    """The band names hsikit writes for bands known only by their wavelengths: ``"450.5 nm"``.

    Parameters
    ----------
    wavelengths : array-like, shape (bands,)
        Band centres in nm.
    """
    return [f"{float(nm):g} nm" for nm in np.asarray(wavelengths, dtype=np.float64).reshape(-1)]


def parse_band_names(value: str | Sequence[str] | None, bands: int) -> list[str] | None:
    """Band names from a header value or ``cube.metadata``, ``None`` unless one per band.

    Parameters
    ----------
    value : str, sequence of str or None
        An ENVI list (``"{Blue, Green}"``; a bare string is one name) or a sequence of names.
    bands : int
        The cube's band count.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        names = ([v.strip() for v in text[1:-1].split(",")]
                 if text.startswith("{") and text.endswith("}") else [text])
    else:
        try:
            names = [str(v) for v in value]
        except TypeError:
            return None
    return names if len(names) == bands else None


def _numbers(value: str | float | Sequence[float] | np.ndarray) -> np.ndarray | None:
    """``value`` (an ENVI/JSON list string, a number or a sequence) as float64 values, or
    ``None`` when it is not numbers."""
    try:
        if isinstance(value, str):
            return parse_number_list(value)
        return np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None


def parse_bbl(value: str | Sequence[float] | np.ndarray | None,
              bands: int) -> list[int | float] | None:
    """The bad band list (ENVI ``bbl``) from a header, tag or ``cube.metadata`` value.

    Parameters
    ----------
    value : str, sequence of numbers or None
        ``"{1, 0, 1}"``, ``"[1, 0, 1]"`` or a sequence; 1 marks a good band, 0 a bad one.
    bands : int
        The cube's band count.

    Returns
    -------
    list or None
        One int per band (a float where a value is not a whole number, as ENVI's band
        multipliers may be); ``None`` when absent, not numbers or not one per band.
    """
    values = None if value is None else _numbers(value)
    if values is None or values.size != bands or not np.isfinite(values).all():
        return None
    return [int(v) if v.is_integer() else float(v) for v in values.tolist()]


def parse_scale_factor(value: str | float | Sequence[float] | np.ndarray | None) -> float | None:
    """The reflectance scale factor from a header, tag or ``cube.metadata`` value.

    Returns
    -------
    float or None
        ``None`` when absent, not one number, or not positive and finite.
    """
    values = None if value is None else _numbers(value)
    if values is None or values.size != 1 or not (np.isfinite(values[0]) and values[0] > 0):
        return None
    return float(values[0])


def parse_band_scaling(scales: str | Sequence[float] | np.ndarray | None,
                       offsets: str | Sequence[float] | np.ndarray | None,
                       bands: int) -> tuple[list[float], list[float]] | None:
    """Per-band scales and offsets (``value = stored × scale + offset``) from a header, a
    dataset or ``cube.metadata``.

    What GDAL calls a band's scale and offset (rasterio's ``src.scales`` / ``src.offsets``)
    and an ENVI header ``data gain values`` / ``data offset values``; e.g. 2.75e-05 and -0.2
    for Landsat Collection 2 surface reflectance.

    Parameters
    ----------
    scales, offsets : str, sequence of numbers or None
        ``"{2.75e-05, 2.75e-05}"``, ``"[1, 1]"`` or a sequence. One absent (``None``) means
        scale 1 or offset 0 for every band.
    bands : int
        The cube's band count.

    Returns
    -------
    (list of float, list of float) or None
        ``(scales, offsets)``, one float each per band. ``None`` when both are absent, when
        either is not numbers, not one finite value per band or has a scale of 0 (malformed),
        and when no band is scaled (every scale 1 and offset 0).
    """
    if scales is None and offsets is None:
        return None
    gains = np.ones(bands) if scales is None else _numbers(scales)
    shifts = np.zeros(bands) if offsets is None else _numbers(offsets)
    if gains is None or shifts is None or gains.size != bands or shifts.size != bands:
        return None
    if not (np.isfinite(gains).all() and np.isfinite(shifts).all()) or (gains == 0).any():
        return None
    if (gains == 1).all() and (shifts == 0).all():
        return None
    return gains.tolist(), shifts.tolist()


def _band_scaling_entries(scales: str | Sequence[float] | np.ndarray | None,
                          offsets: str | Sequence[float] | np.ndarray | None,
                          bands: int) -> dict:
    """``{"band_scales": [...], "band_offsets": [...]}`` from :func:`parse_band_scaling`, or
    ``{}``."""
    scaling = parse_band_scaling(scales, offsets, bands)
    return {} if scaling is None else {"band_scales": scaling[0], "band_offsets": scaling[1]}


def read_band_metadata(band_names: str | Sequence[str] | None,
                       bbl: str | Sequence[float] | np.ndarray | None,
                       scale_factor: str | float | Sequence[float] | np.ndarray | None, *,
                       bands: int, wavelengths: ArrayLike | None = None,
                       scales: str | Sequence[float] | np.ndarray | None = None,
                       offsets: str | Sequence[float] | np.ndarray | None = None) -> dict:
    """``cube.metadata`` entries for a file's band names, bad band list, scale factor and
    band scales/offsets.

    Values that are malformed or not one per band are left out (the pixels stay readable);
    band names that only restate the wavelengths (:func:`wavelength_band_names`) are left out
    too, since the writers make them again from the wavelengths.

    Parameters
    ----------
    band_names, bbl, scale_factor
        As found in the file (see :func:`parse_band_names`, :func:`parse_bbl`,
        :func:`parse_scale_factor`), or ``None``.
    bands : int
        The file's band count.
    wavelengths : array-like (bands,) in nm, optional
        The file's wavelengths.
    scales, offsets : str, sequence of numbers or None
        The file's per-band scales and offsets (ENVI ``data gain values`` / ``data offset
        values``, GDAL's band scale/offset; see :func:`parse_band_scaling`), or ``None``.

    Returns
    -------
    dict
        Any of ``band_names`` (list of str), ``bbl`` (list of int, 1 = good band),
        ``reflectance_scale_factor`` (float) and, together, ``band_scales`` and
        ``band_offsets`` (lists of float, one per band; only when some band is scaled).
    """
    out: dict = {}
    names = parse_band_names(band_names, bands)
    if names is not None and (wavelengths is None or names != wavelength_band_names(wavelengths)):
        out["band_names"] = names
    bad = parse_bbl(bbl, bands)
    if bad is not None:
        out["bbl"] = bad
    scale = parse_scale_factor(scale_factor)
    if scale is not None:
        out["reflectance_scale_factor"] = scale
    out.update(_band_scaling_entries(scales, offsets, bands))
    return out


def band_metadata(cube: Cube) -> dict:
    """The band names, bad band list, reflectance scale factor and band scales/offsets that
    still describe ``cube``.

    Taken from ``cube.metadata`` (``band_names``, ``bbl``, ``reflectance_scale_factor``,
    ``band_scales`` / ``band_offsets``): a per-band list is kept only when it has one value per
    band (a cube whose bands were selected with :meth:`Cube.with_data` keeps its old metadata,
    which no longer matches), and the scale factor and band scales/offsets only while the data
    has not been divided by :func:`hsi.degrade.normalize_reflectance`
    (``reflectance_scale_applied``).

    Parameters
    ----------
    cube : Cube

    Returns
    -------
    dict
        Any of ``band_names`` (list of str), ``bbl`` (list of numbers),
        ``reflectance_scale_factor`` (float) and, together, ``band_scales`` and
        ``band_offsets`` (lists of float, one per band).
    """
    meta = cube.metadata or {}
    out: dict = {}
    names = parse_band_names(meta.get("band_names"), cube.bands)
    if names is not None:
        out["band_names"] = names
    bad = parse_bbl(meta.get("bbl"), cube.bands)
    if bad is not None:
        out["bbl"] = bad
    scale = parse_scale_factor(meta.get("reflectance_scale_factor"))
    if "reflectance_scale_applied" not in meta:
        if scale is not None:
            out["reflectance_scale_factor"] = scale
        out.update(_band_scaling_entries(meta.get("band_scales"), meta.get("band_offsets"),
                                         cube.bands))
    return out


def _rotated_grid(xs: float, ys: float, rotation: float) -> Affine:
    """The linear part of the transform a ``map info`` describes (no translation).

    Parameters
    ----------
    xs, ys : float
        Pixel sizes along columns and rows (positive), as ``map info`` gives them.
    rotation : float
        ``rotation=`` in degrees, counter-clockwise. ``180`` (or ``-180``) is a south-up grid
        (positive y pixel size, columns still west to east), as GDAL's ENVI driver reads and
        writes it.

    Returns
    -------
    affine.Affine
        ``Affine(a, b, 0, d, e, 0)``: a column steps ``(a, d)``, ``xs`` long, a row ``(b, e)``,
        ``ys`` long; a north-up grid for ``rotation=0``.
    """
    if abs(rotation) == 180.0:
        return Affine(xs, 0.0, 0.0, 0.0, ys, 0.0)
    theta = math.radians(rotation)
    cos, sin = math.cos(theta), math.sin(theta)
    if abs(sin) < 1e-12:
        return Affine(xs, 0.0, 0.0, 0.0, -ys, 0.0)
    return Affine(xs * cos, ys * sin, 0.0, xs * sin, -ys * cos, 0.0)


def _map_info_fields(crs: CRS | None, t: Affine) -> dict:
    """``map info`` (and ``coordinate system string``) for transform ``t`` in ``crs``.

    North-up, south-up (``rotation=180``, GDAL's way) and rotated grids are stored exactly. A
    transform no ``map info`` can hold (sheared, mirrored, rotated by 180°) is written as the
    nearest rotated grid with a warning naming the error, a GeoTIFF keeping it whole.
    """
    fields: dict = {}
    xs, ys = math.hypot(t.a, t.d), math.hypot(t.b, t.e)  # the lengths of a pixel's sides
    south_up = t.b == 0 and t.d == 0 and t.a > 0 and t.e > 0
    rot = 180.0 if south_up else math.degrees(math.atan2(t.d, t.a))
    rotation = f"rotation={rot:.15g}" if rot != 0 else ""
    stored = _rotated_grid(xs, ys, float(f"{rot:.15g}"))
    error = max(abs(u - v) for u, v in zip(stored[:6], (t.a, t.b, 0, t.d, t.e, 0), strict=True))
    if error > 1e-9 * max(xs, ys):
        written = Affine(stored.a, stored.b, t.c, stored.d, stored.e, t.f)
        log.warning("ENVI map info cannot hold the transform %s (sheared, mirrored or rotated "
                    "by 180°): written as the rotated grid %s, %.3g CRS units off per pixel; "
                    "write a GeoTIFF (.tif) to keep it", tuple(t)[:6], tuple(written)[:6], error)
    loc = ["1", "1", _fmt(t.c), _fmt(t.f), _fmt(xs), _fmt(ys)]
    code = crs.to_epsg() if crs is not None else None
    if code is not None and (32601 <= code <= 32660 or 32701 <= code <= 32760):
        info = ["UTM", *loc, str(code % 100), "North" if code < 32700 else "South", "WGS-84",
                "units=Meters"]
    elif code == 4326:
        info = ["Geographic Lat/Lon", *loc, "WGS-84", "units=Degrees"]
    elif crs is not None:
        units = "Degrees" if crs.is_geographic else "Meters"
        info = ["Custom", *loc, f"units={units}"]
    else:
        info = ["Arbitrary", *loc, "0", "North"]
    if rotation:
        info.append(rotation)
    fields["map info"] = info
    if crs is not None:
        fields["coordinate system string"] = "{" + crs.to_wkt(version="WKT1_ESRI") + "}"
    return fields


def _write_dtype(dtype: np.dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.dtype(np.uint8)
    if dtype == np.int8:
        return np.dtype(np.int16)
    if dtype == np.float16:
        return np.dtype(np.float32)
    if dtype.newbyteorder("=") not in _DTYPE_TO_ENVI:
        raise FormatError(f"cannot write data type {dtype} to ENVI (supported: "
                          f"{', '.join(str(np.dtype(v)) for v in ENVI_DTYPES.values())})")
    return dtype.newbyteorder("=")


def envi_header_fields(cube: Cube, dtype: np.dtype) -> dict:
    """The ENVI header dictionary (SPy's format) describing ``cube`` stored BSQ, little-endian.

    ``band names``, ``bbl``, ``reflectance scale factor`` and ``data gain values`` / ``data
    offset values`` come from :func:`band_metadata`; without band names of its own, a cube with
    wavelengths gets ``"450.5 nm"``-style names.
    """
    fields: dict = {
        "description": f"hsikit cube {cube.short_name}".strip(),
        "samples": cube.width, "lines": cube.height, "bands": cube.bands,
        "header offset": 0, "file type": "ENVI Standard",
        "data type": _DTYPE_TO_ENVI[np.dtype(dtype)], "interleave": "bsq", "byte order": 0,
    }
    extra = band_metadata(cube)
    if "reflectance_scale_factor" in extra:
        fields["reflectance scale factor"] = _number(extra["reflectance_scale_factor"])
    if cube.wavelengths is not None:
        fields["wavelength units"] = "Nanometers"
        fields["wavelength"] = [_fmt(v) for v in cube.wavelengths]
    names = extra.get("band_names")
    if names is None and cube.wavelengths is not None:
        names = wavelength_band_names(cube.wavelengths)
    if names is not None:  # on one line: SPy would read a line break inside a name apart
        fields["band names"] = [n.replace("\r", " ").replace("\n", " ") for n in names]
    if "bbl" in extra:
        fields["bbl"] = [_number(v) for v in extra["bbl"]]
    if "band_scales" in extra:
        fields["data gain values"] = [_number(v) for v in extra["band_scales"]]
        fields["data offset values"] = [_number(v) for v in extra["band_offsets"]]
    if cube.fwhm is not None:
        fields["fwhm"] = [_fmt(v) for v in cube.fwhm]
    nodata = storable_nodata(cube.nodata, dtype)
    if nodata is not None:
        fields["data ignore value"] = _fmt(nodata) if np.dtype(dtype).kind == "f" else str(nodata)
    if cube.transform is not None:
        fields.update(_map_info_fields(cube.crs, cube.transform))
    return fields


def write_envi(cube: Cube, path: str | os.PathLike) -> Path:
    """Write ``cube`` as ENVI (BSQ, little-endian) with an SPy-written header, atomically.

    Parameters
    ----------
    cube : Cube
        Cube to write; a lazy cube is written one band at a time.
    path : path
        ``x.hdr`` (data goes to ``x.img``) or the data file name (header ``x.hdr`` beside it).

    Returns
    -------
    pathlib.Path
        The header path.

    Raises
    ------
    HsiIOError
        The folder cannot be written; neither file is left behind on failure.
    FormatError
        A data type ENVI cannot hold (e.g. complex).
    """
    import spectral.io.envi as spy_envi

    path = Path(path)
    if path.suffix.lower() == ".hdr":
        hdr, data_file = path, path.with_suffix(".img")
    else:
        hdr, data_file = path.with_suffix(".hdr"), path
    dtype = _write_dtype(cube.dtype)
    file_dtype = dtype.newbyteorder("<")
    fields = envi_header_fields(cube, dtype)
    with atomic_files([hdr, data_file]) as (tmp_hdr, tmp_data):
        spy_envi.write_envi_header(str(tmp_hdr), fields)
        with open(tmp_data, "wb") as f:
            if cube.is_lazy:
                for b in range(cube.bands):
                    np.asarray(cube.data[b]).astype(file_dtype).tofile(f)
            else:
                np.ascontiguousarray(cube.data, dtype=file_dtype).tofile(f)
    return hdr
