"""``hsi classify-batch``: fuse-batch's machinery (resume, report, isolation) for classification."""

from __future__ import annotations

import json

import numpy as np
import pytest
from affine import Affine

import hsi
from hsi.batch import CubeScene, read_cube_manifest, run_classify_batch
from hsi.errors import FormatError


@pytest.fixture(scope="module")
def cubes_dir(tmp_path_factory):
    """Two 32×32 Salinas-A crops as GeoTIFFs, a broken one, manifest.csv and a classifier."""
    import torch

    from hsi.classification import GanConfig, split_labels, train_classifier
    from hsi.data import sample_cube, sample_labels

    folder = tmp_path_factory.mktemp("cubes")
    cube = sample_cube()
    for name, (r, c) in {"north": (0, 0), "south": (48, 20)}.items():
        t = Affine(3.7, 0.0, 612000.0 + 3.7 * c, 0.0, -3.7, 4062000.0 - 3.7 * r)
        hsi.save(cube.with_data(np.asarray(cube.data[:, r:r + 32, c:c + 32], np.float32),
                                crs="EPSG:32610", transform=t), folder / f"{name}.tif")
    (folder / "broken.tif").write_text("not a GeoTIFF")
    (folder / "manifest.csv").write_text(
        "name,cube\nnorth,north.tif\nbroken,broken.tif\nsouth,south.tif\n")
    labels, names = sample_labels()
    train, _ = split_labels(labels, per_class=5, mode="random", seed=0)
    torch.set_num_threads(1)
    clf = train_classifier(cube, train, class_names=names, epochs=1, seed=0, device="cpu",
                           config=GanConfig(members=1), progress=False)
    clf.save(folder / "clf.pt")
    return folder


def test_cube_manifest_from_csv_or_folder(cubes_dir, tmp_path):
    scenes = read_cube_manifest(cubes_dir / "manifest.csv")
    assert [s.name for s in scenes] == ["north", "broken", "south"]
    assert scenes[0] == CubeScene("north", (cubes_dir / "north.tif").resolve())
    assert [s.name for s in read_cube_manifest(cubes_dir)] == ["broken", "north", "south"]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,lr_hsi\nx,north.tif\n")
    with pytest.raises(FormatError, match="missing column cube"):
        read_cube_manifest(bad)


def test_classify_batch_isolates_failures_and_resumes(cubes_dir, tmp_path, client):
    from click.testing import CliRunner

    from hsi.classification.pipeline import classify_to_files, load_classifier
    from hsi.cli.main import cli

    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["classify-batch", str(cubes_dir / "manifest.csv"), "-o",
                                      str(out), "--model", str(cubes_dir / "clf.pt"),
                                      "--no-crf", "--tile", "32", "--device", "cpu",
                                      "--scheduler", client.scheduler.address])
    assert result.exit_code == 1, result.output
    rows = [ln.split(None, 2) for ln in result.stdout.splitlines()[1:4]]
    assert [(r[0], r[1]) for r in rows] == [("north", "done"), ("broken", "failed"),
                                            ("south", "done")]
    assert "2 done, 0 skipped, 1 failed" in result.stdout
    saved = json.loads((out / "batch-report.json").read_text())
    assert saved["counts"] == {"done": 2, "skipped": 0, "failed": 1}
    record = json.loads((out / "north.tif.done.json").read_text())
    assert record["job"] == "classify" and record["crf"] is False and record["tile"] == 32
    assert record["inputs"]["cube"]["size"] == (cubes_dir / "north.tif").stat().st_size

    # the class map equals an in-process run of the same model
    clf = load_classifier(cubes_dir / "clf.pt", device="cpu")
    classify_to_files(clf, hsi.open(cubes_dir / "north.tif"), tmp_path / "direct.tif",
                      use_crf=False)
    assert (out / "north.tif").is_file()
    np.testing.assert_array_equal(hsi.open(out / "north.tif").data,
                                  hsi.open(tmp_path / "direct.tif").data)

    # re-run: finished scenes skipped; other settings redo them
    again = run_classify_batch(cubes_dir / "manifest.csv", out, model=cubes_dir / "clf.pt",
                               use_crf=False, tile=32, client=client, progress=False,
                               device="cpu")
    assert again.skipped == ["north", "south"] and again.failed == ["broken"]
    third = run_classify_batch([CubeScene("north", cubes_dir / "north.tif")], out,
                               model=cubes_dir / "clf.pt", use_crf=False, tile=64,
                               client=client, progress=False, device="cpu")
    assert third.done == ["north"]
