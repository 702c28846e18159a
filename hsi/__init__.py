"""hsikit: hyperspectral cubes, sensor simulation, fusion and classification.

>>> import hsi
>>> cube = hsi.open("scene.hdr")            # doctest: +SKIP
>>> cube.shape                              # doctest: +SKIP
(204, 83, 86)

The subpackages load on first use (PEP 562), so ``import hsi`` stays light (no torch) and
``hsi.fusion.fuse``, ``hsi.classification.train_classifier``, ``hsi.clustering.cluster``,
``hsi.metrics.psnr``, ``hsi.degrade.simulate_pair`` and ``hsi.data.load`` work after it alone.
"""

import importlib as _importlib

from hsi import errors
from hsi._version import __version__ as __version__
from hsi.interrupts import sigint_kept_from_new_threads as _sigint_kept_from_new_threads

with _sigint_kept_from_new_threads():  # numpy's OpenBLAS threads: Ctrl-C goes to the main one
    from hsi.cube import Cube
    from hsi.io import open, save  # `hsi.open` mirrors rasterio.open

__all__ = ["Cube", "errors", "open", "save"]

#: Subpackages reachable as attributes of ``hsi`` without importing them by name.
_SUBMODULES = ("classification", "clustering", "data", "degrade", "fusion", "labels", "metrics")


def __getattr__(name: str):
    if name in _SUBMODULES:
        return _importlib.import_module(f"hsi.{name}")  # the import sets it on the package
    raise AttributeError(f"module 'hsi' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_SUBMODULES})
