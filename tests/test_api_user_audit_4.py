"""Sensor simulation, cubes, Q2n, cluster counts and class-map scores as a notebook user meets them
(fourth audit).

Torch tensors in ``(H, W, bands)`` or ``(N, H, W, bands)`` order that the operators of
:mod:`hsi.degrade` cannot take (they read the axes as given, as kornia's do), a cube built from
text, objects or complex values, Q2n on one band, three bands, images smaller than its block,
signed data or pixels with no data, a cluster count out of range, a class map scored as a 3-D
array or against labels of another shape: each is one warning line or one hsikit error naming
the argument (and the axis order when it is the likely cause), never a numpy/torch
traceback or a value the formula does not give.
"""

from __future__ import annotations

import logging
import math
import re

import numpy as np
import pytest
import torch

from hsi.cube import Cube
from hsi.errors import ArgumentTypeError, ConfigError, ShapeError

TORCH_AXES = (r"looks like an \(\*, H, W, bands\) tensor: hsikit's torch operators want "
              r"\(\*, bands, H, W\), e\.g\. x\.movedim\(-1, -3\)")


def _told(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == logger and r.levelno == logging.WARNING]


# ========================================================== 1. degrade: (H, W, bands) tensors
@pytest.mark.parametrize("shape", [(64, 64, 4), (2, 64, 64, 4)])
def test_an_h_w_bands_tensor_too_small_for_the_psf_is_told_why(shape):
    """Were ``image 64×4 is too small for a PSF of sigma 2 ...`` with no word of the axes, and
    ``IndexError: index 5 is out of bounds`` from inside :func:`blur_decimate_axis`."""
    from hsi.degrade import blur_decimate, blur_decimate_axis, decimate, wald_degradation

    x = torch.rand(shape)
    with pytest.raises(ShapeError, match=rf"^image 64×4 is too small for a PSF of sigma 2 .*"
                                         rf"; the tensor \({', '.join(map(str, shape))}\) "
                                         rf"{TORCH_AXES}$"):
        blur_decimate(x, None, 4)
    with pytest.raises(ShapeError, match=r"^image 64×4 is too small .*" + TORCH_AXES):
        wald_degradation(4)(x)
    with pytest.raises(ShapeError, match=r"^image 64×4 is smaller than the decimation ratio 8"
                                         r"; the tensor .*" + TORCH_AXES):
        decimate(x, 8)
    with pytest.raises(ShapeError, match=r"^x: W = 4 is too small for the PSF Gaussian σ = 2 "
                                         r"\(kernel 13, needs more than 6\) at ratio 4; the "
                                         r"tensor .*" + TORCH_AXES):
        blur_decimate_axis(x, None, 4, -1)
    with pytest.raises(ShapeError, match=r"^x: H = 2 is too small for the PSF"):
        blur_decimate_axis(torch.rand(2, 64), 1.0, 2, -2)  # bands-first: no word of axes


@pytest.mark.parametrize("shape", [(64, 64, 204), (2, 64, 64, 204)])
def test_spectral_response_of_an_h_w_bands_tensor_names_x_and_the_fix(shape):
    """Was ``spectral response matrix expects 204 bands, input has 64``: which input, and
    why 64?"""
    from hsi.degrade import SpectralResponse, spectral_response

    matrix = torch.full((3, 204), 1 / 204)
    pattern = (rf"^x: the spectral response matrix expects 204 bands, input has 64 \(axis -3 of "
               rf"\({', '.join(map(str, shape))}\)\); the tensor .*{TORCH_AXES}$")
    with pytest.raises(ShapeError, match=pattern):
        spectral_response(torch.rand(shape), matrix)
    with pytest.raises(ShapeError, match=pattern):
        SpectralResponse(matrix)(torch.rand(shape))
    with pytest.raises(ShapeError, match=r"input has 6 \(axis -3 of \(6, 8, 8\)\)$"):
        spectral_response(torch.rand(6, 8, 8), torch.full((3, 5), 0.2))  # no axes hint


# ============================================================== 2. Cube: numbers, not text
@pytest.mark.parametrize(("data", "got"), [
    (np.array([["a"]] * 3), "numpy.ndarray of <U1"),
    (np.full((2, 3, 3), "x", dtype=object), "numpy.ndarray of object"),
    (np.zeros((2, 3, 3), "S3"), "numpy.ndarray of |S3"),
    (np.zeros((2, 3, 3), "datetime64[s]"), "numpy.ndarray of datetime64[s]"),
    (np.zeros((2, 3, 3), complex), "numpy.ndarray of complex128: take np.abs(array) or "
                                   "array.real first"),
    (torch.zeros((2, 3, 3), dtype=torch.complex64), "torch.Tensor of complex64: take "),
])
def test_cube_of_text_objects_or_complex_values_is_refused(data, got):
    """Were accepted (a cube of strings, objects, dates or complex values failing later, deep
    in numpy), or ``cube must have shape (bands, H, W), got (3, 1)`` for an array of text."""
    with pytest.raises(ArgumentTypeError, match=r"^cube data: expected a numeric array of shape "
                                                r"\(bands, H, W\), got " + re.escape(got)):
        Cube(data)


