"""Hyper-parameters of the spectral-spatial GAN + dense-CRF classifier."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from hsi.check import is_whole_number
from hsi.errors import ConfigError

#: Values of :attr:`GanConfig.pretrain`.
PRETRAIN_METHODS = ("none", "contrastive")
#: Values of :attr:`GanConfig.spectra`.
SPECTRA = ("raw", "shape")
#: Values of :attr:`GanConfig.crf_select`.
CRF_SELECTION = ("cv", "fixed")
#: Values of :attr:`GanConfig.patch_select`.
PATCH_SELECTION = ("cv", "fixed")

#: Integer fields of :class:`GanConfig` → their least value (upper bounds are checked apart).
_WHOLE_FIELDS = {"n_components": 1, "noise_dim": 1, "width": 1, "epochs": 1,
                 "min_steps": 0, "batch_size": 1, "members": 1, "pretrain_steps": 1,
                 "crf_iterations": 0, "crf_components": 1, "crf_folds": 2}
#: Real fields → (low, high or None, whether ``low`` is allowed); ``high`` is never allowed.
_REAL_FIELDS = {"dropout": (0.0, 1.0, True), "ema_decay": (0.0, 1.0, True),
                "lr": (0.0, None, False),
                "weight_decay": (0.0, None, True), "unsup_weight": (0.0, None, True),
                "crf_gaussian_sxy": (0.0, None, False), "crf_gaussian_weight": (0.0, None, True),
                "crf_bilateral_sxy": (0.0, None, False),
                "crf_bilateral_schan": (0.0, None, False),
                "crf_bilateral_weight": (0.0, None, True)}


def _in_range(value: object, low: float, high: float | None, closed: bool) -> bool:
    """Whether ``value`` is a finite real number (not a bool) above ``low`` (or equal when
    ``closed``) and below ``high``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not np.isfinite(value):
        return False
    return (value >= low if closed else value > low) and (high is None or value < high)


