"""Audit of the training commands: bad checkpoints, labels, wavelengths, outputs and Ctrl-C.

Small real data only: 24×32 crops of the shipped Salinas-A sample (VNIR bands, seen by the
Nikon D700), tiny INFN configs and a few steps.
"""

from __future__ import annotations

import copy
import logging
import os
import signal

import numpy as np
import pytest
import rasterio
import torch

import hsi
from hsi.errors import ModelError, WavelengthError

#: A small INFN that trains a step in a few milliseconds; checkpoints only at the end.
SMALL = dict(hidden=8, depth=1, patch=16, batch=2, base="bicubic", checkpoint_every=1000)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _labels_file(path, shape):
    """The sample's labels over the crop's grid, as a one-band uint8 GeoTIFF."""
    from hsi.data import sample_labels

    labels, _ = sample_labels()
    array = np.asarray(labels)[: shape[0], : shape[1]].astype(np.uint8)
    with rasterio.open(path, "w", driver="GTiff", count=1, height=array.shape[0],
                       width=array.shape[1], dtype="uint8") as dst:
        dst.write(array, 1)
    return path


def _train(cube, out=None, steps=2, **kw):
    from hsi.fusion import InfnConfig, train_infn

    return train_infn([cube], srf="nikon_d700", ratio=4, config=InfnConfig(**SMALL),
                      steps=steps, max_minutes=None, device="cpu", progress=False,
                      out_path=out, **kw)


def _edited(src, dst, edit):
    payload = torch.load(src, weights_only=True)
    payload = copy.deepcopy(payload)
    edit(payload)
    torch.save(payload, dst)
    return dst


@pytest.fixture
def infn_checkpoint(vnir_cube, tmp_path):
    """A 2-step INFN checkpoint of the VNIR crop (with its training state)."""
    out = tmp_path / "infn.pt"
    _train(vnir_cube[1], out)
    return out


def _fusion_resume(invoke, cube_path, out, *extra):
    return invoke("fusion", "train", cube_path, "-o", out, "--ratio", 4, "--sensor",
                  "nikon_d700", "--steps", 3, "--device", "cpu", "--resume", *extra)


# --- checkpoints --------------------------------------------------------------------------


def test_a_truncated_checkpoint_is_called_truncated(infn_checkpoint, tmp_path):
    from hsi.checkpoint import load_checkpoint

    cut = tmp_path / "cut.pt"
    cut.write_bytes(infn_checkpoint.read_bytes()[:3000])
    with pytest.raises(ModelError, match=r"cut\.pt: not a readable checkpoint \(the file is "
                                         r"truncated or corrupted"):
        load_checkpoint(cut, "infn")


def test_a_fusion_checkpoint_given_to_classify_predict_says_what_it_is(
        invoke, one_line_error, vnir_cube, infn_checkpoint, tmp_path):
    out = tmp_path / "map.tif"
    result = invoke("classify", "predict", vnir_cube[0], "--model", infn_checkpoint, "-o", out,
                    "--device", "cpu")
    line = one_line_error(result, "infn.pt", "INFN fusion model", "hsi fusion train",
                          "hsi classify train")
    assert "'infn' checkpoint" not in line  # not "is a 'infn' checkpoint"
    assert not out.exists()


@pytest.mark.parametrize("key", ["config", "meta"])
def test_resume_from_a_checkpoint_without_config_or_meta_is_one_line(
        key, invoke, one_line_error, vnir_cube, infn_checkpoint):
    _edited(infn_checkpoint, infn_checkpoint, lambda p: p.pop(key))
    before = infn_checkpoint.read_bytes()
    line = one_line_error(_fusion_resume(invoke, vnir_cube[0], infn_checkpoint), "infn.pt")
    assert f"'{key}' is missing" in line
    assert infn_checkpoint.read_bytes() == before  # never overwritten


