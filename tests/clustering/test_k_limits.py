"""The cluster count against the scene: never more clusters than distinct pixels, and a
warning when a method leaves some of the ``k`` clusters empty."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from click.testing import CliRunner

import hsi
from hsi.clustering import api, cluster, estimate_k
from hsi.clustering.baselines import spectral_cluster, warn_empty_clusters
from hsi.clustering.features import pixel_features
from hsi.cube import Cube
from hsi.errors import DataError, HsiError, ShapeError
from tests.cli_checks import one_error_line


def two_spectra(layout: str = "blocks", bands: int = 20) -> np.ndarray:
    """A ``(bands, 24, 24)`` float32 scene of exactly two distinct spectra.

    ``"blocks"``: a 3×3 grid of 8×8 blocks (their borders make many distinct neighbourhood
    means); ``"random"``: each pixel one of the two at random.
    """
    rng = np.random.default_rng(0)
    ends = (rng.random((2, bands)) + 0.1).astype(np.float32)
    if layout == "blocks":
        which = (np.arange(24)[:, None] // 8 + 3 * (np.arange(24)[None] // 8)) % 2
    else:
        which = rng.integers(0, 2, (24, 24))
    return np.moveaxis(ends[which], -1, 0)


def not_trained(*args, **kwargs):
    raise AssertionError("the method ran: k should have been refused before any training")


def test_auto_k_never_picks_more_clusters_than_distinct_spectra():
    # the eigengap alone picks 6 here (the block borders' neighbourhood means)
    res = cluster(two_spectra(), "auto", progress=False)
    assert res.k == 2 and "k in 2..2" in res.criterion
    assert set(np.unique(res.labels)) == {1, 2}


def test_estimate_k_caps_its_range_at_the_distinct_rows():
    x = pixel_features(two_spectra("random"), spatial=False).pixels()
    assert len(np.unique(x, axis=0)) == 2
    k, criterion = estimate_k(x)
    assert k == 2 and "k in 2..2" in criterion
    assert estimate_k(x, n_distinct=3)[1].endswith("k in 2..3)")


def test_auto_k_needs_two_distinct_pixels():
    x = np.ones((50, 4), np.float32)
    with pytest.raises(DataError, match=r"^k: 'auto' needs at least 2 distinct"):
        estimate_k(x)


def test_explicit_k_above_distinct_spectra_is_refused_before_training(monkeypatch):
    monkeypatch.setattr(api, "_run", not_trained)
    with pytest.raises(ShapeError, match=r"^k: expected at most 2 clusters \(only 2 of the "
                                         r"valid pixels are distinct\), got 3$") as err:
        cluster(two_spectra(), 3, progress=False)
    assert isinstance(err.value, ValueError) and isinstance(err.value, HsiError)


def test_a_constant_scene_has_no_clusters_to_find(monkeypatch):
    monkeypatch.setattr(api, "_run", not_trained)
    with pytest.raises(ShapeError, match=r"^k: all valid pixels are the same: there are no 3 "
                                         r"clusters to find$"):
        cluster(np.full((4, 8, 8), 0.3, np.float32), 3, progress=False)


def test_k_within_distinct_spectra_still_runs():
    res = cluster(two_spectra(), 2, progress=False)
    assert res.k == 2 and set(np.unique(res.labels)) == {1, 2}


def test_fit_model_refuses_k_above_distinct_rows_before_training(monkeypatch):
    feats = pixel_features(two_spectra("random"), spatial=False)
    monkeypatch.setattr(api, "_fit", not_trained)
    with pytest.raises(ShapeError, match="only 2 of the valid pixels are distinct"):
        api.fit_model("kmeans", feats, feats.pixels(), 3)


def test_cli_k_above_distinct_pixels_is_one_line_naming_k(tmp_path):
    from hsi.cli import main

    path = hsi.save(Cube(two_spectra()), tmp_path / "two.tif")
    out = tmp_path / "clusters.tif"
    r = CliRunner().invoke(main.cli, ["cluster", str(path), "-k", "3", "-o", str(out)])
    line = one_error_line(r, "-k", "at most 2 clusters", "distinct")
    assert line.startswith("hsi: error: -k: ")
    assert not out.exists()


def test_empty_clusters_are_logged_once_and_codes_kept(caplog):
    # a 30-pixel spectral subsample extended by a 20-neighbour vote: some clusters get no
    # pixel at all
    cube = np.random.default_rng(0).random((8, 32, 32)).astype(np.float32)
    cfg = {"max_pixels": 30, "n_neighbors": 20}
    with caplog.at_level(logging.WARNING, logger="hsi.clustering"):
        res = cluster(cube, 6, "spectral", progress=False, config=cfg)
    used = len(np.unique(res.labels))
    assert res.k == 6 and used < 6
    lines = [r.getMessage() for r in caplog.records if "non-empty" in r.getMessage()]
    assert lines == [f"spectral returned {used} non-empty cluster(s) of the 6 asked for: "
                     f"{6 - used} cluster(s) are empty"]
    want, _ = spectral_cluster(pixel_features(cube).pixels(), 6, **cfg)
    np.testing.assert_array_equal(res.labels.ravel(), want + 1)  # codes as the method gave


def test_no_warning_when_every_cluster_is_used(caplog):
    with caplog.at_level(logging.WARNING, logger="hsi.clustering"):
        assert warn_empty_clusters(np.array([0, 1, 2, 2]), 3, "kmeans") == 3
        assert warn_empty_clusters(np.array([0, 0, 2]), 3, "kmeans") == 2
    assert [r.getMessage() for r in caplog.records] == [
        "kmeans returned 2 non-empty cluster(s) of the 3 asked for: 1 cluster(s) are empty"]
