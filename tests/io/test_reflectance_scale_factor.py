"""ENVI's ``reflectance scale factor`` is the divisor that brings a file to reflectance.

A dark scene stored as int16 reflectance × 10000 has its brightest values far below 10000:
guessing the divisor from its values (the 99.9th percentile) would stretch it to [0, 1] and
change every reflectance; the header says what the divisor is.
"""

from __future__ import annotations

import numpy as np
import spectral

import hsi
from hsi.degrade import normalize_reflectance, reflectance_scale


def _dark_int16_envi(tmp_path, factor: float | None):
    rng = np.random.default_rng(0)
    data = rng.integers(200, 3000, (4, 6, 5)).astype(np.int16)  # reflectance 0.02–0.30
    meta = {"wavelength": [450.0, 550.0, 650.0, 750.0], "wavelength units": "Nanometers"}
    if factor is not None:
        meta["reflectance scale factor"] = factor
    spectral.envi.save_image(str(tmp_path / "dark.hdr"), data.transpose(1, 2, 0),
                             metadata=meta, interleave="bsq", ext=".img")
    return hsi.open(tmp_path / "dark.hdr"), data


def test_header_factor_is_the_divisor(tmp_path):
    cube, data = _dark_int16_envi(tmp_path, 10000)
    assert reflectance_scale(cube) == 10000.0
    normalised, scale = normalize_reflectance(cube)
    assert scale == 10000.0
    np.testing.assert_allclose(normalised.data, data / np.float32(10000), rtol=1e-6)


def test_without_the_factor_the_values_decide(tmp_path):
    cube, data = _dark_int16_envi(tmp_path, None)
    assert reflectance_scale(cube) == np.percentile(data.astype(np.float64), 99.9)


def test_normalising_twice_divides_once(tmp_path):
    cube, data = _dark_int16_envi(tmp_path, 10000)
    once, _ = normalize_reflectance(cube)
    assert "reflectance_scale_factor" not in once.metadata
    assert once.metadata["reflectance_scale_applied"] == 10000.0
    twice, scale = normalize_reflectance(once)
    assert scale == 1.0
    np.testing.assert_allclose(twice.data, data / np.float32(10000), rtol=1e-6)
