"""Contrastive pretraining of the discriminator's feature trunk (GanConfig.pretrain)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from hsi.classification import GanConfig, train_classifier
from hsi.classification.features import fit_pca
from hsi.classification.gan import Discriminator
from hsi.classification.pretrain import pretrain_contrastive
from hsi.classification.train import train_networks
from hsi.cube import valid_mask
from hsi.errors import HsiError

#: Tiny settings: one epoch of the GAN on the crop, 10 pretraining steps.
TINY = GanConfig(epochs=1, pretrain_steps=10, spectra="raw", members=1)

def _train(crop, split, config, seed):
    torch.set_num_threads(1)
    cube, _, names = crop
    train, _ = split
    return train_classifier(cube, train, class_names=names, config=config, seed=seed,
                            device="cpu", progress=False)


def _scene(crop):
    cube, _, _ = crop
    data = np.asarray(cube.data, dtype=np.float32)
    valid = valid_mask(data, cube.nodata)
    pca = fit_pca(data, TINY.n_components, valid, seed=0)
    return pca.transform(data, valid), valid, pca


def _pretrained(scene, seed):
    features, valid, pca = scene
    torch.manual_seed(0)
    disc = Discriminator(features.shape[0], 6, TINY.patch_size, TINY.width, TINY.dropout)
    before = {k: v.clone() for k, v in disc.state_dict().items()}
    out = pretrain_contrastive(disc, features, valid, pca, 6, TINY, seed=seed)
    assert out is disc and disc.training
    return before, disc.state_dict()


def test_pretraining_moves_the_trunk_only_deterministically(salinas_crop):
    torch.set_num_threads(1)
    scene = _scene(salinas_crop)
    before, after = _pretrained(scene, seed=0)
    for name in ("body.0.weight", "body.3.weight"):
        assert (after[name] - before[name]).abs().max() > 1e-3, name
    torch.testing.assert_close(after["head.weight"], before["head.weight"], rtol=0, atol=0)
    torch.testing.assert_close(after["head.bias"], before["head.bias"], rtol=0, atol=0)
    _, again = _pretrained(scene, seed=0)
    _, other = _pretrained(scene, seed=1)
    for name in after:
        torch.testing.assert_close(again[name], after[name], rtol=0, atol=0)
    assert (other["body.3.weight"] - after["body.3.weight"]).abs().max() > 1e-3


def test_pretrained_classifier_predicts_labelled_classes(salinas_crop, salinas_split):
    config = dataclasses.replace(TINY, pretrain="contrastive")
    clf = _train(salinas_crop, salinas_split, config, seed=3)
    plain = _train(salinas_crop, salinas_split, TINY, seed=3)
    # same seed, so the pretraining is what makes the weights differ
    diff = (clf.model.state_dict()["body.3.weight"]
            - plain.model.state_dict()["body.3.weight"]).abs().max()
    assert diff > 1e-3
    class_map, prob = clf.predict(salinas_crop[0], use_crf=False)
    assert set(np.unique(class_map).tolist()) <= set(range(1, 7))
    assert prob.shape == (6, *class_map.shape)
    np.testing.assert_allclose(prob.sum(0), 1.0, atol=1e-5)
    _, test = salinas_split
    m = test > 0
    assert np.mean(class_map[m] == test[m]) > 0.5  # 6 classes: chance is ~0.17


def test_pretrained_classifier_is_deterministic(salinas_crop, salinas_split):
    config = dataclasses.replace(TINY, pretrain="contrastive")
    a = _train(salinas_crop, salinas_split, config, seed=1).model.state_dict()
    b = _train(salinas_crop, salinas_split, config, seed=1).model.state_dict()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)


def test_no_pretraining_never_runs_the_pretrainer(salinas_crop, salinas_split, monkeypatch):
    import hsi.classification.pretrain as pretrain

    def fail(*args, **kwargs):
        raise AssertionError("pretrain_contrastive called with pretrain='none'")

    monkeypatch.setattr(pretrain, "pretrain_contrastive", fail)
    assert GanConfig().pretrain == "none"
    config = GanConfig(epochs=1, crf_select="fixed", spectra="raw", members=1)
    a = _train(salinas_crop, salinas_split, config, seed=3).model.state_dict()
    with pytest.raises(AssertionError, match="pretrain_contrastive called"):
        _train(salinas_crop, salinas_split, dataclasses.replace(config, pretrain="contrastive"),
               seed=3)
    b = _train(salinas_crop, salinas_split, config, seed=3).model.state_dict()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)


def test_bad_pretrain_settings():
    with pytest.raises(HsiError, match="pretrain: expected one of none, contrastive"):
        GanConfig(pretrain="simclr")
    with pytest.raises(HsiError, match="pretrain_steps: expected >= 1, got 0"):
        GanConfig(pretrain_steps=0)
    with pytest.raises(HsiError, match='needs spectra="raw", got \'shape\''):
        GanConfig(pretrain="contrastive", spectra="shape")


def test_contrastive_pretraining_needs_the_pca(salinas_crop):
    features, valid, _ = _scene(salinas_crop)
    labels = np.zeros(valid.shape, dtype=np.int64)
    labels[0, 0], labels[0, 1] = 1, 2
    config = dataclasses.replace(TINY, pretrain="contrastive")
    with pytest.raises(HsiError, match="pca: required"):
        train_networks(features, labels, valid, 2, config, progress=False)
