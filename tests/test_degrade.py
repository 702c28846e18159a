"""Tests of hsi.degrade: SRFs, PSF blur, decimation and Wald-protocol pair simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.io
import scipy.ndimage
import scipy.stats
import torch
from affine import Affine
from rasterio.crs import CRS
from torch.autograd import gradcheck

from hsi.cube import Cube
from hsi.degrade import (
    SRF,
    SRF_PRESETS,
    Decimate,
    GaussianPSF,
    Psf,
    SpectralResponse,
    blur_decimate,
    blur_decimate_axis,
    crop_to_ratio,
    decimate,
    gaussian_psf,
    gaussian_psf_kernel,
    load_srf,
    normalize_reflectance,
    psf_kernel_size,
    reflectance_scale,
    simulate_pair,
    spectral_response,
    wald_degradation,
)
from hsi.errors import FormatError, HsiIOError, SensorError, ShapeError, WavelengthError


def aviris_like_wavelengths() -> np.ndarray:
    """Approximate band centres of the 204-band AVIRIS Salinas cubes (nm).

    224 channels spread over 400-2500 nm, less the 20 water-absorption channels removed from
    the corrected scenes (1-based 108-112, 154-167 and 224).
    """
    wl = np.linspace(400.0, 2500.0, 224)
    drop = list(range(107, 112)) + list(range(153, 167)) + [223]
    return np.delete(wl, drop)


def _compile_eager(fn):
    """Trace ``fn`` with TorchDynamo without code generation (fast, no C compiler needed)."""
    return torch.compile(fn, backend="eager")


# ==================================================================================== SRF
class TestSRF:
    def test_nikon_csv(self, data_dir):
        srf = SRF.from_csv(data_dir / "srf" / "nikon_d700_camspec" / "Nikon_D700.csv")
        assert srf.band_names == ["R", "G", "B"]
        assert srf.curves.shape == (3, 33)
        np.testing.assert_array_equal(srf.wavelengths, np.arange(400, 721, 10))
        np.testing.assert_array_equal(srf.centres, [590, 530, 460])  # SOURCES.md peaks
        assert srf.name == "Nikon D700"
        assert srf.curves[1, 13] == 1.0  # G at 530 nm, the table's maximum

    def test_shipped_nikon_equals_source(self, data_dir):
        shipped = load_srf("nikon_d700")
        source = SRF.from_csv(data_dir / "srf" / "nikon_d700_camspec" / "Nikon_D700.csv")
        np.testing.assert_array_equal(shipped.curves, source.curves)
        np.testing.assert_array_equal(shipped.wavelengths, source.wavelengths)
        from hsi.srf_presets import SRF_DATA_DIR

        text = (SRF_DATA_DIR / "nikon_d700.csv").read_text()
        assert "BY-NC-SA 4.0" in text
        assert "WACV 2013" in text and "Jiang" in text

    def test_gaussian_against_scipy(self):
        srf = SRF.gaussian([500.0, 650.0], [50.0, 20.0], names=["a", "b"], name="test")
        for b, (c, f) in enumerate([(500.0, 50.0), (650.0, 20.0)]):
            sigma = f / (2 * math.sqrt(2 * math.log(2)))
            expected = scipy.stats.norm.pdf(srf.wavelengths, c, sigma) / scipy.stats.norm.pdf(
                c, c, sigma)
            np.testing.assert_allclose(srf.curves[b], expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(srf.centres, [500.0, 650.0])
        np.testing.assert_array_equal(srf.fwhm, [50.0, 20.0])

    def test_tabulated_fwhm(self):
        # triangle 0 at 400, 1 at 500, 0 at 600: half maximum at 450 and 550 -> FWHM 100
        srf = SRF(np.array([400.0, 500.0, 600.0]), np.array([[0.0, 1.0, 0.0]]), ["T"], "tri")
        np.testing.assert_allclose(srf.fwhm, [100.0])
        np.testing.assert_array_equal(srf.centres, [500.0])

    def test_matrix_rows_sum_to_one_and_values(self):
        srf = SRF.gaussian([500.0, 600.0], [40.0, 40.0])
        wl = np.arange(400.0, 701.0, 10.0)
        mat = srf.matrix(wl)
        assert mat.shape == (2, wl.size)
        np.testing.assert_allclose(mat.sum(axis=1), 1.0, rtol=1e-12)
        sigma = 40.0 / (2 * math.sqrt(2 * math.log(2)))
        for b, c in enumerate([500.0, 600.0]):
            # grid step is 1 nm and wl lies on the grid, so interpolation is exact
            expected = scipy.stats.norm.pdf(wl, c, sigma)
            np.testing.assert_allclose(mat[b], expected / expected.sum(), rtol=1e-9, atol=1e-15)

    def test_cave_response_matrix_round_trip(self, data_dir):
        path = data_dir / "srf" / "mhf_net" / "CAVEdata" / "response coefficient.mat"
        wl = np.arange(400, 701, 10)
        srf = SRF.from_mat(path, wavelengths=wl)
        assert srf.band_names == ["R", "G", "B"] and srf.curves.shape == (3, 31)
        R = scipy.io.loadmat(str(path))["R"]  # (31, 3), columns sum to 1
        np.testing.assert_allclose(srf.matrix(wl), R.T, atol=1e-15)

    def test_rosis_mat_needs_wavelengths(self, data_dir):
        path = data_dir / "srf" / "mhf_net" / "ROSIS_Pavia" / "R.mat"
        with pytest.raises(SensorError, match="wavelengths="):
            SRF.from_mat(path)
        srf = SRF.from_mat(path, wavelengths=np.linspace(430, 860, 103))
        assert srf.curves.shape == (4, 103)
        with pytest.raises(ShapeError, match="neither axis"):
            SRF.from_mat(path, wavelengths=np.linspace(430, 860, 50))

    def test_nikon_outside_cave_partial_range(self):
        # CAVE partial scenes have 20 bands, 400-590 nm: red is mostly beyond (refused); green
        # reaches beyond with >= 90 % of its area inside (truncated, with a warning)
        srf = load_srf("nikon_d700")
        with pytest.raises(SensorError, match=r"band\(s\) R \(420-680 nm, 31% of its area "
                                              r"inside\) fall outside") as info:
            srf.matrix(np.arange(400.0, 591.0, 10.0))
        assert "B (" not in str(info.value) and "G (" not in str(info.value)
        assert "400-590 nm" in str(info.value)

    def test_nikon_inside_aviris_range(self):
        mat = load_srf("nikon_d700").matrix(aviris_like_wavelengths())
        assert mat.shape == (3, 204)
        np.testing.assert_allclose(mat.sum(axis=1), 1.0)
        assert np.all(mat[:, aviris_like_wavelengths() > 730] == 0)

    def test_band_overlapping_nothing(self):
        srf = SRF.gaussian([450.0, 550.0], [4.0, 40.0], names=["narrow", "wide"])
        with pytest.raises(SensorError, match="narrow overlap no band"):
            srf.matrix(np.arange(400.0, 701.0, 20.0))  # 440 and 460 both ~5 σ from 450

    def test_band_outside_range_names_it(self):
        srf = SRF.gaussian([500.0, 1000.0], [20.0, 20.0], names=["vis", "nir"])
        with pytest.raises(SensorError, match="nir"):
            srf.matrix(np.arange(400.0, 801.0, 10.0))

    def test_presets(self):
        assert set(SRF_PRESETS) == {"nikon_d700", "sentinel2", "sentinel2_l1c", "landsat8"}
        s2 = load_srf("sentinel2_l1c")
        assert s2.band_names == ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9",
                                 "B10", "B11", "B12"]
        assert load_srf("sentinel2").band_names == [n for n in s2.band_names if n != "B10"]
        assert s2.centres[3] == pytest.approx(664.6) and s2.fwhm[7] == pytest.approx(106.0)
        l8 = load_srf("landsat8")
        assert l8.msi_bands == 7 and l8.centres[4] == pytest.approx(864.67)
        for name in SRF_PRESETS:
            mat = load_srf(name).matrix(aviris_like_wavelengths())
            np.testing.assert_allclose(mat.sum(axis=1), 1.0)

    def test_load_srf_errors(self, tmp_path):
        with pytest.raises(SensorError, match="nikon_d700, sentinel2, sentinel2_l1c, landsat8"):
            load_srf("worldview3")
        with pytest.raises(HsiIOError, match="no such SRF file"):
            load_srf(tmp_path / "missing.csv")
        other = tmp_path / "srf.xyz"
        other.write_text("1 2\n")
        with pytest.raises(FormatError, match="unsupported SRF file type"):
            load_srf(other)

    def test_csv_with_header_and_micrometres(self, tmp_path):
        path = tmp_path / "my_sensor.csv"
        path.write_text("# a comment\nwl;blue;red\n0.40;1;0\n0.50;0.5;0.5\n0.60;0;1\n")
        srf = load_srf(path)
        assert srf.band_names == ["blue", "red"] and srf.name == "my_sensor"
        np.testing.assert_allclose(srf.wavelengths, [400, 500, 600])
        np.testing.assert_array_equal(srf.centres, [400, 600])

    def test_csv_errors(self, tmp_path):
        bad = tmp_path / "bad.csv"
        bad.write_text("wavelength,R\n400,0.1\n410,abc\n")
        with pytest.raises(FormatError, match="line 3"):
            SRF.from_csv(bad)
        ragged = tmp_path / "ragged.csv"
        ragged.write_text("400,0.1,0.2\n410,0.3\n")
        with pytest.raises(FormatError, match="expected 3 columns"):
            SRF.from_csv(ragged)
        decreasing = tmp_path / "dec.csv"
        decreasing.write_text("410,0.1\n400,0.3\n")
        with pytest.raises(FormatError, match="strictly increasing"):
            SRF.from_csv(decreasing)
        with pytest.raises(HsiIOError):
            SRF.from_csv(tmp_path / "nope.csv")

    def test_invalid_curves(self):
        with pytest.raises(SensorError, match="non-negative"):
            SRF(np.array([1.0, 2.0]), np.array([[0.5, -0.1]]))
        with pytest.raises(SensorError, match="no response"):
            SRF(np.array([1.0, 2.0]), np.array([[0.0, 0.0]]))
        with pytest.raises(SensorError, match="band names"):
            SRF(np.array([1.0, 2.0]), np.array([[0.0, 1.0]]), ["a", "b"])
        with pytest.raises(SensorError, match="FWHM"):
            SRF.gaussian([500.0], [0.0])


# ==================================================================== spectral response
class TestSpectralResponse:
    def test_smoke(self, device, dtype):
        x = torch.rand(2, 31, 8, 8, device=device, dtype=dtype)
        m = torch.full((3, 31), 1 / 31, device=device, dtype=dtype)
        assert spectral_response(x, m).shape == (2, 3, 8, 8)

    @pytest.mark.parametrize("lead", [(), (2,), (2, 3)])
    def test_cardinality(self, lead, device, dtype):
        x = torch.rand(*lead, 6, 5, 7, device=device, dtype=dtype)
        out = spectral_response(x, np.ones((4, 6)) / 6)
        assert out.shape == (*lead, 4, 5, 7)

    def test_values(self, device, dtype):
        x = torch.arange(3 * 2 * 2, device=device, dtype=dtype).reshape(3, 2, 2)
        m = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], device=device, dtype=dtype)
        out = spectral_response(x, m)
        torch.testing.assert_close(out[0], (x[0] + x[1]) / 2)
        torch.testing.assert_close(out[1], x[2])
        flat = torch.full((3, 4, 4), 0.25, device=device, dtype=dtype)
        torch.testing.assert_close(spectral_response(flat, m), torch.full((2, 4, 4), 0.25,
                                   device=device, dtype=dtype))

    def test_exception(self):
        with pytest.raises(ShapeError, match="expects 5 bands, input has 6"):
            spectral_response(torch.rand(6, 4, 4), torch.rand(3, 5))
        with pytest.raises(ShapeError):
            spectral_response(torch.rand(4, 4), torch.rand(3, 4))
        with pytest.raises(ShapeError):
            spectral_response(torch.rand(6, 4, 4), torch.rand(3, 6, 1))
        with pytest.raises(ShapeError, match=r"torch\.Tensor"):
            spectral_response(np.ones((6, 4, 4)), torch.rand(3, 6))
        with pytest.raises(SensorError, match="NaN"):
            spectral_response(torch.rand(2, 4, 4), torch.tensor([[0.5, float("nan")]]))

    def test_gradcheck(self, device):
        x = torch.rand(2, 5, 3, 4, device=device, dtype=torch.float64, requires_grad=True)
        m = torch.rand(3, 5, device=device, dtype=torch.float64, requires_grad=True)
        assert gradcheck(spectral_response, (x, m), raise_exception=True, fast_mode=True)

    def test_module(self, device, dtype):
        srf = SRF.gaussian([500.0, 600.0], [40.0, 40.0], names=["g", "r"])
        wl = np.arange(400.0, 701.0, 10.0)
        module = SpectralResponse.from_srf(srf, wl).to(device)
        x = torch.rand(2, wl.size, 6, 6, device=device, dtype=dtype)
        torch.testing.assert_close(module(x), spectral_response(x, srf.matrix(wl)))
        assert repr(module) == "SpectralResponse(hsi_bands=31, msi_bands=2, band_names=['g', 'r'])"

    def test_dynamo(self, device, dtype):
        x = torch.rand(1, 6, 4, 4, device=device, dtype=dtype)
        m = torch.rand(2, 6, device=device, dtype=dtype)
        torch.testing.assert_close(_compile_eager(spectral_response)(x, m), spectral_response(x, m))


# ========================================================================= Gaussian PSF
class TestGaussianPSF:
    def test_smoke(self, device, dtype):
        x = torch.rand(2, 5, 16, 16, device=device, dtype=dtype)
        assert gaussian_psf(x, 1.0).shape == x.shape

    @pytest.mark.parametrize("lead", [(), (2,), (2, 3)])
    def test_cardinality(self, lead, device, dtype):
        x = torch.rand(*lead, 4, 13, 17, device=device, dtype=dtype)
        assert gaussian_psf(x, 2.0).shape == x.shape

    def test_kernel_size_and_sum(self):
        assert psf_kernel_size(2.0) == 13 and psf_kernel_size(0.5) == 5
        assert psf_kernel_size(1.1) == 9
        k = gaussian_psf_kernel(1.5, dtype=torch.float64)
        assert k.shape == (11, 11)
        assert float(k.sum()) == pytest.approx(1.0, abs=1e-12)

    def test_constant_image_stays_constant(self, device, dtype):
        x = torch.full((3, 12, 9), 0.7, device=device, dtype=dtype)
        torch.testing.assert_close(gaussian_psf(x, 2.0), x)

    def test_impulse_response_is_sampled_gaussian(self, device):
        sigma, size = 1.5, 21
        x = torch.zeros(1, size, size, device=device, dtype=torch.float64)
        x[0, 10, 10] = 1.0
        out = gaussian_psf(x, sigma)[0].cpu().numpy()
        r = math.ceil(3 * sigma)
        g = scipy.stats.norm.pdf(np.arange(-r, r + 1), scale=sigma)
        g /= g.sum()
        expected = np.zeros((size, size))
        expected[10 - r:10 + r + 1, 10 - r:10 + r + 1] = np.outer(g, g)
        np.testing.assert_allclose(out, expected, atol=1e-12)
        assert out.sum() == pytest.approx(1.0, abs=1e-12)

    def test_against_scipy_reflect_border(self, rng):
        x = rng.random((3, 15, 20))
        sigma = 1.7
        r = math.ceil(3 * sigma)
        expected = np.stack([scipy.ndimage.gaussian_filter(b, sigma, mode="mirror",
                                                           truncate=r / sigma) for b in x])
        out = gaussian_psf(torch.from_numpy(x), sigma).numpy()
        np.testing.assert_allclose(out, expected, atol=1e-12)

    def test_exception(self):
        x = torch.rand(2, 16, 16)
        for bad in (0, -1.0, float("nan"), "wide"):
            with pytest.raises(SensorError, match="sigma"):
                gaussian_psf(x, bad)
        with pytest.raises(ShapeError, match="too small"):
            gaussian_psf(torch.rand(2, 6, 16), 2.0)  # kernel 13 needs H > 6
        with pytest.raises(ShapeError):
            gaussian_psf(torch.rand(16, 16), 1.0)
        with pytest.raises(SensorError):
            GaussianPSF(-2)

    def test_gradcheck(self, device):
        x = torch.rand(1, 2, 8, 8, device=device, dtype=torch.float64, requires_grad=True)
        assert gradcheck(lambda t: gaussian_psf(t, 1.0), (x,), raise_exception=True,
                         fast_mode=True)

    def test_module(self, device, dtype):
        x = torch.rand(2, 3, 16, 16, device=device, dtype=dtype)
        module = GaussianPSF(1.3)
        torch.testing.assert_close(module(x), gaussian_psf(x, 1.3))
        assert repr(module) == "GaussianPSF(sigma=1.3, kernel_size=9, border_type='reflect')"

    def test_dynamo(self, device, dtype):
        x = torch.rand(1, 3, 16, 16, device=device, dtype=dtype)
        module = GaussianPSF(1.0)
        torch.testing.assert_close(_compile_eager(module)(x), module(x))


# ============================================================================= decimate
def _ramp(h: int, w: int, device, dtype) -> torch.Tensor:
    rows = torch.arange(h, device=device, dtype=dtype)[:, None]
    cols = torch.arange(w, device=device, dtype=dtype)[None, :]
    return (100 * rows + cols)[None]  # (1, h, w): value 100·row + col


class TestDecimate:
    def test_smoke(self, device, dtype):
        assert decimate(torch.rand(3, 10, 9, device=device, dtype=dtype), 4).shape == (3, 2, 2)

    @pytest.mark.parametrize("lead", [(), (2,), (2, 3)])
    @pytest.mark.parametrize("ratio", [2, 3, 4, 5])
    def test_cardinality(self, lead, ratio, device, dtype):
        x = torch.rand(*lead, 2, 21, 16, device=device, dtype=dtype)
        assert decimate(x, ratio).shape == (*lead, 2, 21 // ratio, 16 // ratio)

    def test_odd_ratio_keeps_block_centre(self, device, dtype):
        out = decimate(_ramp(9, 12, device, dtype), 3)[0]
        centres_r = torch.tensor([1, 4, 7], device=device, dtype=dtype)[:, None]
        centres_c = torch.tensor([1, 4, 7, 10], device=device, dtype=dtype)[None, :]
        torch.testing.assert_close(out, 100 * centres_r + centres_c, rtol=0, atol=0)

    def test_even_ratio_means_central_two_by_two(self, device, dtype):
        out = decimate(_ramp(10, 8, device, dtype), 4)[0]  # last 2 rows dropped
        centres_r = torch.tensor([1.5, 5.5], device=device, dtype=dtype)[:, None]
        centres_c = torch.tensor([1.5, 5.5], device=device, dtype=dtype)[None, :]
        torch.testing.assert_close(out, 100 * centres_r + centres_c, rtol=0, atol=0)
        # ratio 2: the mean of each whole 2×2 block
        x = torch.rand(2, 6, 4, device=device, dtype=dtype)
        expected = x.reshape(2, 3, 2, 2, 2).mean(dim=(2, 4))
        torch.testing.assert_close(decimate(x, 2), expected)

    def test_exception(self):
        x = torch.rand(2, 8, 8)
        for bad in (1, 0, 2.5, "x", None):
            with pytest.raises(SensorError, match="ratio"):
                decimate(x, bad)
        with pytest.raises(ShapeError, match="smaller than the decimation ratio"):
            decimate(torch.rand(2, 3, 8), 4)
        with pytest.raises(SensorError):
            Decimate(1)

    def test_gradcheck(self, device):
        x = torch.rand(1, 2, 8, 8, device=device, dtype=torch.float64, requires_grad=True)
        for r in (2, 3):
            assert gradcheck(lambda t, r=r: decimate(t, r), (x,), raise_exception=True)

    def test_module(self, device, dtype):
        x = torch.rand(2, 3, 12, 12, device=device, dtype=dtype)
        torch.testing.assert_close(Decimate(4)(x), decimate(x, 4))
        assert repr(Decimate(4)) == "Decimate(ratio=4, sample='mean of central 2×2')"
        assert repr(Decimate(3)) == "Decimate(ratio=3, sample='centre pixel')"

    def test_dynamo(self, device, dtype):
        x = torch.rand(1, 3, 12, 12, device=device, dtype=dtype)
        torch.testing.assert_close(_compile_eager(decimate)(x, 3), decimate(x, 3))


class TestWaldDegradation:
    def test_sequential(self, device, dtype):
        x = torch.rand(2, 3, 24, 24, device=device, dtype=dtype)
        model = wald_degradation(4)
        assert isinstance(model[0], GaussianPSF) and model[0].sigma == 2.0
        assert isinstance(model[1], Decimate) and model[1].ratio == 4
        torch.testing.assert_close(model(x), decimate(gaussian_psf(x, 2.0), 4))
        assert wald_degradation(3, sigma=0.8)[0].sigma == 0.8

    def test_gradcheck(self, device):
        x = torch.rand(1, 2, 12, 12, device=device, dtype=torch.float64, requires_grad=True)
        assert gradcheck(wald_degradation(3), (x,), raise_exception=True, fast_mode=True)

    def test_exception(self):
        with pytest.raises(SensorError):
            wald_degradation(1)
        with pytest.raises(SensorError):
            wald_degradation(4, sigma=0)


# ======================================================================== simulate_pair
def _synthetic_cube(h=37, w=42, bands=61, seed=0) -> Cube:
    rng = np.random.default_rng(seed)
    return Cube(rng.random((bands, h, w)).astype(np.float32),
                wavelengths=np.linspace(400.0, 1000.0, bands),
                crs=CRS.from_epsg(32610), transform=Affine(30.0, 0, 600000.0, 0, -30.0, 4100000.0),
                name="synth")


class TestSimulatePair:
    SRF3 = SRF.gaussian([500.0, 650.0, 850.0], [40.0, 40.0, 60.0], names=["g", "r", "n"],
                        name="three")

    def test_shapes_and_metadata(self):
        cube = _synthetic_cube()
        lr, hr = simulate_pair(cube, 4, self.SRF3)
        assert lr.shape == (61, 9, 10) and hr.shape == (3, 36, 40)
        assert lr.dtype == np.float32 and hr.dtype == np.float32
        np.testing.assert_array_equal(lr.wavelengths, cube.wavelengths)
        np.testing.assert_array_equal(hr.wavelengths, [500.0, 650.0, 850.0])
        np.testing.assert_array_equal(hr.fwhm, [40.0, 40.0, 60.0])
        assert lr.crs == cube.crs and hr.crs == cube.crs
        assert hr.metadata["band_names"] == ["g", "r", "n"]
        assert lr.metadata["ratio"] == 4 and lr.metadata["psf_sigma"] == 2.0

    def test_values(self):
        cube = _synthetic_cube()
        lr, hr = simulate_pair(cube, 3, self.SRF3, psf_sigma=1.2)
        ref = np.asarray(cube.data[:, :36, :42], dtype=np.float64)
        np.testing.assert_allclose(hr.data, np.einsum("mc,chw->mhw",
                                   self.SRF3.matrix(cube.wavelengths), ref), rtol=1e-5, atol=1e-6)
        r = math.ceil(3 * 1.2)
        blurred = np.stack([scipy.ndimage.gaussian_filter(b, 1.2, mode="mirror", truncate=r / 1.2)
                            for b in ref])
        np.testing.assert_allclose(lr.data, blurred[:, 1::3, 1::3], rtol=1e-5, atol=1e-6)

    def test_transform(self):
        cube = _synthetic_cube()
        for ratio in (3, 4):
            lr, hr = simulate_pair(cube, ratio, self.SRF3)
            assert hr.transform == cube.transform
            assert lr.transform == cube.transform @ Affine.scale(ratio)
            # centre of LR pixel (0, 0) is the centre of HR block (0, 0)
            assert lr.transform @ (0.5, 0.5) == pytest.approx(hr.transform @ (ratio / 2,
                                                                              ratio / 2))
            assert lr.bounds[0] == hr.bounds[0] and lr.bounds[3] == hr.bounds[3]  # same origin
            assert lr.bounds == pytest.approx(hr.bounds)

    @pytest.mark.parametrize("ratio", [3, 4])
    def test_lr_pixels_sit_on_their_map_coordinates(self, ratio):
        # a cube whose value is the map x (plus y) of each pixel centre: a symmetric blur keeps a
        # linear ramp, so away from the border each LR pixel must hold its own centre's value
        h = w = 10 * ratio
        t = Affine(30.0, 0, 600000.0, 0, -30.0, 4100000.0)
        cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
        xs, ys = t @ (cols, rows)
        plane = ((xs - 600000.0) + 0.5 * (4100000.0 - ys)) / 1000.0
        cube = Cube(np.repeat(plane[None], 61, 0), wavelengths=np.linspace(400, 1000, 61),
                    transform=t)
        lr, _ = simulate_pair(cube, ratio, self.SRF3)
        lc, lrw = np.meshgrid(np.arange(10) + 0.5, np.arange(10) + 0.5)
        lx, ly = lr.transform @ (lc, lrw)
        expected = ((lx - 600000.0) + 0.5 * (4100000.0 - ly)) / 1000.0
        inner = slice(2, 8)  # more than 3σ = 1.5·ratio HR pixels from the border
        np.testing.assert_allclose(lr.data[0][inner, inner], expected[inner, inner], rtol=1e-5)

    def test_rgb_camera_keeps_its_band_order(self):
        cube = Cube(np.random.default_rng(1).random((31, 16, 16)),
                    wavelengths=np.arange(400.0, 701.0, 10.0))
        _, hr = simulate_pair(cube, 2, "nikon_d700")
        np.testing.assert_array_equal(hr.wavelengths, [590.0, 530.0, 460.0])  # R, G, B peaks
        assert hr.fwhm is not None and hr.fwhm.size == 3
        assert hr.metadata["band_names"] == ["R", "G", "B"]
        assert hr.transform is None

    def test_exception(self):
        cube = _synthetic_cube()
        with pytest.raises(WavelengthError, match="no wavelengths"):
            simulate_pair(Cube(cube.data), 4, self.SRF3)
        for bad in (1, 2.5, "four"):
            with pytest.raises(SensorError, match="ratio"):
                simulate_pair(cube, bad, self.SRF3)
        with pytest.raises(SensorError, match="unknown sensor"):
            simulate_pair(cube, 4, "quickbird9")
        with pytest.raises(SensorError, match=r"B11 \("):  # 400-1000 nm cube, SWIR bands
            simulate_pair(cube, 4, "sentinel2")
        with pytest.raises(ShapeError):
            simulate_pair(cube.crop(__import__("rasterio").windows.Window(0, 0, 3, 3)), 4,
                          self.SRF3)
        with pytest.raises(SensorError, match="sigma"):
            simulate_pair(cube, 4, self.SRF3, psf_sigma=-1)

    def test_crop_to_ratio(self):
        cube = _synthetic_cube(h=37, w=42)
        out = crop_to_ratio(cube, 4)
        assert out.shape == (61, 36, 40) and out.transform == cube.transform
        assert crop_to_ratio(out, 4) is out

    def test_salinas_a_sentinel2(self, data_dir):
        mat = scipy.io.loadmat(str(data_dir / "salinas_a" / "salinasA_corrected.mat"))
        data = np.transpose(mat["salinasA_corrected"], (2, 0, 1))  # (204, 83, 86) int16
        cube = Cube(data, wavelengths=aviris_like_wavelengths(), name="salinas_a")
        lr, hr = simulate_pair(cube, 4, "sentinel2")
        assert lr.shape == (204, 20, 21) and hr.shape == (12, 80, 84)
        ref = data[:, :80, :84].astype(np.float64)
        matrix = load_srf("sentinel2").matrix(cube.wavelengths)
        np.testing.assert_allclose(hr.data, np.einsum("mc,chw->mhw", matrix, ref), rtol=1e-5,
                                   atol=1e-2)
        # blur + decimation keeps the scene's mean radiance per band within 1 %
        np.testing.assert_allclose(lr.data.mean(axis=(1, 2)), ref.mean(axis=(1, 2)), rtol=0.01,
                                   atol=1.0)
        # fields of vegetation: NIR (B8) brighter than red (B4) on average
        assert hr.data[7].mean() > 1.2 * hr.data[3].mean()


# ================================================================ normalize_reflectance
class TestNormalizeReflectance:
    def test_integer_cube_percentile(self, rng):
        data = rng.integers(0, 5000, size=(4, 20, 20)).astype(np.int16)
        cube, scale = normalize_reflectance(Cube(data))
        assert scale == pytest.approx(np.percentile(data.astype(np.float64), 99.9))
        assert cube.dtype == np.float32
        np.testing.assert_allclose(cube.data, data / scale, rtol=1e-6)

    def test_float_reflectance_untouched(self, rng):
        data = rng.random((3, 8, 8)).astype(np.float32)
        cube, scale = normalize_reflectance(Cube(data))
        assert scale == 1.0
        np.testing.assert_array_equal(cube.data, data)

    def test_metadata_max_value_and_nodata(self):
        data = np.array([[[0, 2500], [5000, -9999]]], dtype=np.int16)
        cube, scale = normalize_reflectance(Cube(data, nodata=-9999, metadata={"maxValue": 5000}))
        assert scale == 5000.0
        np.testing.assert_array_equal(cube.data, np.array([[[0, 0.5], [1.0, -9999]]], np.float32))
        assert cube.nodata == -9999

    def test_lazy_stays_lazy(self, rng):
        import dask.array as da

        data = da.from_array(rng.integers(0, 100, size=(2, 16, 16)), chunks=(1, 8, 8))
        cube, scale = normalize_reflectance(Cube(data))
        assert cube.is_lazy and scale > 0
        np.testing.assert_allclose(np.asarray(cube.data), np.asarray(data) / scale, rtol=1e-6)

    def test_no_valid_pixels(self):
        with pytest.raises(SensorError):
            normalize_reflectance(Cube(np.zeros((2, 4, 4), np.int16)))


def test_spread_sample_of_a_lazy_cube():
    """Every chunk read: exactly the values of ``[:, ::s, ::s]``, band by band; more chunks than
    the cap: only that many are read, spread over the grid, and the sample keeps its size."""
    import dask.array as da

    from hsi.bands import spread_sample

    x = np.random.default_rng(0).random((5, 103, 97))
    lazy = da.from_array(x, chunks=(5, 17, 30))  # 7 × 4 = 28 chunks
    for step in (1, 3, 11):
        got = spread_sample(lazy, values=x.size // step**2 + 1, max_chunks=28)
        assert got.shape[0] == 5
        for b in range(5):
            np.testing.assert_array_equal(np.sort(got[b]), np.sort(x[b, ::step, ::step].ravel()))
    got = spread_sample(lazy, values=4000, max_chunks=4)
    rows = {int(np.flatnonzero((x == v).any(axis=(0, 2)))[0]) // 17 for v in got.ravel()}
    assert rows == {0, 2, 4, 6}  # chunks 0, 9, 18, 27 of 28: block rows 0, 2, 4 and 6
    assert 0.5 * 4000 <= got.size <= 2 * 4000


def test_spread_sample_reads_a_file_once(tmp_path, monkeypatch):
    """Issue 16: the reflectance scale, the empty bands and the undeclared-zeros check of one
    lazy file read its blocks once (they read the same sample); a rewritten file is read again,
    and the sample handed out cannot be changed by a caller."""
    import hsi
    from hsi.bands import empty_bands
    from hsi.degrade import warn_if_zeros_undeclared
    from hsi.io.geotiff import GeoTiffArray

    path = tmp_path / "scene.tif"
    x = np.random.default_rng(1).random((3, 64, 48)).astype(np.float32)
    hsi.save(Cube(x, wavelengths=[500.0, 600.0, 700.0]), path)
    reads = []
    real = GeoTiffArray.__getitem__
    monkeypatch.setattr(GeoTiffArray, "__getitem__",
                        lambda self, key: reads.append(key) or real(self, key))
    cube = hsi.open(path, lazy=True)
    assert cube.is_lazy and reflectance_scale(cube) == 1.0
    first = len(reads)
    assert first > 0
    assert empty_bands(cube).size == 0
    warn_if_zeros_undeclared(cube)
    assert len(reads) == first  # the same sample, not read again
    from hsi.bands import spread_sample

    with pytest.raises(ValueError):
        spread_sample(cube.data)[0, 0] = 5.0
    import os
    import time

    time.sleep(0.01)
    hsi.save(Cube(x[:, ::-1].copy(), wavelengths=[500.0, 600.0, 700.0]), path)
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    assert empty_bands(hsi.open(path, lazy=True)).size == 0
    assert len(reads) > first  # a new file: read


class TestReflectanceScale:
    """Issue 16: the divisor alone, without building (and discarding) a normalised cube."""

    def test_equals_normalize_reflectance_on_the_shipped_sample(self):
        from hsi.data import sample_cube

        cube = sample_cube()
        assert reflectance_scale(cube) == normalize_reflectance(cube)[1] == 1.0
        counts = Cube(np.round(cube.data * 10000).astype(np.int16), wavelengths=cube.wavelengths)
        scale = reflectance_scale(counts)
        assert scale == normalize_reflectance(counts)[1]
        assert scale == pytest.approx(np.percentile(counts.data.astype(np.float64), 99.9))
        assert 1000 < scale < 10000  # AVIRIS counts: reflectance × 10 000
        counts.metadata["maxValue"] = 4095
        assert reflectance_scale(counts) == normalize_reflectance(counts)[1] == 4095.0

    def test_lazy_geotiff_is_sampled_never_loaded(self, tmp_path, monkeypatch):
        """A lazy file is read chunk by chunk: no whole-cube compute, no read over a chunk."""
        import dask.array as da

        import hsi.io
        from hsi.io.geotiff import GeoTiffArray
        from tests.io.big_cubes import COLLAR, NODATA, pattern, write_big_geotiff

        shape = (4, 1024, 1024)  # 4.2 M values: sampled with a stride of 2
        path = write_big_geotiff(tmp_path / "big.tif", shape=shape)
        cube = hsi.io.open(path, lazy=True)
        chunk_bytes = shape[0] * 256 * 256 * 2
        computed, reads = [], []
        real_compute, real_read = da.Array.compute, GeoTiffArray._read

        def compute(self, *args, **kwargs):
            computed.append(self.nbytes)
            return real_compute(self, *args, **kwargs)

        def read(self, *args):
            out = real_read(self, *args)
            reads.append(out.nbytes)
            return out

        def no_compute(self):
            raise AssertionError("the whole cube was loaded")

        monkeypatch.setattr(da.Array, "compute", compute)
        monkeypatch.setattr(GeoTiffArray, "_read", read)
        monkeypatch.setattr(Cube, "compute", no_compute)
        scale = reflectance_scale(cube)
        assert computed and max(computed) <= chunk_bytes
        assert reads and max(reads) <= chunk_bytes
        monkeypatch.undo()
        rows = cols = np.arange(0, 1024, 2)
        sample = np.stack([pattern(b, rows, cols) for b in range(shape[0])]).astype(np.float64)
        assert sample[:, : COLLAR // 2].max() == NODATA
        expected = np.percentile(sample[sample != NODATA], 99.9)
        assert scale == pytest.approx(expected) and scale > 0
        assert scale == normalize_reflectance(cube)[1]


class TestBandOrderAndTruncation:
    """Issue 12: a camera's R, G, B order is kept; a band mostly inside the range is truncated."""

    def test_band_mostly_inside_is_truncated_and_renormalised(self, caplog):
        srf = SRF.gaussian([440.0, 550.0], [40.0, 40.0], names=["b", "g"], name="edge")
        wl = np.arange(410.0, 701.0, 10.0)
        with caplog.at_level("WARNING", logger="hsi.srf"):
            m = srf.matrix(wl)
        np.testing.assert_allclose(m.sum(1), 1.0)
        (line,) = [r.getMessage() for r in caplog.records]
        assert "b (" in line and "truncated" in line and "\n" not in line
        assert srf.area_inside(410.0, 700.0)[0] == pytest.approx(0.962, abs=0.01)

    def test_band_mostly_outside_is_refused(self):
        srf = SRF.gaussian([410.0, 550.0], [40.0, 40.0], names=["b", "g"], name="edge")
        with pytest.raises(SensorError, match=r"band\(s\) b \(.*% of its area inside"):
            srf.matrix(np.arange(410.0, 701.0, 10.0))

    def test_camera_bands_keep_their_order_through_files(self, tmp_path):
        from click.testing import CliRunner

        import hsi
        from hsi.cli.main import cli

        wl = np.arange(400.0, 701.0, 10.0)
        rng = np.random.default_rng(0)
        ref = Cube(rng.random((31, 32, 32), dtype=np.float32), wavelengths=wl)
        lr, msi = simulate_pair(ref, 4, "nikon_d700")
        assert np.all(np.diff(msi.wavelengths) < 0)  # R, G, B: decreasing band centres
        hsi.save(lr, tmp_path / "lr.tif")
        hsi.save(msi, tmp_path / "rgb.tif")
        back = hsi.open(tmp_path / "rgb.tif")
        np.testing.assert_allclose(back.wavelengths, msi.wavelengths)
        result = CliRunner().invoke(cli, ["fuse", str(tmp_path / "lr.tif"),
                                          str(tmp_path / "rgb.tif"), "-o",
                                          str(tmp_path / "out.tif"), "--method", "glp",
                                          "--ratio", "4"])
        assert result.exit_code == 0, result.output
        assert hsi.open(tmp_path / "out.tif").shape == (31, 32, 32)


