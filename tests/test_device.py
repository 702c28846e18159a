"""Device choice and the CPU thread cap for small networks."""

from __future__ import annotations

import pytest
import torch

from hsi.device import cpu_threads, pick_device


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_cpu_threads_caps_inside_and_restores_after(two_threads):
    with cpu_threads(1, "cpu"):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_cpu_threads_restores_after_an_error(two_threads):
    with pytest.raises(RuntimeError), cpu_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2


def test_cpu_threads_leaves_cuda_runs_and_smaller_settings_alone(two_threads):
    with cpu_threads(1, "cuda"):
        assert torch.get_num_threads() == 2
    with cpu_threads(4, "cpu"):
        assert torch.get_num_threads() == 2
    with cpu_threads(1, "auto"):  # "auto" is the CPU here (CI has no CUDA)
        assert torch.get_num_threads() == (2 if torch.cuda.is_available() else 1)


def test_classifier_training_runs_capped(two_threads, monkeypatch):
    import numpy as np

    from hsi.classification import train as train_module
    from hsi.classification.config import GanConfig

    seen = []

    def record(*args, **kwargs):
        seen.append(torch.get_num_threads())
        raise RuntimeError("stop")

    monkeypatch.setattr(train_module, "_train_networks", record)
    with pytest.raises(RuntimeError, match="stop"):
        train_module.train_networks(np.zeros((2, 4, 4), np.float32), np.zeros((4, 4), int),
                                    np.ones((4, 4), bool), 2, GanConfig(), device="cpu")
    assert seen == [1] and torch.get_num_threads() == 2


@pytest.mark.parametrize("method,capped", [("dinknet", True), ("kmeans", False)])
def test_network_clustering_runs_capped(two_threads, monkeypatch, method, capped):
    from hsi.clustering import api, baselines, dinknet
    from hsi.data import sample_cube

    seen = []

    def record(*args, **kwargs):
        seen.append(torch.get_num_threads())
        raise RuntimeError("stop")

    monkeypatch.setattr(dinknet, "dinknet_cluster", record)
    monkeypatch.setattr(baselines, "kmeans_cluster", record)
    with pytest.raises(RuntimeError, match="stop"):
        api.cluster(sample_cube(), 3, method=method, device="cpu", progress=False)
    assert seen == [1 if capped else 2] and torch.get_num_threads() == 2


def test_infn_training_runs_capped(two_threads, monkeypatch):
    from hsi.fusion import train as train_module

    seen = []
    monkeypatch.setattr(train_module, "_run_training",
                        lambda *a, **k: seen.append(torch.get_num_threads()))
    train_module.run_training(None, None, steps=1, max_minutes=None,
                              device=torch.device("cpu"))
    assert seen == [1] and torch.get_num_threads() == 2


def test_a_device_that_is_neither_a_name_nor_a_torch_device_is_one_config_error():
    """``device=1.5`` reached torch's ``TypeError`` inside fuse, simulate_pair and
    train_infn: every function now turns its device through pick_device."""
    import torch

    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair
    from hsi.errors import ConfigError
    from hsi.fusion import fuse

    assert pick_device(torch.device("cpu")) == torch.device("cpu")
    assert pick_device(None).type in ("cpu", "cuda")
    with pytest.raises(ConfigError, match=r"^device: expected 'auto', .* got 1\.5$"):
        pick_device(1.5)
    cube = sample_cube().crop((0, 0, 32, 32))
    with pytest.raises(ConfigError, match=r"^device: expected"):
        simulate_pair(cube, 4, "sentinel2", device=1.5)
    lr, hr = simulate_pair(cube, 4, "sentinel2")
    with pytest.raises(ConfigError, match=r"^device: expected"):
        fuse(lr, hr, method="glp", device=1.5, progress=False)
