"""Heap settings for scene-scale work (glibc)."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

import numpy as np
import pytest

from hsi.memory import limit_heap_growth, release_free_memory

GLIBC = sys.platform.startswith("linux") and ctypes.util.find_library("c") is not None


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_freed_tile_buffers_go_back_to_the_system():
    """After limit_heap_growth, freeing many 32 MB buffers made by a thread returns them.

    Without it, glibc raises its memory-map threshold as buffers are freed and keeps such
    buffers as heap of the thread's arena (measured with glibc 2.36).
    """
    code = """
import threading, numpy as np
from hsi.memory import limit_heap_growth
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20
assert limit_heap_growth()
before = rss()
def work():
    big = np.ones(2**25, np.float32); del big  # 128 MB freed: raises glibc's threshold
    bufs = [np.ones(2**23, np.float32) for _ in range(16)]  # 16 x 32 MB, touched
    del bufs
t = threading.Thread(target=work); t.start(); t.join()
print(rss() - before)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert float(out.stdout.strip()) < 50  # MB kept of the 512 MB allocated


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_freed_heap_memory_is_reused_without_page_faults():
    """A tile-sized temporary under the mmap threshold, freed and made again, reuses the same
    pages: the heap's free top is kept (``TRIM_THRESHOLD_BYTES``), not handed back and faulted
    in again each time (glibc's 128 kB default: ~24,000 faults for these 50 buffers)."""
    code = """
import resource, numpy as np
from hsi.memory import limit_heap_growth
assert limit_heap_growth()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
a = np.ones(2**21, np.float32); del a
before = faults()
for _ in range(50):
    a = np.ones(2**21, np.float32)  # 8 MB: under the mmap threshold, from the heap
    del a
print(faults() - before)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert int(out.stdout.strip()) < 2048  # fewer than one 8 MB buffer's pages


def test_release_free_memory_is_safe_to_call():
    limit_heap_growth()
    np.ones(10**6).sum()
    release_free_memory()
