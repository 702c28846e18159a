"""The classification commands' label files: class-names files, class maps given to
``evaluate``, the names and colours a split keeps, checkpoint names, probability bands."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

import hsi
from hsi.classification.pipeline import read_class_names
from hsi.cli.main import cli
from hsi.errors import FormatError
from hsi.io.labels import read_class_map, read_labels, write_class_map
from hsi.labels import Labels
from tests.cli_checks import one_error_line


def invoke(*args):
    return CliRunner().invoke(cli, ["classify", *map(str, args)])


@pytest.fixture(scope="module")
def scene(salinas_crop, tmp_path_factory):
    """The real crop as a GeoTIFF, its labels as a named, coloured class map, and a split."""
    cube, labels, names = salinas_crop
    d = tmp_path_factory.mktemp("label-files")
    cube_path = hsi.save(cube.with_data(np.asarray(cube.data, dtype=np.float32)),
                         d / "cube.tif")
    colors = [(10 * i, 200 - 20 * i, 7 * i) for i in range(1, len(names) + 1)]
    gt = write_class_map(d / "gt.tif", labels, crs=None, transform=None, class_names=names,
                         colors=colors)
    res = invoke("split", gt, "-o", d / "split", "--per-class", "5", "--seed", "0")
    assert res.exit_code == 0, res.output
    return {"dir": d, "cube": cube_path, "gt": gt, "names": names, "colors": colors,
            "train": d / "split" / "train.tif", "test": d / "split" / "test.tif"}


# -- A, B: class-names files ------------------------------------------------------------------

def test_class_names_file_not_utf8_is_a_format_error(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"1,br\xe9coli\n3,l\xff\n4,x\n")
    with pytest.raises(FormatError, match=r"latin1\.csv: line 1: not UTF-8 .*0xe9 at position 4"):
        read_class_names(path)
    bom = tmp_path / "bom.csv"  # a UTF-8 byte-order mark is fine
    bom.write_bytes(b"\xef\xbb\xbf1,br\xc3\xa9coli\n3,b\n")
    assert read_class_names(bom) == {1: "brécoli", 3: "b"}


def test_class_names_file_not_utf8_on_the_command_line(scene, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"1,br\xe9coli\n3,l\xff\n4,x\n")
    model = tmp_path / "m.pt"
    res = invoke("train", scene["cube"], scene["train"], "-o", model, "--class-names", path)
    line = one_error_line(res, "latin1.csv", "position 4")
    assert "UTF-8" in line and not model.exists()


@pytest.mark.parametrize(("name", "content", "message"), [
    ("dup.csv", "value,name\n1,brocoli\n1,dup\n3,b\n", r"line 3: class 1 is named again"),
    ("dup.json", '{"1": "a", "01": "b", "3": "c"}', r'key "01": class 1 is named again'),
    ("same.json", '{"1": "a", "1": "b"}', r'key "1": class 1 is named again'),
    ("empty_name.csv", "1,a\n3,\n", r"line 2: empty class name"),
    ("blank_name.csv", "1,a\n3,   \n", r"line 2: empty class name"),
    ("empty_entry.json", '["a", ""]', r"entry 2: empty class name"),
    ("semicolon.csv", "1;a\n3;b\n", r"line 1: '1;a' is a value and a name separated by ';'"),
    ("tab.txt", "1\ta\n3\tb\n", r"line 1: .* separated by a tab"),
    ("empty.csv", "", r"empty.csv: no class names \(the file is empty\)"),
    ("blank.json", "\n  \n", r"no class names"),
    ("three.csv", "1,a,extra\n3,b\n", r"line 1: expected 'value,name', got 3 fields"),
    ("mixed.csv", "1,a\nb\n", r"line 2: expected 'value,name' like line 1"),
    ("zero.csv", "0,a\n3,b\n", r"line 1: class value 0 outside 1\.\.65535"),
    ("big.csv", "1,a\n70000,b\n", r"line 2: class value 70000 outside"),
    ("word.csv", "1,a\nx1,b\n", r"line 2: 'x1' is not a class value"),
    ("null.json", '{"1": "a", "3": null}', r'key "3": expected a class name \(a string\)'),
    ("bad.json", '{"1": "a",', r"line 1: not valid JSON"),
    ("same_name.csv", "1,a\n3,a\n", r"line 2: 'a' already names class 1 \(line 1\)"),
])
def test_bad_class_names_files_are_refused(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FormatError, match=message) as info:
        read_class_names(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


@pytest.mark.parametrize(("content", "names"), [
    ("value,name\n1,a\n3,b\n", {1: "a", 3: "b"}),
    ("1, a \n2,b\n", ["a", "b"]),
    ("a\nb\n\nc\n", ["a", "b", "c"]),
    ('1,"Corn, notill"\n2,b\n', ["Corn, notill", "b"]),
    ('["a", "b"]', ["a", "b"]),
    ('{"10": "a", "11": "b"}', {10: "a", 11: "b"}),
])
def test_good_class_names_files(tmp_path, content, names):
    path = tmp_path / "names.csv"
    path.write_text(content, encoding="utf-8")
    assert read_class_names(path) == names


def test_bad_class_names_file_on_the_command_line(scene, tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("1,a\n1,b\n3,c\n")
    model = tmp_path / "m.pt"
    res = invoke("train", scene["cube"], scene["train"], "-o", model, "--class-names", path)
    one_error_line(res, "dup.csv", "line 2", "class 1 is named again")
    assert not model.exists()


# -- C: evaluate takes class maps only ---------------------------------------------------------

def _raster(path, data):
    data = np.asarray(data)
    with rasterio.open(path, "w", driver="GTiff", count=data.shape[0], height=data.shape[1],
                       width=data.shape[2], dtype=data.dtype) as dst:
        dst.write(data)
    return path


@pytest.mark.parametrize(("kind", "message"), [
    ("probabilities", "label raster must have 1 band, got 3"),
    ("cube", "label raster must have 1 band, got 204"),
    ("uncertainty", "labels must be whole numbers"),
])
def test_evaluate_refuses_rasters_that_are_not_class_maps(scene, tmp_path, kind, message):
    h, w = read_labels(scene["gt"]).array.shape
    rng = np.random.default_rng(0)
    if kind == "probabilities":
        bad = _raster(tmp_path / "p.tif", rng.random((3, h, w), dtype=np.float32))
    elif kind == "uncertainty":
        ent = rng.random((1, h, w), dtype=np.float32)
        ent[0, 0, 0] = np.nan
        bad = _raster(tmp_path / "u.tif", ent)
    else:
        bad = scene["cube"]
    with pytest.raises(FormatError, match=message):
        read_class_map(bad)
    report = tmp_path / "report.md"
    res = invoke("evaluate", bad, scene["test"], "-o", report)
    one_error_line(res, bad.name, message)
    assert not report.exists() and not report.with_suffix(".png").exists()


def test_evaluate_still_reads_a_float_raster_of_class_codes(scene, tmp_path):
    truth = read_labels(scene["test"]).array
    as_float = _raster(tmp_path / "f.tif", truth[None].astype(np.float32))
    labels, _, _ = read_class_map(as_float)
    assert labels.dtype == np.uint8
    np.testing.assert_array_equal(labels, truth)
    res = invoke("evaluate", as_float, scene["test"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("OA 100.00 %")


# -- D: the checkpoint's name is checked before training -------------------------------------

@pytest.mark.parametrize("name", ["y.tif", "y.TIFF", "y.hdr", "y.mat", "y.img"])
def test_train_refuses_a_raster_name_for_the_checkpoint_before_training(scene, tmp_path,
                                                                        monkeypatch, name):
    import hsi.classification.pipeline as pipeline

    def no_training(*args, **kwargs):
        raise AssertionError("trained before the output name was checked")

    monkeypatch.setattr(pipeline, "train_classifier", no_training)
    out = tmp_path / name
    res = invoke("train", scene["cube"], scene["train"], "-o", out, "--epochs", "1")
    line = one_error_line(res, name, ".pt")
    assert "torch checkpoint" in line and not out.exists()
    assert list(tmp_path.iterdir()) == []


# -- E: a split keeps the names and colours of its input --------------------------------------

def test_split_keeps_class_names_codes_and_colours(scene):
    for path in (scene["train"], scene["test"]):
        labels = read_labels(path)
        assert list(labels.names) == scene["names"]
        assert list(labels.codes) == list(range(1, len(scene["names"]) + 1))
        assert list(labels.colors) == scene["colors"]
        _, names, cmap = read_class_map(path)
        assert names == scene["names"]
        assert [cmap[c][:3] for c in range(1, 7)] == scene["colors"]
        assert cmap[0][:3] == (0, 0, 0)


def test_split_keeps_codes_that_are_not_1_to_k(tmp_path):
    codes = np.array([[1, 10, 11, 0], [1, 10, 11, 0], [1, 10, 11, 0], [1, 10, 11, 0]])
    gt = write_class_map(tmp_path / "gt.tif", codes, crs=None, transform=None,
                         class_names=["a", "b", "c"], codes=[1, 10, 11])
    res = invoke("split", gt, "-o", tmp_path / "s", "--per-class", "1")
    assert res.exit_code == 0, res.output
    train = read_labels(tmp_path / "s" / "train.tif")
    assert train.class_names == {1: "a", 10: "b", 11: "c"}
    assert set(np.unique(train.array)) == {0, 1, 10, 11}


def test_split_of_an_unnamed_raster_stays_plain(tmp_path):
    _raster(tmp_path / "plain.tif", np.array([[[1, 1, 2, 2], [1, 1, 2, 2]]], np.uint8))
    res = invoke("split", tmp_path / "plain.tif", "-o", tmp_path / "s", "--per-class", "1")
    assert res.exit_code == 0, res.output
    train = read_labels(tmp_path / "s" / "train.tif")
    assert train.names is None and train.colors is None


def test_labels_colours_are_checked():
    a = np.zeros((2, 2), np.uint8)
    assert Labels(a, names=("x",), colors=[(1, 2, 3, 255)]).colors == ((1, 2, 3),)
    with pytest.raises(FormatError, match="colours"):
        Labels(a, colors=[(1, 2, 3)])
    with pytest.raises(FormatError, match="colours"):
        Labels(a, names=("x", "y"), colors=[(1, 2, 3)])
    with pytest.raises(FormatError, match=r"0\.\.255"):
        Labels(a, names=("x",), colors=[(1, 2, 300)])


# -- E, F: the README workflow keeps the names; probability bands are named ------------------

def test_split_train_predict_keeps_names_and_names_probability_bands(scene, tmp_path):
    import torch

    torch.set_num_threads(1)
    model = tmp_path / "m.pt"
    res = invoke("train", scene["cube"], scene["train"], "-o", model, "--epochs", "1",
                 "--members", "1", "--patch-size", "1", "--seed", "0", "--device", "cpu")
    assert res.exit_code == 0, res.output
    out, prob = tmp_path / "map.tif", tmp_path / "p.tif"
    res = invoke("predict", scene["cube"], "--model", model, "-o", out, "--no-crf",
                 "--probabilities", prob, "--device", "cpu")
    assert res.exit_code == 0, res.output
    _, names, _ = read_class_map(out)
    assert names == scene["names"]  # not "class 1"...
    with rasterio.open(prob) as src:
        assert src.count == len(scene["names"])
        assert list(src.descriptions) == [f"{i}: {n}" for i, n in
                                          enumerate(scene["names"], start=1)]
    with rasterio.open(out) as src:
        assert json.loads(src.tags()["CLASS_NAMES"]) == scene["names"]


def test_evaluate_with_empty_test_labels_names_the_file(scene, salinas_crop, tmp_path):
    shape = salinas_crop[1].shape
    empty = write_class_map(tmp_path / "empty.tif", np.zeros(shape, np.uint8), crs=None,
                            transform=None, class_names=["a"])
    res = invoke("evaluate", scene["train"], empty)
    one_error_line(res, f"{empty}: no labelled pixel (all 0)")


def test_split_margin_is_refused_for_a_random_split(scene, tmp_path):
    res = invoke("split", scene["gt"], "-o", tmp_path / "s", "--per-class", "5", "--margin", "5")
    one_error_line(res, "--margin applies to --mode spatial")
    assert not (tmp_path / "s").exists()
