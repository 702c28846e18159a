"""Quality of a fused or restored cube against its reference (Wald's protocol metrics).

Every function takes ``(bands, H, W)`` arrays, numpy or torch (any device; converted to float64
numpy so both give the same numbers), **reference first**, and returns a Python float:

- :func:`psnr` (dB, per band then averaged), :func:`ssim` (per band then averaged),
- :func:`sam` (mean spectral angle in **degrees**), :func:`ergas`, :func:`q2n`, :func:`rmse`,
- :func:`fusion_metrics` bundling the five fusion scores.

Conventions (checked against transcriptions of the published formulas in
``tests/test_metrics_reference.py``): PSNR is the **mean of the per-band PSNRs** with a fixed
``peak`` (the data range, 1 for reflectance), not a global PSNR over the whole cube (that is
lower, e.g. 38.6 against 44.3 dB for a ×4 bicubic upsampling of the Salinas-A sample) nor a
per-band peak; SSIM is Wang et al.'s 11×11 Gaussian window with ``data_range = peak``; SAM the
mean angle over pixels; ERGAS uses ``100 / ratio`` (Wald's ``100 · h/l``); Q2n follows the
pansharpening toolbox's ``q2n.m`` with 32×32 non-overlapping blocks. Every pixel is scored:
evaluation codes that leave a border out (``ignore_edges`` of Yokoya's
``quality_assessment.m``, ``flag_cut_bounds``/``dim_cut`` of the toolbox) are reproduced by
cropping both images first.

A pixel that is not finite in some band of either image (a fusion writes NaN where it had no
data) is left out: of the means (RMSE, PSNR, SAM, ERGAS), of SSIM's map with every pixel whose
11×11 window holds one, of Q2n with every block that holds one. NaN when nothing is left.

>>> import numpy as np
>>> ref = np.ones((3, 8, 8)); est = 2 * ref
>>> round(sam(ref, est), 6)   # scaled spectra have the same direction
0.0
"""

from __future__ import annotations

import math

import numpy as np

from hsi.check import check_shape, positive_number
from hsi.errors import ArgumentTypeError, ConfigError, SensorError, ShapeError

__all__ = ["ergas", "fusion_metrics", "psnr", "q2n", "rmse", "sam", "scale_problem", "ssim"]


def _as_float64(x, name: str = "input") -> np.ndarray:
    """Return ``x`` (a Cube, numpy, torch or array-like) as a float64 numpy array.

    Raises
    ------
    ArgumentTypeError
        ``x`` is not numeric (named ``name``).
    """
    from hsi.cube import Cube

    if isinstance(x, Cube):
        x = x.data
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor without importing torch
        x = x.detach().cpu().double().numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name}: expected a numeric array of shape (bands, H, W), got "
                        f"{type(x).__name__}") from None


def _pair(ref, est) -> tuple[np.ndarray, np.ndarray]:
    ref = _as_float64(ref, "reference")
    est = _as_float64(est, "estimate")
    check_shape(ref, ["bands", "H", "W"], name="reference")
    check_shape(est, ["bands", "H", "W"], name="estimate")
    if ref.shape != est.shape:
        raise ShapeError(f"reference and estimate must have the same shape (bands, H, W), got "
                         f"{ref.shape} and {est.shape}", actual_shape=est.shape,
                         expected_shape=ref.shape)
    return ref, est


def _check_peak(peak) -> float:
    """``peak`` as a float after checking it is a positive finite number."""
    return positive_number(peak, ConfigError, "peak (the data range) must be a positive number")


def _valid(ref: np.ndarray, est: np.ndarray) -> np.ndarray | None:
    """``(H, W)`` mask of the pixels finite in every band of both images, or ``None`` when all
    are (a fused image is NaN where it had no data: such pixels are left out of the scores)."""
    if np.isfinite(ref.sum()) and np.isfinite(est.sum()):
        return None
    return np.isfinite(ref).all(0) & np.isfinite(est).all(0)


def rmse(ref, est) -> float:
    """Root mean square error over all bands and pixels (data units).

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)

    Raises
    ------
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ.
    """
    ref, est = _pair(ref, est)
    valid = _valid(ref, est)
    if valid is not None:
        ref, est = ref[:, valid][:, :, None], est[:, valid][:, :, None]
    return float(np.sqrt(np.mean((ref - est) ** 2))) if ref.size else float("nan")


