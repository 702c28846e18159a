"""Dink-Net (Liu et al., ICML 2023): cluster dilation and shrink losses on mini-batches.

Pixels are the nodes of the pixel-grid graph; each pixel's features are its PCA scores and
their neighbourhood means (:mod:`hsi.clustering.features`: one step of graph propagation per
window, computed once for the whole scene, so training never needs the graph in memory).

1. Pre-training, group discrimination (DGI/GGD style): a one-layer encoder (``Linear`` +
   PReLU, 512 units, as the authors' code; the paper's is a GCN layer, here the propagation is
   the features' neighbourhood means) embeds pixels; a linear scorer tells real pixels from
   corrupted ones (binary cross-entropy). By default
   (``corruption="swap"``) a corrupted pixel keeps its own scores and takes another random
   pixel's neighbourhood means. The paper's corruption (shuffle the nodes, then propagate:
   a random pixel's scores and, per window of ``m`` pixels, the mean of ``m`` random pixels'
   scores) is ``corruption="shuffle"``; it scored lower here (mean NMI 0.386 vs 0.480 on
   Salinas-A, Samson, Jasper Ridge; see the README) and fails the synthetic block test.
2. Cluster centres are initialised by k-means of the embeddings of a sample of pixels.
3. Fine-tuning on mini-batches of unit-norm embeddings ``h`` and centres ``c``: the shrink
   loss ``mean_i min_j ||h_i - c_j||^2`` minus the dilation term
   ``mean_{j != l} ||c_j - c_l||^2`` (see :class:`DinkNetConfig` for the paper's all-centre
   shrink variant). As in the authors' code, the embeddings are detached: fine-tuning moves
   the centres only (``finetune_encoder=True`` also trains the encoder, with the
   discrimination loss kept at weight 1; that collapsed clusters here).
4. Each pixel goes to its nearest centre; confidence is the distance margin.

Memory grows with the batch, not the scene: a 4-megapixel scene needs its feature matrix and
the label map only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hsi.progress import ProgressCallback, progress_bar, report_progress

if TYPE_CHECKING:
    from hsi.clustering.features import PixelFeatures


@dataclass
class DinkNetConfig:
    """Hyper-parameters of :class:`DinkNet` and its two training stages.

    Attributes
    ----------
    hidden : int
        Width of the encoder's first layer.
    embed_dim : int
        0 (default): the paper's one-layer encoder (``Linear`` + PReLU, 512 units as the
        authors' Cora setting), the embedding is its ``hidden`` outputs; else a second linear
        layer to ``embed_dim`` (earlier versions: 256 then 64; with the encoder frozen in
        fine-tuning, seed-to-seed label agreement NMI 0.29-0.51 on three unlabelled ABU
        scenes against 0.57-0.67 for the default).
    pretrain_steps, finetune_steps : int
        Mini-batch steps of the discrimination pre-training and of the clustering fine-tuning.
    batch_size : int
    lr, finetune_lr : float
        Adam learning rates of the two stages. The authors fine-tune at 1e-2; with the
        encoder frozen that lowered the cluster-size entropy on unlabelled ABU scenes (0.62-0.71
        against 0.80-0.84 at 1e-4) and left a cluster empty in 1 of 9 runs, so 1e-4 stays.
    init_pixels : int
        Pixels embedded to initialise the centres by k-means.
    shrink : {"nearest", "all"}
        Shrink each sample towards its nearest centre (default), or towards all centres as the
        paper's formula (on our features that pulls every pixel to the centres' mean and
        collapses the clustering: ACC 0.56 vs 1.0 on the synthetic test scene).
    finetune_encoder : bool
        Train the encoder during fine-tuning too. Off by default, as the authors' code (its
        ``embed`` detaches the embeddings, so the clustering loss moves the centres only and
        the discrimination loss, at weight ``1e-10``, is all that reaches the encoder).
        Training it by the clustering loss collapsed clusters here (empty clusters and
        seed-to-seed label agreement NMI 0.23-0.65 on unlabelled ABU scenes).
    joint_discrimination : bool
        With ``finetune_encoder``: keep the discrimination loss (weight 1) during fine-tuning.
    corruption : {"swap", "shuffle"}
        How :func:`corrupt` makes the fake pixels (see the module docstring; ``"shuffle"`` is
        the paper's).
    """

    hidden: int = 512
    embed_dim: int = 0
    pretrain_steps: int = 300
    finetune_steps: int = 200
    batch_size: int = 1024
    lr: float = 1e-3
    finetune_lr: float = 1e-4
    init_pixels: int = 20000
    shrink: str = "nearest"
    finetune_encoder: bool = False
    joint_discrimination: bool = True
    corruption: str = "swap"


class DinkNet(nn.Module):
    """Encoder, discrimination scorer and ``k`` learnable cluster centres."""

    def __init__(self, in_features: int, k: int, hidden: int = 512, embed_dim: int = 0) -> None:
        super().__init__()
        if embed_dim:
            self.encoder = nn.Sequential(
                nn.Linear(in_features, hidden), nn.PReLU(),
                nn.Linear(hidden, embed_dim),
            )
        else:  # the paper's one layer: embeddings are the PReLU outputs
            embed_dim = hidden
            self.encoder = nn.Sequential(nn.Linear(in_features, hidden), nn.PReLU())
        self.scorer = nn.Linear(embed_dim, 1)
        self.centres = nn.Parameter(torch.zeros(k, embed_dim))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Unit-norm embeddings ``(n, embed_dim)``."""
        return F.normalize(self.encoder(x), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x)


def corrupt(x: torch.Tensor, spatial: bool, gen: torch.Generator, *,
            radii: tuple = (1,), mode: str = "swap") -> torch.Tensor:
    """Corrupted copies of a batch ``x`` (n, C (1 + len(radii))): scores then one block of
    neighbourhood means per radius (``spatial``), else scores only.

    ``"shuffle"`` (the paper's: shuffle the nodes, then propagate): row ``i`` gets a random
    row's scores and, for the block of radius ``r``, the mean of ``(2r+1)²`` random rows'
    scores. ``"swap"``: row ``i`` keeps its scores and takes another row's neighbourhood
    blocks. Without ``spatial`` (or when the columns do not split into those blocks) each row's
    features are permuted.
    """
    n, d = x.shape
    blocks = 1 + len(radii)
    if spatial and d % blocks == 0 and n > 1:
        c = d // blocks
        perm = torch.randperm(n, generator=gen).to(x.device)
        if mode == "swap":
            return torch.cat([x[:, :c], x[perm, c:]], dim=1)
        own = x[:, :c]
        parts = [own[perm]]
        for r in radii:
            m = (2 * r + 1) ** 2
            idx = torch.randint(n, (n, m), generator=gen).to(x.device)
            parts.append(own[idx].mean(1))
        return torch.cat(parts, dim=1)
    perm = torch.argsort(torch.rand(n, d, generator=gen), dim=1).to(x.device)
    return torch.gather(x, 1, perm)


def discrimination_loss(net: DinkNet, x: torch.Tensor, x_fake: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the scorer: real rows 1, corrupted rows 0."""
    logits = torch.cat([net.scorer(net.embed(x)), net.scorer(net.embed(x_fake))]).squeeze(1)
    target = torch.cat([torch.ones(len(x)), torch.zeros(len(x_fake))]).to(x.device)
    return F.binary_cross_entropy_with_logits(logits, target)


def dilation_shrink_losses(h: torch.Tensor, centres: torch.Tensor, shrink: str = "nearest"
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Dink-Net's dilation and shrink losses (Liu et al., ICML 2023) on a batch.

    Parameters
    ----------
    h : torch.Tensor, shape (n, e)
        Sample embeddings (unit-norm in :func:`fit_dinknet`; used as given).
    centres : torch.Tensor, shape (k, e)
        Cluster centres, ``k >= 2``; L2-normalised here (the paper does not normalise them).
    shrink : {"nearest", "all"}
        Which centres each sample is pulled to (see :class:`DinkNetConfig`).

    Returns
    -------
    dilation : torch.Tensor, scalar
        ``-1 / (k (k - 1)) sum_{j != l} ||c_j - c_l||^2`` (pushes centres apart).
    shrink : torch.Tensor, scalar
        ``"nearest"``: ``1 / n sum_i min_j ||h_i - c_j||^2``; ``"all"`` (the paper's):
        ``1 / (n k) sum_{i, j} ||h_i - c_j||^2`` (pulls samples and centres together).
    """
    c = F.normalize(centres, dim=1)
    k = c.shape[0]
    dc = torch.cdist(c, c).pow(2)
    dilation = -dc.sum() / (k * (k - 1))
    d = torch.cdist(h, c).pow(2)
    shrink = d.min(1).values.mean() if shrink == "nearest" else d.mean()
    return dilation, shrink


def fit_dinknet(x: np.ndarray, k: int, config: DinkNetConfig | None = None, *, spatial: bool = True,
                radii: tuple = (1,), seed: int = 0, device: str | torch.device | None = None,
                progress: bool = False, callback: ProgressCallback | None = None) -> DinkNet:
    """Pre-train, initialise centres and fine-tune :class:`DinkNet` on pixel features
    ``x`` (N, d).

    ``callback(done, pretrain_steps + finetune_steps)`` (:mod:`hsi.progress`) is called
    before the first step and after each; returning ``True`` raises
    :class:`~hsi.errors.Cancelled`.
    """

    from hsi.clustering.baselines import kmeans_centres, subsample

    cfg = config or DinkNetConfig()
    device = device or torch.device("cpu")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = DinkNet(x.shape[1], k, cfg.hidden, cfg.embed_dim).to(device)
    xt = torch.as_tensor(x, dtype=torch.float32)
    n = len(xt)
    b = min(cfg.batch_size, n)
    opt = torch.optim.Adam([*net.encoder.parameters(), *net.scorer.parameters()], lr=cfg.lr)
    total = cfg.pretrain_steps + cfg.finetune_steps
    report_progress(callback, 0, total, "dinknet")
    for step in progress_bar(range(cfg.pretrain_steps), desc="dinknet pretrain",
                             disable=not progress, leave=False):
        xb = xt[torch.randperm(n, generator=gen)[:b]].to(device)
        loss = discrimination_loss(net, xb, corrupt(xb, spatial, gen, radii=radii,
                                                               mode=cfg.corruption))
        opt.zero_grad()
        loss.backward()
        opt.step()
        report_progress(callback, step + 1, total, "dinknet")
    idx = subsample(n, cfg.init_pixels, seed)
    emb = embed(net, x[idx])
    with torch.no_grad():
        net.centres.copy_(torch.as_tensor(kmeans_centres(emb, k, seed=seed, n_init=10),
                                          dtype=torch.float32))
    train_encoder = cfg.finetune_encoder
    params = [*net.encoder.parameters(), net.centres] if train_encoder else [net.centres]
    opt = torch.optim.Adam(params, lr=cfg.finetune_lr)
    for step in progress_bar(range(cfg.finetune_steps), desc="dinknet finetune",
                             disable=not progress, leave=False):
        xb = xt[torch.randperm(n, generator=gen)[:b]].to(device)
        with torch.set_grad_enabled(train_encoder):
            h = net.embed(xb)
        dilation, shrink = dilation_shrink_losses(h, net.centres, cfg.shrink)
        loss = dilation + shrink
        if train_encoder and cfg.joint_discrimination:
            loss = loss + discrimination_loss(net, xb, corrupt(xb, spatial, gen, radii=radii,
                                                               mode=cfg.corruption))
        opt.zero_grad()
        loss.backward()
        opt.step()
        report_progress(callback, cfg.pretrain_steps + step + 1, total, "dinknet")
    return net.eval()


@torch.no_grad()
def embed(net: DinkNet, x: np.ndarray, batch: int = 65536) -> np.ndarray:
    """Embeddings ``(N, embed_dim)`` float32 of pixel features, in chunks."""
    dev = net.centres.device
    out = [net.embed(torch.as_tensor(x[s:s + batch], dtype=torch.float32, device=dev))
           .cpu().numpy() for s in range(0, len(x), batch)]
    return np.concatenate(out)


@dataclass
class DinkNetModel:
    """A fitted Dink-Net clustering: the encoder and its learned (unit-norm) centres.

    What :func:`fit_dinknet_model` returns; :meth:`assign` clusters pixels it was not fitted
    on (a tile of a scene fitted on a sample).

    Attributes
    ----------
    net : DinkNet
        Trained, in eval mode.
    centres : numpy.ndarray, float32, shape (k, embed_dim)
        The net's centres, L2-normalised.
    halo : int
        Pixels of context a pixel's features read (their neighbourhood radius).
    """

    net: DinkNet
    centres: np.ndarray
    halo: int = 0

    @property
    def k(self) -> int:
        return int(self.centres.shape[0])

    def assign_pixels(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest centre of each row of ``x`` (N, d) in the embedding: labels 0..k-1 and the
        margin confidence, in chunks (the ``(N, embed_dim)`` matrix is never whole)."""
        from hsi.clustering.baselines import assign_to_centres

        labels = np.empty(len(x), dtype=np.int64)
        conf = np.empty(len(x), dtype=np.float32)
        step = 262144
        for s in range(0, len(x), step):
            labels[s:s + step], conf[s:s + step] = assign_to_centres(
                embed(self.net, x[s:s + step]), self.centres)
        return labels, conf

    def assign(self, feats: PixelFeatures,
               where: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Labels and confidence of the valid pixels of :class:`PixelFeatures` ``feats``
        inside ``where`` (row-major), as :meth:`PixelFeatures.pixels` orders them."""
        return self.assign_pixels(feats.pixels(where))


def fit_dinknet_model(feats: PixelFeatures, x: np.ndarray, k: int,
                      config: DinkNetConfig | None = None, *, seed: int = 0,
                      device: str | torch.device | None = None, progress: bool = False,
                      callback: ProgressCallback | None = None) -> DinkNetModel:
    """Train Dink-Net on pixel features ``x`` (N, d) (``feats.pixels()``; ``feats`` gives the
    feature layout the corruption needs)."""
    net = fit_dinknet(x, k, config, spatial=feats.spatial, radii=feats.radii, seed=seed,
                      device=device, progress=progress, callback=callback)
    centres = F.normalize(net.centres.detach(), dim=1).cpu().numpy()
    return DinkNetModel(net=net, centres=centres, halo=feats.halo)


def dinknet_cluster(feats: PixelFeatures, x: np.ndarray, k: int,
                    config: DinkNetConfig | None = None, *, seed: int = 0,
                    device: str | torch.device | None = None, progress: bool = False,
                    callback: ProgressCallback | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Dink-Net clustering of pixel features ``x`` (N, d): nearest-centre labels and margin
    confidence."""
    model = fit_dinknet_model(feats, x, k, config, seed=seed, device=device,
                              progress=progress, callback=callback)
    return model.assign_pixels(x)
