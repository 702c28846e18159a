"""Hyper-parameters of INFN (Implicit Neural Fusion Network) and of its training."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Base images INFN can add its residual to.
BASES = ("bicubic", "glp")
#: How the four neighbours' predictions are combined.
WEIGHTS = ("cosine", "learned", "area")
#: Upper bounds of the size fields: a checkpoint's config is refused before any allocation.
LIMITS = {"hsi_bands": 8192, "msi_bands": 1024, "hidden": 2048, "depth": 64, "mlp_layers": 32,
          "patch": 8192, "batch": 65536}


@dataclass
class InfnConfig:
    """INFN architecture and training hyper-parameters.

    Parameters
    ----------
    hsi_bands : int
        Bands of the LR-HSI (and of the output).
    msi_bands : int
        Bands of the HR-MSI.
    hidden : int
        Width of both encoders and of the implicit MLP.
    depth : int
        Residual conv blocks in each encoder (after the first conv).
    mlp_layers : int
        Hidden layers of the implicit MLP (the last linear layer maps to ``hsi_bands``).
    base : {"bicubic", "glp"}
        Image the predicted residual is added to: bicubic upsampling of the LR-HSI (as in the
        paper) or the GLP detail-injection estimate (see ``hsi.fusion.baselines.glp``).
    dhff_second_branch : bool
        Keep DHFF's LR-HSI high-frequency branch (``False`` is the ablation).
    weights : {"cosine", "learned", "area"}
        INR-CS cosine-similarity weights (no parameters), a learned weight MLP, or LIIF's
        area weights (ablations).
    base_features : int
        Channels of a 1×1 projection of the base image fed to the spatial encoder (0 = none).
    ratios : tuple of int
        Spatial ratios the model is trained for (it can be queried at others).
    patch : int
        HR training patch size in pixels (rounded down to a multiple of the ratio).
    batch : int
        Patches per training step.
    lr : float
        Adam learning rate (reached after a short linear warm-up,
        ``hsi.fusion.train.WARMUP_STEPS``, then cosine-annealed to ``lr / 20``).
    checkpoint_every : int
        Steps between checkpoints while training.
    """

    hsi_bands: int = 204
    msi_bands: int = 13
    hidden: int = 32
    depth: int = 2
    mlp_layers: int = 2
    base: str = "glp"
    dhff_second_branch: bool = True
    weights: str = "cosine"
    base_features: int = 16
    ratios: tuple = (4,)
    patch: int = 32
    batch: int = 8
    lr: float = 3e-4
    checkpoint_every: int = 200

    def __post_init__(self) -> None:
        from hsi.errors import ModelError

        if self.base not in BASES:
            raise ModelError(
                f"InfnConfig.base must be one of {', '.join(BASES)}, got {self.base!r}"
            )
        if self.weights not in WEIGHTS:
            raise ModelError(
                f"InfnConfig.weights must be one of {', '.join(WEIGHTS)}, got {self.weights!r}"
            )
        for name, top in LIMITS.items():  # checked before anything is allocated
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) \
                    or not 1 <= int(value) <= top:
                raise ModelError(f"InfnConfig.{name} must be an integer in 1..{top}, got "
                                 f"{value!r}")
        if not 0 <= int(self.base_features) <= LIMITS["hidden"]:
            raise ModelError(f"InfnConfig.base_features must be in 0..{LIMITS['hidden']}, got "
                             f"{self.base_features!r}")
        self.ratios = tuple(int(r) for r in self.ratios)
