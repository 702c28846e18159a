"""``cluster_file(tiled=True)`` for the network methods, and nodata on both paths.

SpectralNet, Contrastive Clustering and Dink-Net are fitted on the sample mosaic as the
whole-scene method fits them (:func:`hsi.clustering.api.fit_model`), then every tile (and its
halo) is assigned by the fitted model: tiling must not change a label.
"""

from __future__ import annotations

import numpy as np
import pytest

from hsi.clustering import api, cluster, cluster_file
from hsi.clustering import files as files_mod
from hsi.clustering.contrastive import ContrastiveModel
from hsi.clustering.dinknet import DinkNetModel
from hsi.clustering.features import PixelFeatures
from hsi.clustering.spectralnet import SpectralNetModel
from hsi.cube import Cube
from hsi.errors import FormatError
from hsi.io import save

NETWORKS = ("spectralnet", "cc", "dinknet")
MODEL_CLASS = {"spectralnet": SpectralNetModel, "cc": ContrastiveModel,
               "dinknet": DinkNetModel}
#: A crop of the shipped Salinas-A sample (rows, cols) and the tile side: 3 × 3 tiles.
ROWS, COLS, TILE = 48, 56, 20
K = 4
#: Tinier budgets where only label equality matters (not the clustering's quality).
TINY = {"kmeans": None, "spectralnet": {"steps": 30, "batch_size": 256},
        "cc": {"steps": 8, "batch_size": 64, "patch_size": 3, "width": 16, "hidden": 32},
        "dinknet": {"pretrain_steps": 20, "finetune_steps": 10, "batch_size": 256,
                    "hidden": 64}}


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    from hsi.data import sample_cube

    return np.ascontiguousarray(np.asarray(sample_cube().data)[:, 20:20 + ROWS, 20:20 + COLS])


@pytest.fixture(scope="module")
def crop_path(crop, tmp_path_factory):
    path = tmp_path_factory.mktemp("scene") / "crop.tif"
    save(Cube(crop), path)
    return path


def _spy_fit(monkeypatch) -> list:
    """Record ``(feats, model)`` of every :func:`fit_model` call."""
    fits = []
    real = api.fit_model

    def spy(method, feats, *args, **kwargs):
        model = real(method, feats, *args, **kwargs)
        fits.append((feats, model))
        return model

    monkeypatch.setattr(api, "fit_model", spy)
    return fits


