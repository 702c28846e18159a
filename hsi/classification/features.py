"""Per-pixel features: scene PCA of the spectra and spectral-spatial patches around pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from hsi.errors import ConfigError, DataError, ShapeError

if TYPE_CHECKING:
    import torch
    from numpy.typing import ArrayLike


#: Features patches are cut from: numpy or torch (the patches are of the same type).
_Features = TypeVar("_Features", np.ndarray, "torch.Tensor")

#: PCA is fitted on at most this many valid pixels (a seeded random subset beyond).
PCA_MAX_PIXELS = 100_000


@dataclass
class PcaTransform:
    """A PCA of the spectra with "half-whitened" scores (see :func:`fit_pca`).

    Parameters
    ----------
    mean : numpy.ndarray, shape (bands,)
        Mean spectrum of the pixels it was fitted on (cube units, e.g. reflectance; unit-norm
        spectra when ``unit_norm``).
    components : numpy.ndarray, shape (n_components, bands)
        Orthonormal principal axes, strongest first.
    scale : numpy.ndarray, shape (n_components,)
        Divisor of each component's scores, ``sqrt(std_i * std_0)``: the first component
        gets unit variance, component ``i`` a standard deviation of ``sqrt(std_i / std_0)``.
    unit_norm : bool
        Each spectrum is divided by its Euclidean norm before the projection (its shape is
        kept, its brightness removed: shading, slope and illumination change the norm).
    brightness : numpy.ndarray, shape (2,), optional
        Centre and spread of ``log(norm)`` on the fitted scene (median, interquartile range /
        1.349): when given, the standardised log-norm of each spectrum (clipped to ±10) is one
        more channel after the scores.
    """

    mean: np.ndarray
    components: np.ndarray
    scale: np.ndarray
    unit_norm: bool = False
    brightness: np.ndarray | None = None

    @property
    def bands(self) -> int:
        return int(self.components.shape[1])

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    @property
    def channels(self) -> int:
        """Feature channels of :meth:`transform`: the scores and the brightness, if any."""
        return self.n_components + (self.brightness is not None)

    def brightness_ratio(self, spectra: np.ndarray) -> float | None:
        """How many times as bright ``spectra`` are as the fitted scene's, by median norm.

        ``None`` when the features do not depend on brightness (unit spectra without the
        brightness channel) or no spectrum has data. The reference is the fitted scene's
        median norm (:attr:`brightness`), or the norm of its mean spectrum for raw spectra.

        Parameters
        ----------
        spectra : numpy.ndarray, shape (bands, N)
            A sample of the pixels to classify; NaN and all-zero ones are left out.
        """
        if self.unit_norm and self.brightness is None:
            return None
        norms = spectra_norms(np.asarray(spectra, dtype=np.float64))
        norms = norms[np.isfinite(norms) & (norms > 1e-12)]  # no data, all-zero: left out
        if not norms.size:
            return None
        reference = (self.brightness[0] if self.brightness is not None
                     else np.log(max(float(np.linalg.norm(self.mean)), 1e-30)))
        return float(np.exp(np.median(np.log(norms)) - reference))

    def transform(self, data: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """Project a cube onto the components.

        Parameters
        ----------
        data : numpy.ndarray, shape (bands, H, W)
        valid : numpy.ndarray of bool, shape (H, W), optional
            Invalid pixels get 0 (the scene mean) in every channel.

        Returns
        -------
        numpy.ndarray, float32, shape (channels, H, W)
            Scaled scores (the first component has unit variance on the fitted scene), then
            the standardised log-brightness when ``brightness`` is set.
        """
        data = np.asarray(data)
        if data.ndim != 3 or data.shape[0] != self.bands:
            raise ShapeError(
                f"cube: expected ({self.bands}, H, W) for this PCA, got {tuple(data.shape)}",
                actual_shape=tuple(data.shape), expected_shape=(self.bands, "H", "W"),
            )
        _, h, w = data.shape
        # float64 work in place: one copy of the spectra and one (channels, N) array, not
        # a temporary per operation (a 574² tile of 13 bands: ~0.2 GB of temporaries before)
        x = np.array(data.reshape(self.bands, -1), dtype=np.float64)
        norm = None
        if self.unit_norm:
            norm = spectra_norms(x)
            x /= norm
        out = np.empty((self.channels, h * w), dtype=np.float64)
        scores = out[:self.n_components]
        np.matmul(self.components, x, out=scores)  # components @ (x - mean), no centred copy
        del x
        scores -= (self.components @ self.mean)[:, None]
        scores /= self.scale[:, None]
        invalid = None if valid is None or valid.all() else ~valid.reshape(-1)
        if invalid is not None:
            scores[:, invalid] = 0.0  # the scene mean, whatever the pixel holds
        if self.brightness is not None:
            level = out[self.n_components]
            np.log(norm, out=level)
            level -= self.brightness[0]
            level /= self.brightness[1]
            np.clip(level, -10, 10, out=level)
            if invalid is not None:
                level[invalid] = 0.0
        np.nan_to_num(out, copy=False)
        return out.astype(np.float32).reshape(self.channels, h, w)


def unit_spectra(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spectra divided by their Euclidean norm, and the norms.

    Parameters
    ----------
    x : numpy.ndarray, shape (bands, N)

    Returns
    -------
    unit : numpy.ndarray, float64, shape (bands, N)
        ``x / norm``; an all-zero spectrum stays zero.
    norm : numpy.ndarray, float64, shape (N,)
        Clipped below at 1e-12 (a finite logarithm).
    """
    x = np.asarray(x, dtype=np.float64)
    norm = spectra_norms(x)
    return x / norm, norm


