"""Per-band noise level of a cube, estimated from the cube alone.

Two estimators, each an upper bound (signal that neither explains leaks into it), and
:func:`band_noise_sigma` takes the smaller of the two per band:

- **spectral regression** (HySime, Bioucas-Dias & Nascimento 2008): each band regressed on all
  the others; the residual is noise where the spectra are redundant (hyperspectral cubes);
- **spatial wavelet** (Donoho's MAD): the median absolute Haar diagonal detail / 0.6745,
  good where the image is smooth at the pixel scale and the bands are few (an RGB camera).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> clean = np.repeat(np.linspace(0, 1, 64)[None, :, None], 64, axis=2) * np.ones((8, 1, 1))
>>> sigma = band_noise_sigma(clean + 0.01 * rng.standard_normal(clean.shape))
>>> bool(np.allclose(sigma, 0.01, rtol=0.1))
True
"""

from __future__ import annotations

import numpy as np

from hsi.errors import ShapeError

__all__ = ["band_noise_sigma", "regression_noise_sigma", "wavelet_noise_sigma"]

#: Pixels drawn (evenly) for the regression estimate; enough for a 1 % error on σ.
MAX_PIXELS = 200_000


def _as_cube(x) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 3:
        raise ShapeError(f"expected a (bands, H, W) array, got shape {a.shape}",
                         actual_shape=a.shape, expected_shape=("bands", "H", "W"))
    return a


def regression_noise_sigma(x) -> np.ndarray:
    """Noise σ per band from regressing each band on the others (HySime).

    Parameters
    ----------
    x : array, shape (bands, H, W)

    Returns
    -------
    numpy.ndarray, shape (bands,)
        The residual standard deviation of each band's least-squares fit (with intercept) on the
        other bands, in the units of ``x``. For a single band: its standard deviation.
    """
    a = _as_cube(x)
    pixels = a.reshape(a.shape[0], -1)
    step = max(1, pixels.shape[1] // MAX_PIXELS)
    p = pixels[:, ::step]
    p = p[:, np.all(np.isfinite(p), axis=0)]
    p = p - p.mean(axis=1, keepdims=True)
    cov = p @ p.T / max(p.shape[1], 1)
    # residual variance of band i regressed on the others = 1 / (cov^-1)_ii
    precision = np.linalg.pinv(cov, hermitian=True)
    return np.sqrt(1.0 / np.maximum(np.diag(precision), 1e-300))


def wavelet_noise_sigma(x) -> np.ndarray:
    """Noise σ per band from the median absolute Haar diagonal detail (Donoho's MAD / 0.6745).

    Parameters
    ----------
    x : array, shape (bands, H, W)
        ``H`` and ``W`` at least 2.

    Returns
    -------
    numpy.ndarray, shape (bands,)
    """
    a = _as_cube(x)
    h, w = (a.shape[1] // 2) * 2, (a.shape[2] // 2) * 2
    if h < 2 or w < 2:
        raise ShapeError(f"wavelet noise estimate needs at least 2×2 pixels, got {a.shape[1:]}",
                         actual_shape=a.shape, expected_shape=("bands", ">=2", ">=2"))
    a = a[:, :h, :w]
    detail = (a[:, 0::2, 0::2] - a[:, 0::2, 1::2] - a[:, 1::2, 0::2] + a[:, 1::2, 1::2]) / 2.0
    return np.nanmedian(np.abs(detail.reshape(a.shape[0], -1)), axis=1) / 0.6745


def band_noise_sigma(x) -> np.ndarray:
    """Noise σ per band: the smaller of the regression and the wavelet estimates.

    Parameters
    ----------
    x : array, shape (bands, H, W)

    Returns
    -------
    numpy.ndarray, shape (bands,), float64
        In the units of ``x`` (reflectance for a normalised cube).
    """
    a = _as_cube(x)
    return np.minimum(regression_noise_sigma(a), wavelet_noise_sigma(a))
