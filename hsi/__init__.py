"""hsikit: hyperspectral cubes, sensor simulation, fusion and classification.

>>> import hsi
>>> cube = hsi.open("scene.hdr")            # doctest: +SKIP
>>> cube.shape                              # doctest: +SKIP
(204, 83, 86)
"""

from hsi import errors
from hsi._version import __version__ as __version__
from hsi.cube import Cube
from hsi.io import open, save  # `hsi.open` mirrors rasterio.open

__all__ = ["Cube", "errors", "open", "save"]
