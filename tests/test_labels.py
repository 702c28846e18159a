"""The ``Labels`` type: readers return it, and training/evaluation check its grid (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

import hsi
from hsi.classification.config import GanConfig
from hsi.classification.evaluate import evaluate_class_map
from hsi.classification.pipeline import check_labels, train_classifier
from hsi.errors import FormatError, GridError, ShapeError
from hsi.io.labels import read_labels, write_class_map
from hsi.labels import Labels

T = Affine(30.0, 0, 500000.0, 0, -30.0, 4000000.0)
SHIFTED = Affine(30.0, 0, 500030.0, 0, -30.0, 4000000.0)


@pytest.fixture()
def cube():
    data = np.random.default_rng(1).random((4, 6, 8)).astype(np.float32)
    return hsi.Cube(data, wavelengths=[450.0, 550.0, 650.0, 750.0], crs="EPSG:32611",
                    transform=T)


@pytest.fixture()
def codes():
    labels = np.zeros((6, 8), np.int64)
    labels[:, :4], labels[:, 4:] = 1, 2
    return labels


def test_reader_returns_labels_that_unpack_like_the_old_tuple(tmp_path, codes):
    path = write_class_map(tmp_path / "gt.tif", codes, crs="EPSG:32611", transform=T,
                           class_names=["soil", "water"])
    labels = read_labels(path)
    assert isinstance(labels, Labels)
    assert labels.crs == "EPSG:32611" and labels.transform == T
    assert labels.names == ("soil", "water") and labels.codes == (1, 2)
    assert labels.class_names == {1: "soil", 2: "water"}
    array, crs, transform = labels
    np.testing.assert_array_equal(array, codes)
    assert crs == labels.crs and transform == T
    assert labels[0] is labels.array and labels[2] == T


def test_reader_keeps_codes_of_named_classes(tmp_path, codes):
    path = write_class_map(tmp_path / "gt.tif", codes * 10, crs=None, transform=None,
                           class_names=["soil", "water"], codes=[10, 20])
    labels = read_labels(path)
    assert labels.codes == (10, 20) and labels.names == ("soil", "water")
    assert labels.crs is None and labels.transform is None


def test_check_grid_accepts_the_same_grid(cube, codes):
    Labels(codes, crs=cube.crs, transform=T).check_grid(cube)
    Labels(codes).check_grid(cube)  # no georeference: only the shape is compared


@pytest.mark.parametrize("labels, error, message", [
    (Labels(np.zeros((6, 7), np.int64)), ShapeError, r"expected the cube's grid 6×8, got 6×7"),
    (Labels(np.zeros((6, 8), np.int64), crs="EPSG:32610"), GridError, "CRS EPSG:32610 differs"),
    (Labels(np.zeros((6, 8), np.int64), transform=SHIFTED), GridError, "transform .* differs"),
])
def test_check_grid_refuses_another_grid(cube, labels, error, message):
    with pytest.raises(error, match=f"gt.tif: {message}"):
        labels.check_grid(cube, name="gt.tif")


def test_labels_refuse_non_integer_and_non_2d():
    with pytest.raises(FormatError, match="integer"):
        Labels(np.zeros((2, 2), np.float32))
    with pytest.raises(ShapeError):
        Labels(np.zeros((1, 2, 2), np.int64))


def test_training_checks_the_grid_of_labels(cube, codes):
    with pytest.raises(GridError, match="transform"):
        train_classifier(cube, Labels(codes, crs=cube.crs, transform=SHIFTED), epochs=1,
                         config=GanConfig(members=1), progress=False, device="cpu")
    with pytest.raises(GridError, match="CRS"):
        check_labels(Labels(codes, crs="EPSG:4326"), cube)
    assert check_labels(Labels(codes, crs=cube.crs, transform=T), cube) == 2


def test_check_labels_takes_the_names_of_labels(cube, codes):
    with pytest.raises(FormatError, match="label 2 has no class name"):
        check_labels(Labels(codes, names=("soil",)), cube)


def test_evaluation_checks_the_grids_of_both_rasters(codes):
    truth = Labels(codes, crs="EPSG:32611", transform=T)
    report = evaluate_class_map(Labels(codes, crs="EPSG:32611", transform=T), truth)
    assert report.oa == 100.0
    with pytest.raises(GridError, match=r"test labels: transform .* differs from the class map"):
        evaluate_class_map(Labels(codes, crs="EPSG:32611", transform=SHIFTED), truth)


def test_labels_with_rows_and_columns_swapped_are_told_so():
    """Labels 86×83 against an 83×86 cube (a column-major raster) got the right refusal with
    no word of the likely cause."""
    from hsi.cube import Cube

    cube = Cube(np.zeros((3, 83, 86), np.float32))
    labels = Labels(np.ones((86, 83), np.int64))
    with pytest.raises(ShapeError, match=r"got 86×83; rows and columns look swapped"):
        labels.check_grid(cube)
    with pytest.raises(ShapeError, match=r"rows and columns look swapped"):
        evaluate_class_map(np.ones((83, 86), np.int64), np.ones((86, 83), np.int64))
    with pytest.raises(ShapeError) as square:  # a square scene: nothing to tell
        Labels(np.ones((80, 80), np.int64)).check_grid(Cube(np.zeros((3, 90, 90), np.float32)))
    assert "swapped" not in str(square.value)
