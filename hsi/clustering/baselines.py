"""Baselines: k-means and spectral clustering (scikit-learn), and shared assignment helpers.

Every method returns ``(labels (N,) int 0..k-1, confidence (N,) float32 in [0, 1])`` for the
``N`` valid pixels. Confidence from distances is the margin ``1 - d_nearest / d_second``.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

log = logging.getLogger(__name__)

#: Above this many pixels k-means runs mini-batch (bounded memory, one pass per iteration).
FULL_KMEANS_MAX = 200_000

#: Spectral clustering runs on at most this many pixels; the rest follow by nearest neighbours.
SPECTRAL_MAX_PIXELS = 3000

#: Rows processed at a time when assigning many points to centroids.
CHUNK = 65536


def margin_confidence(d_sq: np.ndarray) -> np.ndarray:
    """``1 - d1 / d2`` from squared distances ``(N, k)`` to ``k >= 2`` centres, float32."""
    part = np.partition(np.maximum(d_sq, 0), 1, axis=1)[:, :2]
    d1, d2 = np.sqrt(part[:, 0]), np.sqrt(part[:, 1])
    return np.clip(1.0 - d1 / np.maximum(d2, 1e-12), 0.0, 1.0).astype(np.float32)


def assign_to_centres(x: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of each row of ``x`` (N, d) among ``centres`` (k, d), chunked.

    Returns
    -------
    labels : numpy.ndarray of int64, shape (N,)
    confidence : numpy.ndarray of float32, shape (N,)
        :func:`margin_confidence`.
    """
    labels = np.empty(len(x), dtype=np.int64)
    conf = np.empty(len(x), dtype=np.float32)
    c = centres.astype(np.float32)
    cn = (c**2).sum(1)
    for s in range(0, len(x), CHUNK):
        xs = x[s:s + CHUNK].astype(np.float32)
        d = (xs**2).sum(1, keepdims=True) - 2 * xs @ c.T + cn[None]
        labels[s:s + CHUNK] = d.argmin(1)
        conf[s:s + CHUNK] = margin_confidence(d)
    return labels, conf


def centroid_confidence(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Margin confidence of each pixel w.r.t. the centroids of the given clusters.

    A pixel nearer to another cluster's centroid than to its own gets 0.
    """
    centres = np.stack([x[labels == j].mean(0) if (labels == j).any() else
                        np.full(x.shape[1], np.inf) for j in range(k)])
    finite = np.isfinite(centres).all(1)
    out = np.empty(len(x), dtype=np.float32)
    c = centres[finite].astype(np.float32)
    index = np.full(k, -1)
    index[finite] = np.arange(finite.sum())
    own = index[labels]
    for s in range(0, len(x), CHUNK):
        xs = x[s:s + CHUNK].astype(np.float32)
        d = np.maximum((xs**2).sum(1, keepdims=True) - 2 * xs @ c.T + (c**2).sum(1)[None], 0)
        if d.shape[1] < 2:
            out[s:s + CHUNK] = 1.0
            continue
        d_own = np.sqrt(d[np.arange(len(xs)), own[s:s + CHUNK]])
        d_other = d.copy()
        d_other[np.arange(len(xs)), own[s:s + CHUNK]] = np.inf
        d2 = np.sqrt(d_other.min(1))
        out[s:s + CHUNK] = np.clip(1 - d_own / np.maximum(d2, 1e-12), 0, 1)
    return out


def distinct_rows(x: np.ndarray, at_most: int | None = None) -> int:
    """Number of distinct rows of ``x`` (exact equality; ``-0.0`` equals ``0.0``).

    Parameters
    ----------
    x : numpy.ndarray, shape (N, d)
    at_most : int, optional
        Stop counting there: the result is ``min(distinct, at_most)``. A seeded sample of
        ``8 * at_most`` rows is looked at first, so a scene of many distinct pixels is not
        sorted whole.

    Returns
    -------
    int
    """
    if len(x) == 0:
        return 0
    rows = np.ascontiguousarray(np.asarray(x).reshape(len(x), -1) + 0)  # + 0: -0.0 -> 0.0
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    if at_most is not None:
        sample = keys[subsample(len(keys), 8 * at_most, 0)]
        if len(np.unique(sample)) >= at_most:
            return int(at_most)
    n = len(np.unique(keys))
    return n if at_most is None else min(n, int(at_most))


def warn_empty_clusters(labels: np.ndarray, k: int, method: str) -> int:
    """Log one warning when ``labels`` (0..k-1) use fewer than ``k`` clusters.

    Parameters
    ----------
    labels : numpy.ndarray of int, shape (N,)
        A method's cluster ids of the valid pixels.
    k : int
        The clusters asked for.
    method : str
        The method's name, in the message.

    Returns
    -------
    int
        The number of non-empty clusters.
    """
    used = len(np.unique(labels))
    if used < k:
        log.warning("%s returned %d non-empty cluster(s) of the %d asked for: %d cluster(s) "
                    "are empty", method, used, k, k - used)
    return used


def kmeans_centres(x: np.ndarray, k: int, *, seed: int = 0, n_init: int = 4) -> np.ndarray:
    """k-means centres ``(k, d)``; mini-batch k-means above :data:`FULL_KMEANS_MAX` rows."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if len(x) > FULL_KMEANS_MAX:
        km = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=n_init, batch_size=4096,
                             max_no_improvement=20)
    else:
        km = KMeans(n_clusters=k, random_state=seed, n_init=n_init)
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:  # sklearn's words, file and line
        warnings.simplefilter("always", ConvergenceWarning)
        centres = km.fit(x).cluster_centers_
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):  # fewer distinct rows than k
            distinct = distinct_rows(x)
            log.warning("only %d distinct pixel feature(s) for %d clusters: %d cluster(s) "
                        "will be empty", distinct, k, max(k - distinct, 0))
            break
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return centres


