"""The warnings of each scene of a batch: kept in its done-record, the report and the CLI output.

A real batch of two Salinas-A crops on an in-process cluster (one worker, tasks in a thread of
this process, reached over TCP like a ``--scheduler``): one LR-HSI has an empty band, so
:mod:`hsi.fusion` warns while that scene runs; the other is clean.
"""

from __future__ import annotations

import json
import logging
import threading

import numpy as np
import pytest
from click.testing import CliRunner

from hsi.batch import BatchReport, SceneResult, _captured_warnings, run_batch
from hsi.cli.main import cli

#: (row, col) of the 32×32 HR crops cut from Salinas-A (83×86).
CROPS = {"holed": (0, 0), "clean": (48, 20)}
#: The LR-HSI band of scene "holed" set to NaN everywhere.
EMPTY_BAND = 101


@pytest.fixture(scope="module")
def manifest(tmp_path_factory, write_scenes):
    """``manifest.csv`` of two pairs (x4, Sentinel-2); ``holed``'s LR-HSI has an empty band."""

    def hole(name, lr):
        if name != "holed":
            return lr
        data = np.array(lr.data, dtype=np.float32)
        data[EMPTY_BAND] = np.nan
        return lr.with_data(data)

    return write_scenes(tmp_path_factory.mktemp("warned_scenes"), CROPS, hole) / "manifest.csv"


@pytest.fixture(scope="module")
def client():
    """An in-process LocalCluster (one worker thread) with a TCP address for ``--scheduler``."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as c:
        yield c


def _empty_band_warning(lines: list[str]) -> list[str]:
    return [w for w in lines if "have no valid pixel" in w and "holed_lr.tif" in w]


def test_warnings_reach_the_record_the_report_and_the_cli_and_survive_a_resume(
        manifest, tmp_path, client):
    out = tmp_path / "out"
    args = ["fuse-batch", str(manifest), "-o", str(out), "--method", "glp", "--scheduler",
            client.scheduler.address]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output

    saved = json.loads((out / "batch-report.json").read_text())
    by_name = {s["name"]: s for s in saved["scenes"]}
    assert [s["status"] for s in saved["scenes"]] == ["done", "done"]
    warned = _empty_band_warning(by_name["holed"]["warnings"])
    assert len(warned) == 1 and by_name["holed"]["warnings"] == warned  # once, and only it
    assert f"band(s) {EMPTY_BAND + 1} " in warned[0] and "\n" not in warned[0]
    assert by_name["clean"]["warnings"] == []
    record = json.loads((out / "holed.tif.done.json").read_text())
    assert record["warnings"] == warned
    assert json.loads((out / "clean.tif.done.json").read_text())["warnings"] == []

    # the table notes the count, the lines follow it with the scene's name
    rows = {ln.split()[0]: ln for ln in result.stdout.splitlines()[1:3]}
    assert rows["holed"].endswith(" (1 warning)") and rows["clean"].endswith("clean.tif")
    assert f"  holed: {warned[0]}" in result.stdout.splitlines()
    assert "clean: " not in result.stdout

    # the second run skips both scenes and reports the warnings their records keep
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    resumed = json.loads((out / "batch-report.json").read_text())
    assert [s["status"] for s in resumed["scenes"]] == ["skipped", "skipped"]
    assert [s["warnings"] for s in resumed["scenes"]] == [warned, []]
    assert f"  holed: {warned[0]}" in again.stdout.splitlines()

    # from Python too
    report = run_batch(manifest, out, method="glp", client=client, progress=False)
    assert report.skipped == ["holed", "clean"]
    assert report.warning_lines() == [f"holed: {warned[0]}"]


def test_a_record_without_warnings_reads_as_none(manifest, tmp_path, client):
    """A done-record written before warnings were kept still matches, with no warnings."""
    out = tmp_path / "out"
    run_batch(manifest, out, method="glp", client=client, progress=False)
    path = out / "holed.tif.done.json"
    record = json.loads(path.read_text())
    del record["warnings"]
    path.write_text(json.dumps(record))
    report = run_batch(manifest, out, method="glp", client=client, progress=False)
    assert report.skipped == ["holed", "clean"]
    assert [s.warnings for s in report.scenes] == [[], []]


def test_only_the_task_threads_warnings_are_captured():
    """A warning another thread logs meanwhile (another task of the worker) is not this
    scene's; a repeated one is kept once; the handler is gone after the block."""
    log = logging.getLogger("hsi.fusion")
    before = list(logging.getLogger("hsi").handlers)
    other = threading.Thread(target=log.warning, args=("from another task",))
    with _captured_warnings() as said:
        log.warning("band(s) %d have no valid pixel", 7)
        other.start()
        other.join()
        log.info("not a warning")
        log.warning("band(s) %d have no valid pixel", 7)
        logging.getLogger("rasterio").warning("not an hsi logger")
        log.error("two\nlines")
    assert said == ["band(s) 7 have no valid pixel", "two lines"]
    assert logging.getLogger("hsi").handlers == before


