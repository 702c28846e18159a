"""MATLAB .mat cubes: v5 (scipy) and v7.3 (h5py), variable choice, unmixing layout."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import scipy.io
from affine import Affine
from rasterio.crs import CRS

import hsi
from hsi.errors import FormatError

T = Affine(30.0, 0.0, 553_410.0, 0.0, -30.0, 4_182_690.0)


def save_v73(path, variables: dict):
    """Write a MATLAB v7.3 look-alike: HDF5 with a 512-byte MATLAB header, axes reversed."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, value in variables.items():
            arr = np.asarray(value)
            ds = f.create_dataset(name, data=arr.T)  # MATLAB column-major -> reversed axes
            ds.attrs["MATLAB_class"] = np.bytes_({"f": "double", "u": "uint16"}.get(
                arr.dtype.kind, "double") if arr.dtype != np.uint8 else "uint8")
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: hsikit test".ljust(116))


class TestV5:
    def test_round_trip(self, tmp_path, rng):
        data = rng.random((9, 5, 7)).astype(np.float32)
        cube = hsi.Cube(data, wavelengths=np.linspace(400, 800, 9), fwhm=np.full(9, 10.0),
                        crs="EPSG:32610", transform=T, nodata=-1.0, name="c")
        out = hsi.save(cube, tmp_path / "c.mat")
        raw = scipy.io.loadmat(out)
        assert raw["cube"].shape == (5, 7, 9)  # MATLAB convention H × W × bands
        np.testing.assert_array_equal(raw["cube"][:, :, 3], data[3])
        back = hsi.open(out)
        np.testing.assert_array_equal(back.data, data)
        np.testing.assert_allclose(back.wavelengths, np.linspace(400, 800, 9))
        np.testing.assert_allclose(back.fwhm, 10.0)
        assert back.nodata == -1.0
        assert back.crs == CRS.from_epsg(32610) and back.transform == T

    def test_single_3d_array_is_transposed(self, tmp_path, rng):
        hwb = rng.integers(0, 9000, (4, 6, 3)).astype(np.int16)
        scipy.io.savemat(tmp_path / "a.mat", {"img": hwb, "other": np.eye(3)})
        cube = hsi.open(tmp_path / "a.mat")
        assert cube.shape == (3, 4, 6) and cube.dtype == np.int16
        np.testing.assert_array_equal(cube.data[2], hwb[:, :, 2])
        assert cube.crs is None and cube.transform is None

    def test_several_3d_arrays_need_var(self, tmp_path, rng):
        scipy.io.savemat(tmp_path / "two.mat", {"A": rng.random((4, 5, 3)),
                                                "cube": rng.random((4, 5, 8))})
        with pytest.raises(FormatError, match=r"two\.mat: several 3-D arrays \(A 4×5×3, cube"):
            hsi.open(tmp_path / "two.mat")
        assert hsi.open(tmp_path / "two.mat", var="cube").bands == 8
        with pytest.raises(FormatError, match="no variable 'nope'"):
            hsi.open(tmp_path / "two.mat", var="nope")

    def test_no_3d_array(self, tmp_path):
        scipy.io.savemat(tmp_path / "flat.mat", {"gt": np.ones((4, 5))})
        with pytest.raises(FormatError, match=r"flat\.mat: no 3-D array .*gt 4×5"):
            hsi.open(tmp_path / "flat.mat")

    def test_unmixing_layout(self, tmp_path, rng):
        bands, rows, cols = 5, 3, 4
        truth = rng.integers(0, 5000, (bands, rows, cols)).astype(np.uint16)
        y = np.empty((bands, rows * cols), dtype=np.uint16)
        for r in range(rows):
            for c in range(cols):
                y[:, r + c * rows] = truth[:, r, c]  # MATLAB column-major pixel order
        scipy.io.savemat(tmp_path / "u.mat", {"Y": y, "nRow": float(rows), "nCol": float(cols),
                                              "maxValue": 5000.0, "A": rng.random((2, 12))})
        cube = hsi.open(tmp_path / "u.mat")
        np.testing.assert_array_equal(cube.data, truth)
        assert cube.metadata["max_value"] == 5000.0
        assert hsi.open(tmp_path / "u.mat", var="A").shape == (2, 3, 4)

    def test_wavelengths_in_micrometres(self, tmp_path, rng):
        scipy.io.savemat(tmp_path / "w.mat", {"cube": rng.random((2, 2, 3)),
                                              "wavelength": [0.5, 0.6, 0.7]})
        np.testing.assert_allclose(hsi.open(tmp_path / "w.mat").wavelengths, [500, 600, 700])