def test_resume_with_a_damaged_optimizer_state_is_one_line(invoke, one_line_error, vnir_cube,
                                                           infn_checkpoint):
    _edited(infn_checkpoint, infn_checkpoint, lambda p: p["meta"]["train_state"].update(
        optimizer={"state": {}, "param_groups": []}))
    before = infn_checkpoint.read_bytes()
    line = one_line_error(_fusion_resume(invoke, vnir_cube[0], infn_checkpoint), "infn.pt")
    assert "training state cannot be resumed" in line
    assert infn_checkpoint.read_bytes() == before


def test_resume_with_a_step_that_is_not_a_number_is_one_line(invoke, one_line_error, vnir_cube,
                                                             infn_checkpoint):
    _edited(infn_checkpoint, infn_checkpoint,
            lambda p: p["meta"]["train_state"].update(step="x"))
    one_line_error(_fusion_resume(invoke, vnir_cube[0], infn_checkpoint), "infn.pt",
                   "training state cannot be resumed")


def test_resume_with_weights_that_do_not_fit_the_config_is_one_line(
        invoke, one_line_error, vnir_cube, infn_checkpoint):
    _edited(infn_checkpoint, infn_checkpoint, lambda p: p["config"].update(hidden=16))
    one_line_error(_fusion_resume(invoke, vnir_cube[0], infn_checkpoint), "infn.pt",
                   "weights do not fit", "size mismatch")


def test_a_config_value_of_the_wrong_type_is_named_once(tmp_path):
    from hsi.checkpoint import config_from_dict
    from hsi.classification.config import GanConfig

    with pytest.raises(ModelError) as info:
        config_from_dict(GanConfig, {"patch_size": "x"}, tmp_path / "m.pt")
    text = str(info.value)
    assert "GanConfig.patch_size is 'x', expected int" in text
    assert text.count("m.pt") == 1


def test_a_classifier_config_of_the_wrong_type_names_the_file_once(tmp_path, vnir_cube):
    from hsi.checkpoint import save_checkpoint
    from hsi.classification.config import GanConfig
    from hsi.classification.pipeline import CHECKPOINT_KIND, load_classifier

    path = tmp_path / "clf.pt"
    save_checkpoint(path, kind=CHECKPOINT_KIND, model=torch.nn.Linear(1, 1),
                    config=GanConfig(), meta={})
    _edited(path, path, lambda p: p["config"].update(patch_size="x"))
    with pytest.raises(ModelError) as info:
        load_classifier(path, device="cpu")
    assert str(info.value).count("clf.pt") == 1
    assert "GanConfig.patch_size" in str(info.value)


def test_unknown_and_missing_config_fields_are_told(caplog, tmp_path):
    import dataclasses

    from hsi.checkpoint import config_from_dict
    from hsi.classification.config import GanConfig

    values = dataclasses.asdict(GanConfig())
    values.pop("width")
    values["new_knob"] = 3  # from a newer hsikit
    with caplog.at_level(logging.WARNING, logger="hsi.checkpoint"):
        config = config_from_dict(GanConfig, values, tmp_path / "m.pt")
    assert config == GanConfig()
    text = caplog.text
    assert "new_knob unknown to this hsikit" in text
    assert "lacks field(s) width" in text


# --- INFN training: wavelengths ------------------------------------------------------------


def _shifted(cube, nm=30.0):
    return cube.with_data(np.asarray(cube.data), wavelengths=cube.wavelengths + nm)


def test_training_cubes_of_other_wavelengths_are_refused(vnir_cube):
    cube = vnir_cube[1]
    with pytest.raises(WavelengthError, match=r"differ in wavelengths.*30\.0 nm"):
        from hsi.fusion import InfnConfig, train_infn

        train_infn([cube, _shifted(cube)], srf="nikon_d700", ratio=4,
                   config=InfnConfig(**SMALL), steps=1, max_minutes=None, device="cpu",
                   progress=False)


def test_a_validation_cube_of_other_wavelengths_is_refused(vnir_cube, tmp_path):
    out = tmp_path / "m.pt"
    with pytest.raises(WavelengthError, match=r"validation cube.*30\.0 nm"):
        _train(vnir_cube[1], out, validation=[_shifted(vnir_cube[1])])
    assert not out.exists()


