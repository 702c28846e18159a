"""Choosing the torch device: CUDA when present, CPU otherwise."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from hsi.errors import ConfigError, DeviceError

if TYPE_CHECKING:
    import torch

#: CPU threads torch uses to train the small networks (the classifier's GAN): each step is a
#: few small convolutions, too little work to share, and with a second OpenMP thread a busy
#: CPU makes every step wait for a descheduled thread (``cpu_threads``).
SMALL_MODEL_THREADS = 1


def pick_device(name: str | torch.device | None = "auto") -> torch.device:
    """Return the ``torch.device`` for ``name``: the one way every function turns its
    ``device`` argument into a device.

    Parameters
    ----------
    name : {"auto", "cpu", "cuda", "cuda:N"}, torch.device or None
        ``"auto"`` (or ``None``) picks CUDA when available, else CPU; a ``torch.device`` is
        checked as its name is.

    Raises
    ------
    DeviceError
        When CUDA is asked for but not available (a ``RuntimeError``).
    ConfigError
        When the name is unknown, or ``name`` is neither a string nor a ``torch.device``
        (a ``ValueError``).
    """
    import torch

    if isinstance(name, torch.device):
        name = str(name)
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"device: expected 'auto', 'cpu', 'cuda', 'cuda:N' or a "
                          f"torch.device, got {name!r}")
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {name!r} asked for, but CUDA is not available here (use device='cpu')")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise ConfigError(f"unknown device {name!r}: expected 'auto', 'cpu', 'cuda' or 'cuda:N'")


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) for reproducible runs."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))  # noqa: NPY002 - seeds code that uses the legacy global RNG
    torch.manual_seed(seed)


@contextlib.contextmanager
def cpu_threads(n: int, device: str | torch.device | None = None) -> Iterator[None]:
    """Run the block with torch using at most ``n`` CPU threads, restored afterwards.

    For small networks on a CPU: measured on the 2-core CPU with another process busy on one
    core, training the classifier on Salinas-A took 12 s with 1 thread and 511 s with 2 (each
    step's OpenMP barrier waits for the descheduled thread); on the idle machine 13.3 s and
    12.9 s. INFN scene fitting (150 steps): 7.0 vs 106 s busy, 7.3 vs 5.7 s idle; Dink-Net
    8.9 vs 68.9 s busy, 7.2 vs 6.0 s idle. One thread gives up at most ~30 % on an idle
    machine to avoid a 10-40× slowdown on a busy one. Nothing changes on CUDA
    (``device`` of type ``"cuda"``) or when torch already uses ``n`` threads or fewer.
    """
    import torch

    before = torch.get_num_threads()
    if isinstance(device, str) and device.lower() == "auto":
        device = pick_device(device)
    on_cpu = device is None or torch.device(device).type == "cpu"
    if on_cpu and before > n:
        torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
