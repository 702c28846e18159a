"""Clustering, fusion metrics and simulation as a notebook user meets them (third audit).

Arrays in ``(H, W, bands)`` order, torch tensors, ragged lists, reflectance × 10 000 scored
with the default peak, wavelengths in µm, bare arrays where a Cube or a path is needed: each
is one warning line or one hsikit error naming the argument, never a silently misread array,
a numpy/Python traceback or a 700-character message about something else.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest

from hsi.cube import Cube
from hsi.errors import (
    ArgumentTypeError,
    ConfigError,
    CubeTypeError,
    FormatError,
    ShapeError,
    WavelengthError,
)

AXES = r"looks like an \(H, W, bands\) array: .*np\.moveaxis\(array, -1, 0\)"


@pytest.fixture(scope="module")
def sample() -> Cube:
    from hsi.data import sample_cube

    return sample_cube()


@pytest.fixture(scope="module")
def crop(sample) -> np.ndarray:
    """A 20 × 20 crop of the Salinas-A sample, (204, 20, 20) float32."""
    return np.asarray(sample.data)[:, 20:40, 20:40]


def _told(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == logger and r.levelno == logging.WARNING]


# ============================================================ (H, W, bands): the shared rule
@pytest.mark.parametrize(("shape", "looks"), [
    ((100, 100, 4), True), ((120, 90, 13), True), ((512, 512, 32), True),
    ((204, 86, 83), False), ((13, 500, 400), False), ((31, 64, 64), False),
    ((100, 100, 33), False), ((100, 15, 4), False), ((4, 100, 100), False), ((100, 100), False),
])
def test_channels_last_rule(shape, looks):
    from hsi.cube import looks_channels_last

    assert looks_channels_last(shape) is looks


def test_axis_order_hint_is_one_core_helper_with_the_classifiers_words():
    from hsi.classification import pipeline
    from hsi.cube import axis_order_hint

    assert pipeline.axis_order_hint is axis_order_hint
    cube = Cube(np.zeros((83, 86, 204), np.float32))
    assert axis_order_hint(cube) == (
        "; the cube (83, 86, 204) looks like an (H, W, bands) array: hsi.Cube wants "
        "(bands, H, W), e.g. hsi.Cube(np.moveaxis(array, -1, 0))")
    assert axis_order_hint((100, 100, 4)).endswith("e.g. np.moveaxis(array, -1, 0)")


# ================================================================================= clustering
@pytest.mark.parametrize("shape", [(100, 100, 4), (120, 90, 13)])
def test_cluster_warns_once_about_an_h_w_bands_array(caplog, shape):
    """Was clustered silently as 100 bands of 100 × 4 pixels: labels (100, 4)."""
    from hsi.clustering import cluster

    data = np.random.default_rng(0).random(shape, dtype=np.float32)
    with caplog.at_level(logging.WARNING, logger="hsi.clustering"):
        result = cluster(data, 3, progress=False)
    told = _told(caplog, "hsi.clustering")
    assert len(told) == 1
    assert told[0].startswith(f"cube: read as {shape[0]} bands of {shape[1]}×{shape[2]} pixels")
    assert str(shape) in told[0] and re.search(AXES, told[0])
    assert result.labels.shape == shape[1:]  # read as (bands, H, W) all the same


def test_cluster_of_a_bands_first_array_or_a_cube_is_not_told(caplog, sample):
    from hsi.clustering import cluster

    bare = np.asarray(sample.data)  # (204, 83, 86)
    with caplog.at_level(logging.WARNING, logger="hsi.clustering"):
        cluster(bare[:, :30, :30], 3, progress=False)
        cluster(Cube(np.random.default_rng(0).random((100, 100, 4), dtype=np.float32)), 3,
                progress=False)  # a Cube says its axes by being built
    assert not any("(H, W, bands)" in m for m in _told(caplog, "hsi.clustering"))


def test_cluster_takes_a_torch_tensor(crop):
    """Was ``TypeError: Cannot interpret 'torch.float32' as a data type``."""
    import torch

    from hsi.clustering import cluster

    a = cluster(torch.from_numpy(np.ascontiguousarray(crop)), 3, progress=False)
    b = cluster(crop, 3, progress=False)
    np.testing.assert_array_equal(a.labels, b.labels)
    with pytest.raises(FormatError, match=r"^cube: expected real values, got torch\.complex64"):
        cluster(torch.zeros((3, 8, 8), dtype=torch.complex64), 2, progress=False)


def test_cluster_refuses_ragged_lists_and_text_naming_the_cube():
    """Were numpy's ``ValueError: setting an array element with a sequence`` and
    ``ShapeError: cube: expected (bands, H, W), got ()`` for a string."""
    from hsi.clustering import cluster

    with pytest.raises(ShapeError, match=r"^cube data: .*nested lists of unequal lengths"):
        cluster([[[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0]]], 2, progress=False)
    with pytest.raises(ArgumentTypeError, match=r"^cube data: expected a numeric array .* str"):
        cluster("scene.tif", 2, progress=False)


def test_nan_pixels_error_names_the_nonfinite_option(crop):
    from hsi.clustering import cluster

    holed = crop.copy()
    holed[0, 0, 0] = np.nan
    with pytest.raises(FormatError, match=r"nonfinite='nodata'"):
        cluster(holed, 3, progress=False)
    assert cluster(holed, 3, progress=False, nonfinite="nodata").labels[0, 0] == 0


def test_auto_k_on_two_pixels_is_two(crop):
    """Was ``k: expected at least 2 clusters, got 1`` though the user asked for 'auto'."""
    from hsi.clustering import cluster

    result = cluster(crop[:, :1, :2], "auto", progress=False)
    assert result.k == 2 and sorted(np.unique(result.labels)) == [1, 2]


def test_evaluate_takes_the_cluster_result_and_names_a_non_array(crop):
    """Were ``clusters: shape () differs from the labels' (20, 20)``."""
    from hsi.clustering import cluster, evaluate

    result = cluster(crop, 3, progress=False)
    truth = (np.arange(400).reshape(20, 20) % 3 + 1)
    assert evaluate(result, truth) == evaluate(result.labels, truth)
    with pytest.raises(ArgumentTypeError, match=r"^clusters: expected an \(H, W\) array"):
        evaluate(None, truth)


