"""``hsi.clustering.cluster_file``: the library function behind ``hsi cluster`` (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest

from hsi.clustering import cluster, cluster_file
from hsi.data.shipped import CUBE_PATH
from hsi.errors import Cancelled
from hsi.io import open as open_cube
from hsi.io.labels import read_class_map


@pytest.fixture(scope="module")
def sample():
    """The shipped Salinas-A cube as read from its file (204 × 83 × 86 counts)."""
    return open_cube(CUBE_PATH)


def test_writes_class_map_and_confidence_equal_to_cluster(sample, tmp_path):
    out, conf = tmp_path / "clusters.tif", tmp_path / "conf.tif"
    result = cluster_file(CUBE_PATH, 6, out, seed=0, device="cpu", confidence=conf,
                          progress=False)
    direct = cluster(sample, 6, seed=0, device="cpu", progress=False)
    np.testing.assert_array_equal(result.labels, direct.labels)
    labels, names, _ = read_class_map(out)
    np.testing.assert_array_equal(labels, result.labels)
    assert labels.shape == (83, 86) and set(np.unique(labels)) == set(range(1, 7))
    assert names == [f"cluster {i}" for i in range(1, 7)]
    c = open_cube(conf)
    assert c.shape == (1, 83, 86) and c.dtype == np.float32
    np.testing.assert_array_equal(c.data[0], result.confidence)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clusters.tif", "conf.tif"]


def test_callback_reports_every_step_up_to_the_written_files(tmp_path):
    calls = []
    cluster_file(CUBE_PATH, 4, tmp_path / "c.tif", device="cpu", progress=False,
                 callback=lambda done, total: calls.append((done, total)))
    done = [d for d, _ in calls]
    assert done == sorted(done) and calls[0][0] == 0
    assert calls[-1][0] == calls[-1][1]
    assert calls[-2][0] < calls[-1][0]  # the last step is the writing, after the clustering


@pytest.mark.parametrize("at", ["start", "writing"])
def test_cancel_writes_nothing(tmp_path, at):
    out = tmp_path / "out"
    out.mkdir()

    def callback(done, total):
        return at == "start" or done == total

    with pytest.raises(Cancelled, match="clustering cancelled"):
        cluster_file(CUBE_PATH, 4, out / "c.tif", device="cpu", confidence=out / "conf.tif",
                     progress=False, callback=callback)
    assert list(out.iterdir()) == []


def test_cli_module_still_exports_it():
    from hsi.cli import cluster as cli_cluster

    assert cli_cluster.cluster_file is cluster_file
