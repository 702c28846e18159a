"""Channel-mixing operations as plain matrix products, for the models' hot paths on CPU.

oneDNN's 1×1 convolution and ``F.normalize`` over the channel axis were several times slower
on the 2-core CPU than the same arithmetic as one matrix product or a channel sum (numbers in
each docstring); the models keep their ``nn.Conv2d`` / ``nn.Linear`` parameters and call these.
"""

from __future__ import annotations

import torch

__all__ = ["pointwise", "unit_channels"]


def pointwise(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
              ) -> torch.Tensor:
    """A 1×1 convolution (or a ``Linear`` on the channels) as one matrix product.

    Parameters
    ----------
    x : torch.Tensor, shape (N, C_in, H, W)
    weight : torch.Tensor, shape (C_out, C_in) or (C_out, C_in, 1, 1)
    bias : torch.Tensor, shape (C_out,), optional

    Returns
    -------
    torch.Tensor, shape (N, C_out, H, W)

    Notes
    -----
    On CPU, oneDNN's 1×1 convolution was 4-7× slower than the product here: 204 → 16
    channels over 296² pixels 30 vs 7 ms, 32 → 204 over 32 × 256 4.5 vs 0.65 ms.
    """
    n, c, h, w = x.shape
    weight = weight.reshape(weight.shape[0], -1)
    flat = x.reshape(n, c, h * w)
    if bias is None:
        out = torch.matmul(weight, flat)
    elif n == 1:
        out = torch.addmm(bias[:, None], weight, flat[0]).unsqueeze(0)
    else:
        out = torch.baddbmm(bias[None, :, None], weight.expand(n, -1, -1), flat)
    return out.view(n, -1, h, w)


def unit_channels(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``x`` divided by its Euclidean norm over the channels (dim 1), as
    ``F.normalize(x, dim=1, eps=eps)`` (which took 1.7 ms instead of 0.09 for 32 × 32 × 256
    on CPU: a strided reduction)."""
    return x * (x * x).sum(1, keepdim=True).clamp_min(eps * eps).rsqrt()
