"""Self-supervised pretraining of the discriminator's feature trunk (Contrastive Clustering).

The trunk (:attr:`Discriminator.body`) becomes the backbone of a
:class:`~hsi.clustering.contrastive.ContrastiveClusterer` with fresh instance and cluster heads,
trained on every valid pixel's patch with the same augmentations and losses as the clustering
method; the heads are then dropped and the trunk keeps its weights for the GAN training.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hsi.classification.config import GanConfig
from hsi.classification.features import PcaTransform
from hsi.classification.gan import Discriminator

#: Patches per pretraining step (each seen in two augmented views).
PRETRAIN_BATCH = 256


def pretrain_contrastive(disc: Discriminator, features: np.ndarray, valid: np.ndarray,
                         pca: PcaTransform, n_clusters: int, config: GanConfig, *,
                         seed: int = 0, device: str | torch.device = "cpu",
                         progress: bool = False) -> Discriminator:
    """Train ``disc.body`` in place with the Contrastive Clustering objective.

    Parameters
    ----------
    disc : Discriminator
        On ``device``; only its ``body`` is trained (the class head is untouched).
    features : numpy.ndarray, float32, shape (C, H, W)
        Standardised PCA scores of the scene (made by ``pca``).
    valid : numpy.ndarray of bool, shape (H, W)
        Pixels whose patches are used (labels play no part).
    pca : PcaTransform
    n_clusters : int
        Outputs of the cluster head (the class count K).
    config : GanConfig
        ``patch_size``, ``width``, ``lr`` and ``pretrain_steps`` are used.
    seed : int
        Seeds the heads, the batches and the augmentations (deterministic on CPU).

    Returns
    -------
    Discriminator
        ``disc``, in train mode.
    """
    from hsi.clustering.contrastive import (
        ContrastiveClusterer,
        ContrastiveConfig,
        train_contrastive,
    )

    hidden = 2 * config.width
    cfg = ContrastiveConfig(patch_size=config.patch_size, width=config.width, hidden=hidden,
                            feature_dim=hidden, steps=config.pretrain_steps,
                            batch_size=PRETRAIN_BATCH, lr=config.lr)
    torch.manual_seed(seed)
    net = ContrastiveClusterer(features.shape[0], n_clusters, cfg,
                               backbone=nn.Sequential(disc.body, nn.Flatten())).to(device)
    train_contrastive(net, features, valid, pca, cfg, seed=seed, device=device,
                      progress=progress)
    return disc.train()
