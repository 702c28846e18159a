"""HSI–MSI fusion: INFN (implicit neural fusion network) and classical baselines.

>>> from hsi.fusion import fuse, check_pair
>>> hr_hsi = fuse(lr_hsi, hr_msi, method="infn")           # doctest: +SKIP
"""

from hsi.fusion.api import fuse
from hsi.fusion.checkpoints import load_infn, save_infn
from hsi.fusion.config import InfnConfig
from hsi.fusion.fit import fit_scene
from hsi.fusion.grid import check_pair
from hsi.fusion.infn import INFN, model_cost
from hsi.fusion.train import Augmentation, train_infn

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
