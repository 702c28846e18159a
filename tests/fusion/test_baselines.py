"""Classical fusion baselines: shapes, exact cases, real-data margins over bicubic, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hsi.degrade import decimate, gaussian_psf, simulate_pair
from hsi.errors import SensorError, ShapeError
from hsi.fusion.baselines import (
    BASELINES,
    bicubic,
    cnmf,
    estimate_srf,
    glp,
    glp_moments,
    gsa,
)
from hsi.metrics import psnr, sam


def _lowres(x: torch.Tensor, ratio: int) -> torch.Tensor:
    return decimate(gaussian_psf(x[None], ratio / 2), ratio)[0]


def _smooth_field(rng, k: int, size: int, blur: float = 3.0) -> np.ndarray:
    """k smooth positive random fields (k, size, size)."""
    noise = torch.as_tensor(rng.standard_normal((1, k, size, size)), dtype=torch.float32)
    return gaussian_psf(noise, blur)[0].numpy()


@pytest.fixture(scope="module")
def salinas_pair(data_dir):
    """Wald-simulated Salinas-A (80×84 reference, 204 bands) with the Sentinel-2 sensor at x4."""
    from hsi.data import load
    from hsi.degrade import crop_to_ratio, normalize_reflectance

    cube, _ = normalize_reflectance(load("salinas_a", root=data_dir).cube)
    lr, msi = simulate_pair(cube, 4, "sentinel2")
    ref = np.asarray(crop_to_ratio(cube, 4).data, dtype=np.float32)
    return torch.as_tensor(ref), torch.as_tensor(lr.data), torch.as_tensor(msi.data)


@pytest.fixture(scope="module")
def salinas_scores(salinas_pair):
    ref, lr, msi = salinas_pair
    estimates = {name: fn(lr, msi, 4) for name, fn in BASELINES.items()}
    return {name: (psnr(ref, est), sam(ref, est)) for name, est in estimates.items()}


class TestRegistry:
    def test_names(self):
        assert set(BASELINES) == {"bicubic", "glp", "gsa", "cnmf"}

    @pytest.mark.parametrize("name", sorted(BASELINES))
    @pytest.mark.parametrize(("bands", "msi_bands", "ratio", "h"), [(5, 3, 4, 8), (31, 1, 2, 9),
                                                                     (12, 4, 8, 6)])
    def test_cardinality(self, name, bands, msi_bands, ratio, h, device, rng):
        lr = torch.as_tensor(rng.random((bands, h, h + 1)), dtype=torch.float32, device=device)
        msi = torch.as_tensor(rng.random((msi_bands, h * ratio, (h + 1) * ratio)),
                              dtype=torch.float32, device=device)
        kwargs = {"srf_matrix": None, "psf_sigma": None}
        if name == "cnmf":
            kwargs["srf_matrix"] = torch.full((msi_bands, bands), 1.0 / bands)
        est = BASELINES[name](lr, msi, ratio, **kwargs)
        assert est.shape == (bands, h * ratio, (h + 1) * ratio)
        assert est.device == lr.device
        assert est.dtype == torch.float32
        assert torch.isfinite(est).all()
        assert (est >= 0).all()

    @pytest.mark.parametrize("name", sorted(BASELINES))
    def test_accepts_numpy(self, name, rng):
        lr = rng.random((4, 6, 6))
        msi = rng.random((2, 24, 24))
        est = BASELINES[name](lr, msi, 4)
        assert isinstance(est, torch.Tensor) and est.shape == (4, 24, 24)


class TestBicubic:
    def test_constant_stays_constant(self):
        est = bicubic(torch.full((3, 7, 5), 0.3), 4)
        assert est.shape == (3, 28, 20)
        torch.testing.assert_close(est, torch.full((3, 28, 20), 0.3), atol=1e-6, rtol=0)

    def test_interpolates_at_block_centres(self, rng):
        # Odd ratio: LR pixel i sits exactly on HR pixel i * r + r // 2 (block centre, as
        # hsi.degrade.decimate samples), where an interpolating kernel returns the LR value.
        lr = torch.as_tensor(rng.random((2, 5, 6)), dtype=torch.float32)
        est = bicubic(lr, 3)
        torch.testing.assert_close(est[:, 1::3, 1::3], lr.clamp_min(0), atol=1e-5, rtol=0)

    def test_no_half_pixel_shift_at_even_ratio(self):
        # A ramp sampled at the block centres i * r + (r - 1) / 2 comes back centred on the HR
        # ramp: the mean error inside the image is zero (a shifted grid would give ±0.5).
        r = 4
        x_lr = torch.arange(16, dtype=torch.float32) * r + (r - 1) / 2
        est = bicubic(x_lr.expand(1, 6, 16), r)[0, 8, 8:-8]
        error = est - torch.arange(64, dtype=torch.float32)[8:-8]
        assert abs(float(error.mean())) < 1e-3
        assert float(error.abs().max()) < 0.2  # Keys a = -0.75 ripples, it does not drift

    def test_clamped_at_zero(self):
        lr = torch.zeros(1, 6, 6)
        lr[0, 3, 3] = 1.0  # bicubic overshoots negative around a spike
        assert bicubic(lr, 4).min() == 0


class TestGLP:
    def test_flat_msi_gives_bicubic(self, rng):
        lr = torch.as_tensor(rng.random((6, 8, 8)), dtype=torch.float32)
        msi = torch.full((3, 32, 32), 0.5)
        torch.testing.assert_close(glp(lr, msi, 4), bicubic(lr, 4), atol=1e-6, rtol=0)

    def test_flat_floor_leaves_real_detail_alone(self, monkeypatch):
        # the ridge floor against float rounding must not damp a real scene's detail: on the
        # shipped Salinas-A sample (Sentinel-2, x4) GLP equals GLP without any floor (a floor
        # of 1e-6 of the level cost 1.1 dB here)
        import hsi.fusion.baselines as baselines
        from hsi.data import sample_cube
        from hsi.degrade import crop_to_ratio

        ref = sample_cube()
        lr, msi = simulate_pair(ref, 4, "sentinel2")
        truth = torch.as_tensor(np.asarray(crop_to_ratio(ref, 4).data))
        lr, msi = (torch.as_tensor(np.asarray(c.data)) for c in (lr, msi))
        with_floor = psnr(truth.numpy(), glp(lr, msi, 4).numpy())
        monkeypatch.setattr(baselines, "FLAT_VARIANCE", 0.0)
        without = psnr(truth.numpy(), glp(lr, msi, 4).numpy())
        assert abs(float(with_floor) - float(without)) < 0.02

    def test_exact_for_affine_function_of_msi(self, rng):
        # If every HSI band is an affine combination of the MSI bands, the regression finds
        # those gains at low resolution and GLP reconstructs the HR cube exactly:
        # up(A lowres(M) + c) + A (M - up(lowres(M))) = A M + c (bicubic is linear).
        msi = torch.as_tensor(0.5 + 0.2 * _smooth_field(rng, 3, 48, blur=1.0))
        a = torch.as_tensor(rng.random((7, 3)), dtype=torch.float32)
        c = torch.as_tensor(rng.random(7), dtype=torch.float32)
        ref = torch.einsum("bm,mhw->bhw", a, msi) + c[:, None, None]
        lr = _lowres(ref, 4)
        est = glp(lr, msi, 4)
        torch.testing.assert_close(est, ref, atol=2e-4, rtol=0)
        assert psnr(ref, bicubic(lr, 4)) < psnr(ref, est) - 30

    def test_psf_sigma_is_used(self, rng):
        msi = torch.as_tensor(0.5 + 0.2 * _smooth_field(rng, 2, 32, blur=1.0))
        lr = _lowres(msi[:1] * 0.7, 4)
        assert not torch.allclose(glp(lr, msi, 4, psf_sigma=1.0), glp(lr, msi, 4))

    def test_moments_give_the_same_gains(self, rng):
        lr = torch.as_tensor(rng.random((5, 8, 8)), dtype=torch.float32)
        msi = torch.as_tensor(rng.random((3, 32, 32)), dtype=torch.float32)
        top = glp_moments(lr, msi, 4, rows=slice(0, 3))
        bottom = glp_moments(lr, msi, 4, rows=slice(3, None))
        gains, _ = (top + bottom).solve()
        torch.testing.assert_close(glp(lr, msi, 4, gains=gains), glp(lr, msi, 4),
                                   atol=1e-5, rtol=0)

    def test_core_moments_need_only_the_core(self, rng):
        """The statistics pass gives the LR core alone (no margin) with the window's MSI."""
        from hsi.errors import ShapeError
        from hsi.fusion.baselines import RegressionMoments, glp_core_moments

        lr = torch.as_tensor(rng.random((5, 8, 8)), dtype=torch.float32)
        msi = torch.as_tensor(rng.random((3, 32, 32)), dtype=torch.float32)
        rows, cols = slice(2, 7), slice(1, 5)
        core = glp_core_moments(lr[:, rows, cols].clone(), msi, 4, rows, cols)
        full = glp_moments(lr, msi, 4, rows=rows, cols=cols)
        for name in ("x_mean", "y_mean", "xx", "xy", "yy"):
            torch.testing.assert_close(getattr(core, name), getattr(full, name))
        assert core.n == full.n == 20
        with pytest.raises(ShapeError, match="lr_core is"):
            glp_core_moments(lr[:, :4, :4], msi, 4, rows, cols)
        # moments by chunks (RegressionMoments.of above MOMENT_CHUNK samples) equal one pass
        y, x = torch.rand(4, 20000, dtype=torch.float64), torch.rand(2, 20000, dtype=torch.float64)
        whole = RegressionMoments.of(y, x)
        torch.testing.assert_close(whole.xy, (x - x.mean(1, keepdim=True))
                                   @ (y - y.mean(1, keepdim=True)).T)
        torch.testing.assert_close(whole.yy, (y - y.mean(1, keepdim=True)).pow(2).sum(1))

    def test_beats_bicubic_on_real_data(self, salinas_scores):
        # measured 80×84 Salinas-A, Sentinel-2 (12 Level-2A bands), x4: bicubic 44.3 dB /
        # 1.57°, GLP 56.2 dB / 0.34° (59.1 dB with the 13-band preset's B10, which was made up
        # from the very bands around the removed 1363-1422 nm water bands it then "restored")
        bic_psnr, bic_sam = salinas_scores["bicubic"]
        glp_psnr, glp_sam = salinas_scores["glp"]
        assert 42.0 < bic_psnr < 46.0
        assert glp_psnr > bic_psnr + 10.0
        assert glp_sam < 0.3 * bic_sam


