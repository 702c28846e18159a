"""SpectralNet (Shaham et al., ICLR 2018): a network mapping pixels into the Laplacian eigenspace.

An MLP maps features to ``k`` outputs; an orthonormalisation layer (QR of the batch output)
makes them orthogonal on each mini-batch, ``Y^T Y / n = I``. The loss
``sum_ij W_ij ||y_i - y_j||^2 / n`` uses Gaussian affinities between each point and its
nearest neighbours *within the batch*, so training is stochastic and memory stays bounded by
the batch. k-means on the embedding gives the clusters; unseen pixels are embedded by the same
network (out-of-sample), the orthonormalisation frozen at its last estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from hsi.errors import ConfigError
from hsi.progress import ProgressCallback, progress_bar, report_progress

if TYPE_CHECKING:
    from hsi.clustering.features import PixelFeatures


@dataclass
class SpectralNetConfig:
    """Hyper-parameters of :class:`SpectralNet` and its training.

    Attributes
    ----------
    hidden : int
        Width of the two hidden layers.
    steps : int
        Optimisation steps (one mini-batch each).
    batch_size : int
        Pixels per batch (affinities are computed within a batch).
    n_neighbors : int
        Neighbours per pixel in the batch affinity graph.
    lr : float
        Adam learning rate.
    freeze_pixels : int
        Pixels used to estimate the final orthonormalisation for inference.
    normalized : bool
        Minimise the normalised-Laplacian form (and k-means the row-normalised embedding, as
        Ng, Jordan & Weiss) rather than the unnormalised one.
    orthonorm : {"batch", "alternate"}
        ``"batch"``: the orthonormalisation factor comes from the QR of the same batch the loss
        is computed on, with gradients through the QR. ``"alternate"`` (the paper's
        Algorithm 1): each step first sets the factor from the QR of one batch (no gradient),
        then takes a gradient step on the loss of a second batch with that factor fixed.
    affinity : {"euclidean", "siamese"}
        Distances the batch affinities use: of the input features, or (the paper's Siamese
        option, :func:`fit_siamese`) of a Siamese network's embedding trained first to pull
        each pixel's nearest neighbours in (positives) and push random pairs out (negatives).
    siamese_neighbors, siamese_steps, siamese_dim : int
        Positives per pixel (its nearest neighbours over all fit pixels), training steps
        (``batch_size`` pixels each) and output width of the Siamese network.
    scale : {"median", "local"}
        Bandwidth of the batch affinities: one for the batch, the median distance to the
        ``n_neighbors``-th neighbour (SpectralNet's code), or one per pixel, its own distance
        to that neighbour, ``w_ij = exp(-d_ij^2 / (2 s_i s_j))`` (Zelnik-Manor & Perona's
        self-tuning scale).
    """

    hidden: int = 128
    steps: int = 400
    batch_size: int = 512
    n_neighbors: int = 16
    lr: float = 1e-3
    freeze_pixels: int = 8192
    normalized: bool = True
    orthonorm: str = "batch"
    affinity: str = "euclidean"
    siamese_neighbors: int = 2
    siamese_steps: int = 400
    siamese_dim: int = 16
    scale: str = "median"


class Orthonorm(nn.Module):
    """Output layer making a batch's columns orthonormal: ``Y = Ỹ R^{-1} sqrt(n)``, ``Ỹ = QR``.

    In training mode the factor comes from the current batch (gradients flow through the QR);
    the last factor is kept in a buffer and used in eval mode (out-of-sample embedding).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("weight", torch.eye(dim))

    @staticmethod
    def factor(y: torch.Tensor) -> torch.Tensor:
        """``R^{-1} sqrt(n)`` for a batch ``y`` (n, dim)."""
        _, r = torch.linalg.qr(y)
        eye = torch.eye(r.shape[0], dtype=y.dtype, device=y.device)
        r = r + 1e-6 * eye * torch.sign(torch.diagonal(r) + 1e-12)[None]
        return torch.linalg.solve_triangular(r, eye, upper=True) * (y.shape[0] ** 0.5)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if self.training:
            w = self.factor(y)
            self.weight.copy_(w.detach())
            return y @ w
        return y @ self.weight

    def freeze(self, y: torch.Tensor) -> None:
        """Set the eval-mode factor from a (large) batch of raw outputs."""
        self.weight.copy_(self.factor(y).detach())


class SpectralNet(nn.Module):
    """MLP + :class:`Orthonorm`: ``(n, in_features) -> (n, k)``.

    Parameters
    ----------
    in_features : int
    k : int
        Embedding dimension (the number of clusters).
    hidden : int
    """

    def __init__(self, in_features: int, k: int, hidden: int = 128) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, k),
        )
        self.orthonorm = Orthonorm(k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.orthonorm(self.body(x))

    @torch.no_grad()
    def embed(self, x: np.ndarray, batch: int = 65536) -> np.ndarray:
        """Out-of-sample embedding of pixels ``x`` (N, in_features) -> ``(N, k)`` float32."""
        was = self.training
        self.eval()
        dev = next(self.parameters()).device
        out = [self(torch.as_tensor(np.asarray(x[s:s + batch]), dtype=torch.float32,
                                    device=dev)).cpu().numpy()
               for s in range(0, len(x), batch)]
        self.train(was)
        return np.concatenate(out) if out else np.zeros((0, self.orthonorm.weight.shape[0]))


def batch_affinity(x: torch.Tensor, n_neighbors: int, scale: str = "median") -> torch.Tensor:
    """Symmetric kNN Gaussian affinity ``(n, n)`` within a batch ``x`` (n, d).

    Bandwidth (``scale``, see :class:`SpectralNetConfig`): ``"median"``, the median distance
    to the ``n_neighbors``-th neighbour; ``"local"``, each pixel's own distance to it.
    """
    if scale not in ("median", "local"):
        raise ConfigError(f"scale: expected 'median' or 'local', got {scale!r}")
    d2 = torch.cdist(x, x).pow(2)
    kk = min(n_neighbors + 1, x.shape[0])
    vals, idx = d2.topk(kk, dim=1, largest=False)
    if scale == "median":
        sigma2 = vals[:, -1].median().clamp_min(1e-12)
    else:  # s_i s_j for each kept pair (i, idx[i, j])
        s = vals[:, -1].clamp_min(1e-12).sqrt()
        sigma2 = s[:, None] * s[idx[:, 1:]]
    w = torch.zeros_like(d2)
    w.scatter_(1, idx[:, 1:], torch.exp(-vals[:, 1:] / (2 * sigma2)))
    return torch.maximum(w, w.T)


def contrastive_pair_loss(za: torch.Tensor, zb: torch.Tensor, positive: torch.Tensor,
                          margin: float = 1.0) -> torch.Tensor:
    """The Siamese contrastive loss (Hadsell et al. 2006; SpectralNet's Siamese network).

    Parameters
    ----------
    za, zb : torch.Tensor, shape (n, d)
        Embeddings of the two members of each pair.
    positive : torch.Tensor of bool, shape (n,)
        Whether each pair is a positive (neighbours) or a negative pair.
    margin : float
        Distance beyond which a negative pair costs nothing.

    Returns
    -------
    torch.Tensor, scalar
        Mean over pairs of ``||za - zb||²`` (positives) or ``max(margin - ||za - zb||, 0)²``
        (negatives).
    """
    d = (za - zb).pow(2).sum(1).clamp_min(1e-12).sqrt()
    return torch.where(positive, d.pow(2), (margin - d).clamp_min(0).pow(2)).mean()


def fit_siamese(x: np.ndarray, config: SpectralNetConfig, *, gen: torch.Generator,
                device: str | torch.device | None) -> nn.Module:
    """Train SpectralNet's Siamese network on pixel features ``x`` (N, d).

    Positive pairs: each pixel and one of its ``config.siamese_neighbors`` nearest neighbours
    (Euclidean, over all ``N`` pixels); negative pairs: each pixel and a random pixel. Each
    step draws ``batch_size`` pixels, one positive and one negative partner each, and takes an
    Adam step on :func:`contrastive_pair_loss` (margin 1). Returns the network ``(N, d) ->
    (N, siamese_dim)`` in eval mode.
    """
    from sklearn.neighbors import NearestNeighbors

    cfg = config
    n = len(x)
    kk = max(1, min(cfg.siamese_neighbors, n - 1))
    _, nbr = NearestNeighbors(n_neighbors=kk + 1).fit(x).kneighbors(x)
    nbr = torch.as_tensor(nbr[:, 1:])
    net = nn.Sequential(nn.Linear(x.shape[1], cfg.hidden), nn.ReLU(),
                        nn.Linear(cfg.hidden, cfg.hidden), nn.ReLU(),
                        nn.Linear(cfg.hidden, cfg.siamese_dim)).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    xt = torch.as_tensor(x, dtype=torch.float32)
    b = min(cfg.batch_size, n)
    positive = torch.cat([torch.ones(b, dtype=torch.bool), torch.zeros(b, dtype=torch.bool)])
    for _ in range(cfg.siamese_steps):
        idx = torch.randperm(n, generator=gen)[:b]
        pos = nbr[idx, torch.randint(kk, (b,), generator=gen)]
        neg = torch.randint(n, (b,), generator=gen)
        za = net(xt[torch.cat([idx, idx])].to(device))
        zb = net(xt[torch.cat([pos, neg])].to(device))
        loss = contrastive_pair_loss(za, zb, positive.to(device))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def spectral_loss(y: torch.Tensor, w: torch.Tensor, normalized: bool = True) -> torch.Tensor:
    """``sum_ij W_ij ||y_i - y_j||^2 / n`` (the Laplacian quadratic form per pixel).

    With ``normalized``, rows are divided by ``sqrt(degree)`` first: the form of the symmetric
    normalised Laplacian (normalised cut) instead of the unnormalised one (ratio cut).
    """
    if normalized:
        y = y / w.sum(1, keepdim=True).clamp_min(1e-12).sqrt()
    d2 = torch.cdist(y, y).pow(2)
    return (w * d2).sum() / y.shape[0]


def fit_spectralnet(x: np.ndarray, k: int, config: SpectralNetConfig | None = None, *,
                    seed: int = 0, device: str | torch.device | None = None, progress: bool = False,
                    callback: ProgressCallback | None = None) -> SpectralNet:
    """Train :class:`SpectralNet` on pixel features ``x`` (N, d) by mini-batch optimisation.

    Returns the trained network in eval mode, its orthonormalisation frozen on up to
    ``config.freeze_pixels`` pixels. ``callback(done, config.steps)`` (:mod:`hsi.progress`)
    is called before the first step and after each; returning ``True`` raises
    :class:`~hsi.errors.Cancelled`.
    """

    cfg = config or SpectralNetConfig()
    device = device or torch.device("cpu")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = SpectralNet(x.shape[1], k, cfg.hidden).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    xt = torch.as_tensor(x, dtype=torch.float32)
    n = len(xt)
    b = min(cfg.batch_size, n)
    if cfg.affinity not in ("euclidean", "siamese"):
        raise ConfigError(f"affinity: expected 'euclidean' or 'siamese', got {cfg.affinity!r}")
    siamese = fit_siamese(x, cfg, gen=gen, device=device) if cfg.affinity == "siamese" else None
    net.train()
    report_progress(callback, 0, cfg.steps, "spectralnet")
    for step in progress_bar(range(cfg.steps), desc="spectralnet", disable=not progress,
                             leave=False):
        if cfg.orthonorm == "alternate":
            idx = torch.randperm(n, generator=gen)[:b]
            with torch.no_grad():
                net.orthonorm.freeze(net.body(xt[idx].to(device)))
            net.orthonorm.eval()  # the gradient step uses the factor just set
        idx = torch.randperm(n, generator=gen)[:b]
        xb = xt[idx].to(device)
        if siamese is not None:
            with torch.no_grad():
                w = batch_affinity(siamese(xb), cfg.n_neighbors, cfg.scale)
        else:
            w = batch_affinity(xb, cfg.n_neighbors, cfg.scale)
        loss = spectral_loss(net(xb), w, cfg.normalized)
        net.orthonorm.train()
        opt.zero_grad()
        loss.backward()
        opt.step()
        report_progress(callback, step + 1, cfg.steps, "spectralnet")
    idx = torch.randperm(n, generator=gen)[:min(cfg.freeze_pixels, n)]
    with torch.no_grad():
        net.orthonorm.freeze(net.body(xt[idx].to(device)))
    return net.eval()


@dataclass
class SpectralNetModel:
    """A fitted SpectralNet clustering: the network and the k-means centres of its embedding.

    What :func:`fit_spectralnet_model` returns; :meth:`assign` clusters pixels it was not
    fitted on (a tile of a scene fitted on a sample).

    Attributes
    ----------
    net : SpectralNet
        Trained, in eval mode (orthonormalisation frozen).
    centres : numpy.ndarray, float, shape (k, k)
        k-means centres of the (row-normalised with ``normalized``) embedding of the fit pixels.
    normalized : bool
        Row-normalise embeddings before the nearest centre (``SpectralNetConfig.normalized``).
    halo : int
        Pixels of context a pixel's features read (their neighbourhood radius).
    """

    net: SpectralNet
    centres: np.ndarray
    normalized: bool = True
    halo: int = 0

    @property
    def k(self) -> int:
        return int(self.centres.shape[0])

    def embedding(self, x: np.ndarray) -> np.ndarray:
        """Out-of-sample embedding of pixel features ``x`` (N, d), row-normalised with
        ``normalized``: ``(N, k)`` float32."""
        emb = self.net.embed(x)
        if self.normalized:
            emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        return emb

    def assign_pixels(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest centre of each row of ``x`` (N, d) in the embedding: labels 0..k-1 and the
        margin confidence."""
        from hsi.clustering.baselines import assign_to_centres

        return assign_to_centres(self.embedding(x), self.centres)

    def assign(self, feats: PixelFeatures,
               where: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Labels and confidence of the valid pixels of :class:`PixelFeatures` ``feats``
        inside ``where`` (row-major), as :meth:`PixelFeatures.pixels` orders them."""
        return self.assign_pixels(feats.pixels(where))


def fit_spectralnet_model(x: np.ndarray, k: int, config: SpectralNetConfig | None = None, *,
                          halo: int = 0, seed: int = 0, device: str | torch.device | None = None,
                          progress: bool = False, callback: ProgressCallback | None = None,
                          embedding: list | None = None) -> SpectralNetModel:
    """Train SpectralNet on pixel features ``x`` (N, d) and fit k-means on their embedding.

    ``embedding``, when a list, receives the fit pixels' embedding (so a caller clustering
    the same pixels need not embed them twice).
    """
    from hsi.clustering.baselines import kmeans_centres

    cfg = config or SpectralNetConfig()
    net = fit_spectralnet(x, k, cfg, seed=seed, device=device, progress=progress,
                          callback=callback)
    model = SpectralNetModel(net=net, centres=np.zeros((k, k)), normalized=cfg.normalized,
                             halo=int(halo))
    emb = model.embedding(x)
    model.centres = kmeans_centres(emb, k, seed=seed, n_init=10)
    if embedding is not None:
        embedding.append(emb)
    return model


def spectralnet_cluster(x: np.ndarray, k: int, config: SpectralNetConfig | None = None, *,
                        seed: int = 0, device: str | torch.device | None = None,
                        progress: bool = False,
                        callback: ProgressCallback | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Train SpectralNet, embed every pixel, k-means the embedding.

    Returns ``labels`` (N,) 0..k-1 and margin ``confidence`` (N,) in the embedding.
    """
    from hsi.clustering.baselines import assign_to_centres

    emb: list = []
    model = fit_spectralnet_model(x, k, config, seed=seed, device=device, progress=progress,
                                  callback=callback, embedding=emb)
    return assign_to_centres(emb[0], model.centres)
