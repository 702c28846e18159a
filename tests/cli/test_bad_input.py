"""Issue 3's bad-input list: each case is one line ``hsi: error: ...``, exit 2, nothing written."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import spectral.io.envi as envi


def _envi(folder, name, **metadata):
    data = np.arange(4 * 5 * 3, dtype=np.float32).reshape(4, 5, 3)
    envi.save_image(str(folder / f"{name}.hdr"), data, dtype=np.float32, metadata=metadata,
                    force=True)
    return folder / f"{name}.hdr"


@pytest.fixture
def bad(tmp_path):
    """Bad inputs by case name -> (path to pass, name the error must mention)."""
    src = tmp_path / "in"
    src.mkdir()
    cases = {"missing": (src / "nothere.tif", "nothere.tif")}
    (src / "empty.tif").write_bytes(b"")
    cases["empty"] = (src / "empty.tif", "empty.tif")
    (src / "text.tif").write_text("this is not a TIFF\n")
    cases["text_as_tif"] = (src / "text.tif", "text.tif")
    hdr = _envi(src, "truncated", wavelength=[400, 500, 600])
    with open(src / "truncated.img", "r+b") as f:
        f.truncate(100)
    cases["truncated_envi"] = (hdr, "truncated")
    hdr = _envi(src, "dtype")
    hdr.write_text(hdr.read_text().replace("data type = 4", "data type = 99"))
    cases["envi_unknown_dtype"] = (hdr, "dtype.hdr")
    scipy.io.savemat(src / "flat.mat", {"x": np.zeros((4, 4)), "y": np.ones(3)})
    cases["mat_without_3d"] = (src / "flat.mat", "flat.mat")
    cases["wavelengths_not_positive"] = (_envi(src, "order", wavelength=[500, -400, 600]),
                                           "order.hdr")
    cases["wavelengths_wrong_count"] = (_envi(src, "count", wavelength=[400, 500]), "count.hdr")
    return cases


READ_CASES = ["missing", "empty", "text_as_tif", "truncated_envi", "envi_unknown_dtype",
              "mat_without_3d", "wavelengths_not_positive", "wavelengths_wrong_count"]


def _written(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


@pytest.mark.parametrize("case", READ_CASES)
def test_info(case, bad, invoke, one_line_error):
    path, name = bad[case]
    one_line_error(invoke("info", path), name)


@pytest.mark.parametrize("case", READ_CASES)
def test_convert_writes_nothing(case, bad, invoke, one_line_error, tmp_path):
    path, name = bad[case]
    out = tmp_path / "out"
    out.mkdir()
    one_line_error(invoke("convert", path, out / "x.tif"), name)
    assert _written(out) == []


@pytest.mark.parametrize("case", READ_CASES)
def test_simulate_writes_nothing(case, bad, invoke, one_line_error, tmp_path):
    path, name = bad[case]
    out = tmp_path / "sim"
    one_line_error(invoke("simulate", path, "-o", out, "--ratio", 2), name)
    assert not out.exists()


def test_metrics_missing_estimate(invoke, one_line_error, vnir_cube, tmp_path):
    path, _ = vnir_cube
    one_line_error(invoke("metrics", path, tmp_path / "est.tif"), "est.tif")


def test_srf_outside_wavelength_range(invoke, one_line_error, vnir_cube, tmp_path):
    path, _ = vnir_cube  # 400-750 nm: Landsat 8's NIR and SWIR bands lie outside
    out = tmp_path / "sim"
    line = one_line_error(invoke("simulate", path, "-o", out, "--ratio", 2, "--sensor",
                                 "landsat8"), "landsat8")
    assert "B5" in line  # the first band outside (864.7 nm) is named
    assert not out.exists()


def test_srf_csv_outside_range(invoke, one_line_error, vnir_cube, tmp_path):
    path, _ = vnir_cube
    csv = tmp_path / "nir.csv"
    csv.write_text("wavelength,NIR\n800,0\n850,1\n900,0\n")
    out = tmp_path / "sim"
    line = one_line_error(invoke("simulate", path, "-o", out, "--ratio", 2, "--sensor", csv),
                          "NIR")
    assert "nm" in line
    assert not out.exists()


def test_ratio_below_two(invoke, one_line_error, vnir_cube, tmp_path):
    path, _ = vnir_cube
    out = tmp_path / "sim"
    one_line_error(invoke("simulate", path, "-o", out, "--ratio", 1), "ratio")
    assert not out.exists()


def test_ratio_not_an_integer(invoke, vnir_cube, tmp_path):
    # click rejects it while parsing (its usage-error format, exit 2) before anything runs.
    path, _ = vnir_cube
    out = tmp_path / "sim"
    result = invoke("simulate", path, "-o", out, "--ratio", "2.5")
    assert result.exit_code == 2
    assert "'--ratio'" in result.stderr and "2.5" in result.stderr
    assert not out.exists()


def test_metrics_ratio_below_two(invoke, one_line_error, vnir_cube):
    path, _ = vnir_cube
    one_line_error(invoke("metrics", path, path, "--ratio", 0), "ratio")


def test_output_folder_not_writable(invoke, one_line_error, vnir_cube, tmp_path):
    path, _ = vnir_cube
    blocker = tmp_path / "a_file"
    blocker.write_text("a file where a folder is needed")
    one_line_error(invoke("simulate", path, "-o", blocker / "sim", "--ratio", 2), "a_file")
    assert blocker.read_text() == "a file where a folder is needed"
    assert _written(tmp_path) == ["a_file", "vnir.tif"]


def test_convert_output_folder_not_writable(invoke, one_line_error, vnir_cube, tmp_path):
    path, _ = vnir_cube
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    one_line_error(invoke("convert", path, blocker / "out.tif"), "a_file")


def test_convert_unknown_output_extension(invoke, one_line_error, vnir_cube, tmp_path):
    path, _ = vnir_cube
    one_line_error(invoke("convert", path, tmp_path / "out.xyz"), "out.xyz")
    assert not (tmp_path / "out.xyz").exists()


def test_metrics_shape_mismatch(invoke, one_line_error, vnir_cube, tmp_path):
    import hsi

    path, cube = vnir_cube
    other = tmp_path / "other.tif"
    hsi.save(cube.with_data(cube.data[:, :20]), other)
    line = one_line_error(invoke("metrics", path, other), "other.tif")
    assert f"({cube.bands}, 20, 32)" in line and f"({cube.bands}, 24, 32)" in line
