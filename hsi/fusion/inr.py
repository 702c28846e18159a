"""Coordinate helpers and INR-CS weights for INFN's implicit decoder.

Conventions: pixel ``i`` of an image covers ``[i, i + 1)`` in its own pixel units, so its centre
is ``i + 0.5``. An HR pixel ``i`` at ratio ``r`` has its centre at LR continuous index
``u = (i + 0.5) / r - 0.5`` (LR pixel ``k``'s centre is at ``u = k``), the convention of
``hsi.degrade.simulate_pair`` (same origin, LR transform = HR transform × ratio) and of
``torch.nn.functional.interpolate(..., align_corners=False)``.
"""

from __future__ import annotations

import torch

#: The four neighbours of a query: (dy, dx) offsets from the LR cell at or before it.
NEIGHBOURS = ((0, 0), (0, 1), (1, 0), (1, 1))


def lr_positions(hr_size: int, ratio: float, device=None) -> torch.Tensor:
    """Continuous LR index of each HR pixel centre along one axis.

    Parameters
    ----------
    hr_size : int
        Number of HR pixels along the axis.
    ratio : float
        HR pixels per LR pixel (any positive value: the model can be queried off its
        training ratio).

    Returns
    -------
    torch.Tensor, shape (hr_size,), float32
        ``(i + 0.5) / ratio - 0.5``.
    """
    i = torch.arange(hr_size, device=device, dtype=torch.float32)
    return (i + 0.5) / float(ratio) - 0.5


def neighbour_indices(
    rows: torch.Tensor, cols: torch.Tensor, lr_h: int, lr_w: int
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Flat LR indices of the four neighbours of each query and the query's relative offsets.

    Parameters
    ----------
    rows, cols : torch.Tensor, shape (Hq,) and (Wq,)
        Continuous LR positions (from :func:`lr_positions`) of the query rows and columns.
    lr_h, lr_w : int
        LR grid size; neighbours outside it are clamped to the border pixel.

    Returns
    -------
    index : list of 4 tensors, shape (Hq * Wq,), int64
        Flat index ``row * lr_w + col`` of each neighbour.
    offset : list of 4 tensors, shape (Hq * Wq, 2), float32
        Query position minus neighbour centre ``(dy, dx)``, in LR pixels (LR cell size 1).
    """
    r0 = torch.floor(rows)
    c0 = torch.floor(cols)
    index, offset = [], []
    for dy, dx in NEIGHBOURS:
        rn = (r0 + dy).clamp(0, lr_h - 1)
        cn = (c0 + dx).clamp(0, lr_w - 1)
        idx = rn.long()[:, None] * lr_w + cn.long()[None, :]
        off_r = (rows - rn)[:, None].expand(-1, cols.numel())
        off_c = (cols - cn)[None, :].expand(rows.numel(), -1)
        index.append(idx.reshape(-1))
        offset.append(torch.stack([off_r, off_c], dim=-1).reshape(-1, 2))
    return index, offset


def cosine_weights(
    query: torch.Tensor, keys: torch.Tensor, eps: float = 1e-6, normalized: bool = False
) -> torch.Tensor:
    """INR-CS interpolation weights: normalised cosine similarity, no parameters.

    Parameters
    ----------
    query : torch.Tensor, shape (*, d)
        HR feature vector of each query.
    keys : torch.Tensor, shape (*, K, d)
        Latent feature vectors of its ``K`` LR neighbours.
    normalized : bool
        Both are already unit vectors (skips the normalisation).

    Returns
    -------
    torch.Tensor, shape (*, K), float32
        ``w_k = s_k / sum_k s_k`` with ``s_k = (cos(query, key_k) + 1) / 2``: non-negative,
        summing to one. Computed in float32 even under autocast.
    """
    q, k = query.float(), keys.float()
    if not normalized:
        q = torch.nn.functional.normalize(q, dim=-1, eps=eps)
        k = torch.nn.functional.normalize(k, dim=-1, eps=eps)
    cos = (k * q.unsqueeze(-2)).sum(-1)
    s = (cos + 1.0) * 0.5
    return s / (s.sum(-1, keepdim=True) + eps)


def area_weights(offsets: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Bilinear (LIIF "area") weights from the query offsets to its neighbours.

    Parameters
    ----------
    offsets : torch.Tensor, shape (*, K, 2)
        Query minus neighbour centre, in LR pixels.

    Returns
    -------
    torch.Tensor, shape (*, K): non-negative, summing to one.
    """
    a = (1.0 - offsets.float().abs()).clamp(min=0.0).prod(-1) + eps
    return a / a.sum(-1, keepdim=True)
