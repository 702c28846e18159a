"""GeoTIFF cubes through rasterio: windowed and lazy reads, tiled compressed atomic writes.

Wavelengths are read, in this order, from GDAL's band metadata ``CENTRAL_WAVELENGTH_UM`` /
``FWHM_UM`` in the ``IMAGERY`` domain (the GDAL >= 3.10 convention), ENVI-style ``wavelength``
tags (dataset or ``ENVI`` domain, with ``wavelength_units``; or per band), or band
descriptions such as ``"450.5 nm"``. Writing puts them in the ``IMAGERY`` domain (µm) and in the
band descriptions.

A cube's own band names (``cube.metadata["band_names"]``, e.g. from an ENVI ``band names``) are
written as the band descriptions instead, and its ENVI bad band list and reflectance scale
factor as the dataset tags ``bbl`` and ``reflectance_scale_factor``
(:func:`hsi.io.envi.band_metadata`); reading takes them back (the tags also from GDAL's
``ENVI`` domain), so ENVI → GeoTIFF → ENVI keeps them. Per-band scales and offsets (GDAL's band
scale/offset, e.g. from an ENVI ``data gain values`` / ``data offset values``) are read to
``cube.metadata["band_scales"]`` / ``["band_offsets"]`` and written back as the band scales and
offsets; the pixels are read and written as stored, never multiplied by them. What produced
the pixels (a fusion's method, ratio and PSF: :mod:`hsi.io.provenance`) is written as dataset
tags and read back into ``cube.metadata``.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from hsi.check import check_window
from hsi.cube import Cube
from hsi.errors import FormatError, HsiIOError, WavelengthError
from hsi.io.atomic import atomic_path
from hsi.io.envi import (
    band_metadata,
    read_band_metadata,
    sidecar_bands,
    wavelength_band_names,
)
from hsi.io.formats import (
    build_cube,
    check_readable,
    parse_number_list,
    reading,
    storable_nodata,
    unit_factor,
)
from hsi.io.indexing import as_step, pyramid_factors, read_positions
from hsi.io.provenance import record_from_tags, record_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, DTypeLike
    from rasterio.io import DatasetReader, DatasetWriter

    from hsi.io.indexing import Key

#: GDAL's block cache while a scene job keeps files open (:meth:`GeoTiffArray.kept_open`) or
#: writes tile by tile (:class:`GeoTiffTileWriter`), bytes. GDAL's default (5 % of RAM) would
#: hold every decompressed input block and every dirty output block (204 bands × 256² per
#: tile) up to gigabytes; the cap keeps memory bounded by the tile, not by the scene.
GDAL_CACHE_BYTES = 64 * 2**20

# A raster without georeference is a Cube with ``crs=None, transform=None``: said by the cube
# itself (and by ``hsi info``), not by rasterio's warning on every open and write (a `.mat` or
# a lab image has none). Filtered by category only: rasterio attributes it to its own frame.
warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)

#: Cubes larger than this many bytes (uncompressed) are opened lazily when ``lazy=None``.
LAZY_THRESHOLD_BYTES = 512 * 2**20
#: Target size of one dask chunk (whole blocks are grouped up to this size).
CHUNK_BYTES = 64 * 2**20
#: Side (pixels) of a viewer's chunk: one band × about this many pixels square.
VIEW_TILE = 1024
#: :func:`write_geotiff` builds overviews for rasters whose longer side exceeds this (the size
#: above which the napari reader shows a pyramid), down to levels of ``OVERVIEW_MIN_SIDE``.
OVERVIEW_ABOVE = 1024
OVERVIEW_MIN_SIDE = 512

#: A band description holding its wavelength: ``"450.5 nm"``, ``"Band 3: 450.5nm"``, ENVI's
#: ``"Band 1 (450.000000 Nanometers)"`` or ``"B1 (0.45 um)"``.
_DESCRIPTION_RE = re.compile(
    r"^\s*(?:b(?:and)?\s*\d+\s*[:=-]?\s*)?\(?\s*"
    r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*"
    r"(nm|nanometers?|nanometres?|um|µm|μm|micrometers?|micrometres?|microns?)\b",
    re.IGNORECASE)
#: GDAL writes ``CENTRAL_WAVELENGTH_UM`` with 3 decimals (1 nm): a band's ENVI-style
#: ``wavelength`` this close to it (nm) is the same value, unrounded.
_IMAGERY_ROUNDING_NM = 0.5 + 1e-6


def _open(path: Path) -> DatasetReader:
    try:
        return rasterio.open(path)
    except RasterioError as exc:
        raise FormatError(f"{path}: cannot be read as GeoTIFF ({exc})") from None


def _float_tag(tags: dict, key: str) -> float | None:
    value = tags.get(key)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _ci(tags: dict, *keys: str) -> str | None:
    lower = {k.lower(): v for k, v in tags.items()}
    for key in keys:
        if key in lower:
            return lower[key]
    return None


def _imagery_wavelengths(src: DatasetReader) -> tuple[np.ndarray, np.ndarray | None] | None:
    """``(wavelengths, fwhm)`` in nm from GDAL's ``IMAGERY`` domain (µm), or ``None``.

    Values in nm under the µm keys (``CENTRAL_WAVELENGTH_UM=450``) are a mislabel that
    :func:`~hsi.io.formats.unit_factor` corrects."""
    imagery = [src.tags(b, ns="IMAGERY") for b in range(1, src.count + 1)]
    wl = [_float_tag(t, "CENTRAL_WAVELENGTH_UM") for t in imagery]
    if not all(v is not None for v in wl):
        return None
    factor = unit_factor(wl, "Micrometers")
    fw = [_float_tag(t, "FWHM_UM") for t in imagery]
    fwhm = np.round(np.array(fw) * factor, 9) if all(v is not None for v in fw) else None
    return np.round(np.array(wl) * factor, 9), fwhm


def _envi_style_wavelengths(src: DatasetReader) -> tuple[np.ndarray, np.ndarray | None] | None:
    """``(wavelengths, fwhm)`` in nm from ENVI-style ``wavelength`` tags, or ``None``.

    A list on the dataset (default or ``ENVI`` domain) with ``wavelength_units``, else one
    ``wavelength`` per band (what GDAL's ENVI driver sets, and ``gdal_translate`` copies).
    """
    n = src.count
    for ns in (None, "ENVI"):
        tags = src.tags(ns=ns) if ns else src.tags()
        value = _ci(tags, "wavelength", "wavelengths")
        if value is None:
            continue
        try:
            wl_arr = parse_number_list(value)
            fw_value = _ci(tags, "fwhm")
            fw_arr = parse_number_list(fw_value) if fw_value is not None else None
        except ValueError:
            continue
        if wl_arr.size != n:
            continue
        factor = unit_factor(wl_arr, _ci(tags, "wavelength_units", "wavelength units"))
        fw_ok = fw_arr is not None and fw_arr.size == n
        return wl_arr * factor, (fw_arr * factor if fw_ok else None)
    per_band = [{k.lower(): v for k, v in src.tags(b).items()} for b in range(1, n + 1)]
    values = [_float_tag(t, "wavelength") for t in per_band]
    if not all(v is not None for v in values):
        return None
    units = _ci(per_band[0], "wavelength_units", "wavelength units")
    wl_arr = np.array(values, dtype=np.float64)
    fws = [_float_tag(t, "fwhm") for t in per_band]
    factor = unit_factor(wl_arr, units)
    fw = np.array(fws) * factor if all(v is not None for v in fws) else None
    return wl_arr * factor, fw


def _description_wavelengths(src: DatasetReader) -> tuple[np.ndarray | None, None]:
    """Wavelengths in nm from band descriptions such as ``"450.5 nm"`` (all bands, or none)."""
    parsed = []
    for desc in src.descriptions:
        m = _DESCRIPTION_RE.match(desc or "")
        if m is None:
            return None, None
        value = float(m.group(1))
        unit = m.group(2).lower()
        parsed.append(value if unit.startswith("n") else value * 1e3)
    return (np.array(parsed, dtype=np.float64), None) if parsed else (None, None)


def band_wavelengths(src: DatasetReader) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Return ``(wavelengths, fwhm)`` in nm found in an open rasterio dataset (or ``None``).

    In order: GDAL's ``IMAGERY`` domain, ENVI-style ``wavelength`` tags, band descriptions.
    GDAL's ENVI driver derives ``CENTRAL_WAVELENGTH_UM`` from the header's ``wavelength``
    rounded to 1 nm and keeps that value per band, so a file translated from ENVI has both:
    where they agree to that rounding, the unrounded ENVI-style value is taken (412.57 nm, not
    413); where they differ, the ``IMAGERY`` domain wins, as in GDAL.

    Raises
    ------
    WavelengthError
        Wavelength units that are not a length (wavenumbers, frequencies).
    """
    imagery = _imagery_wavelengths(src)
    try:
        envi = _envi_style_wavelengths(src)
    except WavelengthError:  # units that are not a length: fatal only without IMAGERY
        if imagery is None:
            raise
        envi = None
    if imagery is None:
        return envi if envi is not None else _description_wavelengths(src)
    if envi is not None and np.all(np.abs(envi[0] - imagery[0]) <= _IMAGERY_ROUNDING_NM):
        return envi[0], envi[1] if envi[1] is not None else imagery[1]
    return imagery


def _band_metadata(src: DatasetReader, tags: dict, wavelengths: np.ndarray | None) -> dict:
    """Band names (the band descriptions, when every band has one), ``bbl`` and
    ``reflectance_scale_factor`` (dataset tags, else GDAL's ``ENVI`` domain) and the band
    scales/offsets of an open dataset, as :func:`hsi.io.envi.read_band_metadata` keeps them."""
    envi = src.tags(ns="ENVI") if "ENVI" in (src.tag_namespaces() or []) else {}
    descriptions = list(src.descriptions)
    names = descriptions if all(descriptions) else None

    def tag(key: str) -> str | None:
        value = _ci(tags, key)
        return value if value is not None else _ci(envi, key)

    return read_band_metadata(names, tag("bbl"), tag("reflectance_scale_factor"),
                              bands=src.count, wavelengths=wavelengths, scales=src.scales,
                              offsets=src.offsets)


class GeoTiffArray:
    """Array-like ``(bands, rows, cols)`` view of a raster file read by windows and bands.

    Each ``__getitem__`` opens the file and reads only the bands and the window asked for, so
    the object pickles cheaply and serves as a ``dask.array.from_array`` source on any worker.
    Inside :meth:`kept_open` the reads share one open dataset instead (and so GDAL's cache of
    the blocks it has decompressed): what a tiled scene job wants, whose tiles overlap.
    Integer indices read one band (``arr[0, ::7, ::7]`` reads band 1 only); strided rows are
    read one band and one strip of blocks at a time and then subsampled, so the memory a read
    takes is its result plus one strip (``block rows × window width`` pixels), never the file.

    Parameters
    ----------
    path : path
        The raster file.
    shape : (int, int, int)
        ``(bands, rows, cols)`` of the file.
    dtype : numpy dtype
        Data type of the bands.
    block : (int, int)
        The file's block (tile or strip) shape ``(rows, cols)``.
    """

    def __init__(self, path: str | os.PathLike, shape: tuple[int, int, int], dtype: DTypeLike,
                 block: tuple[int, int]) -> None:
        self.path = str(path)
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.ndim = 3
        self.block = tuple(int(v) for v in block)
        self._src = None  # the dataset kept open by kept_open(), used under _lock
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("_src", "_lock")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _src=None, _lock=threading.Lock())

    @contextlib.contextmanager
    def kept_open(self) -> Iterator[GeoTiffArray]:
        """Keep the file open for the reads made inside the block (one dataset, one lock), with
        GDAL's block cache capped at :data:`GDAL_CACHE_BYTES` and the blocks of one read
        decompressed by :func:`compression_threads` threads (GDAL's ``NUM_THREADS``; a 4096²
        scene's statistics pass of ``hsi fuse --method glp`` took 7.6 s instead of 8.7 s)."""
        if self._src is not None:  # already kept open by an outer block
            yield self
            return
        with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES), rasterio.open(
                self.path, num_threads=str(compression_threads())) as src:
            self._src = src
            try:
                yield self
            finally:
                with self._lock:
                    self._src = None

    @contextlib.contextmanager
    def _dataset(self) -> Iterator[DatasetReader]:
        """The open dataset: the kept one (under the lock) or a fresh one."""
        with self._lock:
            if self._src is not None:
                yield self._src
                return
        with rasterio.open(self.path) as src:
            yield src

    def __getitem__(self, key: Key) -> np.ndarray:
        with reading(self.path):  # a truncated or corrupt block: one line naming the file
            return read_positions(self._read, key, self.shape, self.dtype)

    def has_overviews(self) -> bool:
        """Whether the file has internal (or ``.ovr``) overviews (asked once, then kept)."""
        if getattr(self, "_overviews", None) is None:
            with reading(self.path), self._dataset() as src:
                self._overviews = bool(src.overviews(1))
        return self._overviews

    def read_decimated(self, bands: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                       factor: int) -> np.ndarray:
        """``bands × rows × cols`` of the image decimated ``factor`` times, from the file's
        overviews (positions in the decimated grid: pixel ``(r, c)`` stands for the
        full-resolution block ``[r·f, (r+1)·f) × [c·f, (c+1)·f)``).

        One GDAL read with an output shape of the rows' and columns' span: GDAL takes the
        pixels from the overview closest to (and not coarser than) the factor, resampling it
        (nearest) where the factors differ, so the memory is that of the result.
        """
        from rasterio.enums import Resampling

        f = int(factor)
        r0, r1 = int(rows[0]), int(rows[-1]) + 1
        c0, c1 = int(cols[0]), int(cols[-1]) + 1
        win = Window(c0 * f, r0 * f, (c1 - c0) * f, (r1 - r0) * f)
        indexes = [int(b) + 1 for b in bands]
        with reading(self.path), self._dataset() as src:
            out = src.read(indexes, window=win, out_shape=(len(indexes), r1 - r0, c1 - c0),
                           resampling=Resampling.nearest)
        if rows.size != r1 - r0:
            out = out[:, rows - r0]
        if cols.size != c1 - c0:
            out = out[:, :, cols - c0]
        return out

    def _read(self, bands: np.ndarray, row_u: np.ndarray, col_u: np.ndarray) -> np.ndarray:
        """Read ``bands × row_u × col_u`` (sorted unique positions, none empty)."""
        c0, c1 = int(col_u[0]), int(col_u[-1]) + 1
        col_sel = as_step(col_u)
        contiguous_rows = int(row_u[-1]) - int(row_u[0]) + 1 == row_u.size
        indexes = [int(b) + 1 for b in bands]
        with self._dataset() as src:
            if contiguous_rows and isinstance(col_sel, slice) and col_sel.step == 1:
                win = Window(c0, int(row_u[0]), c1 - c0, row_u.size)
                out = src.read(indexes, window=win)
            else:  # strided: one band × one strip of blocks per read, then subsampled
                out = np.empty((len(indexes), row_u.size, col_u.size), self.dtype)
                strips = row_u // self.block[0]
                cuts = np.flatnonzero(np.diff(strips)) + 1
                starts = np.concatenate([[0], cuts]).tolist()
                stops = np.concatenate([cuts, [row_u.size]]).tolist()
                for i, b in enumerate(indexes):
                    for s0, s1 in zip(starts, stops, strict=True):
                        want = row_u[s0:s1]
                        r0, r1 = int(want[0]), int(want[-1]) + 1
                        strip = src.read(b, window=Window(c0, r0, c1 - c0, r1 - r0))
                        out[i, s0:s1] = strip[as_step(want)][:, col_sel]
        return out

    def chunks(self) -> tuple[int, int, int]:
        """One chunk per block (all bands); strips (full-width blocks) grouped up to ~64 MB."""
        bands, rows, cols = self.shape
        bh, bw = self.block
        if bw < cols:  # tiled
            return (bands, min(rows, bh), bw)
        per_strip = max(1, bands * bh * cols * self.dtype.itemsize)
        k = max(1, CHUNK_BYTES // per_strip)
        return (bands, min(rows, bh * k), cols)

    def band_chunks(self, tile: int = VIEW_TILE) -> tuple[int, int, int]:
        """One band × about ``tile × tile`` pixels of whole blocks: what a viewer reads.

        Tiled files get whole tiles grouped up to ``tile`` pixels a side; striped files get
        full-width strips grouped up to about ``tile²`` pixels.
        """
        _, rows, cols = self.shape
        bh, bw = self.block
        if bw < cols:  # tiled
            return (1, min(rows, max(1, tile // bh) * bh), min(cols, max(1, tile // bw) * bw))
        per = max(1, tile * tile // cols)
        return (1, min(rows, max(1, per // bh) * bh), cols)


def read_geotiff(path: str | os.PathLike, *, window: Window | None = None,
                 lazy: bool | None = None, band_chunks: bool = False) -> Cube:
    """Read a GeoTIFF (or any raster rasterio opens) as a cube.

    Parameters
    ----------
    path : path
        The raster file.
    window : rasterio.windows.Window, optional
        Rows/columns to read (only those blocks are read); the transform follows the window.
    lazy : bool, optional
        Return a dask-backed cube reading block-aligned windows on demand. ``None``: lazy when
        the (window's) uncompressed data exceeds 512 MB.
    band_chunks : bool
        Lazy cubes only: one dask chunk per band × about 1024 × 1024 pixels of whole blocks
        (what a viewer showing one band reads), instead of all bands × one block (what
        per-pixel processing reads).

    Returns
    -------
    Cube
        ``(bands, H, W)`` as stored, wavelengths/FWHM in nm when present, CRS, transform, nodata;
        band names, ``bbl``, reflectance scale factor and band scales/offsets in ``metadata``
        (:func:`hsi.io.envi.read_band_metadata`): the pixels are not scaled by them.

    Raises
    ------
    FormatError
        Not a raster GDAL can read, bands of differing data types, or a multi-page TIFF.
    ShapeError
        A window outside the image (:func:`hsi.check.check_window`).
    """
    path = check_readable(path)
    with _open(path) as src:
        if len(src.subdatasets) > 1:  # GDAL shows the first page only
            raise FormatError(f"{path}: a multi-page TIFF ({len(src.subdatasets)} pages); hsikit "
                              "reads the bands of one page, and reading the first alone would "
                              "lose the others: save the cube as one page with one band per "
                              "spectral band (e.g. hsi.save, or gdal_translate of each page)")
        if len(set(src.dtypes)) != 1:
            raise FormatError(f"{path}: bands have differing data types {sorted(set(src.dtypes))}")
        dtype = np.dtype(src.dtypes[0])
        height, width, count = src.height, src.width, src.count
        crs = src.crs if src.crs else None
        transform = src.transform
        if transform == Affine.identity() and crs is None:
            transform = None
        if window is not None:
            window = check_window(window, height, width, path)
            if transform is not None:
                transform = src.window_transform(window)
        nodata = storable_nodata(src.nodata, dtype)
        try:
            wl, fwhm = band_wavelengths(src)
        except WavelengthError as exc:  # "wavelength units 'GHz' are not a length"
            raise WavelengthError(f"{path}: {exc}") from None
        h = int(window.height) if window is not None else height
        w = int(window.width) if window is not None else width
        if lazy is None:
            lazy = count * h * w * dtype.itemsize > LAZY_THRESHOLD_BYTES
        block = src.block_shapes[0]
        tags = src.tags()
        extra = _band_metadata(src, tags, wl)
        if wl is None:  # ENVI's TIFF output keeps them in a header beside it
            wl, fwhm, side = sidecar_bands(path, count)
            extra = {**side, **extra}
        if not lazy:
            from hsi.memory import check_allocation

            check_allocation(count * h * w * dtype.itemsize, str(path))
            with reading(path):
                data = src.read(window=window)
    if lazy:
        import dask.array as da
        from dask.base import tokenize

        arr = GeoTiffArray(path, (count, height, width), dtype, block)
        chunks = arr.band_chunks() if band_chunks else arr.chunks()
        token = tokenize(str(path.resolve()), os.stat(path).st_mtime_ns, chunks)
        data = da.from_array(arr, chunks=chunks, asarray=False,
                             meta=np.empty((0, 0, 0), dtype),
                             name=f"geotiff-{path.name}-{token}")
        if window is not None:
            r0, c0 = int(window.row_off), int(window.col_off)
            data = data[:, r0:r0 + h, c0:c0 + w]
    metadata = {"format": "GTiff", **record_from_tags(tags)}
    if "CLASS_NAMES" in tags:
        metadata["class_names"] = tags["CLASS_NAMES"]
    metadata.update(extra)
    return build_cube(path, data, wavelengths=wl, fwhm=fwhm, crs=crs, transform=transform,
                      nodata=nodata, name=path.stem, metadata=metadata)


def read_window(path: str | os.PathLike, window: Window) -> Cube:
    """Read the pixels of ``window`` (eagerly), with the transform shifted to match."""
    return read_geotiff(path, window=window, lazy=False)


def compression_threads() -> int:
    """Worker threads GDAL may use to compress GeoTIFF tiles: the CPUs this process may run on.

    ``os.sched_getaffinity`` honours ``taskset`` and container CPU sets, which GDAL's
    ``ALL_CPUS`` does not.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_tiff_output(path: str | os.PathLike) -> Path:
    """``path`` as a :class:`~pathlib.Path` when it names a GeoTIFF (``.tif`` or ``.tiff``).

    The tiled writers (fusion, classification, clustering of a file) write GeoTIFF only; an
    output named ``.hdr`` or ``.mat`` would be a GeoTIFF no reader takes for what it says.

    Raises
    ------
    FormatError
        Any other extension, before anything is read or written.
    """
    p = Path(path)
    if p.suffix.lower() not in (".tif", ".tiff"):
        raise FormatError(f"{p}: this output is written as a GeoTIFF, so it must end in .tif or "
                          f".tiff (got {p.suffix or 'no extension'}); `hsi convert` turns the "
                          f".tif into ENVI (.hdr) or MATLAB (.mat)")
    return p


def geotiff_profile(*, bands: int, height: int, width: int, dtype: DTypeLike, crs: CRS | None,
                    transform: Affine | None, nodata: float | None,
                    tile: int = 256) -> dict:
    """The creation profile hsikit writes: tiled, ZSTD level 1, predictor, BigTIFF if safer.

    ZSTD level 1 was chosen by measurement: a 204-band 512² float32 scene took 1.95 s and
    10.0 MB against 13.2 s / 32.3 MB with deflate and 20.9 s / 107 MB with LZW (same
    predictor, 256² tiles, a loaded 2-core machine). GDAL ≥ 2.3, QGIS and rasterio read it;
    a reader without ZSTD (MATLAB's ``Tiff``) can take ``hsi convert`` to ENVI. Tiles are
    compressed by :func:`compression_threads` GDAL worker threads (the GTiff ``NUM_THREADS``
    creation option); the pixels, compression and predictor are those of a single-threaded
    write.

    Integers and floats take the horizontal-differencing predictor (2), chosen by measurement
    on real fused pixels (GLP of four CAVE scenes, 186 bands × 1024², ZSTD-1, 256² tiles, 2
    cores): writing took 1.61 CPU-s and the file 83.9 % of the raw size with predictor 2,
    2.79 CPU-s / 76.0 % with the floating-point predictor (3) and 1.58 / 89.4 % with none;
    reading it back 1.27, 1.85 and 1.08 CPU-s. Predictor 3 saves a tenth of the disk at 1.7×
    the compression time, so scene jobs bound by their output's compression stay near disk
    speed with 2; any reader built on libtiff ≥ 4 decodes it.
    """
    dtype = np.dtype(dtype)
    nodata = storable_nodata(nodata, dtype)  # one no pixel can equal is not written
    predictor = 2 if dtype.itemsize > 1 and dtype.kind in "iuf" else 1
    profile = {
        "driver": "GTiff", "count": bands, "height": height, "width": width,
        "dtype": dtype.name, "crs": crs, "transform": transform or Affine.identity(),
        "nodata": nodata, "tiled": True, "blockxsize": tile, "blockysize": tile,
        "compress": "zstd", "zstd_level": 1, "predictor": predictor, "BIGTIFF": "IF_SAFER",
        "interleave": "band", "photometric": "MINISBLACK",
        "num_threads": str(compression_threads()),
    }
    if crs is None:
        profile.pop("crs")
    if transform is None:
        profile.pop("transform")
    if nodata is None:
        profile.pop("nodata")
    return profile


def write_wavelength_tags(dst: DatasetWriter, wavelengths: ArrayLike | None,
                          fwhm: np.ndarray | Sequence[float] | None) -> None:
    """Write band wavelengths/FWHM (nm) into the IMAGERY domain (µm) and band descriptions."""
    if wavelengths is None:
        return
    wavelengths = np.asarray(wavelengths, dtype=np.float64)
    for b, (nm, name) in enumerate(zip(wavelengths, wavelength_band_names(wavelengths),
                                       strict=True), start=1):
        items = {"CENTRAL_WAVELENGTH_UM": repr(float(nm) / 1e3)}
        if fwhm is not None:
            items["FWHM_UM"] = repr(float(fwhm[b - 1]) / 1e3)
        dst.update_tags(b, ns="IMAGERY", **items)
        dst.set_band_description(b, name)


class GeoTiffTileWriter:
    """Write a GeoTIFF window by window; the file appears only when the block exits cleanly.

    Parameters
    ----------
    path : path
        Destination ``.tif``.
    bands, height, width : int
        Size of the full raster.
    dtype : numpy dtype
        Data type of the pixels.
    crs, transform, nodata
        Georeference and nodata (each may be ``None``).
    wavelengths, fwhm : array-like (bands,) in nm, optional
        Written to the IMAGERY domain and band descriptions.
    tile : int
        Tile size (multiple of 16).
    overviews : bool
        Build internal overviews (×2, ×4 ... down to :data:`OVERVIEW_MIN_SIDE`, averaged) when
        the block exits cleanly, before the file appears: viewers (napari's pyramid, QGIS) then
        read a coarse level instead of every pixel. No overviews for a raster that small.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> from rasterio.windows import Window
    >>> import hsi
    >>> tmp = tempfile.TemporaryDirectory(); path = Path(tmp.name) / "out.tif"
    >>> block = np.ones((3, 256, 256), dtype="float32")
    >>> with GeoTiffTileWriter(path, bands=3, height=512, width=512, dtype="float32",
    ...                        crs=None, transform=None, nodata=None, wavelengths=None,
    ...                        fwhm=None) as w:
    ...     w.write(block, Window(0, 0, 256, 256))
    >>> hsi.open(path).shape
    (3, 512, 512)
    >>> tmp.cleanup()
    """

    def __init__(self, path: str | os.PathLike, *, bands: int, height: int, width: int,
                 dtype: DTypeLike, crs: CRS | None, transform: Affine | None,
                 nodata: float | None, wavelengths: ArrayLike | None, fwhm: ArrayLike | None,
                 tile: int = 256, overviews: bool = False) -> None:
        self.path = Path(path)
        self.overviews = overviews
        self.profile = geotiff_profile(bands=bands, height=height, width=width, dtype=dtype,
                                       crs=crs, transform=transform, nodata=nodata, tile=tile)
        self.wavelengths = None if wavelengths is None else np.asarray(wavelengths, float)
        self.fwhm = None if fwhm is None else np.asarray(fwhm, float)
        if self.wavelengths is not None and self.wavelengths.size != bands:
            raise WavelengthError(f"{self.path}: expected {bands} wavelengths, got "
                                  f"{self.wavelengths.size}")
        self._stack: contextlib.ExitStack | None = None
        self._dst = None

    def __enter__(self) -> GeoTiffTileWriter:
        stack = contextlib.ExitStack()
        try:
            stack.enter_context(rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES))  # dirty blocks
            tmp = stack.enter_context(atomic_path(self.path))
            try:
                self._dst = stack.enter_context(rasterio.open(tmp, "w", **self.profile))
            except RasterioError as exc:
                raise HsiIOError(f"{self.path}: cannot create GeoTIFF ({exc})") from None
            write_wavelength_tags(self._dst, self.wavelengths, self.fwhm)
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def _open_dataset(self) -> DatasetWriter:
        """The dataset being written.

        Raises
        ------
        HsiIOError
            Outside the ``with`` block.
        """
        if self._dst is None:
            raise HsiIOError(f"{self.path}: writer is not open (use it in a `with` block)")
        return self._dst

    def tag(self, **values: object) -> None:
        """Record ``values`` as dataset tags (GDAL metadata): strings as they are, anything
        else as JSON, e.g. what produced the pixels."""
        import json

        self._open_dataset().update_tags(**{k: v if isinstance(v, str) else json.dumps(v)
                                 for k, v in values.items()})

    def describe_bands(self, descriptions: list[str]) -> None:
        """Name each band (GDAL band descriptions, shown by QGIS and ``gdalinfo``), e.g. the
        class each probability band is for."""
        dst = self._open_dataset()
        for b, text in enumerate(descriptions, start=1):
            dst.set_band_description(b, str(text))

    def scale_bands(self, scales: Sequence[float], offsets: Sequence[float]) -> None:
        """Record each band's scale and offset (GDAL band metadata: ``value = stored × scale +
        offset``, shown by ``gdalinfo`` and QGIS, read by rasterio as ``scales`` / ``offsets``).

        Descriptive only: the pixels are written as given to :meth:`write`, not scaled.

        Parameters
        ----------
        scales, offsets : sequence of float
            One per band.
        """
        dst = self._open_dataset()
        dst.scales = tuple(float(v) for v in scales)
        dst.offsets = tuple(float(v) for v in offsets)

    def write(self, array: ArrayLike, window: Window) -> None:
        """Write ``array`` of shape ``(bands, window.height, window.width)`` at ``window``."""
        dst = self._open_dataset()
        array = np.asarray(array)
        if array.ndim == 2:
            array = array[None]
        dst.write(array.astype(self.profile["dtype"], copy=False), window=window)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        stack, self._stack, dst, self._dst = self._stack, None, self._dst, None
        if stack is None:
            return False
        if exc_type is None and self.overviews:
            try:
                build_overviews(dst)
            except BaseException:
                if not stack.__exit__(*sys.exc_info()):  # the temporary is removed
                    raise
                return False
        return bool(stack.__exit__(exc_type, exc, tb))


def build_overviews(dst: DatasetWriter) -> list[int]:
    """Build averaged internal overviews of an open writable dataset, ×2 ... down to
    :data:`OVERVIEW_MIN_SIDE` pixels a side; the factors built (none for a small raster)."""
    from rasterio.enums import Resampling

    factors = pyramid_factors(dst.height, dst.width, min_side=OVERVIEW_MIN_SIDE)[1:]
    if factors:
        dst.build_overviews(factors, Resampling.average)
        dst.update_tags(ns="rio_overview", resampling="average")
    return factors


def write_band_metadata(writer: GeoTiffTileWriter, cube: Cube) -> None:
    """Write the band names (band descriptions), ``bbl`` and ``reflectance_scale_factor``
    (dataset tags) and band scales/offsets (:meth:`GeoTiffTileWriter.scale_bands`) of ``cube``
    that still describe it (:func:`hsi.io.envi.band_metadata`).

    Parameters
    ----------
    writer : GeoTiffTileWriter
        An open writer for a raster of ``cube.bands`` bands.
    cube : Cube
    """
    extra = band_metadata(cube)
    if "band_names" in extra:
        writer.describe_bands(extra["band_names"])
    tags = {k: extra[k] for k in ("bbl", "reflectance_scale_factor") if k in extra}
    if tags:
        writer.tag(**tags)
    if "band_scales" in extra:
        writer.scale_bands(extra["band_scales"], extra["band_offsets"])


def _block_windows(height: int, width: int, rows: int) -> Iterator[Window]:
    for r0 in range(0, height, rows):
        yield Window(0, r0, width, min(rows, height - r0))


def write_geotiff(cube: Cube, path: str | os.PathLike, *, tile: int = 256,
                  overviews: bool | None = None) -> Path:
    """Write ``cube`` as a tiled, ZSTD-compressed GeoTIFF (:func:`geotiff_profile`), atomically.

    Rows are written in strips of whole tiles, so a lazy cube is never loaded at once.
    ``overviews`` (default: when the longer side exceeds :data:`OVERVIEW_ABOVE` pixels) builds
    internal overviews (:class:`GeoTiffTileWriter`). Band names, the bad band list, the
    reflectance scale factor and the band scales/offsets of ``cube.metadata`` go with it
    (:func:`write_band_metadata`), and so does its record of what produced the pixels
    (:data:`hsi.io.provenance.RECORD_KEYS`, dataset tags); the pixels are written as they are.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    HsiIOError
        The folder cannot be written; no file (and no temporary) is left on failure.
    """
    path = Path(path)
    dtype = np.dtype(cube.dtype)
    if dtype == np.bool_:
        dtype = np.dtype(np.uint8)
    if dtype.kind == "c":
        raise FormatError(f"{path}: complex data cannot be written as GeoTIFF")
    crs = cube.crs if isinstance(cube.crs, CRS) or cube.crs is None else CRS.from_user_input(
        cube.crs)
    if overviews is None:
        overviews = max(cube.height, cube.width) > OVERVIEW_ABOVE
    per_row = max(1, cube.bands * cube.width * dtype.itemsize)
    rows = max(tile, (CHUNK_BYTES // per_row) // tile * tile)
    with GeoTiffTileWriter(path, bands=cube.bands, height=cube.height, width=cube.width,
                           dtype=dtype, crs=crs, transform=cube.transform, nodata=cube.nodata,
                           wavelengths=cube.wavelengths, fwhm=cube.fwhm, tile=tile,
                           overviews=overviews) as writer:
        write_band_metadata(writer, cube)
        record = record_of(cube.metadata)  # what produced the pixels: kept on a re-save
        if record:
            writer.tag(**record)
        for win in _block_windows(cube.height, cube.width, rows):
            r0, h = int(win.row_off), int(win.height)
            writer.write(np.asarray(cube.data[:, r0:r0 + h, :]), win)
    return path


def silence_libtiff_stderr() -> bool:
    """Stop libtiff printing its own error lines on stderr (the CLI's one-line contract).

    GDAL still turns the failure into an exception that names the cause; only libtiff's
    global default handler (``_tiffWriteProc: No space left on device.``) is removed. Acts on
    the libtiff bundled with rasterio's wheels; returns ``False`` where none is found.
    """
    import ctypes
    import glob

    pattern = str(Path(rasterio.__file__).resolve().parents[1] / "rasterio.libs" / "libtiff-*")
    for lib in glob.glob(pattern):
        try:
            tiff = ctypes.CDLL(lib)
            tiff.TIFFSetErrorHandler.restype = ctypes.c_void_p
            tiff.TIFFSetErrorHandler.argtypes = [ctypes.c_void_p]
            tiff.TIFFSetErrorHandler(None)
            return True
        except (OSError, AttributeError):
            continue
    return False
