"""The classification and clustering API as a notebook user meets it: numpy arrays in the
wrong axis order, labels coded 1, 10, 11..., seeds and options of the wrong type. Each mistake
is one line of an hsikit error, never a torch/numpy traceback or a silently wrong result."""

from __future__ import annotations

import numpy as np
import pytest

from hsi.cube import Cube
from hsi.errors import (
    ArgumentTypeError,
    ConfigError,
    DataError,
    FormatError,
    ModelError,
    ShapeError,
)

#: Salinas-A's own codes (the Salinas scene's classes 1, 10..14), not 1..6.
SALINAS_CODES = np.array([0, 1, 10, 11, 12, 13, 14])


@pytest.fixture(scope="module")
def scene():
    """(sample cube, its labels coded 1, 10..14, a 5-per-class split of them)."""
    from hsi.classification import split_labels
    from hsi.data import sample_cube, sample_labels

    labels, _ = sample_labels()
    coded = SALINAS_CODES[labels]
    return sample_cube(), coded, split_labels(coded, per_class=5, seed=0)


@pytest.fixture(scope="module")
def quick():
    from hsi.classification import GanConfig

    return GanConfig(epochs=1, min_steps=10, members=1, patch_select="fixed",
                     crf_select="fixed", n_components=5)


@pytest.fixture(scope="module")
def coded_classifier(scene, quick):
    import torch

    from hsi.classification import train_classifier

    torch.set_num_threads(1)
    cube, _, (train, _) = scene
    return train_classifier(cube, train, config=quick, seed=0, device="cpu", progress=False)


def test_predict_returns_the_labels_codes_and_scores_right(scene, coded_classifier):
    """Labels coded 1, 10..14: the class map came back in 1..6, so scoring it against the
    test labels gave OA 7 % (one warning) instead of the model's ~90 %."""
    from hsi.classification import evaluate_class_map

    cube, _, (_, test) = scene
    class_map, prob = coded_classifier.predict(cube, use_crf=False)
    assert set(np.unique(class_map)) <= {1, 10, 11, 12, 13, 14}
    np.testing.assert_array_equal(
        class_map, np.asarray(coded_classifier.codes)[prob.argmax(0)])
    assert evaluate_class_map(class_map, test).oa > 60.0


def test_cube_in_h_w_bands_order_is_named(scene, coded_classifier, quick):
    from hsi.classification import train_classifier

    cube, labels, _ = scene
    hwb = Cube(np.moveaxis(np.asarray(cube.data), 0, -1))  # (83, 86, 204) read as 83 bands
    with pytest.raises(ShapeError, match=r"looks like an \(H, W, bands\) array.*np\.moveaxis"):
        train_classifier(hwb, labels, config=quick, progress=False)
    with pytest.raises(ModelError, match=r"204 bands, the cube has 83; .*\(H, W, bands\)"):
        coded_classifier.predict(hwb)


@pytest.mark.parametrize("seed", [None, 1.5, -1])
def test_seed_of_wrong_kind_is_one_config_error(scene, quick, seed):
    from hsi.classification import split_labels, train_classifier

    cube, labels, (train, _) = scene
    with pytest.raises(ConfigError, match="seed: expected a whole number"):
        train_classifier(cube, train, config=quick, seed=seed, progress=False)
    with pytest.raises(ConfigError, match="seed: expected a whole number"):
        split_labels(labels, per_class=5, seed=seed)


def test_fractional_counts_are_refused_not_truncated(scene, quick):
    from hsi.classification import split_labels, train_classifier

    cube, labels, (train, _) = scene
    with pytest.raises(ConfigError, match=r"epochs: expected a whole number >= 1, got 1\.7"):
        train_classifier(cube, train, config=quick, epochs=1.7, progress=False)
    with pytest.raises(ConfigError, match=r"per_class: expected a whole number >= 1, got 2\.5"):
        split_labels(labels, per_class=2.5)


