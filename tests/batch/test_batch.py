"""Batch fusion on a real two-process Dask cluster: failures isolated, resume, model cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

import hsi
from hsi.batch import Scene, read_manifest, run_batch
from hsi.errors import FormatError, HsiIOError
from hsi.fusion import fuse


class TestManifest:
    def test_csv_paths_relative_to_csv(self, scenes_dir):
        scenes = read_manifest(scenes_dir / "manifest.csv")
        assert [s.name for s in scenes] == ["north", "east", "south"]
        assert scenes[1] == Scene("east", scenes_dir / "east_lr.tif", scenes_dir / "east_hr.tif")

    def test_folder_of_pairs(self, scenes_dir, tmp_path):
        for p in scenes_dir.glob("*_?r.tif"):
            shutil.copy(p, tmp_path / p.name)
        (tmp_path / "east_lr.hdr").write_text("ENVI\n")  # an ENVI header wins over .tif
        scenes = read_manifest(tmp_path)
        assert [s.name for s in scenes] == ["east", "north", "south"]
        assert scenes[0].lr_hsi.name == "east_lr.hdr"
        assert scenes[0].hr_msi.name == "east_hr.tif"

    def test_folder_with_unpaired_file(self, scenes_dir, tmp_path):
        shutil.copy(scenes_dir / "north_lr.tif", tmp_path)
        with pytest.raises(HsiIOError, match=r"scene 'north' has north_lr\.tif but no north_hr"):
            read_manifest(tmp_path)

    def test_missing_column(self, tmp_path):
        (tmp_path / "m.csv").write_text("name,lr_hsi\na,a_lr.tif\n")
        with pytest.raises(FormatError, match="missing column hr_msi") as info:
            read_manifest(tmp_path / "m.csv")
        assert "\n" not in str(info.value)

    def test_missing_file_names_scene_and_line(self, scenes_dir, tmp_path):
        text = (scenes_dir / "manifest.csv").read_text().replace("south_hr.tif", "gone.tif")
        (scenes_dir / "bad.csv").write_text(text)
        try:
            with pytest.raises(HsiIOError, match=r"bad.csv:4: scene 'south': hr_msi file .*gone"):
                read_manifest(scenes_dir / "bad.csv")
        finally:
            (scenes_dir / "bad.csv").unlink()

    def test_duplicate_and_unsafe_names(self, scenes_dir, tmp_path):
        for name, message in (("north", "appears twice"), ("../x", "not a plain file name")):
            csv = tmp_path / "m.csv"
            csv.write_text(f"name,lr_hsi,hr_msi\nnorth,{scenes_dir}/north_lr.tif,"
                           f"{scenes_dir}/north_hr.tif\n{name},{scenes_dir}/east_lr.tif,"
                           f"{scenes_dir}/east_hr.tif\n")
            with pytest.raises(FormatError, match=message):
                read_manifest(csv)


def _manifest_with_corrupt_scene(scenes_dir, folder):
    """The three real scenes plus 'broken', whose LR-HSI is a truncated GeoTIFF."""
    data = (scenes_dir / "north_lr.tif").read_bytes()
    (folder / "broken_lr.tif").write_bytes(data[: len(data) // 3])
    lines = (scenes_dir / "manifest.csv").read_text().splitlines()
    lines = [lines[0]] + [",".join([ln.split(",")[0]] + [str(scenes_dir / p) for p in
                                                          ln.split(",")[1:]]) for ln in lines[1:]]
    lines.insert(2, f"broken,broken_lr.tif,{scenes_dir / 'north_hr.tif'}")
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    return folder / "manifest.csv"


def dead_pid() -> int:
    """The pid of a process that has exited (a killed writer's)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


class TestRunBatch:
    def test_corrupt_scene_isolated_then_resume(self, scenes_dir, tmp_path, client):
        """``hsi fuse-batch --scheduler`` on the two-worker cluster, then resumes."""
        from click.testing import CliRunner

        from hsi.cli.main import cli

        manifest = _manifest_with_corrupt_scene(scenes_dir, tmp_path)
        out = tmp_path / "out"
        out.mkdir()
        stale = out / f".east.tif.{dead_pid()}.k2j3h4.tif.part"  # left by a killed earlier run
        stale.write_bytes(b"partial")

        result = CliRunner().invoke(cli, ["fuse-batch", str(manifest), "-o", str(out),
                                          "--method", "glp", "--scheduler",
                                          client.scheduler.address])
        assert result.exit_code == 1, result.output
        rows = [ln.split(None, 2) for ln in result.stdout.splitlines()[1:5]]
        assert [(r[0], r[1]) for r in rows] == [("north", "done"), ("broken", "failed"),
                                                ("east", "done"), ("south", "done")]
        assert "broken_lr.tif" in rows[1][2]  # the one-line reason names the bad file
        assert "3 done, 0 skipped, 1 failed" in result.stdout
        assert not stale.exists()
        saved = json.loads((out / "batch-report.json").read_text())
        assert saved["counts"] == {"done": 3, "skipped": 0, "failed": 1}
        failed = [s for s in saved["scenes"] if s["status"] == "failed"]
        assert [s["name"] for s in failed] == ["broken"]
        assert failed[0]["reason"].startswith("HsiIOError: ") and "\n" not in failed[0]["reason"]

        # outputs are the fusion of each pair, on its grid
        for name in ("north", "east", "south"):
            got = hsi.open(out / f"{name}.tif")
            lr = hsi.open(scenes_dir / f"{name}_lr.tif")
            hr = hsi.open(scenes_dir / f"{name}_hr.tif")
            np.testing.assert_allclose(got.data, fuse(lr, hr, method="glp").data, atol=2e-6)
            assert got.transform == hr.transform and got.crs == hr.crs
            record = json.loads((out / f"{name}.tif.done.json").read_text())
            assert record["method"] == "glp"
            size = (scenes_dir / f"{name}_lr.tif").stat().st_size
            assert record["inputs"]["lr_hsi"]["size"] == size

        # re-run: finished scenes are skipped, the broken one is tried again
        again = run_batch(manifest, out, method="glp", client=client, progress=False)
        assert again.skipped == ["north", "east", "south"] and again.failed == ["broken"]
        mtime = (out / "east.tif").stat().st_mtime_ns

        # an input that changed is redone; another method redoes everything
        os.utime(scenes_dir / "south_hr.tif")
        third = run_batch(manifest, out, method="glp", client=client, progress=False)
        assert third.done == ["south"] and third.skipped == ["north", "east"]
        assert (out / "east.tif").stat().st_mtime_ns == mtime
        assert sorted(p.name for p in out.iterdir()) == sorted(
            [".hsi-batch.lock", "batch-report.json"]
            + [f"{n}.tif{s}" for n in ("north", "east", "south")
                                     for s in ("", ".done.json")])

    def test_resume_redoes_an_output_corrupted_to_the_same_size(self, scenes_dir, tmp_path,
                                                                 client):
        manifest = scenes_dir / "manifest.csv"
        out = tmp_path / "out"
        first = run_batch(manifest, out, method="glp", client=client, progress=False)
        assert first.done == ["north", "east", "south"]
        good = (out / "east.tif").read_bytes()
        bad = bytearray(good)
        bad[len(bad) // 2] ^= 0xFF  # same size, one byte flipped
        (out / "east.tif").write_bytes(bytes(bad))
        again = run_batch(manifest, out, method="glp", client=client, progress=False)
        assert again.done == ["east"] and again.skipped == ["north", "south"]
        assert (out / "east.tif").read_bytes() == good

    def test_ratio_for_pairs_without_georeference(self, scenes_dir, tmp_path, client):
        """Without a transform and with the HR-MSI a pixel larger (33 × 33 over 8 × 8), the
        sizes give no ratio: the batch's --ratio fuses the pair; the done-record keeps it."""
        from hsi.fusion import fuse

        lr = hsi.open(scenes_dir / "north_lr.tif")
        hr = hsi.open(scenes_dir / "north_hr.tif")
        scenes = tmp_path / "plain"
        scenes.mkdir()
        hsi.save(lr.with_data(lr.data, crs=None, transform=None), scenes / "a_lr.tif")
        data = np.pad(hr.data, ((0, 0), (0, 1), (0, 1)), mode="edge")
        hsi.save(hr.with_data(data, crs=None, transform=None), scenes / "a_hr.tif")
        without = run_batch(scenes, tmp_path / "o1", method="glp", client=client,
                            progress=False)
        assert without.failed == ["a"]
        report = run_batch(scenes, tmp_path / "o2", method="glp", client=client,
                           progress=False, ratio=4)
        assert report.done == ["a"]
        record = json.loads((tmp_path / "o2" / "a.tif.done.json").read_text())
        assert record["ratio"] == 4
        expected = fuse(hsi.open(scenes / "a_lr.tif"), hsi.open(scenes / "a_hr.tif"),
                        method="glp", ratio=4)
        np.testing.assert_allclose(hsi.open(tmp_path / "o2" / "a.tif").data, expected.data,
                                   atol=2e-6)

    def test_model_loaded_once_per_worker(self, scenes_dir, tmp_path, client):
        import torch

        from hsi.batch import model_loads
        from hsi.fusion import INFN, InfnConfig, save_infn

        torch.manual_seed(0)
        net = INFN(InfnConfig(hsi_bands=204, msi_bands=12, hidden=8, depth=1, base_features=4))
        ckpt = save_infn(tmp_path / "tiny.pt", net, meta={"ratios": [4]})
        report = run_batch(scenes_dir / "manifest.csv", tmp_path / "out", method="infn",
                           model=ckpt, client=client, progress=False, device="cpu")
        assert report.exit_code == 0 and len(report.done) == 3
        loads = client.run(model_loads)  # {worker address: models loaded by that process}
        assert len(loads) == 2
        assert all(n <= 1 for n in loads.values()) and sum(loads.values()) >= 1
        record = json.loads((tmp_path / "out" / "east.tif.done.json").read_text())
        assert record["model_sha256"] and record["method"] == "infn"
