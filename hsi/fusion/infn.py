"""INFN: the Implicit Neural Fusion Network (Wu, Deng, Ran, Dou, Deng, IEEE TCI 10, 2024).

Written from the paper's description (it has no public code):

- a **spectral encoder** (small CNN) turns the LR-HSI into a latent code per LR pixel;
- a **spatial encoder** (small CNN) turns the HR-MSI, its high-pass (MSI minus its Gaussian
  low-pass at σ = ratio / 2, the detail the LR-HSI lacks) and a 1×1 projection of the base
  image into a feature vector per HR pixel;
- **INF** (implicit neural feature fusion function): each HR pixel is a continuous query; its
  four nearest LR pixels supply their latent codes and relative coordinates (query minus LR
  centre, in LR pixels), and an MLP fuses them with the HR feature at the query;
- **DHFF** (dual high-frequency fusion): high frequency enters twice, from the HR-MSI (above)
  and from the LR-HSI: ``LR − blur(LR)`` (σ = 1 LR pixel, the detail a smooth upsampling
  misses) goes through its own small encoder and joins the MLP input; no positional encoding;
- **INR-CS**: the four neighbours' outputs are averaged with weights from the cosine
  similarity of the HR feature and each neighbour's latent code, ``(cos + 1) / 2`` normalised
  to sum to one: no parameters (``weights="learned"`` and ``"area"`` are the ablations);
- the output is a **residual** added to a base image: bicubic upsampling of the LR-HSI (the
  paper) or the GLP detail-injection estimate (``InfnConfig.base``).

The MLP's first layer is applied to each input block separately (at LR for the neighbour
terms, once per HR pixel for the query term), and its last, linear layer after the weighted
sum, which is the same function as an MLP on the concatenation, at a fraction of the cost.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.nn import functional as F

from hsi.degrade import Psf
from hsi.errors import ModelError, ShapeError
from hsi.fusion.config import InfnConfig
from hsi.fusion.inr import (
    NEIGHBOURS,
    area_weights,
    lr_positions,
    neighbour_cells,
    similarity_weights,
)
from hsi.pointwise import pointwise, unit_channels

#: Smoothing of the LR-HSI for its high-frequency (DHFF second branch), in LR pixels.
LR_HIGHPASS_SIGMA = 1.0


# ----------------------------------------------------------------------------- base images
def _bicubic(lr: torch.Tensor, ratio: int) -> torch.Tensor:
    """``(bands, h, w)`` -> ``(bands, h*ratio, w*ratio)`` bicubic upsampling."""
    from hsi.fusion.baselines import bicubic

    return bicubic(lr, ratio)


def _glp(lr: torch.Tensor, msi: torch.Tensor, ratio: int, gains: torch.Tensor | None = None,
         psf_sigma: float | Psf | None = None, core: tuple[slice, slice] | None = None,
         out: torch.Tensor | None = None) -> torch.Tensor:
    """GLP detail-injection estimate ``(bands, h*ratio, w*ratio)`` (or of ``core``, into
    ``out`` when given)."""
    from hsi.fusion.baselines import glp

    return glp(lr, msi, ratio, gains=gains, psf_sigma=psf_sigma, core=core, out=out)


def _fit_size(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Crop or replicate-pad the last two axes of ``x`` to ``(height, width)``."""
    x = x[..., :height, :width]
    ph, pw = height - x.shape[-2], width - x.shape[-1]
    if ph > 0 or pw > 0:
        squeeze = x.dim() == 3
        x4 = x.unsqueeze(0) if squeeze else x
        x4 = F.pad(x4, (0, pw, 0, ph), mode="replicate")
        x = x4.squeeze(0) if squeeze else x4
    return x


