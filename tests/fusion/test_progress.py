"""Progress callbacks and cancellation of training, scene fitting and fusion; fit-size check."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rasterio.windows import Window

from hsi.cube import Cube
from hsi.degrade import SRF, simulate_pair
from hsi.errors import Cancelled, HsiError, ShapeError
from hsi.fusion import InfnConfig, fit_scene, fuse, train_infn
from hsi.fusion.fit import min_fit_size

TINY = InfnConfig(hidden=8, depth=1, patch=16, batch=2, base="bicubic", checkpoint_every=2)


class Recorder:
    """A progress callback that records its calls and asks to stop once ``done >= stop_at``."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.calls: list[tuple[int, int]] = []
        self.stop_at = stop_at

    def __call__(self, done: int, total: int) -> bool:
        self.calls.append((done, total))
        return self.stop_at is not None and done >= self.stop_at


@pytest.fixture(scope="module")
def crop(salinas):
    return salinas.crop(Window(0, 0, 32, 32))


@pytest.fixture(scope="module")
def pair(salinas):
    """An x4 Wald pair of a 64×64 Salinas-A crop: LR 16×16, the smallest fit_scene takes."""
    return simulate_pair(salinas.crop(Window(0, 0, 64, 64)), 4, "sentinel2")


@pytest.fixture(scope="module")
def cave_pairs(data_dir):
    """x8 pairs of 128×128 and 256×256 crops of CAVE balloons (LR 16×16 and 32×32)."""
    import hsi.data

    cube = hsi.data.load("cave_partial_balloons", root=data_dir).cube
    # a sensor inside the partial CAVE range (400-590 nm)
    srf = SRF.gaussian([460, 510, 550], [20, 20, 20], ["B", "G", "R"], "test_rgb")
    return {size: simulate_pair(cube.crop(Window(0, 0, size, size)), 8, srf)
            for size in (128, 256)}


def test_cancelled_is_an_hsi_error_not_a_keyboard_interrupt():
    assert issubclass(Cancelled, HsiError) and issubclass(Cancelled, Exception)
    assert not issubclass(Cancelled, KeyboardInterrupt)


class TestTrainInfn:
    def _train(self, crop, callback, **kw):
        return train_infn([crop], srf="sentinel2", ratio=4, config=TINY, steps=5,
                          max_minutes=None, device="cpu", progress=False, callback=callback,
                          **kw)

    def test_counts_every_step_up_to_total(self, crop):
        rec = Recorder()
        model = self._train(crop, rec)
        assert rec.calls == [(k, 5) for k in range(6)]
        assert model.meta["steps_done"] == 5

    def test_cancel_stops_at_once_and_keeps_a_whole_checkpoint(self, crop, tmp_path):
        out = tmp_path / "run.pt"
        rec = Recorder(stop_at=3)
        with pytest.raises(Cancelled, match="INFN train cancelled after 3 of 5 steps"):
            self._train(crop, rec, out_path=out)
        assert rec.calls == [(0, 5), (1, 5), (2, 5), (3, 5)]
        # the periodic checkpoint of step 2 (checkpoint_every=2) is whole; no temp file left
        assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]
        state = torch.load(out, weights_only=True)["meta"]["train_state"]
        assert state["step"] == 2
        # and resuming from it runs the remaining steps
        rec = Recorder()
        self._train(crop, rec, out_path=out, resume_from=out)
        assert rec.calls == [(2, 5), (3, 5), (4, 5), (5, 5)]

    def test_time_budget_ends_at_total(self, crop):
        rec = Recorder()
        train_infn([crop], srf="sentinel2", ratio=4, config=TINY, steps=10_000,
                   max_minutes=0.0, device="cpu", progress=False, callback=rec)
        assert rec.calls == [(0, 10_000), (10_000, 10_000)]


