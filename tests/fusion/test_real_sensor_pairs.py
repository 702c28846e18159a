"""``hsi fuse`` on pairs as space agencies deliver them: grids that do not quite fit.

An LR-HSI at 30 m and an HR-MSI at 10 m (or 20 m) whose pixel sizes, CRS or extents differ
get one error line that says what to run (a ``gdalwarp`` / ``gdal_edit.py`` command with the
numbers of these files), and a pixel size off its integer ratio by more than float rounding
is refused instead of fused with the grids drifting apart across the scene.
"""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from click.testing import CliRunner
from rasterio.crs import CRS

import hsi
from hsi.cube import Cube
from hsi.errors import GridError
from hsi.fusion.grid import MAX_DRIFT, check_pair
from tests.cli_checks import one_error_line

UTM = CRS.from_epsg(32610)
X0, Y0 = 600000.0, 4100000.0
S2_NM = [490.0, 560.0, 665.0, 842.0]


def _cube(bands: int, h: int, w: int, px: float, crs: CRS | None = UTM,
          origin: tuple[float, float] = (X0, Y0), name: str = "") -> Cube:
    """A zero cube on a north-up grid of ``px`` CRS units (only its grid matters here)."""
    return Cube(np.zeros((bands, h, w), np.float32), crs=crs,
                transform=Affine(px, 0, origin[0], 0, -px, origin[1]), name=name)


def _message(lr: Cube, hr: Cube) -> str:
    with pytest.raises(GridError) as exc:
        check_pair(lr, hr)
    text = str(exc.value)
    assert "\n" not in text
    return text


class TestRatioOffItsInteger:
    def test_drift_across_the_scene_is_refused(self):
        # 30 m against 10.0049 m: ratio 2.99853, within the 1e-3 tolerance, and the extents
        # within half an LR pixel (5.9 m), but over 400 LR pixels the grids drift 0.59 HR
        # pixels apart: fused as x3, the far side of the scene was misregistered
        lr = _cube(1, 400, 400, 30.0)
        hr = _cube(1, 1200, 1200, 10.0049, name="hr.tif")
        text = _message(lr, hr)
        assert text.startswith("pixel-size ratio LR/HR is 2.99853, not 3: across the LR-HSI the "
                               "two grids drift 0.588 HR pixels apart (at most 0.5); ")
        assert text.endswith("gdalwarp -tr 10 10 -te 600000 4088000 612000 4100000 -r cubic "
                             "hr.tif OUT.tif")

    @pytest.mark.parametrize("px", [10.0001, 10.0 + 1e-9, 10.0])
    def test_float_rounding_of_the_pixel_size_passes(self, px):
        drift = abs(30.0 / px - 3) * 20
        assert drift <= MAX_DRIFT
        assert check_pair(_cube(3, 20, 20, 30.0), _cube(2, 60, 60, px)) == 3

    def test_fused_on_the_hr_grid_with_a_float_pixel_size(self, salinas, tmp_path):
        # 30 m against 10.0001 m (a transform written with float noise): fused as the exact
        # 10 m pair is, and the result is on the HR-MSI's own grid
        from hsi.fusion.scene import fuse_files

        data = np.asarray(salinas.data[:, :60, :60], np.float32)
        lr = data.reshape(-1, 20, 3, 20, 3).mean((2, 4))[::8]
        keep = [int(np.argmin(abs(salinas.wavelengths - nm))) for nm in S2_NM]
        hsi.save(Cube(lr, wavelengths=salinas.wavelengths[::8], crs=UTM,
                      transform=Affine(30, 0, X0, 0, -30, Y0)), tmp_path / "lr.tif")
        got = {}
        for px in (10.0001, 10.0):
            hr_t = Affine(px, 0, X0, 0, -px, Y0)
            hsi.save(Cube(data[keep], wavelengths=S2_NM, crs=UTM, transform=hr_t),
                     tmp_path / f"hr{px}.tif")
            fuse_files(tmp_path / "lr.tif", tmp_path / f"hr{px}.tif", tmp_path / f"o{px}.tif",
                       method="bicubic", progress=False, device="cpu")
            got[px] = hsi.open(tmp_path / f"o{px}.tif")
            assert got[px].shape == (lr.shape[0], 60, 60)
            assert got[px].crs == UTM and got[px].transform == hr_t
        fused = np.asarray(got[10.0001].data)
        np.testing.assert_array_equal(fused, np.asarray(got[10.0].data))
        error = np.sqrt(np.mean((fused - data[::8]) ** 2)) / np.sqrt(np.mean(data[::8] ** 2))
        assert error < 0.15


