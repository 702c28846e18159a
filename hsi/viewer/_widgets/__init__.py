"""The hsikit dock widgets (Qt; loaded by napari through the manifest).

Each widget is imported when first asked for, so that opening one dock does not import the
others' dependencies (matplotlib for the Spectrum dock) on the GUI thread.
"""

from __future__ import annotations

from hsi.lazy import lazy_attributes

_MODULES = {
    "BandMathWidget": "hsi.viewer._widgets._band_math",
    "ClassifyWidget": "hsi.viewer._widgets._classify",
    "ClusterWidget": "hsi.viewer._widgets._cluster",
    "FuseWidget": "hsi.viewer._widgets._fuse",
    "SpectrumWidget": "hsi.viewer._widgets._spectrum",
    "true_colour": "hsi.viewer._widgets._true_colour",
}

__all__ = ["BandMathWidget", "ClassifyWidget", "ClusterWidget", "FuseWidget", "SpectrumWidget",
           "true_colour"]


__getattr__, __dir__ = lazy_attributes(__name__, _MODULES)
