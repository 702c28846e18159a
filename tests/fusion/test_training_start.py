"""The start of INFN training: the zero-initialised head must not starve its hidden layer.

A fresh INFN returns its base image (its head is zero). Without a learning-rate warm-up,
Adam's first step moved every head weight by about ``lr``, and the steps after it switched the
MLP's ReLU units off to cancel that jump: seed 0 of the setup below kept 1 of its 32 hidden
units active after 20 steps and none from step 30 on, the head then had nothing to learn
from, and the model stayed at its base image for good (-0.006 dB over bicubic after 200 and
400 steps, 2026-12-05).
"""

from __future__ import annotations

import copy

import pytest
import torch
from rasterio.windows import Window
from torch import nn

from hsi.errors import Cancelled
from hsi.fusion import InfnConfig, train_infn
from hsi.fusion import train as training
from hsi.fusion.inr import lr_positions
from hsi.fusion.train import WARMUP_STEPS, _warmup


def test_warmup_rises_to_one_then_stays():
    assert _warmup(0, 200) == pytest.approx(1 / WARMUP_STEPS)
    assert _warmup(WARMUP_STEPS - 1, 200) == 1.0
    assert _warmup(WARMUP_STEPS, 200) == 1.0
    assert _warmup(0, 50) == pytest.approx(1 / 5)  # at most a tenth of the run
    assert all(_warmup(s, 9) == 1.0 for s in range(9))  # a few-step run: none


def _active_hidden_units(model, scene, ratio: int) -> float:
    """Fraction of the MLP's last hidden units (what the head reads) positive anywhere on
    ``scene``: the decoder run with an identity head returns the INR-CS-weighted hidden
    vector itself."""
    probe = copy.deepcopy(model).eval()
    d = probe.head.in_features
    probe.head = nn.Linear(d, d)
    with torch.no_grad():
        probe.head.weight.copy_(torch.eye(d))
        probe.head.bias.zero_()
        lr, msi, base = scene.lr[None], scene.msi[None], scene.base[None]
        latent, lr_term, hr_feat = probe.encode(lr, msi, base, ratio)
        hidden = probe.decode(latent, lr_term, hr_feat, lr_positions(msi.shape[-2], ratio),
                              lr_positions(msi.shape[-1], ratio))
    return float((hidden > 0).flatten(2).any(-1).float().mean())


def test_hidden_units_survive_the_first_steps(salinas, monkeypatch):
    """Seed 0 of ``test_learning``'s Salinas-A setup, stopped after 40 of its 200 steps: the
    hidden units still fire (measured on its training scene: 26 of 32 with the warm-up, none
    without; with it 13 to 25 between steps 10 and 60)."""
    taken = {}
    run = training.run_training

    def first_steps(model, sampler, **kw):
        taken.update(model=model, scene=sampler.scenes[0])
        return run(model, sampler, **{**kw, "callback": lambda done, total: done >= 40})

    monkeypatch.setattr(training, "run_training", first_steps)
    config = InfnConfig(hidden=32, depth=1, patch=32, batch=4, base="bicubic", lr=2e-3)
    with pytest.raises(Cancelled):
        train_infn([salinas.crop(Window(0, 0, 43, 64))], srf="sentinel2", ratio=4,
                   config=config, steps=200, max_minutes=None, seed=0, device="cpu",
                   progress=False)
    assert _active_hidden_units(taken["model"], taken["scene"], 4) >= 0.25