def test_cube_keeps_bool_integer_and_float_data_and_takes_bfloat16():
    """A bfloat16 tensor was ``TypeError: Got unsupported ScalarType BFloat16``."""
    for dtype in (bool, np.uint8, np.int16, np.float16, np.float32, np.float64):
        assert Cube(np.zeros((2, 3, 3), dtype)).dtype == np.dtype(dtype)
    cube = Cube(torch.ones((2, 3, 3), dtype=torch.bfloat16))
    assert cube.dtype == np.float32 and float(cube.data.sum()) == 18.0


# ========================================================================= 3. Q2n: awkward
def _uiqi_modulus(x: np.ndarray, y: np.ndarray) -> float:
    """Q2n of one 1-band block by hand: the toolbox's normalisation by the reference's mean and
    sample std, then ``|σ_zv| / (σ_z σ_v) · 2 σ_z σ_v / (σ_z² + σ_v²) · 2 μ_z μ_v / (μ_z² + μ_v²)``
    (Garzelli & Nencini with real numbers: the modulus of UIQI)."""
    mu, sd = x.mean(), x.std(ddof=1)
    z, v = ((x - mu) / sd + 1).ravel(), ((y - mu) / sd + 1).ravel()
    cov = np.cov(z, v)
    return float(abs(cov[0, 1]) * 2 / (cov[0, 0] + cov[1, 1])
                 * 2 * z.mean() * abs(v.mean()) / (z.mean() ** 2 + v.mean() ** 2))


@pytest.mark.parametrize("bands", [1, 2, 3, 5, 8])
def test_q2n_of_identical_images_is_exactly_one(bands):
    """Was 0.9999999999999998 or 1.0000000000000042 (above its documented [0, 1])."""
    from hsi.metrics import q2n

    rng = np.random.default_rng(bands)
    for shape in ((bands, 32, 32), (bands, 40, 50), (bands, 5, 5), (bands, 1, 2)):
        x = rng.uniform(0.1, 0.6, shape)
        assert q2n(x, x.copy()) == 1.0


def test_q2n_of_signed_data_normalises_the_estimate_as_the_reference():
    """A band of zero block mean was only shifted in the estimate (onions_quality.m): identical
    images scored 0.64, and ``2 · ref`` 0.729 instead of the formula's 0.8."""
    from hsi.metrics import q2n

    ref = np.array([[[1.0, -1.0], [-1.0, 1.0]]])  # mean 0, sample std sqrt(4/3)
    # z = ref / s + 1, v = 2 ref / s + 1: means 1, variances 1 and 4, covariance 2
    assert q2n(ref, 2 * ref, block=2) == pytest.approx(2 * 2 / 5 * 1.0, abs=1e-12)
    assert q2n(ref, 2 * ref, block=2) == pytest.approx(_uiqi_modulus(ref[0], 2 * ref[0]))
    signed = np.zeros((2, 4, 4))
    signed[0, 0, :2] = (1.0, -1.0)
    assert q2n(signed, signed.copy(), block=4) == 1.0
    assert q2n(signed, signed + 0.01, block=4) < 1.0


def test_q2n_of_an_image_under_half_a_block_counts_each_pixel_once():
    """A 3 × 3 image was mirrored again and again to 32 × 32, counting its pixels 9 to 16
    times each (the toolbox itself stops on an index error); it is one 3 × 3 block."""
    from hsi.metrics import q2n

    ref = np.arange(1.0, 10.0).reshape(1, 3, 3)
    est = ref + np.array([[0.3, -0.2, 0.1], [0.0, 0.4, -0.1], [0.2, 0.0, -0.3]])
    assert q2n(ref, est) == pytest.approx(_uiqi_modulus(ref[0], est[0]), rel=1e-12)
    assert q2n(ref, est) == pytest.approx(q2n(ref, est, block=3), rel=1e-12)
    # 20 rows (at least half a block): mirrored to 32 as the toolbox does; 5 columns: one block
    rng = np.random.default_rng(0)
    ref, est = rng.random((1, 20, 5)), rng.random((1, 20, 5))
    mirrored = [np.pad(x[0], ((0, 12), (0, 0)), mode="symmetric") for x in (ref, est)]
    assert q2n(ref, est) == pytest.approx(_uiqi_modulus(*mirrored), rel=1e-12)
    with pytest.raises(ShapeError, match=r"^q2n needs images of at least 2 pixels .*got 1×1$"):
        q2n(np.ones((4, 1, 1)), np.ones((4, 1, 1)))


