"""ROI statistics and the spectra CSV writer without a viewer."""

from __future__ import annotations

import numpy as np
import pytest

from hsi.errors import ShapeError
from hsi.viewer._roi import Roi, roi_spectrum
from hsi.viewer._spectra_csv import column_name, unique_names, write_spectra_csv
from tests.viewer.viewer_checks import SliceRecorder


def test_roi_spectrum_reads_its_window_a_few_bands_at_a_time():
    data = np.random.default_rng(0).random((10, 50, 60))
    data[4, 21, 32] = -1.0  # nodata in one band of one ROI pixel
    data[7, 22, 33] = np.nan
    mask = np.zeros((5, 8), bool)
    mask[1:4, 2:7] = True
    roi = Roi("roi_1", "ROI 1", 20, 30, mask, (1.0, 0.0, 0.0))
    recorder = SliceRecorder(data, "roi-unit")
    # 3 bands a block: 5 × 8 pixels × 8 bytes × 3 = 960 bytes
    spec = roi_spectrum(recorder, roi, np.arange(10.0), nodata=-1.0, block_bytes=960)
    assert recorder.keys == [(slice(b, min(b + 3, 10)), slice(20, 25), slice(30, 38))
                             for b in range(0, 10, 3)]
    values = data[:, 21:24, 32:37].reshape(10, -1)
    values = np.where(values == -1.0, np.nan, values)
    np.testing.assert_allclose(spec.mean, np.nanmean(values, axis=1))
    np.testing.assert_allclose(spec.std, np.nanstd(values, axis=1))
    assert spec.pixels == 15 and spec.count.tolist() == [15] * 4 + [14] + [15] * 2 + [14, 15, 15]


def test_roi_spectrum_all_nodata_band_is_nan():
    data = np.ones((3, 4, 4))
    data[1] = -9999
    roi = Roi("label_2", "label 2", 0, 0, np.ones((4, 4), bool), (0.0, 0.0, 1.0))
    spec = roi_spectrum(data, roi, np.array([500.0, 600.0, 700.0]), nodata=-9999)
    assert np.isnan(spec.mean[1]) and np.isnan(spec.std[1]) and spec.count[1] == 0
    assert spec.mean[[0, 2]].tolist() == [1.0, 1.0]


def test_write_spectra_csv(tmp_path):
    out = write_spectra_csv(tmp_path / "s.csv", np.array([450.5, 550.0]),
                            {"pixel_r1_c2": np.array([0.25, np.nan]),
                             "roi_1_mean": np.array([1e-7, 2.0])})
    assert out.read_text().splitlines() == ["wavelength_nm,pixel_r1_c2,roi_1_mean",
                                            "450.5,0.25,1e-07", "550,,2"]
    with pytest.raises(ShapeError, match="expected 2 values"):
        write_spectra_csv(tmp_path / "bad.csv", np.array([1.0, 2.0]), {"x": np.zeros(3)})
    assert not (tmp_path / "bad.csv").exists()
    assert column_name("ROI 1 (rectangle)") == "ROI_1_rectangle"
    assert unique_names(["a", "b", "a", "a"]) == ["a", "b", "a_2", "a_3"]


def test_shape_rois_take_their_legend_from_a_name_feature():
    from napari.layers import Image, Shapes

    from hsi.viewer._roi import shape_rois

    cube = Image(np.zeros((3, 20, 30), np.float32))
    squares = [np.array([[r, c], [r, c + 4], [r + 4, c + 4], [r + 4, c]], float)
               for r, c in ((2, 2), (10, 20))]
    named = Shapes(squares, shape_type="rectangle", features={"name": ["water", "trees"]})
    assert [r.label for r in shape_rois(named, cube)] == ["water (rectangle)",
                                                          "trees (rectangle)"]
    assert [r.name for r in shape_rois(named, cube)] == ["roi_1", "roi_2"]  # CSV keys
    plain = Shapes(squares, shape_type="rectangle")
    assert [r.label for r in shape_rois(plain, cube)] == ["ROI 1 (rectangle)",
                                                          "ROI 2 (rectangle)"]


def test_is_multiscale_needs_levels():
    """A pyramid is a non-empty list of arrays; an empty list (an empty Shapes layer's data,
    which made saving fail) or a list of plain lists is not one."""
    import numpy as np

    from hsi.viewer._convert import full_res, is_multiscale

    level = np.zeros((3, 8, 8))
    assert is_multiscale([level, level[:, ::2, ::2]]) and full_res([level]) is level
    assert not is_multiscale([]) and full_res([]) == []
    assert not is_multiscale([[0.0, 1.0], [2.0, 3.0]])  # plain lists, not levels
    assert not is_multiscale(level)
