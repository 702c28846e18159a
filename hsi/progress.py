"""Progress callbacks of long jobs (training, scene fitting, fusion) and their cancellation.

A long hsikit function takes ``callback=`` (a :data:`ProgressCallback`) and calls it as
``callback(done, total)`` as it goes: ``done`` never decreases and ends at ``total`` when the
job completes. Returning ``True`` asks the job to stop: it raises :class:`hsi.errors.Cancelled`
at once, writing nothing half-done (files are written atomically).

>>> def callback(done, total):
...     print(f"{done}/{total}")
...     return stop_requested.is_set()                           # doctest: +SKIP
>>> fuse(lr, msi, fit_scene=True, callback=callback)             # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable

from hsi.errors import Cancelled

#: ``callback(done_steps, total_steps) -> True`` to cancel (``None``/``False`` to go on).
ProgressCallback = Callable[[int, int], "bool | None"]

__all__ = ["ProgressCallback", "report_progress"]


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
