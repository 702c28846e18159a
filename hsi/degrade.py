"""Sensor simulation by Wald's protocol: spectral responses, Gaussian PSF blur and decimation.

A hyperspectral cube ``(bands, H, W)`` is turned into the pair a fusion method sees:

- a low-resolution HSI: :func:`gaussian_psf` blur then :func:`decimate` by an integer ``ratio``
  (:func:`wald_degradation` chains the two as an ``nn.Sequential``);
- a high-resolution MSI: :func:`spectral_response`, the cube's spectra weighted by each
  multispectral band's spectral response function (:class:`SRF`, presets in :func:`load_srf`).

The tensor operators follow kornia: a function doing the work plus an ``nn.Module`` twin storing
the configuration; they take ``(*, C, H, W)`` tensors on any device (CPU or CUDA) and are
differentiable. :func:`simulate_pair` applies them to a :class:`~hsi.cube.Cube` and keeps the
georeference consistent (an LR pixel covers ``ratio × ratio`` HR pixels, same origin).

As kornia's, the torch operators take the axes as given (a tensor is not guessed to be
``(H, W, bands)``), but an error that a tensor in that order causes (an image too small for
the PSF or the ratio, a spectral response matrix whose band count is the last axis's) says so
and gives the fix (``x.movedim(-1, -3)``; :func:`hsi.cube.looks_channels_last`).

>>> import torch
>>> x = torch.rand(2, 31, 64, 64)
>>> wald_degradation(4)(x).shape
torch.Size([2, 31, 16, 16])
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from affine import Affine
from torch import nn

from hsi.bands import bands_with_data, spread_sample
from hsi.check import check_ratio, check_shape, positive_number
from hsi.cube import (
    Cube,
    axis_order_hint,
    check_nanometres,
    looks_channels_last,
    missing_as_nan,
    require_cube,
)
from hsi.errors import (
    SensorError,
    ShapeError,
    WavelengthError,
    naming,
)
from hsi.srf import SRF, SRF_PRESETS, load_srf

if TYPE_CHECKING:
    import dask.array as da
    from numpy.typing import ArrayLike

log = logging.getLogger("hsi.degrade")

__all__ = [
    "SRF",
    "SRF_PRESETS",
    "Decimate",
    "GaussianPSF",
    "Psf",
    "SpectralResponse",
    "as_psf",
    "banded_product",
    "blur_decimate",
    "blur_decimate_axis",
    "crop_to_ratio",
    "decimate",
    "gaussian_blur_decimate",
    "gaussian_psf",
    "gaussian_psf_kernel",
    "kernel_blur_decimate",
    "load_srf",
    "normalize_reflectance",
    "psf_kernel_size",
    "reflectance_scale",
    "simulate_pair",
    "spectral_response",
    "unscale_bands",
    "wald_degradation",
    "warn_if_zeros_undeclared",
]


def _is_compiling() -> bool:
    compiler = getattr(torch, "compiler", None)
    return bool(compiler is not None and compiler.is_compiling())


# ===================================================================================== torch ops
def _check_tensor(x: object, name: str = "input",
                  dims: tuple[str, ...] = ("*", "C", "H", "W")) -> torch.Tensor:
    """``x`` as a floating-point tensor of axes ``dims`` (integer tensors become float32).

    Raises
    ------
    ShapeError
        Not a tensor, or another number of axes.
    """
    if not isinstance(x, torch.Tensor):
        raise ShapeError(f"{name} must be a torch.Tensor ({', '.join(dims)}), got "
                         f"{type(x).__name__}")
    check_shape(x, list(dims), name=name)
    return x if x.is_floating_point() else x.float()


def _axes_hint(x: torch.Tensor) -> str:
    """:func:`hsi.cube.axis_order_hint` for a tensor whose last three axes look like
    ``(H, W, bands)`` (:func:`hsi.cube.looks_channels_last`), else ``""``: the end of a
    message refusing it. Shapes only."""
    if x.ndim < 3 or not looks_channels_last(x.shape[-3:]):
        return ""
    return axis_order_hint(tuple(x.shape), tensor=True)


def _check_sigma(sigma: float) -> float:
    return positive_number(sigma, SensorError, "psf_sigma: must be a positive number of pixels")


def spectral_response(x: torch.Tensor, matrix: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Project each pixel's spectrum onto the bands of a multispectral sensor.

    Parameters
    ----------
    x : torch.Tensor, shape (*, hsi_bands, H, W)
        Hyperspectral image(s).
    matrix : torch.Tensor or numpy.ndarray, shape (msi_bands, hsi_bands)
        Spectral response matrix, e.g. :meth:`SRF.matrix` (rows summing to 1).

    Returns
    -------
    torch.Tensor, shape (*, msi_bands, H, W)
        ``out[..., m, i, j] = sum_c matrix[m, c] * x[..., c, i, j]``: with :meth:`SRF.matrix`,
        each pixel's band samples weighted by the response at the band centres (rows summing
        to 1: a flat spectrum stays flat), with no quadrature weights for the band spacing.
        A non-finite input makes NaN only the outputs whose row weights it
        (``matrix[m, c] != 0``), not every band.

    Raises
    ------
    ShapeError
        When ``x`` is not ``(*, C, H, W)``, ``matrix`` not 2-D, or the band counts differ.
    SensorError
        When ``matrix`` has NaN or infinite entries (checked outside ``torch.compile`` only).

    Examples
    --------
    >>> spectral_response(torch.rand(2, 31, 8, 8), torch.full((3, 31), 1 / 31)).shape
    torch.Size([2, 3, 8, 8])
    """
    x = _check_tensor(x, "x")
    m = torch.as_tensor(matrix, dtype=x.dtype, device=x.device)
    check_shape(m, ["msi_bands", "hsi_bands"], name="spectral response matrix")
    if not _is_compiling() and not bool(torch.isfinite(m).all()):
        raise SensorError("spectral response matrix contains NaN or infinite values")
    if m.shape[1] != x.shape[-3]:
        hint = axis_order_hint(tuple(x.shape), tensor=True) if m.shape[1] == x.shape[-1] else ""
        raise ShapeError(f"x: the spectral response matrix expects {m.shape[1]} bands, input "
                         f"has {x.shape[-3]} (axis -3 of {tuple(x.shape)}){hint}",
                         actual_shape=tuple(x.shape),
                         expected_shape=("*", int(m.shape[1]), "H", "W"))
    y = torch.einsum("mc,...chw->...mhw", m, x)
    # a non-finite band (0 · NaN) would make NaN every output band, seen or not: redo without
    # it, then NaN only where it is weighted
    if _is_compiling() or not y.numel() or bool(torch.isfinite(y.detach().sum())):
        return y
    bad = ~torch.isfinite(x)
    if not bool(bad.any()):
        return y
    y = torch.einsum("mc,...chw->...mhw", m,
                     torch.where(bad, torch.zeros((), dtype=x.dtype, device=x.device), x))
    reads = torch.einsum("mc,...chw->...mhw", m.ne(0).to(x.dtype), bad.to(x.dtype))
    return y.masked_fill(reads > 0, float("nan"))