class TestGSA:
    def test_beats_bicubic_on_real_data(self, salinas_scores):
        # measured: GSA 51.2 dB / 0.78° against bicubic 44.3 dB / 1.57°
        bic_psnr, bic_sam = salinas_scores["bicubic"]
        gsa_psnr, gsa_sam = salinas_scores["gsa"]
        assert gsa_psnr > bic_psnr + 5.0
        assert gsa_sam < 0.6 * bic_sam

    def test_flat_msi_gives_bicubic(self, rng):
        lr = torch.as_tensor(rng.random((6, 8, 8)), dtype=torch.float32)
        msi = torch.full((2, 32, 32), 0.5)
        torch.testing.assert_close(gsa(lr, msi, 4), bicubic(lr, 4), atol=1e-5, rtol=0)


class TestCNMF:
    def test_beats_bicubic_on_real_data(self, salinas_scores):
        # measured: CNMF (SRF estimated by NNLS) 55.8 dB / 0.39° against bicubic 44.3 dB / 1.57°
        bic_psnr, bic_sam = salinas_scores["bicubic"]
        cnmf_psnr, cnmf_sam = salinas_scores["cnmf"]
        assert cnmf_psnr > bic_psnr + 9.0
        assert cnmf_sam < 0.35 * bic_sam

    def test_recovers_low_rank_mixture(self, rng):
        # 3 endmembers (smooth positive spectra) mixed by smooth sum-to-one abundances; with the
        # true SRF, CNMF must recover the HR cube far better than bicubic.
        bands, k, size, r = 40, 3, 48, 4
        wl = np.linspace(0, 1, bands)
        centres = np.array([0.2, 0.5, 0.8])
        spectra = 0.2 + 0.6 * np.exp(-0.5 * ((wl[None] - centres[:, None]) / 0.15) ** 2)
        logits = 3.0 * _smooth_field(rng, k, size, blur=1.5)
        abund = np.exp(logits) / np.exp(logits).sum(0, keepdims=True)
        ref = torch.as_tensor(np.einsum("kb,khw->bhw", spectra, abund), dtype=torch.float32)
        srf = np.exp(-0.5 * ((wl[None] - np.array([0.15, 0.4, 0.65, 0.9])[:, None]) / 0.1) ** 2)
        srf = torch.as_tensor(srf / srf.sum(1, keepdims=True), dtype=torch.float32)
        lr = _lowres(ref, r)
        msi = torch.einsum("mb,bhw->mhw", srf, ref)
        est = cnmf(lr, msi, r, srf_matrix=srf, endmembers=k)
        # measured: 53.2 dB / 0.16° against bicubic 28.0 dB / 5.0°
        assert psnr(ref, est) > 48.0
        assert psnr(ref, est) > psnr(ref, bicubic(lr, r)) + 20.0
        assert sam(ref, est) < 0.3

    def test_estimate_srf_recovers_true_matrix(self, rng):
        bands, r = 10, 4
        ref = torch.as_tensor(rng.random((bands, 64, 64)), dtype=torch.float32)
        true = torch.as_tensor(rng.random((3, bands)) * (rng.random((3, bands)) > 0.4),
                               dtype=torch.float32)
        msi = torch.einsum("mb,bhw->mhw", true, ref)
        est = estimate_srf(_lowres(ref, r), msi, r)
        assert est.shape == (3, bands)
        assert (est >= 0).all()
        torch.testing.assert_close(est, true, atol=2e-3, rtol=0)


