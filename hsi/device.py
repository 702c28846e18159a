"""Choosing the torch device: CUDA when present, CPU otherwise."""

from __future__ import annotations

from hsi.errors import HsiError


def pick_device(name: str = "auto"):
    """Return the ``torch.device`` for ``name``.

    Parameters
    ----------
    name : {"auto", "cpu", "cuda", "cuda:N"}
        ``"auto"`` picks CUDA when available, else CPU.

    Raises
    ------
    HsiError
        When CUDA is asked for but not available, or the name is unknown.
    """
    import torch

    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise HsiError(
                f"device {name!r} asked for, but CUDA is not available here (use --device cpu)")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise HsiError(f"unknown device {name!r}: use auto, cpu or cuda")


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) for reproducible runs."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))  # noqa: NPY002 - seeds code that uses the legacy global RNG
    torch.manual_seed(seed)
