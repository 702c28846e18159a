"""Process memory: keep the C heap from holding on to freed tile buffers (glibc only).

Scene-scale work allocates and frees tile-sized arrays (megabytes each) from several threads
(reading, fusing, compressing). With glibc's defaults every thread gets its own heap arena and
the threshold above which a buffer is memory-mapped (and so given back to the system when
freed) rises with the largest buffer freed so far; freed tile buffers then stay in the
process as fragmented heap, and the peak resident memory creeps up with the number of tiles
rather than staying at what one tile needs. :func:`limit_heap_growth` fixes both settings,
and keeps a bounded amount of freed heap for the next tile (fixing the threshold also fixes
how much free heap glibc keeps, at 128 kB: every tile's temporaries were then faulted in
anew); :func:`release_free_memory` hands freed heap back after a pass over the scene.

The memory budget (:func:`memory_budget`, ``HSI_MEMORY_LIMIT``) bounds what one read from a
file may take; :func:`check_allocation` says which reads are checked against it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dask.array as da
    import numpy as np

__all__ = ["budget_setting", "check_allocation", "check_load", "format_size", "limit_heap_growth",
           "memory_budget", "parse_size", "release_free_memory"]

#: Environment variable: the most bytes one read may allocate (e.g. ``4e9``, ``500M``, ``2GiB``;
#: :func:`parse_size`).
BUDGET_ENV = "HSI_MEMORY_LIMIT"

#: ``mallopt`` parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
#: Buffers at least this large are memory-mapped, so freeing them returns them to the system;
#: smaller ones are reused from the heap. 16 MB by measurement (``hsi fuse --method glp``,
#: 204 bands, 2 cores): at 1 MB the page faults of the megabyte-sized per-tile arrays took
#: 19.6 of 74.7 CPU-seconds at 4096² (7.0 of 58.4 at 16 MB), while the peak memory stays
#: flat (×1.42 from 512² to 4096²).
MMAP_THRESHOLD_BYTES = 16 << 20
#: Free memory at the top of a heap kept for reuse instead of handed back to the system.
#: Setting the mmap threshold fixes glibc's trim threshold at its 128 kB default, so every
#: tile's temporaries were given back and faulted in again: a 2048² × 204-band
#: ``hsi fuse --method glp`` took 1.7-2.0 million page faults and 4.5-5.8 s of system time
#: (11.2-12.5 s wall); with 64 MB, 0.25-0.30 million, 2.1-2.9 s (9.7-10.6 s wall), the same
#: peak memory (16 MB: 0.5 million faults; 256 MB and 1 GB: as 64 MB).
TRIM_THRESHOLD_BYTES = 64 << 20
#: Heap arenas shared by all threads.
ARENA_MAX = 2


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt, libc.malloc_trim  # noqa: B018 (glibc only)
    except (OSError, AttributeError, TypeError):
        return None
    return libc


@functools.cache
def limit_heap_growth() -> bool:
    """Memory-map buffers of :data:`MMAP_THRESHOLD_BYTES` and more, keep up to
    :data:`TRIM_THRESHOLD_BYTES` of freed heap for reuse and use at most two heap arenas (once
    per process).

    Returns
    -------
    bool
        ``True`` when the settings were applied (glibc), ``False`` elsewhere (a no-op).
    """
    libc = _glibc()
    if libc is None:
        return False
    return all(bool(libc.mallopt(param, value)) for param, value in (
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
        (_M_ARENA_MAX, ARENA_MAX)))


def release_free_memory() -> None:
    """Give freed heap memory back to the system (``malloc_trim``; no-op without glibc)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