def test_resume_on_a_cube_of_other_wavelengths_is_refused(vnir_cube, infn_checkpoint):
    before = infn_checkpoint.read_bytes()
    with pytest.raises(ModelError, match=r"wavelengths differ from these by up to 30\.0 nm"):
        _train(_shifted(vnir_cube[1]), infn_checkpoint, steps=3, resume_from=infn_checkpoint)
    assert infn_checkpoint.read_bytes() == before


# --- INFN training: Ctrl-C -----------------------------------------------------------------


def test_ctrl_c_in_a_step_saves_that_step_and_resume_equals_a_straight_run(
        vnir_cube, tmp_path, monkeypatch, python_sigint):
    """SIGINT in the middle of step 3 (while its patches are drawn): the step ends, the
    checkpoint holds 3 steps (none was due before 1000), and resuming to 5 gives the weights
    of an uninterrupted 5-step run."""
    from hsi.fusion.train import PatchSampler

    cube, out = vnir_cube[1], tmp_path / "run.pt"
    real_batch = PatchSampler.batch
    calls = []

    def batch_then_ctrl_c(self, n):
        calls.append(n)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return real_batch(self, n)

    monkeypatch.setattr(PatchSampler, "batch", batch_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        _train(cube, out, steps=5)
    monkeypatch.setattr(PatchSampler, "batch", real_batch)
    assert torch.load(out, weights_only=True)["meta"]["train_state"]["step"] == 3
    resumed = _train(cube, out, steps=5, resume_from=out)
    straight = _train(cube, steps=5)
    for name, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=0, atol=1e-6)


def test_ctrl_c_in_fusion_train_tells_how_to_resume(invoke, vnir_cube, tmp_path, monkeypatch,
                                                    python_sigint):
    import hsi.fusion.train as training

    out = tmp_path / "run.pt"
    real = training.report_progress

    def report_then_ctrl_c(callback, done, total, desc):
        if done == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return real(callback, done, total, desc)

    monkeypatch.setattr(training, "report_progress", report_then_ctrl_c)
    args = ("fusion", "train", vnir_cube[0], "-o", out, "--ratio", 4, "--sensor", "nikon_d700",
            "--device", "cpu", "--base", "bicubic", "--batch", 2, "--steps", 50)
    result = invoke(*args)
    assert result.exit_code == 130, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].endswith("hsi: interrupted")
    assert f"{out}: saved at step 2 of 50; --resume continues from there" in result.stderr
    assert "Traceback" not in result.output
    monkeypatch.setattr(training, "report_progress", real)
    args = (*args[:-4], "--steps", 3, "--resume")
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert torch.load(out, weights_only=True)["meta"]["train_state"]["step"] == 3


# --- classify train / evaluate --------------------------------------------------------------


def test_a_window_larger_than_the_cube_is_refused_before_training(invoke, one_line_error,
                                                                  vnir_cube, tmp_path,
                                                                  monkeypatch):
    import hsi.classification.train as training

    def no_training(*args, **kwargs):
        raise AssertionError("training started with a window larger than the cube")

    monkeypatch.setattr(training, "train_networks", no_training)  # it would take minutes
    labels = _labels_file(tmp_path / "labels.tif", vnir_cube[1].shape[1:])
    out = tmp_path / "m.pt"
    result = invoke("classify", "train", vnir_cube[0], labels, "-o", out, "--patch-size", 25,
                    "--epochs", 1, "--members", 1, "--device", "cpu")
    one_line_error(result, "--patch-size", "25×25", "24×32", "up to 23")
    assert not out.exists()


def test_labels_only_on_nodata_pixels_name_the_label_file(invoke, one_line_error, vnir_cube,
                                                          tmp_path):
    cube = vnir_cube[1]
    blank = hsi.save(cube.with_data(np.full(cube.shape, np.nan, np.float32)),
                     tmp_path / "blank.tif")
    labels = _labels_file(tmp_path / "labels.tif", cube.shape[1:])
    out = tmp_path / "m.pt"
    result = invoke("classify", "train", blank, labels, "-o", out, "--patch-size", 1,
                    "--epochs", 1, "--members", 1, "--device", "cpu")
    line = one_line_error(result, "labels.tif", "no data")
    assert "hsi: error: labels:" not in line and "(class 1)" not in line
    assert not out.exists()