class TestFitScene:
    def test_counts_and_cancel(self, pair):
        lr, msi = pair
        rec = Recorder()
        fit_scene(lr, msi, ratio=4, config=TINY, steps=3, device="cpu", progress=False,
                  callback=rec)
        assert rec.calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
        rec = Recorder(stop_at=1)
        with pytest.raises(Cancelled):
            fit_scene(lr, msi, ratio=4, config=TINY, steps=1000, device="cpu",
                      progress=False, callback=rec)
        assert rec.calls == [(0, 1000), (1, 1000)]

    def test_several_windows_of_one_scene(self, salinas):
        """A sample of tiles (windows of different sizes) is fitted on together."""
        pairs = [simulate_pair(salinas.crop(w), 4, "sentinel2")
                 for w in (Window(0, 0, 64, 64), Window(4, 12, 80, 64))]
        model = fit_scene([p[0] for p in pairs], [p[1] for p in pairs], ratio=4, config=TINY,
                          steps=2, device="cpu", progress=False)
        assert model.config.hsi_bands == 204 and model.config.msi_bands == 12
        est = fuse(*pairs[1], model=model, device="cpu").data
        assert est.shape == (204, 64, 80) and np.isfinite(est).all()
        with pytest.raises(ShapeError, match="as many HR-MSI as LR-HSI windows"):
            fit_scene([p[0] for p in pairs], [pairs[0][1]], ratio=4, config=TINY, steps=1,
                      device="cpu", progress=False)
        with pytest.raises(ShapeError):  # every window is checked against the smallest size
            fit_scene([pairs[0][0], pairs[0][0].crop(Window(0, 0, 8, 8))],
                      [pairs[0][1], pairs[0][1].crop(Window(0, 0, 32, 32))], ratio=4,
                      config=TINY, steps=1, device="cpu", progress=False)


class TestFuse:
    def test_glp_reports_start_and_end(self, pair):
        lr, msi = pair
        rec = Recorder()
        fuse(lr, msi, method="glp", device="cpu", callback=rec)
        assert rec.calls == [(0, 1), (1, 1)]

    def test_cancel_before_glp_runs(self, pair):
        lr, msi = pair
        rec = Recorder(stop_at=0)
        with pytest.raises(Cancelled, match="fusion cancelled after 0 of 1 steps"):
            fuse(lr, msi, method="glp", device="cpu", callback=rec)
        assert rec.calls == [(0, 1)]

    def test_fit_scene_counts_fitting_then_prediction(self, pair):
        lr, msi = pair
        rec = Recorder()
        out = fuse(lr, msi, fit_scene=True, fit_steps=2, device="cpu", progress=False,
                   callback=rec)
        assert out.shape == (204, 64, 64)
        assert rec.calls == [(0, 3), (1, 3), (2, 3), (3, 3)]

    def test_fit_scene_cancel(self, pair):
        lr, msi = pair
        rec = Recorder(stop_at=2)
        with pytest.raises(Cancelled):
            fuse(lr, msi, fit_scene=True, fit_steps=1000, fit_minutes=10, device="cpu",
                 progress=False, callback=rec)
        assert rec.calls == [(0, 1001), (1, 1001), (2, 1001)]


class TestFitSize:
    def test_minimum_lr_size(self):
        # the reduced LR must keep 4 px a side: the LR high-pass's kernel (sigma 1) has radius 3
        assert [min_fit_size(r) for r in (2, 4, 8)] == [8, 16, 32]
        # without that branch the HR high-pass and PSF (sigma r/2, radius ceil(1.5 r)) decide
        assert min_fit_size(8, InfnConfig(dhff_second_branch=False)) == 16

    def test_cave_16px_lr_at_x8_fails_before_training(self, cave_pairs):
        lr, msi = cave_pairs[128]
        assert lr.shape[1:] == (16, 16)
        rec = Recorder()
        with pytest.raises(ShapeError) as exc:
            fit_scene(lr, msi, ratio=8, steps=1, device="cpu", progress=False, callback=rec)
        msg = str(exc.value)
        assert "\n" not in msg
        assert msg.startswith("fit_scene=True at ratio 8 needs an LR-HSI of at least 32×32 pixels")
        assert msg.endswith("got 16×16")
        assert rec.calls == []  # nothing started

    def test_cave_minimum_size_at_x8_trains(self, cave_pairs):
        lr, msi = cave_pairs[256]
        assert lr.shape[1:] == (32, 32)
        rec = Recorder()
        model = fit_scene(lr, msi, ratio=8, config=TINY, steps=1, device="cpu",
                          progress=False, callback=rec)
        assert rec.calls == [(0, 1), (1, 1)] and model.meta["steps_done"] == 1
        # the default config (two-branch DHFF, 32 px patches) trains there too
        fit_scene(lr, msi, ratio=8, steps=1, device="cpu", progress=False)

    def test_one_pixel_short_at_x4(self):
        lr = Cube(np.random.default_rng(0).random((5, 15, 16), dtype=np.float32))
        msi = Cube(np.random.default_rng(1).random((3, 60, 64), dtype=np.float32))
        with pytest.raises(ShapeError, match=r"at least 16×16 pixels .*got 15×16$"):
            fit_scene(lr, msi, ratio=4, steps=1, device="cpu", progress=False)
