"""Which bands of a cube hold data: samples of a lazy cube, empty bands, band names in words.

An *empty* band has no valid value anywhere (every value NaN, infinite or the cube's nodata):
products hold such bands where a sensor measured nothing (EnMAP or PRISMA water-absorption
windows). Fusion, classification, clustering, simulation, metrics and the viewer leave them out
through these helpers. Light on imports (numpy; dask only for a lazy cube): the viewer and the
command line use them before torch loads.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import dask.array as da
    from numpy.typing import ArrayLike

    from hsi.cube import Cube

log = logging.getLogger("hsi.bands")

__all__ = ["band_label", "bands_with_data", "empty_bands", "spread_sample",
           "wavelengths_from_text"]


#: A lazy cube is judged (its reflectance scale, its empty bands) on a sample of about this
#: many values, in at most this many of its chunks spread over the scene (every chunk of a
#: smaller file).
SAMPLE_VALUES = 2_000_000
SAMPLE_CHUNKS = 16


#: The last few samples :func:`spread_sample` read, by the dask array's name (a file's name
#: holds its path and modification time): the reflectance scale, the empty bands and the
#: undeclared-nodata check of one input read its blocks once (measured: 0.44 s of a 1024²
#: ``hsi fuse --method glp``'s 5.7 s were six reads of the same two samples).
_SAMPLES: OrderedDict[tuple, np.ndarray] = OrderedDict()
_SAMPLES_KEPT = 4
_SAMPLES_LOCK = threading.Lock()


def spread_sample(data: da.Array, values: int = SAMPLE_VALUES,
                  max_chunks: int = SAMPLE_CHUNKS) -> np.ndarray:
    """About ``values`` values of a dask array ``(bands, H, W)``, one chunk at a time.

    At most ``max_chunks`` chunks, evenly spread over the chunk grid in raster order, are
    read (a file's blocks are decompressed once each, however large the scene), each at the
    row and column stride ``s`` that gives about ``values`` values, on the array's own grid
    (with every chunk read, the values are exactly ``data[:, ::s, ::s]``'s). Chunk by chunk:
    computing the slice of the whole array at once lets dask hold every chunk it has read until
    the end (measured: the whole 872 MB of a 4096² 13-band GeoTIFF).

    Returns
    -------
    numpy.ndarray, shape (bands, n)
        Read-only: the same array is returned to the next call for the same dask array.
    """
    key = (data.name, data.shape, str(data.dtype), values, max_chunks)
    with _SAMPLES_LOCK:
        if key in _SAMPLES:
            _SAMPLES.move_to_end(key)
            return _SAMPLES[key]
    sample = _read_spread_sample(data, values, max_chunks)
    sample.flags.writeable = False
    with _SAMPLES_LOCK:
        _SAMPLES[key] = sample
        while len(_SAMPLES) > _SAMPLES_KEPT:
            _SAMPLES.popitem(last=False)
    return sample


def _read_spread_sample(data: da.Array, values: int, max_chunks: int) -> np.ndarray:
    """:func:`spread_sample`, read."""
    from dask.local import get_sync  # a callable scheduler: dask does not import distributed

    r_starts = np.cumsum((0, *data.chunks[1]))
    c_starts = np.cumsum((0, *data.chunks[2]))
    grid = [(i, j) for i in range(data.numblocks[1]) for j in range(data.numblocks[2])]
    if len(grid) > max_chunks:
        grid = [grid[k] for k in np.unique(np.linspace(0, len(grid) - 1, max_chunks).round()
                                           .astype(int))]
    pixels = sum(data.chunks[1][i] * data.chunks[2][j] for i, j in grid)
    step = max(1, math.ceil(math.sqrt(data.shape[0] * pixels / values)))
    parts = [np.asarray(data.blocks[:, i, j][:, (-r_starts[i]) % step::step,
                                             (-c_starts[j]) % step::step]
                        .compute(scheduler=get_sync)).reshape(data.shape[0], -1)
             for i, j in grid]
    return np.concatenate(parts, axis=1)


def empty_bands(cube: Cube) -> np.ndarray:
    """Indices of the bands with no valid value: every value NaN, infinite or ``cube.nodata``.

    What some products hold for bands a sensor could not measure (an EnMAP or PRISMA band in a
    water-absorption window filled with NaN or nodata). A lazy cube is judged on the strided
    sample :func:`reflectance_scale` reads (about 2·10⁶ values in at most 16 chunks spread over
    the scene); an in-memory one on every value.

    Parameters
    ----------
    cube : Cube, shape (bands, H, W)

    Returns
    -------
    numpy.ndarray of int, shape (k,)
        Increasing band indices; empty when every band has data.
    """
    data = spread_sample(cube.data) if cube.is_lazy else np.asarray(cube.data)
    data = data.reshape(cube.bands, -1)
    valid = np.isfinite(data) if data.dtype.kind == "f" else np.ones(data.shape, bool)
    if cube.nodata is not None:
        valid &= data != cube.nodata
    return np.flatnonzero(~valid.any(axis=1))


def band_label(cube: Cube, bands: ArrayLike) -> str:
    """Bands in words, numbered from 1 with their wavelengths: ``"31 (692.3 nm), 32 (702.1 nm)"``
    (the first six, then ``"and N more"``).

    Parameters
    ----------
    cube : Cube, shape (bands, H, W)
        Gives the wavelengths, if any.
    bands : array-like of int, shape (k,)
        Band indices (from 0).
    """
    bands = np.asarray(bands, dtype=np.int64).reshape(-1)
    wl = cube.wavelengths
    words = ", ".join(f"{b + 1}" + (f" ({wl[b]:g} nm)" if wl is not None else "")
                      for b in bands[:6])
    return words + (f" and {bands.size - 6} more" if bands.size > 6 else "")


def bands_with_data(cube: Cube, use: str = "features") -> np.ndarray | None:
    """The bands of ``cube`` that have data, or ``None`` when every band has (or none has).

    An empty band (:func:`empty_bands`: every value NaN, infinite or
    ``cube.nodata``, as EnMAP or PRISMA products hold in water-absorption windows) would make
    every pixel missing (a NaN band) or dominate its spectrum (a band of nodata values): it
    is left out, and one warning line names the empty bands. A cube without any band with
    data gives ``None`` too: its pixels are all missing, which the callers report as such.

    Parameters
    ----------
    cube : Cube, shape (bands, H, W)
        In memory (every value judged) or lazy (a strided sample, see
        :func:`hsi.bands.empty_bands`).
    use : str
        What the bands are left out of, for the warning (``"... left out of the <use>"``).

    Returns
    -------
    numpy.ndarray of int, shape (bands_with_data,), or None
        Increasing band indices.
    """
    empty = empty_bands(cube)
    if not empty.size or empty.size == cube.bands:
        return None
    log.warning("%s: band(s) %s have no valid pixel (all NaN or nodata): left out of the %s",
                cube.name or "cube", band_label(cube, empty), use)
    return np.setdiff1d(np.arange(cube.bands), empty)


def wavelengths_from_text(text: str, bands: int) -> np.ndarray:
    """Band centres in nm from a short text: for a file that does not carry them.

    Parameters
    ----------
    text : str
        ``"START-STOP"``: ``bands`` centres spaced evenly from START to STOP, both included
        (``"420-720"`` on 31 bands: 420, 430, ..., 720 nm, the Harvard database's grid;
        ``"400-700"`` CAVE's); ``"450,550,650"``: one value per band, in the file's band order;
        or the path of a text file holding those values (separated by commas, spaces or
        lines, e.g. a column copied from a sensor's documentation).
    bands : int
        The cube's band count.

    Returns
    -------
    numpy.ndarray, float64, shape (bands,)
        Band centres in nm.

    Raises
    ------
    WavelengthError
        Text that is none of these forms, a count other than ``bands``, values that are not
        finite and positive, or values that look like micrometres (all below 100).
    """
    import os
    import re

    from hsi.check import check_wavelengths
    from hsi.errors import WavelengthError

    spec = text.strip()
    number = r"\d+(?:\.\d*)?"
    span = re.fullmatch(rf"({number})\s*-\s*({number})", spec)
    if span:
        start, stop = float(span.group(1)), float(span.group(2))
        if bands < 2 or start >= stop:
            raise WavelengthError(f"wavelengths {spec!r}: START-STOP needs START < STOP and at "
                                  f"least 2 bands (the cube has {bands})")
        values = np.linspace(start, stop, bands)
    else:
        source = spec
        if os.path.isfile(spec):
            with open(spec, encoding="utf-8") as f:
                source = f.read()
        items = [v for v in re.split(r"[\s,;]+", source.strip()) if v]
        try:
            values = np.asarray([float(v) for v in items], dtype=np.float64)
        except ValueError:
            raise WavelengthError(f"wavelengths {spec[:60]!r}: expected START-STOP (e.g. "
                                  f"420-720), numbers separated by commas, or a text file of "
                                  f"numbers") from None
    name = f"wavelengths {spec[:60]!r}"
    wl = check_wavelengths(values, bands, name=name)
    if float(wl.max()) < 100:  # as check_nanometres, worded for text
        raise WavelengthError(f"{name}: values below 100 look like micrometres; give "
                              f"nanometres (× 1000), e.g. 400-700")
    return wl
