"""A user's audit, third round, of ``hsi classify split/train/predict/evaluate``: what an
analyst meets on real label rasters (Indian Pines' small classes, a GIS raster whose
unlabelled pixels are an undeclared 255, a cube stored in the reverse band order) and what
the summary lines say.

Small real data only: crops of the shipped Salinas-A sample; one classifier trained once
(1 epoch, 1 discriminator, the pixel alone, CRF as configured) for the module.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import rasterio

import hsi
from hsi.cube import Cube
from tests.cli_checks import one_error_line

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _raster(path, array, nodata=None):
    """A plain one-band GeoTIFF of ``array`` (no class names), as a GIS writes it."""
    with rasterio.open(path, "w", driver="GTiff", count=1, height=array.shape[0],
                       width=array.shape[1], dtype=array.dtype.name, nodata=nodata) as dst:
        dst.write(array, 1)
    return path


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """(cube path, cube, labels (H, W) uint8 1..6 with 0 unlabelled) of a 24×32 crop of the
    shipped Salinas-A sample, all bands."""
    from hsi.data import sample_cube, sample_labels

    folder = tmp_path_factory.mktemp("scene")
    cube = sample_cube()
    crop = cube.with_data(np.asarray(cube.data)[:, 14:38, :32])
    labels = np.asarray(sample_labels()[0])[14:38, :32].astype(np.uint8)
    return hsi.save(crop, folder / "crop.tif"), crop, labels


@pytest.fixture(scope="module")
def model(scene, tmp_path_factory):
    """A classifier of the crop saved as a checkpoint: (path, classifier)."""
    from hsi.classification import GanConfig, train_classifier

    _, cube, labels = scene
    config = GanConfig(members=1, patch_size=1, patch_select="fixed", crf_select="fixed")
    clf = train_classifier(cube, labels, epochs=1, seed=0, device="cpu", config=config,
                           progress=False)
    return clf.save(tmp_path_factory.mktemp("model") / "m.pt"), clf


def test_split_warns_of_classes_with_no_more_pixels_than_per_class(invoke, tmp_path):
    """``--per-class 50`` on Indian Pines gave Alfalfa (46 pixels), Grass-pasture-mowed (28)
    and Oats (20) all but one pixel for training, and one test pixel each, without a word
    ("741 training pixels" where 800 were asked)."""
    labels = np.zeros((10, 10), np.uint8)
    labels[:6] = 1  # 60 pixels
    labels[6:8] = 2  # 20 pixels
    labels[8, :3] = 3  # 3 pixels
    path = _raster(tmp_path / "gt.tif", labels)
    result = invoke("classify", "split", path, "-o", tmp_path / "split", "--per-class", 20)
    assert result.exit_code == 0, result.output
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warning == [f"warning: {path}: class(es) 2, 3 have no more than --per-class 20 "
                       "labelled pixels (20, 3): all but one of each are training pixels, "
                       "leaving at most 1 test pixel each"]
    assert result.stdout.startswith("41 training pixels")  # 20 + 19 + 2
    fine = invoke("classify", "split", path, "-o", tmp_path / "fine", "--per-class", 2)
    assert "warning" not in fine.stderr


def test_split_and_train_warn_of_an_undeclared_255(invoke, scene, model, tmp_path,
                                                   monkeypatch, caplog):
    """Unlabelled pixels stored as 255 in a uint8 raster without a declared nodata were split
    and trained as class 255 silently: the library's warning judged the int64 codes the
    readers return, never uint8."""
    import hsi.classification.pipeline as pipeline

    cube_path, _, labels = scene
    gis = _raster(tmp_path / "gis.tif", np.where(labels > 0, labels, 255).astype(np.uint8))
    with caplog.at_level(logging.WARNING):
        split = invoke("classify", "split", gis, "-o", tmp_path / "split", "--per-class", 3)
    assert split.exit_code == 0, split.output
    assert f"{gis}: {int((labels == 0).sum())} pixel(s) hold 255, the largest uint8 value, " \
           "and are split as class 255" in caplog.text
    caplog.clear()
    monkeypatch.setattr(pipeline, "train_classifier", lambda *a, **k: model[1])  # no training
    out = tmp_path / "m.pt"
    with caplog.at_level(logging.WARNING):
        trained = invoke("classify", "train", cube_path, tmp_path / "split" / "train.tif",
                         "-o", out, "--members", 1, "--epochs", 1, "--device", "cpu")
    assert trained.exit_code == 0, trained.output
    assert "3 pixel(s) hold 255, the largest uint8 value, and are trained as class 255" \
        in caplog.text
    # declared as nodata: unlabelled, nothing to say
    caplog.clear()
    declared = _raster(tmp_path / "declared.tif", np.where(labels > 0, labels, 255)
                       .astype(np.uint8), nodata=255)
    with caplog.at_level(logging.WARNING):
        invoke("classify", "split", declared, "-o", tmp_path / "s2", "--per-class", 3)
    assert "largest uint8 value" not in caplog.text


def test_train_summary_counts_discriminators_in_words(invoke, scene, model, tmp_path,
                                                      monkeypatch):
    """``(1 epoch, 1 discriminator(s), ...)``: the epochs were counted in words, the
    discriminators were not."""
    import hsi.classification.pipeline as pipeline

    cube_path, _, labels = scene
    monkeypatch.setattr(pipeline, "train_classifier", lambda *a, **k: model[1])
    train = _raster(tmp_path / "train.tif", labels)
    result = invoke("classify", "train", cube_path, train, "-o", tmp_path / "m.pt", "--epochs",
                    1, "--members", 1, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "(1 epoch, 1 discriminator, the pixel alone" in result.stdout


def test_evaluate_warns_of_test_classes_the_map_never_has(invoke, tmp_path, caplog):
    """Test labels with a class the model never learnt (or an undeclared 255 read as one)
    were scored without a word: OA 73.6 % instead of 99.3 % on Salinas-A."""
    from hsi.io.labels import write_class_map

    rng = np.random.default_rng(0)
    truth = rng.integers(1, 4, (20, 20)).astype(np.uint8)
    cmap = write_class_map(tmp_path / "map.tif", truth, crs=None, transform=None,
                           class_names=["a", "b", "c"])
    gis = truth.copy()
    gis[:5] = 255  # 100 unlabelled pixels, undeclared
    test = _raster(tmp_path / "test.tif", gis)
    with caplog.at_level(logging.WARNING):
        result = invoke("classify", "evaluate", cmap, test)
    assert result.exit_code == 0, result.output
    assert "the test labels' class(es) 255 never appear in the class map: their 100 test " \
           "pixel(s) count as misclassified; if 255 marks unlabelled pixels, declare it as " \
           "the test labels' nodata" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        same = invoke("classify", "evaluate", cmap, _raster(tmp_path / "t2.tif", truth))
    assert same.stdout.startswith("OA 100.00 %") and caplog.text == ""


def test_predict_summary_names_every_file_written(invoke, scene, model, tmp_path):
    """With --probabilities and --uncertainty the summary named the class map alone."""
    cube_path, _, _ = scene
    out, prob, unc = tmp_path / "map.tif", tmp_path / "prob.tif", tmp_path / "unc.tif"
    result = invoke("classify", "predict", cube_path, "--model", model[0], "-o", out,
                    "--probabilities", prob, "--uncertainty", unc, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith(
        f"-> {out}, probabilities -> {prob}, uncertainty -> {unc}")
    assert prob.is_file() and unc.is_file()


def test_predict_on_bands_in_reverse_order_says_so(invoke, scene, model, tmp_path):
    """A cube holding the model's bands in reverse order was told "differ by up to 2098.9 nm
    (trained on another sensor?)": the sensor is the same, the order is not."""
    _, cube, _ = scene
    rev = hsi.save(Cube(np.asarray(cube.data)[::-1].copy(),
                        wavelengths=np.asarray(cube.wavelengths)[::-1].copy()),
                   tmp_path / "reversed.tif")
    out = tmp_path / "map.tif"
    line = one_error_line(invoke("classify", "predict", rev, "--model", model[0], "-o", out,
                                 "--device", "cpu"), "m.pt", "reversed.tif",
                          "the same bands in another order",
                          "store the cube's bands in the model's order")
    assert "another sensor" not in line
    assert not out.exists()
    shifted = hsi.save(Cube(np.asarray(cube.data), wavelengths=cube.wavelengths + 50),
                       tmp_path / "shifted.tif")
    one_error_line(invoke("classify", "predict", shifted, "--model", model[0], "-o", out,
                          "--device", "cpu"), "trained on another sensor?")


