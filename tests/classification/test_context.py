"""The classifier's spatial context is chosen from the training labels alone."""

from __future__ import annotations

import numpy as np
import pytest

from hsi.classification.context import select_patch_size, window_means


def _scene(rng, salt_and_pepper: bool):
    """(features (2, 40, 40), labels (40, 40)): two classes, 10 labelled pixels each.

    ``salt_and_pepper``: each pixel's class is drawn on its own and its features tell it
    apart exactly (the window mixes classes); otherwise classes are 10-pixel-wide stripes and
    each pixel's features are noisy (the window averages the noise away).
    """
    h = w = 40
    if salt_and_pepper:
        cls = rng.integers(1, 3, size=(h, w))
        feats = np.stack([(cls == 1) * 1.0, (cls == 2) * 1.0]) + 0.05 * rng.normal(size=(2, h, w))
    else:
        cls = 1 + (np.arange(w)[None, :] // 10 % 2) * np.ones((h, 1), dtype=int)
        feats = np.stack([(cls == 1) * 0.3, (cls == 2) * 0.3]) + rng.normal(size=(2, h, w))
    labels = np.zeros((h, w), dtype=np.int64)
    for k in (1, 2):
        # labelled pixels away from the stripes' edges (their windows hold one class)
        rows, cols = np.nonzero((cls == k) & (np.arange(w)[None, :] % 10 > 1)
                                & (np.arange(w)[None, :] % 10 < 8))
        pick = rng.choice(len(rows), 10, replace=False)
        labels[rows[pick], cols[pick]] = k
    return feats.astype(np.float32), labels


def test_pixel_chosen_where_the_window_mixes_classes():
    feats, labels = _scene(np.random.default_rng(0), salt_and_pepper=True)
    patch, record = select_patch_size(feats, labels, 3)
    assert patch == 1 and record["chosen"] == 1
    assert record["scores"][1] > record["scores"][3]


def test_window_kept_where_it_averages_noise_within_a_class():
    feats, labels = _scene(np.random.default_rng(1), salt_and_pepper=False)
    patch, record = select_patch_size(feats, labels, 5)
    scores = record["scores"]
    assert sorted(scores) == [1, 3, 5]
    assert patch == 5 and scores[5] > max(scores[1], scores[3])


def test_each_odd_window_up_to_the_configured_one_is_scored_ties_to_the_smaller(monkeypatch):
    import hsi.classification.context as context

    feats, labels = _scene(np.random.default_rng(4), salt_and_pepper=False)
    # accuracies by the window a feature matrix came from: 3 and 7 tie for the best
    by_side = {1: 0.5, 3: 0.9, 5: 0.8, 7: 0.9}
    sides = iter(by_side)
    monkeypatch.setattr(context, "cv_accuracy", lambda x, y, seed=0: by_side[next(sides)])
    patch, record = select_patch_size(feats, labels, 7)
    assert patch == 3 and record == {"scores": by_side, "chosen": 3}


def test_no_choice_without_a_window_or_without_two_classes():
    feats, labels = _scene(np.random.default_rng(2), salt_and_pepper=True)
    assert select_patch_size(feats, labels, 1) == (1, {"scores": None, "chosen": 1})
    one_class = np.where(labels == 1, 1, 0)
    assert select_patch_size(feats, one_class, 3)[0] == 3


def test_choice_reads_only_the_labelled_pixels(monkeypatch):
    import hsi.classification.context as context

    feats, labels = _scene(np.random.default_rng(3), salt_and_pepper=True)
    seen = []
    real = context.cv_accuracy

    def spy(x, y, seed=0):
        seen.append((x.shape[0], np.sort(y)))
        return real(x, y, seed)

    monkeypatch.setattr(context, "cv_accuracy", spy)
    select_patch_size(feats, labels, 5)
    expected = np.sort(labels[labels > 0])
    assert len(seen) == 3 and all(n == 20 and np.array_equal(y, expected) for n, y in seen)


def test_window_means_by_hand():
    x = np.zeros((1, 3, 3), dtype=np.float32)
    x[0, 0, 0] = 9.0
    out = window_means(x, 3)
    assert out[0, 1, 1] == pytest.approx(1.0)  # 9 / 9
    assert out[0, 0, 0] == pytest.approx(4.0)  # border reflected (edge repeated): 4 × 9 / 9
    assert out[0, 2, 2] == pytest.approx(0.0)


def test_bad_patch_select_is_a_config_error():
    from hsi.classification import GanConfig
    from hsi.errors import ConfigError

    with pytest.raises(ConfigError, match="patch_select"):
        GanConfig(patch_select="auto")


def test_trained_classifier_records_the_choice_and_runs_at_patch_one(salinas_crop,
                                                                    salinas_split, tmp_path):
    import torch

    from hsi.classification import GanConfig, load_classifier, train_classifier

    torch.set_num_threads(1)
    cube, _, names = salinas_crop
    train, _ = salinas_split
    clf = train_classifier(cube, train, class_names=names, epochs=1, seed=0, device="cpu",
                           config=GanConfig(members=1, min_steps=20, crf_select="fixed"),
                           progress=False)
    from hsi.classification.context import candidate_sizes

    record = clf.history["patch_selection"]
    assert sorted(record["scores"]) == candidate_sizes(GanConfig().patch_size)
    assert clf.config.patch_size == record["chosen"] in record["scores"]
    # a spectral (patch 1) classifier trains, saves, loads and predicts the same map
    spectral = train_classifier(cube, train, class_names=names, epochs=1, seed=0, device="cpu",
                                config=GanConfig(members=1, min_steps=20, crf_select="fixed",
                                                 patch_size=1), progress=False)
    assert spectral.config.patch_size == 1 and "patch_selection" in spectral.history
    path = tmp_path / "p1.pt"
    spectral.save(path)
    again = load_classifier(path, device="cpu")
    assert again.config.patch_size == 1
    np.testing.assert_array_equal(again.predict(cube, use_crf=False)[0],
                                  spectral.predict(cube, use_crf=False)[0])
    # tiled prediction (no halo for the window at patch 1) equals the whole scene's
    from hsi.classification.predict import predict_arrays

    tiled, _ = predict_arrays(spectral, cube, use_crf=False, tile=16)
    whole = spectral.predict(cube, use_crf=False)[0]
    np.testing.assert_array_equal(np.asarray([0, *spectral.codes])[tiled], whole)
