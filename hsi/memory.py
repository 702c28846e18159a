"""Process memory: keep the C heap from holding on to freed tile buffers (glibc only).

Scene-scale work allocates and frees tile-sized arrays (megabytes each) from several threads
(reading, fusing, compressing). With glibc's defaults every thread gets its own heap arena and
the threshold above which a buffer is memory-mapped (and so given back to the system when
freed) rises with the largest buffer freed so far; freed tile buffers then stay in the
process as fragmented heap, and the peak resident memory creeps up with the number of tiles
rather than staying at what one tile needs. :func:`limit_heap_growth` fixes both settings;
:func:`release_free_memory` hands freed heap back after a pass over the scene.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["limit_heap_growth", "release_free_memory"]

#: ``mallopt`` parameters (glibc's malloc.h).
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
#: Buffers at least this large are memory-mapped, so freeing them returns them to the system.
MMAP_THRESHOLD_BYTES = 1 << 20
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
    """Memory-map buffers of 1 MB and more and use at most two heap arenas (once per process).

    Returns
    -------
    bool
        ``True`` when the settings were applied (glibc), ``False`` elsewhere (a no-op).
    """
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        libc.mallopt(_M_ARENA_MAX, ARENA_MAX))


def release_free_memory() -> None:
    """Give freed heap memory back to the system (``malloc_trim``; no-op without glibc)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
