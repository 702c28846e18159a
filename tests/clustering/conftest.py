"""Fixtures for the clustering tests: a synthetic endmember-block scene and a real crop."""

from __future__ import annotations

import numpy as np
import pytest


def blocks_scene(seed: int = 0, bands: int = 40, block: int = 8, grid: int = 3, k: int = 3,
                 noise: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """A ``(bands, 24, 24)`` scene of ``grid x grid`` blocks, each of nearly pure pixels.

    Block ``(i, j)`` holds endmember ``(i + 2 j) mod k`` at 85-100 % abundance (the rest a
    random Dirichlet mixture of all endmembers), plus Gaussian noise. Same-class blocks are not
    all adjacent, so spatial contiguity alone cannot solve it.

    Returns
    -------
    cube : float32 (bands, H, W)
    labels : int (H, W), classes 1..k
    """
    rng = np.random.default_rng(seed)
    wl = np.linspace(0, 1, bands)
    ends = np.stack([0.3 + 0.2 * np.sin(2 * np.pi * wl * (j + 1) + j) for j in range(k)])
    h = w = block * grid
    lab = np.zeros((h, w), dtype=np.int64)
    for i in range(grid):
        for j in range(grid):
            lab[i * block:(i + 1) * block, j * block:(j + 1) * block] = (i + 2 * j) % k
    ab = rng.dirichlet(np.full(k, 0.5), size=(h, w)) * 0.15
    ab[np.arange(h)[:, None], np.arange(w)[None], lab] += 0.85
    ab /= ab.sum(-1, keepdims=True)
    cube = np.einsum("hwk,kb->bhw", ab, ends) + noise * rng.standard_normal((bands, h, w))
    return cube.astype(np.float32), lab + 1


@pytest.fixture(scope="session")
def blocks():
    return blocks_scene()


@pytest.fixture(scope="session")
def salinas_crop(data_dir):
    """A 40×40 crop of Salinas-A (all six classes present) and its labels."""
    from hsi.data import load

    s = load("salinas_a")
    return np.asarray(s.cube.data[:, 20:60, 20:60]), s.labels[20:60, 20:60]


@pytest.fixture(scope="session")
def fast():
    """Small training budgets per method, so the whole folder stays fast on one core."""
    return dict(FAST)


#: Small training budgets so the whole folder runs in well under a minute and a half.
FAST = {
    "spectralnet": {"steps": 120, "batch_size": 256},
    "cc": {"steps": 80, "batch_size": 128, "patch_size": 3, "width": 32, "hidden": 64,
           "lr": 2e-3},
    "agc": {"max_order": 8},
    "mincut": {"steps": 150, "lr": 1e-2},
    "dinknet": {"pretrain_steps": 80, "finetune_steps": 40, "batch_size": 256, "hidden": 64},
}
