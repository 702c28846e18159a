"""SpectralNet's orthogonality and out-of-sample embedding, the metrics, bad input, and the
Dink-Net and minCUT networks' structure."""

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


def test_siamese_affinity_clusters_the_blocks(blocks):
    # the paper's Siamese affinities: SpectralNet trained on them still finds the 3 blocks
    cube, labels = blocks
    feats = pixel_features(cube)
    res = cluster(cube, 3, "spectralnet", progress=False,
                  config={"affinity": "siamese", "steps": 120, "batch_size": 256,
                          "siamese_steps": 100})
    assert clustering_accuracy(res.labels[feats.valid], labels[feats.valid]) > 0.9
    with pytest.raises(Exception, match="affinity"):
        cluster(cube, 3, "spectralnet", progress=False, config={"affinity": "cosine"})


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


def test_dinknet_finetuning_moves_only_the_centres_by_default(blocks):
    # as the authors' code (embeddings detached in the clustering loss): the encoder after
    # fine-tuning is the pre-trained one; the centres move from their k-means start
    from hsi.clustering.dinknet import DinkNetConfig, fit_dinknet

    feats = pixel_features(blocks[0], seed=0)
    x = feats.pixels()
    base = dict(pretrain_steps=20, batch_size=128, hidden=32)
    pre = fit_dinknet(x, 3, DinkNetConfig(**base, finetune_steps=0), seed=0)
    fine = fit_dinknet(x, 3, DinkNetConfig(**base, finetune_steps=15, finetune_lr=1e-2), seed=0)
    for a, b in zip(pre.encoder.parameters(), fine.encoder.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(pre.centres, fine.centres)
    both = fit_dinknet(x, 3, DinkNetConfig(**base, finetune_steps=15, finetune_lr=1e-2,
                                           finetune_encoder=True), seed=0)
    assert not torch.equal(pre.encoder[0].weight, both.encoder[0].weight)


def test_dinknet_default_encoder_is_one_layer():
    # the paper's encoder: Linear + PReLU, the embedding its `hidden` outputs (unit norm)
    from hsi.clustering.dinknet import DinkNet

    net = DinkNet(7, 3, hidden=16)
    assert [type(m).__name__ for m in net.encoder] == ["Linear", "PReLU"]
    h = net.embed(torch.randn(5, 7))
    assert h.shape == (5, 16) and net.centres.shape == (3, 16)
    torch.testing.assert_close(h.norm(dim=1), torch.ones(5))
    assert DinkNet(7, 3, hidden=16, embed_dim=4).embed(torch.randn(5, 7)).shape == (5, 4)


def test_mincut_network_of_the_paper():
    # mlp_hidden=0: GCS conv (16 units), ELU, one linear layer to k, softmax
    from hsi.clustering.graph import MinCutGNN

    net = MinCutGNN(5, 3, hidden=16, mlp_hidden=0)
    assert [type(m).__name__ for m in net.mlp] == ["ELU", "Linear"]
    a = torch.eye(4)
    s = net(torch.randn(4, 5), a)
    assert s.shape == (4, 3)
    torch.testing.assert_close(s.sum(1), torch.ones(4))


def test_cc_with_spectral_and_spatial_views_clusters_the_blocks(blocks):
    cube, labels = blocks
    feats = pixel_features(cube)
    res = cluster(cube, 3, "cc", progress=False,
                  config={"views": "spectral-spatial", "steps": 150, "batch_size": 128})
    assert clustering_accuracy(res.labels[feats.valid], labels[feats.valid]) > 0.9
    with pytest.raises(Exception, match="views"):
        cluster(cube, 3, "cc", progress=False, config={"views": "two"})


@pytest.mark.parametrize("k", [2, 7, "auto", "AUTO"])
def test_k_request_accepts_integers_and_auto(k):
    from hsi.clustering.api import check_k_request

    check_k_request(k)


@pytest.mark.parametrize("k, message", [("five", "or 'auto', got 'five'"), (1, "at least 2"),
                                        (True, "or 'auto', got True"), (2.5, "got 2.5")])
def test_k_request_refuses_the_rest_before_any_pixel(k, message):
    from hsi.clustering.api import check_k_request
    from hsi.errors import ShapeError

    with pytest.raises(ShapeError, match=message):
        check_k_request(k)
