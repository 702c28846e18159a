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


def _dark_int16_tif(tmp_path, scales, offsets=None):
    from hsi.cube import Cube

    rng = np.random.default_rng(0)
    data = rng.integers(200, 3000, (4, 6, 5)).astype(np.int16)  # reflectance 0.02–0.30
    meta = {"band_scales": list(scales), "band_offsets": list(offsets or [0.0] * 4)}
    cube = Cube(data, wavelengths=np.array([450.0, 550.0, 650.0, 750.0]), metadata=meta)
    hsi.save(cube, tmp_path / "dark.tif")
    return hsi.open(tmp_path / "dark.tif"), data


def test_a_uniform_band_scale_is_the_divisor(tmp_path):
    """int16 × 10 000 tagged with GDAL's band scale 1e-4: divided by 10 000 (the sample's
    case: its brightest pixel would have stretched it by ~1.3)."""
    cube, data = _dark_int16_tif(tmp_path, [1e-4] * 4)
    assert reflectance_scale(cube) == 10000.0
    np.testing.assert_allclose(normalize_reflectance(cube)[0].data, data / np.float32(1e4),
                               rtol=1e-6)


def test_band_scales_that_are_not_one_divisor_leave_it_to_the_values(tmp_path):
    for scales, offsets in (([1e-4, 2e-4, 1e-4, 1e-4], None), ([1e-4] * 4, [-0.1] * 4)):
        cube, data = _dark_int16_tif(tmp_path / str(len(offsets or [])), scales, offsets)
        assert reflectance_scale(cube) == np.percentile(data.astype(np.float64), 99.9)


def test_a_bright_scene_keeps_its_declared_scale(tmp_path):
    """Snow at reflectance 1.2 (int16 12 000, tagged 1e-4) is still divided by 10 000."""
    from hsi.cube import Cube

    data = np.full((4, 6, 5), 12000, np.int16)
    data[:, 0] = 3000
    meta = {"band_scales": [1e-4] * 4, "band_offsets": [0.0] * 4}
    hsi.save(Cube(data, wavelengths=np.array([450.0, 550.0, 650.0, 750.0]), metadata=meta),
             tmp_path / "snow.tif")
    assert reflectance_scale(hsi.open(tmp_path / "snow.tif")) == 10000.0


def test_a_declared_scale_beyond_reflectance_leaves_it_to_the_values(tmp_path):
    """Radiance × 100 tagged 0.01 reads 2–30 declared: not reflectance, so the values decide."""
    cube, data = _dark_int16_tif(tmp_path, [0.01] * 4)
    assert reflectance_scale(cube) == np.percentile(data.astype(np.float64), 99.9)
