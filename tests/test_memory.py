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


def test_release_free_memory_is_safe_to_call():
    limit_heap_growth()
    np.ones(10**6).sum()
    release_free_memory()
