"""Clustering audit: inputs never overwritten, complete outputs, one-line errors, provenance.

Each test runs k-means (or nothing) on a crop of the shipped Salinas-A sample: seconds each.
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from rasterio.crs import CRS

import hsi
from hsi.cli import main
from hsi.clustering import cluster, cluster_file, evaluate
from hsi.cube import Cube
from hsi.errors import ConfigError, DataError, FormatError, HsiIOError, ShapeError
from hsi.io.labels import write_class_map

CRS_UTM = CRS.from_epsg(32611)
TRANSFORM = Affine(3.7, 0, 500000.0, 0, -3.7, 4000000.0)


@pytest.fixture(scope="module")
def crop() -> Cube:
    """A 20 × 20 georeferenced crop of the shipped Salinas-A sample."""
    from hsi.data import sample_cube

    s = sample_cube()
    return Cube(np.asarray(s.data)[:, 20:40, 20:40], wavelengths=s.wavelengths, crs=CRS_UTM,
                transform=TRANSFORM)


@pytest.fixture
def crop_tif(tmp_path, crop):
    return hsi.save(crop, tmp_path / "crop.tif")


def _files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------ inputs never overwritten
def test_cluster_file_refuses_output_equal_to_input(crop_tif):
    before = crop_tif.read_bytes()
    for kwargs in ({"output": crop_tif}, {"output": crop_tif.with_name("map.tif"),
                                          "confidence": crop_tif}):
        with pytest.raises(HsiIOError, match="refusing to overwrite an input"):
            cluster_file(crop_tif, 3, progress=False, **kwargs)
    assert crop_tif.read_bytes() == before
    assert _files(crop_tif.parent) == ["crop.tif"]


def test_cluster_file_refuses_one_file_as_both_outputs(crop_tif):
    out = crop_tif.with_name("map.tif")
    with pytest.raises(HsiIOError, match="given as two outputs"):
        cluster_file(crop_tif, 3, out, confidence=out, progress=False)
    assert not out.exists()


# ------------------------------------------------------------------ ENVI confidence
@pytest.mark.parametrize("name", ["conf.hdr", "conf.img"])
@pytest.mark.parametrize("tiled", [False, True])
def test_envi_confidence_is_a_readable_header_and_data_pair(tmp_path, crop_tif, name, tiled):
    out, conf = tmp_path / "map.tif", tmp_path / name
    res = cluster_file(crop_tif, 3, out, confidence=conf, progress=False, tiled=tiled, tile=8)
    assert _files(tmp_path) == ["conf.hdr", "conf.img", "crop.tif", "map.tif"]
    back = hsi.open(tmp_path / "conf.hdr")
    assert back.shape == (1, 20, 20) and back.crs == CRS_UTM
    np.testing.assert_allclose(np.asarray(back.data)[0], res.confidence)
    assert (tmp_path / "conf.hdr").read_bytes().startswith(b"ENVI")


def test_cli_envi_confidence(tmp_path, crop_tif):
    r = CliRunner().invoke(main.cli, ["cluster", str(crop_tif), "-k", "3", "-o",
                                      str(tmp_path / "map.tif"), "--confidence",
                                      str(tmp_path / "conf.hdr")])
    assert r.exit_code == 0, r.output
    assert hsi.open(tmp_path / "conf.hdr").shape == (1, 20, 20)
    assert not [n for n in _files(tmp_path) if n.startswith(".")]


# ------------------------------------------------------------------ provenance in the map
def test_class_map_names_method_k_seed_and_declares_nodata_zero(tmp_path, crop_tif):
    out = tmp_path / "map.tif"
    cluster_file(crop_tif, 3, out, seed=5, progress=False)
    with rasterio.open(out) as src:
        tags = src.tags()
        assert src.nodata == 0 and src.dtypes[0] == "uint8"
        assert src.crs == CRS_UTM and src.transform == TRANSFORM
        assert src.colormap(1)[1][:3] != (0, 0, 0)
    assert (tags["CLUSTER_METHOD"], tags["CLUSTER_K"], tags["CLUSTER_SEED"]) == \
        ("kmeans", "3", "5")
    assert tags["CLUSTER_CRITERION"] == "given" and tags["CLUSTER_SPECTRA"] == "shape"


def test_tiled_class_map_has_the_same_tags(tmp_path, crop_tif):
    out = tmp_path / "map.tif"
    cluster_file(crop_tif, "auto", out, seed=2, progress=False, tiled=True, tile=8)
    with rasterio.open(out) as src:
        tags = src.tags()
        assert src.nodata == 0
    assert tags["CLUSTER_SEED"] == "2" and tags["CLUSTER_CRITERION"].startswith("relative")


# ------------------------------------------------------------------ seeds
@pytest.mark.parametrize("seed", [None, -1, 2**40, 1.5, "3", True])
def test_bad_seed_is_one_config_error(crop, seed):
    with pytest.raises(ConfigError, match="seed: expected a whole number"):
        cluster(crop, 3, seed=seed, progress=False)


def test_bad_seed_in_cluster_file_before_any_file(tmp_path, crop_tif):
    with pytest.raises(ConfigError, match="seed"):
        cluster_file(crop_tif, 3, tmp_path / "map.tif", seed=-1, progress=False)
    assert _files(tmp_path) == ["crop.tif"]


@pytest.mark.parametrize("seed", ["-1", "99999999999"])
def test_cli_bad_seed_is_a_usage_error(tmp_path, crop_tif, seed):
    r = CliRunner().invoke(main.cli, ["cluster", str(crop_tif), "-k", "3", "-o",
                                      str(tmp_path / "map.tif"), "--seed", seed])
    assert r.exit_code == 2, r.output
    assert "Invalid value for '--seed'" in r.output and "Traceback" not in r.output


def test_cli_k_above_uint8_refused_while_parsing(tmp_path, crop_tif):
    r = CliRunner().invoke(main.cli, ["cluster", str(crop_tif), "-k", "300", "-o",
                                      str(tmp_path / "map.tif")])
    assert r.exit_code == 2
    assert "Invalid value for '-k'" in r.output and "uint8" in r.output


# ------------------------------------------------------------------ config
@pytest.mark.parametrize(("method", "config", "match"), [
    ("kmeans", {"bogus": 1}, "unknown option"),
    ("spectral", {"n_neighbours": 5}, "unknown option"),
    ("kmeans", {"n_init": 0}, "n_init"),
    ("kmeans", [1, 2], "expected a dict"),
    ("dinknet", {"pretrain_steps": "a"}, "pretrain_steps"),
    ("dinknet", {"batch_size": -1}, "batch_size"),
    ("spectralnet", {"lr": float("nan")}, "lr"),
    ("cc", {"steps": 2.5}, "steps"),
])
def test_bad_config_is_one_config_error_before_training(crop, method, config, match):
    with pytest.raises(ConfigError, match=match):
        cluster(crop, 3, method=method, config=config, progress=False)


# ------------------------------------------------------------------ degenerate cubes
@pytest.mark.parametrize("shape", [(0, 5, 5), (4, 0, 5), (4, 5, 0)])
def test_empty_cube_is_a_shape_error(shape):
    with pytest.raises(ShapeError, match="at least 1 band and 1 pixel"):
        cluster(np.zeros(shape, dtype=np.float32), 2, progress=False)


def test_complex_cube_is_refused(crop):
    with pytest.raises(FormatError, match="complex"):
        cluster(np.asarray(crop.data).astype(np.complex64), 3, progress=False)


# ------------------------------------------------------------------ evaluate
def test_evaluate_refuses_non_integer_and_negative_ids():
    truth = np.array([[1, 2], [1, 2]])
    with pytest.raises(DataError, match="whole-number"):
        evaluate(np.full((2, 2), 0.5), truth)
    with pytest.raises(DataError, match="whole-number"):
        evaluate(np.array([[1.0, np.nan], [1.0, 2.0]]), truth)
    with pytest.raises(DataError, match=">= 0"):
        evaluate(np.array([[-1, 2], [1, 2]]), truth)


def test_evaluate_labels_all_zero_says_so():
    with pytest.raises(DataError, match="no labelled pixel"):
        evaluate(np.ones((3, 3), dtype=int), np.zeros((3, 3), dtype=int))


def test_cluster_evaluate_refuses_maps_on_other_grids(tmp_path):
    labels = np.tile(np.array([[1, 2], [2, 1]], dtype=np.uint8), (5, 5))
    a = write_class_map(tmp_path / "a.tif", labels, crs=CRS_UTM, transform=TRANSFORM,
                        class_names=["x", "y"])
    shifted = write_class_map(tmp_path / "b.tif", labels, crs=CRS_UTM,
                              transform=TRANSFORM @ Affine.translation(3, 0),
                              class_names=["x", "y"])
    other_crs = write_class_map(tmp_path / "c.tif", labels, crs=CRS.from_epsg(32612),
                                transform=TRANSFORM, class_names=["x", "y"])
    for truth, what in ((shifted, "georeference"), (other_crs, "CRS")):
        r = CliRunner().invoke(main.cli, ["cluster-evaluate", str(a), str(truth)])
        assert r.exit_code == 2, r.output
        assert what in r.output and "not on the same grid" in r.output
        assert len(r.output.strip().splitlines()) == 1
    same = CliRunner().invoke(main.cli, ["cluster-evaluate", str(a), str(a)])
    assert same.exit_code == 0 and "ACC    1.0000" in same.output


def test_cluster_help_names_confidence_formats_and_seed_range():
    r = CliRunner().invoke(main.cli, ["cluster", "--help"])
    assert r.exit_code == 0
    text = " ".join(r.output.split())
    assert "ENVI" in text and ".mat" in text and "0<=x<=4294967295" in text
