"""Tests of hsi.metrics against scikit-image and hand-worked cases."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from hsi.errors import SensorError, ShapeError
from hsi.metrics import ergas, fusion_metrics, psnr, q2n, rmse, sam, ssim


@pytest.fixture
def pair(rng):
    ref = rng.random((5, 40, 36))
    est = np.clip(ref + 0.05 * rng.standard_normal(ref.shape), 0, 1)
    return ref, est


class TestInputs:
    @pytest.mark.parametrize("fn", [psnr, ssim, sam, rmse, q2n])
    def test_shape_mismatch(self, fn):
        with pytest.raises(ShapeError, match="same shape"):
            fn(np.zeros((3, 16, 16)), np.zeros((3, 16, 15)))
        with pytest.raises(ShapeError):
            fn(np.zeros((16, 16)), np.zeros((16, 16)))

    def test_ergas_shape_mismatch(self):
        with pytest.raises(ShapeError):
            ergas(np.ones((3, 4, 4)), np.ones((4, 4, 4)), 4)

    @pytest.mark.parametrize("fn", [psnr, ssim, sam, rmse, q2n])
    def test_torch_equals_numpy(self, fn, pair):
        ref, est = (a.astype(np.float32) for a in pair)
        assert fn(torch.from_numpy(ref), torch.from_numpy(est)) == fn(ref, est)
        assert fn(torch.from_numpy(ref), est) == fn(ref, est)

    def test_torch_ergas_and_bundle(self, pair):
        ref, est = pair
        assert ergas(torch.from_numpy(ref), torch.from_numpy(est), 4) == ergas(ref, est, 4)
        assert fusion_metrics(torch.from_numpy(ref), torch.from_numpy(est), 4) == \
            fusion_metrics(ref, est, 4)


class TestPSNR:
    def test_against_skimage(self, pair):
        ref, est = pair
        expected = np.mean([peak_signal_noise_ratio(r, e, data_range=1.0)
                            for r, e in zip(ref, est, strict=True)])
        assert psnr(ref, est) == pytest.approx(expected, rel=1e-12)

    def test_peak(self, pair):
        ref, est = pair
        expected = np.mean([peak_signal_noise_ratio(r, e, data_range=4000.0)
                            for r, e in zip(ref * 4000, est * 4000, strict=True)])
        assert psnr(ref * 4000, est * 4000, peak=4000.0) == pytest.approx(expected, rel=1e-12)

    def test_hand_worked(self):
        ref = np.zeros((2, 4, 4))
        est = ref.copy()
        est[0] += 0.1  # MSE 0.01 -> 20 dB
        est[1] += 0.01  # MSE 1e-4 -> 40 dB
        assert psnr(ref, est) == pytest.approx(30.0)
        assert psnr(ref, ref) == math.inf


class TestSSIM:
    def test_against_skimage(self, pair):
        ref, est = pair
        expected = np.mean([structural_similarity(r, e, data_range=1.0, gaussian_weights=True,
                                                  sigma=1.5, use_sample_covariance=False)
                            for r, e in zip(ref, est, strict=True)])
        assert ssim(ref, est) == pytest.approx(expected, rel=1e-12)
        assert 0.5 < ssim(ref, est) < 1.0

    def test_identical(self, pair):
        assert ssim(pair[0], pair[0]) == pytest.approx(1.0)

    def test_too_small(self):
        with pytest.raises(ShapeError, match="11×11"):
            ssim(np.zeros((2, 8, 20)), np.zeros((2, 8, 20)))


class TestSAM:
    def test_orthogonal_is_90(self):
        ref = np.zeros((3, 2, 2))
        est = np.zeros((3, 2, 2))
        ref[0] = 1.0
        est[1] = 2.0
        assert sam(ref, est) == pytest.approx(90.0, abs=1e-12)

    def test_scaled_is_0(self, rng):
        ref = rng.random((10, 6, 6)) + 0.1
        assert sam(ref, 3.7 * ref) == pytest.approx(0.0, abs=1e-6)
        assert sam(ref, ref) == 0.0

    def test_mean_over_pixels_in_degrees(self):
        ref = np.zeros((2, 1, 3))
        est = np.zeros((2, 1, 3))
        ref[0] = 1.0
        est[:, 0, 0] = [1.0, 0.0]  # 0°
        est[:, 0, 1] = [1.0, 1.0]  # 45°
        est[:, 0, 2] = [0.0, 1.0]  # 90°
        assert sam(ref, est) == pytest.approx(45.0, abs=1e-12)
        est[:, 0, 2] = [-1.0, 0.0]  # 180°
        assert sam(ref, est) == pytest.approx((0 + 45 + 180) / 3, abs=1e-12)

    def test_zero_norm_pixels_skipped(self):
        ref = np.zeros((2, 1, 2))
        est = np.zeros((2, 1, 2))
        ref[:, 0, 0] = [1.0, 0.0]
        est[:, 0, 0] = [1.0, 1.0]  # 45°; pixel 1 is zero in both
        assert sam(ref, est) == pytest.approx(45.0)
        assert math.isnan(sam(np.zeros((2, 3, 3)), np.zeros((2, 3, 3))))


class TestERGAS:
    def test_hand_worked(self):
        ref = np.stack([np.full((4, 4), 2.0), np.full((4, 4), 4.0)])
        est = ref.copy()
        est[0, :2] += 0.2
        est[0, 2:] -= 0.2  # RMSE 0.2, mean 2 -> 0.01
        est[1] += 0.4  # RMSE 0.4, mean 4 -> 0.01
        assert ergas(ref, est, 4) == pytest.approx(100 / 4 * math.sqrt(0.01))
        assert ergas(ref, est, 2) == pytest.approx(5.0)
        assert ergas(ref, ref, 4) == 0.0

    def test_unequal_bands(self):
        ref = np.stack([np.full((2, 2), 1.0), np.full((2, 2), 10.0)])
        est = ref + np.array([0.1, 3.0])[:, None, None]  # ratios 0.01 and 0.09
        assert ergas(ref, est, 4) == pytest.approx(25 * math.sqrt(0.05))

    def test_bad_ratio(self):
        for bad in (0, -4, "x", float("nan")):
            with pytest.raises(SensorError, match="ratio"):
                ergas(np.ones((1, 2, 2)), np.ones((1, 2, 2)), bad)


class TestRMSE:
    def test_hand_worked(self):
        ref = np.zeros((2, 2, 2))
        est = ref.copy()
        est[0, 0, 0] = 4.0  # one error of 4 among 8 values -> sqrt(16 / 8)
        assert rmse(ref, est) == pytest.approx(math.sqrt(2.0))


# ================================================================================== Q2^n
def _conj(x):
    return np.concatenate([x[:1], -x[1:]])


def _onion_mult(o1, o2):
    """Literal transcription of the toolbox's recursive onion_mult (components on axis 0)."""
    n = o1.shape[0]
    if n == 1:
        return o1 * o2
    h = n // 2
    a, b, c, d = o1[:h], _conj(o1[h:]), o2[:h], _conj(o2[h:])
    if n == 2:
        return np.concatenate([a * c - d * b, a * d + c * b])
    return np.concatenate([_onion_mult(a, c) - _onion_mult(d, _conj(b)),
                           _onion_mult(_conj(a), d) + _onion_mult(c, b)])


