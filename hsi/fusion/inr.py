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


def lr_positions(hr_size: int, ratio: float,
                 device: str | torch.device | None = None) -> torch.Tensor:
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


def neighbour_cells(
    rows: torch.Tensor, cols: torch.Tensor, lr_h: int, lr_w: int
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The four LR neighbours of a grid of queries, separably: rows and columns apart.

    Neighbour ``(dy, dx)`` (:data:`NEIGHBOURS`) of query ``(i, j)`` is LR pixel
    ``(row_index[i], col_index[j])``, and the query minus that pixel's centre is
    ``(row_offset[i], col_offset[j])``.

    Parameters
    ----------
    rows, cols : torch.Tensor, shape (Hq,) and (Wq,)
        Continuous LR positions (from :func:`lr_positions`) of the query rows and columns.
    lr_h, lr_w : int
        LR grid size; neighbours outside it are clamped to the border pixel.

    Returns
    -------
    list of 4 (row_index, col_index, row_offset, col_offset)
        Indices int64 of shapes (Hq,), (Wq,); offsets in LR pixels (LR cell size 1), of the
        queries' dtype, shapes (Hq,), (Wq,).
    """
    r0, c0 = torch.floor(rows), torch.floor(cols)
    cells = []
    for dy, dx in NEIGHBOURS:
        rn, cn = (r0 + dy).clamp(0, lr_h - 1), (c0 + dx).clamp(0, lr_w - 1)
        cells.append((rn.long(), cn.long(), rows - rn, cols - cn))
    return cells


def similarity_weights(cos: torch.Tensor, dim: int = -1, eps: float = 1e-6) -> torch.Tensor:
    """INR-CS weights from the cosine similarities ``cos`` of a query to its neighbours.

    Parameters
    ----------
    cos : torch.Tensor
        Cosine similarities in [-1, 1], the neighbours along ``dim``.
    dim : int
        The neighbour axis.

    Returns
    -------
    torch.Tensor, shape of ``cos``, float32
        ``s_k / sum_k s_k`` with ``s_k = (cos_k + 1) / 2``.
    """
    s = (cos.float() + 1.0) * 0.5
    return s / (s.sum(dim, keepdim=True) + eps)


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
