"""Bad input to hsi.open / hsi.save: one-line errors naming the file, nothing written."""

from __future__ import annotations

import numpy as np
import pytest

import hsi
from hsi.errors import FormatError, HsiError, HsiIOError


def one_line(exc: BaseException, path) -> None:
    text = str(exc)
    assert "\n" not in text
    assert str(path) in text


def test_missing_file(tmp_path):
    path = tmp_path / "nope.tif"
    with pytest.raises(HsiIOError, match="no such file") as info:
        hsi.open(path)
    assert isinstance(info.value, OSError) and isinstance(info.value, HsiError)
    one_line(info.value, path)


@pytest.mark.parametrize("name", ["empty.tif", "empty.hdr", "empty.mat", "empty.img"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.touch()
    with pytest.raises(FormatError, match="file is empty") as info:
        hsi.open(path)
    assert isinstance(info.value, ValueError)
    one_line(info.value, path)


@pytest.mark.parametrize("name, match", [("notes.tif", "not a TIFF file"),
                                         ("notes.mat", "not a MATLAB .mat file"),
                                         ("notes.hdr", "not an ENVI header"),
                                         ("notes.xyz", "unknown file format")])
def test_text_file_with_raster_extension(tmp_path, name, match):
    path = tmp_path / name
    path.write_text("hello, this is not a raster\n")
    with pytest.raises(FormatError, match=match) as info:
        hsi.open(path)
    one_line(info.value, path)


def test_mat_without_cube(tmp_path):
    import scipy.io

    path = tmp_path / "labels_only.mat"
    scipy.io.savemat(path, {"gt": np.zeros((3, 3))})
    with pytest.raises(FormatError, match="no 3-D array") as info:
        hsi.open(path)
    one_line(info.value, path)


def test_detects_format_from_content(tmp_path, rng):
    cube = hsi.Cube(rng.random((2, 3, 4)).astype(np.float32))
    hsi.save(cube, tmp_path / "a.tif")
    (tmp_path / "a.tif").rename(tmp_path / "a.raster")
    np.testing.assert_array_equal(hsi.open(tmp_path / "a.raster").data, cube.data)


@pytest.mark.parametrize("name", ["out.tif", "out.hdr", "out.mat"])
def test_unwritable_output_folder(tmp_path, rng, name):
    (tmp_path / "blocker").write_text("a file, not a folder")
    dest = tmp_path / "blocker" / "sub" / name
    with pytest.raises(HsiIOError, match="cannot create output folder") as info:
        hsi.save(hsi.Cube(rng.random((2, 3, 4)).astype(np.float32)), dest)
    assert "blocker" in str(info.value) and "\n" not in str(info.value)


def test_unknown_output_format(tmp_path, rng):
    cube = hsi.Cube(rng.random((2, 3, 4)).astype(np.float32))
    with pytest.raises(FormatError, match="cannot tell the output format"):
        hsi.save(cube, tmp_path / "out.png")
    with pytest.raises(FormatError, match="unknown output format 'png'"):
        hsi.save(cube, tmp_path / "out.tif", format="png")
    assert hsi.save(cube, tmp_path / "out.data", format="geotiff").read_bytes()[:2] == b"II"
    assert list(p.name for p in tmp_path.iterdir()) == ["out.data"]


def test_failed_mat_write_leaves_nothing(tmp_path, rng, monkeypatch):
    import scipy.io

    def broken_savemat(f, *args, **kwargs):
        f.write(b"MATLAB 5.0 partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(scipy.io, "savemat", broken_savemat)
    with pytest.raises(OSError, match=r"(?i)no space"):
        hsi.save(hsi.Cube(rng.random((2, 3, 4))), tmp_path / "x.mat")
    assert list(tmp_path.iterdir()) == []


def test_var_for_a_file_that_is_not_a_mat_is_refused(tmp_path):
    import numpy as np
    import pytest

    import hsi
    from hsi.cube import Cube
    from hsi.errors import ConfigError

    path = hsi.save(Cube(np.zeros((2, 3, 4), np.float32)), tmp_path / "a.tif")
    with pytest.raises(ConfigError, match=r"var='x' applies to \.mat files only"):
        hsi.open(path, var="x")  # it would silently read the one cube there is


@pytest.mark.parametrize("shape", [(0, 4, 4), (3, 0, 4), (3, 4, 0)])
def test_a_cube_with_an_empty_axis_is_refused(shape, tmp_path):
    """ENVI files that hsi.open then refused were written; a 0-band .mat divided by zero."""
    import numpy as np
    import scipy.io

    import hsi
    from hsi.errors import ShapeError

    with pytest.raises(ShapeError, match="has an empty axis"):
        hsi.Cube(np.zeros(shape, np.float32))
    scipy.io.savemat(tmp_path / "empty.mat", {"cube": np.zeros(shape[1:] + shape[:1])})
    with pytest.raises(ShapeError):
        hsi.open(tmp_path / "empty.mat")


def test_a_bare_array_is_refused_with_how_to_wrap_it(tmp_path):
    import numpy as np

    import hsi
    from hsi.errors import CubeTypeError
    from hsi.fusion import fuse

    with pytest.raises(CubeTypeError, match=r"hsi\.save: cube: expected an hsi\.Cube, got "
                                            r"numpy\.ndarray"):
        hsi.save(np.zeros((3, 4, 4)), tmp_path / "x.tif")
    assert isinstance(CubeTypeError("x"), TypeError)
    with pytest.raises(CubeTypeError, match="fuse: lr_hsi"):
        fuse(np.zeros((3, 4, 4)), np.zeros((2, 16, 16)), ratio=4)
    from hsi.classification import train_classifier

    with pytest.raises(CubeTypeError, match="train_classifier: cube"):
        train_classifier(np.zeros((3, 4, 4)), np.ones((4, 4), np.int64))
    assert list(tmp_path.iterdir()) == []
