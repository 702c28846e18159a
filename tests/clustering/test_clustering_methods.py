"""Every clustering method on a synthetic endmember scene and a real Salinas-A crop."""

from __future__ import annotations

import numpy as np
import pytest

from hsi.clustering import METHODS, cluster, evaluate


@pytest.mark.parametrize("method", METHODS)
def test_recovers_endmember_blocks(method, blocks, fast):
    cube, labels = blocks
    res = cluster(cube, 3, method, seed=0, device="cpu", progress=False,
                  config=fast.get(method))
    assert res.labels.shape == labels.shape and res.labels.dtype == np.uint8
    assert set(np.unique(res.labels)) <= {1, 2, 3}
    assert res.confidence.dtype == np.float32
    assert 0 <= res.confidence.min() and res.confidence.max() <= 1
    assert evaluate(res.labels, labels)["acc"] > 0.9


@pytest.mark.parametrize("method", METHODS)
def test_beats_chance_on_salinas_a_crop(method, salinas_crop, fast):
    cube, labels = salinas_crop
    res = cluster(cube, 6, method, seed=0, device="cpu", progress=False,
                  config=fast.get(method))
    scores = evaluate(res.labels, labels)
    # chance (random labels) gives NMI ~0.01 and ARI ~0 here
    assert scores["nmi"] > 0.35, scores
    assert scores["ari"] > 0.15, scores


@pytest.mark.parametrize("method", ["kmeans", "spectralnet", "cc", "mincut", "dinknet"])
def test_labels_deterministic_for_a_seed(method, blocks, fast):
    cube, _ = blocks
    cube = cube[:, :16, :16]
    a = cluster(cube, 3, method, seed=3, device="cpu", progress=False, config=fast.get(method))
    b = cluster(cube, 3, method, seed=3, device="cpu", progress=False, config=fast.get(method))
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.confidence, b.confidence)


def test_nodata_pixels_get_label_zero(blocks):
    from hsi.cube import Cube

    cube, labels = blocks
    data = cube.copy()
    data[:, 0, :5] = -1.0
    res = cluster(Cube(data, nodata=-1.0), 3, "kmeans", progress=False)
    assert (res.labels[0, :5] == 0).all() and (res.confidence[0, :5] == 0).all()
    assert (res.labels[1:] > 0).all()
    assert evaluate(res.labels, labels)["acc"] > 0.9


def test_auto_k_finds_three_endmembers(blocks):
    res = cluster(blocks[0], "auto", "spectral", progress=False, spatial=False)
    assert res.k == 3
    assert "eigengap" in res.criterion