def test_spatial_split_without_test_pixels_names_the_options(invoke, tmp_path):
    """"no test pixel left (fewer training pixels, or a smaller margin)": the margin is
    --margin, fewer training pixels a smaller --per-class or --fraction."""
    labels = np.ones((12, 12), np.uint8)
    labels[:, 6:] = 2
    path = _raster(tmp_path / "gt.tif", labels)
    out = tmp_path / "split"
    line = one_error_line(invoke("classify", "split", path, "-o", out, "--fraction", 0.5,
                                 "--mode", "spatial", "--margin", 20), "gt.tif")
    assert line.endswith("no test pixel left (a smaller --per-class or --fraction, or a "
                         "smaller --margin)")
    assert not out.exists()


def test_cluster_evaluate_warns_of_an_undeclared_255_in_the_labels(invoke, tmp_path, caplog):
    """Samson's ground truth with its unlabelled rows stored as 255 (undeclared) scored ACC
    0.763 instead of 0.961, the 255 pixels a class of their own, without a word."""
    from hsi.io.labels import write_class_map

    truth = np.repeat(np.arange(1, 4, dtype=np.uint8), 40).reshape(10, 12)
    clusters = write_class_map(tmp_path / "clusters.tif", truth, crs=None, transform=None,
                               class_names=["1", "2", "3"])
    gis = truth.copy()
    gis[:2] = 255
    labels = _raster(tmp_path / "gt.tif", gis)
    with caplog.at_level(logging.WARNING):
        result = invoke("cluster-evaluate", clusters, labels)
    assert result.exit_code == 0, result.output
    assert f"{labels}: 24 pixel(s) hold 255, the largest uint8 value, and are scored as " \
           "class 255; if 255 marks unlabelled pixels, set them to 0 (or declare 255 as the " \
           "label raster's nodata)" in caplog.text
    caplog.clear()
    declared = _raster(tmp_path / "declared.tif", gis, nodata=255)
    with caplog.at_level(logging.WARNING):
        result = invoke("cluster-evaluate", clusters, declared)
    assert "ACC    1.0000" in result.stdout and "largest uint8" not in caplog.text


