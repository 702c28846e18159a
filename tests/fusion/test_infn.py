"""INFN model: shapes, INR-CS weights, ablation switches, cost, AMP."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hsi.errors import ModelError
from hsi.fusion import INFN, InfnConfig, model_cost
from hsi.fusion.inr import NEIGHBOURS, lr_positions, neighbour_cells, similarity_weights

SMALL = dict(hidden=16, depth=1, base="bicubic")


def _model(c=31, m=3, **kw) -> INFN:
    torch.manual_seed(0)
    return INFN(InfnConfig(hsi_bands=c, msi_bands=m, **{**SMALL, **kw}))


def _randomise_head(model: INFN) -> None:
    """The head starts at zero (output = base); give it weights so the residual is non-zero."""
    torch.manual_seed(1)
    torch.nn.init.normal_(model.head.weight, std=0.1)


class TestShapes:
    @pytest.mark.parametrize("bands,msi_bands", [(31, 3), (156, 4), (204, 13)])
    @pytest.mark.parametrize("ratio", [2, 4, 8])
    def test_output_shape(self, bands, msi_bands, ratio):
        model = _model(bands, msi_bands)
        lr = torch.rand(2, bands, 5, 7)
        msi = torch.rand(2, msi_bands, 5 * ratio, 7 * ratio)
        out = model(lr, msi, ratio=ratio)
        assert out.shape == (2, bands, 5 * ratio, 7 * ratio)
        assert torch.isfinite(out).all()

    def test_x4_model_queried_at_x8(self):
        model = _model(ratios=(4,))
        _randomise_head(model)
        out = model(torch.rand(1, 31, 6, 6), torch.rand(1, 3, 48, 48), ratio=8)
        assert out.shape == (1, 31, 48, 48)

    def test_hr_grid_not_a_multiple(self):
        # 83 HR rows over 21 LR rows at x4: the implicit function is queried at every HR pixel
        model = _model()
        out = model(torch.rand(1, 31, 21, 20), torch.rand(1, 3, 83, 80), ratio=4)
        assert out.shape == (1, 31, 83, 80)

    def test_fresh_model_returns_the_base_image(self):
        # the head is zero-initialised: a fresh INFN is exactly bicubic upsampling
        model = _model()
        lr = torch.rand(1, 31, 6, 5)
        out = model(lr, torch.rand(1, 3, 24, 20), ratio=4)
        want = F.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False).clamp_min(0)
        torch.testing.assert_close(out, want)

    def test_chunked_decoding_matches_one_pass(self):
        model = _model()
        _randomise_head(model)
        lr, msi = torch.rand(1, 31, 6, 6), torch.rand(1, 3, 24, 24)
        torch.testing.assert_close(model(lr, msi, ratio=4, chunk_pixels=48),
                                   model(lr, msi, ratio=4))

    def test_core_decoding_matches_the_cropped_whole(self):
        model = _model(base="glp")
        _randomise_head(model)
        lr, msi = torch.rand(1, 31, 8, 7), torch.rand(1, 3, 32, 28)
        core = (slice(5, 27), slice(3, 20))
        torch.testing.assert_close(model(lr, msi, ratio=4, core=core),
                                   model(lr, msi, ratio=4)[..., core[0], core[1]])

    def test_core_with_a_precomputed_base_of_the_grid_or_of_the_encoder_region(self):
        from hsi.errors import ShapeError
        from hsi.fusion.infn import base_image

        model = _model(base="glp")
        _randomise_head(model)
        lr, msi = torch.rand(1, 31, 8, 7), torch.rand(1, 3, 32, 28)
        core = (slice(8, 24), slice(0, 12))
        want = model(lr, msi, ratio=4)[..., core[0], core[1]]
        whole = base_image(lr, msi, 4, "glp")
        region = model.encoder_region(core, 32, 28)
        assert region == (slice(6, 26), slice(0, 14))  # core grown by 1 + depth, clipped
        part = base_image(lr, msi, 4, "glp", region=region)
        torch.testing.assert_close(part, whole[..., region[0], region[1]])
        torch.testing.assert_close(model(lr, msi, ratio=4, base=whole, core=core), want)
        torch.testing.assert_close(model(lr, msi, ratio=4, base=part, core=core), want)
        with pytest.raises(ShapeError, match="encoder's region"):
            model(lr, msi, ratio=4, base=whole[..., :-1, :], core=core)

    def test_inference_writes_the_head_into_the_output_as_training_computes_it(self):
        """Without autograd the head's product accumulates into the output's rows over the
        base (no residual tensor); with it, the residual is added to the base: same pixels."""
        from hsi.fusion.infn import base_image

        model = _model(base="glp")
        _randomise_head(model)
        torch.nn.init.normal_(model.head.bias, std=0.1)
        lr, msi = torch.rand(2, 31, 8, 7), torch.rand(2, 3, 32, 28)
        base = base_image(lr, msi, 4, "glp")
        core = (slice(3, 30), slice(5, 28))
        with torch.no_grad():
            fused = model(lr, msi, ratio=4, base=base, core=core, chunk_pixels=64)
        trained = model(lr, msi, ratio=4, base=base, core=core, chunk_pixels=64)
        assert trained.requires_grad and not fused.requires_grad
        torch.testing.assert_close(fused, trained.detach(), atol=1e-6, rtol=1e-6)
        assert (fused - base[..., core[0], core[1]]).abs().max() > 1e-3  # a real residual

    def test_model_cost_counts_the_inference_path_like_the_training_path(self):
        """``model_cost`` runs without autograd, where the head's product accumulates into
        the output: its FLOPs must still be counted (an in-place ``addmm_`` counted 0)."""
        from torch.utils.flop_counter import FlopCounterMode

        from hsi.fusion.infn import model_cost

        model = _model(base="glp")
        c = model.config
        counter = FlopCounterMode(display=False)
        with counter:  # autograd on: the residual path
            model(torch.zeros(1, c.hsi_bands, 16, 16), torch.zeros(1, c.msi_bands, 64, 64),
                  ratio=4, base=torch.zeros(1, c.hsi_bands, 64, 64))
        assert model_cost(model, lr_size=16)["flops"] == counter.get_total_flops() > 0

    def test_estimate_into_reused_buffers_equals_fresh_memory(self):
        """A scene's INFN tile decoded into the pool's buffer, its GLP base taken from the
        pool and given back, equals the tile in fresh memory."""
        from hsi.engine import BufferPool
        from hsi.errors import ShapeError
        from hsi.fusion.api import estimate

        model = _model(base="glp")
        _randomise_head(model)
        lr, msi = torch.rand(1, 31, 8, 7), torch.rand(1, 3, 32, 28)
        core = (slice(8, 24), slice(0, 12))
        gains = torch.rand(31, 3) * 0.1
        (want,) = estimate("infn", lr, msi, 4, model=model, glp_gains=gains, cores=[core])
        pool = BufferPool()
        buffer = pool.take((31, 16, 12))
        taken, given = [], []
        take, give = pool.take, pool.give
        pool.take = lambda shape: taken.append(tuple(shape)) or take(shape)
        pool.give = lambda t: given.append(t.data_ptr()) or give(t)
        (got,) = estimate("infn", lr, msi, 4, model=model, glp_gains=gains, cores=[core],
                          outs=[buffer], pool=pool)
        assert got.data_ptr() == buffer.data_ptr()  # decoded in place
        torch.testing.assert_close(got, want, atol=0, rtol=0)
        assert taken == [(1, 31, 20, 14)]  # the base of the encoder's region ...
        assert len(given) == 1 and given[0] != buffer.data_ptr()  # ... given back
        with pytest.raises(ShapeError, match="out must have shape"):
            model(lr, msi, ratio=4, core=core, out=torch.empty(1, 31, 16, 11))

    def test_band_mismatch_is_a_model_error(self):
        model = _model(31, 3)
        with pytest.raises(ModelError, match="expects 31 HSI bands and 3 MSI bands, got 30 and 3"):
            model(torch.rand(1, 30, 4, 4), torch.rand(1, 3, 16, 16), ratio=4)


class TestCoordinates:
    def test_lr_positions(self):
        # HR pixel centres 0.5, 1.5, ... over ratio 4: LR index (i + 0.5) / 4 - 0.5
        torch.testing.assert_close(lr_positions(4, 4), torch.tensor([-0.375, -0.125, 0.125, 0.375]))

    def test_neighbours_and_offsets(self):
        cells = neighbour_cells(torch.tensor([1.25]), torch.tensor([0.5]), lr_h=3, lr_w=4)
        # neighbours (1,0), (1,1), (2,0), (2,1) of a 3×4 grid
        assert [(int(r[0]), int(c[0])) for r, c, _, _ in cells] == [(1, 0), (1, 1), (2, 0),
                                                                    (2, 1)]
        assert [[float(dr[0]), float(dc[0])] for _, _, dr, dc in cells] == [
            [0.25, 0.5], [0.25, -0.5], [-0.75, 0.5], [-0.75, -0.5]]

    def test_border_neighbours_are_clamped(self):
        cells = neighbour_cells(torch.tensor([-0.375]), torch.tensor([-0.375]), 2, 2)
        assert [(int(r[0]), int(c[0])) for r, c, _, _ in cells] == [(0, 0)] * 4
        assert [float(cells[0][2][0]), float(cells[0][3][0])] == [-0.375, -0.375]


class TestInrCs:
    def test_weights_nonnegative_sum_to_one_and_equal_normalised_cosine(self):
        model = _model()
        _randomise_head(model)
        lr, msi = torch.rand(1, 31, 5, 5), torch.rand(1, 3, 20, 20)
        base = F.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False)
        latent, lr_term, hr_feat = model.encode(lr, msi, base, 4)
        rows, cols = lr_positions(20, 4), lr_positions(20, 4)
        _, w = model.decode(latent, lr_term, hr_feat, rows, cols, return_weights=True)
        assert w.shape == (1, 400, 4)
        assert (w >= 0).all()
        torch.testing.assert_close(w.sum(-1), torch.ones(1, 400))
        # by hand for HR pixel (7, 11): its neighbours are LR (1,2), (1,3), (2,2), (2,3)
        q = hr_feat[0, :, 7, 11]
        keys = [latent[0, :, r, c] for r, c in ((1, 2), (1, 3), (2, 2), (2, 3))]
        s = torch.stack([(F.cosine_similarity(q, k, dim=0) + 1) / 2 for k in keys])
        torch.testing.assert_close(w[0, 7 * 20 + 11], s / s.sum(), atol=1e-5, rtol=1e-5)

    def test_similarity_weights_function(self):
        # cos = 1, 0, -1, 1 -> (cos + 1) / 2 = 1, 0.5, 0, 1 -> / 2.5
        torch.testing.assert_close(similarity_weights(torch.tensor([1.0, 0.0, -1.0, 1.0])),
                                   torch.tensor([0.4, 0.2, 0.0, 0.4]), atol=1e-6, rtol=0)

    @pytest.mark.parametrize("weights", ["cosine", "area", "learned"])
    def test_decode_equals_the_per_query_formula(self, weights):
        # the decoder gathers neighbours separably, channels first; written out per query
        # (every query × neighbour row, as the paper states it) it must give the same residual
        model = _model(weights=weights, mlp_layers=3)
        _randomise_head(model)
        lr, msi = torch.rand(2, 31, 5, 6), torch.rand(2, 3, 19, 23)
        base = F.interpolate(lr, size=(19, 23), mode="bicubic", align_corners=False)
        latent, lr_term, hr_feat = model.encode(lr, msi, base, 4)
        rows, cols = lr_positions(19, 4), lr_positions(23, 4)
        got = model.decode(latent, lr_term, hr_feat, rows, cols)
        torch.testing.assert_close(got, _decode_per_query(model, latent, lr_term, hr_feat,
                                                          rows, cols), atol=2e-6, rtol=1e-5)


def _decode_per_query(model, latent, lr_term, hr_feat, rows, cols):
    """INFN's decoder on flat (query, neighbour) rows: the reference the fast one must match."""
    n, _, h, w = latent.shape
    hq, wq = hr_feat.shape[-2:]
    r0, c0 = torch.floor(rows), torch.floor(cols)
    idx, off = [], []
    for dy, dx in NEIGHBOURS:
        rn, cn = (r0 + dy).clamp(0, h - 1), (c0 + dx).clamp(0, w - 1)
        idx.append((rn.long()[:, None] * w + cn.long()[None, :]).reshape(-1))
        off.append(torch.stack(torch.broadcast_tensors((rows - rn)[:, None],
                                                       (cols - cn)[None, :]), -1).reshape(-1, 2))
    idx, off = torch.stack(idx, 1), torch.stack(off, 1)  # (Q, 4), (Q, 4, 2)
    lrt = lr_term.flatten(2).transpose(1, 2)[:, idx]  # (N, Q, 4, d)
    hr_t = model.fc_hr(hr_feat).flatten(2).transpose(1, 2).unsqueeze(2)
    hid = F.relu(lrt + hr_t + model.fc_coord(off).unsqueeze(0))
    for layer in model.mlp:
        hid = F.relu(layer(hid))
    if model.config.weights == "cosine":
        keys = F.normalize(latent.flatten(2).transpose(1, 2), dim=-1)[:, idx]
        query = F.normalize(hr_feat.flatten(2).transpose(1, 2), dim=-1).unsqueeze(2)
        wts = similarity_weights((keys * query).sum(-1))
    elif model.config.weights == "area":
        a = (1.0 - off.abs()).clamp(min=0.0).prod(-1) + 1e-6
        wts = (a / a.sum(-1, keepdim=True)).expand(n, -1, -1)
    else:
        wts = torch.softmax(model.weight_net(hid).squeeze(-1), dim=-1)
    mixed = (hid * wts.unsqueeze(-1)).sum(2)  # (N, Q, d)
    return model.head(mixed).transpose(1, 2).reshape(n, -1, hq, wq)


