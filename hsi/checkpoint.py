"""Model checkpoints: state dict, config dataclass and metadata.

Loadable with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from hsi.check import require_path
from hsi.errors import HsiIOError, ModelError
from hsi.io.atomic import atomic_path

if TYPE_CHECKING:
    import torch
    from _typeshed import DataclassInstance

#: A config dataclass, built back by :func:`config_from_dict`.
_Config = TypeVar("_Config", bound="DataclassInstance")

#: Bump when the layout of saved checkpoints changes.
FORMAT_VERSION = 1


def _plain(value: Any) -> Any:
    """Convert numpy values to lists/floats so ``torch.load(weights_only=True)`` accepts them."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def save_checkpoint(path: str | os.PathLike, *, kind: str, model: torch.nn.Module,
                    config: DataclassInstance, meta: dict) -> Path:
    """Write a checkpoint atomically.

    Parameters
    ----------
    path : path
        Destination ``.pt`` file.
    kind : str
        What the model is (``"infn"``, ``"gan"``...), checked on load.
    model : torch.nn.Module
        Its ``state_dict()`` is saved.
    config : dataclass instance
        Hyper-parameters; saved as a plain dict.
    meta : dict
        Sensor metadata, normalisation, class names... (numpy arrays become lists).

    Raises
    ------
    ArgumentTypeError
        ``path`` is not a path (e.g. ``None``).
    """
    import torch

    require_path(path, "checkpoint")

    payload = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "config": _plain(dataclasses.asdict(config)),
        "meta": _plain(meta),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def checkpoint_format_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be a torch checkpoint, judged from its first bytes without torch
    (a fraction of a millisecond, where importing torch takes about a second); ``None`` when
    it may be one.

    ``torch.save`` writes a zip archive; files from torch before 1.6 start with a pickle
    protocol byte. Anything else (a GeoTIFF given as ``--model``, an empty file) is not one.
    """
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        return "the file is empty"
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":
        return None
    return "torch.save writes a zip archive or a pickle, this file is neither"


def load_checkpoint(path: str | os.PathLike, kind: str) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Returns
    -------
    dict
        Keys ``format_version``, ``kind``, ``config`` (dict), ``meta`` (dict), ``state_dict``.

    Raises
    ------
    HsiIOError
        The file is missing or unreadable.
    ModelError
        The file is not an hsikit checkpoint of ``kind`` or has a newer format.
    ArgumentTypeError
        ``path`` is not a path (e.g. ``None``).
    """
    import torch

    require_path(path, "checkpoint")
    path = Path(path)
    if not path.is_file():
        raise HsiIOError(f"{path}: no such checkpoint file")
    why = checkpoint_format_problem(path)
    if why:
        raise ModelError(f"{path}: not a readable checkpoint ({why})")
    import warnings

    try:
        with warnings.catch_warnings():  # torch's own multi-line advice is not for our users
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        text = str(exc)
        if "GLOBAL" in text or "Unsupported global" in text:
            why = "it holds Python objects, not just weights, and is refused for safety"
        elif "WeightsUnpickler error:" in text:
            why = text.split("WeightsUnpickler error:", 1)[1].strip().splitlines()[0].strip()
        elif isinstance(exc, (EOFError, zipfile.BadZipFile)) or any(
                word in text for word in ("central directory", "corrupted", "zip archive",
                                          "unexpected EOF", "file read failed")):
            why = "the file is truncated or corrupted; train it again or restore a full copy"
        else:
            why = type(exc).__name__
        raise ModelError(f"{path}: not a readable checkpoint ({why})") from None
    if not isinstance(payload, dict) or "state_dict" not in payload or "kind" not in payload:
        raise ModelError(f"{path}: not an hsikit checkpoint")
    if payload["kind"] != kind:
        raise ModelError(f"{path}: holds {_kind_words(payload['kind'])}, expected {kind!r}: "
                         f"{_kind_words(kind)}")
    try:
        version = int(payload.get("format_version", 0))
    except (TypeError, ValueError):
        raise ModelError(f"{path}: malformed checkpoint (format_version "
                         f"{payload.get('format_version')!r} is not a number)") from None
    if version > FORMAT_VERSION:
        raise ModelError(
            f"{path}: checkpoint format {payload['format_version']} is newer than this hsikit "
            f"reads ({FORMAT_VERSION}); upgrade hsikit"
        )
    for key in ("config", "meta", "state_dict"):
        if not isinstance(payload.get(key), dict):
            what = "missing" if key not in payload else f"a {type(payload[key]).__name__}"
            raise ModelError(f"{path}: malformed checkpoint (its {key!r} is {what}, expected "
                             f"a mapping)")
    return payload


#: What each checkpoint ``kind`` is, in a user's words, and the command that writes it.
KIND_WORDS = {
    "infn": "an INFN fusion model (written by `hsi fusion train`)",
    "gan_crf_classifier": "a classifier (written by `hsi classify train`)",
}


def _kind_words(kind: Any) -> str:
    """``kind`` as a user reads it: ``"an INFN fusion model (written by `hsi fusion train`)"``."""
    return KIND_WORDS.get(kind, f"a {kind!r} model")


def config_from_dict(cls: type[_Config], values: dict,
                     source: str | os.PathLike | None = None) -> _Config:
    """Build dataclass ``cls`` from ``values``, tuples restored.

    A checkpoint's config may come from another hsikit version: a field this version does not
    know (a newer version's) is ignored and a field it lacks (an older version's) takes its
    default, each with one logged warning naming the fields. A value whose type differs from
    the field's default (text for a number...) is refused. The dataclass then validates its
    fields (sizes bounded) before any model is built.

    Raises
    ------
    ModelError
        When ``values`` is not a mapping or a field is invalid; prefixed with ``source``.
    """
    prefix = f"{source}: " if source is not None else ""
    if not isinstance(values, dict):
        raise ModelError(f"{prefix}checkpoint config is not a mapping")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    unknown = [str(k) for k in values if k not in fields]
    for k, v in values.items():
        if k in fields:
            v = tuple(v) if isinstance(v, list) else v
            _check_field_type(cls, fields[k], v, prefix)
            kwargs[k] = v
    missing = [name for name, f in fields.items() if name not in kwargs and f.init]
    log = logging.getLogger(__name__)
    if unknown:
        log.warning("%scheckpoint config field(s) %s unknown to this hsikit (written by a "
                    "newer version?): ignored", prefix, ", ".join(unknown))
    if missing:
        log.warning("%scheckpoint config lacks field(s) %s (written by an older hsikit?): "
                    "their defaults are used", prefix, ", ".join(missing))
    try:
        return cls(**kwargs)
    except (ModelError, TypeError, ValueError) as exc:
        raise ModelError(f"{prefix}{exc}") from None


def _check_field_type(cls: type[DataclassInstance], field: dataclasses.Field, value: Any,
                      prefix: str) -> None:
    """Refuse a config value of another kind than the field's default (``"x"`` for an int).

    Numbers accept numbers (an int where a float is expected), ``None`` is accepted where
    the default is ``None``; fields without a plain default are left to the dataclass.
    """
    default = field.default
    if default is dataclasses.MISSING or default is None:
        return
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if isinstance(default, int) and isinstance(value, float):
            ok = value.is_integer()
    elif isinstance(default, (str, tuple)):
        ok = isinstance(value, type(default))
    else:
        return
    if not ok:
        raise ModelError(f"{prefix}malformed checkpoint config: {cls.__name__}.{field.name} is "
                         f"{value!r}, expected {type(default).__name__} like {default!r}")
