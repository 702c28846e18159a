"""An existing file is replaced only by an output of its own kind.

A text file named ``.tif`` or ``.pt``, or a model of another kind, given as an output is a typo
or a mix-up, not an old output: the command refuses before any work and the file is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from rasterio.windows import Window

import hsi
from hsi.checkpoint import save_checkpoint
from hsi.cli.main import cli
from hsi.cli.options import check_checkpoint_output
from hsi.errors import HsiIOError
from hsi.io.guard import check_outputs, replace_problem

NOTES = "field notes, not a raster\n"


@dataclass
class _Config:
    width: int = 2


@pytest.fixture(scope="module")
def salinas():
    """The Salinas-A sample shipped in the package (204 bands, 83×86)."""
    from hsi.data import sample_cube

    return sample_cube()


def _checkpoint(path, kind):
    return save_checkpoint(path, kind=kind, model=torch.nn.Linear(2, 2), config=_Config(),
                           meta={})


@pytest.mark.parametrize("name", ["out.tif", "out.mat", "out.hdr", "out.png", "model.pt"])
def test_a_file_that_is_not_what_its_name_says_is_not_replaced(tmp_path, name):
    path = tmp_path / name
    path.write_text(NOTES)
    assert replace_problem(path) is not None
    with pytest.raises(HsiIOError, match=r"exists and is not .*refusing to replace it"):
        check_outputs([path])
    assert path.read_text() == NOTES


def test_old_outputs_empty_files_and_new_names_may_be_written(salinas, tmp_path):
    old = hsi.save(salinas.crop(Window(0, 0, 4, 4)), tmp_path / "old.tif")
    empty = tmp_path / "empty.tif"
    empty.touch()
    model = _checkpoint(tmp_path / "m.pt", "infn")
    report = tmp_path / "report.json"
    report.write_text("{}")  # extensions without a magic number are not judged
    for path in (old, empty, model, report, tmp_path / "new.tif"):
        assert replace_problem(path) is None
    check_outputs([old, empty, model, report, tmp_path / "new.tif"])


def test_a_model_of_another_kind_is_not_replaced(tmp_path):
    path = _checkpoint(tmp_path / "classifier.pt", "gan_crf_classifier")
    with pytest.raises(HsiIOError, match=r"holds a classifier .* not an INFN fusion model: "
                                         r"refusing to replace it"):
        check_checkpoint_output(path, "hsi fuse --model", "infn")
    check_checkpoint_output(path, "hsi classify predict --model", "gan_crf_classifier")
    other = tmp_path / "someone_elses.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(HsiIOError, match=r"is not an INFN fusion model .*not an hsikit"):
        check_checkpoint_output(other, "hsi fuse --model", "infn")


def test_a_truncated_checkpoint_of_the_same_kind_may_be_rewritten(tmp_path):
    path = _checkpoint(tmp_path / "m.pt", "infn")
    path.write_bytes(path.read_bytes()[:200])  # as a killed copy leaves it
    check_checkpoint_output(path, "hsi fuse --model", "infn")


def test_fuse_keeps_a_text_file_named_as_its_output(salinas, tmp_path):
    ref = salinas.crop(Window(0, 0, 16, 16))
    lr = hsi.save(ref.crop(Window(0, 0, 4, 4)), tmp_path / "lr.tif")
    hr = hsi.save(ref, tmp_path / "hr.tif")
    out = tmp_path / "notes.tif"
    out.write_text(NOTES)
    result = CliRunner().invoke(cli, ["fuse", str(lr), str(hr), "--method", "bicubic", "-o",
                                      str(out)])
    assert result.exit_code != 0
    assert "notes.tif: exists and is not a TIFF file: refusing to replace it" in result.output
    assert out.read_text() == NOTES


@pytest.mark.parametrize("command", [
    ["classify", "train", "{cube}", "{labels}"],
    ["fusion", "train", "{cube}", "--ratio", "4", "--sensor", "sentinel2"],
])
def test_training_refuses_before_any_step_to_replace_what_it_cannot(salinas, tmp_path,
                                                                    monkeypatch, command):
    import hsi.classification.pipeline
    import hsi.fusion

    def no_training(*args, **kwargs):
        raise AssertionError("trained before the output was checked")

    monkeypatch.setattr(hsi.fusion, "train_infn", no_training)
    monkeypatch.setattr(hsi.classification.pipeline, "train_classifier", no_training)
    cube = hsi.save(salinas.crop(Window(0, 0, 16, 16)), tmp_path / "crop.tif")
    labels = Path(hsi.__file__).parent / "data" / "sample" / "salinas_a_labels.tif"
    args = [a.format(cube=cube, labels=labels) for a in command]
    notes = tmp_path / "notes.pt"
    notes.write_text(NOTES)
    result = CliRunner().invoke(cli, [*args, "-o", str(notes)])
    assert result.exit_code != 0
    assert "notes.pt: exists and is not a torch checkpoint: refusing" in result.output
    assert notes.read_text() == NOTES