class TestErrors:
    @pytest.mark.parametrize("name", sorted(BASELINES))
    def test_msi_of_wrong_size(self, name):
        with pytest.raises(ShapeError, match=r"msi must be 32x32 pixels"):
            BASELINES[name](torch.rand(4, 8, 8), torch.rand(3, 30, 32), 4)

    @pytest.mark.parametrize("name", sorted(BASELINES))
    def test_lr_not_3d(self, name):
        with pytest.raises(ShapeError, match=r"lr must have shape \(bands, H, W\)"):
            BASELINES[name](torch.rand(8, 8), torch.rand(3, 32, 32), 4)

    @pytest.mark.parametrize("name", sorted(BASELINES))
    def test_bad_ratio(self, name):
        with pytest.raises(SensorError, match="ratio must be an integer >= 2"):
            BASELINES[name](torch.rand(4, 8, 8), torch.rand(3, 32, 32), 1.5)

    def test_srf_of_wrong_shape(self):
        with pytest.raises(ShapeError, match=r"srf_matrix must .*\(3, 4\), got \(4, 3\)"):
            cnmf(torch.rand(4, 8, 8), torch.rand(3, 32, 32), 4, srf_matrix=torch.rand(4, 3))

    def test_bicubic_lr_not_3d(self):
        with pytest.raises(ShapeError):
            bicubic(torch.rand(1, 4, 8, 8), 4)


