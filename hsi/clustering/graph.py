"""Graph clustering of a scene: a superpixel (or pixel) graph, AGC and minCUT pooling.

The graph's nodes are SLIC superpixels of the first PCA components (or single pixels with
``superpixel_size=1``), each carrying the mean features of its pixels. Edges join spatially
adjacent nodes and each node's spectral nearest neighbours, weighted by a Gaussian of the
feature distance.

* AGC (Zhang et al., IJCAI 2019): low-pass graph filtering ``X̄ = (I - L_s/2)^t X`` with the
  order ``t`` raised until the intra-cluster distance of the resulting clustering grows;
  clusters are k-means of the top-``k`` left singular vectors of ``X̄`` (spectral clustering of
  the linear kernel ``X̄ X̄^T``, as the authors' code; the paper clusters
  ``(|K| + |K^T|) / 2``). The intra-cluster distance is divided by the spread of all nodes
  (:func:`intra_distance`), which the paper does not do.
* minCUT pooling (Bianchi et al., ICML 2020): a small GNN outputs soft assignments ``S`` trained
  on the relaxed normalised cut ``-Tr(S^T Ã S) / Tr(S^T D̃ S)`` plus the orthogonality term
  ``||S^T S / ||S^T S||_F - I / sqrt(k)||_F``, with ``Ã = D^{-1/2} A D^{-1/2}`` the normalised
  adjacency and ``D̃`` its degree matrix, as in the paper. Deviations: a wider network
  (64-unit graph convolution, then a 64-unit MLP) trained 400 steps at a higher learning rate
  than the paper's clustering run, and the best of ``restarts`` trainings by final loss
  (:func:`mincut`) instead of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from hsi.progress import ProgressCallback, progress_bar, report_progress

if TYPE_CHECKING:
    from hsi.clustering.features import PixelFeatures


@dataclass
class GraphConfig:
    """Graph construction and the AGC / minCUT settings.

    Attributes
    ----------
    superpixel_size : int
        Mean pixels per SLIC superpixel; 1: every pixel is a node; 0 (automatic): pixels when
        the scene has at most ``max_nodes`` valid pixels, else about ``max_nodes`` superpixels.
    max_nodes : int
        Cap on the number of nodes (AGC's spectral step is dense in the nodes).
    compactness : float
        SLIC compactness (on PCA components scaled to [0, 1]).
    n_neighbors : int
        Spectral nearest-neighbour edges per node (besides spatial adjacency).
    max_order : int
        Largest AGC filter order tried.
    agc_criterion : {"scaled", "paper"}
        AGC's order criterion: :func:`intra_distance` (hsikit's, scale-free) or
        :func:`paper_intra_distance` (the paper's raw distance).
    agc_final : {"svd", "paper"}
        AGC's final clustering: :func:`svd_kmeans` (the authors' code) or
        :func:`kernel_spectral` (the paper: spectral clustering of ``(|K| + |Kᵀ|) / 2``).
    steps, hidden, lr : int, int, float
        minCUT GNN training steps (full batch), width of its graph convolution and Adam
        learning rate (the paper's clustering run: 5000 steps, 16 units, 5e-4; on unlabelled
        ABU scenes that was not converged after 5000 steps, 80 s a run, and gave clusters as
        balanced as the defaults).
    mlp_hidden : int
        Hidden width of the pooling MLP; 0: the paper's single linear layer after an ELU (see
        :class:`MinCutGNN`).
    restarts : int
        Trainings from different initialisations; the lowest final loss is kept (see
        :func:`mincut`). A single run can stall with a dead cluster (a softmax output no node
        takes): on an unlabelled ABU scene, seed 0, one of 6 clusters stayed empty, the
        orthogonality loss stuck at 0.42 and the total at -0.56 against -0.93 for a full
        partition.
    """

    superpixel_size: int = 0
    max_nodes: int = 3000
    compactness: float = 10.0
    n_neighbors: int = 10
    max_order: int = 30
    agc_criterion: str = "scaled"
    agc_final: str = "svd"
    steps: int = 400
    hidden: int = 64
    mlp_hidden: int = 64
    lr: float = 5e-3
    restarts: int = 3


@dataclass
class SceneGraph:
    """Nodes, features and weighted adjacency of a scene graph.

    Attributes
    ----------
    segments : numpy.ndarray of int64, shape (H, W)
        Node id of each pixel (-1 for nodata).
    features : numpy.ndarray, float32, shape (n_nodes, d)
        Mean pixel features per node.
    adjacency : scipy.sparse.csr_matrix, shape (n_nodes, n_nodes)
        Symmetric, non-negative weights, zero diagonal.
    """

    segments: np.ndarray
    features: np.ndarray
    adjacency: sp.csr_matrix

    @property
    def n_nodes(self) -> int:
        return int(self.features.shape[0])

    def node_of_pixel(self, valid: np.ndarray) -> np.ndarray:
        """Node id of each valid pixel, row-major, ``(N,)``."""
        return self.segments[valid]


def superpixels(feats: PixelFeatures, size: int, max_nodes: int, compactness: float, seed: int = 0
                ) -> np.ndarray:
    """SLIC superpixels of the first three PCA components, ``(H, W)`` int64, -1 off ``valid``.

    Segment ids are made consecutive (0..n-1) over valid pixels.
    """
    from skimage.segmentation import slic

    h, w = feats.shape
    n_valid = feats.n_pixels
    if size == 0:
        size = 1 if n_valid <= max_nodes else int(np.ceil(n_valid / max_nodes))
    if size <= 1:
        seg = np.full((h, w), -1, dtype=np.int64)
        seg[feats.valid] = np.arange(n_valid)
        return seg
    img = feats.image[: min(3, feats.image.shape[0])].transpose(1, 2, 0).astype(np.float64)
    lo, hi = img[feats.valid].min(0), img[feats.valid].max(0)
    img = (img - lo) / np.maximum(hi - lo, 1e-12)
    n_seg = int(np.clip(n_valid / size, 2, max_nodes))
    seg = slic(img, n_segments=n_seg, compactness=compactness, mask=feats.valid,
               channel_axis=-1, start_label=1, enforce_connectivity=True)
    seg = seg.astype(np.int64)
    out = np.full((h, w), -1, dtype=np.int64)
    _, inverse = np.unique(seg[feats.valid], return_inverse=True)
    out[feats.valid] = inverse
    return out


def scene_graph(feats: PixelFeatures, x: np.ndarray, config: GraphConfig | None = None, *,
                seed: int = 0) -> SceneGraph:
    """Build the :class:`SceneGraph` of :class:`PixelFeatures` ``feats`` with pixel features
    ``x`` (N, d) (valid pixels, row-major)."""
    from sklearn.neighbors import NearestNeighbors

    cfg = config or GraphConfig()
    seg = superpixels(feats, cfg.superpixel_size, cfg.max_nodes, cfg.compactness, seed)
    node = seg[feats.valid]
    n = int(node.max()) + 1
    counts = np.bincount(node, minlength=n).astype(np.float64)
    f = np.zeros((n, x.shape[1]))
    np.add.at(f, node, x)
    f = (f / np.maximum(counts, 1)[:, None]).astype(np.float32)
    # spatial adjacency: 4-neighbour pixel pairs in different segments
    pairs = []
    for a, b in ((seg[:, :-1], seg[:, 1:]), (seg[:-1, :], seg[1:, :])):
        m = (a >= 0) & (b >= 0) & (a != b)
        pairs.append(np.stack([a[m], b[m]], 1))
    # spectral neighbours
    nn = min(cfg.n_neighbors, n - 1)
    if nn > 0:
        _, idx = NearestNeighbors(n_neighbors=nn + 1).fit(f).kneighbors(f)
        pairs.append(np.stack([np.repeat(np.arange(n), nn), idx[:, 1:].ravel()], 1))
    e = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)
    e = np.unique(np.sort(e, axis=1), axis=0)
    e = e[e[:, 0] != e[:, 1]]
    d2 = ((f[e[:, 0]] - f[e[:, 1]]) ** 2).sum(1)
    sigma2 = float(np.median(d2)) if len(d2) else 1.0
    wts = np.exp(-d2 / (2 * max(sigma2, 1e-12)))
    a = sp.coo_matrix((wts, (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    return SceneGraph(segments=seg, features=f, adjacency=(a + a.T).tocsr())


def agc_filter(adjacency: sp.spmatrix) -> sp.csr_matrix:
    """AGC's low-pass filter ``G = (I + D̃^{-1/2} (A + I) D̃^{-1/2}) / 2``."""
    n = adjacency.shape[0]
    a = adjacency + sp.eye(n)
    d = np.asarray(a.sum(1)).ravel()
    dinv = sp.diags(1 / np.sqrt(d))
    return ((sp.eye(n) + dinv @ a @ dinv) / 2).tocsr()