class TestQ2n:
    def test_identical_is_one(self, rng):
        for bands in (1, 3, 4, 7):
            x = rng.random((bands, 40, 50))
            assert q2n(x, x) == pytest.approx(1.0, abs=1e-12)

    def test_decreases_with_noise(self, rng):
        x = rng.random((6, 64, 64))
        values = [q2n(x, x + s * rng.standard_normal(x.shape)) for s in (0.01, 0.05, 0.2, 0.5)]
        assert all(a > b for a, b in itertools.pairwise(values))
        assert values[0] > 0.99 and values[-1] < 0.5

    def test_single_band_hand_worked(self):
        # one 2×2 block: ref 1,2,3,4 and est = ref + 1. After the toolbox's normalisation by the
        # reference's mean 2.5 and sample std s = sqrt(5/3): z' has mean 1, v' = z' + 1/s, equal
        # variances and correlation 1, so Q = 2·1·(1 + c) / (1 + (1 + c)²) with c = sqrt(3/5).
        ref = np.array([[[1.0, 2.0], [3.0, 4.0]]])
        c = math.sqrt(3 / 5)
        assert q2n(ref, ref + 1, block=2) == pytest.approx(2 * (1 + c) / (1 + (1 + c) ** 2))
        # est = -ref: correlation -1, |Q| keeps the modulus of the (negative) covariance
        zn = (ref - 2.5) / math.sqrt(5 / 3) + 1
        vn = (-ref - 2.5) / math.sqrt(5 / 3) + 1
        expected = abs(np.cov(zn.ravel(), vn.ravel())[0, 1]) * 2 / (zn.var(ddof=1)
                                                                     + vn.var(ddof=1))
        expected *= 2 * zn.mean() * abs(vn.mean()) / (zn.mean() ** 2 + vn.mean() ** 2)
        assert q2n(ref, -ref, block=2) == pytest.approx(expected)

    def test_two_bands_against_complex_numbers(self, rng):
        ref = rng.random((2, 8, 8))
        est = ref + 0.3 * rng.standard_normal(ref.shape)
        mu = ref.mean(axis=(1, 2), keepdims=True)
        sd = ref.std(axis=(1, 2), ddof=1, keepdims=True)
        zn, vn = (ref - mu) / sd + 1, (est - mu) / sd + 1
        z = (zn[0] + 1j * zn[1]).ravel()
        v = (vn[0] + 1j * vn[1]).ravel()
        cov = np.sum((z - z.mean()) * np.conj(v - v.mean())) / (z.size - 1)
        var_z = np.sum(np.abs(z - z.mean()) ** 2) / (z.size - 1)
        var_v = np.sum(np.abs(v - v.mean()) ** 2) / (z.size - 1)
        mz, mv = abs(z.mean()), abs(v.mean())
        expected = abs(cov) * 2 / (var_z + var_v) * 2 * mz * mv / (mz ** 2 + mv ** 2)
        assert q2n(ref, est, block=8) == pytest.approx(expected, rel=1e-12)

    def test_product_table_matches_toolbox_recursion(self, rng):
        from hsi.metrics import _hypercomplex_product

        for n in (2, 4, 8, 16):
            a, b = rng.standard_normal((n, 5)), rng.standard_normal((n, 5))
            np.testing.assert_allclose(_hypercomplex_product(a, b), _onion_mult(a, b),
                                       atol=1e-12)
            # z·z̄ = |z|², a real number: what makes q2n(x, x) = 1
            zz = _hypercomplex_product(a, _conj(a))
            np.testing.assert_allclose(zz[0], np.sum(a ** 2, axis=0))
            np.testing.assert_allclose(zz[1:], 0, atol=1e-12)

    def test_blocks_are_averaged(self, rng):
        ref = rng.random((3, 64, 64))
        est = ref + 0.1 * rng.standard_normal(ref.shape)
        quads = [q2n(ref[:, i:i + 32, j:j + 32], est[:, i:i + 32, j:j + 32])
                 for i in (0, 32) for j in (0, 32)]
        assert q2n(ref, est) == pytest.approx(np.mean(quads), rel=1e-12)

    def test_bands_padded_with_zeros(self, rng):
        ref = rng.random((3, 32, 32))
        est = ref + 0.1 * rng.standard_normal(ref.shape)
        pad = np.zeros((1, 32, 32))
        assert q2n(ref, est) == pytest.approx(q2n(np.concatenate([ref, pad]),
                                                  np.concatenate([est, pad])), rel=1e-12)

    def test_scale_invariant_and_partial_blocks(self, rng):
        ref = rng.random((4, 45, 50))  # 2×2 blocks, mirrored padding
        est = ref + 0.05 * rng.standard_normal(ref.shape)
        value = q2n(ref, est)
        assert 0.8 < value < 1.0
        assert q2n(1000 * ref, 1000 * est) == pytest.approx(value, rel=1e-9)

    def test_bad_block(self):
        with pytest.raises(ShapeError, match="block"):
            q2n(np.ones((1, 4, 4)), np.ones((1, 4, 4)), block=1)


