"""What an analyst batch-processing scenes runs into: hand-written manifests (blank lines, an
unquoted comma, a NUL byte), folder manifests of dotted names, a done-record's temporary left
by ``kill -9``, options changed between runs, bad counts from Python."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from hsi.batch import LOCK_NAME, read_cube_manifest, read_manifest, run_batch
from hsi.cli.main import cli
from hsi.errors import ConfigError, FormatError, HsiIOError
from tests.cli_checks import one_error_line


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


# ------------------------------------------------------------------------------ manifests
def test_blank_lines_before_the_header_are_skipped(scenes_dir, tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text(f"\n\n  \nname,lr_hsi,hr_msi\n\nnorth,{scenes_dir / 'north_lr.tif'},"
                   f"{scenes_dir / 'north_hr.tif'}\n\n,,\n")
    assert [s.name for s in read_manifest(csv)] == ["north"]


@pytest.mark.parametrize("row", ['north,x,y/n lr.tif,n hr.tif', 'north,a.tif,b.tif,"x"'])
def test_a_row_with_more_fields_than_columns_names_the_line(tmp_path, row):
    """An unquoted comma in a path: one FormatError naming the line (was an AttributeError)."""
    csv = tmp_path / "m.csv"
    csv.write_text(f"name,lr_hsi,hr_msi\n\n{row}\n")
    with pytest.raises(FormatError, match=r"m\.csv:3: 4 fields for the 3 columns .*quote"):
        read_manifest(csv)


def test_unquoted_comma_is_one_error_line_on_the_command_line(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("name,lr_hsi,hr_msi\nnorth,x,y/n lr.tif,n hr.tif\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["fuse-batch", str(csv), "-o", str(out), "--method",
                                      "glp", "--workers", "1"])
    one_error_line(result, "m.csv:2", "4 fields")
    assert not out.exists()


def test_trailing_empty_fields_are_accepted(scenes_dir, tmp_path):
    """Spreadsheets write ``a,b,c,`` rows: the empty extra field is no scene data."""
    csv = tmp_path / "m.csv"
    csv.write_text(f"name,lr_hsi,hr_msi\nnorth,{scenes_dir / 'north_lr.tif'},"
                   f"{scenes_dir / 'north_hr.tif'},\n")
    assert [s.name for s in read_manifest(csv)] == ["north"]


def test_paths_with_spaces_and_quoted_commas_relative_to_the_csv(scenes_dir, tmp_path):
    folder = tmp_path / "my scenes" / "a,b"
    folder.mkdir(parents=True)
    shutil.copy(scenes_dir / "north_lr.tif", folder / "n lr,1.tif")
    shutil.copy(scenes_dir / "north_hr.tif", folder / "n hr.tif")
    csv = tmp_path / "my scenes" / "m.csv"
    csv.write_text('name,lr_hsi,hr_msi\nnorth,"a,b/n lr,1.tif","a,b/n hr.tif"\n')
    (scene,) = read_manifest(csv)
    assert scene.lr_hsi == folder / "n lr,1.tif" and scene.hr_msi == folder / "n hr.tif"


@pytest.mark.parametrize("text, message", [
    ("name,lr_hsi,hr_msi\nnorth,a.tif,b.tif\x00\n", r"m\.csv:2: .*NUL byte"),
    ('name,lr_hsi,hr_msi\nnorth,"a.tif,b.tif\n', r"m\.csv:\d: manifest is not a valid CSV"),
    ("", r"missing columns .*got none: the file is empty"),
])
def test_malformed_csv_is_a_format_error(tmp_path, text, message):
    csv = tmp_path / "m.csv"
    csv.write_text(text)
    with pytest.raises(FormatError, match=message):
        read_manifest(csv)


def test_folder_of_pairs_with_dotted_scene_names(scenes_dir, tmp_path):
    """``site.2020_lr.tif`` is scene ``site.2020`` (a dotted name is a valid scene name);
    these files were ignored and the folder read as holding no scenes."""
    for year, crop in (("2020", "north"), ("2021", "east")):
        for role in ("lr", "hr"):
            shutil.copy(scenes_dir / f"{crop}_{role}.tif", tmp_path / f"site.{year}_{role}.tif")
    (tmp_path / "site.2020_lr.tif.aux.xml").write_text("<PAMDataset/>")
    scenes = read_manifest(tmp_path)
    assert [s.name for s in scenes] == ["site.2020", "site.2021"]
    assert scenes[1].lr_hsi == (tmp_path / "site.2021_lr.tif").resolve()


def test_folder_of_cubes_with_dotted_names(scenes_dir, tmp_path):
    """Two cubes ``site.2020.tif`` and ``site.2021.tif`` are two scenes, not one (the second
    was silently dropped as another file of scene ``site``)."""
    for year in ("2020", "2021"):
        shutil.copy(scenes_dir / "north_lr.tif", tmp_path / f"site.{year}.tif")
    (tmp_path / "plain.hdr").write_text("ENVI\n")
    (tmp_path / "plain.img").write_bytes(b"")
    scenes = read_cube_manifest(tmp_path)
    assert [s.name for s in scenes] == ["plain", "site.2020", "site.2021"]
    assert scenes[0].cube.name == "plain.hdr"


# ------------------------------------------------------------------------- resume records
def test_done_record_temporary_left_by_a_kill_is_removed(scenes_dir, tmp_path, client):
    """kill -9 while a worker writes a done-record leaves ``.NAME.tif.done.json.PID…part``;
    the next run removes it like the output's own temporaries."""
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"name,lr_hsi,hr_msi\nnorth,{scenes_dir / 'north_lr.tif'},"
                        f"{scenes_dir / 'north_hr.tif'}\n")
    out = tmp_path / "out"
    assert run_batch(manifest, out, method="glp", client=client, progress=False).done == \
        ["north"]
    stale = out / f".north.tif.done.json.{_dead_pid()}.k2j3h4.json.part"
    stale.write_text('{"name": "nor')
    again = run_batch(manifest, out, method="glp", client=client, progress=False)
    assert again.skipped == ["north"]
    assert not stale.exists()
    assert sorted(p.name for p in out.iterdir()) == [
        LOCK_NAME, "batch-report.json", "north.tif", "north.tif.done.json"]


