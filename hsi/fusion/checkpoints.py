"""INFN checkpoints: writing and reading a model with its sensor metadata.

A checkpoint (:mod:`hsi.checkpoint`, ``torch.load(weights_only=True)``) holds the state dict,
the :class:`~hsi.fusion.config.InfnConfig` and ``meta``: ``hsi_wavelengths`` (nm),
``msi_bands``, ``srf`` (name), ``srf_matrix`` (msi × hsi), ``msi_wavelengths``, ``ratios``,
``normalisation``, and while training ``train_state`` (step, optimizer state) for resuming.

Training (:mod:`hsi.fusion.train`) and fusion (:mod:`hsi.fusion.api`) both import from here,
so neither imports the other.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from hsi.errors import ModelError
from hsi.fusion.config import InfnConfig
from hsi.fusion.infn import INFN

if TYPE_CHECKING:
    import torch

__all__ = ["load_infn", "save_infn"]


def save_infn(path: str | os.PathLike, model: INFN, *, meta: dict | None = None,
              train_state: dict | None = None) -> Path:
    """Write ``model`` (weights, config, ``meta`` or ``model.meta``) to ``path`` atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint (``.pt``) file; missing parent folders are created.
    model : INFN
        The model to write.
    meta : dict, optional
        Sensor metadata to store (default: ``model.meta``); its ``train_state`` and ``path``
        entries are not stored.
    train_state : dict, optional
        ``step``, ``optimizer`` state dict..., stored under ``meta["train_state"]`` for
        ``train_infn(resume_from=...)``; leave it out for a small checkpoint to ship.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ArgumentTypeError
        ``path`` is not a path (e.g. ``None``), or ``model`` is not an :class:`INFN`.
    """
    from hsi.checkpoint import save_checkpoint

    if not isinstance(model, INFN):
        from hsi.errors import ArgumentTypeError

        raise ArgumentTypeError(f"model: expected an INFN, got {type(model).__name__}")

    meta = dict(model.meta if meta is None else meta)
    meta.pop("train_state", None)
    meta.pop("path", None)  # where it was loaded from: not part of the model
    if train_state is not None:
        meta["train_state"] = train_state
    return save_checkpoint(path, kind="infn", model=model, config=model.config, meta=meta)


def load_infn(path: str | os.PathLike, device: str | torch.device = "cpu") -> INFN:
    """Load an INFN checkpoint (``weights_only=True``) into an eval-mode model.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint (``.pt``) file.
    device : str or torch.device
        Where the model's weights are placed: ``"cpu"`` (default), ``"cuda"``, ``"cuda:N"``
        or ``"auto"`` (:func:`hsi.device.pick_device`).

    Returns
    -------
    INFN
        With ``.meta`` holding the sensor metadata (``train_state`` dropped) and
        ``.meta["path"]`` the file it came from.

    Raises
    ------
    HsiIOError
        Missing file.
    ModelError
        Not an INFN checkpoint, or weights that do not fit its config.
    ArgumentTypeError
        ``path`` is not a path (e.g. ``None``).
    ConfigError
        ``device`` is not a device name.
    DeviceError
        ``device`` asks for CUDA on a machine without it.
    """
    from hsi.checkpoint import config_from_dict, load_checkpoint
    from hsi.device import pick_device

    ckpt = load_checkpoint(path, "infn")
    config = config_from_dict(InfnConfig, ckpt["config"], path)
    model = INFN(config)
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ModelError(f"{path}: weights do not match its config ({first})") from None
    meta = dict(ckpt.get("meta") or {})
    meta.pop("train_state", None)
    meta["path"] = str(path)
    model.meta = meta
    return model.to(pick_device(device)).eval()