def psnr(ref, est, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB, computed per band and averaged over bands.

    ``PSNR = mean_b 10 log10(peak² / MSE_b)``: the convention of the hyperspectral fusion
    (MHIF) papers, with one fixed ``peak`` for every band. It is not the global
    ``10 log10(peak² / MSE)`` over the whole cube (several dB lower on real data), nor the
    per-band ``max(ref_b)`` some codes use as the peak. For the "peak = max of the reference"
    convention pass ``peak=float(ref.max())``. A band with zero error gives ``inf`` (so does
    the mean).

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)
    peak : float
        Maximum possible value, the data range (1 for reflectance in [0, 1]); > 0.

    Raises
    ------
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ.
    ConfigError
        When ``peak`` is not a positive finite number.
    """
    peak = _check_peak(peak)
    ref, est = _pair(ref, est)
    valid = _valid(ref, est)
    if valid is not None:
        if not valid.any():
            return float("nan")
        ref, est = ref[:, valid][:, :, None], est[:, valid][:, :, None]
    mse = np.mean((ref - est) ** 2, axis=(1, 2))
    with np.errstate(divide="ignore"):
        per_band = 10.0 * np.log10(float(peak) ** 2 / mse)
    return float(np.mean(per_band))


def ssim(ref, est, peak: float = 1.0) -> float:
    """Structural similarity, computed per band and averaged over bands.

    The setting of Wang et al. (2004): 11×11 Gaussian window of σ = 1.5, K1 = 0.01, K2 = 0.03,
    population covariances (``skimage.metrics.structural_similarity`` with
    ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=peak``); each
    band's score is the mean of its SSIM map over the pixels whose whole window lies inside
    the image (the 5-pixel border left out, as ``ssim_index.m``'s 'valid' filtering). The data
    range is the fixed ``peak``, not each band's ``max − min``; the automatic downsampling of
    Wang's 2009 ``ssim.m`` (by ``round(min(H, W) / 256)``) is not applied.

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)
        H and W must be at least 11.
    peak : float
        Data range (1 for reflectance); > 0.

    Raises
    ------
    ShapeError
        When the shapes differ or the images are smaller than the 11×11 window.
    ConfigError
        When ``peak`` is not a positive finite number.
    """
    from skimage.metrics import structural_similarity

    peak = _check_peak(peak)
    ref, est = _pair(ref, est)
    if min(ref.shape[1:]) < 11:
        raise ShapeError(f"ssim needs images of at least 11×11 pixels, got "
                         f"{ref.shape[1]}×{ref.shape[2]}", actual_shape=ref.shape,
                         expected_shape=("bands", ">=11", ">=11"))
    valid = _valid(ref, est)
    if valid is None:
        values = [structural_similarity(r, e, data_range=float(peak), gaussian_weights=True,
                                        sigma=1.5, use_sample_covariance=False)
                  for r, e in zip(ref, est, strict=True)]
        return float(np.mean(values))
    # missing pixels: the mean of the SSIM map over the pixels whose 11×11 window holds none
    # (skimage's own mean leaves the 5-pixel border out the same way)
    from scipy.ndimage import binary_dilation

    counted = ~binary_dilation(~valid, structure=np.ones((11, 11), bool))
    counted[:5], counted[-5:], counted[:, :5], counted[:, -5:] = False, False, False, False
    if not counted.any():
        return float("nan")
    # 0 for a missing value (not nan_to_num's ±1.8e308 for ±inf, which overflows the filters):
    # any pixel whose window reads it is left out above
    ref = np.where(np.isfinite(ref), ref, 0.0)
    est = np.where(np.isfinite(est), est, 0.0)
    maps = [structural_similarity(r, e, data_range=float(peak), gaussian_weights=True,
                                  sigma=1.5, use_sample_covariance=False, full=True)[1]
            for r, e in zip(ref, est, strict=True)]
    return float(np.mean([m[counted].mean() for m in maps]))


def sam(ref, est) -> float:
    """Mean spectral angle mapper in degrees.

    The angle between the reference and estimated spectrum of each pixel, averaged over the
    pixels where both spectra have a non-zero norm (others are skipped, as ``SAM.m`` of the
    pansharpening toolbox does) and are finite in every band. Computed as
    ``2·atan2(‖â − ê‖, ‖â + ê‖)`` on unit vectors, equal to ``arccos(⟨a, b⟩ / (‖a‖ ‖b‖))`` and
    accurate near 0° and 180°.

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)

    Returns
    -------
    float
        Degrees in [0, 180]; NaN when no pixel has two non-zero spectra.

    Raises
    ------
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ.
    """
    ref, est = _pair(ref, est)
    a = ref.reshape(ref.shape[0], -1)
    b = est.reshape(est.shape[0], -1)
    finite = _valid(ref, est)
    if finite is not None:  # a pixel with ±inf would give inf / inf: left out like NaN
        finite = finite.reshape(-1)
        a = np.where(finite, a, 0.0)
        b = np.where(finite, b, 0.0)
    na = np.linalg.norm(a, axis=0)
    nb = np.linalg.norm(b, axis=0)
    valid = (na > 0) & (nb > 0)
    if not np.any(valid):
        return float("nan")
    ua = a[:, valid] / na[valid]
    ub = b[:, valid] / nb[valid]
    angle = 2.0 * np.arctan2(np.linalg.norm(ua - ub, axis=0), np.linalg.norm(ua + ub, axis=0))
    return float(np.degrees(np.mean(angle)))


def ergas(ref, est, ratio: float) -> float:
    """Erreur relative globale adimensionnelle de synthèse (Wald, 2002).

    ``ERGAS = 100 / ratio · sqrt(mean_b(RMSE_b² / μ_b²))`` with ``μ_b`` the mean of reference
    band ``b``; 0 is perfect. ``ratio`` is the LR pixel size over the HR one (4 for a ×4
    pair), so ``100 / ratio`` is Wald's ``100 · h/l`` (``ERGAS.m`` of the pansharpening
    toolbox); codes that multiply by the ratio, or pass ``h/l`` itself, give ``ratio²`` times
    these values. A band with zero reference mean makes it ``inf`` (0 when its error is 0 too).

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)
    ratio : float
        Resolution ratio between the low- and high-resolution images (e.g. 4), > 0.

    Raises
    ------
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ.
    SensorError
        When ``ratio`` is not a positive number.
    """
    ref, est = _pair(ref, est)
    try:
        r = float(ratio)
    except (TypeError, ValueError):
        raise SensorError(f"ergas ratio must be a positive number, got {ratio!r}") from None
    if not (math.isfinite(r) and r > 0):
        raise SensorError(f"ergas ratio must be a positive number, got {ratio!r}")
    valid = _valid(ref, est)
    if valid is not None:
        if not valid.any():
            return float("nan")
        ref, est = ref[:, valid][:, :, None], est[:, valid][:, :, None]
    mse = np.mean((ref - est) ** 2, axis=(1, 2))
    mu2 = np.mean(ref, axis=(1, 2)) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(mse == 0, 0.0, mse / mu2)
    return float(100.0 / r * np.sqrt(np.mean(terms)))


# ========================================================================================= Q2^n
_TABLES: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _product_table(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Multiplication table of the 2^k-component hypercomplex algebra used by Q2^n.

    ``e_i · e_j = sign[i, j] · e_{index[i, j]}``. The algebra is built by doubling
    (Cayley–Dickson) with the product of the pansharpening toolbox's ``onion_mult`` (Vivone et
    al.): ``(a, b)(c, d) = (a c − d̄ b, ā d̄ + c b̄)``, the conjugate negating every component but
    the first. n = 2 gives the complex numbers, n = 4 quaternions.
    """
    if n not in _TABLES:
        if n == 1:
            _TABLES[1] = (np.ones((1, 1)), np.zeros((1, 1), dtype=np.intp))
        else:
            half = n // 2
            s_h, i_h = _product_table(half)
            c = np.ones(half)
            c[1:] = -1.0  # conj(e_k) = c[k] e_k
            sign = np.empty((n, n))
            index = np.empty((n, n), dtype=np.intp)
            lo, hi = slice(0, half), slice(half, n)
            # (e_i, 0)(e_j, 0) = (e_i e_j, 0)
            sign[lo, lo], index[lo, lo] = s_h, i_h
            # (e_i, 0)(0, e_j) = (0, conj(e_i) conj(e_j))
            sign[lo, hi] = c[:, None] * c[None, :] * s_h
            index[lo, hi] = half + i_h
            # (0, e_i)(e_j, 0) = (0, e_j conj(e_i))
            sign[hi, lo] = s_h.T * c[:, None]
            index[hi, lo] = half + i_h.T
            # (0, e_i)(0, e_j) = (−conj(e_j) e_i, 0)
            sign[hi, hi] = -(s_h.T * c[None, :])
            index[hi, hi] = i_h.T
            _TABLES[n] = (sign, index)
    return _TABLES[n]


