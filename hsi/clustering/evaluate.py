"""Scoring a cluster map against ground truth: ACC (Hungarian matching), NMI, ARI."""

from __future__ import annotations

import numpy as np

from hsi.errors import DataError, ShapeError


def match_clusters(pred: np.ndarray, truth: np.ndarray) -> dict[int, int]:
    """Best one-to-one mapping cluster -> class (Hungarian algorithm on the contingency table).

    Parameters
    ----------
    pred, truth : numpy.ndarray of int, shape (N,)

    Returns
    -------
    dict
        ``{cluster id: class id}`` for the matched clusters (unmatched clusters are absent
        when there are more clusters than classes).
    """
    from scipy.optimize import linear_sum_assignment

    clusters, pi = np.unique(pred, return_inverse=True)
    classes, ti = np.unique(truth, return_inverse=True)
    table = np.zeros((len(clusters), len(classes)), dtype=np.int64)
    np.add.at(table, (pi, ti), 1)
    rows, cols = linear_sum_assignment(-table)
    return {int(clusters[r]): int(classes[c]) for r, c in zip(rows, cols, strict=True)}


def clustering_accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    """Fraction of pixels whose cluster maps to their class under :func:`match_clusters`.

    Parameters
    ----------
    pred : array-like of int
        Cluster ids, any shape.
    truth : array-like of int, same size as ``pred``
        Class ids.

    Returns
    -------
    float
        In [0, 1].
    """
    pred = np.asarray(pred).ravel()
    truth = np.asarray(truth).ravel()
    mapping = match_clusters(pred, truth)
    hits = sum(int(((pred == c) & (truth == t)).sum()) for c, t in mapping.items())
    return hits / max(pred.size, 1)


def evaluate(clusters, labels) -> dict[str, float]:
    """ACC, NMI and ARI of a cluster map on the labelled pixels.

    Parameters
    ----------
    clusters : array-like of int, shape (H, W)
        Cluster ids, 0 = not clustered (nodata).
    labels : array-like of int, shape (H, W)
        Ground truth, 0 = unlabelled.

    Returns
    -------
    dict
        ``acc``, ``nmi``, ``ari`` (floats in [0, 1], ARI may be negative) and ``pixels`` (the
        number of pixels scored: labelled and clustered).

    Raises
    ------
    ShapeError
        The two maps differ in shape.
    DataError
        No pixel is both labelled and clustered.
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    clusters = np.asarray(clusters)
    labels = np.asarray(labels)
    if clusters.shape != labels.shape:
        raise ShapeError(f"clusters: shape {clusters.shape} differs from the labels' "
                         f"{labels.shape}", actual_shape=clusters.shape,
                         expected_shape=labels.shape)
    keep = (labels > 0) & (clusters > 0)
    if not keep.any():
        raise DataError("labels: no pixel is both labelled (> 0) and clustered (> 0)")
    pred = clusters[keep].astype(np.int64)
    truth = labels[keep].astype(np.int64)
    return {"acc": clustering_accuracy(pred, truth),
            "nmi": float(normalized_mutual_info_score(truth, pred)),
            "ari": float(adjusted_rand_score(truth, pred)),
            "pixels": int(keep.sum())}
