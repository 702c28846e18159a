"""Ctrl-C held back over the few steps that must not be cut in two.

Python raises ``KeyboardInterrupt`` in the main thread between any two bytecodes. Two places
must not be split that way: renaming the files of one result into place (several files are
all or none) and stopping the threads of a tiled job before the files they read and write are
closed (a GDAL dataset closed under a thread still using it aborts the process).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["interrupts_deferred", "sigint_kept_from_new_threads"]


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT until the block ends, then raise the ``KeyboardInterrupt`` it would have.

    Outside the main thread (where signals are never delivered) and when SIGINT is not
    handled by Python's default handler (ignored, or a caller's own), the block runs as it
    is.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if received:
        raise KeyboardInterrupt


@contextlib.contextmanager
def sigint_kept_from_new_threads() -> Iterator[None]:
    """Block SIGINT in this thread over the block, so threads started in it block it for good.

    A native library's thread pool (OpenBLAS starts one when numpy is imported) inherits the
    signal mask of the thread that started it. With SIGINT blocked there, the kernel delivers a
    Ctrl-C to the main thread, where Python handles it. Otherwise it may pick a pool thread,
    and when SIGINT's action is "ignore" for a moment (while a batch starts its worker
    processes, :func:`hsi.batch._workers_ignore_sigint`) the Ctrl-C is lost instead of kept
    pending for the main thread. A Ctrl-C during the block itself is raised when it ends.
    Without ``pthread_sigmask`` (Windows) the block runs as it is.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
