"""The hsikit napari plugin (npe2 manifest ``napari.yaml``, plugin name ``hsikit``).

Readers for ENVI, GeoTIFF, ``.mat`` and CAVE PNG folders; writers for cubes and class maps;
sample data; Spectrum, True colour, Fuse and Classify widgets. Everything here is a thin layer
over :mod:`hsi`; napari and Qt are imported only by the modules napari loads, never by ``hsi``.
"""

from __future__ import annotations
