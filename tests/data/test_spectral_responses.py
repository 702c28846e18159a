"""SRF datasets: load() returns an hsi.degrade.SRF."""

from __future__ import annotations

import numpy as np
import pytest

from hsi.data import load


def test_nikon_d700(data_dir):
    srf = load("nikon_d700", root=data_dir)
    assert srf.band_names == ["R", "G", "B"]
    assert srf.wavelengths[0] == 400 and srf.wavelengths[-1] == 720
    # SOURCES.md: R, G, B peak at 590, 530, 460 nm.
    assert srf.wavelengths[np.argmax(srf.curves, axis=1)].tolist() == [590, 530, 460]


def test_mhf_net_cave_response(data_dir):
    srf = load("mhf_net_srf", root=data_dir)
    assert srf.curves.shape == (3, 31)
    assert srf.curves.sum(axis=1) == pytest.approx([1.0, 1.0, 1.0])
