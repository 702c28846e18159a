"""Output buffers of a tiled pass, reused once written.

On CPU a tile's result (204 bands × 256² float32 = 53 MB for fusion) in fresh memory costs
page faults that take longer than the compute that fills it (measured: a 4096² GLP fusion
spent 15 of its 66 CPU-seconds in the kernel; with reused buffers 7.5). The writer hands
each buffer back once its tile is on disk, so a pass holds at most as many buffers as tiles
are in flight (:func:`hsi.engine.run_tiles`: three).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["BufferPool"]


class BufferPool:
    """Tensors of given shapes, taken for a tile's result and given back once it is written.

    >>> pool = BufferPool()
    >>> a = pool.take((2, 3))
    >>> pool.give(a)
    >>> pool.take((2, 3)) is a
    True
    """

    def __init__(self) -> None:
        self._free: dict[tuple[int, ...], list[torch.Tensor]] = {}
        self._lock = threading.Lock()

    def take(self, shape: tuple[int, ...]) -> torch.Tensor:
        """A free float32 CPU tensor of ``shape`` (uninitialised), new when none is free."""
        import torch

        shape = tuple(int(v) for v in shape)
        with self._lock:
            free = self._free.get(shape)
            if free:
                return free.pop()
        return torch.empty(shape, dtype=torch.float32)

    def give(self, tensor: torch.Tensor) -> None:
        """Hand ``tensor`` back for reuse (its contents are no longer needed)."""
        with self._lock:
            self._free.setdefault(tuple(tensor.shape), []).append(tensor)
