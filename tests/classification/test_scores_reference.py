"""Science audit: classification scores and train/test splits against independent references.

Every score of :func:`hsi.classification.evaluate.evaluate_class_map` is recomputed here with
scikit-learn (``accuracy_score``, ``balanced_accuracy_score``, ``cohen_kappa_score``,
``recall_score``, ``precision_score``, ``confusion_matrix``) on class maps of real scenes: the
ground truths of Indian Pines, Salinas-A, Samson and Jasper Ridge perturbed, and the maps of a
short nearest-centroid classifier. The splits of :func:`hsi.classification.splits.split_labels`
are checked pixel by pixel (disjointness, per-class counts, the Chebyshev gap measured with a
k-d tree, determinism).
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    precision_score,
    recall_score,
)

from hsi.classification.evaluate import evaluate_class_map, plot_confusion
from hsi.classification.splits import split_labels
from hsi.labels import Labels

SCENES = ["indian_pines", "salinas_a", "samson", "jasper_ridge"]
TOL = 1e-9  # scores in %: the differences seen are ~1e-14


@pytest.fixture(scope="module")
def scenes(data_dir):
    """{name: (cube (B, H, W) float, ground truth (H, W) int64, class names)} of real data."""
    import hsi.data

    out = {}
    for name in SCENES:
        s = hsi.data.load(name)
        out[name] = (np.asarray(s.cube.compute().data), np.asarray(s.labels).astype(np.int64),
                     list(s.class_names))
    return out


def perturb(gt: np.ndarray, seed: int) -> np.ndarray:
    """A class map made from ``gt``: 20 % random classes, 5 % unclassified (0), 2 % a code
    that is no class of the truth, class 2 never predicted (all turned into class 3)."""
    rng = np.random.default_rng(seed)
    k = int(gt.max())
    pred = np.where(gt > 0, gt, rng.integers(1, k + 1, gt.shape))
    u = rng.random(gt.shape)
    pred[u < 0.20] = rng.integers(1, k + 1, int((u < 0.20).sum()))
    pred[(u >= 0.20) & (u < 0.25)] = 0
    pred[(u >= 0.25) & (u < 0.27)] = k + 3
    pred[pred == 2] = 3
    return pred


def reference(pred: np.ndarray, truth: np.ndarray) -> dict:
    """Scores by scikit-learn on the labelled pixels (0 predicted = its own, wrong, label)."""
    m = truth > 0
    t, p = truth[m], pred[m]
    codes = np.union1d(t, p[p > 0])
    cm = confusion_matrix(t, p, labels=[*codes.tolist(), 0])[:-1]  # row "0": no test pixel
    kw = {"labels": codes, "average": None, "zero_division": np.nan}
    return {"codes": codes.tolist(), "confusion": cm,
            "oa": 100 * accuracy_score(t, p),
            "aa": 100 * balanced_accuracy_score(t, p),  # mean recall of the classes in t
            "kappa": cohen_kappa_score(t, p),
            "producers": 100 * recall_score(t, p, **kw),
            "users": 100 * precision_score(t, p, **kw)}


def assert_matches(report, ref) -> float:
    """Every score equal to the reference; returns the largest difference."""
    assert report.codes == ref["codes"]
    np.testing.assert_array_equal(report.confusion, ref["confusion"])
    np.testing.assert_array_equal(np.isnan(report.producers), np.isnan(ref["producers"]))
    np.testing.assert_array_equal(np.isnan(report.users), np.isnan(ref["users"]))
    diffs = [abs(report.oa - ref["oa"]), abs(report.aa - ref["aa"]),
             abs(report.kappa - ref["kappa"]),
             np.nanmax(np.abs(report.producers - ref["producers"]), initial=0.0),
             np.nanmax(np.abs(report.users - ref["users"]), initial=0.0)]
    assert max(diffs) < TOL, diffs
    return float(max(diffs))


@pytest.mark.filterwarnings("ignore::UserWarning")  # sklearn: y_pred has labels not in y_true
@pytest.mark.parametrize("name", SCENES)
def test_scores_of_perturbed_ground_truth_match_sklearn(scenes, name):
    _, gt, _ = scenes[name]
    pred = perturb(gt, seed=SCENES.index(name))
    report = evaluate_class_map(pred, gt)
    ref = reference(pred, gt)
    assert_matches(report, ref)
    # class 2 is tested but never predicted: producer's 0 % (in AA), user's NaN
    i = report.codes.index(2)
    assert report.producers[i] == 0.0 and np.isnan(report.users[i])
    # the stray code k + 3 has a column and a row of zeros: not in AA, producer's NaN
    j = report.codes.index(int(gt.max()) + 3)
    assert report.confusion[j].sum() == 0 and np.isnan(report.producers[j])
    assert report.confusion[:, j].sum() > 0
    # unclassified pixels: the last column, counted wrong in OA
    assert report.confusion[:, -1].sum() == int(((pred == 0) & (gt > 0)).sum())
    assert report.n_test == int((gt > 0).sum())
    # what the map says on unlabelled pixels does not matter
    if (gt == 0).any():
        other = np.where(gt > 0, pred, 99)
        again = evaluate_class_map(other, gt)
        assert (again.oa, again.aa, again.kappa) == (report.oa, report.aa, report.kappa)


def test_confusion_rows_are_truth():
    """Truth all class 1, prediction all class 2: the count sits in row 1, column 2."""
    truth = np.array([[1, 1, 1, 2]])
    pred = np.array([[2, 2, 2, 2]])
    r = evaluate_class_map(pred, truth)
    assert r.confusion.tolist() == [[0, 3, 0], [0, 1, 0]]
    assert r.producers.tolist() == [0.0, 100.0] and r.users[1] == 25.0
    np.testing.assert_array_equal(r.confusion[:, :2], confusion_matrix(truth[0], pred[0]))


@pytest.fixture(scope="module")
def centroid_maps(scenes):
    """A short classifier run: nearest centroid on 20 training pixels per class, a random
    split of Salinas-A and a spatial split of Indian Pines (whose test set lacks classes)."""
    from sklearn.neighbors import NearestCentroid

    out = {}
    for name, mode in (("salinas_a", "random"), ("indian_pines", "spatial")):
        cube, gt, names = scenes[name]
        x = cube.reshape(cube.shape[0], -1).T
        with_logs = logging.getLogger("hsi.classification.splits")
        with_logs.disabled = True  # the spatial split's "no test pixel" warning (tested below)
        try:
            train, test = split_labels(gt, per_class=20, mode=mode, seed=0, margin=2)
        finally:
            with_logs.disabled = False
        m = train.ravel() > 0
        clf = NearestCentroid().fit(x[m], train.ravel()[m])
        out[name] = (clf.predict(x).reshape(gt.shape), train, test, names)
    return out


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", ["salinas_a", "indian_pines"])
def test_scores_of_a_short_classifier_run_match_sklearn(centroid_maps, name):
    pred, _, test, names = centroid_maps[name]
    report = evaluate_class_map(pred, test, names)
    assert_matches(report, reference(pred, test))
    assert report.class_names == [names[c - 1] for c in report.codes]
    tested = np.unique(test[test > 0])
    # AA = mean producer's accuracy over the classes that have test pixels, and only those
    rows = np.isin(report.codes, tested)
    assert report.aa == pytest.approx(np.mean(report.producers[rows]), abs=1e-12)
    assert np.isnan(report.producers[~rows]).all()
    if name == "indian_pines":
        assert (~rows).sum() >= 3  # the spatial split left classes without test pixels


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_non_consecutive_codes_and_their_names(scenes):
    """Salinas-A with its original codes 1, 10..14: rows by code, names listed by value,
    as a code -> name mapping, or from a named :class:`Labels`."""
    _, gt, names = scenes["salinas_a"]
    codes = np.array([0, 1, 10, 11, 12, 13, 14])
    truth = codes[gt]
    pred = codes[perturb(gt, seed=7) % 7]  # stays inside the code set (0 = unclassified)
    ref = reference(pred, truth)
    by_value = [names[0]] + [f"class {c}" for c in range(2, 10)] + names[1:]
    report = evaluate_class_map(pred, truth, by_value)
    assert_matches(report, ref)
    assert report.codes == [1, 10, 11, 12, 13, 14] and report.class_names == names
    # the same names as a {code: name} mapping, or carried by the class map or test labels
    mapping = dict(zip(codes[1:].tolist(), names, strict=True))
    assert evaluate_class_map(pred, truth, mapping).class_names == names
    named = Labels(pred, names=tuple(names), codes=tuple(codes[1:].tolist()))
    assert evaluate_class_map(named, truth).class_names == names
    named_truth = Labels(truth, names=tuple(names), codes=tuple(codes[1:].tolist()))
    assert evaluate_class_map(pred, named_truth).class_names == names
    # a named class absent from both rasters: a row of zeros, outside AA
    extra = evaluate_class_map(pred, truth, {**mapping, 20: "Fallow"})
    assert extra.codes[-1] == 20 and extra.class_names[-1] == "Fallow"
    assert extra.aa == report.aa and extra.kappa == report.kappa


def test_kappa_conventions():
    """Unclassified pixels: a label of their own (as sklearn with 0 among the labels);
    a single class predicted perfectly: kappa 1 (sklearn: undefined, NaN)."""
    truth = np.array([[1, 1, 2, 2, 3, 3]])
    pred = np.array([[1, 0, 2, 0, 3, 1]])
    assert evaluate_class_map(pred, truth).kappa == pytest.approx(
        cohen_kappa_score(truth[0], pred[0]), abs=1e-12)
    assert evaluate_class_map(np.ones((2, 2), int), np.ones((2, 2), int)).kappa == 1.0
    zero = evaluate_class_map(np.zeros((2, 2), int), np.ones((2, 2), int))
    assert (zero.oa, zero.aa, zero.kappa) == (0.0, 0.0, 0.0)


def _capture_figure(monkeypatch):
    import matplotlib.pyplot as plt

    figs = []
    close = plt.close

    def keep(fig=None):
        figs.append(fig)
        close(fig)

    monkeypatch.setattr(plt, "close", keep)
    return figs


def test_png_colours_are_the_producers_accuracies(tmp_path, monkeypatch):
    """The diagonal colour of the confusion PNG is the producer's accuracy: unclassified
    pixels count in the row total (and have a column of their own)."""
    pytest.importorskip("matplotlib")
    truth = np.array([[1, 1, 1, 1, 2, 2]])
    pred = np.array([[1, 0, 0, 2, 2, 2]])
    report = evaluate_class_map(pred, truth)
    figs = _capture_figure(monkeypatch)
    plot_confusion(report, tmp_path / "cm.png")
    ax = figs[0].axes[0]
    shown = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(np.diag(shown[:, :2]), report.producers / 100)
    assert [t.get_text() for t in ax.texts] == [str(v) for v in report.confusion.ravel()]


def _table(md: str, header: str) -> list[list[str]]:
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header)) + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def _pct(text: str) -> float:
    return float("nan") if text == "n/a" else float(text.rstrip(" %"))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_cli_report_and_png_equal_the_api(scenes, tmp_path, monkeypatch):
    """``hsi classify evaluate`` on a class map of codes 1, 10..14 and 20 (a class absent from
    the test labels): Markdown, PNG and the printed line hold the API's values."""
    pytest.importorskip("matplotlib")
    from hsi.cli.main import cli
    from hsi.io.labels import write_class_map

    _, gt, names = scenes["salinas_a"]
    codes = np.array([0, 1, 10, 11, 12, 13, 14])
    truth = codes[gt]
    pred = codes[perturb(gt, seed=3) % 7]
    pred[::9, ::7] = 20
    map_codes = [1, 10, 11, 12, 13, 14, 20]
    map_names = [*names, "Fallow"]
    cmap = write_class_map(tmp_path / "map.tif", pred, crs=None, transform=None,
                           class_names=map_names, codes=map_codes)
    profile = {"driver": "GTiff", "count": 1, "height": truth.shape[0],
               "width": truth.shape[1], "dtype": "uint8"}
    with rasterio.open(tmp_path / "test.tif", "w", **profile) as dst:
        dst.write(truth.astype(np.uint8), 1)
    figs = _capture_figure(monkeypatch)
    res = CliRunner().invoke(cli, ["classify", "evaluate", str(cmap), str(tmp_path / "test.tif"),
                                   "-o", str(tmp_path / "report.md")])
    assert res.exit_code == 0, res.output

    api = evaluate_class_map(pred, truth, dict(zip(map_codes, map_names, strict=True)))
    assert_matches(api, reference(pred, truth))
    md = (tmp_path / "report.md").read_text()
    summary = dict(_table(md, "| metric | value |"))
    assert _pct(summary["overall accuracy (OA)"]) == round(api.oa, 2)
    assert _pct(summary["average accuracy (AA)"]) == round(api.aa, 2)
    assert float(summary["kappa"]) == round(api.kappa, 4)
    assert f"Test pixels: {api.n_test}" in md
    per_class = _table(md, "| class | name |")
    assert [int(r[0]) for r in per_class] == api.codes == map_codes
    assert [r[1] for r in per_class] == api.class_names == map_names
    assert [int(r[2]) for r in per_class] == api.confusion.sum(1).tolist()
    np.testing.assert_array_equal([_pct(r[3]) for r in per_class], np.round(api.producers, 2))
    np.testing.assert_array_equal([_pct(r[4]) for r in per_class], np.round(api.users, 2))
    conf = _table(md, "| truth \\ pred |")
    assert [[int(v) for v in r[1:]] for r in conf] == api.confusion.tolist()
    # the printed line
    oa, aa, kappa, n = re.search(r"OA ([\d.]+) %  AA ([\d.]+) %  kappa ([-\d.]+)  \((\d+) test",
                                 res.output).groups()
    assert (float(oa), float(aa), float(kappa), int(n)) == (
        round(api.oa, 2), round(api.aa, 2), round(api.kappa, 4), api.n_test)
    # the PNG: counts of the confusion matrix, title from the same report
    ax = figs[0].axes[0]
    k = len(api.codes)
    assert [int(t.get_text()) for t in ax.texts] == api.confusion.ravel().tolist()
    np.testing.assert_allclose(np.diag(np.asarray(ax.images[0].get_array())[:, :k]),
                               np.nan_to_num(api.producers / 100))  # no test pixel: 0
    assert ax.get_title() == (f"OA {api.oa:.1f} %  AA {api.aa:.1f} %  κ {api.kappa:.3f}")
    assert [t.get_text() for t in ax.get_yticklabels()] == map_names


