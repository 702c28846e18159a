"""Semi-supervised training of the spectral-spatial GAN on one scene."""

from __future__ import annotations

import math

import numpy as np
import torch

from hsi.classification.config import GanConfig
from hsi.classification.features import PcaTransform, extract_patches, pad_features
from hsi.classification.gan import (
    Discriminator,
    Generator,
    discriminator_losses,
    feature_matching_loss,
)
from hsi.errors import ConfigError
from hsi.progress import ProgressCallback, progress_bar, report_progress


def _dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """One of the 8 rotations/flips of a batch of patches (``k`` in 0..7)."""
    if k >= 4:
        x = x.flip(-1)
    return torch.rot90(x, k % 4, dims=(-2, -1))


def train_networks(features: np.ndarray, labels: np.ndarray, valid: np.ndarray,
                   n_classes: int, config: GanConfig, *, seed: int = 0,
                   device: str | torch.device = "cpu",
                   progress: bool = True, callback: ProgressCallback | None = None,
                   pca: PcaTransform | None = None, desc: str = "training",
                   ) -> tuple[Discriminator, dict[str, list[float]]]:
    """Train the discriminator (and, when ``config.adversarial``, the generator) on a scene.

    Every valid pixel of the scene is an unlabelled example; the labelled ones also give the
    supervised term. One epoch is ``ceil(valid pixels / batch_size)`` steps (more on a small
    scene: ``config.min_steps`` in all at least). On a CPU torch uses
    :data:`hsi.device.SMALL_MODEL_THREADS` threads meanwhile (:func:`hsi.device.cpu_threads`).

    Parameters
    ----------
    features : numpy.ndarray, float32, shape (C, H, W)
        Standardised PCA scores of the scene.
    labels : numpy.ndarray of int, shape (H, W)
        0 = unlabelled, 1..K = class.
    valid : numpy.ndarray of bool, shape (H, W)
        Pixels that may be used (nodata excluded).
    n_classes : int
        K.
    config : GanConfig
    seed : int
        Seeds the weights, the batches and the noise (deterministic on CPU).
    device : torch.device or str
    progress : bool
        Show a tqdm bar on stderr.
    callback : callable, optional
        ``callback(done_steps, total_steps)`` (:mod:`hsi.progress`), called before the first
        step and after every step (``total_steps = epochs * steps per epoch``); return ``True``
        from it to stop training.
    pca : PcaTransform, optional
        The PCA that made ``features``; needed by ``config.pretrain == "contrastive"``
        (its augmentations work on spectra).
    desc : str
        The progress bar's label (e.g. ``"member 2/3"``).

    Returns
    -------
    discriminator : Discriminator
        In eval mode, on ``device``.
    history : dict
        Per-epoch mean of each loss term.

    Raises
    ------
    Cancelled
        When ``callback`` returns ``True``.
    ConfigError
        ``config.pretrain == "contrastive"`` without ``pca``.
    """
    from hsi.device import SMALL_MODEL_THREADS, cpu_threads

    with cpu_threads(SMALL_MODEL_THREADS, device):
        return _train_networks(features, labels, valid, n_classes, config, seed=seed,
                               device=device, progress=progress, callback=callback, pca=pca,
                               desc=desc)


