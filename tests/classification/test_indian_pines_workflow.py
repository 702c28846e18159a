"""What a user sees along the classification workflow (audit of the Indian Pines run).

On Indian Pines at 5 labels per class, the spatial split leaves classes without test pixels:
the warning listed bare codes ("class(es) 4, 7, 9"), the report's AA silently averaged 13 of
16 classes, and ``hsi classify train`` never said what the CRF's cross-validation chose (or
that it switched the CRF off). Small label rasters and the shipped sample keep these fast.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from hsi.classification.evaluate import evaluate_class_map, named_codes
from hsi.classification.splits import write_split
from hsi.cli.classify import crf_choice
from hsi.labels import Labels


def test_named_codes_adds_names_where_there_are_some():
    names = {4: "Corn", 7: "class 7", 9: "Oats"}
    assert named_codes([4, 7, 9], names) == "4 (Corn), 7, 9 (Oats)"
    assert named_codes(np.array([4, 12]), None) == "4, 12"


def test_split_warning_names_the_classes_without_test_pixels(tmp_path, caplog):
    labels = np.zeros((8, 8), dtype=np.uint8)
    labels[:4, :4] = 1
    labels[5, 5] = 2  # a single pixel: used for training, none left to test
    grid = Labels(labels, names=("Corn", "Oats"), codes=(1, 2))
    with caplog.at_level(logging.WARNING):
        write_split(grid, tmp_path / "split", per_class=1, mode="random", seed=0)
    warnings = [r.getMessage() for r in caplog.records if "no test pixel" in r.getMessage()]
    assert len(warnings) == 1
    assert "class(es) 2 (Oats) have no test pixel left" in warnings[0]


def test_report_says_which_classes_aa_leaves_out():
    truth = np.array([[1, 1, 3, 3], [0, 0, 0, 0]])
    pred = np.array([[1, 2, 3, 3], [2, 2, 1, 0]])
    report = evaluate_class_map(pred, truth, {1: "Alfalfa", 2: "Corn", 3: "Oats"})
    text = report.to_markdown()
    assert ("AA averages the 2 of 3 classes that have test pixels; no test pixel for "
            "2 (Corn) (n/a below).") in text
    assert report.aa == pytest.approx(75.0)
    # every class tested: no such line
    full = evaluate_class_map(pred, np.array([[1, 2, 3, 3], [0, 0, 0, 0]]))
    assert "AA averages" not in full.to_markdown()


def test_crf_choice_in_words():
    chosen = {"iterations": 5, "gaussian_sxy": 3.0, "gaussian_weight": 0.0,
              "bilateral_sxy": 5.0, "bilateral_schan": 0.5, "bilateral_weight": 10.0,
              "confidence": 1.0}
    on = crf_choice({"folds": 2, "chosen": chosen, "no_crf_score": 0.75, "chosen_score": 0.8125})
    assert on == ("CRF: appearance kernel 5 px × 0.5, weight 10 (cross-validated on the "
                  "training labels: accuracy 0.812, 0.750 without the CRF)")
    off = dict(chosen, bilateral_weight=0.0)
    assert crf_choice({"folds": 2, "chosen": off, "no_crf_score": 0.75,
                       "chosen_score": 0.75}).startswith("CRF: off (no setting beat")
    assert crf_choice({"folds": 2, "chosen": None, "skipped": "fewer labelled pixels than "
                       "folds: CRF parameters as given"}).startswith("CRF: parameters as "
                                                                     "configured (fewer")
    assert crf_choice(None) is None


def test_crf_choice_reads_a_real_training_record():
    """The record of a real (short) training on the shipped sample."""
    from hsi.classification import GanConfig, split_labels, train_classifier
    from hsi.data import sample_cube, sample_labels

    cube = sample_cube()
    labels, names = sample_labels()
    train, _ = split_labels(np.asarray(labels), per_class=5, seed=0)
    config = GanConfig(epochs=1, min_steps=20, members=1, patch_size=1, patch_select="fixed",
                       crf_select="cv")
    clf = train_classifier(cube, train, class_names=names, config=config, seed=0, device="cpu")
    line = crf_choice(clf.history["crf_selection"])
    assert line.startswith("CRF: ")
    assert ("without the CRF" in line) or line.startswith("CRF: off")
