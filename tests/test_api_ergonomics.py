"""The Python API as a notebook user meets it: the front door, reprs, argument types.

Each test here failed before the fix it guards (see the module docstrings of the fixes).
"""

from __future__ import annotations

import numpy as np
import pytest
from rasterio.crs import CRS
from rasterio.windows import Window

import hsi
from hsi.errors import ShapeError
from tests.probes import fresh_stdout

#: A repr longer than this is a dump, not a summary.
SHORT = 300


# ----------------------------------------------------------------------------- front door
def test_subpackages_reachable_from_import_hsi_without_loading_torch():
    """``import hsi; hsi.fusion.fuse(...)`` is how a notebook calls it; it was an
    AttributeError unless ``hsi.fusion`` had been imported by name first."""
    probe = (
        "import sys, hsi\n"
        "light = 'torch' not in sys.modules\n"
        "names = {'data', 'metrics', 'degrade', 'clustering', 'fusion', 'classification'}\n"
        "listed = names <= set(dir(hsi))\n"
        "print(light, listed, hsi.data.load.__name__, hsi.metrics.psnr.__name__,\n"
        "      hsi.degrade.simulate_pair.__name__, hsi.clustering.cluster.__name__,\n"
        "      hsi.fusion.fuse.__name__, hsi.classification.train_classifier.__name__)\n"
        "try:\n"
        "    hsi.nope\n"
        "except AttributeError as e:\n"
        "    print('AttributeError', e)\n"
    )
    first, second = fresh_stdout(probe).splitlines()
    assert first.split() == ["True", "True", "load", "psnr", "simulate_pair", "cluster", "fuse",
                             "train_classifier"]
    assert second == "AttributeError module 'hsi' has no attribute 'nope'"


# ----------------------------------------------------------------------------- reprs
def test_cube_repr_abbreviates_a_crs_without_an_epsg_code():
    crs = CRS.from_proj4("+proj=tmerc +lat_0=12.3 +lon_0=-7.1 +k=0.9991 +x_0=123 +y_0=45 "
                         "+ellps=WGS84 +units=m")
    text = repr(hsi.Cube(np.zeros((3, 4, 5), np.float32), crs=crs, name="x"))
    assert len(text) < 120 and "\n" not in text, text
    assert "Transverse_Mercator" in text or "tmerc" in text
    epsg = repr(hsi.Cube(np.zeros((3, 4, 5), np.float32), crs="EPSG:32611", name="x"))
    assert epsg == "Cube('x', 3×4×5 float32, crs=EPSG:32611)"


def test_labels_repr_is_a_summary():
    from hsi.labels import Labels

    labels = Labels(np.zeros((500, 400), np.uint8), crs="EPSG:32611", names=["a", "b"])
    text = repr(labels)
    assert len(text) < SHORT and "\n" not in text, text
    assert "500×400" in text and "uint8" in text and "EPSG:32611" in text and "'a'" in text


def test_sample_repr_is_a_summary(data_dir):
    from hsi import data

    sample = data.load("indian_pines")
    text = repr(sample)
    assert "\n" not in text and len(text) < 600, text
    assert "Cube('indian_pines'" in text and "145×145" in text and "16 classes" in text


def test_cluster_result_repr_is_a_summary():
    from hsi.clustering import ClusterResult

    result = ClusterResult(labels=np.ones((300, 200), np.uint8),
                           confidence=np.ones((300, 200), np.float32), method="kmeans", k=6,
                           seconds=1.234)
    text = repr(result)
    assert len(text) < SHORT and "\n" not in text, text
    assert "kmeans" in text and "k=6" in text and "300×200" in text


def test_classification_report_repr_is_a_summary():
    from hsi.classification import evaluate_class_map

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 17, (60, 60))
    pred = np.where(rng.random((60, 60)) < 0.8, truth, rng.integers(1, 17, (60, 60)))
    report = evaluate_class_map(pred, truth, class_names=[f"class {i}" for i in range(1, 17)])
    text = repr(report)
    assert len(text) < SHORT and "\n" not in text, text
    assert f"OA {report.oa:.2f}" in text and "16 classes" in text
    assert "confusion" in str(report).lower() or "OA" in str(report)