def test_a_label_mat_of_several_arrays_asks_for_the_labels_option(invoke, scene, tmp_path):
    """``choose one with --var``: split and evaluate have no --var (click: "No such option"),
    and train's --var picks the cube's variable; the labels' is --labels-var."""
    import scipy.io

    from hsi.io.labels import write_class_map

    cube_path, _, labels = scene
    two = tmp_path / "two.mat"
    scipy.io.savemat(two, {"gt": labels, "other": labels})
    cmap = write_class_map(tmp_path / "map.tif", labels, crs=None, transform=None,
                           class_names=[str(c) for c in range(1, 7)])
    for args in (("classify", "split", two, "-o", tmp_path / "split", "--per-class", 3),
                 ("classify", "evaluate", cmap, two),
                 ("classify", "train", cube_path, two, "-o", tmp_path / "m.pt", "--device",
                  "cpu")):
        line = one_error_line(invoke(*args), "two.mat")
        assert line.endswith("2-D arrays; choose one with --labels-var"), line
    assert not (tmp_path / "split").exists() and not (tmp_path / "m.pt").exists()
    chosen = invoke("classify", "evaluate", cmap, two, "--labels-var", "gt")
    assert chosen.exit_code == 0 and chosen.stdout.startswith("OA 100.00 %")


