"""Commands that write several files into an output folder refuse a new name that ends like a
file (``-o scene.tif``): the user meant a file, and a folder called ``scene.tif`` would appear."""

from __future__ import annotations

import numpy as np
import pytest

import hsi
from tests.cli_checks import one_error_line


@pytest.fixture
def cube_file(tmp_path):
    return hsi.save(hsi.Cube(np.random.default_rng(0).random((40, 8, 8), np.float32),
                             wavelengths=np.linspace(400, 2500, 40)), tmp_path / "cube.tif")


@pytest.mark.parametrize("command", ["data", "simulate", "split", "demo"])
@pytest.mark.parametrize("name", ["out.tif", "out.HDR", "maps.csv"])
def test_a_new_folder_named_like_a_file_is_refused(invoke, tmp_path, cube_file, command, name):
    out = tmp_path / name
    args = {"data": ["data", "export", "salinas_a", "-o", out],
            "simulate": ["simulate", cube_file, "-o", out, "--ratio", "2"],
            "split": ["classify", "split", cube_file, "-o", out, "--per-class", "1"],
            "demo": ["demo", "-o", out]}[command]
    line = one_error_line(invoke(*args), "-o", str(out))
    assert "expected a folder" in line
    assert not out.exists()


def test_an_existing_folder_of_that_name_is_taken(invoke, tmp_path, cube_file):
    out = tmp_path / "pair.tif"
    out.mkdir()
    r = invoke("simulate", cube_file, "-o", out, "--ratio", "2")
    assert r.exit_code == 0, r.output
    assert (out / "lr_hsi.tif").exists()