def test_the_table_counts_the_warnings():
    report = BatchReport([SceneResult("a", "done", output="out/a.tif", warnings=["x", "y"]),
                          SceneResult("b", "skipped", "done-record matches", "out/b.tif",
                                      warnings=["z"]),
                          SceneResult("c", "done", output="out/c.tif")], out_dir="out")
    lines = report.table().splitlines()
    assert lines[1].endswith("out/a.tif (2 warnings)")
    assert lines[2].endswith("done-record matches (1 warning)")
    assert lines[3].endswith("out/c.tif")
    assert report.warning_lines() == ["a: x", "a: y", "b: z"]
    assert report.to_dict()["scenes"][2]["warnings"] == []


def test_a_failed_scene_keeps_the_warnings_given_before_it_failed(manifest, tmp_path, client,
                                                                  monkeypatch):
    """Scene ``holed`` warns (its empty band, the real fusion's warning), then fails: its
    report entry keeps the warning, and the CLI prints it under the table like the others."""
    import hsi.fusion.scene
    from hsi.errors import HsiIOError

    real = hsi.fusion.scene.fuse_files
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    def fuse_then_fail(lr_hsi, hr_msi, out_path, **kw):
        """The real fusion (its warnings), then a write that fails, for scene "holed"."""
        if "holed" not in str(out_path):
            return real(lr_hsi, hr_msi, out_path, **kw)
        real(lr_hsi, hr_msi, scratch / "holed.tif", **kw)
        raise HsiIOError(f"{out_path}: cannot write (no space left on device)")

    # the in-process cluster runs its tasks in this process: they see the patched function
    monkeypatch.setattr(hsi.fusion.scene, "fuse_files", fuse_then_fail)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["fuse-batch", str(manifest), "-o", str(out), "--method",
                                      "glp", "--scheduler", client.scheduler.address])
    assert result.exit_code == 1, result.output

    saved = json.loads((out / "batch-report.json").read_text())
    by_name = {s["name"]: s for s in saved["scenes"]}
    assert by_name["holed"]["status"] == "failed"
    assert by_name["holed"]["reason"].startswith("HsiIOError: ")
    assert by_name["holed"]["reason"].endswith("no space left on device)")
    warned = _empty_band_warning(by_name["holed"]["warnings"])
    assert len(warned) == 1 and by_name["holed"]["warnings"] == warned
    assert by_name["clean"] == {**by_name["clean"], "status": "done", "warnings": []}
    assert not (out / "holed.tif.done.json").exists()  # no record for a failed scene

    rows = {ln.split()[0]: ln for ln in result.stdout.splitlines()[1:3]}
    assert rows["holed"].endswith("no space left on device) (1 warning)")
    assert f"  holed: {warned[0]}" in result.stdout.splitlines()


class _Unpicklable(RuntimeError):
    """An error distributed cannot pickle (a lambda attribute): it would reach the client as
    ``Exception(repr)``, without anything attached to it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.hook = lambda: None


def test_the_failure_carries_its_warnings_whatever_the_error(tmp_path):
    """The task's error reaches the client as a SceneFailure that distributed can send
    (its own error message round trip): the original error in one line and the warnings given
    before it."""
    from distributed.core import clean_exception, error_message

    from hsi.batch import CubeScene, SceneFailure, _failed_result, _scene_task

    cube = tmp_path / "a.tif"
    cube.write_bytes(b"not read")

    def make(output):
        logging.getLogger("hsi.bands").warning("band(s) %d have no valid pixel", 3)
        raise _Unpicklable("two\nlines")

    try:
        _scene_task(CubeScene("a", cube), str(tmp_path), {"job": "test"}, make)
    except SceneFailure as exc:
        sent = error_message(exc)  # what a worker sends: the error pickled, or its repr
    _, back, _ = clean_exception(sent["exception"].data)
    assert isinstance(back, SceneFailure)
    assert (back.reason, back.warnings) == ("_Unpicklable: two", ["band(s) 3 have no valid pixel"])
    result = _failed_result(CubeScene("a", cube), back)
    assert (result.status, result.reason, result.warnings) == (
        "failed", "_Unpicklable: two", ["band(s) 3 have no valid pixel"])
