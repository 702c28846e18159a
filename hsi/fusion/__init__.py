"""HSI–MSI fusion: INFN (implicit neural fusion network) and classical baselines.

>>> from hsi.fusion import fuse, check_pair
>>> from hsi.data import sample_cube
>>> from hsi.degrade import simulate_pair
>>> lr_hsi, hr_msi = simulate_pair(sample_cube(), 4, "sentinel2")
>>> hr_hsi = fuse(lr_hsi, hr_msi, method="infn")
>>> lr_hsi.shape, hr_msi.shape, hr_hsi.shape
((204, 20, 21), (12, 80, 84), (204, 80, 84))

The names below are loaded on first use (PEP 562), so importing a light submodule such as
:mod:`hsi.fusion.grid` or :mod:`hsi.fusion.scene` does not import torch: ``hsi fuse`` checks
its inputs and output before the fusion stack loads, and answers a bad call in a fraction of
a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hsi.lazy import lazy_attributes

if TYPE_CHECKING:
    from hsi.fusion.api import fuse
    from hsi.fusion.checkpoints import load_infn, save_infn
    from hsi.fusion.config import InfnConfig
    from hsi.fusion.fit import fit_scene
    from hsi.fusion.grid import check_pair
    from hsi.fusion.infn import INFN, model_cost
    from hsi.fusion.train import Augmentation, train_infn

#: Public name → the module that defines it.
_EXPORTS = {
    "INFN": "hsi.fusion.infn",
    "Augmentation": "hsi.fusion.train",
    "InfnConfig": "hsi.fusion.config",
    "check_pair": "hsi.fusion.grid",
    "fit_scene": "hsi.fusion.fit",
    "fuse": "hsi.fusion.api",
    "load_infn": "hsi.fusion.checkpoints",
    "model_cost": "hsi.fusion.infn",
    "save_infn": "hsi.fusion.checkpoints",
    "train_infn": "hsi.fusion.train",
}

__all__ = [
    "INFN",
    "Augmentation",
    "InfnConfig",
    "check_pair",
    "fit_scene",
    "fuse",
    "load_infn",
    "model_cost",
    "save_infn",
    "train_infn",
]


__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)
