"""Label rasters as GIS tools write them: a declared nodata value for the unlabelled pixels
(255, 65535), and test labels on another grid than the class map they score."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from rasterio.crs import CRS
from rasterio.windows import Window

import hsi
from hsi.cli.main import cli
from hsi.errors import FormatError
from hsi.io.labels import read_labels, write_class_map
from hsi.labels import Labels
from tests.cli_checks import one_error_line

UTM = CRS.from_epsg(32611)
GRID = Affine(3.7, 0, 600000, 0, -3.7, 4000000)


def invoke(*args):
    return CliRunner().invoke(cli, ["classify", *map(str, args)])


def write_labels(path, array, dtype, *, nodata=None, crs=UTM, transform=GRID):
    """A plain single-band label GeoTIFF, as QGIS' rasterize or ArcGIS writes one."""
    profile = {"driver": "GTiff", "count": 1, "height": array.shape[0],
               "width": array.shape[1], "dtype": dtype, "crs": crs, "transform": transform}
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.asarray(array).astype(dtype), 1)
    return path


@pytest.fixture(scope="module")
def tiny(salinas_crop, tmp_path_factory):
    """A georeferenced 24×24 crop of the real scene (float32 GeoTIFF) and its labels."""
    cube, labels, _ = salinas_crop
    d = tmp_path_factory.mktemp("real-world-labels")
    small = cube.crop(Window(0, 0, 24, 24))
    small = dataclasses.replace(small.with_data(np.asarray(small.data, dtype=np.float32)),
                                crs=UTM, transform=GRID)
    cube_path = hsi.save(small, d / "cube.tif")
    lab = labels[:24, :24]
    codes = [int(c) for c in np.unique(lab) if c > 0]
    assert len(codes) >= 2 and (lab == 0).any()
    return {"dir": d, "cube": cube_path, "labels": lab, "codes": codes}


# -- a declared nodata value is "unlabelled", not a class ------------------------------------

@pytest.mark.parametrize(("dtype", "nodata", "stored"),
                         [("uint8", 255, 255), ("int16", -9999, -9999),
                          ("float32", float("nan"), float("nan")), ("float32", -9999, -9999)])
def test_read_labels_unlabels_the_declared_nodata(tmp_path, caplog, dtype, nodata, stored):
    """255 became a class; -9999 (int16, float32) and NaN were refused as not codes."""
    import logging

    arr = np.array([[stored, 1], [2, stored]], dtype=dtype)
    path = write_labels(tmp_path / "lab.tif", arr, dtype, nodata=nodata)
    with caplog.at_level(logging.WARNING):
        labels = read_labels(path)
    assert labels.array.tolist() == [[0, 1], [2, 0]]
    assert "2 pixel(s) hold its nodata value" in caplog.text
    caplog.clear()
    plain = write_labels(tmp_path / "plain.tif", np.array([[7, 1]]), "uint8", nodata=255)
    assert read_labels(plain).array.tolist() == [[7, 1]] and caplog.text == ""


def test_read_labels_refuses_nodata_that_is_a_named_class(tmp_path):
    path = write_class_map(tmp_path / "lab.tif", np.array([[1, 3]], np.uint8), crs=None,
                           transform=None, class_names=["water", "class 2", "crop"])
    with rasterio.open(path, "r+") as dst:
        dst.nodata = 3
    with pytest.raises(FormatError, match=r"lab\.tif: its nodata value 3 is also the code of "
                                          r"class 3 \(crop\)"):
        read_labels(path)


@pytest.mark.parametrize(("dtype", "nodata"), [("uint8", 255), ("uint16", 65535)])
def test_split_reads_declared_nodata_as_unlabelled(tiny, tmp_path, caplog, dtype, nodata):
    lab = tiny["labels"]
    raw = np.where(lab == 0, nodata, lab)
    path = write_labels(tmp_path / f"lab_{dtype}.tif", raw, dtype, nodata=nodata)
    assert nodata not in read_labels(path).array  # the reader unlabels it
    res = invoke("split", path, "-o", tmp_path / "split", "--per-class", "2", "--seed", "0")
    assert res.exit_code == 0, res.output
    assert f"{int((lab == 0).sum())} pixel(s) hold its nodata value {nodata}: read as " \
           "unlabelled (0)" in caplog.text
    with rasterio.open(tmp_path / "split" / "train.tif") as a, \
            rasterio.open(tmp_path / "split" / "test.tif") as b:
        train, test = a.read(1), b.read(1)
    # before: the background became class 255 (65535), with training and test pixels
    assert sorted(np.unique(train[train > 0]).tolist()) == tiny["codes"]
    assert sorted(np.unique(test[test > 0]).tolist()) == tiny["codes"]
    assert int((train > 0).sum() + (test > 0).sum()) == int((lab > 0).sum())