def test_kernel_blur_decimate_box_averages_the_block():
    from hsi.degrade import kernel_blur_decimate

    x = torch.arange(36.0).reshape(1, 6, 6)
    box = torch.full((3, 3), 1 / 9)
    out = kernel_blur_decimate(x, box, 3)  # odd ratio: the block's centre pixel after blur
    # the 3x3 box centred on a block's centre is that block's mean
    blocks = x.reshape(1, 2, 3, 2, 3).mean(dim=(2, 4))
    torch.testing.assert_close(out, blocks)


def test_kernel_blur_decimate_matches_the_gaussian_path():
    from hsi.degrade import gaussian_psf_kernel, kernel_blur_decimate, wald_degradation

    x = torch.rand(2, 4, 32, 32, dtype=torch.float64)
    k = gaussian_psf_kernel(2.0, dtype=torch.float64)
    torch.testing.assert_close(kernel_blur_decimate(x, k, 4), wald_degradation(4, 2.0)(x))


@pytest.mark.parametrize("ratio", [2, 3, 4, 5, 8])
@pytest.mark.parametrize("shape", [(3, 40, 37), (2, 3, 64, 66)])
def test_gaussian_blur_decimate_equals_blur_then_decimate(shape, ratio):
    from hsi.degrade import gaussian_blur_decimate

    x = torch.rand(*shape, generator=torch.Generator().manual_seed(ratio))
    for sigma in (0.7, ratio / 2, 2.7):
        expected = decimate(gaussian_psf(x, sigma), ratio)
        got = gaussian_blur_decimate(x, sigma, ratio)
        assert got.shape == expected.shape
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("ratio", [2, 3, 4])
@pytest.mark.parametrize("kernel_shape", [(3, 3), (4, 5), (1, 3)])
def test_kernel_blur_decimate_equals_dense_blur_then_decimate(kernel_shape, ratio):
    from torch.nn import functional as F

    from hsi.degrade import kernel_blur_decimate

    g = torch.Generator().manual_seed(7)
    x, k = torch.rand(3, 30, 29, generator=g), torch.rand(*kernel_shape, generator=g)
    kh, kw = k.shape
    padded = F.pad(x[None], (kw // 2, kw - 1 - kw // 2, kh // 2, kh - 1 - kh // 2),
                   mode="reflect")
    blurred = F.conv2d(padded, k[None, None].expand(3, 1, kh, kw), groups=3)[0]
    torch.testing.assert_close(kernel_blur_decimate(x, k, ratio), decimate(blurred, ratio),
                               atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("psf", [None, 1.3, Psf(2.0, (0.25, -0.5)), Psf(3.0, (1.0, 0.0))])
@pytest.mark.parametrize("ratio", [2, 4])
def test_blur_decimate_is_its_two_axis_passes(psf, ratio):
    # the PSF estimate reuses a column pass across row shifts: it must be blur_decimate's own
    x = torch.rand(2, 3, 40, 36, generator=torch.Generator().manual_seed(ratio))
    columns = blur_decimate_axis(x, psf, ratio, -1)
    assert columns.shape == (2, 3, 40, 36 // ratio)
    assert torch.equal(blur_decimate_axis(columns, psf, ratio, -2), blur_decimate(x, psf, ratio))
    with pytest.raises(ShapeError, match="dim must be"):
        blur_decimate_axis(x, psf, ratio, 0)
