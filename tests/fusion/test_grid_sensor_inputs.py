"""Real sensor grids: LR pixels off the HR-MSI's blocks, grids of other orientations, and a
nodata border fused tile by tile (small crops of the shipped Salinas-A sample)."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from hsi.cube import Cube
from hsi.errors import GridError
from hsi.fusion import check_pair, fuse
from hsi.fusion.grid import grid_alignment
from hsi.fusion.scene import fuse_cube, fuse_files

UTM = CRS.from_epsg(32610)
#: A 4 m HR grid, north-up.
HR_T = Affine(4.0, 0, 600000.0, 0, -4.0, 4000000.0)


def _psnr(ref: np.ndarray, est: np.ndarray) -> float:
    ok = np.isfinite(est)
    assert ok.all()
    return float(10 * np.log10(1.0 / np.mean((ref[ok] - est[ok]) ** 2)))


def _hr_msi(ref: Cube) -> Cube:
    """``ref`` seen by Sentinel-2 (12 bands), on its grid (any size)."""
    import torch

    from hsi.degrade import spectral_response
    from hsi.srf import load_srf

    srf = load_srf("sentinel2").for_cube(ref.wavelengths)
    data = spectral_response(torch.as_tensor(ref.data), srf.matrix(ref.wavelengths)).numpy()
    return Cube(data, wavelengths=srf.centres, crs=ref.crs, transform=ref.transform)


@pytest.fixture(scope="module")
def scene():
    """The Salinas-A sample (204 bands, 83×86) on a 4 m UTM grid."""
    from hsi.data import sample_cube

    c = sample_cube()
    return Cube(c.data, wavelengths=c.wavelengths, fwhm=c.fwhm, crs=UTM, transform=HR_T)


class TestLrGridOffTheHrBlocks:
    def test_bicubic_follows_the_lr_pixels_on_the_ground(self, scene):
        # HR-MSI starting 2 HR pixels (half an LR pixel) into the LR grid: its column k is the
        # aligned pair's column k + 2 (before: the LR-HSI was put 2 HR pixels to the left)
        from hsi.degrade import simulate_pair

        lr, hr = simulate_pair(scene.crop((0, 0, 80, 80)), 4, "sentinel2")
        aligned = fuse(lr, hr, method="bicubic")
        moved = hr.crop((2, 2, 78, 78))
        out = fuse(lr, moved, method="bicubic")
        assert out.transform == moved.transform and out.shape == (204, 78, 78)
        np.testing.assert_allclose(out.data, aligned.data[:, 2:, 2:], atol=1e-6)

    def test_glp_at_x8_half_an_lr_pixel_off(self, scene):
        # LR grid 4 HR pixels (half of x8) before the HR-MSI's: 36.7 dB before, 50.7 now
        # against 51.2 for the aligned pair
        from hsi.degrade import simulate_pair

        ref = scene.crop((0, 0, 80, 80))
        lr, hr = simulate_pair(ref, 8, "sentinel2")
        out = fuse(lr, hr.crop((4, 0, 76, 80)), method="glp")
        assert out.transform == HR_T @ Affine.translation(4, 0)
        assert _psnr(ref.data[:, :, 4:], out.data) > 50.0
        assert grid_alignment(lr, hr.crop((4, 0, 76, 80)), 8).hr_pad == (0, 4)

    def test_lr_starting_after_the_hr_msi(self, scene, tmp_path):
        # LR grid 1 HR pixel right of and below the HR-MSI's origin at x4: the HR-MSI is
        # padded by 3, the LR-HSI by one pixel; file, tiles and memory agree, on the HR grid
        from hsi.degrade import simulate_pair
        from hsi.io import open as open_cube
        from hsi.io import save

        lr = simulate_pair(scene.crop((1, 1, 80, 80)), 4, "sentinel2")[0]
        ref = scene.crop((0, 0, 81, 81))
        hr = _hr_msi(ref)
        whole = fuse(lr, hr, method="glp", psf_sigma=None)
        assert _psnr(ref.data[:, 4:-4, 4:-4], whole.data[:, 4:-4, 4:-4]) > 50.5  # 39.8 before
        grid = grid_alignment(lr, hr, 4)
        assert (grid.offset, grid.hr_pad, grid.lr_pad) == ((1.0, 1.0), (3, 3), (1, 1))
        tiled = fuse_cube(lr, hr, method="glp", tile=16, psf_sigma=None)
        np.testing.assert_allclose(tiled.data, whole.data, atol=1e-5)
        save(lr, tmp_path / "lr.tif")
        save(hr, tmp_path / "hr.tif")
        fuse_files(tmp_path / "lr.tif", tmp_path / "hr.tif", tmp_path / "out.tif",
                   method="glp", tile=32, psf_sigma=None, progress=False)
        written = open_cube(tmp_path / "out.tif")
        assert written.shape == (204, 81, 81) and written.crs == UTM
        assert written.transform == HR_T
        np.testing.assert_allclose(written.wavelengths, lr.wavelengths)
        np.testing.assert_allclose(written.data, whole.data, atol=1e-5)


class TestOrientation:
    def test_axes_swapped_is_a_grid_error(self, scene):
        # before: ZeroDivisionError (the pixel size read from a and e only)
        lr, hr = _small(scene)
        turned = hr.with_data(hr.data, transform=Affine(0, 4.0, 600000.0, -4.0, 0, 4000000.0))
        with pytest.raises(GridError) as exc:
            check_pair(lr, turned)
        assert str(exc.value) == ("grids differ in orientation: LR-HSI is north-up, HR-MSI is "
                                  "rotated -90° (resample one onto the other's grid, e.g. "
                                  "gdalwarp)")

    def test_south_up_against_north_up_is_named(self, scene):
        # before: "extents differ: bottom edge ..." for the same ground
        lr, hr = _small(scene)
        south = hr.with_data(hr.data[:, ::-1].copy(), transform=Affine(
            4.0, 0, 600000.0, 0, 4.0, 4000000.0 - 4.0 * hr.height))
        with pytest.raises(GridError, match="LR-HSI is north-up, HR-MSI is south-up"):
            check_pair(lr, south)

    def test_rotated_alike_pair_is_fused_on_its_grid(self, scene):
        lr, hr = _small(scene)
        c, s = np.cos(np.radians(10)), np.sin(np.radians(10))
        turn = Affine(c, -s, 0, s, c, 0)
        lr_r = lr.with_data(lr.data, transform=turn @ lr.transform)
        hr_r = hr.with_data(hr.data, transform=turn @ hr.transform)
        assert check_pair(lr_r, hr_r) == 4
        out = fuse(lr_r, hr_r, method="bicubic")
        assert out.transform == hr_r.transform
        np.testing.assert_allclose(out.data, fuse(lr, hr, method="bicubic").data, atol=1e-6)


def _small(scene: Cube) -> tuple[Cube, Cube]:
    from hsi.degrade import simulate_pair

    return simulate_pair(scene.crop((0, 0, 40, 40)), 4, "sentinel2")


def test_tiled_glp_beside_a_nodata_border_equals_untiled(scene):
    # HR-MSI with a nodata border (2 rows, 3 columns): tiles gave the pixels beside it
    # GLP with the border read as 0 (35.4 dB over the scene against 51.5 untiled)
    from hsi.degrade import simulate_pair

    ref = scene.crop((0, 0, 84, 80))
    lr, hr = simulate_pair(ref, 4, "sentinel2")
    data = hr.data.copy()
    data[:, :2] = -9999.0
    data[:, :, :3] = -9999.0
    hr = hr.with_data(data, nodata=-9999.0)
    whole = fuse(lr, hr, method="glp", psf_sigma=None)
    tiled = fuse_cube(lr, hr, method="glp", tile=16, psf_sigma=None)
    assert np.isnan(tiled.data[:, :2]).all() and np.isnan(tiled.data[:, :, :3]).all()
    np.testing.assert_allclose(tiled.data[:, 2:, 3:], whole.data[:, 2:, 3:], atol=1e-5)
    assert _psnr(ref.data[:, 2:, 3:], tiled.data[:, 2:, 3:]) > 51.0
