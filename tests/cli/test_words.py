"""Library messages name parameters; the CLI prints them as options."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
from affine import Affine

import hsi
from hsi.cli.words import cli_words
from hsi.cube import Cube


@pytest.mark.parametrize(("library", "cli"), [
    ("not available here (use device='cpu')", "not available here (use --device cpu)"),
    ("give model=PATH, use fit_scene=True, or method='glp'",
     "give --model MODEL.pt, use --fit-scene, or --method glp"),
    ("fit_scene=True at ratio 8 needs", "--fit-scene at ratio 8 needs"),
    ("ratio=2 disagrees with the pixel sizes", "--ratio 2 disagrees with the pixel sizes"),
    ("not one integer ratio: give ratio=N", "not one integer ratio: give --ratio N"),
    ("(give wait=True to wait for it)", "(give --wait to wait for it)"),
    ("several 3-D arrays (a, b); choose one with var=",
     "several 3-D arrays (a, b); choose one with --var"),
    ("dataset 'samson' not found in /d (missing samson/Samson.mat): set HSI_DATA_DIR to the "
     "folder holding it, or pass download=True",
     "dataset 'samson' not found in /d (missing samson/Samson.mat): set HSI_DATA_DIR to the "
     "folder holding it, or run hsi data fetch samson"),
    ("k: expected at most 255 clusters", "-k: expected at most 255 clusters"),
    ("psf_sigma: must be a positive number of pixels, got 0.0",
     "--psf-sigma: must be a positive number of pixels, got 0.0"),
    ("a.tif: var='x' applies to .mat files only", "a.tif: --var x applies to .mat files only"),
    ("dataset 'samson' not found in /r (missing s.mat): give the folder holding it as root=, "
     "or pass download=True",
     "dataset 'samson' not found in /r (missing s.mat): give the folder holding it as --root, "
     "or run hsi data fetch samson"),
    ("patch_size: expected an odd integer >= 1, got 4",
     "--patch-size: expected an odd integer >= 1, got 4"),
])
def test_cli_words(library, cli):
    assert cli_words(library) == cli


@pytest.mark.parametrize("text", [
    "crf_components: expected 1..n_components=3, got 4",  # not an option
    "expected one 2-D SRF matrix, found none; pass var=",  # no CLI option picks an SRF variable
    "the HR/LR ratio must be an integer >= 2, got 1",
    "rank: k: not a message start",  # only a message that starts with the parameter
])
def test_cli_words_leaves_other_text(text):
    assert cli_words(text) == text


def test_cli_error_names_the_option(invoke, one_line_error, tmp_path):
    data = np.zeros((3, 4, 2), dtype=np.float32)
    scipy.io.savemat(tmp_path / "two.mat", {"a": data, "b": data})
    line = one_line_error(invoke("convert", tmp_path / "two.mat", tmp_path / "o.tif"), "two.mat")
    assert line.endswith("choose one with --var")


def test_fuse_ratio_disagreement_names_the_option(invoke, one_line_error, tmp_path):
    rng = np.random.default_rng(0)
    lr = Cube(rng.random((5, 8, 8), dtype=np.float32), crs="EPSG:32610",
              transform=Affine(40.0, 0, 600000.0, 0, -40.0, 4000000.0))
    hr = Cube(rng.random((3, 32, 32), dtype=np.float32), crs="EPSG:32610",
              transform=Affine(10.0, 0, 600000.0, 0, -10.0, 4000000.0))
    hsi.save(lr, tmp_path / "lr.tif")
    hsi.save(hr, tmp_path / "hr.tif")
    result = invoke("fuse", tmp_path / "lr.tif", tmp_path / "hr.tif", "-o", tmp_path / "f.tif",
                    "--method", "glp", "--ratio", 2)
    line = one_line_error(result, "--ratio 2 disagrees with the pixel sizes, whose ratio is 4")
    assert "ratio=" not in line