def intra_distance(x: np.ndarray, labels: np.ndarray) -> float:
    """AGC's order criterion: the intra-cluster distance of ``labels``, made scale-free.

    Parameters
    ----------
    x : numpy.ndarray, shape (n, d)
        Filtered node features.
    labels : numpy.ndarray of int, shape (n,)

    Returns
    -------
    float
        ``mean_C [ |C|^-2 sum_{i, j in C} ||x_i - x_j||^2 ]`` (the mean over the clusters present
        of the mean squared distance over all ordered pairs of the cluster, the pair ``i = j``
        included: twice the cluster's total variance, as ``square_dist`` in the authors' code;
        the paper divides by ``|C| (|C| - 1)`` instead), divided by the same mean over all rows
        ``n^-2 sum_{i, j} ||x_i - x_j||^2``. The division makes the criterion scale-free, so
        the shrinkage of repeated low-pass filtering does not decide the order; the paper uses
        the raw distance.
    """
    def spread(v: np.ndarray) -> float:  # mean pairwise squared distance = 2 * total variance
        return 2 * float(((v - v.mean(0)) ** 2).sum(1).mean()) if len(v) > 1 else 0.0

    total = spread(x)
    per = [spread(x[labels == c]) for c in np.unique(labels)]
    return float(np.mean(per)) / max(total, 1e-12)