def test_train_leaves_declared_nodata_out_of_the_classes(tiny, tmp_path):
    lab = tiny["labels"]
    path = write_labels(tmp_path / "lab.tif", np.where(lab == 0, 255, lab), "uint8",
                        nodata=255)
    model = tmp_path / "m.pt"
    res = invoke("train", tiny["cube"], path, "-o", model, "--epochs", "1", "--members", "1",
                 "--patch-size", "1", "--seed", "0")
    assert res.exit_code == 0, res.output
    k = len(tiny["codes"])
    # before: k + 1 classes, "class 255" trained on every unlabelled pixel
    assert f"trained on {int((lab > 0).sum())} labelled pixels, {k} classes" in res.stdout
    assert hsi.classification.load_classifier(model).codes == tiny["codes"]


def test_evaluate_reads_declared_nodata_of_test_labels_as_unlabelled(tiny, tmp_path):
    lab = tiny["labels"]
    names = [f"c{c}" for c in tiny["codes"]]
    class_map = write_class_map(tmp_path / "map.tif", lab, crs=UTM, transform=GRID,
                                class_names=names, codes=tiny["codes"])
    test = write_labels(tmp_path / "test.tif", np.where(lab == 0, 255, lab), "uint8",
                        nodata=255)
    res = invoke("evaluate", class_map, test)
    assert res.exit_code == 0, res.output
    # before: 255 scored as a class never predicted (OA well below 100 %)
    assert f"OA 100.00 %  AA 100.00 %  kappa 1.0000  ({int((lab > 0).sum())} test pixels)" \
        in res.stdout


def test_nodata_that_is_a_named_class_is_one_error_line(tiny, tmp_path):
    lab = tiny["labels"]
    code = tiny["codes"][0]
    path = write_class_map(tmp_path / "gt.tif", lab, crs=UTM, transform=GRID,
                           class_names=[f"c{c}" for c in tiny["codes"]], codes=tiny["codes"],
                           nodata=code)
    out = tmp_path / "split"
    res = invoke("split", path, "-o", out, "--per-class", "2")
    line = one_error_line(res, "gt.tif", f"nodata value {code} is also the code of class")
    assert f"(c{code})" in line and not out.exists()


def test_envi_data_ignore_value_is_unlabelled(tiny, tmp_path):
    lab = tiny["labels"]
    np.where(lab == 0, 255, lab).astype(np.uint8).tofile(tmp_path / "gt.img")
    (tmp_path / "gt.hdr").write_text(
        "ENVI\nsamples = 24\nlines = 24\nbands = 1\nheader offset = 0\n"
        "file type = ENVI Standard\ndata type = 1\ninterleave = bsq\nbyte order = 0\n"
        "data ignore value = 255\n")
    res = invoke("split", tmp_path / "gt.hdr", "-o", tmp_path / "split", "--per-class", "2")
    assert res.exit_code == 0, res.output
    with rasterio.open(tmp_path / "split" / "test.tif") as src:
        test = src.read(1)
    assert 255 not in test and sorted(np.unique(test[test > 0]).tolist()) == tiny["codes"]


# -- test labels on another grid than the class map ------------------------------------------

@pytest.mark.parametrize(("crs", "transform", "message"), [
    (UTM, GRID @ Affine.translation(2, 0), "transform"),   # the same shape, shifted 2 pixels
    (CRS.from_epsg(32610), GRID, "CRS EPSG:32610 differs"),  # another UTM zone
    (UTM, GRID @ Affine.scale(2), "transform"),               # another pixel size
])
def test_evaluate_refuses_test_labels_on_another_grid(tiny, tmp_path, crs, transform, message):
    lab = tiny["labels"]
    class_map = write_class_map(tmp_path / "map.tif", lab, crs=UTM, transform=GRID,
                                class_names=[f"c{c}" for c in tiny["codes"]],
                                codes=tiny["codes"])
    test = write_labels(tmp_path / "test.tif", lab, "uint8", crs=crs, transform=transform)
    report = tmp_path / "report.md"
    res = invoke("evaluate", class_map, test, "-o", report)
    # before: scored pixel by pixel as if on one grid (OA 100 %), the report written
    one_error_line(res, "test.tif", "map.tif", message)
    assert not report.exists() and not report.with_suffix(".png").exists()


