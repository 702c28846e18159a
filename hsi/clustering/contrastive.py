"""Contrastive Clustering (Li et al., AAAI 2021) on small spectral-spatial patches.

A shared backbone feeds an instance head (NT-Xent between two augmented views of each patch)
and a cluster head (softmax over ``k``; NT-Xent between the *columns* of the two views, minus
the entropy of the cluster-assignment marginal to avoid a trivial one-cluster solution). The
cluster head's argmax is the cluster and its maximum the confidence.

Views are adapted to spectra: patches of PCA scores are augmented as spectra (Gaussian band
noise, band dropout, brightness scaling, then projected again), then flipped/transposed
spatially. The band-space augmentation is computed in score space, exactly in distribution
(:class:`SpectralViews`), and both views go through the network in one batch.

Deviations from the paper: a two-layer CNN on 5×5 patches of PCA scores instead of a ResNet on
images, spectral instead of image augmentations, 300 steps of 256 patches instead of 1000
epochs, and the constant ``2 log k`` added to the cluster loss (as the authors' code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hsi.classification.features import extract_patches, pad_features
from hsi.progress import ProgressCallback, progress_bar, report_progress

if TYPE_CHECKING:
    from hsi.classification.features import PcaTransform
    from hsi.clustering.features import PixelFeatures


@dataclass
class ContrastiveConfig:
    """Hyper-parameters of :class:`ContrastiveClusterer` and its training.

    Attributes
    ----------
    patch_size : int
        Odd side of the patch around each pixel.
    width : int
        Convolution channels of the backbone.
    hidden, feature_dim : int
        Backbone output width and instance-embedding width.
    steps, batch_size : int
        Optimisation steps and patches per step.
    lr : float
        Adam learning rate.
    instance_temperature, cluster_temperature : float
        NT-Xent temperatures (0.5 and 1.0 in the paper).
    noise : float
        Band-noise std relative to the mean absolute spectrum value.
    band_dropout : float
        Probability of zeroing each band (per view).
    brightness : float
        Spectra are scaled by ``U(1 - brightness, 1 + brightness)`` (per view).
    views : {"augment", "spectral-spatial"}
        ``"augment"``: both views are augmentations of the same patch (the paper's).
        ``"spectral-spatial"``: MCGC's two views of a pixel (Pan & Kang, NeurIPS 2021), each
        then augmented: its spectrum alone (:func:`spectral_view`) and its neighbourhood with
        the pixel itself replaced by the neighbours' mean (:func:`spatial_view`); a pixel's
        cluster probabilities are the mean over its two unaugmented views.
    """

    patch_size: int = 5
    width: int = 64
    hidden: int = 128
    feature_dim: int = 64
    steps: int = 300
    batch_size: int = 256
    lr: float = 3e-4
    instance_temperature: float = 0.5
    cluster_temperature: float = 1.0
    noise: float = 0.02
    band_dropout: float = 0.05
    brightness: float = 0.2
    views: str = "augment"


class ContrastiveClusterer(nn.Module):
    """Backbone + instance head + cluster head on ``(B, C, p, p)`` patches.

    ``backbone``, when given, replaces the default one: any module mapping the patches to
    ``(B, config.hidden)`` features (e.g. a classifier's feature trunk, trained in place).
    """

    def __init__(self, channels: int, k: int, config: ContrastiveConfig,
                 backbone: nn.Module | None = None) -> None:
        super().__init__()
        w, h = config.width, config.hidden
        self.backbone = backbone if backbone is not None else nn.Sequential(
            nn.Conv2d(channels, w, 3, padding=1), nn.ReLU(),
            nn.Conv2d(w, w, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(w, h), nn.ReLU(),
        )
        self.instance_head = nn.Sequential(nn.Linear(h, h), nn.ReLU(),
                                           nn.Linear(h, config.feature_dim))
        self.cluster_head = nn.Sequential(nn.Linear(h, h), nn.ReLU(), nn.Linear(h, k))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return unit-norm instance features ``(B, feature_dim)`` and cluster probabilities
        ``(B, k)``."""
        h = self.backbone(x)
        return F.normalize(self.instance_head(h), dim=1), self.cluster_head(h).softmax(1)


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent between matched rows of ``a`` and ``b`` (n, d), each pair a positive."""
    z = F.normalize(torch.cat([a, b]), dim=1)
    n = a.shape[0]
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(a.device)
    return F.cross_entropy(sim, target)


def cluster_loss(pa: torch.Tensor, pb: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cluster-level contrastive loss on the columns of ``pa``, ``pb`` (B, k), plus the
    negative-entropy terms ``log k - H(P)`` of both views' marginals."""
    k = pa.shape[1]
    loss = nt_xent(pa.T, pb.T, temperature)
    for p in (pa, pb):
        m = p.sum(0) / p.sum()
        loss = loss + np.log(k) + (m * torch.log(m.clamp_min(1e-12))).sum()
    return loss


#: :attr:`ContrastiveConfig.views` choices.
VIEWS = ("augment", "spectral-spatial")


def spectral_view(patches: torch.Tensor) -> torch.Tensor:
    """The spectral view of patches ``(B, C, p, p)``: each centre pixel's channels over the
    whole patch (no spatial context), same shape."""
    c = patches.shape[-1] // 2
    return patches[:, :, c:c + 1, c:c + 1].expand_as(patches).contiguous()


def spatial_view(patches: torch.Tensor) -> torch.Tensor:
    """The spatial view of patches ``(B, C, p, p)``: the patch with its centre pixel replaced
    by the mean of the other ``p² - 1`` pixels (the context without the pixel), same shape."""
    p = patches.shape[-1]
    c = p // 2
    centre = patches[:, :, c, c]
    out = patches.clone()
    out[:, :, c, c] = (patches.sum((-1, -2)) - centre) / max(p * p - 1, 1)
    return out


def pixel_views(patches: torch.Tensor, views: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The two unaugmented views of :attr:`ContrastiveConfig.views`: the patches twice
    (``"augment"``), or :func:`spectral_view` and :func:`spatial_view`."""
    if views == "spectral-spatial":
        return spectral_view(patches), spatial_view(patches)
    return patches, patches


class SpectralViews:
    """Random views of score patches, augmented in band space (see module docstring).

    ``pca`` is the :class:`~hsi.classification.features.PcaTransform` that made the scores.

    A view of scores ``z`` (one pixel, ``(C,)``) is the projection of its augmented spectrum,
    ``z' = ((x s + n) ⊙ m - μ) P`` with ``x = z Q + μ`` the spectrum (``Q``: ``comp``,
    ``(C, bands)``; ``μ`` the PCA mean), ``s`` the brightness factor, ``n ~ N(0, σ² I)`` the
    band noise (``σ = noise`` × the mean absolute spectrum value), ``m`` the kept bands and
    ``P`` (``proj``, ``(bands, C)``) the projection. It is computed in score space,
    never forming the spectra: ``z' = s z M + (s μ ⊙ m - μ) P + ε`` with ``M = Q diag(m) P``
    ``(C, C)`` and ``ε ~ N(0, σ² Pᵀ diag(m) P)`` (the projected noise, drawn through that
    ``C × C`` covariance's square root), per patch. Same distribution as augmenting the
    ``bands``-long spectra, ``bands / C`` times fewer random numbers and products.

    Scores of unit-norm spectra (``pca.unit_norm``): the brightness factor does not change a
    unit spectrum, so ``s = 1`` in the formula above; it moves the brightness channel (the
    last one, when ``pca.brightness`` is set) by ``log(s) / spread`` instead. The noisy,
    band-dropped unit spectrum is not normalised again (an approximation: its norm changes by
    about the noise level).
    """

    def __init__(self, pca: PcaTransform, config: ContrastiveConfig,
                 device: str | torch.device | None) -> None:
        comp = pca.components * pca.scale[:, None]  # (C, bands)
        self.comp = torch.as_tensor(comp, dtype=torch.float32, device=device)
        self.proj = torch.as_tensor(pca.components.T / pca.scale[None],
                                    dtype=torch.float32, device=device)  # (bands, C)
        self.mean = torch.as_tensor(pca.mean, dtype=torch.float32, device=device)
        self.level = float(np.abs(pca.mean).mean()) or 1.0
        self.n_scores = int(pca.components.shape[0])
        self.unit_norm = bool(getattr(pca, "unit_norm", False))
        brightness = getattr(pca, "brightness", None)
        self.spread = None if brightness is None else float(brightness[1])
        self.cfg = config

    def __call__(self, patches: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Views ``(B, C, p, p)`` of score patches ``(B, C, p, p)``; ``gen`` draws on the CPU.

        Per patch: brightness ``s``, the kept-band mask ``m``, the projected noise, then a
        horizontal flip, a vertical flip and a transpose, each with probability 1/2.
        """
        cfg = self.cfg
        dev = patches.device
        b = patches.shape[0]
        c = self.n_scores
        patches, extra = patches[:, :c], patches[:, c:]  # scores, brightness channel
        bands = self.mean.shape[0]

        def rand(*shape: int) -> torch.Tensor:
            return torch.rand(*shape, generator=gen).to(dev)

        brightness = 1 + cfg.brightness * (2 * rand(b, 1) - 1)  # (B, 1)
        scale = torch.ones_like(brightness) if self.unit_norm else brightness
        keep = (rand(b, bands) >= cfg.band_dropout).float()  # (B, bands)
        mix = (self.comp[None] * keep[:, None, :]) @ self.proj  # (B, C, C)
        offset = (scale * keep * self.mean - self.mean) @ self.proj  # (B, C)
        z = patches.permute(0, 2, 3, 1).reshape(b, -1, c)  # (B, p², C)
        z = scale[:, :, None] * (z @ mix) + offset[:, None, :]
        sigma = cfg.noise * self.level
        if sigma > 0:
            cov = (self.proj.T[None] * keep[:, None, :]) @ self.proj  # (B, C, C)
            evals, evecs = torch.linalg.eigh(cov.double())
            root = (evecs * evals.clamp_min(0).sqrt()[:, None, :]).float()  # cov = root rootᵀ
            eps = torch.randn((b, z.shape[1], c), generator=gen).to(dev)
            z = z + sigma * eps @ root.transpose(1, 2)
        p = patches.shape[-1]
        z = z.reshape(b, p, p, c).permute(0, 3, 1, 2)
        if extra.shape[1]:
            z = torch.cat([z, extra + (brightness.log() / self.spread)[:, :, None, None]], 1)
        flip_h, flip_v, swap = (rand(b) < 0.5 for _ in range(3))
        z = torch.where(flip_h[:, None, None, None], z.flip(-1), z)
        z = torch.where(flip_v[:, None, None, None], z.flip(-2), z)
        return torch.where(swap[:, None, None, None], z.transpose(-1, -2), z)


def fit_contrastive(feats: PixelFeatures, k: int, config: ContrastiveConfig | None = None, *,
                    seed: int = 0, device: str | torch.device | None = None, progress: bool = False,
                    callback: ProgressCallback | None = None) -> ContrastiveClusterer:
    """Train :class:`ContrastiveClusterer` on random valid pixels of :class:`PixelFeatures`.

    ``callback(done, config.steps)`` (:mod:`hsi.progress`) is called before the first step and
    after each; returning ``True`` raises :class:`~hsi.errors.Cancelled`.
    """
    from hsi.errors import ConfigError

    cfg = config or ContrastiveConfig()
    if cfg.views not in VIEWS:
        raise ConfigError(f"views: expected one of {', '.join(VIEWS)}, got {cfg.views!r}")
    device = device or torch.device("cpu")
    torch.manual_seed(seed)
    net = ContrastiveClusterer(feats.image.shape[0], k, cfg).to(device)
    return train_contrastive(net, feats.image, feats.valid, feats.pca, cfg, seed=seed,
                             device=device, progress=progress, callback=callback)


def train_contrastive(net: ContrastiveClusterer, image: np.ndarray, valid: np.ndarray,
                      pca: PcaTransform, config: ContrastiveConfig, *, seed: int = 0,
                      device: str | torch.device | None = None, progress: bool = False,
                      callback: ProgressCallback | None = None) -> ContrastiveClusterer:
    """Train ``net`` (in place) with the Contrastive Clustering objective on random patches.

    Parameters
    ----------
    net : ContrastiveClusterer
        On ``device``; its backbone must take ``config.patch_size`` patches.
    image : numpy.ndarray, float32, shape (C, H, W)
        PCA scores made by ``pca``.
    valid : numpy.ndarray of bool, shape (H, W)
        Pixels whose patches are drawn.
    pca : PcaTransform
        Turns scores back into spectra for the band-space augmentations.
    config : ContrastiveConfig
    seed : int
        Seeds the batches and the augmentations.
    device, progress, callback
        As in :func:`fit_contrastive`.

    Returns
    -------
    ContrastiveClusterer
        ``net``, in eval mode.
    """

    cfg = config
    device = device or torch.device("cpu")
    gen = torch.Generator().manual_seed(seed)
    padded = torch.as_tensor(pad_features(image, cfg.patch_size // 2), device=device)
    rows, cols = (torch.as_tensor(a) for a in np.nonzero(valid))
    n = len(rows)
    b = min(cfg.batch_size, n)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    views = SpectralViews(pca, cfg, device)
    net.train()
    report_progress(callback, 0, cfg.steps, "contrastive clustering")
    for step in progress_bar(range(cfg.steps), desc="contrastive", disable=not progress,
                             leave=False):
        idx = torch.randperm(n, generator=gen)[:b]
        patches = extract_patches(padded, rows[idx], cols[idx], cfg.patch_size)
        va, vb = pixel_views(patches, cfg.views)
        z, p = net(torch.cat([views(va, gen), views(vb, gen)]))  # one pass, 2 views
        za, zb = z[:b], z[b:]
        pa, pb = p[:b], p[b:]
        loss = (nt_xent(za, zb, cfg.instance_temperature)
                + cluster_loss(pa, pb, cfg.cluster_temperature))
        opt.zero_grad()
        loss.backward()
        opt.step()
        report_progress(callback, step + 1, cfg.steps, "contrastive clustering")
    return net.eval()


@torch.no_grad()
def predict_probabilities(net: ContrastiveClusterer, feats: PixelFeatures, patch_size: int, *,
                          batch: int = 4096, device: str | torch.device | None = None,
                          where: np.ndarray | None = None, views: str = "augment"
                          ) -> np.ndarray:
    """Cluster probabilities ``(N, k)`` of the valid pixels (row-major), unaugmented patches
    (with ``views="spectral-spatial"``, the mean over the pixel's two views).

    ``where`` (bool ``(H, W)``), when given, keeps only the valid pixels inside it; their
    patches still read every pixel of ``feats.image`` (the halo of a tile).
    """
    device = device or next(net.parameters()).device
    padded = torch.as_tensor(pad_features(feats.image, patch_size // 2), device=device)
    mask = feats.valid if where is None else feats.valid & where
    rows, cols = np.nonzero(mask)
    out = []
    for s in range(0, len(rows), batch):
        patches = extract_patches(padded, rows[s:s + batch], cols[s:s + batch], patch_size)
        if views == "spectral-spatial":
            pa, pb = (net(v)[1] for v in pixel_views(patches, views))
            out.append(((pa + pb) / 2).cpu().numpy())
        else:
            out.append(net(patches)[1].cpu().numpy())
    k = net.cluster_head[-1].out_features
    return np.concatenate(out) if out else np.zeros((0, k), dtype=np.float32)


@dataclass
class ContrastiveModel:
    """A fitted Contrastive Clustering: the network whose cluster head assigns pixels.

    What :func:`fit_contrastive_model` returns; :meth:`assign` clusters pixels it was not
    fitted on (a tile of a scene fitted on a sample).

    Attributes
    ----------
    net : ContrastiveClusterer
        Trained, in eval mode.
    patch_size : int
        Side of the score patches it reads.
    views : str
        :attr:`ContrastiveConfig.views` it was trained with.
    """

    net: ContrastiveClusterer
    patch_size: int
    views: str = "augment"

    @property
    def k(self) -> int:
        return int(self.net.cluster_head[-1].out_features)

    @property
    def halo(self) -> int:
        """Pixels of context a pixel's assignment reads (the patch radius)."""
        return self.patch_size // 2

    def assign(self, feats: PixelFeatures,
               where: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The cluster head's argmax (labels 0..k-1) and maximum (confidence) for the valid
        pixels of :class:`PixelFeatures` ``feats`` inside ``where`` (row-major)."""
        proba = predict_probabilities(self.net, feats, self.patch_size, where=where,
                                      views=self.views)
        return proba.argmax(1), proba.max(1).astype(np.float32)


def fit_contrastive_model(feats: PixelFeatures, k: int, config: ContrastiveConfig | None = None, *,
                          seed: int = 0, device: str | torch.device | None = None,
                          progress: bool = False,
                          callback: ProgressCallback | None = None) -> ContrastiveModel:
    """Train Contrastive Clustering on :class:`PixelFeatures` (:func:`fit_contrastive`)."""
    cfg = config or ContrastiveConfig()
    net = fit_contrastive(feats, k, cfg, seed=seed, device=device, progress=progress,
                          callback=callback)
    return ContrastiveModel(net=net, patch_size=cfg.patch_size, views=cfg.views)


def contrastive_cluster(feats: PixelFeatures, k: int, config: ContrastiveConfig | None = None, *,
                        seed: int = 0, device: str | torch.device | None = None,
                        progress: bool = False,
                        callback: ProgressCallback | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Contrastive Clustering of the valid pixels: labels ``(N,)`` 0..k-1 and confidence
    (the cluster head's maximum probability)."""
    return fit_contrastive_model(feats, k, config, seed=seed, device=device,
                                 progress=progress, callback=callback).assign(feats)
