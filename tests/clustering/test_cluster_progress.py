"""Progress callback and cancellation of hsi.clustering.cluster (hsi.progress)."""

from __future__ import annotations

import numpy as np
import pytest

from hsi.clustering import cluster
from hsi.errors import Cancelled


def _record():
    calls: list[tuple[int, int]] = []
    return calls, lambda done, total: calls.append((done, total))


def _check_monotone_to_total(calls):
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[0] == 0
    assert calls[-1][0] == calls[-1][1]
    assert all(d <= t for d, t in calls)


def test_kmeans_reports_start_features_end(blocks):
    cube, _ = blocks
    calls, callback = _record()
    plain = cluster(cube, 3, method="kmeans", seed=0, progress=False)
    watched = cluster(cube, 3, method="kmeans", seed=0, progress=False, callback=callback)
    assert calls == [(0, 2), (1, 2), (2, 2)]
    np.testing.assert_array_equal(plain.labels, watched.labels)


@pytest.mark.parametrize("method", ["spectralnet", "cc", "mincut", "dinknet"])
def test_network_methods_report_every_step(blocks, fast, method):
    cube, _ = blocks
    calls, callback = _record()
    cfg = fast[method]
    cluster(cube, 3, method=method, seed=0, progress=False, config=cfg, callback=callback)
    steps = cfg["steps"] if "steps" in cfg else cfg["pretrain_steps"] + cfg["finetune_steps"]
    if method == "mincut":  # every restart's steps
        from hsi.clustering.graph import GraphConfig

        steps *= cfg.get("restarts", GraphConfig().restarts)
    _check_monotone_to_total(calls)
    assert calls[-1] == (steps + 2, steps + 2)
    # features, then every training step 0..steps, then the end
    assert [d for d, _ in calls] == [0, 1, *range(1, steps + 2), steps + 2]


def test_true_cancels_training(blocks, fast):
    cube, _ = blocks
    calls: list[int] = []

    def callback(done: int, total: int) -> bool:
        calls.append(done)
        return done >= 10

    with pytest.raises(Cancelled, match="spectralnet cancelled"):
        cluster(cube, 3, method="spectralnet", seed=0, progress=False,
                config=fast["spectralnet"], callback=callback)
    assert calls[-1] == 10


def test_mincut_bars_name_their_restart(blocks, fast, monkeypatch):
    """minCUT's restarts showed three bars all labelled "mincut"."""
    import hsi.clustering.graph as graph

    descs = []
    real = graph.progress_bar

    def spy(*args, **kwargs):
        descs.append(kwargs.get("desc"))
        return real(*args, **kwargs)

    monkeypatch.setattr(graph, "progress_bar", spy)
    cfg = {**fast["mincut"], "restarts": 3}
    cluster(blocks[0], 3, method="mincut", seed=0, progress=False, config=cfg)
    assert descs == ["mincut, restart 1/3", "mincut, restart 2/3", "mincut, restart 3/3"]
