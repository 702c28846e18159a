"""``hsi cluster`` and ``hsi cluster-evaluate`` through the real click group."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from rasterio.crs import CRS

import hsi
from hsi.cli import main
from hsi.cube import Cube
from hsi.io.labels import read_class_map, write_class_map

CRS_UTM = CRS.from_epsg(32611)
TRANSFORM = Affine(30.0, 0, 500000.0, 0, -30.0, 4000000.0)


def test_commands_are_registered():
    assert {"cluster", "cluster-evaluate"} <= set(main.cli.list_commands(None))


@pytest.fixture
def scene(tmp_path, blocks):
    cube, labels = blocks
    path = hsi.save(Cube(cube, crs=CRS_UTM, transform=TRANSFORM), tmp_path / "cube.tif")
    lab = write_class_map(tmp_path / "truth.tif", labels.astype(np.uint8), crs=CRS_UTM,
                          transform=TRANSFORM, class_names=["a", "b", "c"])
    return path, lab


def test_cluster_writes_class_map_and_confidence(tmp_path, scene):
    cube, truth = scene
    out, conf = tmp_path / "clusters.tif", tmp_path / "conf.tif"
    r = CliRunner().invoke(main.cli, ["cluster", str(cube), "-k", "3", "-o", str(out),
                                      "--method", "kmeans", "--confidence", str(conf)])
    assert r.exit_code == 0, r.output
    labels, names, cmap = read_class_map(out)
    assert labels.dtype == np.uint8 and set(np.unique(labels)) == {1, 2, 3}
    assert names == ["cluster 1", "cluster 2", "cluster 3"] and len(cmap) == 4
    with rasterio.open(out) as src:
        assert src.crs == CRS_UTM and src.transform == TRANSFORM
    with rasterio.open(conf) as src:
        c = src.read(1)
        assert src.dtypes[0] == "float32" and 0 <= c.min() and c.max() <= 1
    r = CliRunner().invoke(main.cli, ["cluster-evaluate", str(out), str(truth)])
    assert r.exit_code == 0, r.output
    acc = float(r.output.split("ACC")[1].split()[0])
    assert acc > 0.9
    assert "NMI" in r.output and "ARI" in r.output


def test_cluster_auto_k_says_criterion(tmp_path, scene):
    out = tmp_path / "clusters.tif"
    r = CliRunner().invoke(main.cli, ["cluster", str(scene[0]), "-k", "auto", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "estimated by the relative eigengap" in r.output


@pytest.mark.parametrize("k", ["1", "three"])
def test_bad_k_is_a_usage_error(tmp_path, scene, k):
    out = tmp_path / "clusters.tif"
    r = CliRunner().invoke(main.cli, ["cluster", str(scene[0]), "-k", k, "-o", str(out)])
    assert r.exit_code == 2 and "Invalid value for '-k'" in r.output
    assert not out.exists()


def test_k_above_pixel_count_one_line_and_nothing_written(tmp_path):
    path = hsi.save(Cube(np.random.default_rng(0).random((4, 2, 2)).astype(np.float32)),
                    tmp_path / "tiny.tif")
    out = tmp_path / "clusters.tif"
    r = CliRunner().invoke(main.cli, ["cluster", str(path), "-k", "5", "-o", str(out)])
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == [
        "hsi: error: -k: expected at most 4 clusters (the valid pixel count, and 255 for a "
        "uint8 map), got 5"]
    assert list(tmp_path.iterdir()) == [path]


def test_nan_pixels_are_nodata_in_the_class_map(tmp_path, blocks):
    data = blocks[0].copy()
    data[:, 2, 2] = np.nan  # a pixel with no data
    data[0, 5, 5] = np.nan  # one band missing: the pixel is left out too
    path = hsi.save(Cube(data), tmp_path / "nan.tif")
    out, conf = tmp_path / "clusters.tif", tmp_path / "conf.tif"
    r = CliRunner().invoke(main.cli, ["cluster", str(path), "-k", "3", "-o", str(out),
                                      "--confidence", str(conf)])
    assert r.exit_code == 0, r.output
    with rasterio.open(out) as src:
        labels = src.read(1)
    with rasterio.open(conf) as src:
        confidence = src.read(1)
    assert labels[2, 2] == 0 and labels[5, 5] == 0
    assert confidence[2, 2] == 0 and confidence[5, 5] == 0
    others = np.ones(labels.shape, bool)
    others[2, 2] = others[5, 5] = False
    assert set(np.unique(labels[others])) == {1, 2, 3}
    assert "2 pixels without data, left 0" in r.output  # they were left out without a word


def test_cluster_spectra_option_reaches_the_features(tmp_path, scene, blocks):
    # the written confidence equals the library's for that input; the two inputs give
    # different confidences, so a CLI that dropped --spectra would fail one of them
    from hsi.clustering import cluster

    got = {}
    for spectra in ("shape", "raw"):
        out, conf = tmp_path / f"{spectra}.tif", tmp_path / f"{spectra}_conf.tif"
        r = CliRunner().invoke(main.cli, ["cluster", str(scene[0]), "-k", "3", "-o", str(out),
                                          "--confidence", str(conf), "--spectra", spectra])
        assert r.exit_code == 0, r.output
        want = cluster(blocks[0], 3, spectra=spectra, progress=False)
        np.testing.assert_array_equal(read_class_map(out)[0], want.labels)
        with rasterio.open(conf) as src:
            got[spectra] = src.read(1)
        np.testing.assert_allclose(got[spectra], want.confidence, atol=1e-6)
    assert np.abs(got["shape"] - got["raw"]).max() > 0.01
    r = CliRunner().invoke(main.cli, ["cluster", str(scene[0]), "-k", "3", "-o",
                                      str(tmp_path / "x.tif"), "--spectra", "cosine"])
    assert r.exit_code == 2 and "spectra" in r.output
    assert not (tmp_path / "x.tif").exists()


def test_a_constant_scene_is_refused_naming_k(tmp_path):
    """All pixels alike: no 3 clusters to find, said in one line before any training."""
    from tests.cli_checks import one_error_line

    path = hsi.save(Cube(np.full((4, 8, 8), 0.3, np.float32)), tmp_path / "const.tif")
    r = CliRunner().invoke(main.cli, ["cluster", str(path), "-k", "3", "-o",
                                      str(tmp_path / "c.tif")])
    one_error_line(r, "-k")
    assert "all valid pixels are the same" in r.output
    assert not (tmp_path / "c.tif").exists()


def test_info_on_a_folder_that_is_not_a_cave_scene(tmp_path):
    folder = tmp_path / "scene.tif"
    folder.mkdir()
    r = CliRunner().invoke(main.cli, ["info", str(folder)])
    assert r.exit_code == 2
    assert r.output.strip() == (f"hsi: error: {folder}: a folder without band PNGs: expected a "
                                "cube file, or a CAVE-style folder of band PNGs "
                                "(scene_ms_01.png, ...)")
