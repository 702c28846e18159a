"""CRF parameters chosen by cross-validation on the training labels alone."""

from __future__ import annotations

import numpy as np
import pytest

from hsi.classification.crf import CrfParams
from hsi.classification.crf_select import (
    crf_grid,
    label_folds,
    overall_accuracy,
    select_crf_params,
)


def test_folds_partition_the_labelled_pixels_stratified(rng):
    labels = np.zeros((30, 30), dtype=np.int64)
    flat = labels.ravel()
    flat[rng.choice(900, 23, replace=False)] = np.repeat([1, 2, 3], [10, 8, 5])
    folds = label_folds(labels, 3, seed=1)
    assert len(folds) == 3
    np.testing.assert_array_equal(sum(folds), labels)  # disjoint, and together every label
    for c, n in ((1, 10), (2, 8), (3, 5)):
        counts = [int((f == c).sum()) for f in folds]
        assert sum(counts) == n and max(counts) - min(counts) <= 1


def test_grid_starts_without_pairwise_terms():
    grid = crf_grid()
    assert grid[0].gaussian_weight == 0 and grid[0].bilateral_weight == 0
    assert len({(p.gaussian_weight, p.bilateral_weight, p.bilateral_sxy, p.bilateral_schan)
                for p in grid}) == len(grid)


def _blocks() -> np.ndarray:
    truth = np.ones((32, 32), dtype=np.int64)
    truth[:, 16:] = 2
    return truth


def test_noisy_map_selects_a_smoothing_crf(rng):
    truth = _blocks()
    noisy = truth - 1
    flip = rng.random(truth.shape) < 0.2
    noisy[flip] = 1 - noisy[flip]
    prob = np.stack([np.where(noisy == 0, 0.65, 0.35), np.where(noisy == 1, 0.65, 0.35)])
    prob = prob.astype(np.float32)
    held_out = np.zeros_like(truth)
    held_out[::3, ::3] = truth[::3, ::3]
    guide = (truth[None] - 1).astype(np.float32)
    params, scores = select_crf_params([(prob, held_out)], guide)
    assert scores[0] == pytest.approx(overall_accuracy(prob.argmax(0), held_out))
    assert max(scores) > scores[0] + 0.1
    assert params.gaussian_weight > 0 or params.bilateral_weight > 0


def test_clean_map_keeps_no_crf():
    truth = _blocks()
    prob = np.stack([(truth == 1), (truth == 2)]).astype(np.float32) * 0.98 + 0.01
    held_out = np.zeros_like(truth)
    held_out[::4, ::4] = truth[::4, ::4]
    params, scores = select_crf_params([(prob, held_out)],
                                       np.zeros((1, 32, 32), np.float32))
    assert scores[0] == 1.0
    assert (params.gaussian_weight, params.bilateral_weight) == (0.0, 0.0)  # ties: no CRF


@pytest.mark.parametrize("members", [1, 2])
def test_training_never_reads_a_label_outside_the_training_raster(
        salinas_crop, salinas_split, monkeypatch, members):
    """Every raster the search trains on or scores on lies inside the training labels."""
    import hsi.classification.crf_select as crf_select
    import hsi.classification.train as train_mod
    from hsi.classification import GanConfig, train_classifier

    cube, _, names = salinas_crop
    train, _ = salinas_split
    seen_fit, seen_scored = [], []
    real_train, real_score = train_mod.train_networks, crf_select.overall_accuracy

    def spy_train(features, labels, *a, **kw):
        seen_fit.append(labels > 0)
        return real_train(features, labels, *a, **kw)

    def spy_score(class_index, reference):
        seen_scored.append(reference > 0)
        return real_score(class_index, reference)

    monkeypatch.setattr(train_mod, "train_networks", spy_train)
    monkeypatch.setattr(crf_select, "overall_accuracy", spy_score)
    clf = train_classifier(cube, train, class_names=names, seed=0, device="cpu", progress=False,
                           config=GanConfig(epochs=1, crf_folds=2, members=members))
    labelled = train > 0
    assert len(seen_fit) == 3 * members  # the classifier and one model per fold
    assert all(not (m & ~labelled).any() for m in seen_fit + seen_scored)
    # the two held-out folds together are exactly the training labels
    held = [m for m in seen_scored[:: len(crf_grid())]]
    assert len(held) == 2 and not (held[0] & held[1]).any()
    np.testing.assert_array_equal(held[0] | held[1], labelled)
    record = clf.history["crf_selection"]
    assert record["folds"] == 2 and record["chosen_score"] >= record["no_crf_score"]
    chosen = CrfParams(**record["chosen"])
    assert clf.config.crf_bilateral_weight == chosen.bilateral_weight
    assert clf.config.crf_gaussian_weight == chosen.gaussian_weight