def test_a_ratio_given_then_left_out_redoes_the_scene(scenes_dir, tmp_path, client):
    """Options changed between runs redo the scene both ways: a record made with ratio=4 does
    not match a run without it (it was skipped), nor the reverse."""
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"name,lr_hsi,hr_msi\nnorth,{scenes_dir / 'north_lr.tif'},"
                        f"{scenes_dir / 'north_hr.tif'}\n")
    out = tmp_path / "out"
    run = dict(method="glp", client=client, progress=False)
    assert run_batch(manifest, out, ratio=4, **run).done == ["north"]
    assert json.loads((out / "north.tif.done.json").read_text())["ratio"] == 4
    assert run_batch(manifest, out, **run).done == ["north"]
    assert json.loads((out / "north.tif.done.json").read_text())["ratio"] is None
    assert run_batch(manifest, out, **run).skipped == ["north"]
    assert run_batch(manifest, out, ratio=4, **run).done == ["north"]


def test_a_record_from_before_the_ratio_option_still_matches(scenes_dir, tmp_path, client):
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"name,lr_hsi,hr_msi\nnorth,{scenes_dir / 'north_lr.tif'},"
                        f"{scenes_dir / 'north_hr.tif'}\n")
    out = tmp_path / "out"
    run_batch(manifest, out, method="glp", client=client, progress=False)
    path = out / "north.tif.done.json"
    record = json.loads(path.read_text())
    del record["ratio"]
    path.write_text(json.dumps(record))
    assert run_batch(manifest, out, method="glp", client=client,
                     progress=False).skipped == ["north"]


@pytest.mark.parametrize("text", ["null", "[]", '"done"'])
def test_a_done_record_that_is_not_an_object_redoes_the_scene(scenes_dir, tmp_path, client,
                                                              text):
    """A hand-edited or damaged record of valid JSON but no object: redone (was a traceback)."""
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"name,lr_hsi,hr_msi\nnorth,{scenes_dir / 'north_lr.tif'},"
                        f"{scenes_dir / 'north_hr.tif'}\n")
    out = tmp_path / "out"
    run_batch(manifest, out, method="glp", client=client, progress=False)
    (out / "north.tif.done.json").write_text(text)
    again = run_batch(manifest, out, method="glp", client=client, progress=False)
    assert again.done == ["north"]
    assert json.loads((out / "north.tif.done.json").read_text())["name"] == "north"


def _north_manifest(scenes_dir, tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"name,lr_hsi,hr_msi\nnorth,{scenes_dir / 'north_lr.tif'},"
                        f"{scenes_dir / 'north_hr.tif'}\n")
    return manifest


