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
