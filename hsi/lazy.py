"""Attributes of a module loaded on first use (PEP 562).

A package whose front door names heavy submodules (torch, Qt) gives them through
:func:`lazy_attributes`, so importing one light submodule, or the package for one name, does
not import the rest: ``hsi fuse`` and ``hsi classify`` check their arguments before torch
loads, and opening one napari dock does not import the others' dependencies.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(module: str, names: Mapping[str, str]
                    ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``module`` for ``names`` loaded on first use.

    Parameters
    ----------
    module : str
        The module's ``__name__``.
    names : mapping
        ``{attribute: module path defining it}`` (absolute, e.g. ``"hsi.fusion.api"``).

    Examples
    --------
    In a package's ``__init__.py``::

        __getattr__, __dir__ = lazy_attributes(__name__, {"fuse": "hsi.fusion.api"})
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(names[name]), name)
        setattr(sys.modules[module], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[module]), *names})

    return __getattr__, __dir__
