"""Keep heavy work off napari's GUI thread: warm-up imports and blocking reads.

* :func:`warm_up` imports heavy modules (torch, dask) in a background thread when a dock opens,
  so that the job it later runs finds them imported. Torch's shared libraries are loaded first
  through ``dlopen`` called with the GIL released (:func:`preload_torch_libraries`): a plain
  ``import torch`` holds the GIL for the ~0.5 s that loading ``libtorch_cpu`` takes, which
  freezes the GUI even from another thread.
* :func:`call_off_gui` runs a blocking function (the reader opening a cube, which imports dask
  and reads bands) in a thread while the GUI thread keeps processing events, and returns its
  result as a plain call would. napari calls readers synchronously; this keeps the event loop
  (painting, timers) alive meanwhile. User input is held back until the call returns.

Nothing here imports Qt or napari at module level.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

#: Name of the threads started by :func:`warm_up` (not ``hsikit-job``: those are jobs).
WARM_UP_THREAD = "hsikit-import"
#: Name of the threads started by :func:`call_off_gui`.
CALL_THREAD = "hsikit-call"

#: torch's libraries in load order; the ones a build lacks are skipped.
_TORCH_LIBS = ("libtorch_global_deps", "libc10", "libtorch_cpu", "libc10_cuda", "libtorch_cuda",
               "libtorch", "libtorch_python")

_lock = threading.Lock()
_warming: dict[str, threading.Thread] = {}


def preload_torch_libraries() -> list[str]:
    """``dlopen`` torch's shared libraries with the GIL released (Linux and macOS).

    Returns
    -------
    list of str
        The libraries loaded (``[]`` when torch is imported already, absent, or on Windows).
    """
    if "torch" in sys.modules or os.name != "posix":
        return []
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return []
    if spec is None or spec.origin is None:
        return []
    import ctypes

    lib_dir = os.path.join(os.path.dirname(spec.origin), "lib")
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    try:
        libc = ctypes.CDLL(None)
        dlopen = libc.dlopen
    except (OSError, AttributeError):
        return []
    dlopen.restype = ctypes.c_void_p
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    loaded = []
    for name in _TORCH_LIBS:
        path = os.path.join(lib_dir, name + suffix)
        # a ctypes foreign call releases the GIL while the dynamic loader works; RTLD_LOCAL as
        # torch's own import uses (which then finds the libraries loaded)
        if os.path.exists(path) and dlopen(os.fsencode(path), os.RTLD_NOW | os.RTLD_LOCAL):
            loaded.append(name)
    return loaded


def _import_all(modules: tuple[str, ...]) -> None:
    for module in modules:
        if module in sys.modules:
            continue
        if module.split(".")[0] == "torch" or module.startswith("hsi."):
            preload_torch_libraries()  # hsi modules may import torch
        try:
            importlib.import_module(module)
        except Exception:  # the job that needs it reports the error
            return


def warm_up(modules: Iterable[str]) -> threading.Thread | None:
    """Import ``modules`` in a daemon thread unless already imported (or being imported).

    Parameters
    ----------
    modules : iterable of str
        Module names, e.g. ``("torch", "hsi.fusion")``; imported in order.

    Returns
    -------
    threading.Thread or None
        The importing thread, or ``None`` when there is nothing to import.
    """
    todo = tuple(m for m in modules if m not in sys.modules)
    if not todo:
        return None
    key = ",".join(todo)
    with _lock:
        thread = _warming.get(key)
        if thread is not None and thread.is_alive():
            return thread
        thread = threading.Thread(target=_import_all, args=(todo,), name=WARM_UP_THREAD,
                                  daemon=True)
        _warming[key] = thread
        thread.start()
    return thread


def _on_gui_thread() -> bool:
    """True when a Qt application exists and this is the main thread (napari's GUI thread)."""
    if "qtpy" not in sys.modules or threading.current_thread() is not threading.main_thread():
        return False
    from qtpy.QtCore import QCoreApplication

    return QCoreApplication.instance() is not None


def call_off_gui(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, run in a thread while the GUI thread keeps processing events.

    Off the GUI thread (or without a Qt application) this is a plain call. Exceptions raised by
    ``fn`` are raised here.
    """
    if not _on_gui_thread():
        return fn(*args, **kwargs)
    from qtpy.QtCore import QEventLoop, QTimer

    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # raised again on the GUI thread
            box["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=target, name=CALL_THREAD, daemon=True)
    thread.start()
    if not done.wait(0.02):
        loop = QEventLoop()
        timer = QTimer()
        timer.setInterval(15)
        timer.timeout.connect(lambda: done.is_set() and loop.quit())
        timer.start()
        flags = getattr(QEventLoop, "ProcessEventsFlag", QEventLoop)
        run = getattr(loop, "exec", None) or loop.exec_
        while not done.is_set():
            run(flags.ExcludeUserInputEvents)
        timer.stop()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
