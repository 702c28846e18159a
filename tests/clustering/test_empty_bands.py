"""Empty bands (no valid value: all NaN or the nodata value), as EnMAP, PRISMA or some AVIRIS
products hold in their water-absorption windows: clustering leaves them out of the features.

Before, three NaN bands in the shipped sample made ``cluster`` raise ("21414 NaN/infinite
values in pixels not marked nodata") and ``hsi cluster`` fail ("clustering needs at least 2
valid pixels, got 0"); three bands of -9999 (the cube's nodata) went into the PCA as values
(NMI 0.790 instead of 0.812, other clusters).
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

import hsi
from hsi.cli.main import cli
from hsi.clustering import cluster, evaluate
from hsi.clustering.features import pixel_features
from hsi.clustering.files import cluster_cube
from hsi.cube import Cube
from hsi.errors import DataError
from tests.cube_edits import with_empty_bands, without_bands

#: The bands emptied (indices from 0: bands 31-33, 677-687 nm, of the 204).
EMPTY = [30, 31, 32]
NOTICE = ("band(s) 31 (677.27 nm), 32 (686.53 nm), 33 (686.91 nm) have no valid pixel (all NaN "
          "or nodata): left out of the clustering features")


@pytest.fixture(scope="module")
def sample():
    """The shipped Salinas-A sample (204 bands, 83×86) and its labels."""
    from hsi.data import sample_cube, sample_labels

    cube = sample_cube()
    return cube.with_data(np.asarray(cube.data, dtype=np.float32)), sample_labels()[0]


def with_empty(cube: Cube, value: float) -> Cube:
    """``cube`` with the :data:`EMPTY` bands all ``value`` (its nodata when not NaN)."""
    return with_empty_bands(cube, EMPTY, value)


def without_empty(cube: Cube) -> Cube:
    """``cube`` without the :data:`EMPTY` bands."""
    return without_bands(cube, EMPTY)


def notices(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


@pytest.fixture(scope="module")
def reference(sample):
    """k-means (k = 6) of the sample without the empty bands."""
    cube, _ = sample
    return cluster(without_empty(cube), 6, method="kmeans", progress=False)


@pytest.mark.parametrize("value", [np.nan, -9999.0])
def test_cluster_leaves_empty_bands_out(sample, reference, value, caplog):
    cube, labels = sample
    with caplog.at_level("WARNING"):
        result = cluster(with_empty(cube, value), 6, method="kmeans", progress=False)
    assert notices(caplog) == [f"salinas_a_sample: {NOTICE}"]
    assert result.info == {"bands_left_out": EMPTY}
    np.testing.assert_array_equal(result.labels, reference.labels)
    np.testing.assert_array_equal(result.confidence, reference.confidence)
    assert (result.labels > 0).all()
    assert evaluate(result.labels, labels)["nmi"] > 0.8  # 0.812; 0.790 with -9999 as values
    assert reference.info == {}


def test_features_record_their_bands_and_apply_them(sample):
    cube, _ = sample
    feats = pixel_features(with_empty(cube, -9999.0), seed=0)
    np.testing.assert_array_equal(feats.bands, np.setdiff1d(np.arange(204), EMPTY))
    assert feats.pca.bands == 201
    # a tile of every band gets the scene's rows (the PCA reads the bands with data)
    tile = feats.apply(np.asarray(with_empty(cube, np.nan).data)[:, 10:40, 20:60])
    np.testing.assert_allclose(tile.image, feats.image[:, 10:40, 20:60], atol=1e-5)
    assert tile.valid.all()


def test_a_bare_array_with_nan_bands(sample, reference):
    cube, _ = sample
    result = cluster(np.asarray(with_empty(cube, np.nan).data), 6, progress=False)
    np.testing.assert_array_equal(result.labels, reference.labels)


def test_no_band_with_data_is_still_no_valid_pixel(sample):
    cube, _ = sample
    blank = cube.with_data(np.full((4, 10, 10), np.nan, np.float32), wavelengths=None,
                           fwhm=None)
    with pytest.raises(DataError, match="clustering needs at least 2 valid pixels, got 0"):
        cluster(blank, 2, progress=False, nonfinite="nodata")


def test_tiled_run_leaves_them_out(sample, tmp_path, caplog):
    cube, _ = sample
    hsi.save(with_empty(cube, -9999.0), tmp_path / "nodata.tif")
    hsi.save(without_empty(cube), tmp_path / "clean.tif")
    with caplog.at_level("WARNING"):
        tiled = cluster_cube(hsi.open(tmp_path / "nodata.tif", lazy=True), 6, tiled=True,
                             tile=32, progress=False)
    assert notices(caplog) == [f"{tmp_path / 'nodata.tif'}: {NOTICE}"]
    assert tiled.info["bands_left_out"] == EMPTY
    clean = cluster_cube(hsi.open(tmp_path / "clean.tif", lazy=True), 6, tiled=True, tile=32,
                         progress=False)
    np.testing.assert_array_equal(tiled.labels, clean.labels)
    assert (tiled.labels > 0).all()


@pytest.mark.parametrize("value", [np.nan, -9999.0])
def test_cli_clusters_the_bands_with_data(sample, reference, value, tmp_path, caplog):
    cube, _ = sample
    path = hsi.save(with_empty(cube, value), tmp_path / "scene.tif")
    out = tmp_path / "clusters.tif"
    with caplog.at_level("WARNING"):
        res = CliRunner().invoke(cli, ["cluster", str(path), "-k", "6", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert notices(caplog) == [f"{path}: {NOTICE}"]
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(1), reference.labels)
        assert src.tags()["CLUSTER_BANDS_LEFT_OUT"] == "31,32,33"