def test_q2n_says_why_it_is_nan_when_every_block_holds_a_missing_pixel(caplog):
    """Was NaN after ``1 of 1024 pixels have no data ... left out of every metric``, 1023
    pixels with data left unscored without a word."""
    from hsi.metrics import q2n

    ref = np.random.default_rng(0).uniform(0.1, 0.6, (3, 32, 32))
    holed = ref.copy()
    holed[:, 5, 5] = np.nan
    with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
        assert math.isnan(q2n(holed, ref))
    told = [m for m in _told(caplog, "hsi.metrics") if m.startswith("q2n:")]
    assert told == ["q2n: every block (1 of 32×32 pixels) holds a pixel with no data: NaN "
                    "(a smaller block= scores the blocks without one)"]
    assert q2n(holed, holed, block=16) == 1.0  # 3 of 4 blocks scored


# ============================================================================ 4. check_k
@pytest.mark.parametrize(("k", "n_pixels", "error", "pattern"), [
    (3, -1, ConfigError, r"^n_pixels: expected a count of valid pixels \(an integer >= 0\), "
                         r"got -1$"),
    (-1, 100, ShapeError, r"^k: expected at least 2 clusters, got -1 \(k in 2\.\.100: at most "
                          r"the valid pixel count, and 255 for a uint8 map\)$"),
    (0, 10**9, ShapeError, r"^k: expected at least 2 clusters, got 0 \(k in 2\.\.255"),
    (3, 1, ShapeError, r"^k: no cluster count fits 1 valid pixel\(s\) \(k must be in 2\.\.the "
                       r"valid pixel count: at least 2 pixels are needed\), got 3$"),
    (3, 0, ShapeError, r"^k: no cluster count fits 0 valid pixel"),
])
def test_check_k_names_k_and_its_range(k, n_pixels, error, pattern):
    """Were ``k: expected at most -1 clusters (the valid pixel count ...), got 3`` and
    ``k: expected at least 2 clusters, got -1`` (at most what?)."""
    from hsi.clustering import check_k

    with pytest.raises(error, match=pattern):
        check_k(k, n_pixels)
    with pytest.raises(ShapeError, match=r"^k: expected at most 4 clusters \(the valid pixel "
                                         r"count, and 255 for a uint8 map\), got 5$"):
        check_k(5, 4)  # unchanged: the CLI says it as is


def test_cluster_with_k_zero_names_the_range():
    from hsi.clustering import cluster

    with pytest.raises(ShapeError, match=r"^k: expected at least 2 clusters, got 0 \(k in "
                                         r"2\.\.255"):
        cluster(np.random.default_rng(0).random((4, 8, 8), dtype=np.float32), 0,
                progress=False)


# ============================================================ 5. evaluate_class_map: shapes
def test_evaluate_scores_two_label_vectors_as_one_row():
    """1-D vectors were scored right; one of another length was ``IndexError: tuple index
    out of range``."""
    from hsi.classification import evaluate_class_map

    pred, truth = np.array([1, 2, 2, 3, 0]), np.array([1, 2, 3, 3, 3])
    report = evaluate_class_map(pred, truth)
    assert report.oa == pytest.approx(60.0)
    assert report.aa == pytest.approx((100 + 100 + 100 / 3) / 3)
    row = evaluate_class_map(pred[None], truth[None])
    assert report.kappa == pytest.approx(row.kappa)
    np.testing.assert_array_equal(report.confusion, row.confusion)
    with pytest.raises(ShapeError, match=r"^class map \(5,\) and test labels \(4,\): expected "
                                         r"two \(H, W\) rasters \(or two 1-D label vectors\) "
                                         r"of the same shape$"):
        evaluate_class_map(pred, truth[:4])


def test_evaluate_refuses_3d_arrays_and_other_shapes_naming_both():
    """A 3-D pair was scored silently; ``(1, H, W)`` against ``(H, W)`` said ``class map is
    1×3 but test labels are 3×3``."""
    from hsi.classification import evaluate_class_map

    cube = np.ones((2, 3, 3), int)
    with pytest.raises(ShapeError, match=r"^class map \(2, 3, 3\) and test labels \(2, 3, 3\): "
                                         r"expected two \(H, W\) rasters"):
        evaluate_class_map(cube, cube)
    with pytest.raises(ShapeError, match=r"^class map \(1, 3, 3\) and test labels \(3, 3\): .*; "
                                         r"the class map \(1, 3, 3\) is one band: give its "
                                         r"\[0\]$") as err:
        evaluate_class_map(np.ones((1, 3, 3), int), np.ones((3, 3), int))
    assert err.value.actual_shape == (1, 3, 3) and err.value.expected_shape == (3, 3)
    with pytest.raises(ShapeError, match=r"^class map \(3, 4\) and test labels \(3, 3\)"):
        evaluate_class_map(np.ones((3, 4), int), np.ones((3, 3), int))