def _tiny_classifier():
    """An untrained classifier for the 5 bands of a small cube (no training: fast)."""
    from hsi.classification import Classifier, GanConfig
    from hsi.classification.features import fit_pca
    from hsi.classification.gan import Discriminator

    rng = np.random.default_rng(0)
    cube = hsi.Cube(rng.random((5, 24, 20), dtype=np.float32),
                    wavelengths=[450, 550, 650, 750, 850])
    config = GanConfig(n_components=3, patch_size=3, members=1)
    pca = fit_pca(cube.data, 3)
    model = Discriminator(3, 2, 3, config.width, config.dropout)
    return cube, Classifier(model=model, config=config, pca=pca, class_names=["soil", "tree"],
                            wavelengths=cube.wavelengths, history={"loss": list(range(500))})


def test_classifier_repr_is_a_summary():
    _, clf = _tiny_classifier()
    text = repr(clf)
    assert len(text) < SHORT and "\n" not in text, text
    assert "2 classes" in text and "5 bands" in text and "450–850 nm" in text


# ----------------------------------------------------------------------------- progress
def test_classifier_predict_takes_a_callback():
    cube, clf = _tiny_classifier()
    calls = []
    class_map, prob = clf.predict(cube, use_crf=False, tile=16, progress=False,
                                  callback=lambda done, total: calls.append((done, total)))
    assert class_map.shape == (24, 20) and prob.shape == (2, 24, 20)
    assert calls and calls[-1][0] == calls[-1][1] == calls[0][1]


# ----------------------------------------------------------------------------- argument types
def test_cube_accepts_a_list_and_a_torch_tensor():
    import torch

    data = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    from_list = hsi.Cube(data.tolist())
    assert isinstance(from_list.data, np.ndarray) and from_list.shape == (3, 4, 5)
    from_torch = hsi.Cube(torch.from_numpy(data))
    assert isinstance(from_torch.data, np.ndarray) and from_torch.dtype == np.float32
    assert not from_torch.is_lazy
    np.testing.assert_array_equal(from_torch.data, data)


def test_cube_refuses_non_numeric_data_naming_it():
    with pytest.raises(TypeError, match=r"^cube data: expected a numeric array"):
        hsi.Cube([[["a", "b"]]])
    with pytest.raises(ShapeError, match="cube must have shape"):
        hsi.Cube(np.zeros((4, 5)))


def test_crop_and_open_take_a_window_tuple(tmp_path):
    cube = hsi.Cube(np.arange(60, dtype=np.float32).reshape(3, 4, 5))
    part = cube.crop((1, 2, 3, 2))  # (col_off, row_off, width, height), as Window's fields
    assert part.shape == (3, 2, 3)
    np.testing.assert_array_equal(part.data, cube.data[:, 2:4, 1:4])
    path = hsi.save(cube, tmp_path / "c.tif")
    np.testing.assert_array_equal(hsi.open(path, window=(1, 2, 3, 2)).data, part.data)
    with pytest.raises(TypeError, match="window: expected a rasterio Window"):
        cube.crop("0:2")


def test_cube_equality_is_identity_not_an_error():
    """``cube == other`` raised numpy's "truth value of an array is ambiguous"; a cube is
    compared by identity (as :class:`hsi.labels.Labels`), so it can sit in lists and sets."""
    a = hsi.Cube(np.zeros((3, 4, 5), np.float32))
    b = hsi.Cube(np.zeros((3, 4, 5), np.float32))
    assert a == a and a != b
    assert b in [a, b] and len({a, b}) == 2


def test_crop_window_outside_still_a_shape_error():
    cube = hsi.Cube(np.zeros((3, 4, 5), np.float32))
    with pytest.raises(ShapeError, match="not inside"):
        cube.crop(Window(0, 0, 9, 9))


def test_classifier_predict_names_a_bare_array():
    """``clf.predict(array)`` was ``AttributeError: 'numpy.ndarray' object has no attribute
    'bands'``."""
    from hsi.errors import CubeTypeError

    cube, clf = _tiny_classifier()
    with pytest.raises(CubeTypeError, match=r"^Classifier.predict: cube: expected an hsi.Cube"):
        clf.predict(cube.data)