class SpectralResponse(nn.Module):
    """Module twin of :func:`spectral_response` holding the matrix as a buffer.

    Parameters
    ----------
    matrix : torch.Tensor or numpy.ndarray, shape (msi_bands, hsi_bands)
    band_names : list of str, optional
        Names of the output bands (shown in the repr).
    """

    def __init__(self, matrix: torch.Tensor | ArrayLike,
                 band_names: list[str] | None = None) -> None:
        super().__init__()
        m = torch.as_tensor(np.asarray(matrix) if not isinstance(matrix, torch.Tensor) else matrix)
        check_shape(m, ["msi_bands", "hsi_bands"], name="spectral response matrix")
        self.register_buffer("matrix", m.to(torch.get_default_dtype()
                                            if not m.is_floating_point() else m.dtype))
        self.band_names = list(band_names) if band_names else None

    @classmethod
    def from_srf(cls, srf: SRF | str, hsi_wavelengths: ArrayLike) -> SpectralResponse:
        """Build from an :class:`SRF` (or preset name) resampled onto ``hsi_wavelengths`` (nm).

        Bands that fall mostly in a gap of the cube's sampling are left out, with a warning
        (:meth:`SRF.for_cube`); ``band_names`` lists the bands kept.
        """
        srf = load_srf(srf).for_cube(hsi_wavelengths)
        return cls(srf.matrix(hsi_wavelengths), band_names=srf.band_names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return spectral_response(x, self.matrix)

    def extra_repr(self) -> str:
        names = f", band_names={self.band_names}" if self.band_names else ""
        return f"hsi_bands={self.matrix.shape[1]}, msi_bands={self.matrix.shape[0]}{names}"


def psf_kernel_size(sigma: float) -> int:
    """Odd PSF kernel size ``2·ceil(3σ) + 1`` covering ±3 σ."""
    return 2 * math.ceil(3.0 * _check_sigma(sigma)) + 1


def gaussian_psf_kernel(sigma: float, *, device: torch.device | str | None = None,
                        dtype: torch.dtype | None = None) -> torch.Tensor:
    """The normalised 2-D Gaussian PSF :func:`gaussian_psf` convolves with.

    Returns
    -------
    torch.Tensor, shape (k, k) with ``k = psf_kernel_size(sigma)``
        Sums to 1.
    """
    from kornia.filters import get_gaussian_kernel1d

    k = psf_kernel_size(sigma)
    g = get_gaussian_kernel1d(k, float(sigma), device=device, dtype=dtype or torch.float32)
    g = g.reshape(-1)
    return g[:, None] * g[None, :]


def _check_psf_room(x: torch.Tensor, kernel_shape: tuple[int, int], psf: str,
                    ratio: int | None = None) -> None:
    """Refuse an image too small to blur with a PSF kernel (reflected border), and to
    decimate by ``ratio`` when given.

    Parameters
    ----------
    x : torch.Tensor, shape (*, C, H, W)
    kernel_shape : (int, int)
        ``(kh, kw)``, the kernel's size in HR pixels: the reflected border needs
        ``H > kh // 2`` and ``W > kw // 2``.
    psf : str
        The PSF as the message names it (``"a 3×3 PSF"``).
    ratio : int, optional
        The decimation that follows the blur: ``H`` and ``W`` must hold one block at least.

    Raises
    ------
    ShapeError
        ``"image 4×4 is too small for a 3×3 PSF at ratio 8"``.
    """
    h, w = x.shape[-2:]
    kh, kw = kernel_shape
    if h <= kh // 2 or w <= kw // 2 or (ratio is not None and (h < ratio or w < ratio)):
        at = "" if ratio is None else f" at ratio {ratio}"
        raise ShapeError(f"image {h}×{w} is too small for {psf}{at}{_axes_hint(x)}",
                         actual_shape=tuple(x.shape),
                         expected_shape=("*", "C", f">{kh // 2}", f">{kw // 2}"))


def _gaussian_psf_name(sigma: float, k: int) -> str:
    """The Gaussian PSF as :func:`_check_psf_room` names it: σ (HR pixels) and kernel side."""
    return f"a PSF of sigma {sigma:g} (kernel {k}, needs H and W > {k // 2})"


def gaussian_psf(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur each band with an isotropic Gaussian point spread function.

    Parameters
    ----------
    x : torch.Tensor, shape (*, C, H, W)
        Image(s); integer tensors are converted to float32.
    sigma : float
        Standard deviation in (high-resolution) pixels. The kernel is the Gaussian sampled at
        the integer offsets ``−ceil(3σ) … ceil(3σ)`` (not integrated over each pixel) and
        normalised to sum 1, as MATLAB's ``fspecial('gaussian')``; the border is reflected
        without repeating the edge sample (kornia ``gaussian_blur2d``, ``border_type="reflect"``;
        numpy's ``"reflect"``, scipy.ndimage's ``"mirror"``).

    Returns
    -------
    torch.Tensor, shape (*, C, H, W)

    Raises
    ------
    SensorError
        When ``sigma`` is not a positive number.
    ShapeError
        When ``x`` is not ``(*, C, H, W)`` or is too small for the reflected border
        (H and W must exceed ``ceil(3σ)``).

    Examples
    --------
    >>> gaussian_psf(torch.rand(2, 5, 16, 16), 1.0).shape
    torch.Size([2, 5, 16, 16])
    """
    from kornia.filters import gaussian_blur2d

    x = _check_tensor(x, "x")
    sigma = _check_sigma(sigma)
    k = psf_kernel_size(sigma)
    _check_psf_room(x, (k, k), _gaussian_psf_name(sigma, k))
    *lead, c, h, w = x.shape
    y = gaussian_blur2d(x.reshape(-1, c, h, w), (k, k), (sigma, sigma), border_type="reflect")
    return y.reshape(*lead, c, h, w)


class GaussianPSF(nn.Module):
    """Module twin of :func:`gaussian_psf`.

    Parameters
    ----------
    sigma : float
        PSF standard deviation in pixels (> 0).
    """

    def __init__(self, sigma: float) -> None:
        super().__init__()
        self.sigma = _check_sigma(sigma)
        self.kernel_size = psf_kernel_size(self.sigma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gaussian_psf(x, self.sigma)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma:g}, kernel_size={self.kernel_size}, border_type='reflect'"


def decimate(x: torch.Tensor, ratio: int) -> torch.Tensor:
    """Keep one sample per ``ratio × ratio`` block, taken at the block's centre.

    An odd ``ratio`` keeps the centre pixel; an even one the mean of the central 2×2 pixels, so
    each low-resolution pixel is centred on its block (no half-pixel shift: the LR grid is the
    HR grid scaled by ``ratio`` from the same origin). LR pixel ``(i, j)`` is the HR image at
    ``(i·r + (r−1)/2, j·r + (r−1)/2)`` in HR pixel indices. Rows/columns beyond the last whole
    block are dropped.

    Conventions differ here: much fusion code keeps ``x[..., ::r, ::r]`` (each block's
    top-left pixel), an LR grid shifted by ``(r−1)/2`` HR pixels from this one; and for an even
    ratio the 2×2 mean is itself a ``[½, ½]`` box blur on top of the PSF.

    Parameters
    ----------
    x : torch.Tensor, shape (*, C, H, W)
    ratio : int
        Integer >= 2.

    Returns
    -------
    torch.Tensor, shape (*, C, H // ratio, W // ratio)

    Raises
    ------
    SensorError
        When ``ratio`` is not an integer >= 2.
    ShapeError
        When ``x`` is not ``(*, C, H, W)`` or H or W is smaller than ``ratio``.

    Examples
    --------
    >>> decimate(torch.rand(3, 10, 9), 4).shape
    torch.Size([3, 2, 2])
    """
    x = _check_tensor(x, "x")
    r = check_ratio(ratio)
    h, w = x.shape[-2], x.shape[-1]
    if h < r or w < r:
        raise ShapeError(f"image {h}×{w} is smaller than the decimation ratio {r}"
                         f"{_axes_hint(x)}", actual_shape=tuple(x.shape),
                         expected_shape=("*", "C", f">={r}", f">={r}"))
    hc, wc = (h // r) * r, (w // r) * r
    if r % 2:
        c = r // 2
        return x[..., c:hc:r, c:wc:r]
    a, b = r // 2 - 1, r // 2
    return (x[..., a:hc:r, a:wc:r] + x[..., a:hc:r, b:wc:r]
            + x[..., b:hc:r, a:wc:r] + x[..., b:hc:r, b:wc:r]) / 4


class Decimate(nn.Module):
    """Module twin of :func:`decimate`.

    Parameters
    ----------
    ratio : int
        Integer >= 2.
    """

    def __init__(self, ratio: int) -> None:
        super().__init__()
        self.ratio = check_ratio(ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return decimate(x, self.ratio)

    def extra_repr(self) -> str:
        how = "centre pixel" if self.ratio % 2 else "mean of central 2×2"
        return f"ratio={self.ratio}, sample='{how}'"


def wald_degradation(ratio: int, sigma: float | None = None) -> nn.Sequential:
    """Spatial degradation of Wald's protocol: Gaussian PSF blur, then decimation.

    Parameters
    ----------
    ratio : int
        Resolution ratio (integer >= 2).
    sigma : float, optional
        PSF standard deviation in HR pixels; default ``ratio / 2``, a Gaussian whose transfer
        function is ``exp(−π²/8) ≈ 0.29`` at the LR Nyquist frequency (the MTF-matched gain
        of about 0.3 used in pansharpening).

    Returns
    -------
    torch.nn.Sequential
        ``Sequential(GaussianPSF(sigma), Decimate(ratio))`` mapping ``(*, C, H, W)`` to
        ``(*, C, H // ratio, W // ratio)``.

    Raises
    ------
    SensorError
        Bad ratio or sigma.
    """
    r = check_ratio(ratio)
    return nn.Sequential(GaussianPSF(r / 2.0 if sigma is None else sigma), Decimate(r))


@dataclass(frozen=True)
class Psf:
    """A sensor's point spread function on the HR grid: a Gaussian, possibly off-centre.

    ``Psf(2.0)`` is the PSF of Wald's protocol at x4: a Gaussian of σ = 2 HR pixels centred on
    each LR pixel's block. ``shift`` moves the Gaussian's centre off the block centre by a
    fraction of an HR pixel: the sub-pixel misregistration of the two sensors' grids (or a PSF
    whose centre of mass is not the block centre, e.g. an even-sized box as
    :func:`kernel_blur_decimate` applies it). Fusion methods need it right: GLP loses about
    6 dB on CAVE with a half-pixel error (``benchmarks/psf_estimate.py``).

    Attributes
    ----------
    sigma : float
        Gaussian standard deviation in HR pixels (> 0).
    shift : tuple of float
        ``(rows, cols)`` offset of the Gaussian's centre from the block centre, HR pixels
        (positive: down / right).
    """

    sigma: float
    shift: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        _check_sigma(self.sigma)
        if len(self.shift) != 2 or not all(math.isfinite(float(v)) for v in self.shift):
            raise SensorError(f"psf shift must be two finite numbers of pixels, got "
                              f"{self.shift!r}")
        object.__setattr__(self, "shift", (float(self.shift[0]), float(self.shift[1])))

    @property
    def size(self) -> int:
        """Side of the (odd, square) kernel in HR pixels: ±3 σ around the shifted centre."""
        return psf_kernel_size(self.sigma) + 2 * math.ceil(max(map(abs, self.shift)))

    def taps(self, axis: int, *, device: torch.device | str | None = None,
             dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """The 1-D kernel along ``axis`` (0: rows, 1: columns), shape ``(size,)``, sum 1.

        Sampled at the integer offsets like kornia's ``get_gaussian_kernel1d`` (equal to it
        when the shift is 0)."""
        n = self.size
        x = torch.arange(n, device=device, dtype=dtype) - n // 2 - self.shift[axis]
        g = torch.exp(-(x**2) / (2.0 * self.sigma**2))
        return g / g.sum()

    def kernel(self, *, device: torch.device | str | None = None,
               dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """The 2-D PSF, shape ``(size, size)``, summing to 1, centred on its middle sample."""
        return self.taps(0, device=device, dtype=dtype)[:, None] * self.taps(
            1, device=device, dtype=dtype)[None, :]

    def __str__(self) -> str:
        text = f"Gaussian σ = {self.sigma:.3g}"
        if any(self.shift):
            text += f" shifted ({self.shift[0]:+.3g}, {self.shift[1]:+.3g})"
        return text

    def metadata(self) -> dict:
        """``{"psf_sigma": σ}``, plus ``"psf_shift"`` when off-centre: for file metadata."""
        return {"psf_sigma": float(self.sigma),
                **({"psf_shift": list(self.shift)} if any(self.shift) else {})}


def as_psf(psf: float | Psf | None, ratio: int) -> Psf:
    """``psf`` as a :class:`Psf`: a number is a Gaussian σ (HR pixels), ``None`` the nominal
    Gaussian σ = ``ratio / 2`` of Wald's protocol."""
    if isinstance(psf, Psf):
        return psf
    return Psf(check_ratio(ratio) / 2.0 if psf is None else _check_sigma(psf))


def blur_decimate(x: torch.Tensor, psf: float | Psf | None, ratio: int) -> torch.Tensor:
    """Blur with a sensor PSF (:func:`as_psf`), then :func:`decimate`: the LR grid's view.

    Separable: one strided convolution per axis, only the kept samples computed (a centred
    Gaussian is exactly :func:`gaussian_blur_decimate`).

    Parameters
    ----------
    x : torch.Tensor, shape (*, C, H, W)
    psf : float, Psf or None
        Gaussian σ in HR pixels, a :class:`Psf`, or ``None`` for σ = ``ratio / 2``.
    ratio : int

    Returns
    -------
    torch.Tensor, shape (*, C, H // ratio, W // ratio)
    """
    psf = as_psf(psf, ratio)
    if not any(psf.shift):
        return gaussian_blur_decimate(x, psf.sigma, ratio)
    x = _check_tensor(x, "x")
    r = check_ratio(ratio)
    k = psf.size
    h, w = x.shape[-2:]
    if h <= k // 2 or w <= k // 2 or h < r or w < r:
        raise ShapeError(f"image {h}×{w} is too small for the PSF {psf} (kernel {k}, needs H and "
                         f"W > {k // 2}) at ratio {r}{_axes_hint(x)}", actual_shape=tuple(x.shape),
                         expected_shape=("*", "C", f">{k // 2}", f">{k // 2}"))
    rows, cols = psf.taps(0, device=x.device), psf.taps(1, device=x.device)
    return _strided_blur(x, [(cols[None, :], (-1,)), (rows[:, None], (-2,))], (k // 2,) * 4, r)


def _centre_taps(kernel: torch.Tensor, ratio: int,
                 dims: tuple[int, ...]) -> tuple[torch.Tensor, int]:
    """Taps of "blur with ``kernel``, keep the block centre" along ``dims`` of ``kernel``.

    An odd ``ratio`` keeps the centre sample: the taps are ``kernel`` and the first one falls
    ``ratio // 2`` samples into the (padded) block. An even one keeps the mean of the central
    two samples: ``kernel`` convolved with ``[½, ½]`` along each of ``dims``, starting
    ``ratio/2 − 1`` in.
    """
    if ratio % 2:
        return kernel, ratio // 2
    for dim in dims:
        ext = torch.cat([kernel, torch.zeros_like(kernel.narrow(dim, 0, 1))], dim=dim)
        kernel = 0.5 * (ext + ext.roll(1, dims=dim))
    return kernel, ratio // 2 - 1


def banded_product(x: torch.Tensor, op: torch.Tensor, dim: int, keep: slice | None = None,
                   block: int = 64, out: torch.Tensor | None = None) -> torch.Tensor:
    """``op`` (m, n) applied along axis ``dim`` of ``x``: ``out[i] = Σ_j op[i, j] x[j]`` there.

    For a banded ``op`` (a resampling operator: each output sample reads a few neighbouring
    inputs) computed as dense matrix products by blocks of ``block`` output samples, each
    reading only the inputs under its band, so the products stay small and the work is that
    of the band, not of the whole matrix.

    Parameters
    ----------
    x : torch.Tensor, shape (..., n, w) for ``dim=-2`` or (..., h, n) for ``dim=-1``
    op : torch.Tensor, shape (m, n)
    dim : int
        −1 (columns) or −2 (rows).
    keep : slice, optional
        The output samples to compute (step 1); default all ``m``.
    block : int
        Output samples per product.
    out : torch.Tensor, optional
        Where to put the result (its shape), e.g. a reused buffer.

    Returns
    -------
    torch.Tensor
        ``x`` with axis ``dim`` replaced by the kept outputs; contiguous (``out`` when given).
        An output is NaN when an input it reads (``op[i, j] != 0``) is not finite; inputs
        outside its band never reach it (a dense block product would give ``0 · NaN = NaN``
        for every output of the block: one missing pixel made a 64-sample stripe NaN).
    """
    y = _blocked_product(x, op, dim, keep, block, out)
    # A non-finite input makes its whole block NaN (0 · NaN): redo without it, then NaN only
    # where it is read. Checked on the sum of the smaller of input and output (an upsampling's
    # input, a decimation's output), ~20× cheaper than isfinite(x).all(): a finite sum means
    # no non-finite input reached the output.
    smaller = x if x.numel() < y.numel() else y
    if _is_compiling() or not y.numel() or bool(torch.isfinite(smaller.detach().sum())):
        return y
    bad = ~torch.isfinite(x)
    if not bool(bad.any()):  # finite inputs, an output too large for its dtype: as computed
        return y
    y = _blocked_product(torch.where(bad, torch.zeros((), dtype=x.dtype, device=x.device), x),
                         op, dim, keep, block, out)
    reads = _blocked_product(bad.to(op.dtype), op.ne(0).to(op.dtype), dim, keep, block, None)
    nan = float("nan")
    return y.masked_fill_(reads > 0, nan) if out is not None else y.masked_fill(reads > 0, nan)


def _blocked_product(x: torch.Tensor, op: torch.Tensor, dim: int, keep: slice | None,
                     block: int, out: torch.Tensor | None) -> torch.Tensor:
    """:func:`banded_product` as dense products by blocks (a non-finite input spreads over
    every output of its blocks)."""
    start, stop, _ = (keep or slice(None)).indices(op.shape[0])
    first, last = _band_edges(op[start:stop])
    parts = []
    for lo in range(start, stop, block):
        hi = min(stop, lo + block)
        a, b = min(first[lo - start : hi - start]), max(last[lo - start : hi - start]) + 1
        a, b = (a, b) if a < b else (0, 1)  # a block that reads nothing
        part = op[lo:hi, a:b]
        if out is not None and hi - lo == stop - start:  # one product, straight into out
            return torch.matmul(x[..., a:b], part.T, out=out) if dim == -1 else torch.matmul(
                part, x[..., a:b, :], out=out)
        parts.append(x[..., a:b] @ part.T if dim == -1 else part @ x[..., a:b, :])
    if len(parts) == 1 and out is None:
        return parts[0]
    return torch.cat(parts, dim=dim, out=out) if out is not None else torch.cat(parts, dim=dim)


def _band_edges(op: torch.Tensor) -> tuple[list[int], list[int]]:
    """Per row of ``op`` (m, n): the first and last column it reads (``op != 0``); a row that
    reads nothing gets ``(n, -1)``. Two lists of ``m`` ints, found in one pass over ``op``."""
    reads = op.ne(0)
    n = reads.shape[1]
    any_read = reads.any(1)
    first = torch.where(any_read, reads.to(torch.uint8).argmax(1), n)
    last = torch.where(any_read, n - 1 - reads.flip(1).to(torch.uint8).argmax(1), -1)
    return first.tolist(), last.tolist()


@functools.lru_cache(maxsize=32)
def _decimation_operator(n: int, taps: tuple[float, ...], pads: tuple[int, int], ratio: int,
                         device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The (n // ratio, n) matrix of one axis of :func:`_strided_blur`: reflect-pad by
    ``pads``, convolve with ``taps``, keep the block-centre samples (:func:`_centre_taps`)."""
    kernel, offset = _centre_taps(torch.tensor(taps, dtype=torch.float64)[None, :], ratio, (-1,))
    kernel = kernel[0]
    op = torch.zeros(n // ratio, n, dtype=torch.float64)
    rows = torch.arange(n // ratio)
    for t, tap in enumerate(kernel.tolist()):
        i = offset + rows * ratio + t - pads[0]  # position in the unpadded axis
        i = torch.where(i < 0, -i, torch.where(i >= n, 2 * (n - 1) - i, i))  # reflected
        op.index_put_((rows, i), torch.full_like(rows, 0, dtype=torch.float64) + tap,
                      accumulate=True)
    return op.to(device=device, dtype=dtype)


#: Output samples per product of :func:`_strided_blur`'s banded passes: a block of ``b``
#: outputs at stride ``ratio`` reads ``b · ratio`` inputs plus the kernel, of which each output
#: uses only the kernel's width, so small blocks waste fewer multiply-adds. 16 was 1.2–1.7×
#: faster than 64 (and than 8 or 32) on 13–204 bands, 280²–1024² pixels, x4 and x8 (2-core CPU).
DECIMATE_BLOCK = 16


def _axis_blur_decimate(x: torch.Tensor, taps: tuple[float, ...], pads: tuple[int, int],
                        ratio: int, dim: int) -> torch.Tensor:
    """One separable pass of :func:`_strided_blur`: reflect-pad axis ``dim`` (−2 rows, −1
    columns) of ``x`` by ``pads``, convolve it with ``taps``, keep its block-centre samples."""
    op = _decimation_operator(x.shape[dim], taps, pads, ratio, x.device, x.dtype)
    return banded_product(x, op, dim, block=DECIMATE_BLOCK)


def blur_decimate_axis(x: torch.Tensor, psf: float | Psf | None, ratio: int,
                       dim: int) -> torch.Tensor:
    """One axis of :func:`blur_decimate`: ``blur_decimate(x, psf, ratio)`` equals
    ``blur_decimate_axis(blur_decimate_axis(x, psf, ratio, -1), psf, ratio, -2)`` bit for bit.

    For callers that try many PSFs on one image (:func:`hsi.fusion.psf.estimate_psf`): the
    column pass, the costly one, depends only on σ, the column shift and the kernel size, so it
    can be reused across row shifts.

    Parameters
    ----------
    x : torch.Tensor, shape (*, H, W)
    psf : float, Psf or None
        As :func:`blur_decimate`.
    ratio : int
    dim : int
        −1 (columns: W → W // ratio) or −2 (rows: H → H // ratio).

    Returns
    -------
    torch.Tensor
        ``x`` with axis ``dim`` blurred and decimated.

    Raises
    ------
    ShapeError
        ``x`` is not a tensor of 2 axes or more, ``dim`` is neither −1 nor −2, or axis ``dim``
        is too short for the PSF's reflected border or the ratio (the message says when ``x``
        looks like ``(*, H, W, bands)``).
    """
    psf = as_psf(psf, ratio)
    if dim not in (-1, -2):
        raise ShapeError(f"dim must be -1 (columns) or -2 (rows), got {dim!r}")
    x = _check_tensor(x, "x", ("*", "H", "W"))
    r = check_ratio(ratio)
    pad = psf.size // 2
    n = x.shape[dim]
    if n <= pad or n < r:
        axis = "W" if dim == -1 else "H"
        raise ShapeError(f"x: {axis} = {n} is too small for the PSF {psf} (kernel {psf.size}, "
                         f"needs more than {pad}) at ratio {r}{_axes_hint(x)}",
                         actual_shape=tuple(x.shape), expected_shape=("*", "H", "W"))
    taps = psf.taps(1 if dim == -1 else 0)
    return _axis_blur_decimate(x, tuple(taps.tolist()), (pad, pad), r, dim)


def _strided_blur(x: torch.Tensor, passes: list[tuple[torch.Tensor, tuple[int, ...]]],
                  pads: tuple[int, int, int, int], ratio: int) -> torch.Tensor:
    """Reflect-pad ``x`` (*, C, H, W) by ``pads`` (F.pad order), then convolve with each 2-D
    kernel of ``passes`` in turn, at stride ``ratio`` along its ``dims`` (−2 rows, −1 columns)
    where only the block-centre samples are computed.

    A pass along one axis (a separable PSF) is a product with that axis's banded operator
    (:func:`banded_product`), several times faster on CPU than a depthwise convolution; a 2-D
    kernel is a strided convolution.
    """
    from torch.nn import functional as F

    c, h, w = x.shape[-3:]
    keep = {-2: h // ratio, -1: w // ratio}
    if all(len(dims) == 1 for _, dims in passes):
        t = x.reshape(-1, c, h, w)
        for kernel, (dim,) in passes:
            axis_pads = (pads[0], pads[1]) if dim == -1 else (pads[2], pads[3])
            t = _axis_blur_decimate(t, tuple(kernel.flatten().tolist()), axis_pads, ratio, dim)
        return t.reshape(*x.shape[:-2], keep[-2], keep[-1])
    t = F.pad(x.reshape(-1, c, h, w), pads, mode="reflect")
    for kernel, dims in passes:
        taps, offset = _centre_taps(kernel, ratio, dims)
        for dim in dims:
            t = t.narrow(dim, offset, t.shape[dim] - offset)
        stride = tuple(ratio if d in dims else 1 for d in (-2, -1))
        weight = taps.to(x.dtype)[None, None].expand(c, 1, *taps.shape)
        t = F.conv2d(t, weight, stride=stride, groups=c)
        for dim in dims:
            t = t.narrow(dim, 0, keep[dim])
    return t.reshape(*x.shape[:-2], keep[-2], keep[-1])


def gaussian_blur_decimate(x: torch.Tensor, sigma: float, ratio: int) -> torch.Tensor:
    """``decimate(gaussian_psf(x, sigma), ratio)``, computing only the samples kept.

    The separable Gaussian and the block-centre sampling are one strided convolution per axis:
    about ``ratio²`` times fewer multiply-adds than blurring every pixel, the same result up to
    float rounding.

    Parameters
    ----------
    x : torch.Tensor, shape (*, C, H, W)
    sigma : float
        PSF standard deviation in HR pixels (kernel and reflected border as :func:`gaussian_psf`).
    ratio : int
        Integer >= 2.

    Returns
    -------
    torch.Tensor, shape (*, C, H // ratio, W // ratio)

    Examples
    --------
    >>> gaussian_blur_decimate(torch.rand(3, 16, 12), 2.0, 4).shape
    torch.Size([3, 4, 3])
    """
    x = _check_tensor(x, "x")
    sigma = _check_sigma(sigma)
    r = check_ratio(ratio)
    k = psf_kernel_size(sigma)
    _check_psf_room(x, (k, k), _gaussian_psf_name(sigma, k), r)
    g = Psf(sigma).taps(0, device=x.device)  # kornia's get_gaussian_kernel1d(k, σ), float64
    return _strided_blur(x, [(g[None, :], (-1,)), (g[:, None], (-2,))], (k // 2,) * 4, r)


def kernel_blur_decimate(x: torch.Tensor, kernel: torch.Tensor, ratio: int) -> torch.Tensor:
    """Blur with any 2-D PSF ``kernel`` (reflected border), then :func:`decimate`.

    For PSFs that are not Gaussian (a box, a measured kernel). An odd-sized kernel is centred
    on its middle sample; an even-sized one (``k``) has ``k // 2`` samples before the centre.
    Only the kept samples are computed (one strided convolution).

    Parameters
    ----------
    x : torch.Tensor, shape (*, C, H, W)
    kernel : torch.Tensor, shape (kh, kw)
        The PSF in HR pixels; it should sum to 1 (it is applied as given).
    ratio : int
        Integer >= 2.

    Returns
    -------
    torch.Tensor, shape (*, C, H // ratio, W // ratio)

    Examples
    --------
    >>> box = torch.full((3, 3), 1 / 9)
    >>> kernel_blur_decimate(torch.ones(2, 8, 8), box, 4).shape
    torch.Size([2, 2, 2])
    """
    x = _check_tensor(x, "x")
    r = check_ratio(ratio)
    k = torch.as_tensor(kernel, dtype=torch.float64, device=x.device)
    if k.ndim != 2:
        raise ShapeError(f"kernel: expected a 2-D PSF, got shape {tuple(k.shape)}",
                         actual_shape=tuple(k.shape), expected_shape=("kh", "kw"))
    kh, kw = k.shape
    _check_psf_room(x, (kh, kw), f"a {kh}×{kw} PSF", r)
    pads = (kw // 2, kw - 1 - kw // 2, kh // 2, kh - 1 - kh // 2)
    return _strided_blur(x, [(k, (-2, -1))], pads, r)


# ==================================================================================== cube level
def crop_to_ratio(cube: Cube, ratio: int) -> Cube:
    """Crop a cube at its bottom/right edges to ``H`` and ``W`` multiples of ``ratio``.

    The origin and transform stay (this is the reference :func:`simulate_pair` degrades).

    Raises
    ------
    CubeTypeError
        When ``cube`` is not a :class:`~hsi.cube.Cube`.
    SensorError
        Bad ratio.
    ShapeError
        When the cube is smaller than ``ratio`` pixels.
    """
    from rasterio.windows import Window

    cube = require_cube(cube, "crop_to_ratio: cube")
    r = check_ratio(ratio)
    h, w = (cube.height // r) * r, (cube.width // r) * r
    if h == 0 or w == 0:
        raise ShapeError(f"cube {cube.name!r} of {cube.height}×{cube.width} pixels is smaller "
                         f"than the ratio {r}", actual_shape=cube.shape,
                         expected_shape=("bands", f">={r}", f">={r}"))
    if (h, w) == (cube.height, cube.width):
        return cube
    return cube.crop(Window(0, 0, w, h))


def _check_psf_fits(ref: Cube, sigma: float, ratio: int) -> None:
    """Refuse, naming the cube, a reference (cropped to the ratio) too small for the PSF that
    blurs it (:func:`gaussian_blur_decimate` needs more pixels a side than the kernel's
    radius)."""
    k = psf_kernel_size(sigma)
    side = min(ref.height, ref.width)
    if side <= k // 2:
        need = (k // 2 // ratio + 1) * ratio  # the smallest multiple of the ratio that fits
        raise ShapeError(f"{ref.name or 'cube'}: {side} pixels a side (cropped to a multiple of "
                         f"the ratio {ratio}) are too few for the PSF of sigma {sigma:g} HR "
                         f"pixels (kernel {k}, needs more than {k // 2}): use a cube of at least "
                         f"{need}×{need} pixels, a smaller ratio or a smaller psf_sigma=",
                         actual_shape=ref.shape,
                         expected_shape=("bands", f">={need}", f">={need}"))


def simulate_pair(cube: Cube, ratio: int, srf: SRF | str, psf_sigma: float | None = None,
                  *, device: str | torch.device = "cpu",
                  bands: np.ndarray | None = None) -> tuple[Cube, Cube]:
    """Simulate the low-resolution HSI and high-resolution MSI a fusion method gets (Wald).

    Parameters
    ----------
    cube : Cube, shape (bands, H, W)
        Reference hyperspectral cube with wavelengths (nm).
    ratio : int
        Resolution ratio (integer >= 2). ``H`` and ``W`` are first cropped to multiples of it
        (:func:`crop_to_ratio`).
    srf : SRF or str
        The multispectral sensor: an :class:`SRF`, a preset name or an SRF file (:func:`load_srf`).
    psf_sigma : float, optional
        PSF standard deviation in HR pixels (default ``ratio / 2``).
    device : str or torch.device
        Where to compute: ``"cpu"``, ``"cuda"`` or ``"auto"`` (:func:`hsi.device.pick_device`).
    bands : numpy.ndarray of int, optional
        The bands with data the HR-MSI is simulated from (a tiled run gives the whole
        scene's); default :func:`bands_with_data` of this cube.

    Returns
    -------
    lr_hsi : Cube, shape (bands, H // ratio, W // ratio), float32
        Blurred (:func:`gaussian_psf`) and decimated on the block centres (:func:`decimate`);
        the cube's wavelengths and FWHM; transform ``transform @ Affine.scale(ratio)`` (same
        origin, pixels ``ratio`` times larger). The blur reflects at the *cropped* cube's edge:
        where the cube was cropped, the LR pixels within the PSF's reach of that edge differ
        from blurring the whole cube (by up to 0.027 on the Salinas-A sample at ×4).
    hr_msi : Cube, shape (msi_bands, H', W'), float32
        The cropped cube seen through the SRF, bands in the sensor's order (R, G, B for a
        camera); wavelengths = band peak wavelengths; band names in ``metadata["band_names"]``.
        A band with less than :data:`hsi.srf.MIN_COVERED` (50 %) of its response where the
        cube has bands, because of a gap in the cube's sampling (removed water-absorption
        bands), is left out with a warning (:meth:`SRF.for_cube`) and named with its covered
        fraction in ``metadata["srf_dropped_bands"]``: Sentinel-2 B10 (1373.5 nm, 33 %
        covered) of ``sentinel2_l1c`` on the Salinas-A sample (the ``sentinel2`` preset, the
        12 Level-2A bands, has no B10).
        Each band is the weighted mean of the cube's band samples with the response at their
        centres as weights (:meth:`SRF.matrix`), not a quadrature over wavelength: on an
        uneven grid (AVIRIS spectrometer overlaps, removed water bands) it differs from the
        integral of the linearly interpolated spectrum, on the Salinas-A sample by about 1 %
        (median over pixels) for Sentinel-2 B5 and B9.

    Pixels with no data (NaN, or the cube's nodata value) stay local: an LR pixel is NaN when
    the PSF reaches one, an MSI band when its response weights one. An empty band (no valid
    value: :func:`empty_bands`) is a band the cube did not measure: the HR-MSI is simulated
    from the others, as for a gap in the sampling (one warning line), and the LR-HSI's band
    is NaN.

    Raises
    ------
    CubeTypeError
        When ``cube`` is not a :class:`~hsi.cube.Cube` (a bare array has no wavelengths).
    WavelengthError
        When the cube has no wavelengths, or wavelengths in micrometres
        (:func:`hsi.cube.check_nanometres`).
    SensorError
        Bad ratio/sigma, unknown sensor, an SRF band outside the cube's wavelength range, or
        no SRF band observed by the cube's bands.
    ShapeError
        When the cube is too small for the ratio or the PSF.
    ConfigError
        An unknown ``device`` name.
    DeviceError
        ``device`` asks for CUDA on a machine without it.
    """
    from hsi.device import pick_device

    cube = require_cube(cube, "simulate_pair: cube")
    r = check_ratio(ratio)
    sigma = r / 2.0 if psf_sigma is None else _check_sigma(psf_sigma)
    srf = load_srf(srf)
    if cube.wavelengths is None:
        raise WavelengthError(f"cube {cube.name!r} has no wavelengths: the SRF {srf.name!r} "
                              f"cannot be applied")
    check_nanometres(cube.wavelengths, f"cube {cube.name!r}")
    # "cube: SRF 'sentinel2': band(s) ... fall outside ..." names the cube (its file)
    ref = crop_to_ratio(cube, r)
    data = missing_as_nan(ref.data, ref.nodata)  # nodata: missing, not a value to blur
    if bands is None:
        bands = bands_with_data(ref.with_data(data, nodata=None), "simulated HR-MSI")
    measured = cube.wavelengths if bands is None else cube.wavelengths[bands]
    with naming(**({"cube": cube.name} if cube.name else {})):
        srf = srf.for_cube(measured)  # without the bands in a gap of its sampling
        matrix = srf.matrix(measured)
    _check_psf_fits(ref, sigma, r)
    dev = pick_device(device)
    x = torch.as_tensor(np.asarray(data, dtype=np.float32), device=dev)
    with torch.no_grad():
        lr = gaussian_blur_decimate(x, sigma, r)  # = wald_degradation(r, sigma)(x)
        seen = x if bands is None else x[torch.as_tensor(bands, device=dev)]
        hr = spectral_response(seen, torch.as_tensor(matrix, dtype=torch.float32, device=dev))
    lr_transform = ref.transform @ Affine.scale(r) if ref.transform is not None else None
    centres = srf.centres
    meta = {"ratio": r, "psf_sigma": sigma, "srf": srf.name, "source": cube.name}
    lr_cube = Cube(lr.cpu().numpy(), wavelengths=ref.wavelengths, fwhm=ref.fwhm, crs=ref.crs,
                   transform=lr_transform, nodata=None,
                   name=f"{cube.short_name}_lr_x{r}".lstrip("_"), metadata=dict(meta))
    hr_cube = Cube(hr.cpu().numpy(), wavelengths=centres, fwhm=srf.fwhm, crs=ref.crs,
                   transform=ref.transform,
                   nodata=None, name=f"{cube.short_name}_{srf.name}".lstrip("_"),
                   metadata={**meta, "band_names": list(srf.band_names),
                             **({"srf_dropped_bands": dict(srf.dropped)} if srf.dropped else {})})
    return lr_cube, hr_cube


#: Metadata keys read as the integer-to-reflectance divisor by :func:`reflectance_scale`.
_SCALE_KEYS = ("maxValue", "max_value", "reflectance_scale", "scale_factor",
               "reflectance_scale_factor")


#: Highest declared value (the ``percentile`` of :func:`reflectance_scale`) still read as
#: reflectance: surfaces brighter than a white reference (snow, glints) reach above 1; radiance
#: or counts declared in other units reach far above.
REFLECTANCE_HEADROOM = 1.5

#: Share of all-zero pixels above which a cube without a nodata value is said to have them.
ZERO_PIXELS_SAID = 0.005


def warn_if_zeros_undeclared(cube: Cube) -> float:
    """One warning line when ``cube`` declares no nodata value but has pixels that are 0 in
    every band (a swath's border or a mask exported without its nodata value): they are read
    as reflectance 0 and enter every statistic.

    Judged on the strided sample :func:`reflectance_scale` reads (a lazy cube) or on every
    pixel; said above :data:`ZERO_PIXELS_SAID` of them.

    Returns
    -------
    float
        The share of all-zero pixels (0 when the cube declares a nodata value).

    Raises
    ------
    CubeTypeError
        When ``cube`` is not a :class:`~hsi.cube.Cube`.
    """
    cube = require_cube(cube, "warn_if_zeros_undeclared: cube")
    if cube.nodata is not None:
        return 0.0
    data = spread_sample(cube.data) if cube.is_lazy else np.asarray(cube.data)
    share = float(np.mean(np.all(data.reshape(cube.bands, -1) == 0, axis=0)))
    if share > ZERO_PIXELS_SAID:
        log.warning("cube %r has no nodata value, and %.1f%% of its pixels are 0 in every band: "
                    "they are used as reflectance 0; if they are missing data, declare it "
                    "(e.g. gdal_edit.py -a_nodata 0 FILE)", cube.name, 100 * share)
    return share


def reflectance_scale(cube: Cube, percentile: float = 99.9) -> float:
    """The divisor that brings ``cube`` to reflectance-like values in about ``[0, 1]``.

    In order: a known maximum in ``cube.metadata`` (``maxValue``, ``reflectance_scale``,
    ``scale_factor``, or ENVI's ``reflectance scale factor`` read as
    ``reflectance_scale_factor``); 1 for float data already in ``[0, 1]`` (its ``percentile``
    ≤ 1); ``1 / scale`` when every band declares the same scale and no offset
    (``band_scales``: GDAL's band scale, ENVI's ``data gain values``) and the declared values
    read as reflectance (their ``percentile`` at most :data:`REFLECTANCE_HEADROOM`: bright
    snow or specular glints reach above 1; e.g. int16 reflectance × 10 000 tagged 1e-4 is
    divided by 10 000, not by its brightest pixel); else the ``percentile`` of the valid
    (finite, non-nodata) values, robust to a few hot pixels. A lazy cube is sampled with a
    stride (about 2·10⁶ values, all bands) in at most 16 of its chunks spread over the scene,
    read chunk by chunk: it is never loaded whole.

    Parameters
    ----------
    cube : Cube, shape (bands, H, W)
        Numpy or dask data, any numeric dtype.
    percentile : float
        Percentile used as the maximum.

    Returns
    -------
    float
        The divisor (``reflectance = data / scale``), positive and finite.

    Raises
    ------
    CubeTypeError
        When ``cube`` is not a :class:`~hsi.cube.Cube`.
    ConfigError
        When ``percentile`` is not a number in (0, 100].
    SensorError
        When the cube has no valid positive value to scale by.
    """
    cube = require_cube(cube, "reflectance_scale: cube")
    percentile = _check_percentile(percentile)
    _warn_unapplied_offsets(cube)
    known = _known_maximum(cube)
    if known is not None:
        return known
    sample = cube.data
    if cube.is_lazy:  # a strided subsample (~2e6 values, all bands) bounds memory and reads
        sample = spread_sample(sample)
    sample = np.asarray(sample, dtype=np.float64).reshape(-1)
    valid = np.isfinite(sample)
    if cube.nodata is not None:
        valid &= sample != cube.nodata
    sample = sample[valid]
    if sample.size == 0:
        raise SensorError(f"cube {cube.name!r} has no valid pixel to scale by")
    top = float(np.percentile(sample, percentile))
    if np.issubdtype(cube.dtype, np.floating) and 0 < top <= 1.0:
        return 1.0
    declared = _declared_divisor(cube)
    if declared is not None and 0 < top <= REFLECTANCE_HEADROOM * declared:
        return declared  # its declared values read as reflectance
    if top > 0:
        return top
    raise SensorError(f"cube {cube.name!r}: its {percentile:g}th percentile is {top:g}; "
                      f"cannot scale to reflectance")


def _check_percentile(percentile: float) -> float:
    """``percentile`` as a float in (0, 100] (:func:`reflectance_scale`'s maximum).

    Raises
    ------
    ConfigError
        Not a number, or outside (0, 100] (``99.9``, not ``0.999``, is the 99.9th).
    """
    from hsi.errors import ConfigError

    try:
        value = float(percentile)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(percentile, (bool, str)) or not 0 < value <= 100:
        raise ConfigError(f"percentile: expected a number in (0, 100], e.g. 99.9, got "
                          f"{percentile!r}")
    return value


def _band_scaling(cube: Cube) -> tuple[np.ndarray, np.ndarray] | None:
    """The per-band ``(scales, offsets)`` of ``cube.metadata`` that still describe its data
    (:func:`hsi.io.envi.band_metadata`), or ``None``."""
    from hsi.io.envi import band_metadata

    extra = band_metadata(cube)
    if "band_scales" not in extra:
        return None
    return (np.asarray(extra["band_scales"], np.float64),
            np.asarray(extra["band_offsets"], np.float64))


def declared_scale(cube: Cube) -> float | None:
    """The stored value that stands for reflectance 1, as ``cube``'s metadata declares it, or
    ``None``: a known maximum (``maxValue``, ``reflectance_scale``, ``scale_factor``, ENVI's
    ``reflectance scale factor``), else ``1 / scale`` when every band declares the same scale
    and no offset (GDAL's band scale, ENVI's ``data gain values``). The pixels are not read.

    Parameters
    ----------
    cube : Cube, shape (bands, H, W)

    Returns
    -------
    float or None
        E.g. 10 000 for int16 reflectance × 10 000 tagged with scale 1e-4.
    """
    cube = require_cube(cube, "declared_scale: cube")
    known = _known_maximum(cube)
    return known if known is not None else _declared_divisor(cube)


def _known_maximum(cube: Cube) -> float | None:
    """The first positive, finite value of :data:`_SCALE_KEYS` in ``cube.metadata``."""
    for key in _SCALE_KEYS:
        if key in cube.metadata:
            value = float(np.asarray(cube.metadata[key]).reshape(-1)[0])
            if value > 0 and math.isfinite(value):
                return value
    return None


def _declared_divisor(cube: Cube) -> float | None:
    """``1 / scale`` when every band of ``cube`` has the same declared scale and no offset
    (a product's integers, e.g. reflectance × 10 000 tagged with scale 1e-4), else ``None``."""
    scaling = _band_scaling(cube)
    if scaling is None or np.any(scaling[1]):
        return None
    scales = scaling[0]
    if not (np.all(scales == scales[0]) and 0 < scales[0] < 1):
        return None
    return float(1.0 / scales[0])


def _warn_unapplied_offsets(cube: Cube) -> None:
    """One warning line when ``cube`` has band offsets that a divisor cannot apply."""
    scaling = _band_scaling(cube)
    if scaling is None or not np.any(scaling[1]):
        return
    shown = ", ".join(f"{v:g}" for v in np.unique(scaling[1])[:3])
    log.warning("cube %r has band offsets (%s) that are not applied: its values are divided "
                "as stored; `hsi convert IN OUT --unscale` (hsi.degrade.unscale_bands) writes "
                "the scaled values first", cube.name, shown)


def unscale_bands(cube: Cube) -> Cube:
    """The cube's values after its band scales and offsets: ``stored × scale + offset``.

    The physical values a product's integers stand for (e.g. Landsat Collection 2 surface
    reflectance: ``DN × 2.75e-05 − 0.2``), as GDAL's ``gdal_translate -unscale`` gives them.
    Nodata pixels become NaN (the result's nodata); the scales and offsets leave the metadata.

    Parameters
    ----------
    cube : Cube, shape (bands, H, W)
        With ``band_scales`` / ``band_offsets`` in its metadata (read from GDAL's band
        scale/offset or ENVI's ``data gain values`` / ``data offset values``); a cube without
        them is returned as it is.

    Returns
    -------
    Cube
        float32 (lazy stays lazy), nodata NaN; ``cube`` itself when it has no band scales.

    Raises
    ------
    CubeTypeError
        When ``cube`` is not a :class:`~hsi.cube.Cube`.
    """
    cube = require_cube(cube, "unscale_bands: cube")
    scaling = _band_scaling(cube)
    if scaling is None:
        return cube
    scales, offsets = (v.astype(np.float32)[:, None, None] for v in scaling)
    data = cube.data.astype(np.float32) * scales + offsets
    if cube.nodata is not None and not (isinstance(cube.nodata, float)
                                        and math.isnan(cube.nodata)):
        where = cube.data == cube.nodata
        nan = np.float32("nan")
        data = _dask_where(where, nan, data) if cube.is_lazy else np.where(where, nan, data)
    out = cube.with_data(data, nodata=float("nan"))
    out.metadata.pop("band_scales", None)
    out.metadata.pop("band_offsets", None)
    return out


def normalize_reflectance(cube: Cube, percentile: float = 99.9) -> tuple[Cube, float]:
    """Scale a cube to reflectance-like values in about ``[0, 1]``.

    Divides by :func:`reflectance_scale`. Nodata pixels keep their value. The result's
    metadata no longer holds the divisors :func:`reflectance_scale` reads (it is reflectance
    now: normalising it again divides by 1) and records the one applied as
    ``reflectance_scale_applied``.

    Parameters
    ----------
    cube : Cube, shape (bands, H, W)
    percentile : float
        Percentile used as the maximum.

    Returns
    -------
    cube : Cube, float32 (lazy stays lazy)
    scale : float
        The divisor (``reflectance = data / scale``).

    Raises
    ------
    CubeTypeError
        When ``cube`` is not a :class:`~hsi.cube.Cube`.
    ConfigError
        When ``percentile`` is not a number in (0, 100].
    SensorError
        When the cube has no valid positive value to scale by.
    """
    cube = require_cube(cube, "normalize_reflectance: cube")
    scale = reflectance_scale(cube, percentile)
    data = cube.data.astype(np.float32) / np.float32(scale)
    if cube.nodata is not None:
        nodata = np.float32(cube.nodata)
        where = cube.data == cube.nodata
        if cube.is_lazy:
            data = _dask_where(where, nodata, data)
        else:
            data = np.where(where, nodata, data)
    out = cube.with_data(data)
    for key in _SCALE_KEYS:
        out.metadata.pop(key, None)
    out.metadata["reflectance_scale_applied"] = scale
    return out, scale


def _dask_where(cond: da.Array | np.ndarray, value: float | np.floating,
                data: da.Array) -> da.Array:
    import dask.array as da

    return da.where(cond, value, data).astype(np.float32)
