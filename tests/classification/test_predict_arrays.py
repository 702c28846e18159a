"""``predict_arrays``: the Classify dock's door to :func:`predict_scene` equals
``classify_to_files`` (the CLI's) on a lazy cube, read by windows (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest

import hsi
from hsi.cube import Cube


def test_predict_arrays_on_lazy_cube_equals_classify_to_files(trained, salinas_crop, tmp_path,
                                                              monkeypatch):
    from hsi.classification.pipeline import classify_to_files
    from hsi.classification.predict import predict_arrays
    from hsi.io.labels import read_class_map

    cube, _, _ = salinas_crop
    path = hsi.save(cube, tmp_path / "crop.tif")
    out, probs = tmp_path / "classes.tif", tmp_path / "probs.tif"
    classify_to_files(trained, hsi.open(path, lazy=True), out, probabilities=probs, tile=16,
                      use_crf=True)
    written_map, _, _ = read_class_map(out)
    written_probs = hsi.open(probs).data

    shapes = []
    original = Cube.compute

    def compute(self):
        shapes.append(tuple(self.shape))
        return original(self)

    monkeypatch.setattr(Cube, "compute", compute)
    lazy = hsi.open(path, lazy=True)
    assert lazy.is_lazy
    calls = []
    class_map, probabilities = predict_arrays(
        trained, lazy, use_crf=True, tile=16,
        callback=lambda done, total: calls.append((done, total)))
    codes = np.asarray([0, *trained.codes])
    np.testing.assert_array_equal(codes[class_map], written_map)
    np.testing.assert_array_equal(probabilities, written_probs)
    assert class_map.shape == (42, 64) and len(np.unique(class_map)) > 2
    assert calls == [(i, 12) for i in range(13)]  # 3 × 4 tiles of 16
    assert cube.shape not in shapes  # windows only


def test_predict_arrays_cancel_stops_between_tiles(trained, salinas_crop):
    from hsi.classification.predict import predict_arrays
    from hsi.errors import Cancelled

    cube, _, _ = salinas_crop
    with pytest.raises(Cancelled):
        predict_arrays(trained, cube, use_crf=False, tile=16,
                       callback=lambda done, total: done == 2)


def test_a_cube_in_other_units_is_warned_about(trained, salinas_crop, caplog):
    """The same scene stored as reflectance × 10 000: one warning naming the ratio (every
    pixel would otherwise silently get the brightest class)."""
    import logging

    from hsi.classification.predict import warn_if_other_units

    cube, _, _ = salinas_crop
    with caplog.at_level(logging.WARNING):
        assert warn_if_other_units(trained, cube) == pytest.approx(1.0, rel=0.2)
    assert caplog.text == ""
    scaled = cube.with_data(cube.data.astype(np.float32) * 10000)
    with caplog.at_level(logging.WARNING):
        ratio = warn_if_other_units(trained, scaled)
    assert ratio == pytest.approx(10000, rel=0.2)
    assert "10,000× as bright as the training scene's" in caplog.text


def test_brightness_ratio_from_hand_values():
    from hsi.classification.features import PcaTransform

    pca = PcaTransform(mean=np.array([0.6, 0.8]), components=np.eye(2), scale=np.ones(2))
    spectra = np.array([[3.0, 0.0, np.nan], [4.0, 0.0, 1.0]])  # norms 5, 0 (left out), NaN
    assert pca.brightness_ratio(spectra) == pytest.approx(5.0)  # against |mean| = 1
    unit = PcaTransform(mean=np.zeros(2), components=np.eye(2), scale=np.ones(2),
                        unit_norm=True, brightness=np.array([np.log(2.0), 1.0]))
    assert unit.brightness_ratio(spectra) == pytest.approx(2.5)  # median norm 5 over 2
    shape_only = PcaTransform(mean=np.zeros(2), components=np.eye(2), scale=np.ones(2),
                              unit_norm=True)
    assert shape_only.brightness_ratio(spectra) is None
