"""``hsi demo -o FOLDER`` never overwrites a file it did not write (the .hsi-demo marker)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from hsi.cli import demo as demo_module
from hsi.cli.demo import DEMO_MARKER, check_demo_folder, demo_output_names, run_demo
from hsi.errors import HsiIOError
from tests.cli_checks import one_error_line


def fake_steps(monkeypatch) -> None:
    """The demo made fast: a 40×40 crop of the sample (all six classes), two instant fusion
    "methods", constant scores and a classifier that predicts nothing; every file is still
    written by the demo's own code."""
    from rasterio.windows import Window

    import hsi.classification.pipeline as pipeline
    import hsi.data
    import hsi.metrics

    cube = hsi.data.sample_cube().crop(Window(20, 20, 40, 40))
    labels, names = hsi.data.sample_labels()

    class Untrained:
        def predict(self, cube, use_crf=True):
            return np.zeros((cube.height, cube.width), np.uint8), None

    monkeypatch.setattr(hsi.data, "sample_cube", lambda: cube)
    monkeypatch.setattr(hsi.data, "sample_labels", lambda: (labels[20:60, 20:60], names))
    monkeypatch.setattr(demo_module, "demo_methods",
                        lambda: [("auto", lambda s: s.reference), ("glp", lambda s: s.reference)])
    monkeypatch.setattr(pipeline, "train_classifier", lambda *a, **k: Untrained())
    monkeypatch.setattr(hsi.metrics, "fusion_metrics", lambda *a: dict.fromkeys(
        ("psnr", "ssim", "sam", "ergas", "q2n"), 0.0))


def no_slow_steps(monkeypatch) -> None:
    """Make any demo work past the folder check fail loudly."""
    import hsi.data

    def slow(*args, **kwargs):
        raise AssertionError("the demo started working before refusing its folder")

    monkeypatch.setattr(demo_module, "DEMO_STEPS", [("slow", slow)])
    monkeypatch.setattr(hsi.data, "sample_cube", slow)
    monkeypatch.setattr(hsi.data, "sample_labels", slow)
    monkeypatch.setattr("hsi.device.seed_everything", slow)


def test_output_names_are_what_the_demo_writes(tmp_path, monkeypatch):
    fake_steps(monkeypatch)
    state = run_demo(tmp_path / "out", device="cpu")
    written = {p.name for p in state.out.iterdir()} - {DEMO_MARKER}
    assert written == set(demo_output_names())
    assert {p.name for p in state.files.values()} == written
    assert (state.out / DEMO_MARKER).is_file()


@pytest.mark.parametrize("layout", ["missing", "empty", "unrelated", "marked"])
def test_folders_the_demo_may_write(tmp_path, layout):
    folder = tmp_path / "out"
    if layout != "missing":
        folder.mkdir()
    if layout == "unrelated":
        (folder / "notes.txt").write_text("mine")
        (folder / "reference.tif.bak").write_text("mine")
    if layout == "marked":  # the demo's own folder: its files are overwritten on a rerun
        (folder / DEMO_MARKER).write_text("")
        for name in demo_output_names():
            (folder / name).write_text("last run")
    check_demo_folder(folder)


@pytest.mark.parametrize("clash", ["reference.tif", "fused_glp.tif", "metrics.csv",
                                   "classification_report.md"])
def test_a_foreign_file_of_a_demo_name_is_refused(tmp_path, clash):
    (tmp_path / clash).write_text("user data")
    with pytest.raises(HsiIOError, match="was not written by hsi demo") as err:
        check_demo_folder(tmp_path)
    assert str(err.value).startswith(f"{tmp_path / clash}: ")
    assert "choose another output folder" in str(err.value)


def test_the_first_clashing_file_is_named(tmp_path):
    for name in ("metrics.csv", "hr_msi.tif"):
        (tmp_path / name).write_text("user data")
    (tmp_path / "reference.tif").symlink_to(tmp_path / "nowhere.tif")  # a dangling link too
    with pytest.raises(HsiIOError, match=r"/reference\.tif: exists"):
        check_demo_folder(tmp_path)


def test_cli_refuses_before_any_work_and_writes_nothing(tmp_path, monkeypatch):
    from hsi.cli.main import cli

    no_slow_steps(monkeypatch)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    (folder / "lr_hsi.tif").write_text("user data")
    r = CliRunner().invoke(cli, ["demo", "-o", str(folder), "--device", "cpu"])
    line = one_error_line(r, str(folder / "lr_hsi.tif"), "hsi demo", "another output folder")
    assert "Traceback" not in line
    assert sorted(p.name for p in folder.iterdir()) == ["lr_hsi.tif", "notes.txt"]
    assert (folder / "lr_hsi.tif").read_text() == "user data"


def test_a_marked_folder_is_rerun_and_an_unrelated_one_gets_marked(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_module, "DEMO_STEPS", [])
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    run_demo(folder, device="cpu")
    assert (folder / DEMO_MARKER).is_file()
    (folder / "reference.tif").write_text("last run")  # as if the demo had written it
    run_demo(folder, device="cpu")  # its own folder: no refusal
    assert (folder / "notes.txt").read_text() == "keep"


def test_a_folder_from_a_demo_before_markers_is_taken(tmp_path):
    """``demo-out`` left by an earlier hsikit (no marker): its scores table starts with the
    demo's header and its simulated pair is there, so `make demo` reruns into it; the same
    names with a foreign metrics.csv are still refused."""
    from hsi.cli.demo import METRICS_HEADER
    from hsi.simulate import SIMULATION_FILES

    for name in SIMULATION_FILES:
        (tmp_path / name).write_text("an earlier demo's output")
    (tmp_path / "metrics.csv").write_text(METRICS_HEADER + "\nglp,59.1,1,0.3,2.3,0.97,0.1\n")
    check_demo_folder(tmp_path)
    (tmp_path / "metrics.csv").write_text("site,area\nnorth,12\n")
    with pytest.raises(HsiIOError, match="was not written by hsi demo"):
        check_demo_folder(tmp_path)