def base_image(lr: torch.Tensor, msi: torch.Tensor, ratio: int, kind: str,
               gains: torch.Tensor | None = None, psf_sigma: float | Psf | None = None,
               region: tuple[slice, slice] | None = None,
               out: torch.Tensor | None = None) -> torch.Tensor:
    """The image INFN adds its residual to, on the HR-MSI grid.

    Parameters
    ----------
    lr : torch.Tensor, shape (N, C, h, w)
        LR-HSI batch (normalised reflectance).
    msi : torch.Tensor, shape (N, m, H, W)
        HR-MSI batch; ``H`` need not be exactly ``h * ratio``.
    ratio : int
        Integer HR/LR pixel-size ratio.
    kind : {"bicubic", "glp"}
        Bicubic upsampling or the GLP detail-injection estimate.
    gains : torch.Tensor, shape (C, m), optional
        GLP regression gains of the whole scene (tiled runs); estimated per image if omitted.
    psf_sigma : float or Psf, optional
        PSF of the GLP base (:func:`hsi.fusion.baselines.glp`); default σ = ``ratio / 2``.
    region : (slice, slice), optional
        Rows and columns (step 1, inside ``(H, W)``) of the base to return; GLP computes only
        those pixels when they lie on the LR-HSI's footprint. Default: all.
    out : torch.Tensor, shape (1, C, *region), optional
        Float32 buffer the GLP base of a single image on the footprint is written into (a
        reused tile buffer); otherwise unused.

    Returns
    -------
    torch.Tensor, shape (N, C, H, W) or that of ``region``, float32
    """
    ratio = int(ratio)
    h, w = lr.shape[-2:]
    H, W = msi.shape[-2:]
    rows, cols = (slice(*r.indices(n)[:2]) for r, n in
                  zip(region or (slice(None), slice(None)), (H, W), strict=True))
    on_footprint = rows.stop <= h * ratio and cols.stop <= w * ratio
    buffer = out[0] if out is not None and lr.shape[0] == 1 and on_footprint else None
    images = []
    with _no_autocast(lr.device):
        for i in range(lr.shape[0]):
            x = lr[i].float()
            if kind == "bicubic":
                est = _bicubic(x, ratio)
            elif kind == "glp":
                est = _glp(x, _fit_size(msi[i].float(), h * ratio, w * ratio), ratio, gains,
                           psf_sigma, core=(rows, cols) if on_footprint else None, out=buffer)
            else:
                raise ModelError(f"base must be 'bicubic' or 'glp', got {kind!r}")
            est = torch.as_tensor(est, device=lr.device, dtype=torch.float32)
            if not (kind == "glp" and on_footprint):
                est = _fit_size(est, H, W)[..., rows, cols]
            images.append(est)
    # one image (a tile on CPU): a view, not a copy of tens of megabytes into fresh pages
    return images[0].unsqueeze(0) if len(images) == 1 else torch.stack(images)


def _no_autocast(device: torch.device) -> contextlib.AbstractContextManager:
    if device.type == "cuda":
        return torch.autocast("cuda", enabled=False)
    return contextlib.nullcontext()


