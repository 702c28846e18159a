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

def test_without_nodata_unlabels_the_declared_value():
    labels = Labels(np.array([[255, 1], [2, 255]], dtype=np.uint8))
    out, pixels = labels.without_nodata(255, name="lab.tif")
    assert pixels == 2 and out.array.tolist() == [[0, 1], [2, 0]]
    for nodata in (None, 0, float("nan"), 7, 2.5):  # none declared, 0, or no pixel holds it
        same, pixels = labels.without_nodata(nodata)
        assert same is labels and pixels == 0


def test_without_nodata_refuses_the_code_of_a_named_class():
    labels = Labels(np.array([[1, 3]]), names=("water", "crop"), codes=(1, 3))
    with pytest.raises(FormatError, match=r"lab\.tif: its nodata value 3 is also the code of "
                                          r"class 3 \(crop\)"):
        labels.without_nodata(3, name="lab.tif")


@pytest.mark.parametrize(("dtype", "nodata"), [("uint8", 255), ("uint16", 65535)])
def test_split_reads_declared_nodata_as_unlabelled(tiny, tmp_path, dtype, nodata):
    lab = tiny["labels"]
    raw = np.where(lab == 0, nodata, lab)
    path = write_labels(tmp_path / f"lab_{dtype}.tif", raw, dtype, nodata=nodata)
    assert nodata in read_labels(path).array  # the reader alone keeps the value
    res = invoke("split", path, "-o", tmp_path / "split", "--per-class", "2", "--seed", "0")
    assert res.exit_code == 0, res.output
    assert f"{int((lab == 0).sum())} pixels hold its nodata value {nodata}: read as " \
           "unlabelled (0)" in res.stderr
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