def paper_intra_distance(x: np.ndarray, labels: np.ndarray) -> float:
    """The AGC paper's order criterion (Zhang et al. 2019, Eq. 11).

    ``mean_C [ 1 / (|C| (|C| - 1)) sum_{i != j in C} ||x_i - x_j||^2 ]`` over the clusters
    present (a one-node cluster counts 0): the raw distance, not divided by the spread of
    all nodes, so the shrinkage of repeated filtering lowers it too.
    """
    per = []
    for c in np.unique(labels):
        v = x[labels == c]
        n = len(v)
        # sum over ordered pairs i != j of ||x_i - x_j||^2 = 2 n sum_i ||x_i - mean||^2
        per.append(2 * n * float(((v - v.mean(0)) ** 2).sum()) / (n * (n - 1)) if n > 1 else 0.0)
    return float(np.mean(per))


def kernel_spectral(x: np.ndarray, k: int, seed: int) -> np.ndarray:
    """The AGC paper's final clustering: spectral clustering (scikit-learn) of the affinity
    ``(|K| + |Kᵀ|) / 2``, ``K = x xᵀ`` (the linear kernel of the filtered features)."""
    from sklearn.cluster import SpectralClustering

    kern = x.astype(np.float64) @ x.astype(np.float64).T
    w = (np.abs(kern) + np.abs(kern.T)) / 2
    return SpectralClustering(n_clusters=k, affinity="precomputed", random_state=seed,
                              assign_labels="kmeans").fit_predict(w)


def svd_kmeans(x: np.ndarray, k: int, seed: int) -> np.ndarray:
    """k-means on the top-``k`` left singular vectors of ``x`` (spectral clustering of
    ``x x^T``)."""
    from sklearn.cluster import KMeans

    u, _, _ = np.linalg.svd(x.astype(np.float64), full_matrices=False)
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(u[:, :k])


def agc(graph: SceneGraph, k: int, *, max_order: int = 30, seed: int = 0,
        criterion: str = "scaled", final: str = "svd") -> tuple[np.ndarray, int]:
    """Adaptive graph convolution clustering of the nodes.

    ``criterion`` and ``final`` choose the order criterion and the final clustering
    (:class:`GraphConfig` ``agc_criterion``, ``agc_final``).

    Returns
    -------
    labels : numpy.ndarray of int64, shape (n_nodes,)
    order : int
        The filter order chosen: the last ``t`` before :func:`intra_distance` first grows
        (``t`` such that ``intra(t + 1) > intra(t) <= ... <= intra(1)``), or ``max_order`` if
        it never grows. Orders are tried from 1 (the paper and the authors' code start at 1).
    """
    from hsi.errors import ConfigError

    if criterion not in ("scaled", "paper") or final not in ("svd", "paper"):
        raise ConfigError(f"agc: criterion 'scaled' or 'paper' and final 'svd' or 'paper', "
                          f"got {criterion!r}, {final!r}")
    g = agc_filter(graph.adjacency)
    x = graph.features.astype(np.float64)
    best_labels, best_intra, order = None, np.inf, 0
    for t in range(1, max_order + 1):
        x = g @ x
        labels = svd_kmeans(x, k, seed) if final == "svd" else kernel_spectral(x, k, seed)
        d = (intra_distance(x, labels) if criterion == "scaled"
             else paper_intra_distance(x, labels))
        if d > best_intra:
            break
        best_labels, best_intra, order = labels, d, t
    return best_labels, order


