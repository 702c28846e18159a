"""What produced a fused cube (method, ratio, PSF) survives a re-save: ``hsi.save``, ``hsi
convert`` and a layer saved from napari write the same tags as ``hsi fuse``, and reading a
file gives them back in ``cube.metadata`` (:mod:`hsi.io.provenance`)."""

from __future__ import annotations

import json

import numpy as np
import rasterio

import hsi
from hsi.io.provenance import RECORD_KEYS, record_from_tags, record_of


def _record_tags(path) -> dict:
    with rasterio.open(path) as src:
        tags = src.tags()
    return {k: tags[k] for k in RECORD_KEYS if k in tags}


def test_record_from_tags_decodes_json_and_keeps_words():
    tags = {"fusion_method": "glp", "ratio": "4", "psf_sigma": "1.73", "psf_shift": "[0.5, 0]",
            "auto_check": json.dumps({"gap_db": 1.2}), "AREA_OR_POINT": "Area"}
    assert record_from_tags(tags) == {"fusion_method": "glp", "ratio": 4, "psf_sigma": 1.73,
                                      "psf_shift": [0.5, 0], "auto_check": {"gap_db": 1.2}}
    assert record_of({"ratio": 4, "name": "x", "fusion_method": "glp"}) == {
        "fusion_method": "glp", "ratio": 4}


def test_fused_cube_saved_again_keeps_what_hsi_fuse_records(pair_files, tmp_path):
    from hsi.fusion.scene import fuse_cube, fuse_files

    lr_path, hr_path, *_ = pair_files
    by_cli = fuse_files(lr_path, hr_path, tmp_path / "cli.tif", method="glp", tile=16,
                        device="cpu", progress=False)
    cli_tags = _record_tags(by_cli)
    assert {"fusion_method", "ratio", "psf_sigma"} <= set(cli_tags)
    # the file's record reads back into the cube's metadata, decoded
    read = hsi.open(by_cli)
    assert read.metadata["fusion_method"] == "glp" and read.metadata["ratio"] == 4
    assert isinstance(read.metadata["psf_sigma"], float)
    # ... and a re-save of the file (hsi convert's path) writes it again, unchanged
    assert _record_tags(hsi.save(read, tmp_path / "again.tif")) == cli_tags
    # the in-memory fusion (the napari dock's door) saved with hsi.save: the same tags
    fused = fuse_cube(hsi.open(lr_path), hsi.open(hr_path), method="glp", tile=16,
                      device="cpu")
    assert _record_tags(hsi.save(fused, tmp_path / "saved.tif")) == cli_tags


def test_fused_layer_saved_from_napari_keeps_the_record(pair_files, tmp_path):
    """The Fuse dock's result layer, saved with the plugin's writer (no viewer needed: the
    layer data and attributes are what the dock adds)."""
    from hsi.fusion.scene import fuse_cube
    from hsi.viewer._convert import cube_from_layer, cube_layer_data
    from hsi.viewer._writer import write_image

    lr_path, hr_path, *_ = pair_files
    fused = fuse_cube(hsi.open(lr_path), hsi.open(hr_path), method="glp", tile=16,
                      device="cpu")
    data, attrs, _ = cube_layer_data(fused, name="fused")
    assert cube_from_layer(data, attrs["metadata"]).metadata["fusion_method"] == "glp"
    out = write_image(str(tmp_path / "layer.tif"), data, attrs)[0]
    tags = _record_tags(out)
    assert json.loads(tags["ratio"]) == 4 and tags["fusion_method"] == "glp"
    assert json.loads(tags["psf_sigma"]) == fused.metadata["psf_sigma"]
    np.testing.assert_array_equal(hsi.open(out).data, fused.data)


def test_a_cube_without_a_record_writes_no_record_tags(tmp_path):
    cube = hsi.Cube(np.zeros((2, 4, 4), np.float32), metadata={"name_of_thing": "x"})
    assert _record_tags(hsi.save(cube, tmp_path / "plain.tif")) == {}
    assert not set(RECORD_KEYS) & set(hsi.open(tmp_path / "plain.tif").metadata)


def _hsi(*args):
    from click.testing import CliRunner

    from hsi.cli.main import cli

    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_hsi_info_says_what_made_a_fused_or_simulated_file(pair_files, tmp_path):
    from hsi.fusion.scene import fuse_files

    lr_path, hr_path, *_ = pair_files
    out = fuse_files(lr_path, hr_path, tmp_path / "glp.tif", method="glp", tile=16,
                     device="cpu", progress=False, psf_sigma=1.5)
    said = _hsi("info", out)
    assert "fusion:      glp, x4, PSF σ 1.5 HR px" in said
    assert "fusion:" not in _hsi("info", lr_path)  # an input has no record
    _hsi("simulate", out, "--ratio", "2", "--sensor", "sentinel2", "-o", tmp_path / "sim")
    assert "simulated:   HR-MSI through the sentinel2 response" in _hsi(
        "info", tmp_path / "sim" / "hr_msi.tif")


def test_hsi_metrics_takes_ergas_ratio_from_the_fused_files_record(pair_files, tmp_path):
    from hsi.fusion.scene import fuse_files

    lr_path, hr_path, *_ = pair_files
    ref = fuse_files(lr_path, hr_path, tmp_path / "glp.tif", method="glp", tile=16,
                     device="cpu", progress=False)
    est = fuse_files(lr_path, hr_path, tmp_path / "bicubic.tif", method="bicubic", tile=16,
                     device="cpu", progress=False)

    def ergas(output: str) -> str:
        return next(line for line in output.splitlines() if line.startswith("ERGAS "))

    by_record = _hsi("metrics", ref, est)
    assert "ERGAS for the ratio x4 the estimate's file records" in by_record
    assert ergas(by_record) == ergas(_hsi("metrics", ref, est, "--ratio", "4"))
    assert ergas(by_record) != ergas(_hsi("metrics", ref, est, "--ratio", "2"))
    assert "records" not in _hsi("metrics", ref, est, "--ratio", "4")  # given: not said
    plain = hsi.save(hsi.open(est).with_data(np.asarray(hsi.open(est).data), metadata={}),
                     tmp_path / "plain.tif")
    assert "n/a (give --ratio)" in ergas(_hsi("metrics", ref, plain))


def test_hsi_info_of_a_class_map_lists_its_classes_not_missing_wavelengths(tmp_path):
    """A class map was told "wavelengths: none (hsi convert ... --wavelengths ...)": advice
    for a cube, not for class codes."""
    from hsi.io.labels import write_class_map

    labels = np.arange(1, 11, dtype=np.uint8).repeat(4).reshape(5, 8)
    path = write_class_map(tmp_path / "classes.tif", labels, crs=None, transform=None,
                           class_names=[f"class {k}" for k in range(1, 11)])
    said = _hsi("info", path)
    assert "class map:   10 classes: 1=class 1, 2=class 2, " in said
    assert "… (2 more)" in said and "wavelengths" not in said