class TestFusionMetrics:
    def test_bundle(self, pair):
        ref, est = pair
        out = fusion_metrics(ref, est, 4)
        assert list(out) == ["psnr", "ssim", "sam", "ergas", "q2n"]
        assert out == {"psnr": psnr(ref, est), "ssim": ssim(ref, est), "sam": sam(ref, est),
                       "ergas": ergas(ref, est, 4), "q2n": q2n(ref, est)}
        assert all(isinstance(v, float) for v in out.values())

    def test_shape_mismatch(self):
        with pytest.raises(ShapeError):
            fusion_metrics(np.ones((3, 16, 16)), np.ones((3, 16, 17)), 4)


class TestMissingPixels:
    """Pixels NaN in either image (no data) are left out; finite images score as before."""

    @pytest.fixture
    def images(self):
        rng = np.random.default_rng(3)
        ref = rng.random((6, 64, 64))
        est = ref + 0.02 * rng.standard_normal(ref.shape)
        return ref, est

    def test_a_hole_is_left_out_of_every_score(self, images):
        ref, est = images
        holed = est.copy()
        holed[:, 10:14, 10:14] = np.nan  # inside one Q2n block
        base = fusion_metrics(ref, est, 4)
        got = fusion_metrics(ref, holed, 4)
        assert all(np.isfinite(v) for v in got.values()), got
        keep = np.ones((64, 64), bool)
        keep[10:14, 10:14] = False
        # pixelwise scores: exactly those of the pixels kept
        kept = (ref[:, keep][:, :, None], est[:, keep][:, :, None])
        assert got["psnr"] == pytest.approx(psnr(*kept), abs=1e-12)
        assert got["sam"] == pytest.approx(sam(*kept), abs=1e-12)
        assert got["ergas"] == pytest.approx(ergas(*kept, 4), abs=1e-12)
        # windowed scores: close to the whole image's (same noise everywhere)
        assert got["ssim"] == pytest.approx(base["ssim"], abs=5e-3)
        assert got["q2n"] == pytest.approx(base["q2n"], abs=5e-3)

    def test_finite_images_are_scored_as_before(self, images):
        ref, est = images
        want = np.mean([structural_similarity(r, e, data_range=1.0, gaussian_weights=True,
                                              sigma=1.5, use_sample_covariance=False)
                        for r, e in zip(ref, est, strict=True)])
        assert ssim(ref, est) == want

    def test_nothing_left_is_nan(self, images):
        ref, _ = images
        empty = np.full_like(ref, np.nan)
        assert np.isnan(psnr(ref, empty)) and np.isnan(rmse(ref, empty))
        assert np.isnan(ergas(ref, empty, 4)) and np.isnan(q2n(ref, empty))