def spectra_norms(x: np.ndarray) -> np.ndarray:
    """Euclidean norms of spectra ``x`` (bands, N), float64, clipped below at 1e-12 (shape (N,))."""
    return np.maximum(np.sqrt(np.einsum("bn,bn->n", x, x, dtype=np.float64)), 1e-12)


def fit_pca(data: np.ndarray, n_components: int, valid: np.ndarray | None = None,
            seed: int = 0, *, unit_norm: bool = False, brightness: bool = False
            ) -> PcaTransform:
    """Fit a :class:`PcaTransform` on the valid pixels of a scene.

    Parameters
    ----------
    data : numpy.ndarray, shape (bands, H, W)
    n_components : int
        Kept components (at most ``bands``).
    valid : numpy.ndarray of bool, shape (H, W), optional
    seed : int
        Seeds the subset of pixels used when there are more than ``PCA_MAX_PIXELS``.
    unit_norm : bool
        Fit on the spectra divided by their Euclidean norm (see :class:`PcaTransform`).
    brightness : bool
        With ``unit_norm``: add the standardised log-norm as one more channel.

    Raises
    ------
    DataError
        With fewer valid pixels than components.
    ConfigError
        ``brightness`` without ``unit_norm``.
    """
    if brightness and not unit_norm:
        raise ConfigError("brightness: a brightness channel needs unit_norm=True")
    data = np.asarray(data)
    bands = data.shape[0]
    n_components = min(int(n_components), bands)
    x = data.reshape(bands, -1).T
    if valid is not None:
        x = x[valid.reshape(-1)]
    if x.shape[0] <= n_components:
        raise DataError(
            f"cube: PCA needs more than {n_components} valid pixels, got {x.shape[0]}"
        )
    if x.shape[0] > PCA_MAX_PIXELS:
        pick = np.random.default_rng(seed).choice(x.shape[0], PCA_MAX_PIXELS, replace=False)
        x = x[np.sort(pick)]
    x = x.astype(np.float64)
    level = None
    if unit_norm:
        unit, norm = unit_spectra(x.T)
        x = unit.T
        if brightness:
            # median and interquartile spread: a few black (all-zero) pixels do not move them
            q1, med, q3 = np.percentile(np.log(norm), [25, 50, 75])
            level = np.array([med, max((q3 - q1) / 1.349, 1e-6)])
    mean, components, variance = principal_axes(x, n_components)
    # a deterministic sign: the largest loading of each axis is positive
    signs = np.sign(components[np.arange(n_components), np.abs(components).argmax(axis=1)])
    components *= signs[:, None]
    # "half whitening": component i is divided by sqrt(std_i * std_0), so the first has unit
    # variance and weak components are lifted (std_i / std_0)^(1/2) of the way: full
    # standardisation blows weak, noisy components up to the signal's strength (an SVM on
    # Jasper Ridge loses ~7 OA points with 10 standardised components), no scaling leaves the
    # subtle class differences in components 3-10 too small for the network to fit quickly
    std = np.sqrt(np.maximum(variance, 1e-12))
    scale = np.sqrt(std * std[0])
    return PcaTransform(mean=mean, components=components, scale=scale, unit_norm=unit_norm,
                        brightness=level)