def test_evaluate_accepts_test_labels_without_georeference_on_the_same_shape(tiny, tmp_path):
    lab = tiny["labels"]
    class_map = write_class_map(tmp_path / "map.tif", lab, crs=UTM, transform=GRID,
                                class_names=[f"c{c}" for c in tiny["codes"]],
                                codes=tiny["codes"])
    test = write_labels(tmp_path / "test.tif", lab, "uint8", crs=None, transform=None)
    res = invoke("evaluate", class_map, test)
    assert res.exit_code == 0, res.output
    assert "OA 100.00 %" in res.stdout


# -- grids compared in pixels, not map units ---------------------------------------------------

def test_a_shift_of_a_few_pixels_is_found_on_a_geographic_grid():
    """A drone scene in EPSG:4326: 2e-7 degree pixels (about 2 cm); labels 3 pixels off."""
    from hsi.errors import GridError
    from hsi.labels import same_transform

    wgs84 = CRS.from_epsg(4326)
    grid = Affine(2e-7, 0, -121.5, 0, -2e-7, 36.7)
    cube = Labels(np.zeros((8, 8), dtype=np.uint8), wgs84, grid)
    shifted = Labels(np.ones((8, 8), dtype=np.uint8), wgs84, grid @ Affine.translation(3, 0))
    # before: accepted, every coefficient within 1e-6 of the cube's
    with pytest.raises(GridError, match=r"lab\.tif: transform .* differs from cube\.tif's"):
        shifted.check_grid(cube, name="lab.tif", of="cube.tif")
    assert not same_transform(grid, grid @ Affine.scale(1.01))  # another pixel size
    # a thousandth of a pixel (rounding in another program's header) is the same grid
    assert same_transform(grid, grid @ Affine.translation(1e-4, -1e-4))
    assert same_transform(GRID, GRID @ Affine.translation(1e-4, 0))
    assert not same_transform(GRID, GRID @ Affine.translation(0.01, 0))


def test_cluster_scores_refuse_labels_on_another_grid():
    from hsi.clustering.evaluate import evaluate
    from hsi.errors import GridError

    truth = np.array([[1, 1, 2, 2]] * 2)
    clusters = Labels(truth, UTM, GRID)
    # before: scored (ACC 1.0) although the labels lie 2 pixels east
    with pytest.raises(GridError, match=r"labels: transform .* differs from the cluster map's"):
        evaluate(clusters, Labels(truth, UTM, GRID @ Affine.translation(2, 0)))
    assert evaluate(clusters, Labels(truth, UTM, GRID))["acc"] == 1.0


def test_cluster_evaluate_finds_a_shift_on_a_geographic_grid_and_reads_nodata(tmp_path):
    """cluster-evaluate compared transforms to 1e-6 map units: 3 pixels of a 2e-7° drone grid
    passed (ACC 1.0), and a declared nodata 255 of the labels was a class."""
    wgs = CRS.from_epsg(4326)
    grid = Affine(2e-7, 0, -120.0, 0, -2e-7, 37.0)
    lab = np.array([[1, 1, 2, 2]] * 4, np.uint8)
    clusters = write_labels(tmp_path / "c.tif", lab, "uint8", crs=wgs, transform=grid)
    shifted = write_labels(tmp_path / "s.tif", lab, "uint8", crs=wgs,
                           transform=grid @ Affine.translation(3, 0))
    res = CliRunner().invoke(cli, ["cluster-evaluate", str(clusters), str(shifted)])
    one_error_line(res, "c.tif")
    with_nodata = write_labels(tmp_path / "n.tif", np.where(lab == 2, 255, lab), "uint8",
                               nodata=255, crs=wgs, transform=grid)
    res = CliRunner().invoke(cli, ["cluster-evaluate", str(clusters), str(with_nodata)])
    assert res.exit_code == 0, res.output
    assert "pixels 8" in res.stdout  # the class-2 half was nodata: unlabelled, not scored


def test_envi_classification_names_and_colours_are_read(tmp_path):
    """An ENVI Classification file's class names and lookup were dropped (codes only)."""
    lab = np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
    lab.tofile(tmp_path / "gt.img")
    (tmp_path / "gt.hdr").write_text(
        "ENVI\nsamples = 3\nlines = 2\nbands = 1\nheader offset = 0\n"
        "file type = ENVI Classification\ndata type = 1\ninterleave = bsq\nbyte order = 0\n"
        "classes = 3\nclass names = {Unclassified, water, wheat}\n"
        "class lookup = {0, 0, 0, 0, 0, 255, 250, 200, 20}\n")
    labels = read_labels(tmp_path / "gt.hdr")
    assert labels.array.tolist() == lab.tolist()
    assert labels.names == ("water", "wheat") and labels.codes == (1, 2)
    assert labels.colors == ((0, 0, 255), (250, 200, 20))
