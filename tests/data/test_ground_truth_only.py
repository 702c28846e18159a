"""Indian Pines (cube + ground truth) and Pavia University (ground truth only)."""

from __future__ import annotations

import numpy as np
import pytest

from hsi.data import load


def test_indian_pines(data_dir):
    s = load("indian_pines", root=data_dir)
    assert s.cube.shape == (200, 145, 145) and s.labels.shape == (145, 145)
    # band centres in the file's order: AVIRIS's spectrometers overlap at bands 31/32
    assert s.cube.wavelengths[30] == pytest.approx(696.5, abs=0.1)
    assert s.cube.wavelengths[31] == pytest.approx(686.9, abs=0.1)
    assert 0.09 < float(s.cube.data.min()) and float(s.cube.data.max()) == pytest.approx(0.9604)
    # SOURCES.md class counts for the EHU 16-class ground truth.
    assert np.bincount(s.labels.ravel())[1:].tolist() == [
        46, 1428, 830, 237, 483, 730, 28, 478, 20, 972, 2455, 593, 205, 1265, 386, 93]
    assert len(s.class_names) == 16 and s.class_names[10] == "Soybean-mintill"


def test_pavia_university(data_dir):
    s = load("pavia_university", root=data_dir)
    assert s.cube is None and s.labels.shape == (610, 340)
    assert np.bincount(s.labels.ravel())[1:].tolist() == [
        6631, 18649, 2099, 3064, 1345, 5029, 1330, 3682, 947]
    assert s.class_names[1] == "Meadows"
