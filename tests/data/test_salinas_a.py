"""Salinas-A loader: scale, band order/wavelengths, remapped labels (real data)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from hsi.data import load
from hsi.data.salinas_a import CHANNELS, SalinasA, aviris_calibration


@pytest.fixture(scope="module")
def sample(data_dir):
    return load("salinas_a", root=data_dir)


@pytest.fixture(scope="module")
def raw(data_dir):
    return scipy.io.loadmat(data_dir / "salinas_a/salinasA_corrected.mat")["salinasA_corrected"]


def test_channels_are_224_minus_water_bands():
    assert CHANNELS.size == 204
    assert {107, 113, 153, 168, 223} <= set(CHANNELS.tolist())
    assert not {108, 112, 154, 167, 224} & set(CHANNELS.tolist())


def test_calibration_from_spc(data_dir):
    centres, fwhm = aviris_calibration(data_dir / "indian_pines/92AV3C.spc")
    assert centres[1] == pytest.approx(400.019989)       # channel 2, first .spc row
    assert centres[223] == pytest.approx(2498.959961)    # channel 224, last row
    assert fwhm[223] == pytest.approx(14.58)
    # channel 1 extrapolated: 2 * 400.02 - 409.82
    assert centres[0] == pytest.approx(2 * 400.019989 - 409.820007)
    # channel 33 (first of spectrometer B) from channels 34 and 35
    assert centres[32] == pytest.approx(2 * 686.909973 - 696.549988)


def test_cube(sample, raw):
    cube = sample.cube
    assert cube.shape == (204, 83, 86) and cube.dtype == np.float32
    assert np.all(np.diff(cube.wavelengths) > 0)
    assert cube.wavelengths[0] == pytest.approx(390.219971)
    channels = np.array(cube.metadata["aviris_channels"])
    assert sorted(channels.tolist()) == CHANNELS.tolist()
    # The band of AVIRIS channel 34 (686.91 nm in the .spc) is file band 33 / 10000.
    k = int(np.flatnonzero(channels == 34)[0])
    assert cube.wavelengths[k] == pytest.approx(686.909973)
    np.testing.assert_array_equal(cube.data[k], raw[:, :, 33].astype(np.float32) / 10000)
    # Channel 32 (696.50 nm) sorts after channel 34 (686.91 nm): the spectrometers overlap.
    assert np.flatnonzero(channels == 32)[0] > k
    assert float(cube.data.mean()) == pytest.approx(raw.mean() / 10000, rel=1e-5)
    assert tuple(SalinasA.rgb_bands) == cube.rgb_bands()


def test_labels(sample):
    assert sample.labels.shape == (83, 86) and sample.labels.dtype == np.uint8
    # SOURCES.md: codes 0, 1, 10..14 have counts 1790 (rest), 391, 1343, 616, 1525, 674, 799.
    assert np.bincount(sample.labels.ravel()).tolist() == [1790, 391, 1343, 616, 1525, 674, 799]
    assert sample.class_names == ["Brocoli_green_weeds_1", "Corn_senesced_green_weeds",
                                  "Lettuce_romaine_4wk", "Lettuce_romaine_5wk",
                                  "Lettuce_romaine_6wk", "Lettuce_romaine_7wk"]
