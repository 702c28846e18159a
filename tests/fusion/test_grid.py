"""Co-registration checks of an LR-HSI / HR-MSI pair (one-line GridErrors)."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from hsi.cube import Cube
from hsi.errors import GridError
from hsi.fusion import check_pair

UTM = CRS.from_epsg(32610)


def _pair(ratio=4, lr_size=(5, 6), hr_px=10.0, lr_origin=(500000.0, 4100000.0),
          lr_px=None, crs_lr=UTM, crs_hr=UTM, hr_size=None):
    lr_px = hr_px * ratio if lr_px is None else lr_px
    h, w = lr_size
    H, W = hr_size or (h * ratio, w * ratio)
    lr = Cube(np.zeros((3, h, w), np.float32), crs=crs_lr,
              transform=Affine(lr_px, 0, lr_origin[0], 0, -lr_px, lr_origin[1]))
    hr = Cube(np.zeros((2, H, W), np.float32), crs=crs_hr,
              transform=Affine(hr_px, 0, 500000.0, 0, -hr_px, 4100000.0))
    return lr, hr


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and msg
    return msg


class TestGeoreferenced:
    def test_matching_pair(self):
        assert check_pair(*_pair(ratio=4)) == 4
        assert check_pair(*_pair(ratio=3), ratio=3) == 3

    def test_shift_below_half_an_lr_pixel_is_accepted(self):
        # LR origin 15 m east of HR's: less than half of a 40 m LR pixel
        assert check_pair(*_pair(lr_origin=(500015.0, 4100000.0))) == 4

    def test_wrong_crs(self):
        with pytest.raises(GridError) as exc:
            check_pair(*_pair(crs_hr=CRS.from_epsg(32611)))
        assert _one_line(exc) == ("CRS differ: LR-HSI is EPSG:32610, HR-MSI is EPSG:32611; "
                                  "resample the HR-MSI onto the LR-HSI's extent with 4×4 pixels "
                                  "per LR pixel (ratio 4): gdalwarp -t_srs EPSG:32610 -tr 10 10 "
                                  "-te 500000 4099800 500240 4100000 -r cubic HR_MSI.tif OUT.tif")

    def test_missing_crs_on_one_side(self):
        with pytest.raises(GridError, match="CRS differ: LR-HSI is EPSG:32610, HR-MSI is none"):
            check_pair(*_pair(crs_hr=None))

    def test_shifted_extent(self):
        # 25 m shift > 20 m (half a 40 m LR pixel)
        with pytest.raises(GridError) as exc:
            check_pair(*_pair(lr_origin=(500025.0, 4100000.0)))
        assert _one_line(exc).startswith(
            "extents differ: left edge of LR-HSI is 500025, of HR-MSI 500000 (tolerance half an "
            "LR pixel, 20); crop both to the ground they share, 500025 ")

    def test_extents_sharing_no_ground(self):
        with pytest.raises(GridError, match="share no ground"):
            check_pair(*_pair(lr_origin=(900000.0, 4100000.0)))

    def test_extent_of_different_size(self):
        with pytest.raises(GridError, match="extents differ: right edge"):
            check_pair(*_pair(hr_size=(20, 30)))  # HR 30 cols × 10 m vs LR 6 × 40 m

    def test_non_integer_ratio(self):
        with pytest.raises(GridError) as exc:
            check_pair(*_pair(lr_px=25.0))
        assert _one_line(exc).startswith("pixel-size ratio LR/HR is 2.5 (LR 25, HR 10 CRS "
                                         "units): it must be an integer >= 2; resample the "
                                         "HR-MSI onto the LR-HSI's extent with 2×2 pixels per "
                                         "LR pixel (ratio 2): gdalwarp -tr 12.5 12.5 ")

    def test_swapped_inputs_are_named(self):
        lr, hr = _pair()
        with pytest.raises(GridError) as exc:
            check_pair(hr, lr)
        assert _one_line(exc) == ("pixel-size ratio LR/HR is 0.25 (LR 10, HR 40 CRS units): it "
                                  "must be an integer >= 2 (the HR-MSI's pixels are 4× the "
                                  "LR-HSI's: are the two inputs swapped? the LR-HSI comes first)")

    def test_ratio_one(self):
        with pytest.raises(GridError, match=r"is 1 .* must be an integer >= 2"):
            check_pair(*_pair(lr_px=10.0))

    def test_anisotropic_ratio(self):
        lr, hr = _pair()
        lr = lr.with_data(lr.data, transform=Affine(40.0, 0, 500000.0, 0, -30.0, 4100000.0))
        with pytest.raises(GridError, match=r"differs along x \(4\) and y \(3\)"):
            check_pair(lr, hr)

    def test_given_ratio_disagrees(self):
        with pytest.raises(GridError) as exc:
            check_pair(*_pair(ratio=4), ratio=2)
        assert _one_line(exc) == "ratio=2 disagrees with the pixel sizes, whose ratio is 4"


class TestWithoutGeoreference:
    def test_ratio_from_sizes(self):
        lr = Cube(np.zeros((3, 5, 6), np.float32))
        hr = Cube(np.zeros((2, 20, 24), np.float32))
        assert check_pair(lr, hr) == 4

    def test_identity_transform_counts_as_none(self):
        # rasterio gives files without georeference the identity transform and no CRS
        lr = Cube(np.zeros((3, 5, 6), np.float32), transform=Affine.identity())
        hr = Cube(np.zeros((2, 20, 24), np.float32), transform=Affine.identity())
        assert check_pair(lr, hr) == 4

    def test_sizes_without_one_ratio_need_it(self):
        lr = Cube(np.zeros((3, 5, 6), np.float32))
        hr = Cube(np.zeros((2, 21, 24), np.float32))
        with pytest.raises(GridError) as exc:
            check_pair(lr, hr)
        assert "give ratio=N" in _one_line(exc)
        assert check_pair(lr, hr, ratio=4) == 4  # 21 rows: within half an LR pixel of 20

    def test_swapped_sizes_are_named(self):
        lr = Cube(np.zeros((3, 5, 6), np.float32))
        hr = Cube(np.zeros((2, 20, 24), np.float32))
        with pytest.raises(GridError) as exc:
            check_pair(hr, lr)
        assert _one_line(exc).endswith("give ratio=N (the LR-HSI is the larger image: are the "
                                       "two inputs swapped? the LR-HSI comes first)")

    def test_sizes_disagree_with_ratio(self):
        lr = Cube(np.zeros((3, 5, 6), np.float32))
        hr = Cube(np.zeros((2, 40, 48), np.float32))
        with pytest.raises(GridError) as exc:
            check_pair(lr, hr, ratio=4)
        assert _one_line(exc) == ("HR-MSI has 40 rows, but LR-HSI 5 rows × ratio 4 = 20: the "
                                  "images do not cover the same ground")

    def test_non_integer_ratio_argument(self):
        lr = Cube(np.zeros((3, 5, 6), np.float32))
        hr = Cube(np.zeros((2, 20, 24), np.float32))
        with pytest.raises(GridError, match=r"ratio must be an integer >= 2, got 2\.5"):
            check_pair(lr, hr, ratio=2.5)


def test_an_hr_image_with_as_many_bands_as_the_lr_hsi_is_warned_about(caplog, tmp_path):
    """The reference given as the HR-MSI (a common slip): one warning line from the API and
    from the scene path; a multispectral HR image gives none."""
    import logging

    import hsi
    from hsi.fusion import fuse
    from hsi.fusion.grid import warn_if_not_multispectral
    from hsi.fusion.scene import fuse_files

    lr, msi = _pair(ratio=2)
    assert not warn_if_not_multispectral(lr, msi)
    hsi_like = msi.with_data(np.random.default_rng(0).random((3, *msi.shape[1:]), np.float32))
    lr = lr.with_data(np.random.default_rng(1).random(lr.shape, np.float32))
    with caplog.at_level(logging.WARNING, logger="hsi"):
        fuse(lr, hsi_like, method="bicubic", device="cpu", progress=False)
    lines = [r.getMessage() for r in caplog.records if "HR-MSI has" in r.getMessage()]
    assert lines == ["the HR-MSI has 3 bands, as many as the LR-HSI's 3: is it the reference "
                     "or another hyperspectral cube? fusion expects a multispectral image with "
                     "fewer bands"]
    caplog.clear()
    hsi.save(lr, tmp_path / "lr.tif")
    hsi.save(hsi_like, tmp_path / "hr.tif")
    with caplog.at_level(logging.WARNING, logger="hsi"):
        fuse_files(tmp_path / "lr.tif", tmp_path / "hr.tif", tmp_path / "out.tif",
                   method="bicubic", progress=False, device="cpu")
    assert sum("HR-MSI has 3 bands" in r.getMessage() for r in caplog.records) == 1
