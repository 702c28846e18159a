from __future__ import annotations

import numpy as np
import pytest

from hsi.classification.evaluate import evaluate_class_map, plot_confusion
from hsi.errors import FormatError, ShapeError


def test_hand_computed():
    truth = np.array([[1, 1, 1, 2], [2, 2, 0, 3], [3, 3, 0, 0]])
    pred = np.array([[1, 1, 2, 2], [2, 1, 3, 3], [0, 3, 1, 1]])
    r = evaluate_class_map(pred, truth, ["a", "b", "c"])
    # rows truth 1..3, cols pred 1..3 then unclassified
    assert r.confusion.tolist() == [[2, 1, 0, 0], [1, 2, 0, 0], [0, 0, 2, 1]]
    assert r.oa == pytest.approx(100 * 6 / 9)
    assert r.producers.tolist() == pytest.approx([200 / 3, 200 / 3, 200 / 3])
    assert r.users.tolist() == pytest.approx([200 / 3, 200 / 3, 100.0])
    assert r.aa == pytest.approx(200 / 3)
    # kappa: po = 6/9, pe = (3*3 + 3*3 + 3*2) / 81
    po, pe = 6 / 9, 24 / 81
    assert r.kappa == pytest.approx((po - pe) / (1 - pe))
    md = r.to_markdown()
    assert "66.67 %" in md and "| 3 c | 0 | 0 | 2 | 1 |" in md


def test_kappa_matches_sklearn(rng):
    from sklearn.metrics import cohen_kappa_score

    truth = rng.integers(1, 5, size=(30, 30))
    pred = np.where(rng.random((30, 30)) < 0.7, truth, rng.integers(1, 5, size=(30, 30)))
    r = evaluate_class_map(pred, truth)
    assert r.kappa == pytest.approx(cohen_kappa_score(truth.ravel(), pred.ravel()))
    assert r.class_names == ["class 1", "class 2", "class 3", "class 4"]


def test_errors():
    with pytest.raises(ShapeError):
        evaluate_class_map(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(FormatError):
        evaluate_class_map(np.ones((2, 2)), np.zeros((2, 2)))


def test_png(tmp_path):
    pytest.importorskip("matplotlib")
    r = evaluate_class_map(np.array([[1, 2]]), np.array([[1, 1]]))
    out = plot_confusion(r, tmp_path / "cm.png")
    assert out is not None and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"



def test_codes_of_another_scheme_are_warned_about_and_no_phantom_rows(caplog):
    """A map of codes 1, 3, 4 (names listed by value: "class 2" a placeholder) scored
    against test labels 1, 2, 3: one warning, and no row for the placeholder code 2."""
    import logging

    from hsi.classification.evaluate import evaluate_class_map

    pred = np.array([[1, 3, 4, 4]])
    names = ["a", "class 2", "c", "d"]
    with caplog.at_level(logging.WARNING):
        report = evaluate_class_map(pred, np.array([[1, 3, 0, 3]]), names)
    assert caplog.text == ""  # code 4 predicted but not tested alone: no warning
    assert report.codes == [1, 3, 4]
    with caplog.at_level(logging.WARNING):
        evaluate_class_map(pred, np.array([[1, 2, 3, 3]]), names)
    assert "code(s) 2 never appear in the class map" in caplog.text
    assert "code(s) 4 are not in the test labels" in caplog.text
