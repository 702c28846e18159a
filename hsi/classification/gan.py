"""The spectral-spatial GAN: a generator of fake patches and a (K + 1)-way discriminator.

After Zhong and Li (2018) / Zhong, Li, Clausi and Wong (2020): the discriminator is the
classifier, with one output per class plus one for "generated"; it is trained semi-supervised
(Odena 2016; Salimans et al. 2016), see :func:`discriminator_losses`.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from hsi.pointwise import pointwise


class Generator(nn.Module):
    """Noise to fake spectral-spatial patches: a spatial decoder followed by a spectral one.

    A linear layer maps the noise to a ``2 * width``-channel map of the full
    ``patch_size × patch_size`` window (each position its own code, so the patch has spatial
    structure from the start); two padded 3×3 convolutions with batch norm and ReLU mix
    neighbouring positions (spatial decoder); a two-layer 1×1 convolution stack decodes each
    position's feature into the PCA channels (spectral decoder, standardised units, no output
    non-linearity). Works at every odd patch size, including 3.

    Parameters
    ----------
    noise_dim : int
    channels : int
        PCA components of the patches.
    patch_size : int
        Odd window side.
    width : int
        Hidden channels (the spatial decoder has ``2 * width``, the spectral one ``width``).

    Shape
    -----
    ``(N, noise_dim)`` -> ``(N, channels, patch_size, patch_size)``
    """

    def __init__(self, noise_dim: int, channels: int, patch_size: int, width: int = 32) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.patch_size = patch_size
        hidden = 2 * width
        self.project = nn.Sequential(
            nn.Linear(noise_dim, hidden * patch_size * patch_size, bias=False),
            nn.Unflatten(1, (hidden, patch_size, patch_size)),
            nn.BatchNorm2d(hidden), nn.ReLU(inplace=True))
        self.spatial = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, padding=1, bias=False), nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, padding=1, bias=False), nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True))
        self.spectral = nn.Sequential(
            nn.Conv2d(hidden, width, 1), nn.ReLU(inplace=True), nn.Conv2d(width, channels, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.spectral(self.spatial(self.project(z)))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` fake patches from standard normal noise."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.noise_dim, generator=generator, device="cpu").to(device)
        return self(z)


class Discriminator(nn.Module):
    """A spectral-spatial patch classifier with ``n_classes + 1`` outputs (the last is "fake").

    A 1×1 convolution mixes the PCA channels, then ``patch_size // 2`` unpadded 3×3
    convolutions shrink the window to the centre pixel's feature vector; LeakyReLU and dropout
    throughout, no batch norm (real and generated batches must not share statistics).

    Parameters
    ----------
    channels : int
        PCA components of the patches.
    n_classes : int
        K real classes; the output has K + 1 logits.
    patch_size : int
    width : int
    dropout : float

    Shape
    -----
    ``(N, channels, patch_size, patch_size)`` -> ``(N, n_classes + 1)`` logits.
    """

    def __init__(self, channels: int, n_classes: int, patch_size: int, width: int = 32,
                 dropout: float = 0.3) -> None:
        super().__init__()
        self.n_classes = n_classes
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 1), nn.LeakyReLU(0.2),
                                   nn.Dropout(dropout)]
        in_ch = width
        for _ in range(patch_size // 2):
            layers += [nn.Conv2d(in_ch, 2 * width, 3), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            in_ch = 2 * width
        if patch_size == 1:  # a single spectrum: the same depth, a 1×1 window
            layers += [nn.Conv2d(in_ch, 2 * width, 1), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(2 * width, n_classes + 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer, ``(N, 2 * width)`` (used for feature matching)."""
        return self.body(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def class_probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Probabilities over the K real classes (the fake output dropped, renormalised)."""
        return torch.softmax(self(x)[:, : self.n_classes], dim=1)

    def class_probability_map(self, padded: torch.Tensor) -> torch.Tensor:
        """:meth:`class_probabilities` of every pixel of a padded feature map at once.

        The body's convolutions are unpadded, so run over the whole map they give each
        pixel's patch feature in one pass (no patch is copied; eval mode: dropout is off).

        Shape
        -----
        ``(C, H + 2r, W + 2r)`` -> ``(K, H, W)``, ``r = patch_size // 2``.
        """
        feats = padded[None]
        for layer in self.body:  # 1×1 convolutions as matrix products (3× faster on CPU)
            pointwise_conv = isinstance(layer, nn.Conv2d) and layer.kernel_size == (1, 1)
            feats = pointwise(feats, layer.weight, layer.bias) if pointwise_conv else layer(feats)
        feats = feats[0]  # (2 * width, H, W)
        logits = torch.einsum("kc,chw->khw", self.head.weight[: self.n_classes], feats)
        logits += self.head.bias[: self.n_classes, None, None]
        return torch.softmax(logits, dim=0)


class DiscriminatorEnsemble(nn.Module):
    """Discriminators trained alike from different seeds; their probabilities are averaged.

    Parameters
    ----------
    members : sequence of Discriminator
        Same class count.

    Shape
    -----
    ``(N, channels, patch_size, patch_size)`` -> ``(N, n_classes + 1)``: the log of the
    members' mean K + 1 probabilities (so :meth:`class_probabilities` is their mean class
    probability, renormalised over the K real classes).
    """

    def __init__(self, members: Iterable[Discriminator]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.n_classes = self.members[0].n_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = torch.stack([torch.softmax(m(x), dim=1) for m in self.members]).mean(0)
        return torch.log(p.clamp_min(1e-30))

    def class_probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Mean over the members of their probabilities over the K real classes."""
        return torch.stack([m.class_probabilities(x) for m in self.members]).mean(0)

    def class_probability_map(self, padded: torch.Tensor) -> torch.Tensor:
        """Mean over the members of :meth:`Discriminator.class_probability_map`."""
        return torch.stack([m.class_probability_map(padded) for m in self.members]).mean(0)


def discriminator_losses(logits_labelled: torch.Tensor, targets: torch.Tensor,
                         logits_unlabelled: torch.Tensor | None,
                         logits_fake: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """The three terms of the semi-supervised discriminator loss.

    With ``l`` the K + 1 logits and ``p = softmax(l)``:

    - ``supervised``: cross-entropy of the true class among the K real classes,
      ``-log p(y | x, real)``;
    - ``real``: unlabelled real patches are not fake, ``-log(1 - p_fake)``
      ``= logsumexp(l) - logsumexp(l[:K])``;
    - ``fake``: generated patches are fake, ``-log p_fake = logsumexp(l) - l[K]``.

    Parameters
    ----------
    logits_labelled : (N, K + 1)
    targets : (N,) int64 in 0..K-1
    logits_unlabelled, logits_fake : (M, K + 1), optional

    Returns
    -------
    dict of scalar tensors (``supervised`` and, when given, ``real`` and ``fake``).
    """
    k = logits_labelled.shape[1] - 1
    out = {"supervised": F.cross_entropy(logits_labelled[:, :k], targets)}
    if logits_unlabelled is not None:
        out["real"] = (torch.logsumexp(logits_unlabelled, 1)
                       - torch.logsumexp(logits_unlabelled[:, :k], 1)).mean()
    if logits_fake is not None:
        out["fake"] = (torch.logsumexp(logits_fake, 1) - logits_fake[:, k]).mean()
    return out


def feature_matching_loss(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """Generator loss of Salimans et al.: squared distance between mean hidden features."""
    return (real_features.mean(0) - fake_features.mean(0)).pow(2).mean()