def high_pass(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """``x`` minus its Gaussian low-pass (``hsi.degrade.gaussian_psf``), shape kept."""
    from hsi.degrade import gaussian_psf

    return x - gaussian_psf(x, float(sigma))


# ----------------------------------------------------------------------------- building blocks
class _Encoder(nn.Module):
    """Conv3×3 stem then ``depth`` residual Conv3×3-ReLU layers (same size out)."""

    def __init__(self, in_ch: int, hidden: int, depth: int) -> None:
        super().__init__()
        self.stem = nn.Conv2d(in_ch, hidden, 3, padding=1, padding_mode="replicate")
        self.body = nn.ModuleList(
            nn.Conv2d(hidden, hidden, 3, padding=1, padding_mode="replicate") for _ in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for conv in self.body:
            x = x + conv(F.relu(x))
        return x


class INFN(nn.Module):
    """Implicit Neural Fusion Network.

    Parameters
    ----------
    config : InfnConfig
        Band counts, widths, base image and ablation switches.

    Attributes
    ----------
    meta : dict
        Sensor metadata carried with a checkpoint (``hsi_wavelengths``, ``msi_bands``, ``srf``,
        ``ratios``...); empty for a fresh model.

    Examples
    --------
    >>> model = INFN(InfnConfig(hsi_bands=31, msi_bands=3, base="bicubic"))
    >>> model(torch.rand(1, 31, 8, 8), torch.rand(1, 3, 32, 32), ratio=4).shape
    torch.Size([1, 31, 32, 32])
    """

    def __init__(self, config: InfnConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or InfnConfig()
        self.meta: dict = {}
        C, m, d = c.hsi_bands, c.msi_bands, c.hidden
        self.spectral = _Encoder(C, d, c.depth)
        self.lr_detail = _Encoder(C, d, 1) if c.dhff_second_branch else None
        self.base_proj = nn.Conv2d(C, c.base_features, 1) if c.base_features > 0 else None
        self.spatial = _Encoder(2 * m + c.base_features, d, c.depth)
        # first MLP layer, split by input block (same function as one Linear on the concat)
        self.fc_lr = nn.Conv2d(d * (2 if c.dhff_second_branch else 1), d, 1)
        self.fc_hr = nn.Conv2d(d, d, 1, bias=False)
        self.fc_coord = nn.Linear(2, d, bias=False)
        self.mlp = nn.ModuleList(nn.Linear(d, d) for _ in range(c.mlp_layers - 1))
        self.weight_net = (
            nn.Sequential(nn.Linear(d, d // 2), nn.ReLU(), nn.Linear(d // 2, 1))
            if c.weights == "learned" else None
        )
        self.head = nn.Linear(d, C)
        nn.init.zeros_(self.head.weight)  # start at the base image
        nn.init.zeros_(self.head.bias)

    # ------------------------------------------------------------------ checks
    def check_inputs(self, lr: torch.Tensor, msi: torch.Tensor) -> None:
        """Raise :class:`ModelError` (one line) when band counts differ from the config."""
        c = self.config
        if lr.dim() != 4 or msi.dim() != 4:
            raise ModelError(
                f"INFN expects batches (N, bands, H, W), got LR {tuple(lr.shape)} and "
                f"MSI {tuple(msi.shape)}"
            )
        if lr.shape[1] != c.hsi_bands or msi.shape[1] != c.msi_bands:
            raise ModelError(
                f"model expects {c.hsi_bands} HSI bands and {c.msi_bands} MSI bands, got "
                f"{lr.shape[1]} and {msi.shape[1]}"
            )

    # ------------------------------------------------------------------ parts
    def encoder_region(self, core: tuple[slice, slice] | None, height: int, width: int
                       ) -> tuple[slice, slice]:
        """The HR pixels the spatial encoder needs to give ``core`` its features: ``core``
        grown by the encoder's reach (its ``1 + depth`` 3×3 convolutions), inside
        ``(height, width)``; everything without ``core``."""
        reach = 1 + self.config.depth
        rows, cols = (slice(*c.indices(n)[:2]) for c, n in
                      zip(core or (slice(None), slice(None)), (height, width), strict=True))
        return (slice(max(0, rows.start - reach), min(height, rows.stop + reach)),
                slice(max(0, cols.start - reach), min(width, cols.stop + reach)))

    def encode(
        self, lr: torch.Tensor, msi: torch.Tensor, base: torch.Tensor, ratio: float,
        region: tuple[slice, slice] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encoder outputs.

        ``region`` (rows and columns of the HR grid, as :meth:`encoder_region` gives) limits
        the spatial encoder to those pixels; ``base`` then covers just them.

        Returns
        -------
        latent : (N, d, h, w) spectral latent codes (keys of INR-CS)
        lr_term : (N, d, h, w) first MLP layer's LR part (latent + LR high-frequency)
        hr_feat : (N, d, H, W) spatial features (queries of INR-CS), or those of ``region``
        """
        latent = self.spectral(lr)
        parts = [latent]
        if self.lr_detail is not None:
            parts.append(self.lr_detail(high_pass(lr, LR_HIGHPASS_SIGMA)))
        lr_term = pointwise(torch.cat(parts, 1), self.fc_lr.weight, self.fc_lr.bias)
        rows, cols = region or (slice(None), slice(None))
        detail = high_pass(msi, max(float(ratio) / 2.0, 0.5))  # the whole read: its blur's reach
        hr_in = [msi[..., rows, cols], detail[..., rows, cols]]
        if self.base_proj is not None:
            hr_in.append(pointwise(base, self.base_proj.weight, self.base_proj.bias))
        hr_feat = self.spatial(torch.cat(hr_in, 1))
        return latent, lr_term, hr_feat

    def decode(
        self,
        latent: torch.Tensor,
        lr_term: torch.Tensor,
        hr_feat: torch.Tensor,
        rows: torch.Tensor,
        cols: torch.Tensor,
        return_weights: bool = False,
        base: torch.Tensor | None = None,
        chunk_pixels: int = 1 << 13,
        out: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Query the implicit function at HR rows × cols (continuous LR positions).

        Channels first, one neighbour at a time, by chunks of rows: the four neighbours of a
        query grid are separable, so each neighbour's LR terms are gathered column-wise
        once, then row-wise per chunk, and the largest temporary of a chunk is
        ``(N, d, rows, Wq)``, not ``(N, Q, 4, d)``.

        Parameters
        ----------
        latent, lr_term : (N, d, h, w)
        hr_feat : (N, d, Hq, Wq)
            HR features of exactly the queried pixels.
        rows, cols : (Hq,), (Wq,)
            Continuous LR positions of the queries (see :func:`hsi.fusion.inr.lr_positions`).
        base : (N, C, Hq, Wq), optional
            Added to the residual as each chunk is written (the output is then the estimate).
        chunk_pixels : int
            Queries decoded at once (bounds memory; the default keeps a chunk's temporaries
            in a CPU's L2 cache: a 296² tile decoded in 0.15 s instead of 0.21 s by chunks
            of 65536 pixels).
        out : (N, C, Hq, Wq), optional
            Where to write the result (e.g. a reused buffer: fresh pages for a 204-band 256²
            tile cost about a quarter of its decoding on a 2-core CPU).

        Returns
        -------
        residual : (N, C, Hq, Wq)
            Or ``base + residual`` when ``base`` is given, in ``base``'s dtype.
        weights : (N, Hq*Wq, 4), only with ``return_weights``
        """
        cells = neighbour_cells(rows, cols, *latent.shape[-2:])
        hr_t = pointwise(hr_feat, self.fc_hr.weight)  # the first layer's query term
        coord = self.fc_coord.weight  # (d, 2)
        mode = self.config.weights
        by_cols: dict = {}  # LR terms gathered at the neighbours' columns, (N, ·, h, Wq)

        def column_gathered(name: str, x: torch.Tensor, k: int) -> torch.Tensor:
            key = (name, NEIGHBOURS[k][1])  # neighbours with the same dx share their columns
            if key not in by_cols:  # gathered as rows of the transposed map: index_select
                # along the last axis took 3.4 ms for 32 × 72² → 256 columns, this 0.4 ms
                cols_of = x.transpose(2, 3).contiguous().index_select(
                    2, cells[k][1]).transpose(2, 3).contiguous()
                if name == "lr":  # the coordinates' column term, once per tile, not per row
                    dc = cells[k][3].to(coord.dtype)
                    cols_of = cols_of + (coord[:, 1, None] * dc[None, :]).to(cols_of.dtype)[
                        None, :, None, :]
                by_cols[key] = cols_of
            return by_cols[key]

        keys = query = None
        if mode == "cosine":
            keys = unit_channels(latent.float())
            query = unit_channels(hr_feat.float())
        n, hq, wq = hr_feat.shape[0], *hr_feat.shape[-2:]
        shape = (n, self.head.out_features, hq, wq)
        if out is None:
            out = torch.empty(shape, dtype=hr_t.dtype if base is None else base.dtype,
                              device=hr_t.device)
        elif tuple(out.shape) != shape:
            raise ShapeError(f"out must have shape {shape}, got {tuple(out.shape)}",
                             actual_shape=tuple(out.shape), expected_shape=shape)

        def gathered(name: str, x: torch.Tensor, k: int,
                     row_index: torch.Tensor) -> torch.Tensor:
            return column_gathered(name, x, k).index_select(2, row_index)

        def hidden(k: int, chunk: list, span: slice) -> torch.Tensor:
            """The MLP's output for neighbour ``k`` at the chunk's queries, (N, d, rows, Wq).

            The first layer's terms are added in place into the freshly gathered LR term
            (autograd-safe: ``index_select`` keeps no output), each ReLU in place: of a
            204-band 256² tile's decoding, these passes over ``(N, d, rows, Wq)`` had been
            most of the time.
            """
            rn, _, dr, _ = chunk[k]
            hid = gathered("lr", lr_term, k, rn)
            hid.add_(hr_t[..., span, :])
            hid.add_((coord[:, 0, None] * dr.to(coord.dtype)[None, :]).to(hid.dtype)[
                None, :, :, None])
            hid.relu_()
            for layer in self.mlp:
                hid = pointwise(hid, layer.weight, layer.bias).relu_()
            return hid

        weights = []
        step = max(1, chunk_pixels // max(wq, 1))
        for r0 in range(0, hq, step):
            span = slice(r0, min(hq, r0 + step))
            part = [(rn[span], cn, dr[span], dc) for rn, cn, dr, dc in cells]
            hids = None
            if mode == "cosine":
                q = query[..., span, :]
                cos = torch.cat([(gathered("keys", keys, k, part[k][0]) * q).sum(1, keepdim=True)
                                 for k in range(len(cells))], 1)
                wts = similarity_weights(cos, dim=1)  # (N, 4, rows, Wq), float32
            elif mode == "area":
                off = torch.stack([torch.stack(torch.broadcast_tensors(dr[:, None], dc[None, :]),
                                               -1) for _, _, dr, dc in part], -2)
                wts = area_weights(off).permute(2, 0, 1).unsqueeze(0).expand(n, -1, -1, -1)
            else:  # learned: softmax over the neighbours' own outputs, so all four are kept
                hids = [hidden(k, part, span) for k in range(len(cells))]
                logits = torch.cat([self.weight_net(hd.movedim(1, -1)).movedim(-1, 1).float()
                                    for hd in hids], 1)
                wts = torch.softmax(logits, dim=1)
            mixed = None
            for k in range(len(cells)):
                hid = hidden(k, part, span) if hids is None else hids[k]
                w = wts[:, k:k + 1].to(hr_t.dtype)
                mixed = hid * w if mixed is None else mixed.addcmul_(hid, w)
            if base is not None and not torch.is_grad_enabled() and mixed.dtype == out.dtype:
                _add_head_into(out[..., span, :], base[..., span, :], mixed, self.head)
            else:  # the residual and the base added as the chunk is written (autograd-safe)
                res = pointwise(mixed, self.head.weight.to(mixed.dtype),
                                self.head.bias.to(mixed.dtype))
                out[..., span, :] = res if base is None else res + base[..., span, :]
            if return_weights:
                weights.append(wts)
        if return_weights:
            return out, torch.cat(weights, 2).flatten(2).transpose(1, 2)
        return out

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        lr: torch.Tensor,
        msi: torch.Tensor,
        ratio: float | None = None,
        base: torch.Tensor | None = None,
        chunk_pixels: int = 1 << 13,
        core: tuple[slice, slice] | None = None,
        out: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Fuse a batch.

        Parameters
        ----------
        lr : torch.Tensor, shape (N, C, h, w)
            LR-HSI, normalised reflectance.
        msi : torch.Tensor, shape (N, m, H, W)
            HR-MSI on the output grid.
        ratio : float, optional
            HR/LR pixel-size ratio (default ``round(H / h)``). Any value works for the
            implicit part (a model trained at x4 can be queried at x8); the base image needs
            an integer.
        base : torch.Tensor, shape (N, C, H, W) or that of ``encoder_region(core, H, W)``
            Precomputed base image (computed with ``config.base`` when omitted).
        chunk_pixels : int
            HR pixels decoded at once (:meth:`decode`).
        core : (slice, slice), optional
            Rows and columns (step 1) of the ``(H, W)`` grid to estimate, e.g. a tile's core in
            its read window: the base image and the spatial encoder cover only the core and
            the encoder's reach (:meth:`encoder_region`), the decoder only the core.
        out : torch.Tensor, optional
            Where to write the result (:meth:`decode`), of the returned shape.

        Returns
        -------
        torch.Tensor, shape (N, C, H, W), or the shape of ``core``
            ``base + residual``.
        """
        self.check_inputs(lr, msi)
        H, W = msi.shape[-2:]
        if ratio is None:
            ratio = max(round(H / lr.shape[-2]), 1)
        region = self.encoder_region(core, H, W)
        size = tuple(r.stop - r.start for r in region)
        if base is None:
            base = base_image(lr, msi, round(ratio), self.config.base, region=region)
        elif tuple(base.shape[-2:]) == (H, W):
            base = base[..., region[0], region[1]]
        elif tuple(base.shape[-2:]) != size:
            raise ShapeError(f"base must cover the HR grid {(H, W)} or the encoder's region "
                             f"{size}, got {tuple(base.shape[-2:])}",
                             actual_shape=tuple(base.shape), expected_shape=size)
        latent, lr_term, hr_feat = self.encode(lr, msi, base.to(lr.dtype), ratio, region)
        rows, cols = (slice(*c.indices(n)[:2]) for c, n in
                      zip(core or (slice(None), slice(None)), (H, W), strict=True))
        inner = (slice(rows.start - region[0].start, rows.stop - region[0].start),
                 slice(cols.start - region[1].start, cols.stop - region[1].start))
        return self.decode(latent, lr_term, hr_feat[..., inner[0], inner[1]],
                           lr_positions(H, ratio, lr.device)[rows],
                           lr_positions(W, ratio, lr.device)[cols],
                           base=base[..., inner[0], inner[1]], chunk_pixels=chunk_pixels,
                           out=out)


def _add_head_into(target: torch.Tensor, base: torch.Tensor, hidden: torch.Tensor,
                   head: nn.Linear) -> None:
    """``target = base + head(hidden)`` over the channels, written in place (no autograd).

    ``target`` and ``base`` are (N, C, rows, W) views (a chunk of rows of the output and of
    the base image), ``hidden`` is (N, d, rows, W) contiguous. The base and the bias are
    written in one pass, then the head's matrix product accumulates straight into the
    output's rows: the residual is never a tensor of its own (a 204-band 256² tile: the
    residual, its sum with the base and the copy into the output took 20 of 135 CPU-ms).
    """
    torch.add(base, head.bias[:, None, None].to(base.dtype), out=target)
    weight = head.weight.to(hidden.dtype)
    for i in range(target.shape[0]):
        rows = target[i].view(target.shape[1], -1)  # (C, rows·W), row stride H·W
        # out= rather than addmm_: as fast, and FlopCounterMode (model_cost) counts it
        torch.addmm(rows, weight, hidden[i].reshape(hidden.shape[1], -1), out=rows)


def autocast_for(device: torch.device) -> contextlib.AbstractContextManager:
    """Mixed precision on CUDA (bfloat16 when supported, else float16); nothing on CPU."""
    if device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return contextlib.nullcontext()


def model_cost(model: INFN, lr_size: int = 64, ratio: int = 4) -> dict[str, int]:
    """Parameter count and FLOPs of one forward pass on a ``lr_size``² LR patch.

    Counted with :class:`torch.utils.flop_counter.FlopCounterMode` (matmuls and convolutions;
    a multiply-add is 2 FLOPs). The base image is given as zeros so its cost is excluded.

    Returns
    -------
    dict
        ``params`` (int) and ``flops`` (int) for an LR patch of ``lr_size × lr_size`` fused
        to ``lr_size·ratio`` squared.
    """
    from torch.utils.flop_counter import FlopCounterMode

    c = model.config
    device = next(model.parameters()).device
    lr = torch.zeros(1, c.hsi_bands, lr_size, lr_size, device=device)
    msi = torch.zeros(1, c.msi_bands, lr_size * ratio, lr_size * ratio, device=device)
    base = torch.zeros(1, c.hsi_bands, lr_size * ratio, lr_size * ratio, device=device)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(lr, msi, ratio=ratio, base=base)
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "flops": int(counter.get_total_flops()),
    }


def min_patch_lr(ratio: int, config: InfnConfig | None = None) -> int:
    """Smallest LR side (pixels) of a training patch that INFN's filters accept at ``ratio``.

    The LR-HSI high-pass (σ = :data:`LR_HIGHPASS_SIGMA`, when
    ``config.dhff_second_branch``) needs more LR pixels than its kernel radius, and the HR-MSI
    high-pass (σ = ratio / 2) more HR pixels than its radius (:func:`hsi.degrade.gaussian_psf`).
    """
    from hsi.degrade import psf_kernel_size

    config = config or InfnConfig()
    ratio = int(ratio)
    need = psf_kernel_size(max(ratio / 2.0, 0.5)) // 2 // ratio + 1
    if config.dhff_second_branch:
        need = max(need, psf_kernel_size(LR_HIGHPASS_SIGMA) // 2 + 1)
    return need
