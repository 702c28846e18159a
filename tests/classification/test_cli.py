from __future__ import annotations

import json
import math

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

import hsi
from hsi.classification import GanConfig
from hsi.cli.main import cli

CRS = "EPSG:32610"
TRANSFORM = Affine(3.7, 0.0, 600000.0, 0.0, -3.7, 4000000.0)


def write_labels(path, labels, crs=CRS, transform=TRANSFORM):
    profile = {"driver": "GTiff", "count": 1, "height": labels.shape[0],
               "width": labels.shape[1], "dtype": "uint8", "crs": crs, "transform": transform}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(labels.astype(np.uint8), 1)
    return path


@pytest.fixture(scope="module")
def files(salinas_crop, tmp_path_factory):
    """The real crop as a georeferenced GeoTIFF, its labels, class names, a trained model."""
    cube, labels, names = salinas_crop
    d = tmp_path_factory.mktemp("cli")
    geo = cube.with_data(np.asarray(cube.data, dtype=np.float32), crs=CRS, transform=TRANSFORM)
    cube_path = hsi.save(geo, d / "crop.tif")
    labels_path = write_labels(d / "labels.tif", labels)
    names_path = d / "names.json"
    names_path.write_text(json.dumps(names))
    runner = CliRunner()
    res = runner.invoke(cli, ["classify", "split", str(labels_path), "-o", str(d / "split"),
                              "--per-class", "5", "--mode", "random", "--seed", "0"])
    assert res.exit_code == 0, res.output
    model = d / "model.pt"
    res = runner.invoke(cli, ["classify", "train", str(cube_path), str(d / "split" / "train.tif"),
                              "-o", str(model), "--class-names", str(names_path), "--epochs", "2",
                              "--members", "1", "--seed", "0", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert "(2 epochs, 1 discriminator, " in res.output
    from hsi.classification.pipeline import load_classifier

    p = load_classifier(model, device="cpu").config.patch_size  # the window the CV chose
    assert (f"{p}×{p} window" if p > 1 else "the pixel alone") in res.output
    assert "cross-validated on the training labels: pixel " in res.output
    return {"dir": d, "cube": cube_path, "labels": labels_path, "names": names_path,
            "model": model, "class_names": names}


def invoke(*args):
    return CliRunner().invoke(cli, ["classify", *map(str, args)])


def test_split_spatial_writes_disjoint_rasters(files, tmp_path, salinas_crop):
    res = invoke("split", files["labels"], "-o", tmp_path / "s", "--per-class", "8", "--mode",
                 "spatial", "--seed", "1")
    assert res.exit_code == 0, res.output
    with rasterio.open(tmp_path / "s" / "train.tif") as a, \
            rasterio.open(tmp_path / "s" / "test.tif") as b:
        train, test = a.read(1), b.read(1)
        assert a.crs == rasterio.crs.CRS.from_string(CRS) and a.transform == TRANSFORM
    avail = np.bincount(salinas_crop[1].ravel(), minlength=7)[1:]
    assert np.bincount(train.ravel(), minlength=7)[1:].tolist() == [min(8, a - 1) for a in avail]
    radius = GanConfig().radius  # the default margin is the default patch radius
    tr = np.argwhere(train > 0)
    for r, c in np.argwhere(test > 0):
        assert np.maximum(np.abs(tr[:, 0] - r), np.abs(tr[:, 1] - c)).min() > radius


def test_split_needs_one_of_per_class_fraction(files, tmp_path):
    res = invoke("split", files["labels"], "-o", tmp_path / "s")
    assert res.exit_code == 2 and not (tmp_path / "s").exists()


def test_predict_writes_class_map_probabilities_entropy(files, tmp_path):
    out = tmp_path / "map.tif"
    res = invoke("predict", files["cube"], "--model", files["model"], "-o", out,
                 "--probabilities", tmp_path / "p.tif", "--uncertainty", tmp_path / "u.tif",
                 "--tile", "32")
    assert res.exit_code == 0, res.output
    with rasterio.open(out) as src:  # plain rasterio
        assert src.dtypes[0] == "uint8" and src.count == 1
        assert src.nodata == 0  # "no class", as hsi cluster's maps declare it
        assert src.crs == rasterio.crs.CRS.from_string(CRS)
        assert src.transform.almost_equals(TRANSFORM)
        cmap = src.colormap(1)
        assert cmap[0][:3] == (0, 0, 0) and len({cmap[i] for i in range(1, 7)}) == 6
        assert json.loads(src.tags()["CLASS_NAMES"]) == files["class_names"]
        class_map = src.read(1)
    assert class_map.min() >= 1 and class_map.max() <= 6
    with rasterio.open(tmp_path / "p.tif") as src:
        prob = src.read()
        assert src.count == 6 and src.crs is not None
    np.testing.assert_allclose(prob.sum(0), 1.0, atol=1e-4)
    np.testing.assert_array_equal(prob.argmax(0) + 1, class_map)
    with rasterio.open(tmp_path / "u.tif") as src:
        ent = src.read(1)
    assert (ent >= -1e-6).all() and (ent <= math.log(6) + 1e-5).all()


def test_evaluate_report(files, tmp_path):
    out = tmp_path / "map.tif"
    assert invoke("predict", files["cube"], "--model", files["model"], "-o", out,
                  "--no-crf").exit_code == 0
    test = files["dir"] / "split" / "test.tif"
    res = invoke("evaluate", out, test, "-o", tmp_path / "report.md")
    assert res.exit_code == 0, res.output
    text = (tmp_path / "report.md").read_text()
    assert "overall accuracy" in text and "Lettuce_romaine_4wk" in text
    oa = float(res.output.split("OA ")[1].split(" %")[0])
    assert oa > 70.0


def test_label_shape_mismatch_is_one_line_error(files, tmp_path, salinas_crop):
    _, labels, _ = salinas_crop
    bad = write_labels(tmp_path / "bad.tif", labels[:-2])
    model = tmp_path / "m.pt"
    res = invoke("train", files["cube"], bad, "-o", model)
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0 and "hsi: error:" in res.output
    assert "42×64" in res.output and not model.exists()


def test_class_without_pixels_and_single_class(files, tmp_path, salinas_crop):
    _, labels, names = salinas_crop
    extra = tmp_path / "names.csv"
    extra.write_text("\n".join([*names, "Fallow"]) + "\n")
    model = tmp_path / "m.pt"
    res = invoke("train", files["cube"], files["labels"], "-o", model, "--class-names", extra)
    assert res.exit_code == 2 and "class 7 (Fallow) has no labelled pixel" in res.output
    one = write_labels(tmp_path / "one.tif", (labels == 4).astype(np.uint8))
    res = invoke("train", files["cube"], one, "-o", model)
    assert res.exit_code == 2 and "at least two classes" in res.output
    assert not model.exists()


def test_model_bands_must_match_cube(files, tmp_path, salinas_crop):
    cube, _, _ = salinas_crop
    small = hsi.save(cube.with_data(np.asarray(cube.data)[:50], wavelengths=None, fwhm=None),
                     tmp_path / "small.tif")
    out = tmp_path / "map.tif"
    res = invoke("predict", small, "--model", files["model"], "-o", out)
    assert res.exit_code == 2 and "model expects 204 bands, the cube has 50" in res.output
    assert str(files["model"]) in res.output and "small.tif" in res.output  # names both files
    assert not out.exists()


def test_any_class_codes_round_trip(files, tmp_path, salinas_crop):
    """Salinas' own codes 1, 10-14: trained, written and scored as those codes."""
    from hsi.io.labels import read_class_map

    _, labels, names = salinas_crop
    codes = np.array([0, 1, 10, 11, 12, 13, 14])
    present = np.unique(labels[labels > 0])
    ehu = codes[np.searchsorted(np.r_[0, present], labels)]  # 1..K -> 1, 10..14
    assert set(np.unique(ehu)) <= set(codes.tolist())
    labels_path = write_labels(tmp_path / "ehu.tif", ehu)
    names_path = tmp_path / "names.csv"
    used = [int(c) for c in np.unique(ehu) if c > 0]
    names_path.write_text("value,name\n" + "".join(
        f"{c},{names[i]}\n" for i, c in enumerate(used)))
    res = invoke("split", labels_path, "-o", tmp_path / "split", "--per-class", "5", "--seed",
                 "0")
    assert res.exit_code == 0, res.output
    model = tmp_path / "m.pt"
    res = invoke("train", files["cube"], tmp_path / "split" / "train.tif", "-o", model,
                 "--class-names", names_path, "--epochs", "2", "--members", "1", "--device",
                 "cpu")
    assert res.exit_code == 0, res.output
    out = tmp_path / "map.tif"
    res = invoke("predict", files["cube"], "--model", model, "-o", out, "--no-crf", "--device",
                 "cpu")
    assert res.exit_code == 0, res.output
    class_map, map_names, cmap = read_class_map(out)
    assert set(np.unique(class_map)) <= {0, *used}  # the training codes, not 1..K
    for i, c in enumerate(used):
        assert map_names[c - 1] == names[i] and c in cmap
    res = invoke("evaluate", out, tmp_path / "split" / "test.tif")
    assert res.exit_code == 0, res.output
    assert float(res.output.split("OA ")[1].split(" %")[0]) > 50.0


def test_predict_reads_a_lazy_file_by_tiles_like_the_whole_scene(files, tmp_path):
    """The scene engine: a lazy cube read window by window, 4 tiles == one in-memory run."""
    from hsi.classification.pipeline import classify_to_files, load_classifier
    from hsi.io.labels import read_class_map

    clf = load_classifier(files["model"], device="cpu")
    lazy = hsi.open(files["cube"], lazy=True)
    assert lazy.is_lazy
    calls = []
    summary = classify_to_files(clf, lazy, tmp_path / "map.tif", use_crf=False, tile=32,
                                probabilities=tmp_path / "p.tif",
                                callback=lambda done, total: calls.append((done, total)))
    whole, prob = clf.predict(hsi.open(files["cube"]), use_crf=False, tile=512)
    written, _, _ = read_class_map(tmp_path / "map.tif")
    to_code = np.asarray([0, *clf.codes])
    np.testing.assert_array_equal(written, to_code[whole])
    np.testing.assert_allclose(hsi.open(tmp_path / "p.tif").data, prob, atol=1e-6)
    assert calls == [(i, 4) for i in range(5)]  # 42 × 64 pixels in 32² tiles
    assert summary["pixels"] + summary["nodata"] == 42 * 64
    # counted tile by tile: the summary's counts are the written map's, class by class
    assert summary["nodata"] == int((written == 0).sum())
    assert summary["counts"] == {name: int((written == code).sum())
                                 for name, code in zip(clf.class_names, clf.codes, strict=True)}
    assert sum(summary["counts"].values()) == summary["pixels"] > 0


def test_predict_cancel_between_tiles_writes_nothing(files, tmp_path):
    from hsi.classification.pipeline import classify_to_files, load_classifier
    from hsi.errors import Cancelled

    clf = load_classifier(files["model"], device="cpu")
    calls = []

    def stop_after_two(done, total):
        calls.append(done)
        return done == 2

    with pytest.raises(Cancelled, match="predicting cancelled after 2 of 4"):
        classify_to_files(clf, hsi.open(files["cube"], lazy=True), tmp_path / "map.tif",
                          use_crf=False, tile=32, uncertainty=tmp_path / "u.tif",
                          callback=stop_after_two)
    assert calls == [0, 1, 2]
    assert list(tmp_path.iterdir()) == []


def test_train_with_a_fixed_patch_size_skips_the_window_choice(files, tmp_path):
    from hsi.classification.pipeline import load_classifier

    model = tmp_path / "pixel.pt"
    res = invoke("train", files["cube"], files["dir"] / "split" / "train.tif", "-o", model,
                 "--epochs", "1", "--members", "1", "--patch-size", "1", "--device", "cpu")
    assert res.exit_code == 0, res.output
    assert "the pixel alone) ->" in res.output and "cross-validated" not in res.output
    config = load_classifier(model, device="cpu").config
    assert (config.patch_size, config.patch_select) == (1, "fixed")
    bad = invoke("train", files["cube"], files["dir"] / "split" / "train.tif", "-o",
                 tmp_path / "even.pt", "--patch-size", "4", "--device", "cpu")
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    assert "--patch-size: expected an odd integer" in bad.output
    assert not (tmp_path / "even.pt").exists()