def test_scale_problem_names_a_pair_off_one_scale_or_above_the_peak():
    from hsi.metrics import scale_problem

    rng = np.random.default_rng(0)
    ref = rng.uniform(0.1, 0.6, (3, 8, 8))
    assert scale_problem(ref, ref * 1.05) is None
    assert "10,000× the reference's" in scale_problem(ref, ref * 10000)  # DN vs reflectance
    assert "above the peak 1" in scale_problem(ref * 10000, ref * 10000)
    assert scale_problem(ref * 10000, ref * 10000, peak=10000) is None
    ref[0, 0, 0] = np.nan  # missing pixels left out
    assert scale_problem(ref, ref) is None


def test_metrics_command_warns_and_scores_with_the_peak_given(tmp_path, caplog):
    import logging

    import hsi
    from hsi.cli.metrics import score_files
    from hsi.cube import Cube

    rng = np.random.default_rng(1)
    ref = rng.uniform(0.1, 0.6, (3, 16, 16)).astype(np.float32)
    est = ref + rng.normal(0, 0.01, ref.shape).astype(np.float32)
    a = hsi.save(Cube(ref * 10000), tmp_path / "ref.tif")
    b = hsi.save(Cube(est * 10000), tmp_path / "est.tif")
    with caplog.at_level(logging.WARNING):
        scores = score_files(str(a), str(b), None)  # peak 1 for reflectance × 10 000
    assert "above the peak 1" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        scaled = score_files(str(a), str(b), None, peak=10000)
    assert caplog.text == ""
    assert scaled["psnr"] == pytest.approx(psnr(ref, est), abs=1e-3)  # as on [0, 1]
    assert scores["psnr"] == pytest.approx(scaled["psnr"] - 80.0, abs=1e-3)


def test_metrics_command_takes_the_peak_the_reference_declares(tmp_path, caplog):
    """int16 reflectance × 10 000 tagged with GDAL's band scale 1e-4 (as the shipped sample):
    the default peak was 1, every PSNR 80 dB low with a warning; it is now the declared 10 000,
    said on the last line. Without a declared scale it stays 1."""
    import logging

    import hsi
    from hsi.cli.metrics import score_files
    from hsi.cube import Cube

    rng = np.random.default_rng(1)
    ref = rng.uniform(0.1, 0.6, (3, 16, 16))
    est = ref + rng.normal(0, 0.01, ref.shape)
    tags = {"band_scales": [1e-4] * 3, "band_offsets": [0.0] * 3}
    a = hsi.save(Cube(np.round(ref * 10000).astype(np.int16), metadata=tags), tmp_path / "r.tif")
    b = hsi.save(Cube(np.round(est * 10000).astype(np.int16), metadata=tags), tmp_path / "e.tif")
    with caplog.at_level(logging.WARNING):
        scores = score_files(str(a), str(b), None)
    assert caplog.text == ""
    assert scores["peak"] == 10000.0
    expected = psnr(np.round(ref * 10000) / 10000, np.round(est * 10000) / 10000)
    assert scores["psnr"] == pytest.approx(expected, abs=1e-3)
    from click.testing import CliRunner

    from hsi.cli.main import cli

    result = CliRunner().invoke(cli, ["metrics", str(a), str(b)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "PSNR and SSIM for a data range of 10000"
    plain = hsi.save(Cube((ref * 10000).astype(np.float32)), tmp_path / "plain.tif")
    assert score_files(str(plain), str(plain), None)["peak"] == 1.0