@pytest.mark.parametrize("method", NETWORKS)
def test_tiles_get_the_labels_of_the_fitted_model_on_the_whole_scene(
        method, crop, crop_path, fast, monkeypatch, tmp_path):
    # a sample of 4 windows of 24² (2304 of the 2688 pixels, seams included): the fit differs
    # from the whole scene's, tiling must still not change a label
    monkeypatch.setattr(files_mod, "FIT_WINDOW", 24)
    monkeypatch.setattr(files_mod, "FIT_WINDOWS", 4)
    fits = _spy_fit(monkeypatch)
    seen = []
    real_assign = MODEL_CLASS[method].assign

    def assign(self, feats, where=None):
        seen.append((feats.shape, int(where.sum())))
        return real_assign(self, feats, where)

    monkeypatch.setattr(MODEL_CLASS[method], "assign", assign)
    result = cluster_file(crop_path, K, tmp_path / "c.tif", method=method, tiled=True,
                          tile=TILE, device="cpu", progress=False, config=fast[method])
    monkeypatch.setattr(MODEL_CLASS[method], "assign", real_assign)
    assert result.info["tiles"] == 9 and result.info["fit_pixels"] == 4 * 24 * 24
    feats, model = fits[0]
    assert feats.shape == (24, 96) and isinstance(model, MODEL_CLASS[method])

    # memory is bounded by the tile: the model never sees more than tile + 2 halo a side
    halo = model.halo
    assert halo == (fast["cc"]["patch_size"] // 2 if method == "cc" else 1)
    assert len(seen) == 9
    for (h, w), n_core in seen:
        assert h <= TILE + 2 * halo and w <= TILE + 2 * halo and n_core <= TILE * TILE
    assert sum(n for _, n in seen) == ROWS * COLS

    # the same fitted model applied to the whole scene at once
    whole = feats.apply(crop)
    labels, conf = model.assign(whole)
    expected = np.zeros((ROWS, COLS), dtype=np.uint8)
    expected[whole.valid] = labels + 1
    np.testing.assert_array_equal(result.labels, expected)
    np.testing.assert_allclose(result.confidence[whole.valid], np.clip(conf, 0, 1), atol=1e-5)
    assert len(np.unique(result.labels)) >= 2


@pytest.mark.parametrize("method", NETWORKS)
def test_a_sample_covering_the_scene_gives_the_whole_scene_result(method, crop_path,
                                                                  tmp_path):
    """Windows of 128² cover this small scene: the tiled fit is the whole-scene fit."""
    tiled = cluster_file(crop_path, K, tmp_path / "a.tif", method=method, tiled=True,
                         tile=TILE, device="cpu", progress=False, config=TINY[method])
    whole = cluster_file(crop_path, K, tmp_path / "b.tif", method=method, tiled=False,
                         device="cpu", progress=False, config=TINY[method])
    assert tiled.info["tiles"] == 9 and "tiles" not in whole.info
    np.testing.assert_array_equal(tiled.labels, whole.labels)
    np.testing.assert_allclose(tiled.confidence, whole.confidence, atol=1e-5)


def test_progress_counts_training_steps_then_tiles(crop_path, tmp_path):
    calls = []
    cfg = TINY["spectralnet"]
    cluster_file(crop_path, K, tmp_path / "c.tif", method="spectralnet", tiled=True,
                 tile=TILE, device="cpu", progress=False, config=cfg,
                 callback=lambda d, n: calls.append((d, n)))
    total = cfg["steps"] + 1 + 9 + 1  # training, end of the fit, tiles, writing
    assert calls == [(i, total) for i in range(total + 1)]


@pytest.fixture(scope="module")
def holes(crop):
    """The crop with a 6×7 all-NaN block and one pixel NaN in a single band, and the same
    pixels masked by a nodata value instead."""
    nan = crop.copy()
    nan[:, 10:16, 30:37] = np.nan
    nan[5, 40, 3] = np.nan
    hole = ~np.isfinite(nan).all(axis=0)
    masked = crop.copy()
    masked[:, hole] = -1.0
    return nan, masked, hole


@pytest.mark.parametrize("method", ("kmeans", *NETWORKS))
def test_nan_pixels_get_nodata_on_both_paths(method, holes, tmp_path):
    nan, masked, hole = holes
    save(Cube(nan), tmp_path / "nan.tif")
    save(Cube(masked, nodata=-1.0), tmp_path / "masked.tif")
    cfg = TINY[method]
    maps = {}
    for name in ("nan", "masked"):
        for tiled in (True, False):
            r = cluster_file(tmp_path / f"{name}.tif", K, tmp_path / f"{name}{tiled}.out.tif",
                             method=method, tiled=tiled, tile=TILE, device="cpu",
                             progress=False, config=cfg)
            assert (r.labels[hole] == 0).all() and (r.confidence[hole] == 0).all()
            assert (r.labels[~hole] >= 1).all()
            maps[name, tiled] = r
    for tiled in (True, False):
        np.testing.assert_array_equal(maps["nan", tiled].labels, maps["masked", tiled].labels)
        np.testing.assert_array_equal(maps["nan", tiled].confidence,
                                      maps["masked", tiled].confidence)
    # the sample covers this scene: both paths agree as well
    np.testing.assert_array_equal(maps["nan", True].labels, maps["nan", False].labels)


def test_cluster_still_rejects_nan_unless_asked(holes):
    nan, _, hole = holes
    with pytest.raises(FormatError, match="NaN/infinite"):
        cluster(nan, 3, progress=False)
    r = cluster(nan, 3, progress=False, nonfinite="nodata")
    assert (r.labels[hole] == 0).all() and (r.labels[~hole] > 0).all()


def test_tile_features_equal_the_whole_scene_features(crop):
    from hsi.clustering.features import pixel_features
    from hsi.tiling import tile_windows

    feats = pixel_features(crop)
    assert isinstance(feats, PixelFeatures) and feats.halo == 1
    x = feats.pixels()
    for t in tile_windows(ROWS, COLS, tile=TILE, overlap=feats.halo):
        r0, c0 = int(t.read.row_off), int(t.read.col_off)
        part = feats.apply(crop[:, r0:r0 + int(t.read.height), c0:c0 + int(t.read.width)])
        scene_core = np.zeros((ROWS, COLS), dtype=bool)
        scene_core[int(t.core.row_off):int(t.core.row_off + t.core.height),
                   int(t.core.col_off):int(t.core.col_off + t.core.width)] = True
        core = scene_core[r0:r0 + int(t.read.height), c0:c0 + int(t.read.width)]
        np.testing.assert_allclose(part.pixels(core), x[scene_core[feats.valid]], atol=1e-5)