class TestWhatToRun:
    def test_non_integer_ratio_says_which_pixel_sizes_fit(self):
        # Sentinel-2's 20 m bands against a 30 m LR-HSI: ratio 1.5
        text = _message(_cube(3, 20, 20, 30.0), _cube(2, 30, 30, 20.0, name="hr.tif"))
        assert text == ("pixel-size ratio LR/HR is 1.5 (LR 30, HR 20 CRS units): it must be an "
                        "integer >= 2; resample the HR-MSI onto the LR-HSI's extent with 2×2 "
                        "pixels per LR pixel (ratio 2): gdalwarp -tr 15 15 -te 600000 4099400 "
                        "600600 4100000 -r cubic hr.tif OUT.tif")

    def test_ratio_between_two_integers_offers_both(self):
        text = _message(_cube(3, 20, 20, 25.0), _cube(2, 50, 50, 10.0))
        assert "(ratio 2): gdalwarp -tr 12.5 12.5 " in text
        assert " or ratio 3: gdalwarp -tr 8.33333333333 8.33333333333 " in text

    @pytest.mark.parametrize("crs, transform", [
        (CRS.from_epsg(32611), Affine(10, 0, X0, 0, -10, Y0)),  # the neighbouring UTM zone
        (CRS.from_epsg(4326), Affine(1e-4, 0, -121.85, 0, -1e-4, 37.04)),  # degrees, ~9-11 m
    ])
    def test_other_crs_gives_the_gdalwarp_call(self, crs, transform):
        hr = Cube(np.zeros((2, 60, 60), np.float32), crs=crs, transform=transform,
                  name="hr.tif")
        text = _message(_cube(3, 20, 20, 30.0), hr)
        assert text.startswith(f"CRS differ: LR-HSI is EPSG:32610, HR-MSI is {crs.to_string()}; ")
        assert text.endswith("gdalwarp -t_srs EPSG:32610 -tr 10 10 -te 600000 4099400 600600 "
                             "4100000 -r cubic hr.tif OUT.tif")

    def test_missing_crs_is_set_not_reprojected(self):
        text = _message(_cube(3, 20, 20, 30.0, crs=None, name="lr.tif"), _cube(2, 60, 60, 10.0))
        assert text == ("CRS differ: LR-HSI is none, HR-MSI is EPSG:32610; the LR-HSI has no "
                        "CRS: when its coordinates are in the other's, set it (gdal_edit.py "
                        "-a_srs EPSG:32610 lr.tif), else reproject it")

    @pytest.mark.parametrize("hr_size, hr_origin, shared", [
        # HR-MSI 58 × 59 pixels: 20 and 10 m short of the LR-HSI's 600 m
        ((59, 58), (X0, Y0), "600000 4099430 600570 4100000"),
        # the HR-MSI's grid 2 and 1 HR pixels off the LR-HSI's
        ((60, 60), (X0 + 20, Y0 - 10), "600030 4099400 600600 4099970"),
    ])
    def test_common_extent_is_on_the_lr_pixel_edges(self, hr_size, hr_origin, shared):
        # before, the hint gave the intersection itself (600580, 600020...): cropping the
        # LR-HSI there ("on the LR grid") resampled it by a fraction of a pixel
        text = _message(_cube(3, 20, 20, 30.0), _cube(2, *hr_size, 10.0, origin=hr_origin))
        assert text.endswith(f"; crop both to the ground they share, {shared} (left bottom "
                             f"right top, on the LR-HSI's pixel edges; e.g. gdalwarp -te with "
                             f"those numbers and each file's pixel size, -tr 30 30 for the "
                             f"LR-HSI, -tr 10 10 for the HR-MSI)")

    def test_less_than_one_lr_pixel_in_common(self):
        text = _message(_cube(3, 20, 20, 30.0), _cube(2, 60, 60, 10.0, origin=(X0 + 590, Y0)))
        assert text.endswith("they share less than one LR pixel: pair images of the same scene")