def _train_networks(features: np.ndarray, labels: np.ndarray, valid: np.ndarray,
                    n_classes: int, config: GanConfig, *, seed: int,
                    device: str | torch.device, progress: bool,
                    callback: ProgressCallback | None, pca: PcaTransform | None,
                    desc: str) -> tuple[Discriminator, dict[str, list[float]]]:
    """:func:`train_networks`, on the threads torch has."""

    device = torch.device(device)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    r = config.radius
    channels = features.shape[0]
    padded = torch.from_numpy(pad_features(features, r)).to(device)

    lab = (labels > 0) & valid
    lrows, lcols = np.nonzero(lab)
    ltarget = torch.from_numpy(labels[lrows, lcols].astype(np.int64) - 1).to(device)
    lrows_t, lcols_t = torch.from_numpy(lrows).to(device), torch.from_numpy(lcols).to(device)
    urows, ucols = np.nonzero(valid)
    urows_t, ucols_t = torch.from_numpy(urows).to(device), torch.from_numpy(ucols).to(device)

    disc = Discriminator(channels, n_classes, config.patch_size, config.width,
                         config.dropout).to(device)
    gnet = Generator(config.noise_dim, channels, config.patch_size, config.width).to(device)
    if config.pretrain == "contrastive":
        from hsi.classification.pretrain import pretrain_contrastive

        if pca is None:
            raise ConfigError('pca: required with config.pretrain="contrastive", got None')
        pretrain_contrastive(disc, features, valid, pca, n_classes, config, seed=seed,
                             device=device, progress=progress)
    opt_d = torch.optim.Adam(disc.parameters(), lr=config.lr, betas=(0.5, 0.999),
                             weight_decay=config.weight_decay)
    opt_g = torch.optim.Adam(gnet.parameters(), lr=config.lr, betas=(0.5, 0.999))

    ema = None
    if config.ema_decay > 0:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(disc, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay))
    bs = config.batch_size
    steps_per_epoch = max(1, math.ceil(len(urows) / bs),
                          math.ceil(config.min_steps / config.epochs))
    total = steps_per_epoch * config.epochs
    history: dict[str, list[float]] = {"supervised": [], "real": [], "fake": [], "generator": []}
    sums = dict.fromkeys(history, 0.0)
    disc.train()
    gnet.train()
    bar = progress_bar(total=total, disable=not progress, desc=desc, unit="step",
                       leave=False)
    report_progress(callback, 0, total, "classifier training")
    for step in range(total):
        pick = torch.randint(len(lrows), (bs,), generator=gen).to(device)
        k = int(torch.randint(8, (1,), generator=gen))
        xl = _dihedral(extract_patches(padded, lrows_t[pick], lcols_t[pick], config.patch_size), k)
        yl = ltarget[pick]
        if config.adversarial:
            upick = torch.randint(len(urows), (bs,), generator=gen).to(device)
            xu = extract_patches(padded, urows_t[upick], ucols_t[upick], config.patch_size)
            z = torch.randn(bs, config.noise_dim, generator=gen).to(device)
            xf = gnet(z)
            losses = discriminator_losses(disc(xl), yl, disc(xu), disc(xf.detach()))
            loss = losses["supervised"] + config.unsup_weight * (losses["real"] + losses["fake"])
        else:
            losses = discriminator_losses(disc(xl), yl, None, None)
            loss = losses["supervised"]
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        opt_d.step()
        if ema is not None:
            ema.update_parameters(disc)
        for name, value in losses.items():
            sums[name] += float(value.detach())

        if config.adversarial:
            upick = torch.randint(len(urows), (bs,), generator=gen).to(device)
            xu = extract_patches(padded, urows_t[upick], ucols_t[upick], config.patch_size)
            z = torch.randn(bs, config.noise_dim, generator=gen).to(device)
            real_feat = disc.features(xu).detach()
            g_loss = feature_matching_loss(real_feat, disc.features(gnet(z)))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            sums["generator"] += float(g_loss.detach())

        bar.update(1)
        if (step + 1) % steps_per_epoch == 0:
            for name in history:
                history[name].append(sums[name] / steps_per_epoch)
                sums[name] = 0.0
            bar.set_postfix(loss=f"{history['supervised'][-1]:.3f}")
        try:
            report_progress(callback, step + 1, total, "classifier training")
        except BaseException:
            bar.close()
            raise
    bar.close()
    if ema is not None:
        disc = ema.module
    disc.eval()
    return disc, history


@torch.no_grad()
def predict_probabilities(disc: Discriminator, features: np.ndarray, patch_size: int, *,
                          rows: np.ndarray | None = None, cols: np.ndarray | None = None,
                          padded: np.ndarray | None = None, batch_size: int = 4096,
                          device: str | torch.device | None = None) -> np.ndarray:
    """Class probabilities (K real classes, renormalised) of pixels.

    Parameters
    ----------
    disc : Discriminator
    features : numpy.ndarray, shape (C, H, W)
        Standardised PCA scores (ignored when ``padded`` is given).
    patch_size : int
    rows, cols : numpy.ndarray of int, optional
        Pixels to classify (default every pixel, row-major).
    padded : numpy.ndarray, shape (C, H + 2r, W + 2r), optional
        Already padded features (tiles pad with real neighbours inside the scene).

    Returns
    -------
    numpy.ndarray, float32, shape (K, N) for given pixels, or (K, H, W) for the whole grid.
    """
    device = torch.device(device) if device is not None else next(disc.parameters()).device
    r = patch_size // 2
    if padded is None:
        padded = pad_features(features, r)
    h, w = padded.shape[1] - 2 * r, padded.shape[2] - 2 * r
    whole = rows is None
    padded_t = torch.from_numpy(np.ascontiguousarray(padded)).to(device)
    disc.eval()
    if whole:  # the whole grid convolutionally, in strips of about batch_size * 16 pixels
        out = np.empty((disc.n_classes, h, w), dtype=np.float32)
        strip = max(1, batch_size * 16 // max(w, 1))
        for r0 in range(0, h, strip):
            r1 = min(h, r0 + strip)
            out[:, r0:r1] = disc.class_probability_map(padded_t[:, r0:r1 + 2 * r]).cpu().numpy()
        return out
    out = np.empty((disc.n_classes, len(rows)), dtype=np.float32)
    for start in range(0, len(rows), batch_size):
        sl = slice(start, start + batch_size)
        x = extract_patches(padded_t, torch.from_numpy(rows[sl]).to(device),
                            torch.from_numpy(cols[sl]).to(device), patch_size)
        out[:, sl] = disc.class_probabilities(x).T.float().cpu().numpy()
    return out
