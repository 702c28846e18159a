"""Pieces of the one-line reprs of results (labels, reports, classifiers): summaries of
arrays and name lists, never their contents, so a notebook cell's echo stays one line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def array_summary(a: Any) -> str:
    """``"145×145 uint8"``: shape and dtype of ``a`` (numpy, dask or None), never its values."""
    if a is None:
        return "None"
    shape = "×".join(str(int(n)) for n in getattr(a, "shape", ()))
    return f"{shape} {np.dtype(a.dtype)}" if hasattr(a, "dtype") else shape


def names_summary(names: Sequence[str] | None, shown: int = 3) -> str:
    """``"6 classes ['a', 'b', 'c', …]"``: the count and the first ``shown`` names."""
    names = list(names or ())
    head = ", ".join(repr(str(n)) for n in names[:shown])
    more = ", …" if len(names) > shown else ""
    word = "class" if len(names) == 1 else "classes"
    return f"{len(names)} {word} [{head}{more}]"
