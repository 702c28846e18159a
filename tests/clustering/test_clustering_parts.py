"""SpectralNet's orthogonality and out-of-sample embedding, the metrics, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hsi.clustering import cluster, clustering_accuracy, evaluate
from hsi.clustering.features import pixel_features
from hsi.clustering.spectralnet import SpectralNet, SpectralNetConfig, fit_spectralnet
from hsi.errors import FormatError, ShapeError


def test_orthonorm_layer_orthogonal_on_a_batch():
    torch.manual_seed(0)
    net = SpectralNet(12, 4).train()
    x = torch.randn(300, 12)
    y = net(x)
    np.testing.assert_allclose((y.T @ y / len(y)).detach().numpy(), np.eye(4), atol=1e-4)


def test_trained_spectralnet_orthogonal_and_embeds_unseen_pixels(blocks):
    from sklearn.cluster import KMeans

    cube, labels = blocks
    feats = pixel_features(cube)
    x = feats.pixels()
    truth = labels[feats.valid]
    rng = np.random.default_rng(0)
    seen = rng.random(len(x)) < 0.5
    net = fit_spectralnet(x[seen], 3, SpectralNetConfig(steps=120, batch_size=256,
                                                        freeze_pixels=10_000))
    # eval mode reuses the factor frozen on all training pixels: orthonormal there
    y = net.embed(x[seen])
    np.testing.assert_allclose(y.T @ y / len(y), np.eye(3), atol=1e-3)
    # out of sample: centres from the seen pixels assign the unseen ones
    km = KMeans(3, n_init=10, random_state=0).fit(y / np.linalg.norm(y, axis=1, keepdims=True))
    y_new = net.embed(x[~seen])
    pred = km.predict(y_new / np.linalg.norm(y_new, axis=1, keepdims=True))
    assert clustering_accuracy(pred, truth[~seen]) > 0.9


def test_alternate_orthonormalisation_step(blocks):
    # the paper's Algorithm 1: the factor is set from one batch without gradient, the loss
    # taken on another; training runs and the frozen factor is orthonormal on its pixels
    feats = pixel_features(blocks[0])
    x = feats.pixels()
    net = fit_spectralnet(x, 3, SpectralNetConfig(steps=20, batch_size=128, orthonorm="alternate",
                                                  freeze_pixels=10_000))
    assert not net.orthonorm.training
    y = net.embed(x)
    np.testing.assert_allclose(y.T @ y / len(y), np.eye(3), atol=1e-3)


def test_evaluate_against_hand_computed_scores():
    pred = np.array([[1, 1, 2, 2, 3, 0]])
    truth = np.array([[2, 2, 1, 1, 1, 1]])
    s = evaluate(pred, truth)
    # clusters 1->2, 2->1 match 4 of the 5 clustered pixels; cluster 3 maps to nothing
    assert s["acc"] == pytest.approx(4 / 5)
    assert s["pixels"] == 5
    perm = evaluate(np.array([[3, 3, 1, 1, 2]]), np.array([[1, 1, 2, 2, 3]]))
    assert perm["acc"] == 1.0 and perm["nmi"] == pytest.approx(1.0)
    assert perm["ari"] == pytest.approx(1.0)
    # ARI of the first example from the pair-counting formula: 1 of 4 same-cluster pairs
    # agree... checked against sklearn's definition on a 2x3 table by hand:
    # table [[0,2],[2,0],[1,0]] over classes (1,2): sum C(n_ij,2)=2, rows 2,2,1 -> 2,
    # cols 3,2 -> 3+1=4, C(5,2)=10: expected 2*4/10=0.8, max (2+4)/2=3 -> (2-0.8)/(3-0.8)
    assert s["ari"] == pytest.approx((2 - 0.8) / (3 - 0.8))


def test_evaluate_shape_mismatch():
    with pytest.raises(ShapeError, match="differs"):
        evaluate(np.ones((2, 3)), np.ones((3, 2)))


@pytest.mark.parametrize("k", [1, 0, -2])
def test_k_below_two(blocks, k):
    with pytest.raises(ShapeError, match="at least 2"):
        cluster(blocks[0], k, progress=False)


def test_k_above_pixel_count():
    cube = np.random.default_rng(0).random((5, 2, 3)).astype(np.float32)
    with pytest.raises(ShapeError, match="at most 6"):
        cluster(cube, 7, progress=False)


def test_nan_cube(blocks):
    cube = blocks[0].copy()
    cube[3, 4, 5] = np.nan
    with pytest.raises(FormatError, match="1 NaN"):
        cluster(cube, 3, progress=False)


def test_unknown_method(blocks):
    from hsi.errors import HsiError

    with pytest.raises(HsiError, match="method"):
        cluster(blocks[0], 3, "dbscan", progress=False)
