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
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

__all__ = ["check_allocation", "limit_heap_growth", "memory_budget", "release_free_memory"]

#: Environment variable: the most bytes one read may allocate (e.g. ``4e9``).
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
def _glibc():
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


def memory_budget() -> int:
    """The most bytes one array read from a file may take.

    ``$HSI_MEMORY_LIMIT`` (bytes, e.g. ``4e9``) when set, else half the memory available now
    (``MemAvailable`` of ``/proc/meminfo``; 4 GiB where that cannot be read).
    """
    env = os.environ.get(BUDGET_ENV)
    if env:
        try:
            return int(float(env))
        except ValueError:
            pass
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // 2
    except OSError:
        pass
    return 4 << 30


def check_allocation(nbytes: int, what: str) -> None:
    """Refuse to allocate ``nbytes`` for ``what`` when it exceeds :func:`memory_budget`.

    Called with sizes *declared* by a file (shapes in a header) before anything is decoded, so
    a small compressed file that claims a huge array fails at once.

    Raises
    ------
    hsi.errors.ResourceError
        When ``nbytes`` is over the budget (the message gives both sizes in MB).
    """
    from hsi.errors import ResourceError

    budget = memory_budget()
    if nbytes > budget:
        raise ResourceError(f"{what}: declares {nbytes / 1e6:,.0f} MB, over the memory budget of "
                            f"{budget / 1e6:,.0f} MB (set {BUDGET_ENV} to raise it)")