@dataclass
class GanConfig:
    """Everything that defines a classifier besides its weights.

    Parameters
    ----------
    n_components : int
        PCA components kept from the spectra (fitted on the training scene). In
        ``benchmarks/classification.py`` (5 labels/class, 4 scenes × 2 splits × 5 seeds, mean
        OA over the 8 scene/split rows) 20 components scored 78.3 against 76.9 for 10 (and
        75.1 for patch size 5). With 20, a short run on a small crop could collapse (2 epochs
        = 84 steps on a 42 × 64 Salinas-A crop: OA 39.0 and 89.9 for seeds 0 and 1, against
        84.8 and 93.9 with 10); ``min_steps`` fixes that (336 steps: 99.1 and 98.8).
    spectra : str
        What the PCA sees. ``"shape"`` (default): each spectrum divided by its Euclidean norm
        (its shape; shading, slope and illumination only scale a spectrum), and the
        standardised log of that norm as one more channel after the components, so brightness
        is one feature instead of the main variance of every component. ``"raw"``: the
        spectra as they are (checkpoints from before this option). On the benchmark's
        tuning splits (seeds 10-12, 8 scene/split rows) "shape" scored 78.6 % mean OA against
        77.4 for "raw" (``benchmarks/RESULTS.md``, 2026-12-03).
    patch_size : int
        Side of the square spectral-spatial window around each pixel (odd; 1 is the pixel
        alone); with ``patch_select="cv"`` the largest window tried. Its radius
        ``patch_size // 2`` is also the margin of spatially disjoint splits.
    patch_select : str
        ``"cv"`` (default): before training, the window is chosen among the odd sides from 1
        (the pixel alone) to ``patch_size`` from the training labels only
        (:func:`hsi.classification.context.select_patch_size`: repeated stratified 5-fold CV
        of an RBF-SVM on the PCA features at the pixel vs averaged over each window; a larger
        window is kept only when it scores strictly higher); the chosen size replaces
        ``patch_size`` in the trained classifier's config. On the tuning splits (seeds 10-15, 5
        labels/class, both split kinds) the rule kept the window on Indian Pines in 12 of 12
        splits, chose the pixel on Samson in 12 of 12 and on Jasper Ridge in 9 of 12, and the
        window on Salinas-A in 6 of 12; with one discriminator the GAN at patch 1 against 3
        scored 94.3 / 89.1 vs 93.3 / 86.8 % OA on Samson and 91.5 / 89.6 vs 86.7 / 85.3 on
        Jasper Ridge (random / spatial, seeds 10-12). Offering 5 as well (``patch_size=5``)
        lifted Indian Pines by +1.6 OA on average but cost one Jasper Ridge split 10 points
        (5 chosen where 3 had been): the mean over the 24 tuning rows was unchanged (81.2 %,
        seeds 10-12, RESULTS.md 2026-12-03), so the default stays 3. ``"fixed"``:
        ``patch_size`` as given.
    noise_dim : int
        Length of the generator's noise vector.
    width : int
        Channels of the first discriminator / last generator hidden layer.
    dropout : float
        Dropout in the discriminator (it is what keeps it from memorising 5 labels per class).
    epochs : int
        Passes over the scene's unlabelled pixels (one step per ``batch_size`` pixels).
    min_steps : int
        Training steps at least, whatever the scene's size: a small scene's epochs are
        lengthened (pixels are drawn with replacement), so a crop trains as well as a scene.
    batch_size : int
        Pixels per step, for each of the labelled, unlabelled and generated batches.
    lr : float
        Adam learning rate of both networks.
    weight_decay : float
        L2 penalty on the discriminator.
    unsup_weight : float
        Weight of the two unsupervised terms (real is not fake, generated is fake). With
        ``noise_dim`` 64 and ``ema_decay`` 0.99 chosen on the tuning splits (seeds 10-15):
        weight 1 and noise 32 scored below the same discriminator trained on the labels only
        (76.5-76.9 vs 78.2 % mean OA), weight 0.3 + noise 64 + EMA above it (78.5 vs 77.9).
    ema_decay : float
        The discriminator returned is the exponential moving average of its weights over
        the training steps with this decay (0: the last weights).
    members : int
        Discriminators trained alike from seeds ``seed + 1000 j``; the classifier averages
        their class probabilities (``members`` times the training time, the CRF
        cross-validation's folds included). 3 against 1: 79.7 vs 78.6 % mean OA on the tuning
        splits (seeds 10-12), 81.1 vs 80.1 on the benchmark's (seeds 0-4). 5 against 3, leave
        one scene out on tuning seeds 10-11 (``benchmarks/classification_loso.py``, RESULTS
        2026-12-05): 5 chosen in every fold, 82.1 vs 80.9 % mean OA (Indian Pines +3.3).
    adversarial : bool
        ``False`` trains the same discriminator on the labelled pixels only (the plain
        spectral-spatial CNN baseline); the fake output is then never used.
    pretrain : str
        ``"none"`` or ``"contrastive"``: before the GAN training, train the discriminator's
        own feature trunk on every valid pixel's patch with the Contrastive Clustering
        objective (:mod:`hsi.clustering.contrastive`; K clusters, band-space augmentations),
        then go on from those weights.
    pretrain_steps : int
        Steps of that pretraining (256 patches, two views each).
    crf_iterations : int
        Mean-field iterations of the dense CRF.
    crf_gaussian_sxy, crf_gaussian_weight : float
        Width (pixels) and weight of the position-only smoothness kernel.
    crf_bilateral_sxy, crf_bilateral_schan, crf_bilateral_weight : float
        Width in pixels, width in (standardised) PCA units and weight of the appearance kernel.
    crf_components : int
        Leading PCA components used as the bilateral kernel's features.
    crf_confidence : float
        The network's probabilities are mixed with the uniform distribution,
        ``p' = c p + (1 - c) / K``, before the unary ``-log p'`` (pydensecrf's ``scale``): a
        confident wrong pixel can then still be outvoted by its neighbours.
    crf_select : str
        ``"cv"`` (default): after training, the CRF's kernel widths and weights are chosen by
        cross-validation on the training labels alone (:mod:`hsi.classification.crf_select`;
        ``crf_folds`` extra discriminators are trained), and stored in the ``crf_*`` fields;
        the CRF is switched off (both weights 0) when no setting beats the network's argmax on
        the held-out labels. ``"fixed"``: the ``crf_*`` fields as given.
    crf_folds : int
        Folds of that cross-validation (≥ 2).

    Raises
    ------
    ConfigError
        A field of the wrong type (``epochs=1.5``, ``lr="0.01"``) or out of its range, or an
        unknown option name; one line naming the field.

    Notes
    -----
    With ``crf_select="cv"`` the ``crf_*`` values here only seed the checkpoint's config: the
    ones used are those the cross-validation on the training labels picks. With
    ``crf_select="fixed"`` they are used as given; they were chosen earlier with
    ``benchmarks/classification.py --tune-crf`` on a 15/15 split of 30 labels per class of the
    benchmark scenes (pixels that are test pixels of other splits: prefer ``"cv"``).
    """

    n_components: int = 20
    spectra: str = "shape"
    patch_size: int = 3
    patch_select: str = "cv"
    noise_dim: int = 64
    width: int = 16
    dropout: float = 0.3
    epochs: int = 4
    min_steps: int = 400
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    unsup_weight: float = 0.3
    ema_decay: float = 0.99
    members: int = 5
    adversarial: bool = True
    pretrain: str = "none"
    pretrain_steps: int = 300
    crf_iterations: int = 5
    crf_gaussian_sxy: float = 3.0
    crf_gaussian_weight: float = 1.0
    crf_bilateral_sxy: float = 10.0
    crf_bilateral_schan: float = 0.1
    crf_bilateral_weight: float = 3.0
    crf_components: int = 3
    crf_confidence: float = 1.0
    crf_select: str = "cv"
    crf_folds: int = 2

    def __post_init__(self) -> None:
        for name, low in _WHOLE_FIELDS.items():
            value = getattr(self, name)
            if not is_whole_number(value, low):
                # a count too small reads "expected >= 1, got 0"; 1.5, True or "3" are named
                whole = "" if is_whole_number(value, -2**63) else "a whole number "
                raise ConfigError(f"{name}: expected {whole}>= {low}, got {value!r}")
        for name, (low, high, closed) in _REAL_FIELDS.items():
            value = getattr(self, name)
            if not _in_range(value, low, high, closed):
                raise ConfigError(f"{name}: expected a number in {'[' if closed else '('}"
                                  f"{low:g}, {'inf)' if high is None else f'{high:g})'}, "
                                  f"got {value!r}")
        if not is_whole_number(self.patch_size, 1) or self.patch_size % 2 == 0:
            raise ConfigError(f"patch_size: expected an odd integer >= 1, got {self.patch_size}")
        if not 1 <= self.crf_components <= self.n_components:
            raise ConfigError(
                f"crf_components: expected 1..n_components={self.n_components}, "
                f"got {self.crf_components}"
            )
        if self.pretrain not in PRETRAIN_METHODS:
            raise ConfigError(f"pretrain: expected one of {', '.join(PRETRAIN_METHODS)}, "
                              f"got {self.pretrain!r}")
        if self.spectra not in SPECTRA:
            raise ConfigError(f"spectra: expected one of {', '.join(SPECTRA)}, "
                              f"got {self.spectra!r}")
        if self.pretrain == "contrastive" and self.spectra != "raw":
            raise ConfigError('pretrain="contrastive" augments raw spectra: it needs '
                              f'spectra="raw", got {self.spectra!r}')
        if not 1 <= self.members <= 16:
            raise ConfigError(f"members: expected 1..16, got {self.members}")
        if self.patch_select not in PATCH_SELECTION:
            raise ConfigError(f"patch_select: expected one of {', '.join(PATCH_SELECTION)}, "
                              f"got {self.patch_select!r}")
        if self.crf_select not in CRF_SELECTION:
            raise ConfigError(f"crf_select: expected one of {', '.join(CRF_SELECTION)}, "
                              f"got {self.crf_select!r}")
        if not 2 <= self.crf_folds <= 10:
            raise ConfigError(f"crf_folds: expected 2..10, got {self.crf_folds}")
        if not _in_range(self.crf_confidence, 0.0, None, False) or self.crf_confidence > 1.0:
            raise ConfigError(f"crf_confidence: expected in (0, 1], got {self.crf_confidence}")

    @property
    def radius(self) -> int:
        """Half the window side: pixels on each side of the centre."""
        return self.patch_size // 2
