"""Each clustering method's own maths on small hand-computable cases (values, not shapes).

minCUT's cut and orthogonality losses, Contrastive Clustering's instance and cluster losses,
SpectralNet's orthonormal layer, affinity and loss, Dink-Net's dilation and shrink losses, and
AGC's filter and order criterion. Expected values are worked out in the comments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from hsi.clustering import graph as graph_mod
from hsi.clustering.contrastive import (
    ContrastiveConfig,
    SpectralViews,
    cluster_loss,
    nt_xent,
)
from hsi.clustering.dinknet import corrupt, dilation_shrink_losses
from hsi.clustering.graph import (
    GraphConfig,
    SceneGraph,
    agc,
    agc_filter,
    intra_distance,
    mincut,
    mincut_losses,
    normalized_adjacency,
)
from hsi.clustering.spectralnet import (
    SpectralNet,
    SpectralNetConfig,
    batch_affinity,
    contrastive_pair_loss,
    fit_siamese,
    spectral_loss,
)

F64 = torch.float64


def _adjacency(n: int, edges: list[tuple[int, int]], weights: list[float] | None = None
               ) -> sp.csr_matrix:
    """Symmetric adjacency of an edge list (unit weights unless given)."""
    a = np.zeros((n, n))
    for (i, j), w in zip(edges, weights or [1.0] * len(edges), strict=True):
        a[i, j] = a[j, i] = w
    return sp.csr_matrix(a)


def _dense(a: sp.spmatrix) -> torch.Tensor:
    return torch.as_tensor(a.toarray(), dtype=F64)


def _onehot(labels: list[int], k: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(labels), k).to(F64)


# ----------------------------------------------------------------------------------- minCUT

TWO_EDGES = _adjacency(4, [(0, 1), (2, 3)])  # two disconnected edges: 0-1, 2-3
PATH4 = _adjacency(4, [(0, 1), (1, 2), (2, 3)])  # path 0-1-2-3, degrees 1, 2, 2, 1


def test_normalized_adjacency_of_a_path():
    # Ã_ij = A_ij / sqrt(d_i d_j): ends 1/sqrt(1*2), middle 1/sqrt(2*2)
    r = 1 / math.sqrt(2)
    expected = np.array([[0, r, 0, 0], [r, 0, 0.5, 0], [0, 0.5, 0, r], [0, 0, r, 0]])
    np.testing.assert_allclose(normalized_adjacency(PATH4).toarray(), expected, atol=1e-12)
    # an isolated node keeps a zero row instead of dividing by zero
    iso = normalized_adjacency(_adjacency(3, [(0, 1)])).toarray()
    np.testing.assert_array_equal(iso, [[0, 1, 0], [1, 0, 0], [0, 0, 0]])


def test_mincut_perfect_assignment_of_two_edges():
    # each cluster holds one edge: Tr(S^T Ã S) = Tr(S^T D̃ S) = 4, so L_cut = -1;
    # S^T S = 2 I, normalised I / sqrt(2) = I_2 / sqrt(2): L_ortho = 0
    s = _onehot([0, 0, 1, 1], 2)
    cut, ortho = mincut_losses(s, _dense(normalized_adjacency(TWO_EDGES)))
    assert cut.item() == pytest.approx(-1.0, abs=1e-12)
    assert ortho.item() == pytest.approx(0.0, abs=1e-12)


def test_mincut_assignment_cutting_every_edge():
    # 0, 2 in one cluster and 1, 3 in the other: no edge inside a cluster, L_cut = 0;
    # clusters of equal size: L_ortho = 0
    s = _onehot([0, 1, 0, 1], 2)
    cut, ortho = mincut_losses(s, _dense(normalized_adjacency(TWO_EDGES)))
    assert cut.item() == pytest.approx(0.0, abs=1e-12)
    assert ortho.item() == pytest.approx(0.0, abs=1e-12)


def test_mincut_uniform_assignment():
    # S = 1/2 everywhere: S^T Ã S = S^T D̃ S = [[1, 1], [1, 1]] (entries sum(Ã) / 4 = 1), so
    # L_cut = -2 / 2 = -1 (the degenerate optimum the orthogonality term rules out);
    # S^T S = [[1, 1], [1, 1]], norm 2: ||J / 2 - I / sqrt(2)||_F^2 = 2 (1/2 - 1/sqrt(2))^2
    # + 2 (1/2)^2 = 2 - sqrt(2), the largest value for k = 2
    s = torch.full((4, 2), 0.5, dtype=F64)
    cut, ortho = mincut_losses(s, _dense(normalized_adjacency(TWO_EDGES)))
    assert cut.item() == pytest.approx(-1.0, abs=1e-12)
    assert ortho.item() == pytest.approx(math.sqrt(2 - math.sqrt(2)), abs=1e-12)


def test_mincut_cut_uses_the_normalised_adjacency():
    # path 0-1-2-3 split {0, 1} | {2, 3}. Ã edges: 0-1 and 2-3 weigh 1/sqrt(2), 1-2 weighs
    # 1/2; D̃ = (1/sqrt(2), 1/sqrt(2) + 1/2, 1/sqrt(2) + 1/2, 1/sqrt(2)).
    # Tr(S^T Ã S) = 2 (1/sqrt(2) + 1/sqrt(2)) = 2 sqrt(2); Tr(S^T D̃ S) = sum D̃ = 2 sqrt(2) + 1
    # L_cut = -2 sqrt(2) / (2 sqrt(2) + 1) ≈ -0.739 (the raw adjacency would give -4/6)
    s = _onehot([0, 0, 1, 1], 2)
    a_norm = _dense(normalized_adjacency(PATH4))
    expected = -2 * math.sqrt(2) / (2 * math.sqrt(2) + 1)
    cut, ortho = mincut_losses(s, a_norm)
    assert cut.item() == pytest.approx(expected, abs=1e-12)
    assert ortho.item() == pytest.approx(0.0, abs=1e-12)
    # explicit degrees and a sparse adjacency give the same value
    cut2, _ = mincut_losses(s, a_norm.to_sparse(), a_norm.sum(1))
    assert cut2.item() == pytest.approx(expected, abs=1e-12)
    raw, _ = mincut_losses(s, _dense(PATH4))
    assert raw.item() == pytest.approx(-4 / 6, abs=1e-12)


def test_mincut_soft_assignment_by_hand():
    # path 0-1-2-3, k = 2, S rows (1, 0), (3/4, 1/4), (1/4, 3/4), (0, 1); r = 1/sqrt(2).
    # Tr(S^T Ã S) = sum_ij Ã_ij <s_i, s_j> = 2 [r <s0,s1> + 1/2 <s1,s2> + r <s2,s3>]
    #             = 2 [3r/4 + (3/16 + 3/16)/2 + 3r/4] = 3r + 3/8
    # Tr(S^T D̃ S) = sum_i D̃_i ||s_i||^2 = r + 2 (r + 1/2)(10/16) + r = 2r + 5r/4 + 5/8
    r = 1 / math.sqrt(2)
    s = torch.tensor([[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]], dtype=F64)
    cut, ortho = mincut_losses(s, _dense(normalized_adjacency(PATH4)))
    assert cut.item() == pytest.approx(-(3 * r + 3 / 8) / (2 * r + 5 * r / 4 + 5 / 8),
                                       abs=1e-12)
    # S^T S = [[1 + 9/16 + 1/16, 3/16 + 3/16], [.., ..]] = [[13/8, 3/8], [3/8, 13/8]]
    m = np.array([[13 / 8, 3 / 8], [3 / 8, 13 / 8]])
    expected = np.linalg.norm(m / np.linalg.norm(m) - np.eye(2) / math.sqrt(2))
    assert ortho.item() == pytest.approx(expected, abs=1e-12)


def test_mincut_training_measures_the_cut_on_the_normalised_adjacency(monkeypatch):
    # the training loop must hand the loss Ã and D̃ (row sums of Ã), not A and D
    seen = {}
    real = graph_mod.mincut_losses

    def spy(s, adjacency, degree=None):
        seen["adjacency"] = adjacency.to_dense().double().numpy()
        seen["degree"] = degree.double().numpy()
        return real(s, adjacency, degree)

    monkeypatch.setattr(graph_mod, "mincut_losses", spy)
    w = _adjacency(4, [(0, 1), (1, 2), (2, 3)], [1.5, 2.0, 0.5])
    g = SceneGraph(segments=np.arange(4).reshape(2, 2),
                   features=np.eye(4, dtype=np.float32), adjacency=w)
    mincut(g, 2, GraphConfig(steps=1, hidden=8))
    a_norm = normalized_adjacency(w).toarray()
    np.testing.assert_allclose(seen["adjacency"], a_norm, rtol=1e-6)
    np.testing.assert_allclose(seen["degree"], a_norm.sum(1), rtol=1e-6)


def test_mincut_keeps_the_restart_with_the_lowest_final_loss(monkeypatch):
    # the final evaluation of each restart (no gradient) gives its loss; the returned
    # assignments must be the restart with the smallest cut + ortho
    finals = []
    real = graph_mod.mincut_losses

    def spy(s, adjacency, degree=None):
        cut, ortho = real(s, adjacency, degree)
        if not s.requires_grad:
            finals.append((float(cut + ortho), s.detach().numpy().copy()))
        return cut, ortho

    monkeypatch.setattr(graph_mod, "mincut_losses", spy)
    w = _adjacency(6, [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)])
    feats = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    g = SceneGraph(segments=np.arange(6).reshape(2, 3), features=feats, adjacency=w)
    s = mincut(g, 2, GraphConfig(steps=3, hidden=4, restarts=4))
    assert len(finals) == 4
    best = min(finals, key=lambda f: f[0])
    np.testing.assert_array_equal(s, best[1])
    # one restart: the paper's single training
    finals.clear()
    mincut(g, 2, GraphConfig(steps=3, hidden=4, restarts=1))
    assert len(finals) == 1


# ------------------------------------------------------------------- Contrastive Clustering


def test_nt_xent_identical_views():
    # z = (e1, e2, e1, e2), self-similarities masked. Row e1 (view a) sees e2: cos 0, its
    # positive e1: cos 1, e2: cos 0 -> -log(e^{1/t} / (e^{1/t} + 2)) = log(1 + 2 e^{-1/t});
    # every row alike
    e = torch.eye(2, dtype=F64)
    for t in (1.0, 0.5):
        assert nt_xent(e, e, t).item() == pytest.approx(math.log(1 + 2 * math.exp(-1 / t)),
                                                        abs=1e-12)


def test_nt_xent_swapped_views_and_scale_invariance():
    # a = (e1, e2), b = (e2, e1): each positive is orthogonal (cos 0) and one negative is
    # identical (cos 1): -log(1 / (1 + 1 + e)) = log(2 + e), t = 1. Rows are cosine-normalised,
    # so scaling them changes nothing
    a = torch.eye(2, dtype=F64)
    b = a.flip(0)
    assert nt_xent(a, b, 1.0).item() == pytest.approx(math.log(2 + math.e), abs=1e-12)
    assert nt_xent(3 * a, 0.5 * b, 1.0).item() == pytest.approx(math.log(2 + math.e),
                                                                abs=1e-12)


def test_nt_xent_three_samples_by_hand():
    # a = b = (1, 0), (0, 1), (r, r) with r = 1/sqrt(2): row 0 of view a has the positive
    # cos 1 and negatives 0 (a1), r (a2), 0 (b1), r (b2), t = 1; row 2 has the positive 1
    # and negatives r, r, r, r
    r = 1 / math.sqrt(2)
    a = torch.tensor([[1, 0], [0, 1], [r, r]], dtype=F64)
    l01 = -math.log(math.e / (math.e + 2 + 2 * math.exp(r)))  # rows 0 and 1, both views
    l2 = -math.log(math.e / (math.e + 4 * math.exp(r)))
    assert nt_xent(a, a, 1.0).item() == pytest.approx((4 * l01 + 2 * l2) / 6, abs=1e-12)


def test_cluster_loss_balanced_one_hot():
    # columns of P = I_2 are e1, e2: the NT-Xent above, log(1 + 2/e); the marginal is
    # (1/2, 1/2), so each view's log k - H(Y) term is 0
    p = torch.eye(2, dtype=F64)
    assert cluster_loss(p, p, 1.0).item() == pytest.approx(math.log(1 + 2 / math.e),
                                                           abs=1e-12)


def test_cluster_loss_entropy_term():
    # P = rows (1, 0), (1, 0), (0, 1): columns (1, 1, 0) and (0, 0, 1) are orthogonal, so
    # NT-Xent = log(1 + 2/e). Marginal (2/3, 1/3): H = log 3 - (2/3) log 2, and the loss adds
    # log 2 - H for each view. The paper subtracts H(Y) summed over both views; the code adds
    # the constant 2 log k, as the authors' code (zero for a uniform marginal)
    p = torch.tensor([[1, 0], [1, 0], [0, 1]], dtype=F64)
    h = math.log(3) - 2 / 3 * math.log(2)
    expected = math.log(1 + 2 / math.e) + 2 * (math.log(2) - h)
    assert cluster_loss(p, p, 1.0).item() == pytest.approx(expected, abs=1e-12)


def test_cluster_loss_collapsed_assignment():
    # every sample all in cluster 0: columns (1, 1) and (0, 0) (the zero column stays 0 after
    # normalisation). Row col0_a: positive cos 1, negatives col1_a 0, col1_b 0:
    # log(1 + 2/e); row col1_a: all similarities 0: log 3. Marginal (1, 0): H = 0, so each
    # view adds log 2
    p = torch.tensor([[1, 0], [1, 0]], dtype=F64)
    expected = (2 * math.log(1 + 2 / math.e) + 2 * math.log(3)) / 4 + 2 * math.log(2)
    assert cluster_loss(p, p, 1.0).item() == pytest.approx(expected, abs=1e-12)


class _Pca:
    """A stand-in PcaTransform: 2 scores of 3-band spectra."""

    components = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]) / np.array([[2 ** 0.5], [1.0]])
    scale = np.array([2.0, 2.0])
    mean = np.array([0.5, 1.0, 1.5])


def _band_space_views(views, patches, gen, cfg):
    """The views computed the long way: back to spectra, augment, project (no noise)."""
    b = patches.shape[0]
    x = patches.permute(0, 2, 3, 1) @ views.comp + views.mean  # (B, p, p, bands)
    scale = 1 + cfg.brightness * (2 * torch.rand(b, 1, generator=gen) - 1)
    keep = (torch.rand(b, x.shape[-1], generator=gen) >= cfg.band_dropout).float()
    x = x * scale[:, None, None] * keep[:, None, None]
    z = ((x - views.mean) @ views.proj).permute(0, 3, 1, 2)
    flip_h, flip_v, swap = (torch.rand(b, generator=gen) < 0.5 for _ in range(3))
    z = torch.where(flip_h[:, None, None, None], z.flip(-1), z)
    z = torch.where(flip_v[:, None, None, None], z.flip(-2), z)
    return torch.where(swap[:, None, None, None], z.transpose(-1, -2), z)


def test_score_space_views_equal_band_space_augmentation():
    # without noise the score-space view s z M + (s mu*m - mu) P is exactly the projection of
    # the brightness-scaled, band-dropped spectrum (same draws from the same generator)
    cfg = ContrastiveConfig(noise=0.0, band_dropout=0.4, brightness=0.3)
    views = SpectralViews(_Pca(), cfg, "cpu")
    patches = torch.randn(64, 2, 3, 3, generator=torch.Generator().manual_seed(1))
    got = views(patches, torch.Generator().manual_seed(5))
    want = _band_space_views(views, patches, torch.Generator().manual_seed(5), cfg)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_score_space_noise_has_the_projected_covariance():
    # band noise n ~ N(0, s^2 I) on the 3 bands, projected by P (bands, C): covariance
    # s^2 P^T P. Here P = components^T / scale = [[1/(2 sqrt 2), 0], [0, 1/2],
    # [1/(2 sqrt 2), 0]], so P^T P = diag(1/4, 1/4); s = 0.1 * mean|mu| = 0.1
    cfg = ContrastiveConfig(noise=0.1, band_dropout=0.0, brightness=0.0)
    views = SpectralViews(_Pca(), cfg, "cpu")
    z = views(torch.zeros(20000, 2, 1, 1), torch.Generator().manual_seed(0))[:, :, 0, 0]
    cov = np.cov(z.double().numpy().T)
    np.testing.assert_allclose(cov, np.diag([0.0025, 0.0025]), atol=2.5e-4)
    # every band dropped: the spectrum is 0, its scores -mu P = -(2 / (2 sqrt 2), 1 / 2),
    # and no noise survives (its covariance P^T diag(0) P is 0)
    cfg = ContrastiveConfig(noise=0.1, band_dropout=1.0, brightness=0.5)
    views = SpectralViews(_Pca(), cfg, "cpu")
    z = views(torch.randn(5, 2, 3, 3), torch.Generator().manual_seed(0))
    want = torch.tensor([-1 / math.sqrt(2), -0.5])[None, :, None, None].expand(5, 2, 3, 3)
    torch.testing.assert_close(z, want, rtol=0, atol=1e-6)


# ------------------------------------------------------------------------------ SpectralNet


def test_orthonorm_output_is_orthonormal_over_the_batch():
    # convention: Y^T Y / n = I_k on the batch (train mode, factor from the batch's QR)
    torch.manual_seed(0)
    net = SpectralNet(12, 4).to(F64).train()
    x = torch.randn(256, 12, dtype=F64)
    y = net(x).detach().numpy()
    np.testing.assert_allclose(y.T @ y / len(y), np.eye(4), atol=1e-5)
    # the factor is upper-triangular: column j of Y mixes only raw columns 0..j
    w = net.orthonorm.weight.numpy()
    np.testing.assert_array_equal(np.tril(w, -1), 0)
    # eval mode reuses the factor frozen on a batch: orthonormal on that batch too
    with torch.no_grad():
        net.orthonorm.freeze(net.body(x))
    y_eval = net.eval()(x).detach().numpy()
    np.testing.assert_allclose(y_eval.T @ y_eval / len(y_eval), np.eye(4), atol=1e-5)
    np.testing.assert_allclose(y_eval, y, atol=1e-8)


def test_batch_affinity_by_hand():
    # points 0, 1, 3 on a line, 1 neighbour: squared distances to the nearest 1, 1, 4;
    # sigma^2 = median = 1. W_01 = W_10 = exp(-1/2), point 2's neighbour is 1: exp(-4/2);
    # symmetrised by the maximum, no 0-2 edge
    x = torch.tensor([[0.0], [1.0], [3.0]], dtype=F64)
    w = batch_affinity(x, 1).numpy()
    a, b = math.exp(-0.5), math.exp(-2)
    np.testing.assert_allclose(w, [[0, a, 0], [a, 0, b], [0, b, 0]], atol=1e-12)


def test_batch_affinity_local_scale_by_hand():
    # the same points, each its own scale s_i = distance to its neighbour: 1, 1, 2.
    # W_01 = exp(-1 / (2 * 1 * 1)), point 2 -> 1: exp(-4 / (2 * 2 * 1)) = exp(-1)
    x = torch.tensor([[0.0], [1.0], [3.0]], dtype=F64)
    w = batch_affinity(x, 1, scale="local").numpy()
    a, b = math.exp(-0.5), math.exp(-1)
    np.testing.assert_allclose(w, [[0, a, 0], [a, 0, b], [0, b, 0]], atol=1e-12)
    with pytest.raises(ValueError, match="scale"):
        batch_affinity(x, 1, scale="global")


def test_spectral_loss_by_hand():
    # y = 0, 1, 3 (k = 1), W_01 = 1, W_12 = 1/2. Unnormalised: sum_ij W_ij (y_i - y_j)^2 / n
    # = 2 (1 * 1 + 0.5 * 4) / 3 = 2. Normalised: degrees 1, 3/2, 1/2, y_i / sqrt(d_i) =
    # 0, sqrt(2/3), 3 sqrt(2)
    y = torch.tensor([[0.0], [1.0], [3.0]], dtype=F64)
    w = torch.tensor([[0, 1, 0], [1, 0, 0.5], [0, 0.5, 0]], dtype=F64)
    assert spectral_loss(y, w, normalized=False).item() == pytest.approx(2.0, abs=1e-12)
    expected = 2 * (1 * (2 / 3) + 0.5 * (3 * math.sqrt(2) - math.sqrt(2 / 3)) ** 2) / 3
    assert spectral_loss(y, w, normalized=True).item() == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------------- Dink-Net


def test_dinknet_losses_three_centres():
    # centres (1,0), (0,1), (-1,0): squared distances 2, 4, 2, so the dilation is
    # -2 (2 + 4 + 2) / (3 * 2) = -8/3. Samples (1,0), (0,1): distances to the centres
    # (0, 2, 4) and (2, 0, 2): nearest shrink 0, all-centre shrink 10/6
    c = torch.tensor([[1.0, 0], [0, 1], [-1, 0]], dtype=F64)
    h = torch.tensor([[1.0, 0], [0, 1]], dtype=F64)
    dil, near = dilation_shrink_losses(h, c, "nearest")
    _, every = dilation_shrink_losses(h, c, "all")
    assert dil.item() == pytest.approx(-8 / 3, abs=1e-12)
    assert near.item() == pytest.approx(0.0, abs=1e-12)
    assert every.item() == pytest.approx(10 / 6, abs=1e-12)


def test_dinknet_losses_normalise_the_centres():
    # centres (2,0), (0,5) are unit-normalised first: dilation -2 (k = 2, ||e1 - e2||^2 = 2).
    # Sample (0.6, 0.8): ||(-0.4, 0.8)||^2 = 0.8 and ||(0.6, -0.2)||^2 = 0.4
    c = torch.tensor([[2.0, 0], [0, 5]], dtype=F64)
    h = torch.tensor([[0.6, 0.8]], dtype=F64)
    dil, near = dilation_shrink_losses(h, c, "nearest")
    _, every = dilation_shrink_losses(h, c, "all")
    assert dil.item() == pytest.approx(-2.0, abs=1e-12)
    assert near.item() == pytest.approx(0.4, abs=1e-12)
    assert every.item() == pytest.approx(0.6, abs=1e-12)


def test_dinknet_shuffle_corruption_is_shuffle_then_propagate():
    # columns: own score, 3×3 mean, 5×5 mean (C = 1, radii (1, 2)). The paper's corruption
    # shuffles the nodes and then propagates: a random row's own score and, per window of m
    # pixels, the mean of m random rows' own scores (replayed from the same generator)
    x = torch.tensor([[0.0, 9, 9], [1, 9, 9], [2, 9, 9], [3, 9, 9]])
    fake = corrupt(x, True, torch.Generator().manual_seed(3), radii=(1, 2), mode="shuffle")
    gen = torch.Generator().manual_seed(3)
    perm = torch.randperm(4, generator=gen)
    i9 = torch.randint(4, (4, 9), generator=gen)
    i25 = torch.randint(4, (4, 25), generator=gen)
    torch.testing.assert_close(fake[:, 0], x[perm, 0])
    torch.testing.assert_close(fake[:, 1], x[i9, 0].mean(1))
    torch.testing.assert_close(fake[:, 2], x[i25, 0].mean(1))
    # the real neighbourhood columns (all 9) are never used: means of 0..3 stay in [0, 3]
    assert sorted(fake[:, 0].tolist()) == [0, 1, 2, 3] and (fake[:, 1:] <= 3).all()
    # a constant scene: every corrupted row equals the real one
    const = torch.full((5, 2), 2.0)
    fake = corrupt(const, True, torch.Generator().manual_seed(0), mode="shuffle")
    torch.testing.assert_close(fake, const)


def test_dinknet_swap_corruption_keeps_own_scores():
    x = torch.tensor([[0.0, 10], [1, 11], [2, 12]])
    fake = corrupt(x, True, torch.Generator().manual_seed(0))  # the default
    perm = torch.randperm(3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(fake, torch.stack([x[:, 0], x[perm, 1]], 1))


# -------------------------------------------------------------------------------------- AGC


def test_agc_filter_on_a_triangle():
    # triangle + self-loops: A + I = J (all ones), degrees 3, D^-1/2 (A + I) D^-1/2 = J / 3,
    # G = (I + J/3) / 2: one step moves each node halfway to the triangle's mean
    g = agc_filter(_adjacency(3, [(0, 1), (1, 2), (0, 2)])).toarray()
    np.testing.assert_allclose(g, (np.eye(3) + np.ones((3, 3)) / 3) / 2, atol=1e-12)


def test_intra_distance_by_hand():
    # x = 0, 2 | 10, 12: each cluster's mean squared distance over its 4 ordered pairs
    # (self-pairs included) is (0 + 4 + 4 + 0) / 4 = 2; over all 16 pairs of the 4 points it
    # is 2 * variance = 2 * 26 = 52, so the criterion is 2 / 52
    x = np.array([[0.0], [2.0], [10.0], [12.0]])
    assert intra_distance(x, np.array([0, 0, 1, 1])) == pytest.approx(2 / 52, abs=1e-12)
    # unequal clusters: {0} alone spreads 0; {2, 10, 12} has mean 8, variance
    # (36 + 4 + 16) / 3 = 56/3, spread 112/3; the mean over the two clusters, 56/3, over 52
    assert intra_distance(x, np.array([0, 1, 1, 1])) == pytest.approx(56 / 3 / 52, abs=1e-12)
    # scale-free: scaling the features leaves it unchanged
    assert intra_distance(7 * x, np.array([0, 0, 1, 1])) == pytest.approx(2 / 52, abs=1e-12)


def test_paper_intra_distance_by_hand():
    # the paper's Eq. 11 on x = 0, 2 | 10, 12: each cluster's mean over its 2 ordered pairs
    # i != j is (4 + 4) / 2 = 4, not divided by the spread: 4; scaled by 7: 49 * 4
    x = np.array([[0.0], [2.0], [10.0], [12.0]])
    assert graph_mod.paper_intra_distance(x, np.array([0, 0, 1, 1])) == pytest.approx(4.0)
    assert graph_mod.paper_intra_distance(7 * x, np.array([0, 0, 1, 1])) == pytest.approx(196)
    # {0} alone counts 0; {2, 10, 12}: pairs (2,10) 64, (2,12) 100, (10,12) 4, each twice,
    # over 3 * 2 ordered pairs: 336 / 6 = 56; the mean over the two clusters: 28
    assert graph_mod.paper_intra_distance(x, np.array([0, 1, 1, 1])) == pytest.approx(28.0)


def test_kernel_spectral_splits_orthogonal_groups():
    # two groups of nodes along nearly orthogonal directions: the linear kernel is nearly
    # block diagonal (weak links between the groups keep the graph connected)
    rng = np.random.default_rng(0)
    x = np.full((20, 2), 0.05)
    x[:10, 0] = 1 + 0.1 * rng.random(10)
    x[10:, 1] = 1 + 0.1 * rng.random(10)
    labels = graph_mod.kernel_spectral(x, 2, seed=0)
    assert len(set(labels[:10])) == 1 and len(set(labels[10:])) == 1
    assert labels[0] != labels[10]


def test_agc_options_are_checked():
    g = SceneGraph(segments=np.arange(4).reshape(2, 2), features=np.eye(4, dtype=np.float32),
                   adjacency=PATH4)
    with pytest.raises(Exception, match="criterion"):
        agc(g, 2, criterion="raw")
    labels, _ = agc(g, 2, max_order=2, criterion="paper", final="paper")
    assert labels.shape == (4,)


def test_agc_keeps_the_order_before_the_criterion_grows(monkeypatch):
    # criterion 0.5, 0.4, 0.4, 0.45, ...: it first grows at t = 4, so t = 3 and its labels
    values = iter([0.5, 0.4, 0.4, 0.45, 0.1])
    calls = []

    def fake_kmeans(x, k, seed):
        calls.append(len(calls) + 1)
        return np.full(len(x), len(calls))  # labels name the order that made them

    monkeypatch.setattr(graph_mod, "svd_kmeans", fake_kmeans)
    monkeypatch.setattr(graph_mod, "intra_distance", lambda x, labels: next(values))
    g = SceneGraph(segments=np.arange(4).reshape(2, 2), features=np.eye(4, dtype=np.float32),
                   adjacency=PATH4)
    labels, order = agc(g, 2, max_order=10)
    assert order == 3
    np.testing.assert_array_equal(labels, 3)
    assert calls == [1, 2, 3, 4]  # stops at the first increase


def test_agc_two_triangles_never_stops_early():
    # two disconnected triangles: each filtering step halves every node's offset from its
    # triangle's mean and leaves the means, so the within-triangle spread shrinks by 4 per step
    # while the between-triangle part stays: the criterion decreases at every order and AGC
    # runs to max_order, with the triangles as clusters
    a = _adjacency(6, [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)])
    f = np.array([[1, 0.2], [0.8, 0], [1, 0], [0, 1], [0.1, 0.9], [0.3, 1]], dtype=np.float32)
    g = SceneGraph(segments=np.arange(6).reshape(2, 3), features=f, adjacency=a)
    labels, order = agc(g, 2, max_order=5)
    assert order == 5
    assert len(set(labels[:3])) == 1 and len(set(labels[3:])) == 1
    assert labels[0] != labels[3]
    # the criterion at order t, by hand: x_t = m + (x - m) / 2^t per triangle
    x = f.astype(np.float64)
    m = np.repeat([x[:3].mean(0), x[3:].mean(0)], 3, axis=0)
    lab = np.array([0, 0, 0, 1, 1, 1])
    within = np.mean([2 * ((x[s] - m[s]) ** 2).sum(1).mean() for s in (lab == 0, lab == 1)])
    between = 2 * ((m - m.mean(0)) ** 2).sum(1).mean()
    prev = np.inf
    filt = agc_filter(a)
    xt = x
    for t in range(1, 6):
        shrink = 4.0 ** -t
        xt = filt @ xt
        np.testing.assert_allclose(xt, m + (x - m) * 2.0 ** -t, atol=1e-12)
        # total spread = between-triangle part + the shrunk mean within-triangle part
        expected = within * shrink / (between + within * shrink)
        assert intra_distance(xt, lab) == pytest.approx(expected, rel=1e-12)
        assert expected < prev
        prev = expected


class _UnitPca(_Pca):
    """The stand-in for unit-norm spectra with a brightness channel (log-norm spread 0.5)."""

    unit_norm = True
    brightness = np.array([0.0, 0.5])


def test_views_of_unit_spectra_move_brightness_only_in_its_channel():
    # with unit-norm spectra a brightness factor s leaves the scores alone (s = 1 there) and
    # shifts the brightness channel by log(s) / spread; no noise, no dropout: scores unchanged
    cfg = ContrastiveConfig(noise=0.0, band_dropout=0.0, brightness=0.5)
    views = SpectralViews(_UnitPca(), cfg, "cpu")
    patches = torch.randn(256, 3, 1, 1, generator=torch.Generator().manual_seed(2))
    got = views(patches, torch.Generator().manual_seed(3))
    torch.testing.assert_close(got[:, :2], patches[:, :2], rtol=1e-5, atol=1e-6)
    gen = torch.Generator().manual_seed(3)  # the same first draw: the brightness factors
    s = 1 + 0.5 * (2 * torch.rand(256, 1, generator=gen) - 1)
    torch.testing.assert_close(got[:, 2, 0, 0] - patches[:, 2, 0, 0], s[:, 0].log() / 0.5,
                               rtol=1e-5, atol=1e-6)
    # raw spectra: the same factor scales the spectrum, so the scores move
    raw = SpectralViews(_Pca(), cfg, "cpu")(patches[:, :2], torch.Generator().manual_seed(3))
    assert (raw - patches[:, :2]).abs().max() > 0.1


def test_siamese_pair_loss_by_hand():
    # positive at distance 5: 25; negatives at distance 1 (the margin) and 0.5: 0 and 0.25
    za = torch.zeros(3, 2)
    zb = torch.tensor([[3.0, 4.0], [0.6, 0.8], [0.3, 0.4]])
    loss = contrastive_pair_loss(za, zb, torch.tensor([True, False, False]), margin=1.0)
    torch.testing.assert_close(loss, torch.tensor((25 + 0 + 0.25) / 3))


def test_siamese_embedding_pulls_neighbours_in_and_pushes_random_pairs_out():
    # two well separated blobs: after training, nearest neighbours (same blob) lie much
    # closer in the Siamese embedding than pixels of different blobs
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.3, (200, 4)), rng.normal(3, 0.3, (200, 4))])
    cfg = SpectralNetConfig(hidden=32, batch_size=128, siamese_steps=300, siamese_dim=4)
    net = fit_siamese(x.astype(np.float32), cfg, gen=torch.Generator().manual_seed(0),
                      device="cpu")
    with torch.no_grad():
        z = net(torch.as_tensor(x, dtype=torch.float32))
    within = torch.cdist(z[:200], z[:200]).mean()
    between = torch.cdist(z[:200], z[200:]).mean()
    assert between > 3 * within


def test_mcgc_views_by_hand():
    from hsi.clustering.contrastive import spatial_view, spectral_view

    patches = torch.arange(2 * 9, dtype=torch.float32).reshape(1, 2, 3, 3)
    spec = spectral_view(patches)
    assert torch.equal(spec, patches[:, :, 1:2, 1:2].expand(1, 2, 3, 3))  # centre everywhere
    spat = spatial_view(patches)
    # channel 0 holds 0..8, centre 4: the other 8 pixels' mean is (36 - 4) / 8 = 4;
    # channel 1 holds 9..17, centre 13: (117 - 13) / 8 = 13; the rest unchanged
    torch.testing.assert_close(spat[0, :, 1, 1], torch.tensor([4.0, 13.0]))
    patches = patches.clone()
    patches[0, 0, 1, 1] = 100.0  # the pixel's own value never enters its spatial view
    assert spatial_view(patches)[0, 0, 1, 1] == 4.0
    mask = torch.ones(3, 3, dtype=torch.bool)
    mask[1, 1] = False
    assert torch.equal(spatial_view(patches)[..., mask], patches[..., mask])
