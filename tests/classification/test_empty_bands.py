"""Empty bands (no valid value: all NaN or the nodata value), as EnMAP, PRISMA or some AVIRIS
products hold in their water-absorption windows: the classifier leaves them out of its
features, records the bands it reads, and reads the same ones of the scenes it classifies.

Before, training on the shipped sample with three NaN bands failed ("class 1 is labelled only
on pixels the cube has no data for": every pixel had a NaN band); with three bands of -9999
(the cube's nodata) the PCA read -9999 as reflectance (OA 0.78 instead of 0.88, one class
never predicted); a model trained on full bands classified a scene with NaN bands as all 0
(nodata) and one with -9999 bands as a single class.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import rasterio
import torch
from click.testing import CliRunner

import hsi
from hsi.classification import GanConfig, split_labels, train_classifier
from hsi.classification.pipeline import load_classifier
from hsi.cli.main import cli
from hsi.cube import Cube
from hsi.errors import DataError, ModelError
from tests.cube_edits import with_empty_bands, without_bands

#: The bands emptied (indices from 0: bands 31-33, 677-687 nm, of the 204).
EMPTY = [30, 31, 32]
#: A short fit: one discriminator, fixed window and CRF, 40 steps.
QUICK = GanConfig(epochs=1, min_steps=40, members=1, patch_select="fixed", crf_select="fixed")


@pytest.fixture(scope="module")
def sample():
    """The shipped Salinas-A sample (204 bands, 83×86), its labels, names, a 5-per-class split."""
    from hsi.data import sample_cube, sample_labels

    torch.set_num_threads(1)
    cube = sample_cube()
    cube = cube.with_data(np.asarray(cube.data, dtype=np.float32))
    labels, names = sample_labels()
    train, test = split_labels(labels, per_class=5, seed=0)
    return cube, names, train, test


def with_empty(cube: Cube, value: float) -> Cube:
    """``cube`` with the :data:`EMPTY` bands all ``value`` (its nodata when not NaN)."""
    return with_empty_bands(cube, EMPTY, value)


def without_empty(cube: Cube) -> Cube:
    """``cube`` without the :data:`EMPTY` bands (what the classifier should see)."""
    return without_bands(cube, EMPTY)


def train(cube: Cube, labels: np.ndarray, names: list[str], config: GanConfig = QUICK):
    return train_classifier(cube, labels, class_names=names, config=config, seed=0,
                            device="cpu", progress=False)


def oa(class_map: np.ndarray, test: np.ndarray) -> float:
    return float((class_map[test > 0] == test[test > 0]).mean())


@pytest.fixture(scope="module")
def reference(sample):
    """The classifier trained on the sample without the empty bands, and its class map."""
    cube, names, labels, _ = sample
    clf = train(without_empty(cube), labels, names)
    return clf, clf.predict(without_empty(cube))[0]


@pytest.fixture(scope="module")
def trained_empty(sample):
    """A classifier trained on the sample with the empty bands as NaN."""
    cube, names, labels, _ = sample
    return train(with_empty(cube, np.nan), labels, names)


@pytest.mark.parametrize("value", [np.nan, -9999.0])
def test_training_leaves_empty_bands_out(sample, reference, value, caplog):
    cube, names, labels, test = sample
    with caplog.at_level("WARNING"):
        clf = train(with_empty(cube, value), labels, names)
    notices = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(notices) == 1  # one line names the three bands
    assert "band(s) 31 (677.27 nm), 32 (686.53 nm), 33 (686.91 nm) have no valid pixel" \
        in notices[0]
    np.testing.assert_array_equal(clf.input_bands, np.setdiff1d(np.arange(204), EMPTY))
    assert clf.bands == 204 and clf.pca.bands == 201
    class_map, _ = clf.predict(with_empty(cube, value))
    _, ref_map = reference
    # the same model as on the cube without those bands: the same class map
    np.testing.assert_array_equal(class_map, ref_map)
    assert (class_map > 0).all()
    assert oa(class_map, test) == pytest.approx(oa(ref_map, test)) and oa(class_map, test) > 0.8


def test_a_model_reads_its_bands_of_any_scene(sample, reference, trained_empty):
    cube, _, _, _ = sample
    _, ref_map = reference
    # its bands have data in the full cube and in one with the bands as nodata: same map
    for scene in (cube, with_empty(cube, -9999.0)):
        class_map, _ = trained_empty.predict(scene)
        np.testing.assert_array_equal(class_map, ref_map)
    assert trained_empty.check_bands(with_empty(cube, np.nan)) is None


def test_save_and_load_keep_the_bands(sample, reference, trained_empty, tmp_path):
    cube, _, _, _ = sample
    path = trained_empty.save(tmp_path / "model.pt")
    meta = torch.load(path, weights_only=True)["meta"]
    assert meta["input_bands"] == [b for b in range(204) if b not in EMPTY]
    assert meta["bands"] == 204
    clf = load_classifier(path, device="cpu")
    np.testing.assert_array_equal(clf.input_bands, trained_empty.input_bands)
    assert clf.bands == 204
    assert "204 bands 390–2489 nm (201 with data used)" in repr(clf)
    np.testing.assert_array_equal(clf.predict(with_empty(cube, np.nan))[0], reference[1])
    tiled, _ = clf.predict(with_empty(cube, np.nan), tile=40)  # in tiles: as the reference's
    np.testing.assert_array_equal(tiled, reference[0].predict(without_empty(cube), tile=40)[0])


def test_malformed_band_record_is_refused(trained_empty, tmp_path):
    path = trained_empty.save(tmp_path / "model.pt")
    payload = torch.load(path, weights_only=True)
    payload["meta"]["input_bands"] = [*payload["meta"]["input_bands"][:-1], 300]
    torch.save(payload, path)
    with pytest.raises(ModelError, match=r"model\.pt: malformed classifier checkpoint "
                                         r"\(input_bands: expected 201 increasing"):
        load_classifier(path, device="cpu")


@pytest.fixture(scope="module")
def full_model(sample):
    """A classifier trained on every band of the sample."""
    cube, names, labels, _ = sample
    return train(cube, labels, names)


def test_an_old_checkpoint_reads_every_band(sample, full_model, tmp_path):
    cube, _, _, _ = sample
    path = full_model.save(tmp_path / "old.pt")
    payload = torch.load(path, weights_only=True)
    del payload["meta"]["input_bands"]  # saved before the record
    torch.save(payload, path)
    clf = load_classifier(path, device="cpu")
    assert clf.input_bands is None and clf.bands == 204
    np.testing.assert_array_equal(clf.predict(cube)[0], full_model.predict(cube)[0])
    # a band it reads is empty: refused, naming the cube and the bands (was: all 0)
    for value in (np.nan, -9999.0):
        scene = with_empty(cube, value).with_data(with_empty(cube, value).data, name="scene.tif")
        with pytest.raises(DataError, match=r"^scene\.tif: band\(s\) 31 \(677\.27 nm\), 32 "
                                            r"\(686\.53 nm\), 33 \(686\.91 nm\) have no valid "
                                            r"pixel \(all NaN or nodata\) and the model reads"):
            clf.predict(scene)
    # a scene without any band with data is all nodata, as before
    blank = cube.with_data(np.full(cube.shape, np.nan, np.float32))
    assert (clf.predict(blank)[0] == 0).all()


@pytest.fixture(scope="module")
def files(sample, full_model, tmp_path_factory):
    """The sample as GeoTIFFs (NaN bands, -9999 bands), the training labels, a full model."""
    cube, names, labels, _ = sample
    d = tmp_path_factory.mktemp("empty")
    paths = {"nan": hsi.save(with_empty(cube, np.nan), d / "nan.tif"),
             "nodata": hsi.save(with_empty(cube, -9999.0), d / "nodata.tif"),
             "full_model": full_model.save(d / "full.pt"), "dir": d}
    from hsi.io.labels import write_class_map

    write_class_map(d / "train.tif", labels.astype(np.uint8), crs=cube.crs,
                    transform=cube.transform, class_names=names)
    paths["train"] = d / "train.tif"
    return paths


def test_cli_trains_on_the_bands_with_data_and_predicts_with_them(sample, reference, files,
                                                                  monkeypatch, caplog):
    import hsi.classification.config as config_module

    # the command's training budget cut to a test's (one 40-step fit)
    monkeypatch.setattr(config_module, "GanConfig", functools.partial(
        GanConfig, min_steps=40, crf_select="fixed"))
    d = files["dir"]
    with caplog.at_level("WARNING"):
        res = CliRunner().invoke(cli, ["classify", "train", str(files["nodata"]),
                                       str(files["train"]), "-o", str(d / "m.pt"), "--epochs",
                                       "1", "--members", "1", "--patch-size", "1", "--seed", "0",
                                       "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert "the pixel alone, 201 of 204 bands) -> " in res.output
    notices = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert notices == [f"{files['nodata']}: band(s) 31 (677.27 nm), 32 (686.53 nm), 33 "
                       f"(686.91 nm) have no valid pixel (all NaN or nodata): left out of the "
                       f"classifier's features"]
    np.testing.assert_array_equal(load_classifier(d / "m.pt").input_bands,
                                  np.setdiff1d(np.arange(204), EMPTY))
    maps = []
    for scene in ("nan", "nodata"):
        out = d / f"map_{scene}.tif"
        res = CliRunner().invoke(cli, ["classify", "predict", str(files[scene]), "--model",
                                       str(d / "m.pt"), "-o", str(out), "--device", "cpu"])
        assert res.exit_code == 0, res.output
        assert "7138 pixels classified into 6 classes (0 nodata)" in res.output
        with rasterio.open(out) as src:
            maps.append(src.read(1))
    np.testing.assert_array_equal(maps[0], maps[1])
    # what the same fit gives in memory on the cube without those bands
    cube, names, labels, _ = sample
    same = GanConfig(epochs=1, min_steps=40, members=1, patch_size=1, patch_select="fixed",
                     crf_select="fixed")
    expected, _ = train(without_empty(cube), labels, names, same).predict(without_empty(cube))
    np.testing.assert_array_equal(maps[0], expected)


def test_cli_refuses_a_scene_whose_model_band_is_empty(files):
    out = files["dir"] / "refused.tif"
    res = CliRunner().invoke(cli, ["classify", "predict", str(files["nan"]), "--model",
                                   str(files["full_model"]), "-o", str(out), "--device", "cpu"])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert lines[-1] == (f"hsi: error: {files['nan']}: band(s) 31 (677.27 nm), 32 (686.53 nm), "
                         f"33 (686.91 nm) have no valid pixel (all NaN or nodata) and the model "
                         f"reads them: give a scene with data in them, or a model trained "
                         f"without them (on a scene where they are empty)")
    assert not out.exists()
