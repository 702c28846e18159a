"""One-line errors name the file the user gave, never a cube's internal name.

A cube read from a file used to be named by the file's bare stem (``scene`` for
``data/scene.tif``), and the library's messages about it ("cube 'scene' has no wavelengths",
"training cubes differ in band count: 'a' has 204, 'b' has 50") reached the shell so. Others
started with the parameter's name ("cube: PCA needs ...", "labels: no labelled pixel").
Each case here is real files cut from the shipped Salinas-A sample, through the real CLI.
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

import hsi

#: Side of the crop of the shipped sample the tests use.
SIDE = 16


@pytest.fixture(scope="module")
def crop():
    """A 16×16 crop of the shipped Salinas-A sample (204 bands, float32 reflectance)."""
    from hsi.data import sample_cube

    cube = sample_cube()
    return cube.with_data(np.ascontiguousarray(cube.data[:, 32:32 + SIDE, 48:48 + SIDE]))


def _labels(path, array) -> str:
    with rasterio.open(path, "w", driver="GTiff", count=1, height=array.shape[0],
                       width=array.shape[1], dtype="uint8") as dst:
        dst.write(array.astype("uint8"), 1)
    return str(path)


def _no_internal_name(line: str, *paths) -> None:
    """``line`` names no file by its bare stem in quotes (``'scene'`` for ``.../scene.tif``)."""
    from pathlib import Path

    for path in paths:
        assert f"'{Path(path).stem}'" not in line, line


def test_open_names_the_cube_by_the_path_given(tmp_path, crop):
    path = tmp_path / "scene.tif"
    hsi.save(crop, path)
    assert hsi.open(path).name == str(path)
    assert hsi.open(str(path), lazy=True).name == str(path)


def test_simulate_names_the_file_without_wavelengths(tmp_path, crop, invoke, one_line_error):
    path = tmp_path / "nowl.tif"
    hsi.save(crop.with_data(crop.data, wavelengths=None, fwhm=None), path)
    out = tmp_path / "sim"
    line = one_line_error(invoke("simulate", path, "-o", out, "--ratio", 4), str(path),
                          "no wavelengths")
    _no_internal_name(line, path)
    assert not out.exists()


def test_fuse_names_the_input_without_a_valid_pixel(tmp_path, crop, invoke, one_line_error):
    from hsi.degrade import simulate_pair

    lr, msi = simulate_pair(crop, 4, "sentinel2")
    lr_path, hr_path = tmp_path / "lr_nan.tif", tmp_path / "hr.tif"
    hsi.save(lr.with_data(np.full(lr.shape, np.nan, np.float32)), lr_path)
    hsi.save(msi, hr_path)
    out = tmp_path / "new" / "fused.tif"
    line = one_line_error(invoke("fuse", lr_path, hr_path, "-o", out, "--method", "glp",
                                 "--device", "cpu"), str(lr_path), "no valid pixel")
    _no_internal_name(line, lr_path)
    assert not (tmp_path / "new").exists()


def test_fusion_train_names_both_cubes_that_differ(tmp_path, crop, invoke, one_line_error):
    a, b = tmp_path / "a.tif", tmp_path / "b.tif"
    hsi.save(crop, a)
    hsi.save(crop.with_data(crop.data[:50], wavelengths=crop.wavelengths[:50],
                            fwhm=crop.fwhm[:50]), b)
    out = tmp_path / "m.pt"
    line = one_line_error(invoke("fusion", "train", a, b, "--ratio", 4, "--sensor", "sentinel2",
                                 "--steps", 1, "-o", out, "--device", "cpu"),
                          str(a), str(b), "band count")
    _no_internal_name(line, a, b)
    assert not out.exists()


def test_classify_train_names_the_cube_with_too_few_valid_pixels(tmp_path, crop, invoke,
                                                                 one_line_error):
    data = np.array(crop.data, dtype=np.float32)
    data[:, 1:, :] = np.nan  # one row of data: too few pixels for the PCA
    cube = tmp_path / "one_row.tif"
    hsi.save(crop.with_data(data), cube)
    labels = np.zeros((SIDE, SIDE))
    labels[0, :SIDE // 2], labels[0, SIDE // 2:] = 1, 2
    lab = _labels(tmp_path / "lab.tif", labels)
    line = one_line_error(invoke("classify", "train", cube, lab, "-o", tmp_path / "m.pt",
                                 "--epochs", 1, "--members", 1, "--device", "cpu"),
                          str(cube), "PCA")
    assert not line.startswith("hsi: error: cube:"), line
    assert not (tmp_path / "m.pt").exists()


def test_classify_train_names_the_cube_whose_grid_the_labels_miss(tmp_path, crop, invoke,
                                                                  one_line_error):
    cube = tmp_path / "scene.tif"
    hsi.save(crop, cube)
    labels = np.zeros((SIDE - 1, SIDE - 1))
    labels[:4], labels[-4:] = 1, 2
    lab = _labels(tmp_path / "lab15.tif", labels)
    line = one_line_error(invoke("classify", "train", cube, lab, "-o", tmp_path / "m.pt",
                                 "--device", "cpu"), lab, str(cube), "grid")
    assert "the cube's" not in line


def test_classify_split_names_the_labels_file(tmp_path, invoke, one_line_error):
    lab = _labels(tmp_path / "unlabelled.tif", np.zeros((SIDE, SIDE)))
    out = tmp_path / "split"
    line = one_line_error(invoke("classify", "split", lab, "--per-class", 2, "-o", out), lab,
                          "no labelled pixel")
    assert not line.startswith("hsi: error: labels:"), line
    assert not out.exists()


def test_classify_split_without_test_pixels_names_the_labels_file(tmp_path, invoke,
                                                                  one_line_error):
    labels = np.ones((SIDE, SIDE))
    labels[:, SIDE // 2:] = 2
    lab = _labels(tmp_path / "halves.tif", labels)
    out = tmp_path / "split"
    # a margin wider than the scene: every pixel is training or too near it
    line = one_line_error(invoke("classify", "split", lab, "--fraction", 0.5, "--mode",
                                 "spatial", "--margin", 2 * SIDE, "-o", out), lab,
                          "no test pixel")
    assert not line.startswith("hsi: error: split:"), line
    assert not out.exists()


def test_metrics_spells_the_crop_as_its_option(tmp_path, crop, invoke, one_line_error):
    path = tmp_path / "scene.tif"
    hsi.save(crop, path)
    line = one_line_error(invoke("metrics", path, path, "--crop", SIDE // 2), "leaves no pixel")
    assert line.startswith(f"hsi: error: --crop {SIDE // 2} "), line