def test_cluster_file_names_a_cube_or_array_given_as_the_path(tmp_path, crop):
    """Was ``TypeError: expected str, bytes or os.PathLike object, not Cube``."""
    from hsi.clustering import cluster_file

    for given in (Cube(crop), crop):
        with pytest.raises(ArgumentTypeError,
                           match=r"^cluster_file: cube_path must be a file path .*"
                                 r"hsi\.clustering\.cluster\(cube, k\)"):
            cluster_file(given, 3, tmp_path / "map.tif", progress=False)
    with pytest.raises(ArgumentTypeError, match=r"^cluster_file: output must be a file path"):
        cluster_file(tmp_path / "cube.tif", 3, None, progress=False)
    assert list(tmp_path.iterdir()) == []


# ==================================================================================== metrics
@pytest.fixture(scope="module")
def hwc_pair() -> tuple[np.ndarray, np.ndarray]:
    """A (64, 48, 12) pair: 12 bands stored last (SSIM's 11 × 11 window fits 48 × 12)."""
    rng = np.random.default_rng(0)
    ref = rng.uniform(0.1, 0.6, (64, 48, 12))
    return ref, ref + rng.normal(0, 0.01, ref.shape)


def test_metrics_of_an_h_w_bands_pair_are_told_once(caplog, hwc_pair):
    """Were scored silently as 64 bands of 48 × 12 pixels (SAM over 64-value 'spectra')."""
    from hsi.metrics import fusion_metrics, sam

    ref, est = hwc_pair
    with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
        fusion_metrics(ref, est, 4, extended=False)
    told = _told(caplog, "hsi.metrics")
    assert len(told) == 1
    assert told[0].startswith("reference and estimate: read as 64 bands of 48×12 pixels")
    assert "(64, 48, 12)" in told[0] and "np.moveaxis(array, -1, 0)" in told[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
        sam(ref, est)
    assert len(_told(caplog, "hsi.metrics")) == 1


def test_metrics_of_a_bands_first_pair_or_of_cubes_are_not_told(caplog, hwc_pair):
    from hsi.metrics import fusion_metrics, psnr, scale_problem

    ref, est = hwc_pair
    with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
        fusion_metrics(np.moveaxis(ref, -1, 0), np.moveaxis(est, -1, 0), 4)
        psnr(Cube(ref), Cube(est))
        assert scale_problem(ref, est) is None  # the same answer in any axis order
    assert _told(caplog, "hsi.metrics") == []


def test_metrics_refuse_complex_values():
    """Was numpy's ComplexWarning and a PSNR of the real parts."""
    from hsi.metrics import psnr

    ref = np.random.default_rng(0).random((3, 16, 16))
    with pytest.raises(FormatError, match=r"^reference: expected real values, got complex128"):
        psnr(ref + 0j, ref)


@pytest.mark.parametrize("block", [8.5, "8", None])
def test_q2n_block_that_is_not_an_integer_is_refused_not_truncated(block):
    """``q2n(ref, est, 8.5)`` scored 8 × 8 blocks silently (uiqi refused it already)."""
    from hsi.metrics import q2n

    ref = np.random.default_rng(0).random((3, 16, 16))
    with pytest.raises(ShapeError, match=r"^q2n block must be an integer >= 2"):
        q2n(ref, ref * 0.9, block)


def test_reflectance_times_10000_scored_with_peak_1_is_told(caplog, crop):
    """Were PSNR -40 dB and SSIM 0.9994 without a word (``hsi metrics`` warned, not the API)."""
    from hsi.metrics import fusion_metrics, psnr, ssim

    ref = np.round(crop * 10000).astype(np.uint16)
    est = np.round(crop * 10000 * 1.01).astype(np.uint16)
    for call, name in ((lambda: psnr(ref, est), "psnr"), (lambda: ssim(ref, est), "ssim"),
                       (lambda: fusion_metrics(ref, est, 4), "fusion_metrics")):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
            call()
        told = _told(caplog, "hsi.metrics")
        assert len(told) == 1, told
        assert told[0].startswith(f"{name}: the reference reaches") and "peak=" in told[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hsi.metrics"):
        fusion_metrics(ref, est, 4, peak=10000)
        psnr(ref, est, peak_mode="band-max")  # the peak is each band's maximum
    assert _told(caplog, "hsi.metrics") == []


# ================================================================================= simulation
def test_simulate_pair_names_a_bare_array(crop):
    """Was ``AttributeError: 'numpy.ndarray' object has no attribute 'wavelengths'``."""
    from hsi.degrade import simulate_pair

    with pytest.raises(CubeTypeError, match=r"^simulate_pair: cube: expected an hsi\.Cube, "
                                             r"got numpy\.ndarray"):
        simulate_pair(crop, 4, "sentinel2")


@pytest.mark.parametrize("name", ["normalize_reflectance", "reflectance_scale",
                                  "crop_to_ratio", "unscale_bands", "declared_scale",
                                  "warn_if_zeros_undeclared"])
def test_cube_functions_of_degrade_name_a_bare_array(crop, name):
    """Were ``AttributeError: 'numpy.ndarray' object has no attribute 'metadata'`` (...)."""
    import hsi.degrade

    func = getattr(hsi.degrade, name)
    args = (crop, 4) if name == "crop_to_ratio" else (crop,)
    with pytest.raises(CubeTypeError, match=rf"^{name}: cube: expected an hsi\.Cube"):
        func(*args)


def test_simulate_files_names_a_bare_array(tmp_path, crop):
    """Was ``TypeError: expected str, bytes or os.PathLike object, not ndarray``."""
    from hsi.simulate import simulate_files

    with pytest.raises(CubeTypeError, match=r"^simulate_files: cube \(or a path\): expected"):
        simulate_files(crop, tmp_path / "pair", 4, "sentinel2")
    assert list(tmp_path.iterdir()) == []


def test_wavelengths_in_micrometres_are_named(tmp_path, sample):
    """Was a 709-character SensorError listing every Sentinel-2 band as outside
    '0.39022-2.48911 nm'."""
    from hsi.degrade import simulate_pair
    from hsi.simulate import simulate_files

    um = Cube(np.asarray(sample.data)[:, :40, :40], wavelengths=sample.wavelengths / 1000)
    with pytest.raises(WavelengthError, match=r"wavelengths 0\.39.*-2\.48.* look like "
                                              r"micrometres.*wavelengths_in_nm"):
        simulate_pair(um, 4, "sentinel2")
    with pytest.raises(WavelengthError, match="look like micrometres"):
        simulate_files(um, tmp_path / "pair", 4, "sentinel2")
    assert not (tmp_path / "pair").exists()
    # the sensor model built straight from the band centres says it too (was the long list)
    from hsi.degrade import SpectralResponse

    with pytest.raises(WavelengthError, match=r"^cube: wavelengths 0\.39.* look like micro"):
        SpectralResponse.from_srf("sentinel2", um.wavelengths)


@pytest.mark.parametrize("percentile", [200, 0, "99", None, float("nan")])
def test_reflectance_scale_percentile_out_of_range_is_a_config_error(sample, percentile):
    """Were numpy's ``ValueError: Percentiles must be in the range [0, 100]`` and a
    ``TypeError: ufunc 'divide' not supported`` for a string."""
    from hsi.degrade import normalize_reflectance, reflectance_scale

    with pytest.raises(ConfigError, match=r"^percentile: expected a number in \(0, 100\]"):
        reflectance_scale(sample, percentile)
    with pytest.raises(ConfigError, match=r"^percentile"):
        normalize_reflectance(sample, percentile)


def test_a_pair_with_the_estimate_in_h_w_bands_order_names_the_fix():
    """The shape error said only ``got (4, 40, 30) and (40, 30, 4)``."""
    from hsi.metrics import sam

    ref = np.random.default_rng(0).random((4, 40, 30))
    with pytest.raises(ShapeError, match=r"got \(4, 40, 30\) and \(40, 30, 4\); the array "
                                         r"\(40, 30, 4\) " + AXES):
        sam(ref, np.moveaxis(ref, 0, -1))


def test_estimate_k_names_a_cube_given_for_features_and_a_bad_k_max(crop):
    """Were scikit-learn's ``Found array with dim 3 ... NearestNeighbors`` for a cube and, for
    ``k_max=1``, ``k: 'auto' needs at least 2 distinct valid pixels ..., got 1``."""
    from hsi.clustering import estimate_k

    with pytest.raises(ShapeError, match=r"^x: expected pixel features of shape \(N, d\), got "
                                         r"shape \(204, 20, 20\).*cluster\(cube, 'auto'\)"):
        estimate_k(crop)
    x = crop.reshape(204, -1).T
    with pytest.raises(ConfigError, match=r"^k_max: expected a whole number >= 2, got 1$"):
        estimate_k(x, k_max=1)
    assert estimate_k(x.tolist())[0] == estimate_k(x.astype(np.float64))[0]
