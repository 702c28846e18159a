"""Scoring a cluster map against ground truth: ACC (Hungarian matching), NMI, ARI."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from hsi.errors import DataError, ShapeError
from hsi.labels import whole_ids

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from hsi.labels import Labels

log = logging.getLogger(__name__)


def match_clusters(pred: np.ndarray, truth: np.ndarray) -> dict[int, int]:
    """Best one-to-one mapping cluster -> class (Hungarian algorithm on the contingency table).

    Parameters
    ----------
    pred, truth : numpy.ndarray of int, shape (N,)

    Returns
    -------
    dict
        ``{cluster id: class id}``, ``min(clusters, classes)`` pairs maximising the pixels
        whose cluster maps to their class: with more clusters than classes the extra
        clusters are absent, with fewer some classes are matched by no cluster.
    """
    from scipy.optimize import linear_sum_assignment

    if np.size(pred) != np.size(truth):
        raise ShapeError(f"clusters: {np.size(pred)} values for {np.size(truth)} labels",
                         actual_shape=np.shape(pred), expected_shape=np.shape(truth))
    clusters, pi = np.unique(pred, return_inverse=True)
    classes, ti = np.unique(truth, return_inverse=True)
    table = np.zeros((len(clusters), len(classes)), dtype=np.int64)
    np.add.at(table, (pi.ravel(), ti.ravel()), 1)
    rows, cols = linear_sum_assignment(-table)
    return {int(clusters[r]): int(classes[c]) for r, c in zip(rows, cols, strict=True)}


def clustering_accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    """Fraction of pixels whose cluster maps to their class under :func:`match_clusters`.

    The pixels of clusters left unmatched (more clusters than classes) and of classes no
    cluster matches (fewer clusters) count as wrong.

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

    Raises
    ------
    ShapeError
        ``pred`` and ``truth`` differ in size.
    """
    pred = np.asarray(pred).ravel()
    truth = np.asarray(truth).ravel()
    mapping = match_clusters(pred, truth)
    hits = sum(int(((pred == c) & (truth == t)).sum()) for c, t in mapping.items())
    return hits / max(pred.size, 1)


def evaluate(clusters: ArrayLike | Labels, labels: ArrayLike | Labels) -> dict[str, float]:
    """ACC, NMI and ARI of a cluster map on the labelled pixels.

    Only pixels both labelled (``labels > 0``) and clustered (``clusters > 0``) are scored;
    labelled pixels of cluster 0 (nodata: not clustered) are left out, with a logged warning
    giving their number (a cluster map numbered from 0 would lose its first cluster).

    Parameters
    ----------
    clusters : array-like of int, hsi.labels.Labels or ClusterResult, shape (H, W)
        Cluster ids 1..k (as :func:`hsi.clustering.cluster` writes them), 0 = not clustered
        (nodata); a :class:`~hsi.clustering.ClusterResult` gives its ``labels``.
    labels : array-like of int or hsi.labels.Labels, shape (H, W)
        Ground truth, 0 = unlabelled. When both maps are :class:`~hsi.labels.Labels` their
        grids (shape, CRS, transform) must match.

    Returns
    -------
    dict
        ``acc``: :func:`clustering_accuracy` (Hungarian one-to-one matching; with k ≠ the
        number of classes the unmatched clusters' or classes' pixels count as wrong);
        ``nmi``: normalised mutual information, I(T; C) / ((H(T) + H(C)) / 2), the
        arithmetic-mean normalisation (scikit-learn's default); ``ari``: adjusted Rand index
        (Hubert & Arabie). Floats in [0, 1] (ARI may be negative). ``pixels``: the number of
        pixels scored.

    Raises
    ------
    ShapeError
        The two maps differ in shape.
    ArgumentTypeError
        A map that is not an array (``None``, a number).
    GridError
        Both are :class:`~hsi.labels.Labels` with differing CRS or transform.
    DataError
        Ids that are not whole numbers >= 0, no labelled pixel, or no pixel both labelled
        and clustered.
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from hsi.clustering.api import ClusterResult
    from hsi.labels import Labels

    if isinstance(clusters, ClusterResult):
        clusters = clusters.labels
    grids = (clusters, labels)
    clusters = _id_map(clusters, "clusters")
    labels = _id_map(labels, "labels")
    if clusters.shape != labels.shape:
        raise ShapeError(f"clusters: shape {clusters.shape} differs from the labels' "
                         f"{labels.shape}", actual_shape=clusters.shape,
                         expected_shape=labels.shape)
    if all(isinstance(g, Labels) for g in grids):  # the same shape, maybe other ground
        grids[1].check_grid(grids[0], name="labels", of="the cluster map")
    clusters = whole_ids(clusters, "clusters")
    labels = whole_ids(labels, "labels")
    labelled = labels > 0
    if not labelled.any():
        raise DataError("labels: no pixel is both labelled (> 0) and clustered (> 0): every "
                        "label is 0 (unlabelled), no labelled pixel to score against")
    keep = labelled & (clusters > 0)
    if not keep.any():
        raise DataError("labels: no pixel is both labelled (> 0) and clustered (> 0)")
    dropped = int(labelled.sum() - keep.sum())
    if dropped:
        log.warning("clusters: %d of %d labelled pixels have cluster 0 (not clustered) and are "
                    "left out of the scores (cluster ids start at 1)", dropped,
                    int(labelled.sum()))
    pred = clusters[keep].astype(np.int64)
    truth = labels[keep].astype(np.int64)
    return {"acc": clustering_accuracy(pred, truth),
            "nmi": float(normalized_mutual_info_score(truth, pred, average_method="arithmetic")),
            "ari": float(adjusted_rand_score(truth, pred)),
            "pixels": int(keep.sum())}


def _id_map(ids: ArrayLike | Labels, name: str) -> np.ndarray:
    """``ids`` (an array, a torch tensor, nested lists or a :class:`~hsi.labels.Labels`) as a
    numpy array of at least one axis.

    Raises
    ------
    ArgumentTypeError
        ``ids`` is a scalar or ``None``: ``"NAME: expected an (H, W) array of ids, got ..."``.
    """
    from hsi.errors import ArgumentTypeError
    from hsi.labels import Labels

    array = np.asarray(ids.array if isinstance(ids, Labels) else ids)
    if array.ndim == 0:
        raise ArgumentTypeError(f"{name}: expected an (H, W) array of ids, got "
                                f"{type(ids).__name__}")
    return array
