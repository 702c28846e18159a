"""``hsi classify predict`` writes its class map, --probabilities and --uncertainty as one set.

Each file used to be renamed into place on its own: a rename that failed after another had
succeeded (an I/O error, a full disk at the last moment) left a new file beside the old ones
of an earlier run, e.g. the uncertainty of this scene beside the class map of the last. The
files are now committed by :func:`hsi.io.atomic.atomic_files`, which puts the earlier files
back when a rename fails: all the new files or none. The failure is injected by making
``os.replace`` fail once for one destination.
"""

from __future__ import annotations

import errno
import hashlib
import os

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

import hsi
import hsi.io.atomic as atomic
from hsi.cli.main import cli

#: ``os.replace`` itself, put back after a test made it fail.
_REAL_REPLACE = os.replace

#: Side of the crop of the shipped sample the tests classify.
SIDE = 16


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """Two 16×16 scenes (the crop and its mirror image) and a small classifier trained on the
    first: ``{"cube", "mirror", "model"}``."""
    import torch

    from hsi.classification import GanConfig, train_classifier
    from hsi.data import sample_cube

    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("predict_atomic")
    sample = sample_cube()
    crop = sample.with_data(np.ascontiguousarray(sample.data[:, 32:32 + SIDE, 48:48 + SIDE]))
    labels = np.zeros((SIDE, SIDE), np.int64)
    labels[:4], labels[-4:] = 1, 2
    clf = train_classifier(crop, labels, epochs=1, seed=0, device="cpu",
                           config=GanConfig(members=1, patch_size=1, patch_select="fixed",
                                            min_steps=20, crf_select="fixed"),
                           progress=False)
    model = d / "model.pt"
    clf.save(model)
    mirror = crop.with_data(np.ascontiguousarray(crop.data[:, :, ::-1]))
    return {"cube": hsi.save(crop, d / "scene.tif"), "mirror": hsi.save(mirror, d / "mirror.tif"),
            "model": model}


def _predict(scene, cube, out):
    """``hsi classify predict`` of ``cube`` into ``out``/map.tif, p.tif and u.tif."""
    return CliRunner().invoke(cli, [
        "classify", "predict", str(cube), "--model", str(scene["model"]), "-o",
        str(out / "map.tif"), "--probabilities", str(out / "p.tif"), "--uncertainty",
        str(out / "u.tif"), "--no-crf", "--device", "cpu"])


def _contents(folder) -> dict[str, str]:
    """Every file of ``folder`` (hidden temporaries too) by name: its sha256."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _fail_rename_onto(monkeypatch, dest) -> list:
    """Make the first ``os.replace`` onto ``dest`` fail (EIO), the others run; returns the
    list of the destinations of every ``os.replace`` called."""
    real, calls = os.replace, []

    def replace(src, dst, *args, **kwargs):
        calls.append(os.fspath(dst))
        if os.fspath(dst) == os.fspath(dest) and calls.count(os.fspath(dest)) == 1:
            raise OSError(errno.EIO, "Input/output error", os.fspath(src))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(atomic.os, "replace", replace)
    return calls


@pytest.mark.parametrize("failing", ["p.tif", "u.tif", "map.tif"])
def test_a_failed_rename_keeps_the_earlier_set_whole(scene, tmp_path, monkeypatch, failing):
    assert _predict(scene, scene["cube"], tmp_path).exit_code == 0  # an earlier run's set
    before = _contents(tmp_path)
    assert sorted(before) == ["map.tif", "p.tif", "u.tif"]
    calls = _fail_rename_onto(monkeypatch, tmp_path / failing)
    result = _predict(scene, scene["mirror"], tmp_path)  # another scene: other files
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines == [f"hsi: error: {tmp_path / failing}: write failed (Input/output error)"]
    assert str(tmp_path / failing) in calls
    # the earlier run's three files, as they were, and nothing else (no temporary left)
    assert _contents(tmp_path) == before


def test_a_failed_rename_of_a_new_set_leaves_no_file(scene, tmp_path, monkeypatch):
    _fail_rename_onto(monkeypatch, tmp_path / "map.tif")  # the last renamed: the class map
    result = _predict(scene, scene["cube"], tmp_path)
    assert result.exit_code == 2, result.output
    assert "map.tif: write failed" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no probabilities without their class map


def test_the_set_is_written_whole_when_nothing_fails(scene, tmp_path):
    assert _predict(scene, scene["cube"], tmp_path).exit_code == 0
    first = _contents(tmp_path)
    assert _predict(scene, scene["mirror"], tmp_path).exit_code == 0  # replaces the set
    second = _contents(tmp_path)
    assert sorted(second) == ["map.tif", "p.tif", "u.tif"]
    assert all(first[name] != second[name] for name in second)
    with rasterio.open(tmp_path / "map.tif") as a, rasterio.open(tmp_path / "p.tif") as b:
        np.testing.assert_array_equal(b.read().argmax(0) + 1, a.read(1))


def test_atomic_files_puts_back_what_earlier_renames_replaced(tmp_path, monkeypatch):
    dests = [tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"]
    dests[0].write_text("old a")
    dests[2].write_text("old c")  # b.txt is new
    _fail_rename_onto(monkeypatch, dests[2])
    with pytest.raises(atomic.HsiIOError, match=r"c\.txt: write failed \(Input/output error\)"):
        with atomic.atomic_files(dests) as tmps:
            for tmp, text in zip(tmps, "abc", strict=True):
                tmp.write_text(f"new {text}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "c.txt"]
    assert [dests[0].read_text(), dests[2].read_text()] == ["old a", "old c"]


def test_the_demo_writes_its_class_map_and_report_together(monkeypatch, tmp_path):
    """``demo_classification``'s class map and report are one set too: a report whose rename
    fails leaves no class map without it."""
    import torch

    import hsi.classification.pipeline as pipeline
    from hsi.classification import GanConfig, demo_classification
    from hsi.classification.pipeline import DEMO_CLASSIFICATION_FILES

    torch.set_num_threads(1)
    real = pipeline.train_classifier

    def tiny(*args, **kwargs):  # the demo's training, a few seconds long
        return real(*args, **kwargs, config=GanConfig(members=1, patch_size=1, min_steps=20,
                                                      patch_select="fixed", crf_select="fixed"))

    monkeypatch.setattr(pipeline, "train_classifier", tiny)
    map_name, report_name = DEMO_CLASSIFICATION_FILES
    _fail_rename_onto(monkeypatch, tmp_path / report_name)
    with pytest.raises(hsi.errors.HsiIOError, match=report_name):
        demo_classification(tmp_path, epochs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    monkeypatch.setattr(atomic.os, "replace", _REAL_REPLACE)  # renames work again
    done = demo_classification(tmp_path, epochs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(DEMO_CLASSIFICATION_FILES)
    assert done["class_map"] == str(tmp_path / map_name)