def test_cli_other_crs_is_one_line_and_no_output(tmp_path):
    lr, hr = _cube(3, 20, 20, 30.0), _cube(2, 60, 60, 10.0, crs=CRS.from_epsg(32611))
    hsi.save(lr.with_data(lr.data, wavelengths=[500.0, 600.0, 700.0]), tmp_path / "lr.tif")
    hsi.save(hr.with_data(hr.data + 0.1, wavelengths=[550.0, 650.0]), tmp_path / "hr.tif")
    from hsi.cli.main import cli

    result = CliRunner().invoke(cli, ["fuse", str(tmp_path / "lr.tif"), str(tmp_path / "hr.tif"),
                                      "-o", str(tmp_path / "o.tif"), "--method", "glp"],
                                catch_exceptions=False)
    line = one_error_line(result, "lr.tif", "hr.tif", "gdalwarp -t_srs EPSG:32610 -tr 10 10")
    assert "EPSG:32611" in line
    assert not (tmp_path / "o.tif").exists()


class TestOneSideWithoutGeoreference:
    @pytest.mark.parametrize("lr_crs, hr_crs, words", [
        (None, UTM, "the LR-HSI 'lr.tif' has no georeference: it is taken to cover the other "
                    "image's extent exactly (only the sizes were checked)"),
        (UTM, None, "the HR-MSI 'hr.tif' has no georeference: it is taken to cover the other "
                    "image's extent exactly (only the sizes were checked); the result, on its "
                    "grid, has none either"),
    ])
    def test_fused_with_one_warning(self, caplog, lr_crs, hr_crs, words):
        # before, nothing said that the georeferenced side's extent went unchecked (or, for an
        # HR-MSI without it, that the result lost the LR-HSI's georeference)
        from hsi.fusion import fuse

        def cube(bands, size, px, crs, name):
            c = _cube(bands, size, size, px, crs=crs, name=name)
            ramp = np.linspace(0.1, 0.5, size * size, dtype=np.float32).reshape(size, size)
            data = np.stack([ramp * (1 + k / 10) for k in range(bands)])
            return c.with_data(data, transform=c.transform if crs else None,
                               wavelengths=np.linspace(450, 850, bands))

        lr, hr = cube(5, 8, 30.0, lr_crs, "lr.tif"), cube(3, 24, 10.0, hr_crs, "hr.tif")
        with caplog.at_level("WARNING", logger="hsi.fusion"):
            got = fuse(lr, hr, method="bicubic", device="cpu")
        assert [r.getMessage() for r in caplog.records if "georeference" in r.getMessage()] \
            == [words]
        assert got.shape == (5, 24, 24)
        assert got.transform == hr.transform and got.crs == hr_crs

    def test_both_or_neither_georeferenced_is_silent(self, caplog):
        from hsi.fusion.grid import warn_if_georeference_unchecked

        with caplog.at_level("WARNING", logger="hsi.fusion"):
            assert not warn_if_georeference_unchecked(_cube(3, 8, 8, 30.0),
                                                      _cube(2, 24, 24, 10.0))
        assert not caplog.records


def test_checkpoint_mismatch_names_the_centres_not_the_band_order():
    # an HR-MSI stored R, G, B whose blue band is 15 nm off the checkpoint's: before, `auto`
    # said its "MSI band centres differ by up to 190 nm" (R against B, the stored order)
    from types import SimpleNamespace

    from hsi.fusion.api import _mismatch

    model = SimpleNamespace(config=SimpleNamespace(hsi_bands=3, msi_bands=3),
                            meta={"msi_wavelengths": [490.0, 560.0, 665.0]})
    lr = _cube(3, 4, 4, 30.0).with_data(np.zeros((3, 4, 4), np.float32),
                                        wavelengths=[500.0, 600.0, 700.0])
    msi = _cube(3, 12, 12, 10.0).with_data(np.zeros((3, 12, 12), np.float32),
                                           wavelengths=[665.0, 560.0, 475.0])
    assert _mismatch(model, lr, msi) == ("the MSI band centres differ by up to 15 nm "
                                         "(tolerance 10 nm)")
    near = msi.with_data(msi.data, wavelengths=[665.0, 560.0, 485.0])
    assert _mismatch(model, lr, near) is None