# --------------------------------------------------------------------------- splits

def _split_checks(gt, train, test, per_class):
    """Disjoint, each a part of ``gt`` with its own classes, counts as asked."""
    assert train.shape == test.shape == gt.shape
    assert not ((train > 0) & (test > 0)).any()
    assert ((train == 0) | (train == gt)).all() and ((test == 0) | (test == gt)).all()
    avail = np.bincount(gt.ravel(), minlength=gt.max() + 1)[1:]
    got = np.bincount(train.ravel(), minlength=gt.max() + 1)[1:]
    want = np.where(avail > 0, np.minimum(per_class, np.maximum(avail - 1, 1)), 0)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", SCENES)
def test_random_split(scenes, name):
    _, gt, _ = scenes[name]
    train, test = split_labels(gt, per_class=30, mode="random", seed=5)
    _split_checks(gt, train, test, 30)
    np.testing.assert_array_equal(np.where(train > 0, train, test), gt)  # test = the rest
    again = split_labels(gt, per_class=30, mode="random", seed=5)
    np.testing.assert_array_equal(again[0], train)
    np.testing.assert_array_equal(again[1], test)
    assert not np.array_equal(split_labels(gt, per_class=30, mode="random", seed=6)[0], train)


@pytest.mark.parametrize("name", SCENES)
@pytest.mark.parametrize("margin", [0, 3])
def test_spatial_split_keeps_its_margin(scenes, name, margin, caplog):
    from scipy.spatial import cKDTree

    _, gt, _ = scenes[name]
    with caplog.at_level(logging.ERROR):
        train, test = split_labels(gt, per_class=15, mode="spatial", seed=2, margin=margin)
    _split_checks(gt, train, test, 15)
    assert (test > 0).sum() > 0
    # Chebyshev distance from each test pixel to the nearest training pixel: > margin,
    # for every class and for the pixels of the same class
    tree = cKDTree(np.argwhere(train > 0))
    d, _ = tree.query(np.argwhere(test > 0), p=np.inf)
    assert d.min() > margin
    for k in np.unique(test[test > 0]):
        dk, _ = cKDTree(np.argwhere(train == k)).query(np.argwhere(test == k), p=np.inf)
        assert dk.min() > margin
    again = split_labels(gt, per_class=15, mode="spatial", seed=2, margin=margin)
    np.testing.assert_array_equal(again[0], train)
    np.testing.assert_array_equal(again[1], test)


