"""Progress callback and cancellation of classifier training (hsi.progress)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hsi.classification import GanConfig, train_classifier
from hsi.errors import Cancelled


@pytest.mark.parametrize("crf_select", ["fixed", "cv"])
def test_callback_counts_every_step_up_to_total(salinas_crop, salinas_split, crf_select):
    torch.set_num_threads(1)
    cube, _, names = salinas_crop
    train, _ = salinas_split
    calls: list[tuple[int, int]] = []
    clf = train_classifier(cube, train, class_names=names, seed=0, device="cpu",
                           progress=False, callback=lambda d, t: calls.append((d, t)),
                           config=GanConfig(epochs=2, min_steps=0, crf_select=crf_select,
                                            crf_folds=2))
    # 42 × 64 valid pixels, batch 64: 42 steps per epoch, 2 epochs
    steps = 2 * math.ceil(42 * 64 / 64)
    # the default members per model; "cv": the classifier and one model per fold
    runs = GanConfig().members * (1 if crf_select == "fixed" else 3)
    total = runs * steps
    # each run counts its steps on one scale; a run starts where the previous one ended
    assert calls == [(run * steps + i, total) for run in range(runs) for i in range(steps + 1)]
    assert len(clf.history["supervised"]) == 2


def test_callback_does_not_change_the_result(salinas_crop, salinas_split):
    cube, _, names = salinas_crop
    train, _ = salinas_split
    kw = dict(class_names=names, epochs=1, seed=3, device="cpu", progress=False,
              config=GanConfig(members=1))
    plain = train_classifier(cube, train, **kw)
    watched = train_classifier(cube, train, callback=lambda d, t: None, **kw)
    for a, b in zip(plain.model.state_dict().values(), watched.model.state_dict().values(),
                    strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("stop_at", [0, 5])
def test_true_cancels_training(salinas_crop, salinas_split, stop_at):
    cube, _, names = salinas_crop
    train, _ = salinas_split
    calls: list[int] = []

    def callback(done: int, total: int) -> bool:
        calls.append(done)
        return done >= stop_at

    # the first member's 84 steps (the message counts the run that was stopped)
    with pytest.raises(Cancelled, match=f"after {stop_at} of 84 steps"):
        train_classifier(cube, train, class_names=names, seed=0, device="cpu",
                         progress=False, callback=callback,
                         config=GanConfig(epochs=2, min_steps=0, crf_select="fixed"))
    # no call after the one that returned True (at most 2 are allowed)
    assert calls[-1] - stop_at <= 2
    assert calls == list(range(stop_at + 1))


def test_a_small_scene_trains_min_steps(salinas_crop, salinas_split):
    """42 × 64 pixels at batch 64 are 84 steps in 2 epochs; min_steps lengthens the epochs."""
    cube, _, names = salinas_crop
    train, _ = salinas_split
    totals: set[int] = set()
    clf = train_classifier(cube, train, class_names=names, seed=0, device="cpu",
                           progress=False, callback=lambda d, t: totals.add(t),
                           config=GanConfig(epochs=2, min_steps=100, crf_select="fixed"))
    # the default members × 2 epochs of ceil(100 / 2) = 50 steps
    assert totals == {GanConfig().members * 100}
    assert len(clf.history["supervised"]) == 2


def test_each_training_run_has_its_own_label(monkeypatch):
    """classify train ran 3 members and 2 × 3 cross-validation trainings under bars all
    labelled "training"; each now says which run it is."""
    import hsi.classification.train as train_module
    from hsi.classification.config import GanConfig
    from hsi.classification.pipeline import select_crf_by_cv, train_model

    seen = []

    def fake(features, labels, valid, k, config, *, desc="training", **kwargs):
        seen.append(desc)
        return object(), {}

    monkeypatch.setattr(train_module, "train_networks", fake)
    monkeypatch.setattr("hsi.classification.pipeline.DiscriminatorEnsemble",
                        lambda members: type("E", (), {"eval": lambda self: self})())
    config = GanConfig(members=3, crf_folds=2)
    features = np.zeros((2, 8, 8), np.float32)
    labels = np.zeros((8, 8), int)
    labels[0, :4], labels[7, :4] = 1, 2
    valid = np.ones((8, 8), bool)
    train_model(features, labels, valid, 2, config)
    assert seen == ["training, member 1/3", "training, member 2/3", "training, member 3/3"]
    seen.clear()
    class Enough(Exception):
        pass

    def stop(*args, **kwargs):
        raise Enough

    monkeypatch.setattr("hsi.classification.train.predict_probabilities", stop)
    with pytest.raises(Enough):
        select_crf_by_cv(features, labels, valid, 2, config)
    assert seen[0] == "CRF cross-validation, fold 1/2, member 1/3"
