"""Choosing the torch device: CUDA when present, CPU otherwise."""

from __future__ import annotations

from hsi.errors import ConfigError, DeviceError


def pick_device(name: str = "auto"):
    """Return the ``torch.device`` for ``name``.

    Parameters
    ----------
    name : {"auto", "cpu", "cuda", "cuda:N"}
        ``"auto"`` picks CUDA when available, else CPU.

    Raises
    ------
    DeviceError
        When CUDA is asked for but not available (a ``RuntimeError``).
    ConfigError
        When the name is unknown (a ``ValueError``).
    """
    import torch

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
