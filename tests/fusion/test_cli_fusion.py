"""``hsi fusion train`` through click's CliRunner."""

from __future__ import annotations

import torch
from click.testing import CliRunner
from rasterio.windows import Window

import hsi
from hsi.cli.main import cli


def test_train_and_resume(salinas, tmp_path):
    src = hsi.save(salinas.crop(Window(0, 0, 32, 32)), tmp_path / "crop.tif")
    out = tmp_path / "model.pt"
    args = ["fusion", "train", str(src), "-o", str(out), "--ratio", "4", "--sensor", "sentinel2",
            "--base", "bicubic", "--device", "cpu", "--max-minutes", "5"]
    result = CliRunner().invoke(cli, [*args, "--steps", "2"])
    assert result.exit_code == 0, result.output
    assert "INFN 204 HSI bands, 12 MSI bands (sentinel2), x4, 2 steps" in result.output
    assert torch.load(out, weights_only=True)["meta"]["train_state"]["step"] == 2
    result = CliRunner().invoke(cli, [*args, "--steps", "3", "--resume"])
    assert result.exit_code == 0, result.output
    assert torch.load(out, weights_only=True)["meta"]["train_state"]["step"] == 3


def test_batch_is_saved_and_kept_on_resume(salinas, tmp_path):
    src = hsi.save(salinas.crop(Window(0, 0, 32, 32)), tmp_path / "crop.tif")
    out = tmp_path / "model.pt"
    args = ["fusion", "train", str(src), "-o", str(out), "--ratio", "4", "--sensor", "sentinel2",
            "--device", "cpu"]
    result = CliRunner().invoke(cli, [*args, "--steps", "1", "--batch", "3"])
    assert result.exit_code == 0, result.output
    assert torch.load(out, weights_only=True)["config"]["batch"] == 3
    result = CliRunner().invoke(cli, [*args, "--steps", "2", "--resume", "--batch", "5"])
    assert result.exit_code == 2 and "keeps the batch it was started with" in result.output
    assert torch.load(out, weights_only=True)["config"]["batch"] == 3


def test_resume_keeps_the_sensor_psf_and_base(salinas, tmp_path):
    """Another sensor failed inside torch's load_state_dict (a traceback); another PSF or
    base image was taken silently and trained the same weights on another task."""
    src = hsi.save(salinas.crop(Window(0, 0, 32, 32)), tmp_path / "crop.tif")
    out = tmp_path / "model.pt"
    args = ["fusion", "train", str(src), "-o", str(out), "--ratio", "4", "--device", "cpu"]
    result = CliRunner().invoke(cli, [*args, "--sensor", "sentinel2", "--steps", "1",
                                      "--base", "bicubic"])
    assert result.exit_code == 0, result.output
    before = out.read_bytes()
    for extra, says in ((["--sensor", "landsat8"], "sensor is sentinel2 (12 MSI bands), not "
                                                   "landsat8 (7)"),
                        (["--sensor", "sentinel2", "--psf-sigma", "1"], "PSF σ is 2, not 1"),
                        (["--sensor", "sentinel2", "--base", "glp"],
                         "base image is bicubic, not glp")):
        result = CliRunner().invoke(cli, [*args, *extra, "--steps", "2", "--resume"])
        assert result.exit_code == 2, result.output
        assert "a resumed run keeps what it was started with" in result.output and says in \
            result.output
        assert "Traceback" not in result.output
        assert out.read_bytes() == before
    result = CliRunner().invoke(cli, [*args, "--sensor", "sentinel2", "--steps", "2",
                                      "--resume"])  # no --base: the checkpoint's (bicubic)
    assert result.exit_code == 0, result.output
    assert torch.load(out, weights_only=True)["config"]["base"] == "bicubic"


def test_resume_needs_the_checkpoint(salinas, tmp_path):
    src = hsi.save(salinas.crop(Window(0, 0, 16, 16)), tmp_path / "crop.tif")
    result = CliRunner().invoke(cli, ["fusion", "train", str(src), "-o", str(tmp_path / "no.pt"),
                                      "--ratio", "4", "--sensor", "sentinel2", "--resume"])
    assert result.exit_code == 2
    assert "does not exist: nothing to resume" in result.output


def test_ratio_is_required(tmp_path):
    result = CliRunner().invoke(cli, ["fusion", "train", __file__, "-o", str(tmp_path / "m.pt"),
                                      "--sensor", "sentinel2"])
    assert result.exit_code == 2 and "--ratio" in result.output


def test_unknown_sensor_is_one_line(salinas, tmp_path):
    src = hsi.save(salinas.crop(Window(0, 0, 16, 16)), tmp_path / "crop.tif")
    result = CliRunner().invoke(cli, ["fusion", "train", str(src), "-o", str(tmp_path / "m.pt"),
                                      "--ratio", "4", "--sensor", "nosuchsensor", "--steps", "1"])
    assert result.exit_code == 2
    assert result.output.startswith("hsi: error: ") and result.output.count("\n") == 1


def test_train_validates_on_a_held_out_cube(salinas, tmp_path):
    src = hsi.save(salinas.crop(Window(0, 0, 32, 32)), tmp_path / "crop.tif")
    val = hsi.save(salinas.crop(Window(40, 40, 32, 32)), tmp_path / "val.tif")
    out = tmp_path / "model.pt"
    result = CliRunner().invoke(cli, ["fusion", "train", str(src), "-o", str(out), "--ratio", "4",
                                      "--sensor", "sentinel2", "--base", "bicubic", "--device",
                                      "cpu", "--steps", "3", "--validate", str(val)])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("validation:"))
    record = torch.load(out, weights_only=True)["meta"]["validation"]
    assert record["scenes"] and ("residual kept" in line) == record["kept"]
    assert f"{record['psnr_model']:.2f} dB vs base {record['psnr_base']:.2f} dB" in line
    # a validation cube may not be the output
    result = CliRunner().invoke(cli, ["fusion", "train", str(src), "-o", str(val), "--ratio", "4",
                                      "--sensor", "sentinel2", "--steps", "1", "--validate",
                                      str(val)])
    assert result.exit_code != 0


def test_a_raster_name_for_the_checkpoint_is_refused_before_training(salinas, tmp_path,
                                                                     monkeypatch):
    import hsi.fusion

    def no_training(*args, **kwargs):
        raise AssertionError("trained before the output name was checked")

    monkeypatch.setattr(hsi.fusion, "train_infn", no_training)
    src = hsi.save(salinas.crop(Window(0, 0, 16, 16)), tmp_path / "crop.tif")
    out = tmp_path / "model.tif"
    result = CliRunner().invoke(cli, ["fusion", "train", str(src), "-o", str(out), "--ratio",
                                      "4", "--sensor", "sentinel2"])
    assert result.exit_code == 2, result.output
    assert "torch checkpoint, not a raster (.tif); name it .pt" in result.output
    assert not out.exists()


def test_a_validation_cube_that_is_also_a_training_cube_is_refused(salinas, tmp_path):
    src = hsi.save(salinas.crop(Window(0, 0, 16, 16)), tmp_path / "crop.tif")
    alias = tmp_path / "alias.tif"
    alias.symlink_to(src)
    result = CliRunner().invoke(cli, ["fusion", "train", str(src), "-o", str(tmp_path / "m.pt"),
                                      "--ratio", "4", "--sensor", "sentinel2", "--validate",
                                      str(alias)])
    assert result.exit_code == 2, result.output
    assert "is also a training cube" in result.output
    assert not (tmp_path / "m.pt").exists()