@pytest.mark.parametrize(("options", "field"), [
    ({"batch_size": 0}, "batch_size"), ({"batch_size": 2.5}, "batch_size"),
    ({"members": 2.5}, "members"), ({"width": 0}, "width"), ({"noise_dim": 0}, "noise_dim"),
    ({"patch_size": 3.0}, "patch_size"), ({"crf_iterations": -1}, "crf_iterations"),
    ({"lr": -1.0}, "lr"), ({"lr": float("nan")}, "lr"), ({"dropout": 1.5}, "dropout"),
    ({"ema_decay": "0.9"}, "ema_decay"), ({"crf_confidence": "1"}, "crf_confidence"),
    ({"crf_bilateral_sxy": 0.0}, "crf_bilateral_sxy"),
])
def test_gan_config_refuses_bad_fields_at_once(options, field):
    """Each of these had reached torch (ZeroDivisionError, 'Invalid learning rate', a
    randint() signature dump) or trained silently (crf_iterations=-1)."""
    from hsi.classification import GanConfig

    with pytest.raises(ConfigError, match=rf"^{field}: expected"):
        GanConfig(**options)


def test_config_and_class_names_of_the_wrong_type(scene, quick):
    import dataclasses

    from hsi.classification import train_classifier

    cube, _, (train, _) = scene
    with pytest.raises(ArgumentTypeError, match=r"config: expected a GanConfig, got dict"):
        train_classifier(cube, train, config=dataclasses.asdict(quick), progress=False)
    with pytest.raises(ArgumentTypeError, match=r"class_names: .* got the string 'abcdef'"):
        train_classifier(cube, train, class_names="abcdef", config=quick, progress=False)


def test_negative_unlabelled_value_is_named(scene, quick):
    from hsi.classification import train_classifier

    cube, labels, _ = scene
    marked = labels.astype(np.int64)
    marked[marked == 0] = -1
    with pytest.raises(FormatError, match=r"0\.\.65535 \(0 = unlabelled\), got -1"):
        train_classifier(cube, marked, config=quick, progress=False)


def test_float_class_map_is_not_truncated():
    from hsi.classification import evaluate_class_map

    truth = np.array([[1, 2], [2, 0]])
    with pytest.raises(DataError, match="class map: expected whole-number ids"):
        evaluate_class_map(truth + 0.4, truth)
    with pytest.raises(DataError, match="class map: expected whole-number ids"):
        evaluate_class_map(np.where(truth == 2, np.nan, truth), truth)
    assert evaluate_class_map(truth.astype(float), truth).oa == 100.0


def test_cluster_refuses_a_bad_n_components_and_names_the_method_as_given(scene):
    from hsi.clustering import cluster

    cube = Cube(np.asarray(scene[0].data)[:, :12, :12])
    for n in (0, -3, 2.5):
        with pytest.raises(ConfigError, match="n_components: expected a whole number >= 1"):
            cluster(cube, 3, n_components=n, progress=False)
    with pytest.raises(ConfigError, match=r"method: expected one of .*, got None$"):
        cluster(cube, 3, method=None, progress=False)


def test_uint8_255_is_trained_as_a_class_with_one_warning(scene, quick, caplog):
    """255 in a bare uint8 array usually marks unlabelled pixels: still a legal class code,
    but the training now says so in one line (it trained a 'class 255' silently)."""
    from hsi.classification import train_classifier
    from hsi.classification.pipeline import warn_if_fill_value_code

    cube, _, (train, _) = scene
    labels = train.astype(np.uint8)
    labels[:3, :3] = 255
    with caplog.at_level("WARNING", logger="hsi.classification.pipeline"):
        model = train_classifier(cube, labels, config=quick, seed=0, device="cpu",
                                 progress=False)
    said = [r.getMessage() for r in caplog.records if "255" in r.getMessage()]
    assert len(said) == 1 and "9 pixel(s) hold 255" in said[0] and "set them to 0" in said[0]
    assert 255 in model.code_table()  # trained as given: a legal code
    assert warn_if_fill_value_code(train.astype(np.uint8)) == 0  # no 255: nothing said
    assert warn_if_fill_value_code(np.full((2, 2), 255, np.int32)) == 0  # not a fill value
    assert warn_if_fill_value_code(np.full((2, 2), 65535, np.uint16)) == 4