@pytest.mark.parametrize("ratio", [2, 3, 4, 8])
@pytest.mark.parametrize("shape", [(3, 8, 9), (2, 200, 97), (1, 1, 2)])
def test_upsample_is_torch_bicubic(shape, ratio):
    """The matrix-product upsampling (blocks of 96 rows) equals torch's bicubic kernel."""
    from torch.nn import functional as F

    from hsi.fusion.baselines import _upsample

    x = torch.rand(*shape, generator=torch.Generator().manual_seed(ratio))
    expected = F.interpolate(x[None], scale_factor=ratio, mode="bicubic",
                             align_corners=False)[0]
    torch.testing.assert_close(_upsample(x, ratio), expected, atol=1e-5, rtol=1e-5)


def test_banded_product_equals_the_dense_product_on_kept_rows():
    from hsi.degrade import banded_product

    g = torch.Generator().manual_seed(3)
    op = torch.zeros(40, 23)
    for i in range(40):  # a band: each output reads at most 4 neighbouring inputs
        j = i * 23 // 40
        op[i, max(0, j - 1):j + 3] = torch.rand(min(23, j + 3) - max(0, j - 1), generator=g)
    x = torch.rand(5, 23, 7, generator=g)
    dense = torch.einsum("ij,bjk->bik", op, x)
    torch.testing.assert_close(banded_product(x, op, -2, block=6), dense)
    torch.testing.assert_close(banded_product(x, op, -2, slice(5, 31), block=8), dense[:, 5:31])
    y = x.transpose(1, 2).contiguous()
    torch.testing.assert_close(banded_product(y, op, -1, slice(3, 40), block=64),
                               dense.transpose(1, 2)[:, :, 3:])
    out = torch.empty(5, 26, 7)
    assert banded_product(x, op, -2, slice(5, 31), block=64, out=out) is out
    torch.testing.assert_close(out, dense[:, 5:31])


def test_glp_core_and_buffer_equal_the_cropped_whole(rng):
    """GLP of a tile's core only, written into a given buffer, is the whole estimate cropped."""
    from hsi.data import sample_cube

    lr, hr = simulate_pair(sample_cube(), 4, "sentinel2")
    lr_t = torch.as_tensor(np.asarray(lr.data, np.float32))[:, :16, :20]
    hr_t = torch.as_tensor(np.asarray(hr.data, np.float32))[:, :64, :80]
    whole = glp(lr_t, hr_t, 4)
    core = (slice(9, 57), slice(4, 71))
    out = torch.empty(lr_t.shape[0], 48, 67)
    got = glp(lr_t, hr_t, 4, core=core, out=out)
    assert got.data_ptr() == out.data_ptr()
    torch.testing.assert_close(got, whole[:, core[0], core[1]], atol=1e-6, rtol=1e-5)


def test_estimate_returns_cores_for_every_method():
    from hsi.data import sample_cube
    from hsi.fusion.api import estimate

    lr, hr = simulate_pair(sample_cube(), 4, "sentinel2")
    lr_t = torch.as_tensor(np.asarray(lr.data, np.float32))[None, :, :16, :16]
    hr_t = torch.as_tensor(np.asarray(hr.data, np.float32))[None, :, :64, :64]
    core = (slice(8, 40), slice(16, 64))
    for method in ("glp", "bicubic", "gsa"):
        whole = estimate(method, lr_t, hr_t, 4)
        (got,) = estimate(method, lr_t, hr_t, 4, cores=[core],
                          outs=[torch.empty(lr_t.shape[1], 32, 48)])
        torch.testing.assert_close(got, whole[0, :, core[0], core[1]], atol=1e-6, rtol=1e-5)
