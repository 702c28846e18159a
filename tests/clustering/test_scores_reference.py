"""Science audit: clustering scores against independent references on real scenes.

ACC is checked against an exhaustive search over all one-to-one cluster -> class matchings
(small k) or :func:`scipy.optimize.linear_sum_assignment` on scikit-learn's contingency table;
NMI and ARI against numpy transcriptions of their formulas (NMI: mutual information over the
arithmetic mean of the two entropies; ARI: Hubert & Arabie). The cluster maps are those of a
quick k-means on Indian Pines, Salinas-A, Samson and Jasper Ridge, with more and fewer clusters
than classes.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from scipy.optimize import linear_sum_assignment
from scipy.special import comb
from sklearn.metrics.cluster import contingency_matrix

from hsi.clustering.evaluate import clustering_accuracy, evaluate, match_clusters
from hsi.errors import HsiError
from hsi.labels import Labels

SCENES = ["indian_pines", "salinas_a", "samson", "jasper_ridge"]


@pytest.fixture(scope="module")
def kmeans_maps(data_dir):
    """{scene: (ground truth, {"more": map of K + 2 clusters, "fewer": of K - 1})}: k-means on
    every 16th band (one init, 20 iterations), the fewer-cluster map by merging clusters."""
    from sklearn.cluster import KMeans

    import hsi.data

    out = {}
    for name in SCENES:
        s = hsi.data.load(name)
        gt = np.asarray(s.labels).astype(np.int64)
        k = int(gt.max())
        cube = np.asarray(s.cube.compute().data)[::16]
        x = cube.reshape(cube.shape[0], -1).T
        more = KMeans(k + 2, n_init=1, max_iter=20, random_state=0).fit_predict(x)
        more = more.reshape(gt.shape) + 1  # hsi's convention: clusters 1..k, 0 = nodata
        fewer = (more - 1) % (k - 1) + 1
        out[name] = (gt, {"more": more, "fewer": fewer})
    return out


def best_matching_exhaustive(c: np.ndarray) -> int:
    """Largest sum of a one-to-one matching of rows and columns of ``c``, trying them all."""
    r, k = c.shape
    if r > k:
        c, r, k = c.T, k, r
    perms = np.array(list(itertools.permutations(range(k), r)))
    return int(c[np.arange(r), perms].sum(1).max())


def reference(clusters: np.ndarray, labels: np.ndarray) -> dict:
    keep = (labels > 0) & (clusters > 0)
    t, p = labels[keep], clusters[keep]
    c = contingency_matrix(t, p)  # rows classes, columns clusters
    n = c.sum()
    if min(c.shape) <= 6 and max(c.shape) <= 8:
        hits = best_matching_exhaustive(c)
    else:
        rows, cols = linear_sum_assignment(c, maximize=True)
        hits = int(c[rows, cols].sum())
    pij = c / n
    pi, pj = pij.sum(1), pij.sum(0)
    nz = pij > 0
    mi = float((pij[nz] * np.log(pij[nz] / np.outer(pi, pj)[nz])).sum())
    hu, hv = -(pi * np.log(pi)).sum(), -(pj * np.log(pj)).sum()
    sum_ij = comb(c, 2).sum()
    a, b = comb(c.sum(1), 2).sum(), comb(c.sum(0), 2).sum()
    expected = a * b / comb(n, 2)
    return {"acc": hits / n, "nmi": mi / ((hu + hv) / 2),
            "nmi_geometric": mi / np.sqrt(hu * hv),
            "ari": (sum_ij - expected) / ((a + b) / 2 - expected), "pixels": int(n)}


@pytest.mark.parametrize("name", SCENES)
@pytest.mark.parametrize("which", ["more", "fewer"])
def test_scores_of_kmeans_maps_match_references(kmeans_maps, name, which):
    gt, maps = kmeans_maps[name]
    clusters = maps[which]
    scores = evaluate(clusters, gt)
    ref = reference(clusters, gt)
    assert scores["pixels"] == ref["pixels"] == int((gt > 0).sum())
    for key in ("acc", "nmi", "ari"):
        assert abs(scores[key] - ref[key]) < 1e-12, (key, scores[key], ref[key])
    # NMI: the arithmetic-mean normalisation (sklearn's default), not the geometric one
    if abs(ref["nmi"] - ref["nmi_geometric"]) > 1e-6:
        assert abs(scores["nmi"] - ref["nmi_geometric"]) > 1e-6
    # the matching is one-to-one; ACC counts the pixels of unmatched clusters/classes wrong
    keep = gt > 0
    mapping = match_clusters(clusters[keep], gt[keep])
    assert len(set(mapping.values())) == len(mapping) == min(
        len(np.unique(clusters[keep])), len(np.unique(gt[keep])))
    hits = sum(int(((clusters == c) & (gt == t)).sum()) for c, t in mapping.items())
    assert clustering_accuracy(clusters[keep], gt[keep]) == hits / keep.sum()


def test_unlabelled_pixels_do_not_count(kmeans_maps):
    """Indian Pines: 10 776 unlabelled pixels; whatever their clusters, the scores stand."""
    gt, maps = kmeans_maps["indian_pines"]
    clusters = maps["more"]
    scores = evaluate(clusters, gt)
    shuffled = clusters.copy()
    shuffled[gt == 0] = np.random.default_rng(0).integers(1, 19, int((gt == 0).sum()))
    assert evaluate(shuffled, gt) == scores
    assert scores["pixels"] == int((gt > 0).sum())


def test_unclustered_labelled_pixels_are_left_out_and_said(kmeans_maps, caplog):
    """Cluster 0 = nodata: its labelled pixels are left out, with a warning saying how many
    (a 0-based cluster map would silently lose a whole cluster otherwise)."""
    gt, maps = kmeans_maps["samson"]
    zero_based = maps["more"] - 1
    with caplog.at_level(logging.WARNING):
        scores = evaluate(zero_based, gt)
    dropped = int(((zero_based == 0) & (gt > 0)).sum())
    assert scores["pixels"] == int((gt > 0).sum()) - dropped
    assert f"{dropped} of {int((gt > 0).sum())} labelled pixels" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        evaluate(maps["more"], gt)
    assert caplog.text == ""


def test_labels_rasters_are_scored_as_their_arrays(kmeans_maps):
    """:class:`Labels` (what :func:`hsi.io.labels.read_labels` returns) for either map."""
    gt, maps = kmeans_maps["jasper_ridge"]
    want = evaluate(maps["fewer"], gt)
    assert evaluate(Labels(maps["fewer"]), Labels(gt)) == want
    assert evaluate(maps["fewer"], Labels(gt)) == want


def test_accuracy_of_maps_of_different_sizes_is_refused():
    with pytest.raises(HsiError):
        clustering_accuracy(np.array([1, 2, 3]), np.array([1, 1]))


def test_cli_prints_the_api_scores(kmeans_maps, tmp_path):
    from hsi.cli import main
    from hsi.io.labels import write_class_map

    gt, maps = kmeans_maps["salinas_a"]
    clusters = maps["more"]
    k = int(clusters.max())
    cpath = write_class_map(tmp_path / "clusters.tif", clusters, crs=None, transform=None,
                            class_names=[f"cluster {i}" for i in range(1, k + 1)])
    profile = {"driver": "GTiff", "count": 1, "height": gt.shape[0], "width": gt.shape[1],
               "dtype": "uint8"}
    with rasterio.open(tmp_path / "truth.tif", "w", **profile) as dst:
        dst.write(gt.astype(np.uint8), 1)
    r = CliRunner().invoke(main.cli, ["cluster-evaluate", str(cpath), str(tmp_path / "truth.tif")])
    assert r.exit_code == 0, r.output
    printed = dict(line.split() for line in r.output.strip().splitlines())
    scores = evaluate(clusters, gt)
    assert {k: float(v) for k, v in printed.items()} == {
        "ACC": round(scores["acc"], 4), "NMI": round(scores["nmi"], 4),
        "ARI": round(scores["ari"], 4), "pixels": scores["pixels"]}
