"""Training: Wald patches, determinism, checkpoints (weights_only) and resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rasterio.windows import Window

from hsi.cube import Cube
from hsi.errors import ModelError, WavelengthError
from hsi.fusion import InfnConfig, fuse, load_infn, save_infn, train_infn
from hsi.fusion.train import PatchSampler, TrainScene

TINY = InfnConfig(hidden=8, depth=1, patch=16, batch=2, base="bicubic", checkpoint_every=2)


@pytest.fixture(scope="module")
def crop(salinas):
    return salinas.crop(Window(0, 0, 32, 32))


def _train(crop, seed=0, **kw):
    return train_infn([crop], srf="sentinel2", ratio=4, config=TINY, steps=kw.pop("steps", 3),
                      max_minutes=None, seed=seed, device="cpu", progress=False, **kw)


class TestPatchSampler:
    def test_patches_are_aligned_and_augmented_together(self):
        # target = upsampled LR by pixel replication: every aligned crop keeps that relation
        lr = torch.arange(2 * 6 * 6, dtype=torch.float32).reshape(2, 6, 6)
        hr = lr.repeat_interleave(4, -2).repeat_interleave(4, -1)
        scene = TrainScene(hr, lr, hr[:1], hr)
        target, lr_b, msi_b, _ = PatchSampler([scene], 4, 8, seed=0).batch(16)
        assert lr_b.shape == (16, 2, 2, 2) and target.shape == (16, 2, 8, 8)
        torch.testing.assert_close(target, lr_b.repeat_interleave(4, -2).repeat_interleave(4, -1))
        torch.testing.assert_close(msi_b, target[:, :1])

    def test_seeded(self):
        lr = torch.rand(1, 8, 8)
        scene = TrainScene(torch.rand(1, 32, 32), lr, torch.rand(1, 32, 32), torch.rand(1, 32, 32))
        a = PatchSampler([scene], 4, 16, seed=3).batch(4)
        b = PatchSampler([scene], 4, 16, seed=3).batch(4)
        for x, y in zip(a, b, strict=True):
            torch.testing.assert_close(x, y)


class TestTraining:
    def test_cpu_determinism(self, crop):
        a, b, c = _train(crop, seed=1), _train(crop, seed=1), _train(crop, seed=2)
        for k, v in a.state_dict().items():
            torch.testing.assert_close(v, b.state_dict()[k], rtol=0, atol=0)
        assert any(not torch.equal(v, c.state_dict()[k]) for k, v in a.state_dict().items())

    def test_meta(self, crop):
        model = _train(crop, steps=1)
        meta = model.meta
        assert meta["msi_bands"] == 12 and meta["srf"] == "sentinel2" and meta["ratios"] == [4]
        np.testing.assert_allclose(meta["hsi_wavelengths"], crop.wavelengths)
        assert np.asarray(meta["srf_matrix"]).shape == (12, 204)
        assert model.config.hsi_bands == 204 and model.config.msi_bands == 12

    def test_cubes_must_have_wavelengths(self, crop):
        with pytest.raises(WavelengthError, match="has no wavelengths"):
            _train(crop.with_data(crop.data, wavelengths=None))


class TestCheckpoints:
    def test_round_trip_with_weights_only(self, crop, tmp_path):
        model = _train(crop, steps=2)
        path = save_infn(tmp_path / "m.pt", model)
        raw = torch.load(path, weights_only=True)
        assert raw["kind"] == "infn" and raw["format_version"] >= 1
        assert raw["meta"]["srf"] == "sentinel2"
        back = load_infn(path)
        assert back.config == model.config
        lr, msi = torch.rand(1, 204, 4, 4), torch.rand(1, 12, 16, 16)
        with torch.no_grad():
            torch.testing.assert_close(back(lr, msi, ratio=4), model(lr, msi, ratio=4))

    def test_band_mismatch_is_one_line(self, crop, tmp_path):
        path = save_infn(tmp_path / "m.pt", _train(crop, steps=1))
        lr = Cube(np.random.default_rng(0).random((30, 8, 8), dtype=np.float32))
        msi = Cube(np.random.default_rng(1).random((13, 32, 32), dtype=np.float32))
        with pytest.raises(ModelError) as exc:
            fuse(lr, msi, model=path, device="cpu")
        msg = str(exc.value)
        assert "\n" not in msg
        assert msg == (f"{path} expects 204 HSI bands (390–2489 nm) and 12 MSI bands "
                       f"(sentinel2); got 30 HSI bands and 13 MSI bands")

    def test_checkpoints_during_training_and_resume(self, crop, tmp_path):
        out = tmp_path / "run.pt"
        first = _train(crop, steps=2, out_path=out)
        state = torch.load(out, weights_only=True)["meta"]["train_state"]
        assert state["step"] == 2 and state["optimizer"]["state"]
        resumed = _train(crop, steps=4, out_path=out, resume_from=out)
        assert torch.load(out, weights_only=True)["meta"]["train_state"]["step"] == 4
        assert resumed.meta["steps_done"] == 4
        assert not torch.equal(first.head.weight, resumed.head.weight)

    def test_interrupted_then_resumed_equals_uninterrupted(self, crop, tmp_path):
        from hsi.errors import Cancelled

        out = tmp_path / "run.pt"
        with pytest.raises(Cancelled):  # stopped after step 2 (its periodic checkpoint)
            _train(crop, steps=4, out_path=out, callback=lambda done, total: done >= 2)
        assert torch.load(out, weights_only=True)["meta"]["train_state"]["step"] == 2
        resumed = train_infn([crop], srf="sentinel2", ratio=4, config=TINY, steps=None,
                             max_minutes=None, device="cpu", progress=False, out_path=out,
                             resume_from=out)
        straight = _train(crop, steps=4)
        # weights, optimizer moments, patches and the learning-rate schedule all continue
        for name, value in straight.state_dict().items():
            torch.testing.assert_close(resumed.state_dict()[name], value, rtol=0, atol=1e-6)

    def test_resume_other_ratio(self, crop, tmp_path):
        out = tmp_path / "run.pt"
        _train(crop, steps=1, out_path=out)
        msg = "checkpoint is for 204 bands at x4, got 204 bands at x2"
        with pytest.raises(ModelError, match=msg):
            train_infn([crop], srf="sentinel2", ratio=2, steps=1, max_minutes=None,
                       device="cpu", progress=False, resume_from=out)


class TestValidation:
    """``validation=``: a held-out scene decides whether the residual head is kept."""

    @pytest.mark.parametrize("scores, result", [((30.0, 40.0), "base"), ((40.0, 30.0), "fitted")])
    def test_the_held_out_scene_decides(self, crop, salinas, tmp_path, monkeypatch, scores,
                                        result):
        import hsi.fusion.gate as gate
        from hsi.checkpoint import load_checkpoint

        held_out = salinas.crop(Window(40, 40, 32, 32))
        seen = []

        def fake_strip_psnr(model, scenes, ratio):  # (model, base) over the held-out pairs
            seen.append([tuple(s.target.shape) for s in scenes])
            return scores

        monkeypatch.setattr(gate, "strip_psnr", fake_strip_psnr)
        out = tmp_path / "m.pt"
        model = _train(crop, validation=[held_out], out_path=out)
        assert seen == [[(crop.bands, 32, 32)]]  # the held-out scene, degraded and scored
        assert model.meta["validation"]["result"] == result
        assert model.meta["validation"]["scenes"] == [held_out.name]
        head_zero = bool((model.head.weight == 0).all())
        assert head_zero == (result == "base")
        ckpt = load_checkpoint(out, "infn")  # the checkpoint holds the decision, resumable
        assert ckpt["meta"]["validation"]["result"] == result
        assert "train_state" in ckpt["meta"]
        assert load_infn(out).meta["validation"]["result"] == result

    def test_a_zeroed_head_returns_the_base_image(self, crop, salinas, monkeypatch):
        import hsi.fusion.gate as gate

        monkeypatch.setattr(gate, "strip_psnr", lambda m, s, r: (0.0, 1.0))
        model = _train(crop, validation=[salinas.crop(Window(40, 40, 32, 32))], steps=5)
        bicubic = fuse_pair(crop, "bicubic")
        infn = fuse_pair(crop, model)
        np.testing.assert_allclose(infn, bicubic, atol=1e-5)

    def test_validation_cubes_must_match_the_bands(self, crop):
        other = Cube(np.asarray(crop.data)[:10], wavelengths=crop.wavelengths[:10])
        with pytest.raises(WavelengthError, match="validation"):
            _train(crop, validation=[other])


def fuse_pair(ref, method) -> np.ndarray:
    """Fuse the Sentinel-2 x4 pair of ``ref`` with ``method`` (a name or a model)."""
    from hsi.degrade import simulate_pair

    lr, msi = simulate_pair(ref, 4, "sentinel2")
    if isinstance(method, str):
        return np.asarray(fuse(lr, msi, method=method, progress=False).data)
    return np.asarray(fuse(lr, msi, model=method, progress=False, psf_sigma=None).data)