def _class_map(path, shape):
    from hsi.io.labels import write_class_map

    rng = np.random.default_rng(0)
    return write_class_map(path, rng.integers(1, 4, shape).astype(np.uint8), crs=None,
                           transform=None, class_names=["a", "b", "c"])


def test_evaluate_refuses_a_png_report_name(invoke, one_line_error, vnir_cube, tmp_path):
    shape = vnir_cube[1].shape[1:]
    labels = _labels_file(tmp_path / "labels.tif", shape)
    cmap = _class_map(tmp_path / "map.tif", shape)
    result = invoke("classify", "evaluate", cmap, labels, "-o", tmp_path / "report.png")
    one_line_error(result, "report.png", "name the report .md")
    assert not (tmp_path / "report.png").exists()


def test_evaluate_shape_mismatch_names_both_files(invoke, one_line_error, vnir_cube, tmp_path):
    labels = _labels_file(tmp_path / "labels.tif", (20, 32))
    cmap = _class_map(tmp_path / "map.tif", vnir_cube[1].shape[1:])
    one_line_error(invoke("classify", "evaluate", cmap, labels), "labels.tif", "map.tif",
                   "20×32", "24×32")


@pytest.mark.parametrize("command, says", [
    (["classify", "train"], "Classifier checkpoint to write (.pt)."),
    (["classify", "train"], "[default: 4, GanConfig.epochs]"),
    (["classify", "predict"], "Class map GeoTIFF to write (.tif)."),
    (["classify", "predict"], "uint16 for codes above 255"),
    (["classify", "split"], "spatial: whole blocks of the scene"),
    (["fuse"], "Fused HR-HSI GeoTIFF to write (.tif)."),
    (["fusion", "train"], "INFN checkpoint to write (.pt)"),
    (["simulate"], "sentinel2_l1c:-B10"),
])
def test_help_says_what_each_option_is(command, says):
    """``-o`` said only "Output file.", --epochs/--members "[default: the config's]", predict
    "a uint8 class map" (codes above 255 give uint16), split's --mode said nothing."""
    from click.testing import CliRunner

    from hsi.cli.main import cli

    result = CliRunner().invoke(cli, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert says in " ".join(result.output.split())


def test_predict_on_a_cube_without_data_says_the_map_is_empty(invoke, vnir_cube, tmp_path):
    """An all-NaN cube gave an all-0 class map, exit 0, without a word."""
    cube = vnir_cube[1]
    labels = _labels_file(tmp_path / "labels.tif", cube.shape[1:])
    model = tmp_path / "m.pt"
    trained = invoke("classify", "train", vnir_cube[0], labels, "-o", model, "--patch-size", 1,
                     "--epochs", 1, "--members", 1, "--device", "cpu")
    assert trained.exit_code == 0, trained.output
    blank = hsi.save(cube.with_data(np.full(cube.shape, np.nan, np.float32)),
                     tmp_path / "blank.tif")
    out = tmp_path / "map.tif"
    result = invoke("classify", "predict", blank, "--model", model, "-o", out, "--device", "cpu")
    assert result.exit_code == 0
    assert f"warning: no pixel of {blank} has data" in result.stderr


def test_resume_with_no_steps_left_says_so(invoke, vnir_cube, infn_checkpoint, caplog):
    """``--resume --steps 1`` on a 2-step run trained nothing, without a word."""
    with caplog.at_level("WARNING", logger="hsi.fusion"):
        result = invoke("fusion", "train", vnir_cube[0], "-o", infn_checkpoint, "--ratio", 4,
                        "--sensor", "nikon_d700", "--steps", 1, "--device", "cpu", "--resume",
                        "--base", "bicubic")
    assert result.exit_code == 0, result.output
    said = [r.getMessage() for r in caplog.records if "already made" in r.getMessage()]
    assert said and "already made 2 steps, steps=1 asks for no more" in said[0]