def test_spatial_split_warns_about_classes_left_without_test_pixels(scenes, caplog):
    """Indian Pines, 5 per class: the blocks that gave training pixels (and the margin)
    cover whole small classes; the split says which (AA then averages fewer classes)."""
    _, gt, _ = scenes["indian_pines"]
    with caplog.at_level(logging.WARNING):
        _, test = split_labels(gt, per_class=5, mode="spatial", seed=1, margin=2)
    missing = sorted(set(np.unique(gt[gt > 0]).tolist()) - set(np.unique(test).tolist()))
    assert missing  # 4, 7 and 9 with this seed
    assert "no test pixel" in caplog.text
    assert ", ".join(map(str, missing)) in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        split_labels(gt, per_class=5, mode="random", seed=1)
    assert caplog.text == ""


def test_classes_with_fewer_pixels_than_asked(caplog):
    labels = np.zeros((40, 40), dtype=np.int64)
    labels[:20, :20] = 1        # 400 pixels
    labels[30, 30:33] = 2       # 3 pixels
    labels[5, 35] = 3           # 1 pixel
    with caplog.at_level(logging.WARNING):
        train, test = split_labels(labels, per_class=10, mode="random", seed=0)
    _split_checks(labels, train, test, 10)
    assert [(train == k).sum() for k in (1, 2, 3)] == [10, 2, 1]   # all but one; a lone pixel
    assert [(test == k).sum() for k in (1, 2, 3)] == [390, 1, 0]   # trains, none is tested
    assert "class(es) 3" in caplog.text and "no test pixel" in caplog.text
    train, test = split_labels(labels, per_class=10, mode="spatial", seed=0, margin=1)
    _split_checks(labels, train, test, 10)


def test_split_takes_labels_rasters():
    """A :class:`Labels` (what :func:`hsi.io.labels.read_labels` returns) splits as its array."""
    arr = np.repeat(np.array([[1, 1, 2, 2, 0, 3, 3, 3]]), 4, axis=0).astype(np.int64)
    for mode in ("random", "spatial"):
        want = split_labels(arr, per_class=2, mode=mode, seed=0, margin=0)
        got = split_labels(Labels(arr), per_class=2, mode=mode, seed=0, margin=0)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