def test_dataset_names_forgive_case_and_dashes():
    from hsi.data import get_dataset
    from hsi.errors import DatasetNotFoundError

    assert get_dataset("Indian-Pines") is get_dataset("indian_pines")
    assert get_dataset(" SALINAS_A ") is get_dataset("salinas_a")
    with pytest.raises(DatasetNotFoundError, match=r"did you mean 'indian_pines'\?"):
        get_dataset("indian_pine")


# ----------------------------------------------------------------------------- docstrings
@pytest.mark.parametrize("dotted", [
    "hsi.classification.load_classifier", "hsi.classification.demo_classification",
    "hsi.classification.Classifier.predict", "hsi.fusion.load_infn",
    "hsi.clustering.clustering_accuracy", "hsi.data.get_dataset", "hsi.Cube.crop",
    "hsi.Cube.astype",
])
def test_public_functions_document_every_parameter(dotted):
    import importlib
    import inspect

    module, _, rest = dotted.partition(".")
    obj = importlib.import_module(module)
    for part in rest.split("."):
        obj = getattr(obj, part)
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{dotted} has no docstring"
    params = [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]
    missing = [p for p in params if f"{p} :" not in doc and f"``{p}``" not in doc]
    assert missing == [], f"{dotted}: undocumented {missing}"


def test_cube_docstring_names_only_existing_members():
    """It pointed to ``Cube.normalized``, which does not exist."""
    import re

    for name in re.findall(r":meth:`(\w+)`", hsi.Cube.__doc__):
        assert hasattr(hsi.Cube, name), name


# ----------------------------------------------------------------------------- guards
def test_fuse_and_cluster_leave_inputs_alone_and_repeat():
    """No in-place change of the inputs (a nodata pixel included) and the same result for the
    same seed (a guard: this held before the fixes above)."""
    from hsi.clustering import cluster
    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair
    from hsi.fusion import fuse

    cube = sample_cube().crop(Window(0, 0, 40, 40))
    lr, msi = simulate_pair(cube, ratio=4, srf="sentinel2")
    lr = lr.with_data(lr.data.copy(), nodata=-9999.0)
    lr.data[:, 2, 2] = -9999.0
    before = lr.data.copy(), msi.data.copy()
    runs = [fuse(lr, msi, method="glp", ratio=4, device="cpu", progress=False)
            for _ in range(2)]
    np.testing.assert_array_equal(lr.data, before[0])
    np.testing.assert_array_equal(msi.data, before[1])
    np.testing.assert_array_equal(runs[0].data, runs[1].data)
    assert not np.shares_memory(runs[0].data, lr.data)
    data = cube.data.copy()
    a, b = (cluster(cube, 3, method="kmeans", seed=1, progress=False) for _ in range(2))
    np.testing.assert_array_equal(cube.data, data)
    np.testing.assert_array_equal(a.labels, b.labels)


@pytest.mark.parametrize("call, says", [
    (lambda: hsi.open(3), r"hsi\.open: path must be a file or folder path .*got int$"),
    (lambda: hsi.open(np.zeros((3, 4, 4))),
     r"got ndarray \(an array becomes a cube with hsi\.Cube"),
    (lambda: hsi.save(hsi.Cube(np.zeros((3, 4, 4), np.float32)), None),
     r"hsi\.save: path must be .*got NoneType"),
])
def test_a_path_that_is_not_a_path_names_the_argument(call, says):
    """Was Python's bare ``TypeError: expected str, bytes or os.PathLike object, not int``."""
    from hsi.errors import ArgumentTypeError

    with pytest.raises(ArgumentTypeError, match=says):
        call()


@pytest.mark.parametrize("wavelengths", ["abc", [400, "a", 500], [[400, 450], [500]]])
def test_wavelengths_that_are_not_numbers_name_the_argument(wavelengths):
    """Was numpy's ``ValueError: could not convert string to float: 'abc'``."""
    from hsi.errors import WavelengthError

    with pytest.raises(WavelengthError, match=r"^wavelengths: expected 3 numbers in nm"):
        hsi.Cube(np.zeros((3, 4, 4), np.float32), wavelengths=wavelengths)
