"""fuse(): grids, units, baselines, shipped checkpoints, scene fitting."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from hsi.cube import Cube
from hsi.degrade import simulate_pair
from hsi.errors import GridError, ModelError
from hsi.fusion import fuse
from hsi.fusion.api import shipped_checkpoints
from hsi.fusion.baselines import glp
from hsi.metrics import psnr


@pytest.fixture(scope="module")
def pair(salinas):
    """A georeferenced x4 Wald pair of a 64×64 Salinas-A crop, in raw-count-like units."""
    crop = salinas.crop(Window(0, 0, 64, 64))
    crop = crop.with_data(crop.data * 10000.0, crs=CRS.from_epsg(32610),
                          transform=Affine(3.7, 0, 600000.0, 0, -3.7, 4000000.0))
    lr, msi = simulate_pair(crop, 4, "sentinel2")
    return crop, lr, msi


class TestFuse:
    def test_output_grid_and_bands(self, pair):
        _, lr, msi = pair
        out = fuse(lr, msi, method="bicubic", device="cpu")
        assert out.shape == (204, 64, 64)
        assert out.crs == msi.crs and out.transform == msi.transform
        np.testing.assert_array_equal(out.wavelengths, lr.wavelengths)
        assert out.dtype == np.float32

    def test_normalisation_is_undone(self, pair):
        # GLP is equivariant to the scale of each input: fuse() normalises both and must
        # return the LR-HSI's units
        _, lr, msi = pair
        out = fuse(lr, msi, method="glp", device="cpu")
        direct = glp(torch.as_tensor(lr.data), torch.as_tensor(msi.data), 4).numpy()
        np.testing.assert_allclose(out.data, direct, rtol=1e-3, atol=1e-3 * direct.max())

    def test_grid_error_before_any_work(self, pair):
        _, lr, msi = pair
        moved = msi.with_data(msi.data, transform=msi.transform @ Affine.translation(3, 0))
        with pytest.raises(GridError, match="extents differ"):
            fuse(lr, moved, method="glp")

    def test_unknown_method(self, pair):
        _, lr, msi = pair
        with pytest.raises(ModelError, match="unknown fusion method 'pca': use infn or "):
            fuse(lr, msi, method="pca")

    def test_no_matching_shipped_checkpoint_names_the_options(self):
        lr = Cube(np.random.default_rng(0).random((31, 8, 8), dtype=np.float32))
        msi = Cube(np.random.default_rng(1).random((3, 32, 32), dtype=np.float32))
        with pytest.raises(ModelError) as exc:
            fuse(lr, msi, device="cpu")
        msg = str(exc.value)
        assert "\n" not in msg
        assert msg.startswith("no shipped INFN checkpoint matches 31 HSI bands and 3 MSI bands")
        assert msg.endswith("give --model MODEL.pt, use --fit-scene, or --method glp")

    @pytest.mark.skipif(not shipped_checkpoints(), reason="no shipped checkpoint")
    def test_shipped_checkpoint_is_picked_for_the_sample_sensors(self, pair):
        crop, lr, msi = pair
        ref = crop.data
        out = fuse(lr, msi, device="cpu")  # no model: the shipped AVIRIS/Sentinel-2 x4 one
        assert out.metadata["fusion_method"] == "infn"
        p_infn = psnr(ref / 1e4, out.data / 1e4)
        p_bic = psnr(ref / 1e4, fuse(lr, msi, method="bicubic").data / 1e4)
        assert p_infn > p_bic + 5


class TestFitScene:
    def test_end_to_end(self, pair):
        crop, lr, msi = pair
        out = fuse(lr, msi, fit_scene=True, fit_steps=20, fit_minutes=2, device="cpu",
                   progress=False)
        assert out.shape == (204, 64, 64) and out.transform == msi.transform
        ref = crop.data / 1e4
        p_fit = psnr(ref, out.data / 1e4)
        p_bic = psnr(ref, fuse(lr, msi, method="bicubic").data / 1e4)
        p_glp = psnr(ref, fuse(lr, msi, method="glp").data / 1e4)
        # the fitted model starts from the GLP estimate and may only refine it
        assert p_fit > p_bic + 5
        assert p_fit > p_glp - 1.0

    def test_model_and_fit_scene_together(self, pair, tmp_path):
        _, lr, msi = pair
        with pytest.raises(ModelError, match="either a model or fit_scene"):
            fuse(lr, msi, model=tmp_path / "m.pt", fit_scene=True)

    def test_scene_too_small(self):
        from hsi.errors import ShapeError
        from hsi.fusion import fit_scene

        lr = Cube(np.random.default_rng(0).random((5, 6, 6), dtype=np.float32))
        msi = Cube(np.random.default_rng(1).random((3, 24, 24), dtype=np.float32))
        with pytest.raises(ShapeError, match="ratio 4 needs an LR-HSI of at least 16×16 pixels"):
            fit_scene(lr, msi, ratio=4, steps=1, device="cpu", progress=False)