def test_a_file_not_written_by_a_batch_is_never_overwritten(scenes_dir, tmp_path, no_cluster):
    """``OUT/north.tif`` without a done-record is the user's (here a copy of an input): the
    batch refuses before starting a cluster, and the file keeps its bytes (it was replaced)."""
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "north.tif"
    shutil.copy(scenes_dir / "north_hr.tif", mine)
    before = mine.read_bytes()
    with pytest.raises(HsiIOError, match=r"north\.tif: exists and was not written by a batch "
                                         r"\(no north\.tif\.done\.json"):
        run_batch(_north_manifest(scenes_dir, tmp_path), out, method="glp", progress=False)
    assert mine.read_bytes() == before
    assert not (out / "north.tif.done.json").exists() and not (out / "batch-report.json").exists()


def test_the_refusal_is_one_line_on_the_command_line(scenes_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    args = ["fuse-batch", str(_north_manifest(scenes_dir, tmp_path)), "-o", str(out),
            "--method", "glp", "--workers", "1"]
    foreign = next(scenes_dir.glob("*.tif")).read_bytes()  # someone's GeoTIFF, no record
    (out / "north.tif").write_bytes(foreign)
    one_error_line(CliRunner().invoke(cli, args), "north.tif", "not written by a batch")
    assert (out / "north.tif").read_bytes() == foreign
    (out / "north.tif").write_bytes(b"my notes")  # not even a TIFF: the output guard says so
    one_error_line(CliRunner().invoke(cli, args), "north.tif", "exists and is not a TIFF file")
    assert (out / "north.tif").read_bytes() == b"my notes"


def test_an_output_left_with_its_claim_is_redone(scenes_dir, tmp_path, client):
    """A run killed after writing ``north.tif`` but before its done-record leaves the claim
    written before the scene started: the next run knows the file is its own and redoes it."""
    manifest = _north_manifest(scenes_dir, tmp_path)
    out = tmp_path / "out"
    assert run_batch(manifest, out, method="glp", client=client, progress=False).done == \
        ["north"]
    record = out / "north.tif.done.json"
    record.write_text('{"name": "north", "status": "claimed"}')  # as the kill left it
    again = run_batch(manifest, out, method="glp", client=client, progress=False)
    assert again.done == ["north"] and json.loads(record.read_text())["output"] == "north.tif"
    record.unlink()  # no record at all: not the batch's file any more
    with pytest.raises(HsiIOError, match="not written by a batch"):
        run_batch(manifest, out, method="glp", client=client, progress=False)


def test_a_scene_is_claimed_before_it_runs(scenes_dir, tmp_path, monkeypatch):
    """The claim exists while the scene runs (what makes a kill at any point resumable)."""
    import hsi.batch as batch

    seen = {}

    def fake_cluster(todo, out, *args, **kwargs):
        seen.update(json.loads((out / "north.tif.done.json").read_text()))
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "_run_on_cluster", fake_cluster)
    with pytest.raises(KeyboardInterrupt):
        run_batch(_north_manifest(scenes_dir, tmp_path), tmp_path / "out", method="glp",
                  progress=False)
    assert seen["status"] == "claimed" and seen["name"] == "north"


# --------------------------------------------------------------------------- from Python
@pytest.fixture
def no_cluster(monkeypatch):
    import distributed

    def refuse(*args, **kwargs):
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(distributed, "LocalCluster", refuse)
    monkeypatch.setattr(distributed, "Client", refuse)


@pytest.mark.parametrize("kwargs, message", [
    ({"workers": 0}, r"workers=0: .*at least 1"),
    ({"workers": -2}, r"workers=-2: "),
    ({"workers": 1.5}, r"workers=1\.5: "),
    ({"retries": -1}, r"retries=-1: .*0 or more"),
])
def test_bad_worker_and_retry_counts_are_refused_before_anything(scenes_dir, tmp_path,
                                                                 no_cluster, kwargs, message):
    """The CLI's ranges (--workers >= 1, --retries >= 0) hold from Python too: workers=0 ran
    a cluster of one worker per CPU, retries=-1 went to Dask as is."""
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=message):
        run_batch(scenes_dir / "manifest.csv", out, method="glp", progress=False, **kwargs)
    assert not out.exists()


def test_the_summary_table_gives_reasons_in_command_line_words():
    from hsi.batch import BatchReport, SceneResult
    from hsi.cli.fuse_batch import report_table

    reason = ("no shipped INFN checkpoint matches 5 HSI bands: give model=PATH, use "
              "fit_scene=True, or method='glp'")
    report = BatchReport([SceneResult("north", "failed", reason=reason)], out_dir="out")
    line = report_table(report).splitlines()[1]
    assert "--fit-scene" in line and "--method glp" in line and "fit_scene=True" not in line
