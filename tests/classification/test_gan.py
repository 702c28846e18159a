from __future__ import annotations

import math

import pytest
import torch

from hsi.classification.gan import (
    Discriminator,
    Generator,
    discriminator_losses,
    feature_matching_loss,
)


@pytest.mark.parametrize("patch", [3, 5, 7])
def test_discriminator_has_k_plus_one_outputs(patch):
    d = Discriminator(channels=10, n_classes=6, patch_size=patch)
    out = d(torch.randn(4, 10, patch, patch))
    assert out.shape == (4, 7)
    p = d.eval().class_probabilities(torch.randn(4, 10, patch, patch))
    assert p.shape == (4, 6)
    torch.testing.assert_close(p.sum(1), torch.ones(4))


@pytest.mark.parametrize("patch", [3, 5, 7])
def test_generator_makes_what_the_discriminator_reads(patch):
    torch.manual_seed(0)
    g = Generator(noise_dim=8, channels=10, patch_size=patch).eval()
    d = Discriminator(channels=10, n_classes=6, patch_size=patch)
    fake = g(torch.randn(3, 8))
    assert fake.shape == (3, 10, patch, patch)
    assert d(fake).shape == (3, 7)
    assert g.sample(2).shape == (2, 10, patch, patch)
    # the output varies with the noise, across samples and across the window's positions
    assert fake.std(0).mean() > 1e-3
    assert fake.flatten(2).std(2).mean() > 1e-3


def test_generator_is_more_than_an_affine_map_of_the_noise():
    torch.manual_seed(0)
    g = Generator(noise_dim=4, channels=5, patch_size=3).eval()
    z1, z2 = torch.randn(1, 4), torch.randn(1, 4)
    with torch.no_grad():
        mid = g((z1 + z2) / 2)
        avg = (g(z1) + g(z2)) / 2
    assert (mid - avg).abs().max() > 1e-4  # an affine map would give mid == avg


def test_losses_hand_computed():
    # K = 2: logits (a, b, fake)
    lab = torch.tensor([[2.0, 0.0, 1.0]])
    unl = torch.tensor([[0.0, 0.0, math.log(2.0)]])  # p_fake = 2/4
    fake = torch.tensor([[0.0, 0.0, math.log(6.0)]])  # p_fake = 6/8
    out = discriminator_losses(lab, torch.tensor([0]), unl, fake)
    # supervised: -log(e^2 / (e^2 + 1)), the fake logit ignored
    assert out["supervised"].item() == pytest.approx(-math.log(math.e**2 / (math.e**2 + 1)))
    assert out["real"].item() == pytest.approx(-math.log(1 - 0.5))
    assert out["fake"].item() == pytest.approx(-math.log(0.75))


def test_feature_matching_zero_for_equal_means():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = torch.tensor([[2.0, 3.0], [2.0, 3.0]])
    assert feature_matching_loss(a, b).item() == 0.0
    assert feature_matching_loss(a, b + 1).item() == pytest.approx(1.0)


def test_ema_discriminator_is_the_average_of_the_steps(salinas_crop, salinas_split):
    """``ema_decay`` returns the moving average of the weights: with a decay near 0 it is
    the last step's weights (the same run without it), with 0.99 other weights."""
    import dataclasses

    import numpy as np

    from hsi.classification import GanConfig
    from hsi.classification.features import fit_pca
    from hsi.classification.train import train_networks
    from hsi.cube import valid_mask

    cube, _, _ = salinas_crop
    train, _ = salinas_split
    data = np.asarray(cube.data, dtype=np.float32)
    valid = valid_mask(data)
    features = fit_pca(data, 5, valid).transform(data, valid)
    codes = np.unique(train[train > 0])
    labels = np.where(train > 0, np.searchsorted(codes, train) + 1, 0)
    base = GanConfig(n_components=5, epochs=1, min_steps=20, crf_select="fixed")
    runs = {d: train_networks(features, labels, valid, len(codes),
                              dataclasses.replace(base, ema_decay=d), seed=1,
                              progress=False)[0].state_dict()
            for d in (0.0, 1e-9, 0.99)}
    for name, last in runs[0.0].items():
        torch.testing.assert_close(runs[1e-9][name], last, rtol=0, atol=1e-6)
    assert any((runs[0.99][n] - w).abs().max() > 1e-3 for n, w in runs[0.0].items())


@pytest.mark.parametrize("patch", [1, 3, 5])
def test_probability_map_equals_the_patches_one_by_one(patch):
    """The whole-grid convolutional pass gives every pixel what its own patch gives."""
    import numpy as np

    from hsi.classification.features import extract_patches
    from hsi.classification.gan import DiscriminatorEnsemble
    from hsi.classification.train import predict_probabilities

    torch.manual_seed(0)
    members = [Discriminator(channels=4, n_classes=5, patch_size=patch).eval() for _ in range(2)]
    r = patch // 2
    padded = torch.randn(4, 9 + 2 * r, 11 + 2 * r)
    rows, cols = torch.meshgrid(torch.arange(9), torch.arange(11), indexing="ij")
    patches = extract_patches(padded, rows.flatten(), cols.flatten(), patch)
    for disc in (members[0], DiscriminatorEnsemble(members)):
        with torch.no_grad():
            got_map = disc.class_probability_map(padded)
            expected = disc.class_probabilities(patches).T.reshape(5, 9, 11)
        torch.testing.assert_close(got_map, expected, rtol=0, atol=1e-6)
        # the strips of predict_probabilities (here one row each) tile the grid exactly
        got = predict_probabilities(disc, None, patch, padded=padded.numpy(), batch_size=1)
        np.testing.assert_allclose(got, expected.numpy(), rtol=0, atol=1e-6)