def agc_cluster(feats: PixelFeatures, x: np.ndarray, k: int, config: GraphConfig | None = None, *,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """AGC on the scene graph; pixels take their node's cluster, confidence is the pixel's
    centroid margin in feature space."""
    from hsi.clustering.baselines import centroid_confidence

    cfg = config or GraphConfig()
    graph = scene_graph(feats, x, cfg, seed=seed)
    if graph.n_nodes < k:
        cfg = GraphConfig(**{**cfg.__dict__, "superpixel_size": 1})
        graph = scene_graph(feats, x, cfg, seed=seed)
    node_labels, _ = agc(graph, k, max_order=cfg.max_order, seed=seed,
                         criterion=cfg.agc_criterion, final=cfg.agc_final)
    labels = node_labels[graph.node_of_pixel(feats.valid)]
    return labels, centroid_confidence(x, labels, k)


# --------------------------------------------------------------------------- minCUT pooling


def normalized_adjacency(adjacency: sp.spmatrix) -> sp.csr_matrix:
    """minCUT's ``Ã = D^{-1/2} A D^{-1/2}`` (no self-loops; isolated nodes keep zero rows).

    Parameters
    ----------
    adjacency : scipy.sparse matrix, shape (n, n)
        Symmetric, non-negative weights ``A``.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n, n)
    """
    deg = np.asarray(adjacency.sum(1), dtype=np.float64).ravel()
    dinv = np.zeros_like(deg)
    np.divide(1.0, np.sqrt(deg), out=dinv, where=deg > 0)
    return (sp.diags(dinv) @ adjacency @ sp.diags(dinv)).tocsr()


def mincut_losses(s: torch.Tensor, adjacency: torch.Tensor,
                  degree: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """minCUT and orthogonality losses (Bianchi et al., ICML 2020) of soft assignments.

    Parameters
    ----------
    s : torch.Tensor, shape (n, k)
        Assignments ``S``, rows sum to 1.
    adjacency : torch.Tensor, shape (n, n), dense or sparse
        The adjacency the cut is measured on: the paper's (and :func:`mincut`'s) normalised
        ``Ã = D^{-1/2} A D^{-1/2}`` (:func:`normalized_adjacency`).
    degree : torch.Tensor, shape (n,), optional
        Diagonal of ``D̃``; default: the row sums of ``adjacency``.

    Returns
    -------
    cut : torch.Tensor, scalar
        ``-Tr(S^T Ã S) / Tr(S^T D̃ S)``, in [-1, 0]; -1 when no edge joins two clusters.
    ortho : torch.Tensor, scalar
        ``||S^T S / ||S^T S||_F - I_k / sqrt(k)||_F``, in [0, sqrt(2 - 2 / sqrt(k))]; 0 for
        hard assignments to clusters of equal size.
    """
    k = s.shape[1]
    if degree is None:
        degree = (adjacency @ torch.ones(adjacency.shape[1], 1, dtype=s.dtype,
                                         device=s.device)).ravel()
    cut = -torch.trace(s.T @ (adjacency @ s)) / torch.trace(
        s.T @ (degree[:, None] * s)).clamp_min(1e-12)
    ss = s.T @ s
    eye = torch.eye(k, dtype=s.dtype, device=s.device)
    ortho = torch.linalg.norm(ss / torch.linalg.norm(ss) - eye / k**0.5)
    return cut, ortho


class MinCutGNN(nn.Module):
    """One graph convolution with skip, ``act(Â X W + X V)``, then the pooling MLP to a
    ``k``-way softmax.

    ``mlp_hidden=0`` (the paper's clustering network, ``GCSConv(16, "elu")`` then
    ``MinCutPool`` without hidden layers): ELU, then one linear layer to ``k``. Otherwise
    ReLU, then ``Linear(hidden, mlp_hidden)``, ReLU, ``Linear(mlp_hidden, k)`` (earlier
    hsikit versions, 64 and 64).
    """

    def __init__(self, in_features: int, k: int, hidden: int = 16, mlp_hidden: int = 0) -> None:
        super().__init__()
        self.w = nn.Linear(in_features, hidden)
        self.v = nn.Linear(in_features, hidden, bias=False)
        if mlp_hidden:
            self.mlp = nn.Sequential(nn.ReLU(), nn.Linear(hidden, mlp_hidden), nn.ReLU(),
                                     nn.Linear(mlp_hidden, k))
        else:
            self.mlp = nn.Sequential(nn.ELU(), nn.Linear(hidden, k))

    def forward(self, x: torch.Tensor, a_norm: torch.Tensor) -> torch.Tensor:
        """Assignments ``(n, k)`` of node features ``x`` (n, d) with ``Â`` (n, n)."""
        return self.mlp(a_norm @ self.w(x) + self.v(x)).softmax(1)


def mincut(graph: SceneGraph, k: int, config: GraphConfig | None = None, *, seed: int = 0,
           device: str | torch.device | None = None, progress: bool = False,
           callback: ProgressCallback | None = None) -> np.ndarray:
    """Train the minCUT GNN on the whole graph; return soft assignments ``(n_nodes, k)``.

    ``config.restarts`` networks are trained one after the other (each ``config.steps`` full
    batch steps from its own random initialisation); the one with the lowest final loss
    ``cut + ortho`` (the paper's objective, no labels) is kept, as k-means keeps its best
    initialisation. ``restarts=1`` is the paper's single run.

    ``callback(done, config.steps * config.restarts)`` (:mod:`hsi.progress`) is called
    before the first step and after each; returning ``True`` raises
    :class:`~hsi.errors.Cancelled`.
    """

    cfg = config or GraphConfig()
    device = device or torch.device("cpu")
    torch.manual_seed(seed)
    # Ã drives both the message passing and the cut loss, with D̃ its degrees (the paper's)
    a = normalized_adjacency(graph.adjacency).tocoo()
    adj_norm = torch.sparse_coo_tensor(
        torch.as_tensor(np.stack([a.row, a.col]), dtype=torch.long),
        torch.as_tensor(a.data, dtype=torch.float32), a.shape,
        check_invariants=False).coalesce().to(device)
    degree = torch.as_tensor(np.asarray(a.sum(1)).ravel(), dtype=torch.float32, device=device)
    x = torch.as_tensor(graph.features, dtype=torch.float32, device=device)
    restarts = max(1, int(cfg.restarts))
    total = cfg.steps * restarts
    best, best_loss = None, float("inf")
    report_progress(callback, 0, total, "mincut")
    for r in range(restarts):  # each restart draws its initialisation from the seeded stream
        net = MinCutGNN(x.shape[1], k, cfg.hidden, cfg.mlp_hidden).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        desc = "mincut" if restarts == 1 else f"mincut, restart {r + 1}/{restarts}"
        for step in progress_bar(range(cfg.steps), desc=desc, disable=not progress,
                                 leave=False):
            cut, ortho = mincut_losses(net(x, adj_norm), adj_norm, degree)
            loss = cut + ortho
            opt.zero_grad()
            loss.backward()
            opt.step()
            report_progress(callback, r * cfg.steps + step + 1, total, "mincut")
        with torch.no_grad():
            s = net(x, adj_norm)
            cut, ortho = mincut_losses(s, adj_norm, degree)
        if float(cut + ortho) < best_loss:
            best, best_loss = s.cpu().numpy(), float(cut + ortho)
    return best


def mincut_cluster(feats: PixelFeatures, x: np.ndarray, k: int, config: GraphConfig | None = None,
                   *, seed: int = 0, device: str | torch.device | None = None,
                   progress: bool = False,
                   callback: ProgressCallback | None = None) -> tuple[np.ndarray, np.ndarray]:
    """minCUT pooling on the scene graph; confidence is the node's assignment probability."""
    cfg = config or GraphConfig()
    graph = scene_graph(feats, x, cfg, seed=seed)
    if graph.n_nodes < k:
        cfg = GraphConfig(**{**cfg.__dict__, "superpixel_size": 1})
        graph = scene_graph(feats, x, cfg, seed=seed)
    s = mincut(graph, k, cfg, seed=seed, device=device, progress=progress, callback=callback)
    node = graph.node_of_pixel(feats.valid)
    return s.argmax(1)[node], s.max(1).astype(np.float32)[node]