def _hypercomplex_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Product of hypercomplex numbers with components on the first axis, shape (n, ...)."""
    n = a.shape[0]
    sign, index = _product_table(n)
    out = np.zeros(np.broadcast_shapes(a.shape, b.shape))
    for i in range(n):
        for j in range(n):
            out[index[i, j]] += sign[i, j] * a[i] * b[j]
    return out


def _q_block(z: np.ndarray, v: np.ndarray) -> float:
    """Q2^n of one block: z, v shape (n, P) with n a power of 2 (hypercomplex pixels)."""
    n, p = z.shape
    conj = np.ones((n, 1))
    conj[1:] = -1.0
    # Block normalisation of the toolbox (norm_blocco): each band by the reference's mean and
    # sample std, applied to both images (a band of zero reference mean is only shifted in the
    # estimate, as in onions_quality.m). Then the estimate is conjugated: v̄.
    mu = z.mean(axis=1, keepdims=True)
    sd = z.std(axis=1, ddof=1, keepdims=True)
    sd = np.where(sd == 0, np.finfo(np.float64).eps, sd)
    z = (z - mu) / sd + 1.0
    v = ((v - mu) / np.where(mu == 0, 1.0, sd) + 1.0) * conj
    m1 = z.mean(axis=1)
    m2 = v.mean(axis=1)
    k = p / (p - 1.0)
    mod_m1_sq = float(np.sum(m1 ** 2))
    mod_m2_sq = float(np.sum(m2 ** 2))
    mean_bias = 2.0 * math.sqrt(mod_m1_sq * mod_m2_sq) / (mod_m1_sq + mod_m2_sq)
    var_sum = k * (np.mean(np.sum(z ** 2, axis=0)) + np.mean(np.sum(v ** 2, axis=0))) \
        - k * (mod_m1_sq + mod_m2_sq)
    if var_sum == 0:
        return abs(mean_bias)
    sign, index = _product_table(n)
    cross = (z @ v.T) / p  # E[z_i v̄_j], (n, n)
    qv = np.zeros(n)
    np.add.at(qv, index.ravel(), (sign * cross).ravel())
    qm = np.zeros(n)
    np.add.at(qm, index.ravel(), (sign * np.outer(m1, m2)).ravel())
    q = k * (qv - qm) * mean_bias * 2.0 / var_sum
    return float(np.linalg.norm(q))


def q2n(ref, est, block: int = 32) -> float:
    """Q2^n index of Garzelli & Nencini (2009), the hypercomplex extension of Q4 / UIQI.

    Each pixel's spectrum is a hypercomplex number of 2^k components (bands zero-padded to the
    next power of two). On each non-overlapping ``block × block`` window,
    ``Q = |σ_zv| / (σ_z σ_v) · 2 σ_z σ_v / (σ_z² + σ_v²) · 2 |μ_z| |μ_v| / (|μ_z|² + |μ_v|²)``
    with hypercomplex means, variances and covariance ``σ_zv = E[(z − μ_z)(v − μ_v)*]``; the
    index is the mean over blocks. Follows ``q2n.m``/``onions_quality.m`` of the pansharpening
    toolbox (Vivone et al.) called as in its ``indexes_evaluation.m``, with the shift equal to
    the block size (non-overlapping blocks): per-block band normalisation by the reference's
    mean and sample std, its product convention, and the image padded by mirroring (edge
    sample repeated) to whole blocks. The toolbox also casts both images to uint16 first
    (meant for digital numbers; reflectance in [0, 1] would round to 0 or 1): not done here.
    Matches a transcription of the toolbox to 1e-12 on real data
    (``tests/test_metrics_reference.py``).

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)
    block : int
        Block size in pixels (32 as in the literature); at least 2.

    Returns
    -------
    float
        In [0, 1], 1 for identical images.

    Raises
    ------
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ, or ``block`` < 2.
    """
    ref, est = _pair(ref, est)
    block = int(block)
    if block < 2:
        raise ShapeError(f"q2n block must be at least 2 pixels, got {block}")
    bands, h, w = ref.shape
    ny, nx = math.ceil(h / block), math.ceil(w / block)
    pad = ((0, 0), (0, ny * block - h), (0, nx * block - w))
    if pad[1][1] or pad[2][1]:
        ref = np.pad(ref, pad, mode="symmetric")
        est = np.pad(est, pad, mode="symmetric")
    n = 1 << max(0, math.ceil(math.log2(bands)))
    if n > bands:
        zeros = ((0, n - bands), (0, 0), (0, 0))
        ref = np.pad(ref, zeros)
        est = np.pad(est, zeros)
    valid = _valid(ref, est)
    values = []
    for by in range(ny):
        for bx in range(nx):
            win = (slice(None), slice(by * block, (by + 1) * block),
                   slice(bx * block, (bx + 1) * block))
            if valid is not None and not valid[win[1:]].all():
                continue  # a block with missing pixels is left out
            values.append(_q_block(ref[win].reshape(n, -1), est[win].reshape(n, -1)))
    return float(np.mean(values)) if values else float("nan")


def fusion_metrics(ref, est, ratio: float, peak: float = 1.0) -> dict[str, float]:
    """The usual fusion scores of an estimate against its reference.

    Parameters
    ----------
    ref, est : array-like or torch.Tensor, shape (bands, H, W)
    ratio : float
        Resolution ratio (for ERGAS).
    peak : float
        Data range for PSNR and SSIM.

    Returns
    -------
    dict
        ``{"psnr": dB, "ssim": ..., "sam": degrees, "ergas": ..., "q2n": ...}``.

    Raises
    ------
    ShapeError
        When the shapes are not ``(bands, H, W)`` or differ.
    """
    ref, est = _pair(ref, est)
    return {
        "psnr": psnr(ref, est, peak=peak),
        "ssim": ssim(ref, est, peak=peak),
        "sam": sam(ref, est),
        "ergas": ergas(ref, est, ratio),
        "q2n": q2n(ref, est),
    }


def scale_problem(ref, est, peak: float = 1.0) -> str | None:
    """Why PSNR and SSIM at ``peak`` would mislead for this pair, or ``None`` when they fit.

    Two cases: the images are not on one scale (their mean absolute values differ more than
    tenfold, e.g. digital numbers scored against reflectance), or the reference reaches well
    above ``peak`` (its 99.9th percentile over 1.5 × ``peak``, e.g. reflectance stored × 10 000
    scored with a peak of 1). Pixels with no data (NaN) are left out.

    Parameters
    ----------
    ref, est : array-like, shape (bands, H, W)
    peak : float
        The data range PSNR and SSIM assume.

    Returns
    -------
    str or None
        One sentence, e.g. ``"the estimate's values are 9,862× the reference's: the two are
        not on one scale"``.
    """
    ref, est = _pair(ref, est)
    a, b = np.abs(ref[np.isfinite(ref)]), np.abs(est[np.isfinite(est)])
    if not a.size or not b.size:
        return None
    ma, mb = float(a.mean()), float(b.mean())
    if ma > 0 and mb > 0 and not 0.1 <= mb / ma <= 10.0:
        times = f"{mb / ma:,.0f}" if mb > ma else f"{mb / ma:.2g}"
        return f"the estimate's values are {times}× the reference's: the two are not on one scale"
    top = float(np.percentile(a, 99.9))
    if top > 1.5 * peak:
        return (f"the reference reaches {top:.4g} (99.9th percentile), above the peak "
                f"{peak:g} that PSNR and SSIM assume")
    return None
