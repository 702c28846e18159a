"""``hsi convert --wavelengths``: band centres for a file that has none, as the MATLAB files of
benchmark databases (the Harvard database's ``ref`` array, 31 bands at 420-720 nm; CAVE's
400-700 nm) come; fusion's ``auto`` needs them to match a checkpoint's sensor."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

import hsi
from hsi.bands import wavelengths_from_text
from hsi.errors import WavelengthError


@pytest.fixture
def harvard_style(tmp_path):
    """A .mat laid out as the Harvard database's: ``ref`` (H, W, 31) and a 2-D ``lbl``."""
    ref = np.random.default_rng(0).random((12, 14, 31))
    path = tmp_path / "imgx.mat"
    scipy.io.savemat(path, {"ref": ref, "lbl": np.ones((12, 14), np.uint8)})
    return path, ref


def test_harvard_style_mat_gets_its_band_centres(invoke, tmp_path, harvard_style):
    path, ref = harvard_style
    assert hsi.open(path).wavelengths is None  # nothing in the file says them
    said = invoke("info", path)  # and hsi info says how to give them
    assert "wavelengths: none (hsi convert IN OUT --wavelengths START-STOP" in said.output
    result = invoke("convert", path, tmp_path / "imgx.tif", "--wavelengths", "420-720")
    assert result.exit_code == 0, result.output
    cube = hsi.open(tmp_path / "imgx.tif")
    np.testing.assert_allclose(cube.wavelengths, np.arange(420, 721, 10))
    assert cube.fwhm is None
    np.testing.assert_array_equal(np.asarray(cube.data), ref.transpose(2, 0, 1))


def test_replacing_a_files_centres_is_said_and_drops_its_fwhm(invoke, tmp_path, caplog):
    cube = hsi.Cube(np.ones((3, 4, 5), np.float32), wavelengths=[500.0, 600.0, 700.0],
                    fwhm=[10.0, 10.0, 10.0])
    hsi.save(cube, tmp_path / "in.tif")
    result = invoke("convert", tmp_path / "in.tif", tmp_path / "out.tif", "--wavelengths",
                    "460, 530,600")
    assert result.exit_code == 0, result.output
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(said) == 1
    assert "band centres (500-700 nm) are replaced by --wavelengths (460-600 nm)" in said[0]
    back = hsi.open(tmp_path / "out.tif")
    np.testing.assert_allclose(back.wavelengths, [460, 530, 600])
    assert back.fwhm is None


@pytest.mark.parametrize(("text", "says"), [
    ("400,500", "expected 31 values (one per band), got 2"),
    ("0.42-0.72", "look like micrometres; give nanometres"),
    ("720-420", "START < STOP"),
    ("blue", "expected START-STOP"),
])
def test_bad_wavelengths_are_one_line_and_write_nothing(invoke, one_line_error, tmp_path,
                                                        harvard_style, text, says):
    path, _ = harvard_style
    result = invoke("convert", path, tmp_path / "out.tif", "--wavelengths", text)
    assert says in one_line_error(result, "--wavelengths")
    assert not (tmp_path / "out.tif").exists()


def test_wavelengths_from_a_text_file(tmp_path):
    listing = tmp_path / "centres.txt"
    listing.write_text("443.9\n496.6\n560.0\n664.5\n")
    np.testing.assert_allclose(wavelengths_from_text(str(listing), 4),
                               [443.9, 496.6, 560.0, 664.5])
    np.testing.assert_allclose(wavelengths_from_text("400-700", 4), [400, 500, 600, 700])
    with pytest.raises(WavelengthError, match="expected 5 values"):
        wavelengths_from_text(str(listing), 5)
