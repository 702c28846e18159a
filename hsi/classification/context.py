"""How much spatial context the classifier sees: which window, or the pixel alone.

Spatial context is not always information. On Indian Pines (fields of one crop) the GAN's
3 × 3 window lifts a spectral classifier by ~10 OA points and a 5 × 5 one by ~3 more; on
Samson and Jasper Ridge, whose ground truth is each pixel's dominant endmember (a per-pixel
spectral quantity), the same windows cost 3–12 points (``benchmarks/classification.py
--methods svm_input svm_input_window``, RESULTS.md 2026-12-03). Which case a scene is can be
read from its training labels alone: :func:`select_patch_size` cross-validates a cheap
stand-in, an RBF-SVM on the classifier's own PCA features at the pixel and averaged over each
odd window up to the configured one, on the labelled pixels it is given, and keeps a larger
window only when it scores strictly higher (with 5 labels per class several often score
100 %: a tie goes to the simpler input).
"""

from __future__ import annotations

import warnings

import numpy as np

#: Stratified folds and repeats of the cross-validation (fewer folds when a class is small).
FOLDS, REPEATS = 5, 3


def window_means(features: np.ndarray, patch_size: int) -> np.ndarray:
    """Each pixel's features averaged over the ``patch_size`` window around it.

    Parameters
    ----------
    features : numpy.ndarray, shape (channels, H, W)
    patch_size : int
        Odd window side; the border is reflected.

    Returns
    -------
    numpy.ndarray, float32, shape (channels, H, W)
    """
    from scipy.ndimage import uniform_filter

    return uniform_filter(np.asarray(features, dtype=np.float32),
                          size=(1, patch_size, patch_size), mode="reflect")


def cv_accuracy(x: np.ndarray, y: np.ndarray, seed: int = 0) -> float:
    """Mean held-out accuracy of an RBF-SVM (C = 100, γ = "scale") over repeated stratified
    folds of ``(x, y)`` (``x``: (N, F), ``y``: (N,) class codes)."""
    from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
    from sklearn.svm import SVC

    folds = min(FOLDS, int(np.bincount(y).max()))
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=REPEATS, random_state=seed)
    with warnings.catch_warnings():  # "the least populated class has only n members"
        warnings.simplefilter("ignore", UserWarning)
        return float(cross_val_score(SVC(C=100.0, gamma="scale"), x, y, cv=splitter).mean())


def candidate_sizes(patch_size: int) -> list[int]:
    """The windows :func:`select_patch_size` compares: every odd side from 1 to
    ``patch_size``."""
    return list(range(1, patch_size + 1, 2))


def select_patch_size(features: np.ndarray, labels: np.ndarray, patch_size: int, *,
                      seed: int = 0) -> tuple[int, dict]:
    """The classifier's window, an odd side from 1 to ``patch_size``, chosen on the labelled
    pixels alone.

    Parameters
    ----------
    features : numpy.ndarray, shape (channels, H, W)
        The classifier's input features (its PCA of the scene).
    labels : numpy.ndarray of int, shape (H, W)
        Training labels, 0 = unlabelled: the only labels read.
    patch_size : int
        The largest window (odd, ≥ 3 for a choice to exist).
    seed : int
        Seeds the folds (the same folds for every window).

    Returns
    -------
    patch_size : int
        The side whose window-mean features score highest; a larger window must score
        strictly higher than every smaller one (ties go to the smaller window).
    record : dict
        ``scores``: ``{side: cross-validated accuracy}`` for each of :func:`candidate_sizes`
        (None when there was no choice to make: ``patch_size`` 1, or no class with 2
        labelled pixels); ``chosen``.
    """
    labels = np.asarray(labels)
    mask = labels > 0
    y = labels[mask].astype(np.int64)
    counts = np.bincount(y)
    if patch_size <= 1 or len(np.unique(y)) < 2 or counts.max() < 2:
        return patch_size, {"scores": None, "chosen": patch_size}
    features = np.asarray(features)
    scores = {}
    for side in candidate_sizes(patch_size):
        x = features if side == 1 else window_means(features, side)
        scores[side] = cv_accuracy(x[:, mask].T, y, seed)
    chosen = max(scores, key=lambda side: (scores[side], -side))
    return chosen, {"scores": scores, "chosen": chosen}
