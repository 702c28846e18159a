"""The hsikit dock widgets (Qt; loaded by napari through the manifest)."""

from hsi.viewer._widgets._band_math import BandMathWidget
from hsi.viewer._widgets._classify import ClassifyWidget
from hsi.viewer._widgets._cluster import ClusterWidget
from hsi.viewer._widgets._fuse import FuseWidget
from hsi.viewer._widgets._spectrum import SpectrumWidget
from hsi.viewer._widgets._true_colour import true_colour

__all__ = ["BandMathWidget", "ClassifyWidget", "ClusterWidget", "FuseWidget", "SpectrumWidget",
           "true_colour"]