@pytest.mark.parametrize("name", ["report.tif", "report.hdr", "report.mat"])
def test_evaluate_refuses_a_raster_name_for_the_report(invoke, tmp_path, name):
    """``-o report.tif`` failed after scoring with "write failed ('.../.report.tif.2418...
    .tif.part' not recognized as being in a supported file format.)", naming a temporary."""
    from hsi.io.labels import write_class_map

    truth = np.repeat(np.arange(1, 4, dtype=np.uint8), 40).reshape(10, 12)
    cmap = write_class_map(tmp_path / "map.tif", truth, crs=None, transform=None,
                           class_names=["a", "b", "c"])
    test = _raster(tmp_path / "test.tif", truth)
    line = one_error_line(invoke("classify", "evaluate", cmap, test, "-o", tmp_path / name),
                          name, "--output", "name the report .md")
    assert ".part" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.tif", "test.tif"]


def test_float_labels_with_nan_for_unlabelled_say_nan(invoke, tmp_path):
    """A float32 label raster (rasterised in a GIS) whose unlabelled pixels are an undeclared
    NaN was refused as "got non-integer values", though every class code is whole."""
    labels = np.repeat(np.arange(1, 4, dtype=np.float32), 40).reshape(10, 12)
    labels[:2] = np.nan
    path = _raster(tmp_path / "gis.tif", labels)
    out = tmp_path / "split"
    line = one_error_line(invoke("classify", "split", path, "-o", out, "--per-class", 3),
                          "gis.tif", "got NaN in 24 pixel(s)",
                          "declare NaN as the raster's nodata")
    assert "non-integer" not in line and not out.exists()
    declared = _raster(tmp_path / "declared.tif", labels, nodata=float("nan"))
    result = invoke("classify", "split", declared, "-o", out, "--per-class", 3)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("9 training pixels")


def test_evaluate_summary_says_how_many_test_pixels_were_left_unclassified(invoke, tmp_path):
    """Predicted on a cube with a NaN collar, Salinas-A scored "OA 80.82 % ... (5288 test
    pixels)": 992 of them were unclassified (0) in the map and counted as errors, which
    only the Markdown report's last column showed."""
    from hsi.io.labels import write_class_map

    truth = np.repeat(np.arange(1, 4, dtype=np.uint8), 40).reshape(10, 12)
    pred = truth.copy()
    pred[:, :2] = 0  # a collar without data
    cmap = write_class_map(tmp_path / "map.tif", pred, crs=None, transform=None,
                           class_names=["a", "b", "c"])
    test = _raster(tmp_path / "test.tif", truth)
    result = invoke("classify", "evaluate", cmap, test)
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith(
        f"(120 test pixels; 20 unclassified in {cmap}, counted as errors)")
    assert result.stdout.startswith("OA 83.33 %")
    whole = write_class_map(tmp_path / "whole.tif", truth, crs=None, transform=None,
                            class_names=["a", "b", "c"])
    assert invoke("classify", "evaluate", whole, test).stdout.rstrip().endswith(
        "(120 test pixels)")


def test_labels_var_for_a_label_raster_that_is_not_a_mat_is_refused(tmp_path):
    """``--labels-var gt`` with a GeoTIFF label raster was ignored without a word."""
    from click.testing import CliRunner

    from hsi.cli.main import cli
    from hsi.io.labels import read_labels, write_class_map

    labels = write_class_map(tmp_path / "gt.tif", np.arange(1, 5).repeat(25).reshape(10, 10),
                             crs=None, transform=None, class_names=["a", "b", "c", "d"])
    result = CliRunner().invoke(cli, ["classify", "split", str(labels), "-o",
                                      str(tmp_path / "split"), "--per-class", "5",
                                      "--labels-var", "gt"])
    assert result.exit_code != 0
    assert "--labels-var gt applies to .mat files only" in result.output, result.output
    assert "var='gt'" not in result.output
    with pytest.raises(hsi.errors.ConfigError, match=r"var='gt' applies to \.mat files only"):
        read_labels(labels, var="gt")
