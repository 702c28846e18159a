"""Behaviour the public docstrings promise, where the code did otherwise.

Each test names the docstring it holds the code to: a wrong argument a user can easily pass
raises the hsikit error the docstring lists (not a bare ``TypeError``, ``AttributeError`` or
``RuntimeError`` from numpy, torch or rasterio), and an argument out of its documented range
is refused rather than read as something else.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hsi
from hsi import Cube
from hsi.errors import (
    ArgumentTypeError,
    ConfigError,
    CubeTypeError,
    FormatError,
    ShapeError,
)

#: A shipped INFN checkpoint (204 AVIRIS bands, Sentinel-2, ×4).
DATA_CHECKPOINT = (Path(hsi.__file__).parent / "data" / "checkpoints"
                   / "infn_aviris204_sentinel2_x4.pt")


@pytest.fixture(scope="module")
def crop():
    from hsi.data import sample_cube

    return sample_cube().crop((0, 0, 24, 24))


@pytest.fixture(scope="module")
def pair(crop):
    from hsi.degrade import simulate_pair

    return simulate_pair(crop, 4, "sentinel2")


# ------------------------------------------------------------------------------- metrics
@pytest.mark.parametrize("peak", ["x", None, 0, -1.0])
def test_scale_problem_refuses_a_peak_psnr_refuses(peak):
    """scale_problem's ``peak`` is the data range PSNR assumes (> 0): ConfigError as psnr."""
    from hsi.metrics import scale_problem

    ref = np.random.default_rng(0).random((3, 8, 8))
    with pytest.raises(ConfigError, match="peak"):
        scale_problem(ref, ref, peak)


# -------------------------------------------------------------------------------- fusion
def test_fuse_refuses_a_seed_that_is_not_a_whole_number(pair):
    """fuse: ``seed`` a whole number in range (ConfigError), not a TypeError from numpy."""
    from hsi.fusion import fuse

    lr, hr = pair
    with pytest.raises(ConfigError, match="seed"):
        fuse(lr, hr, method="bicubic", seed="x", progress=False)


def test_check_pair_refuses_bare_arrays(pair):
    from hsi.fusion import check_pair

    lr, hr = pair
    with pytest.raises(CubeTypeError, match="lr_hsi"):
        check_pair(lr.data, hr.data)


@pytest.mark.parametrize("name", ["bicubic", "glp", "gsa", "cnmf"])
def test_baselines_refuse_what_is_not_a_tensor(pair, name):
    """A Cube (or text) given to a baseline: ArgumentTypeError naming the fix."""
    from hsi.fusion import baselines

    lr, hr = pair
    method = getattr(baselines, name)
    args = (lr,) if name == "bicubic" else (lr, hr)
    with pytest.raises(ArgumentTypeError, match=r"cube\.data"):
        method(*args, 4)
    args = ("x",) if name == "bicubic" else ("x", hr.data)
    with pytest.raises(ArgumentTypeError, match="lr"):
        method(*args, 4)


def test_infn_checkpoints_refuse_a_path_that_is_not_one(tmp_path):
    from hsi.fusion import INFN, InfnConfig, load_infn, save_infn

    model = INFN(InfnConfig(hsi_bands=4, msi_bands=3, base="bicubic"))
    with pytest.raises(ArgumentTypeError, match="path"):
        load_infn(None)
    with pytest.raises(ArgumentTypeError, match="path"):
        save_infn(None, model)
    with pytest.raises(ArgumentTypeError, match="INFN"):
        save_infn(tmp_path / "m.pt", "model")
    assert not (tmp_path / "m.pt").exists()


def test_load_infn_device_names_are_checked():
    """load_infn's ``device`` is a device name: ConfigError, not torch's RuntimeError."""
    from hsi.fusion import load_infn

    with pytest.raises(ConfigError, match="device"):
        load_infn(DATA_CHECKPOINT, device="tpu")
    assert next(load_infn(DATA_CHECKPOINT, device="auto").parameters()).device.type in (
        "cpu", "cuda")


# ------------------------------------------------------------------------ classification
def test_classifier_checkpoints_refuse_a_path_that_is_not_one():
    from hsi.classification import load_classifier

    with pytest.raises(ArgumentTypeError, match="path"):
        load_classifier(None)


def test_evaluate_class_map_refuses_one_string_of_names():
    """evaluate_class_map: ``class_names`` a list or dict; a string's letters are not names
    (train_classifier refuses it so too)."""
    from hsi.classification import evaluate_class_map

    labels = np.array([[1, 2], [2, 1]])
    with pytest.raises(ArgumentTypeError, match="class_names"):
        evaluate_class_map(labels, labels, "ab")
    assert evaluate_class_map(labels, labels, ["a", "b"]).class_names == ["a", "b"]


@pytest.fixture(scope="module")
def classifier(crop):
    import torch

    from hsi.classification import GanConfig, train_classifier
    from hsi.data import sample_labels

    labels, _ = sample_labels()
    quick = GanConfig(epochs=1, min_steps=2, members=1, patch_select="fixed",
                      crf_select="fixed")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train_classifier(crop, labels[:24, :24], config=quick, progress=False)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("tile", [0, False])
def test_predict_refuses_tile_zero_as_it_refuses_negative_tiles(classifier, crop, tile):
    """Classifier.predict: ``tile`` a whole number >= 1; 0 was read as the default."""
    with pytest.raises(ShapeError, match="tile"):
        classifier.predict(crop, tile=tile)


def test_classifier_save_refuses_a_path_that_is_not_one(classifier):
    with pytest.raises(ArgumentTypeError, match="path"):
        classifier.save(None)


# ------------------------------------------------------------------------------------ io
def test_save_format_that_is_not_a_name(crop, tmp_path):
    """hsi.save: an unknown format is a FormatError, also when it is not a string."""
    from hsi.io import output_format

    with pytest.raises(FormatError, match="format"):
        hsi.save(crop, tmp_path / "a.tif", format=3)
    with pytest.raises(FormatError, match="format"):
        output_format("a.tif", 3)
    assert not list(tmp_path.iterdir())


def test_format_helpers_refuse_a_path_that_is_not_one():
    from hsi.io import detect_format, output_format

    with pytest.raises(ArgumentTypeError, match="path"):
        detect_format(None)
    with pytest.raises(ArgumentTypeError, match="path"):
        output_format(None)


# ---------------------------------------------------------------------------------- Cube
def test_cube_refuses_a_crs_rasterio_cannot_read():
    with pytest.raises(ConfigError, match="crs"):
        Cube(np.zeros((2, 3, 3)), crs="nonsense")


@pytest.mark.parametrize("transform", [(1, 2), "abc"])
def test_cube_refuses_a_transform_that_is_not_six_numbers(transform):
    with pytest.raises(ArgumentTypeError, match="transform"):
        Cube(np.zeros((2, 3, 3)), transform=transform)


@pytest.mark.parametrize("percentiles", [(98, 2), (0, 200), (5, 5), "x", (1, 2, 3)])
def test_rgb_refuses_percentiles_out_of_order_or_range(crop, percentiles):
    with pytest.raises(ConfigError, match="percentiles"):
        crop.rgb(percentiles)
    assert crop.rgb((2, 98)).shape == (crop.height, crop.width, 3)