def kmeans_cluster(x: np.ndarray, k: int, *, seed: int = 0, n_init: int = 4
                   ) -> tuple[np.ndarray, np.ndarray]:
    """k-means of the rows of ``x`` (N, d): labels 0..k-1 and margin confidence."""
    return assign_to_centres(x, kmeans_centres(x, k, seed=seed, n_init=n_init))


def subsample(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted random indices of ``min(n, size)`` rows (all rows when ``n <= size``)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def connected_count(x: np.ndarray, n_neighbors: int) -> int:
    """Connected components of the symmetrised kNN graph of the rows of ``x``."""
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import kneighbors_graph

    g = kneighbors_graph(x, n_neighbors)
    return int(connected_components(g.maximum(g.T), directed=False)[0])


def spectral_cluster(x: np.ndarray, k: int, *, seed: int = 0,
                     max_pixels: int = SPECTRAL_MAX_PIXELS, n_neighbors: int = 20
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Spectral clustering (kNN affinity) on a subsample, extended to all rows by kNN vote.

    Parameters
    ----------
    x : numpy.ndarray, shape (N, d)
    k : int
    max_pixels : int
        Size of the subsample the affinity matrix is built on.
    n_neighbors : int
        Neighbours of the affinity graph (doubled, up to 160, while the graph has more
        connected components than ``k``) and of the out-of-sample vote.

    Returns
    -------
    labels : numpy.ndarray of int64, shape (N,)
    confidence : numpy.ndarray of float32, shape (N,)
        Share of the ``n_neighbors`` subsample neighbours voting for the label, rescaled so
        that a uniform vote gives 0.
    """
    from sklearn.cluster import SpectralClustering
    from sklearn.neighbors import KNeighborsClassifier

    idx = subsample(len(x), max_pixels, seed)
    xs = x[idx]
    nn = min(n_neighbors, len(xs) - 1)
    while nn < min(160, len(xs) - 1) and connected_count(xs, nn) > k:
        nn = min(2 * nn, len(xs) - 1)
    sc = SpectralClustering(n_clusters=k, affinity="nearest_neighbors", n_neighbors=nn,
                            assign_labels="cluster_qr", random_state=seed)
    with warnings.catch_warnings():  # "not fully connected": k components are expected
        warnings.simplefilter("ignore", UserWarning)
        sub_labels = sc.fit_predict(xs)
    knn = KNeighborsClassifier(n_neighbors=nn).fit(xs, sub_labels)
    labels = np.empty(len(x), dtype=np.int64)
    conf = np.empty(len(x), dtype=np.float32)
    for s in range(0, len(x), CHUNK):
        proba = np.zeros((min(CHUNK, len(x) - s), k), dtype=np.float32)
        proba[:, knn.classes_] = knn.predict_proba(x[s:s + CHUNK])
        labels[s:s + CHUNK] = proba.argmax(1)
        conf[s:s + CHUNK] = (proba.max(1) - 1 / k) / (1 - 1 / k)
    return labels, np.clip(conf, 0, 1)