def principal_axes(x: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, leading principal axes and their variances of samples ``x`` ``(N, bands)``.

    From the eigen-decomposition of the ``(bands, bands)`` covariance: the ``N × bands``
    product runs in BLAS, which releases the GIL (an SVD of ``x`` held it for seconds and froze
    napari while a clustering or classification job ran in a worker thread), and it is faster
    for ``N ≫ bands``. Same axes as ``sklearn.decomposition.PCA`` up to sign.

    Returns
    -------
    mean : (bands,)
    components : (n_components, bands), rows orthonormal, by decreasing variance
    variance : (n_components,), unbiased (``N - 1``)
    """
    mean = x.mean(axis=0)
    centred = x - mean
    covariance = (centred.T @ centred) / max(x.shape[0] - 1, 1)
    values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1][:n_components]
    return mean, np.ascontiguousarray(vectors[:, order].T), values[order]


def pad_features(features: np.ndarray, radius: int) -> np.ndarray:
    """Reflect-pad ``(C, H, W)`` features by ``radius`` on each side (for windows at borders).

    Scenes narrower than the radius are padded by repeated reflection (``symmetric`` once the
    image is a single pixel wide).
    """
    mode = "reflect" if min(features.shape[1:]) > radius else "symmetric"
    if min(features.shape[1:]) == 1:
        mode = "edge"
    return np.pad(features, ((0, 0), (radius, radius), (radius, radius)), mode=mode)


def window_offsets(patch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets of a ``patch_size`` window from its top-left corner."""
    d = np.arange(patch_size)
    return d[:, None], d[None, :]


def extract_patches(padded: _Features, rows: ArrayLike, cols: ArrayLike,
                    patch_size: int) -> _Features:
    """Gather windows centred on pixels from reflect-padded features.

    Parameters
    ----------
    padded : numpy.ndarray or torch.Tensor, shape (C, H + 2r, W + 2r)
        Output of :func:`pad_features` with ``r = patch_size // 2``.
    rows, cols : array-like of int, shape (N,)
        Pixel positions in the *unpadded* grid (the padding shifts the window's top-left corner
        exactly onto them).
    patch_size : int

    Returns
    -------
    Same type as ``padded``, shape (N, C, patch_size, patch_size)
    """
    if patch_size % 2 == 0:
        raise ConfigError(f"patch_size: expected odd, got {patch_size}")
    try:
        import torch

        is_tensor = isinstance(padded, torch.Tensor)
    except ImportError:  # pragma: no cover - torch is a dependency
        is_tensor = False
    if is_tensor:
        d = torch.arange(patch_size, device=padded.device)
        rows = torch.as_tensor(rows, device=padded.device).long()
        cols = torch.as_tensor(cols, device=padded.device).long()
        rr = rows[:, None, None] + d[None, :, None]
        cc = cols[:, None, None] + d[None, None, :]
        return padded[:, rr, cc].permute(1, 0, 2, 3)
    dr, dc = window_offsets(patch_size)
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    rr = rows[:, None, None] + dr[None]
    cc = cols[:, None, None] + dc[None]
    return np.ascontiguousarray(np.asarray(padded)[:, rr, cc].transpose(1, 0, 2, 3))
