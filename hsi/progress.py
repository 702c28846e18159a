"""Progress callbacks of long jobs (training, scene fitting, fusion) and their cancellation.

A long hsikit function takes ``callback=`` (a :data:`ProgressCallback`) and calls it as
``callback(done, total)`` as it goes: ``done`` never decreases and ends at ``total`` when the
job completes. Returning ``True`` asks the job to stop: it raises :class:`hsi.errors.Cancelled`
at once, writing nothing half-done (files are written atomically).

>>> import threading
>>> from hsi.data import sample_cube
>>> from hsi.degrade import simulate_pair
>>> from hsi.fusion import fuse
>>> lr, msi = simulate_pair(sample_cube(), 4, "sentinel2")
>>> stop_requested = threading.Event()                # set from elsewhere to cancel
>>> def callback(done, total):
...     print(f"{done}/{total}")
...     return stop_requested.is_set()
>>> hr = fuse(lr, msi, fit_scene=True, fit_steps=5, callback=callback)  # a short fit
0/6
1/6
...
6/6
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from hsi.errors import Cancelled

if TYPE_CHECKING:
    from tqdm.auto import tqdm

#: ``callback(done_steps, total_steps) -> True`` to cancel (``None``/``False`` to go on).
ProgressCallback = Callable[[int, int], "bool | None"]

__all__ = ["LOG_INTERVAL_S", "ProgressCallback", "progress_bar", "report_progress"]


def report_progress(callback: ProgressCallback | None, done: int, total: int,
                    what: str = "job") -> None:
    """Call ``callback(done, total)`` if given; raise :class:`Cancelled` when it returns True.

    Parameters
    ----------
    callback : callable or None
        The caller's progress callback.
    done, total : int
        Steps done so far and steps in all.
    what : str
        Name of the job in the :class:`Cancelled` message.

    Raises
    ------
    Cancelled
        When ``callback`` returns ``True``.
    """
    if callback is not None and callback(int(done), int(total)):
        raise Cancelled(f"{what} cancelled after {int(done)} of {int(total)} steps")


#: Seconds between the updates of a progress bar written to a log file or a pipe (stderr not
#: a terminal): a line every half minute instead of up to ten a second (a 1-minute training
#: wrote 44 kB of bars to a log; an hour would write megabytes).
LOG_INTERVAL_S = 30.0


def progress_bar(iterable: Iterable | None = None, **kwargs: Any) -> tqdm:
    """The progress bar of every long loop: :func:`tqdm.auto.tqdm` on stderr.

    On a terminal or in a notebook it refreshes as tqdm does; written to anything else (a
    log file, a pipe, a batch worker's output) it refreshes every :data:`LOG_INTERVAL_S`.
    ``TQDM_DISABLE=1`` in the environment turns every bar off.

    Parameters
    ----------
    iterable : iterable, optional
    **kwargs
        tqdm's (``total``, ``desc``, ``unit``, ``disable``, ``leave``, ``initial``, ...).

    Returns
    -------
    tqdm.auto.tqdm
    """
    import os

    from tqdm.auto import tqdm

    if os.environ.get("TQDM_DISABLE", "").strip().lower() in ("1", "true", "yes"):
        kwargs["disable"] = True  # tqdm's own switch, which an explicit disable= overrode
    stream = kwargs.setdefault("file", sys.stderr)
    isatty = getattr(stream, "isatty", None)
    if not (isatty is not None and isatty()) and "ipykernel" not in sys.modules:
        kwargs.setdefault("mininterval", LOG_INTERVAL_S)
    return tqdm(iterable, **kwargs)