class TestV73:
    def test_orientation(self, tmp_path, rng):
        hwb = rng.random((4, 6, 3))
        save_v73(tmp_path / "v73.mat", {"cube": hwb, "wavelengths": np.array([[450.0, 550.0,
                                                                               650.0]])})
        cube = hsi.open(tmp_path / "v73.mat")
        assert cube.shape == (3, 4, 6)
        np.testing.assert_array_equal(cube.data, hwb.transpose(2, 0, 1))
        np.testing.assert_allclose(cube.wavelengths, [450, 550, 650])

    def test_unmixing_layout(self, tmp_path, rng):
        truth = rng.random((5, 3, 4))
        y = truth.reshape(5, 12, order="F")
        save_v73(tmp_path / "u73.mat", {"Y": y, "nRow": np.array([[3.0]]),
                                        "nCol": np.array([[4.0]])})
        np.testing.assert_array_equal(hsi.open(tmp_path / "u73.mat").data, truth)


class TestRealFiles:
    def test_salinas_a(self, data_dir):
        path = data_dir / "salinas_a" / "salinasA_corrected.mat"
        cube = hsi.open(path)
        assert cube.shape == (204, 83, 86) and cube.dtype == np.int16
        raw = scipy.io.loadmat(path)["salinasA_corrected"]
        np.testing.assert_array_equal(cube.data[100], raw[:, :, 100])

    def test_jasper_ridge_orientation(self, data_dir):
        path = data_dir / "jasper_ridge" / "jasperRidge2_R198.mat"
        cube = hsi.open(path)
        assert cube.shape == (198, 100, 100) and cube.dtype == np.uint16
        assert cube.metadata["max_value"] == 5000.0
        abundances = hsi.open(path, var="A").data  # tree, water, dirt, road
        assert abundances.shape == (4, 100, 100)
        # Y and A reshaped the same way agree: each class's mean spectrum is nearest its endmember.
        endmembers = scipy.io.loadmat(path)["M"]
        winner = abundances.argmax(0)
        refl = cube.data.astype(np.float64) / 5000
        for k in range(4):
            mean = refl[:, winner == k].mean(1)
            cos = endmembers.T @ mean / np.linalg.norm(endmembers, axis=0) / np.linalg.norm(mean)
            assert int(np.argmax(cos)) == k
        # Column-major reshape: the river runs top to bottom through the middle-left columns
        # (the row-major/transposed reading would make it run left to right).
        water = abundances[1]
        assert water[:10, 30:50].mean() > 0.8
        assert water[90:, 20:50].mean() > 0.8
        assert water[:, 80:].mean() < 0.05


def test_the_wavelengths_variable_tells_a_bands_first_cube_or_is_refused(tmp_path):
    """A (bands, H, W) array was read as (H, W, bands) and its 12 wavelengths dropped."""
    import hsi
    from hsi.errors import WavelengthError

    data = np.random.default_rng(0).random((12, 20, 30)).astype(np.float32)
    wl = np.linspace(400, 950, 12)
    scipy.io.savemat(tmp_path / "bhw.mat", {"img": data, "wavelengths": wl[None]})
    cube = hsi.open(tmp_path / "bhw.mat")
    assert cube.shape == (12, 20, 30)
    np.testing.assert_array_equal(cube.data, data)
    np.testing.assert_allclose(cube.wavelengths, wl)
    scipy.io.savemat(tmp_path / "off.mat", {"img": data.transpose(1, 2, 0),
                                             "wavelengths": np.linspace(400, 950, 13)[None]})
    with pytest.raises(WavelengthError, match=r"'wavelengths' has 13 values for the 12 bands"):
        hsi.open(tmp_path / "off.mat")
