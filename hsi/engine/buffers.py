"""Buffers of a tiled pass, reused once their contents are no longer needed.

On CPU a tile's result (204 bands × 256² float32 = 53 MB for fusion) in fresh memory costs
page faults that take longer than the compute that fills it (measured: a 4096² GLP fusion
spent 15 of its 66 CPU-seconds in the kernel; with reused buffers 7.5). The writer hands
each buffer back once its tile is on disk, so a pass holds at most as many buffers as tiles
are in flight (:func:`hsi.engine.run_tiles`: three), plus the temporaries a model takes and
gives back within a tile (INFN's GLP base image).
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["BufferPool"]


class BufferPool:
    """Float32 tensors taken for a tile's arrays and given back once done with.

    A request is served by the smallest free buffer that holds it (its leading elements,
    viewed in the asked shape), so the edge tiles' smaller shapes reuse the buffers of the
    full tiles instead of keeping buffers of their own.

    >>> pool = BufferPool()
    >>> a = pool.take((2, 3))
    >>> pool.give(a)
    >>> pool.take((2, 3)).data_ptr() == a.data_ptr()
    True
    >>> pool.give(a)
    >>> pool.take((1, 4)).data_ptr() == a.data_ptr()  # smaller: the same memory
    True
    """

    def __init__(self) -> None:
        self._free: list[torch.Tensor] = []  # flat buffers
        self._lent: dict[int, torch.Tensor] = {}  # data pointer -> the flat buffer taken
        self._lock = threading.Lock()

    def take(self, shape: tuple[int, ...]) -> torch.Tensor:
        """A contiguous float32 CPU tensor of ``shape`` (uninitialised): a free buffer large
        enough, or a new one."""
        import torch

        shape = tuple(int(v) for v in shape)
        size = math.prod(shape)
        with self._lock:
            fits = [i for i, b in enumerate(self._free) if b.numel() >= size]
            flat = self._free.pop(min(fits, key=lambda i: self._free[i].numel())) if fits else None
        if flat is None:
            flat = torch.empty(size, dtype=torch.float32)
        with self._lock:
            self._lent[flat.data_ptr()] = flat
        return flat[:size].view(shape)

    def give(self, tensor: torch.Tensor) -> None:
        """Hand back a tensor :meth:`take` returned, or one sharing its memory (e.g.
        ``torch.from_numpy`` of its ``numpy()``); its contents are no longer needed."""
        with self._lock:
            flat = self._lent.pop(tensor.data_ptr(), None)
            self._free.append(flat if flat is not None else tensor.reshape(-1))
