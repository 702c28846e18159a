"""CC, UIQI, PSNR's per-band peak and the border crop of hsi.metrics and ``hsi metrics``.

The references are written here from the published definitions with numpy/scipy, never through
a hsikit helper: ``np.corrcoef`` per band for CC, a literal transcription of Wang's ``img_qi.m``
(as the pansharpening toolbox calls it, 32×32 windows sliding by one pixel) for UIQI, and
scikit-image's SSIM with K1 = K2 = 0 and a uniform window, which is UIQI by definition, as a
second, library reference. The real pair is a crop of the shipped Salinas-A sample and a
bicubic upsampling of its Wald-simulated ×4 LR-HSI.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import scipy.signal
import torch
from click.testing import CliRunner
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from hsi.errors import ConfigError, HsiError, ShapeError
from hsi.metrics import PEAK_MODES, cc, ergas, fusion_metrics, psnr, q2n, rmse, sam, ssim, uiqi
from tests.cli_checks import one_error_line


@pytest.fixture(scope="module")
def real_pair():
    """(reference, estimate), float64 (12, 80, 84): 12 bands over the whole range of
    Salinas-A and the bicubic ×4 upsampling of their Wald-simulated LR-HSI (Gaussian PSF of
    σ = ratio / 2, as ``simulate_pair``)."""
    from hsi.data import sample_cube
    from hsi.degrade import gaussian_blur_decimate

    ref = np.asarray(sample_cube().data, dtype=np.float64)[::17, :80, :84]
    low = gaussian_blur_decimate(torch.from_numpy(ref)[None], 2.0, 4)
    est = torch.nn.functional.interpolate(low, scale_factor=4, mode="bicubic",
                                          align_corners=False)[0].numpy()
    return ref, est


# ===================================================================== references, transcribed
def cc_reference(ref, est):
    """Mean over bands of the Pearson correlation (``np.corrcoef``) of each band pair."""
    return float(np.mean([np.corrcoef(r.ravel(), e.ravel())[0, 1]
                          for r, e in zip(ref, est, strict=True)]))


def img_qi_map(img1, img2, block_size=32):
    """Wang's ``img_qi.m`` (Wang & Bovik 2002), line by line: ``filter2(ones, ., 'valid')``
    sums, its two special cases, the quality map (mean2 of it is the band's Q)."""
    n = block_size**2
    f = np.ones((block_size, block_size))

    def filter2(x):
        return scipy.signal.correlate2d(x, f, mode="valid")

    img1_sum, img2_sum = filter2(img1), filter2(img2)
    img1_sq_sum, img2_sq_sum = filter2(img1 * img1), filter2(img2 * img2)
    img12_sum = filter2(img1 * img2)
    img12_sum_mul = img1_sum * img2_sum
    img12_sq_sum_mul = img1_sum * img1_sum + img2_sum * img2_sum
    numerator = 4 * (n * img12_sum - img12_sum_mul) * img12_sum_mul
    denominator1 = n * (img1_sq_sum + img2_sq_sum) - img12_sq_sum_mul
    denominator = denominator1 * img12_sq_sum_mul
    quality_map = np.ones(denominator.shape)
    index = (denominator1 == 0) & (img12_sq_sum_mul != 0)
    quality_map[index] = 2 * img12_sum_mul[index] / img12_sq_sum_mul[index]
    index = denominator != 0
    quality_map[index] = numerator[index] / denominator[index]
    return quality_map


def uiqi_reference(ref, est, block=32):
    """The toolbox's ``Q``: mean over bands of ``img_qi(GT_b, F_b, 32)``."""
    return float(np.mean([img_qi_map(r, e, block).mean() for r, e in zip(ref, est, strict=True)]))


# ========================================================================================= CC
class TestCC:
    def test_matches_corrcoef_per_band_on_real_data(self, real_pair):
        ref, est = real_pair
        assert cc(ref, est) == pytest.approx(cc_reference(ref, est), abs=1e-12)
        assert 0.8 < cc(ref, est) < 0.95  # bicubic ×4 of a sharp scene
        # the mean of per-band correlations, not one correlation of the flattened cube
        flat = np.corrcoef(ref.ravel(), est.ravel())[0, 1]
        assert abs(cc(ref, est) - flat) > 1e-3

    def test_gain_offset_invariant_and_sign(self, real_pair):
        ref = real_pair[0]
        gains = np.linspace(0.5, 3.0, ref.shape[0])[:, None, None]
        assert cc(ref, gains * ref + 0.2) == pytest.approx(1.0, abs=1e-12)
        assert cc(ref, 1.0 - ref) == pytest.approx(-1.0, abs=1e-12)

    def test_constant_bands_are_1_when_both_flat_and_0_when_one_is(self, real_pair, caplog):
        ref, est = (x[:3, :20, :20].copy() for x in real_pair)
        r0 = np.corrcoef(ref[0].ravel(), est[0].ravel())[0, 1]
        ref[1] = est[1] = 0.25          # both constant: 1
        est[2] = 0.3                    # textured reference, flat estimate: 0
        with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
            got = cc(ref, est)
        assert got == pytest.approx((r0 + 1.0 + 0.0) / 3, abs=1e-12)
        assert "bands 1, 2 constant" in caplog.text
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
            assert cc(est, ref) == pytest.approx(got, abs=1e-12)  # flat reference: 0 too
            assert cc(np.zeros((2, 5, 5)), np.zeros((2, 5, 5))) == 1.0
        assert caplog.text.count("cc: ") == 2
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
            cc(*real_pair)
        assert caplog.text == ""  # nothing said when no band is constant

    def test_missing_pixels_left_out(self, real_pair):
        ref, est = (x[:, :30, :30].copy() for x in real_pair)
        est[:, 4, 5] = np.nan
        est[0, 7, 7] = np.inf
        keep = np.ones((30, 30), bool)
        keep[4, 5] = keep[7, 7] = False
        assert cc(ref, est) == pytest.approx(cc_reference(ref[:, keep][:, :, None],
                                                          est[:, keep][:, :, None]), abs=1e-12)
        assert math.isnan(cc(ref, np.full_like(ref, np.nan)))


# ======================================================================================= UIQI
class TestUIQI:
    def test_matches_img_qi_transcription_on_real_data(self, real_pair):
        ref, est = real_pair
        # 80 × 84: 49 × 53 windows of 32 × 32 per band
        assert uiqi(ref, est) == pytest.approx(uiqi_reference(ref, est), abs=1e-12)
        assert uiqi(ref, est, block=8) == pytest.approx(uiqi_reference(ref, est, 8), abs=1e-12)
        assert 0.5 < uiqi(ref, est) < uiqi(ref, est + 0.0) + 1e-15 <= 1.0

    @pytest.mark.parametrize("window", [7, 31])
    def test_equals_skimage_ssim_with_zero_constants(self, real_pair, window):
        """UIQI is SSIM with C1 = C2 = 0 and a uniform window; skimage's mean map over the
        pixels whose window lies inside the image (odd windows only there)."""
        ref, est = real_pair
        sk = np.mean([structural_similarity(r, e, win_size=window, gaussian_weights=False,
                                            K1=0.0, K2=0.0, data_range=1.0)
                      for r, e in zip(ref, est, strict=True)])
        assert uiqi(ref, est, block=window) == pytest.approx(sk, abs=1e-12)

    def test_identical_and_symmetric(self, real_pair):
        ref, est = real_pair
        assert uiqi(ref, ref) == pytest.approx(1.0, abs=1e-12)
        assert uiqi(est, ref) == pytest.approx(uiqi(ref, est), abs=1e-12)

    def test_hand_cases_in_one_window(self):
        rng = np.random.default_rng(4)
        x = 0.2 + rng.random((1, 16, 16))
        mx = x.mean()
        # an offset d: correlation and contrast 1, luminance 2 μx (μx + d) / (μx² + (μx + d)²)
        d = 0.3
        want = 2 * mx * (mx + d) / (mx**2 + (mx + d) ** 2)
        assert uiqi(x, x + d, block=16) == pytest.approx(want, abs=1e-12)
        # a gain a about the mean: contrast 2a / (1 + a²)
        a = 1.5
        assert uiqi(x, mx + a * (x - mx), block=16) == pytest.approx(2 * a / (1 + a**2),
                                                                       abs=1e-12)

    def test_flat_windows_follow_img_qi(self):
        ref = np.zeros((4, 12, 12))
        est = np.zeros((4, 12, 12))
        ref[0], est[0] = 0.1, 0.1              # equal constants: 1
        ref[1], est[1] = 0.2, 0.6              # different constants: 2ab / (a² + b²)
        ref[2] = 0.3                           # flat reference, textured estimate: 0
        est[2] = np.arange(144).reshape(12, 12) / 144
        # band 3: zero in both: 1 (img_qi's default)
        got = [uiqi(ref[i:i + 1], est[i:i + 1], block=4) for i in range(4)]
        assert got == pytest.approx([1.0, 2 * 0.2 * 0.6 / (0.2**2 + 0.6**2), 0.0, 1.0],
                                    abs=1e-12)
        assert uiqi(ref, est, block=4) == pytest.approx(uiqi_reference(ref, est, 4), abs=1e-12)

    def test_flat_region_inside_real_data_is_exact(self, real_pair):
        """Rounding in the sliding sums must not turn a constant window into noise."""
        ref, est = (x[:2].copy() for x in real_pair)
        ref[:, 10:50, 10:50] = 0.1234567
        est[:, 10:50, 10:50] = 0.1234567
        q = uiqi(ref, est)
        assert q == pytest.approx(uiqi_reference(ref, est), abs=1e-12)

    def test_windows_with_missing_pixels_left_out(self, real_pair):
        ref, est = (x[:3, :40, :40].copy() for x in real_pair)
        maps = [img_qi_map(r, e, 8) for r, e in zip(ref, est, strict=True)]
        est[1, 20, 5] = np.nan
        keep = np.ones(maps[0].shape, bool)
        keep[13:21, 0:6] = False  # the 8×8 windows holding (20, 5)
        assert uiqi(ref, est, block=8) == pytest.approx(
            np.mean([m[keep].mean() for m in maps]), abs=1e-12)
        assert math.isnan(uiqi(ref, np.full_like(ref, np.nan), block=8))

    def test_too_small_and_bad_block(self):
        with pytest.raises(ShapeError, match="32×32"):
            uiqi(np.ones((2, 20, 40)), np.ones((2, 20, 40)))
        for bad in (1, 0, 2.5):
            with pytest.raises(ShapeError, match="block"):
                uiqi(np.ones((1, 8, 8)), np.ones((1, 8, 8)), block=bad)


# ================================================================================ PSNR's peak
class TestPSNRPeakMode:
    def test_band_max_is_the_mhif_convention_on_real_data(self, real_pair):
        ref, est = real_pair
        want = np.mean([10 * np.log10(r.max() ** 2 / np.mean((r - e) ** 2))
                        for r, e in zip(ref, est, strict=True)])
        sk = np.mean([peak_signal_noise_ratio(r, e, data_range=r.max())
                      for r, e in zip(ref, est, strict=True)])
        assert psnr(ref, est, peak_mode="band-max") == pytest.approx(want, abs=1e-10)
        assert psnr(ref, est, peak_mode="band-max") == pytest.approx(sk, abs=1e-10)
        assert psnr(ref, est, peak_mode="band_max") == psnr(ref, est, peak_mode="band-max")
        # lower than the fixed peak 1 by the mean of 20 log10(max_b)
        shift = np.mean(20 * np.log10(ref.max(axis=(1, 2))))
        assert psnr(ref, est, peak_mode="band-max") == pytest.approx(psnr(ref, est) + shift,
                                                                     abs=1e-10)
        # peak is unused in that mode; the fixed mode is the default
        assert psnr(ref, est, 7.0, peak_mode="band-max") == psnr(ref, est, peak_mode="band-max")
        assert psnr(ref, est, peak_mode="fixed") == psnr(ref, est)
        assert PEAK_MODES == ("fixed", "band-max")

    def test_band_without_a_positive_maximum_is_left_out(self, caplog):
        ref = np.stack([np.full((4, 4), 0.5), np.zeros((4, 4))])
        est = ref + 0.005  # MSE 2.5e-5 in both bands
        with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
            got = psnr(ref, est, peak_mode="band-max")
        assert got == pytest.approx(10 * np.log10(0.25 / 2.5e-5), abs=1e-10)
        assert "band 1" in caplog.text and "left out" in caplog.text
        with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
            assert math.isnan(psnr(-ref, est, peak_mode="band-max"))

    @pytest.mark.parametrize("mode", ["max", "", None, 1, "Fixed"])
    def test_unknown_mode(self, mode):
        ref = np.ones((1, 4, 4))
        with pytest.raises(ConfigError, match="peak mode"):
            psnr(ref, ref, peak_mode=mode)
        with pytest.raises(ConfigError, match="peak mode"):
            fusion_metrics(ref, ref, 4, peak_mode=mode)


# ================================================================================ border crop
ALL = {
    "rmse": rmse, "sam": sam, "cc": cc, "ssim": ssim, "q2n": q2n,
    "psnr": psnr, "psnr_band_max": lambda r, e, **k: psnr(r, e, peak_mode="band-max", **k),
    "ergas": lambda r, e, **k: ergas(r, e, 4, **k), "uiqi": lambda r, e, **k: uiqi(r, e, 16, **k),
}


class TestCrop:
    @pytest.mark.parametrize("name", list(ALL))
    def test_crop_is_the_score_of_the_sliced_images(self, real_pair, name):
        ref, est = (x[:6, :48, :52] for x in real_pair)
        fn = ALL[name]
        for c in (1, 4):
            sliced = fn(ref[:, c:-c, c:-c], est[:, c:-c, c:-c])
            assert fn(ref, est, crop=c) == pytest.approx(sliced, abs=1e-12), c
        assert fn(ref, est, crop=0) == fn(ref, est)
        assert fn(ref, est, crop=np.int64(0)) == fn(ref, est)

    def test_fusion_metrics_crop_and_extended(self, real_pair):
        ref, est = real_pair
        out = fusion_metrics(ref, est, 4, crop=4, peak_mode="band-max", extended=True)
        assert list(out) == ["psnr", "ssim", "sam", "ergas", "q2n", "cc", "uiqi"]
        r, e = ref[:, 4:-4, 4:-4], est[:, 4:-4, 4:-4]
        assert out == {"psnr": psnr(r, e, peak_mode="band-max"), "ssim": ssim(r, e),
                       "sam": sam(r, e), "ergas": ergas(r, e, 4), "q2n": q2n(r, e),
                       "cc": cc(r, e), "uiqi": uiqi(r, e)}
        # the default bundle is unchanged
        assert list(fusion_metrics(ref, est, 4)) == ["psnr", "ssim", "sam", "ergas", "q2n"]

    @pytest.mark.parametrize("bad", [-1, 2.5, "2", True, None, 8, 100])
    def test_invalid_crop_is_a_config_error(self, bad):
        ref = np.ones((2, 16, 17))
        for fn in (*ALL.values(), lambda r, e, **k: fusion_metrics(r, e, 4, **k)):
            with pytest.raises(ConfigError, match="crop") as info:
                fn(ref, ref, crop=bad)
            assert isinstance(info.value, HsiError) and "\n" not in str(info.value)
        if bad == 8:  # 2 × 8 = 16 rows: nothing left
            with pytest.raises(ConfigError, match=r"crop 8 leaves no pixel of the 16×17"):
                psnr(ref, ref, crop=bad)


def test_torch_equals_numpy(real_pair):
    ref, est = (x.astype(np.float32) for x in real_pair)
    for fn in (cc, uiqi):
        assert fn(torch.from_numpy(ref), torch.from_numpy(est)) == fn(ref, est)
    assert psnr(torch.from_numpy(ref), est, peak_mode="band-max", crop=2) == \
        psnr(ref, est, peak_mode="band-max", crop=2)


# ============================================================================== hsi metrics
@pytest.fixture(scope="module")
def files(tmp_path_factory, real_pair):
    """The real pair (float32) as two GeoTIFFs."""
    import hsi
    from hsi.cube import Cube

    folder = tmp_path_factory.mktemp("metrics")
    ref, est = (x.astype(np.float32) for x in real_pair)
    return (str(hsi.save(Cube(ref), folder / "ref.tif")),
            str(hsi.save(Cube(est), folder / "est.tif")), ref.astype(np.float64),
            est.astype(np.float64))


def _run(*args):
    from hsi.cli.main import cli

    return CliRunner().invoke(cli, ["metrics", *map(str, args)], catch_exceptions=False)


def _scores(result):
    assert result.exit_code == 0, result.output
    return dict(line.split(None, 1) for line in result.stdout.splitlines())


class TestCommand:
    def test_new_metrics_appended_after_the_old_ones(self, files):
        a, b, ref, est = files
        result = _run(a, b, "--ratio", 4)
        scores = _scores(result)
        assert list(scores) == ["PSNR", "SSIM", "SAM", "ERGAS", "Q2n", "CC", "UIQI"]
        assert float(scores["CC"]) == pytest.approx(cc(ref, est), abs=1e-4)
        assert float(scores["UIQI"]) == pytest.approx(uiqi(ref, est), abs=1e-4)
        assert float(scores["PSNR"].split()[0]) == pytest.approx(psnr(ref, est), abs=1e-4)

    def test_crop_and_peak_mode(self, files):
        a, b, ref, est = files
        scores = _scores(_run(a, b, "--ratio", 4, "--crop", 4, "--peak-mode", "band-max"))
        want = fusion_metrics(ref, est, 4, crop=4, peak_mode="band-max", extended=True)
        got = {"psnr": float(scores["PSNR"].split()[0]), "ssim": float(scores["SSIM"]),
               "sam": float(scores["SAM"].split()[0]), "ergas": float(scores["ERGAS"]),
               "q2n": float(scores["Q2n"]), "cc": float(scores["CC"]),
               "uiqi": float(scores["UIQI"])}
        assert got == pytest.approx(want, abs=1e-4)

    def test_uiqi_needs_32_pixels_after_the_crop(self, files):
        a, b, ref, est = files
        scores = _scores(_run(a, b, "--crop", 25))  # 80 × 84 -> 30 × 34
        assert scores["UIQI"] == "n/a (needs at least 32×32 pixels after --crop)"
        assert float(scores["CC"]) == pytest.approx(cc(ref, est, crop=25), abs=1e-4)

    @pytest.mark.parametrize(("args", "words"), [
        (("--crop", -1), ("crop", "-1")),
        (("--crop", 40), ("crop 40", "80×84")),
        (("--peak-mode", "max"), ("--peak-mode", "max")),
        (("--crop", "x"), ("--crop", "x")),
    ])
    def test_invalid_options_are_one_line(self, files, args, words):
        a, b, _, _ = files
        one_error_line(_run(a, b, *args), *words)

    def test_help_names_the_options(self):
        text = " ".join(_run("--help").stdout.split())
        assert "--peak-mode [fixed|band-max]" in text and "--crop PIXELS" in text
        assert "maximum of each reference band" in text and "CC" in text and "UIQI" in text