class TestWeightModes:
    def test_no_parameters_for_cosine_weights(self):
        count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        cosine, area, learned = (_model(weights=w) for w in ("cosine", "area", "learned"))
        assert count(cosine) == count(area)
        d = cosine.config.hidden
        assert count(learned) - count(cosine) == (d * (d // 2) + d // 2) + (d // 2 + 1)

    def test_area_weights_are_bilinear(self):
        model = _model(weights="area")
        lr = torch.rand(1, 31, 4, 4)
        msi, base = torch.rand(1, 3, 16, 16), torch.rand(1, 31, 16, 16)
        latent, lr_term, hr_feat = model.encode(lr, msi, base, 4)
        _, w = model.decode(latent, lr_term, hr_feat, lr_positions(16, 4), lr_positions(16, 4),
                            return_weights=True)
        # HR pixel (5, 5): LR position 0.875 -> neighbours 0 and 1 with weights 0.125 / 0.875
        want = torch.tensor([0.125 * 0.125, 0.125 * 0.875, 0.875 * 0.125, 0.875 * 0.875])
        torch.testing.assert_close(w[0, 5 * 16 + 5], want, atol=1e-5, rtol=0)


class TestAblations:
    def test_without_second_branch(self):
        full, ablated = _model(), _model(dhff_second_branch=False)
        assert ablated.lr_detail is None and full.lr_detail is not None
        d, c = full.config.hidden, full.config.hsi_bands
        lr_detail = (c * d * 9 + d) + (d * d * 9 + d)
        fc_lr_extra = d * d
        count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        assert count(full) - count(ablated) == lr_detail + fc_lr_extra
        out = ablated(torch.rand(1, 31, 4, 4), torch.rand(1, 3, 16, 16), ratio=4)
        assert out.shape == (1, 31, 16, 16)

    def test_bad_config_is_a_model_error(self):
        with pytest.raises(ModelError, match="weights must be one of"):
            InfnConfig(weights="softmax")
        with pytest.raises(ModelError, match="base must be one of"):
            InfnConfig(base="nearest")


class TestCost:
    def test_params_and_flops(self):
        model = _model(204, 13, hidden=32, depth=2, base="glp")
        cost = model_cost(model, lr_size=16, ratio=4)
        assert cost["params"] == sum(p.numel() for p in model.parameters())
        # lower bound: the HR convs and the per-pixel head alone (2 FLOPs per multiply-add)
        c = model.config
        hr_px = 64 * 64
        spatial = 2 * hr_px * ((2 * 13 + c.base_features) * 32 * 9 + c.depth * 32 * 32 * 9)
        head = 2 * hr_px * 32 * 204
        assert cost["flops"] > spatial + head
        # the cost is per HR pixel: 4x the pixels, about 4x the FLOPs
        big = model_cost(model, lr_size=32, ratio=4)
        assert big["flops"] / cost["flops"] == pytest.approx(4.0, rel=0.05)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_float32():
    from hsi.fusion.api import predict

    model = _model(31, 3)
    _randomise_head(model)
    lr, msi = torch.rand(1, 31, 8, 8), torch.rand(1, 3, 32, 32)
    cpu = predict(model, lr, msi, 4)
    gpu = predict(model.to("cuda"), lr, msi, 4).cpu()
    torch.testing.assert_close(gpu, cpu, atol=2e-2, rtol=2e-2)
