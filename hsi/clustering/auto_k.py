"""Estimating the number of clusters: the eigengap of the normalised graph Laplacian."""

from __future__ import annotations

import numpy as np

from hsi.clustering.baselines import subsample

#: What :func:`estimate_k` uses, in words (printed by the CLI with the estimate).
CRITERION = "relative eigengap of the normalised kNN-graph Laplacian"


def laplacian_eigenvalues(x: np.ndarray, n: int, *, n_neighbors: int = 10) -> np.ndarray:
    """Smallest ``n`` eigenvalues of the symmetric normalised Laplacian of a kNN graph of ``x``.

    The graph joins each row to its ``n_neighbors`` nearest rows with Gaussian weights
    (bandwidth: the median neighbour distance), symmetrised.
    """
    from scipy.sparse import csgraph
    from sklearn.neighbors import kneighbors_graph

    g = kneighbors_graph(x, n_neighbors=min(n_neighbors, len(x) - 1), mode="distance")
    sigma = np.median(g.data) if g.nnz else 1.0
    g.data = np.exp(-(g.data**2) / (2 * max(sigma, 1e-12) ** 2))
    w = g.maximum(g.T)
    lap = csgraph.laplacian(w, normed=True).toarray()
    return np.sort(np.linalg.eigvalsh(lap))[:n]


def estimate_k(x: np.ndarray, *, k_max: int = 15, seed: int = 0,
               max_pixels: int = 2000) -> tuple[int, str]:
    """Estimate the cluster count by the largest eigengap.

    Parameters
    ----------
    x : numpy.ndarray, shape (N, d)
        Pixel features.
    k_max : int
        Largest count considered.
    max_pixels : int
        Rows of the seeded subsample the graph is built on.

    Returns
    -------
    k : int
        ``argmax_{2 <= k <= k_max} (lambda_{k+1} - lambda_k) / lambda_{k+1}`` (eigenvalues
        ascending, 1-based). The gap is relative because absolute gaps grow with ``k`` on
        pixel graphs (on Salinas-A/Samson/Jasper Ridge the absolute gap picked 14/10/7 for
        6/3/4 classes). Neither recovers the labelled class count: the relative gap picks
        5/2/2/2 on Salinas-A/Samson/Jasper Ridge/Indian Pines (6/3/4/16 classes; benchmark
        of 2026-12-02), and no other criterion tried did better (README).
    criterion : str
        How ``k`` was chosen, in words.
    """
    xs = x[subsample(len(x), max_pixels, seed)]
    k_max = max(2, min(k_max, len(xs) - 2))
    lam = laplacian_eigenvalues(xs, k_max + 1)
    lam = np.maximum(lam, 0)
    # gaps[i] = (lambda_{i+2} - lambda_{i+1}) / lambda_{i+2}  (1-based), i.e. k = i + 1
    gaps = np.diff(lam) / np.maximum(lam[1:], 1e-12)
    ks = np.arange(1, len(gaps) + 1)
    gaps = np.where(ks >= 2, gaps, -np.inf)
    k = int(ks[np.argmax(gaps)])
    return k, f"{CRITERION} ({len(xs)} pixels, k in 2..{k_max})"
