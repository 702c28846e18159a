"""The dense CRF's parameters chosen from the training labels alone, by cross-validation.

The labelled pixels of the training raster are split into stratified folds. For each fold a
discriminator is trained without that fold's labels (every valid pixel still serves as an
unlabelled example, as in the main training), and its class probabilities of the whole scene
are refined with every setting of :func:`crf_grid`. A setting's score is its overall accuracy
on the held-out fold's labelled pixels, averaged over the folds; the best setting wins, ties
going to the earlier one. The grid starts with "no pairwise term" (the network's own argmax),
so the CRF is switched off when no setting beats the network on the held-out labels.

No pixel outside the training labels is ever scored: :func:`select_crf_params` reads only the
validation rasters it is given, and those are folds of the training raster.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from hsi.classification.crf import CrfParams, crf_refine
from hsi.errors import ConfigError, ShapeError


def crf_grid(iterations: int = 5) -> list[CrfParams]:
    """The settings tried, weakest first; the first one has no pairwise term at all.

    Position kernel: off or on (σ = 3 px, weight 1). Appearance kernel: off, or σ ∈ {5, 15}
    px × σ_feature ∈ {0.1, 0.5} (standardised PCA units) × weight ∈ {3, 10}.
    """
    grid = []
    for gaussian_weight in (0.0, 1.0):
        grid.append(CrfParams(iterations=iterations, gaussian_weight=gaussian_weight,
                              bilateral_weight=0.0))
        for weight in (3.0, 10.0):
            for sxy in (5.0, 15.0):
                for schan in (0.1, 0.5):
                    grid.append(CrfParams(iterations=iterations, gaussian_weight=gaussian_weight,
                                          bilateral_sxy=sxy, bilateral_schan=schan,
                                          bilateral_weight=weight))
    return grid


def label_folds(labels: np.ndarray, n_folds: int, seed: int = 0) -> list[np.ndarray]:
    """Stratified folds of a label raster's labelled pixels.

    Parameters
    ----------
    labels : numpy.ndarray of int, shape (H, W)
        0 = unlabelled, 1..K = class.
    n_folds : int
        ≥ 2.
    seed : int

    Returns
    -------
    list of numpy.ndarray, each (H, W), same dtype
        Fold ``i`` keeps the labels of its pixels and 0 elsewhere. Each class's pixels are
        dealt round-robin in random order, so every fold gets ⌊n/k⌋ or ⌈n/k⌉ of them.
    """
    if n_folds < 2:
        raise ConfigError(f"n_folds: expected >= 2, got {n_folds}")
    rng = np.random.default_rng(seed)
    flat = labels.ravel()
    folds = [np.zeros_like(flat) for _ in range(n_folds)]
    start = 0
    for c in np.unique(flat[flat > 0]):
        idx = rng.permutation(np.flatnonzero(flat == c))
        for j, i in enumerate(idx):
            f = (start + j) % n_folds
            folds[f][i] = c
        start += len(idx)  # classes with few pixels do not all land in fold 0
    return [f.reshape(labels.shape) for f in folds]


def overall_accuracy(class_index: np.ndarray, reference: np.ndarray) -> float:
    """Share of the labelled pixels of ``reference`` (> 0) where ``class_index + 1`` matches."""
    m = reference > 0
    return float(np.mean(class_index[m] + 1 == reference[m])) if m.any() else float("nan")


def select_crf_params(fold_results: Sequence[tuple[np.ndarray, np.ndarray]], guide: np.ndarray,
                      valid: np.ndarray | None = None, grid: Sequence[CrfParams] | None = None,
                      ) -> tuple[CrfParams, list[float]]:
    """The grid setting with the best mean accuracy on the held-out folds.

    Parameters
    ----------
    fold_results : sequence of (probabilities, held_out)
        ``probabilities`` (K, H, W) of a model trained without the fold, ``held_out`` (H, W)
        the fold's labels (0 elsewhere): the only pixels scored.
    guide : numpy.ndarray, shape (C, H, W)
        The bilateral kernel's features.
    valid : numpy.ndarray of bool, shape (H, W), optional
    grid : sequence of CrfParams, optional
        Default :func:`crf_grid`.

    Returns
    -------
    params : CrfParams
    scores : list of float
        Mean held-out accuracy of each grid setting, in grid order.
    """
    grid = list(grid or crf_grid())
    scores = np.zeros(len(grid))
    for prob, held_out in fold_results:
        if held_out.shape != prob.shape[1:]:
            raise ShapeError(f"held-out labels {held_out.shape} and probabilities "
                             f"{prob.shape} are not on one grid")
        for j, params in enumerate(grid):
            q = crf_refine(prob, guide, params, valid=valid)
            scores[j] += overall_accuracy(q.argmax(0), held_out) / len(fold_results)
    best = int(np.argmax(scores))  # first maximum: ties go to the weaker setting
    return dataclasses.replace(grid[best]), scores.tolist()