#: Units of :data:`BUDGET_ENV` (lower case): powers of 1000 (``k``, ``kB``...) and of 1024
#: (``KiB``...).
SIZE_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9,
              "gb": 10**9, "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20,
              "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"\s*((?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*([a-z]*)\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes written as a number with an optional unit, e.g. ``4e9``, ``500M``, ``2GiB``.

    Units (any case, a space before them allowed): ``B``; ``k``/``kB``, ``M``/``MB``,
    ``G``/``GB``, ``T``/``TB`` (powers of 1000); ``KiB``, ``MiB``, ``GiB``, ``TiB`` (powers
    of 1024). Fractions are rounded down to whole bytes.

    Raises
    ------
    hsi.errors.ConfigError
        Not of that form, or under one byte (the message names :data:`BUDGET_ENV`).
    """
    from hsi.errors import ConfigError

    match = _SIZE.fullmatch(text)
    unit = match.group(2).lower() if match else None
    value = float(match.group(1)) * SIZE_UNITS[unit] if unit in SIZE_UNITS else math.nan
    if not (math.isfinite(value) and value >= 1):
        raise ConfigError(f"{BUDGET_ENV}={text!r}: expected a positive number of bytes, "
                          "optionally with a unit: k, M, G, T (or kB, MB, GB, TB: powers of "
                          "1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 4e9, 500M, 2GiB")
    return int(value)


def budget_setting() -> int | None:
    """:data:`BUDGET_ENV` in bytes (:func:`parse_size`), or ``None`` when unset or empty.

    Raises
    ------
    hsi.errors.ConfigError
        When it is set to anything else than a positive size: never ignored.
    """
    env = os.environ.get(BUDGET_ENV, "")
    return parse_size(env) if env.strip() else None


def memory_budget() -> int:
    """The most bytes one array read from a file may take.

    ``$HSI_MEMORY_LIMIT`` when set (:func:`parse_size`: bytes, e.g. ``4e9``, or with a unit,
    ``500M``, ``2GiB``), else half the memory available now (``MemAvailable`` of
    ``/proc/meminfo``; 4 GiB where that cannot be read).

    Raises
    ------
    hsi.errors.ConfigError
        When ``$HSI_MEMORY_LIMIT`` is set but is not a positive size.
    """
    setting = budget_setting()
    if setting is not None:
        return setting
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // 2
    except OSError:
        pass
    return 4 << 30


def format_size(nbytes: int) -> str:
    """``nbytes`` for people: ``999 bytes``, ``80.0 kB``, ``5.48 MB``, ``17.0 GB`` (powers of
    1000, three significant digits)."""
    if nbytes < 1000:
        return f"{nbytes:,} byte{'s' if nbytes != 1 else ''}"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12)):
        value = nbytes / scale
        text = f"{value:.{2 if value < 10 else 1 if value < 100 else 0}f} {unit}"
        if float(text.split()[0]) < 1000:
            break
    return text


def check_allocation(nbytes: int, what: str) -> None:
    """Refuse to allocate ``nbytes`` for ``what`` when it exceeds :func:`memory_budget`.

    Called with sizes *declared* by a file (shapes in a header) before anything is decoded, so
    a small compressed file that claims a huge array fails at once.

    Which reads are checked: every array read from a file into memory, at its own size,
    before it is read. A whole cube loaded at once (an eager :func:`hsi.io.open`, which
    ``hsi.open`` does for GeoTIFF/ENVI files up to 512 MB and always for ``.mat``;
    :meth:`hsi.cube.Cube.compute`; :func:`hsi.cube.missing_as_nan` of a lazy cube, as
    ``hsi metrics`` does with both cubes; the row blocks of
    :func:`hsi.clustering.features.pixel_features`, which up to 64 MB are the whole cube, as
    in the whole-scene path of ``hsi cluster``) is checked at the cube's size; a window, tile
    or row block read by a tiled command (:func:`hsi.io.indexing.load_window`) at that
    window's size, so a scene larger than the budget is processed when its tiles fit. Reading
    a header only (``hsi info``, a lazy open) is not checked.

    Raises
    ------
    hsi.errors.ResourceError
        When ``nbytes`` is over the budget (the message gives both sizes, :func:`format_size`;
        in bytes when they read the same rounded).
    hsi.errors.ConfigError
        When ``$HSI_MEMORY_LIMIT`` is not a valid size (:func:`parse_size`).
    """
    from hsi.errors import ResourceError

    budget = memory_budget()
    if nbytes > budget:
        need, have = format_size(nbytes), format_size(budget)
        if need == have:
            need, have = f"{nbytes:,} bytes", f"{budget:,} bytes"
        raise ResourceError(f"{what}: declares {need}, over the memory budget of {have} "
                            f"(set {BUDGET_ENV} to raise it)")


def check_load(data: np.ndarray | da.Array, what: str | None = None, *, shape: tuple | None = None,
               itemsize: int | None = None) -> None:
    """:func:`check_allocation` before lazy ``data`` (a dask array) is read into memory.

    Parameters
    ----------
    data : array-like
        A numpy array is in memory already: nothing is checked.
    what : str, optional
        What the message names; default the file the lazy array reads (its file view's path,
        :func:`hsi.io.indexing.file_view`), else ``"cube"``.
    shape : tuple, optional
        The part of ``data`` that will be read at once (default: all of it).
    itemsize : int, optional
        Bytes per value of the array made (default ``data``'s).
    """
    import numpy as np

    if isinstance(data, np.ndarray) or getattr(data, "dask", None) is None:
        return
    if what is None:
        from hsi.io.indexing import file_view

        what = str(getattr(file_view(data), "path", "") or "cube")
    shape = tuple(data.shape) if shape is None else tuple(shape)
    itemsize = np.dtype(data.dtype).itemsize if itemsize is None else int(itemsize)
    check_allocation(math.prod(int(n) for n in shape) * itemsize, what)
