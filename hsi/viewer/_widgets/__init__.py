"""The hsikit dock widgets (Qt; loaded by napari through the manifest).

Each widget is imported when first asked for, so that opening one dock does not import the
others' dependencies (matplotlib for the Spectrum dock) on the GUI thread.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = {
    "BandMathWidget": "_band_math",
    "ClassifyWidget": "_classify",
    "ClusterWidget": "_cluster",
    "FuseWidget": "_fuse",
    "SpectrumWidget": "_spectrum",
    "true_colour": "_true_colour",
}

__all__ = ["BandMathWidget", "ClassifyWidget", "ClusterWidget", "FuseWidget", "SpectrumWidget",
           "true_colour"]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
