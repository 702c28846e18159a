"""Per-pixel clustering features: scene PCA spectra plus their spatial neighbourhood means.

The one spectral-spatial input every method uses (:func:`hsi.clustering.cluster`): the PCA
scores of each pixel followed by their mean over ``(2r+1)²`` windows, ``r`` in
:data:`SPATIAL_RADII`.

Built from :mod:`hsi.classification.features` (``fit_pca``, ``PcaTransform``) and
:func:`hsi.cube.valid_mask`, and computed row block by row block, so a lazy (dask) cube of
millions of pixels is never loaded whole: only the ``(n_components, H, W)`` feature image is
kept in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hsi.classification.features import PCA_MAX_PIXELS, PcaTransform, fit_pca
from hsi.cube import valid_mask
from hsi.errors import ConfigError, DataError, FormatError, ShapeError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from hsi.cube import Cube

#: Window radii of the neighbourhood means appended to each pixel's scores by default.
#: Measured (mean NMI over Salinas-A, Samson, Jasper Ridge, Indian Pines, seeds 0-1; k-means /
#: spectral / SpectralNet / AGC / minCUT): no means 0.576 / 0.635 / 0.657 / 0.673 / 0.538
#: (mean 0.616); (1,) 0.576 / 0.622 / 0.660 / 0.684 / 0.577 (0.624); (1, 3) 0.578 / 0.612 /
#: 0.661 / 0.656 / 0.554 (0.612). k-means / spectral only: (2,) 0.576 / 0.617, (2, 5)
#: 0.574 / 0.592. So one 3×3 mean, for every method.
SPATIAL_RADII: tuple = (1,)

#: What the PCA of :func:`pixel_features` sees: ``"raw"`` spectra, or ``"shape"`` (unit-norm
#: spectra plus a brightness channel).
SPECTRA_CHOICES = ("shape", "raw")
#: The default of :func:`pixel_features` (measured in the README's clustering section).
SPECTRA = "shape"

#: Bytes of cube data read at a time when computing features (whole rows).
BLOCK_BYTES = 64 * 2**20


@dataclass
class PixelFeatures:
    """The features every clustering method works on.

    Attributes
    ----------
    image : numpy.ndarray, float32, shape (C, H, W)
        PCA scores of each pixel, all divided by the first component's standard deviation
        (relative variances are kept, unlike whitening). Invalid pixels hold 0.
    valid : numpy.ndarray of bool, shape (H, W)
        Pixels to cluster (finite and not nodata).
    pca : PcaTransform
        The projection (``scale`` constant over components).
    spatial : bool
        Whether :meth:`pixels` appends neighbourhood means of the scores.
    radii : tuple of int
        Window radii ``r`` of those means (a ``(2r+1)²`` window each), in order.
    bands : numpy.ndarray of int, shape (pca.bands,), or None
        The bands of the cube the PCA reads (increasing indices from 0): the bands with data,
        an empty one (all NaN or nodata) left out; ``None``: every band.
    """

    image: np.ndarray
    valid: np.ndarray
    pca: PcaTransform
    spatial: bool = True
    radii: tuple = SPATIAL_RADII
    bands: np.ndarray | None = None

    @property
    def n_pixels(self) -> int:
        return int(self.valid.sum())

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.valid.shape)

    def smoothed(self, radius: int = 1) -> np.ndarray:
        """Mean of the valid scores in a ``(2r+1)²`` window, ``(C, H, W)`` float32."""
        from scipy.ndimage import uniform_filter

        size = 2 * radius + 1
        w = uniform_filter(self.valid.astype(np.float32), size=size, mode="reflect")
        out = np.empty_like(self.image)
        for c in range(self.image.shape[0]):
            out[c] = uniform_filter(self.image[c] * self.valid, size=size, mode="reflect")
        out /= np.maximum(w, 1e-6)[None]
        out[:, ~self.valid] = 0
        return out

    @property
    def halo(self) -> int:
        """Pixels of context around a pixel that its :meth:`pixels` row depends on (the
        largest neighbourhood radius; 0 without ``spatial``)."""
        return max(self.radii, default=0) if self.spatial else 0

    @property
    def n_spectral(self) -> int:
        """Leading columns of :meth:`pixels` that are the pixel's own scores."""
        return int(self.image.shape[0])

    def stacked(self) -> np.ndarray:
        """The scores and their neighbourhood means as one image, ``(C (1 + len(radii)), H, W)``
        (just the scores without ``spatial``)."""
        parts = [self.image]
        if self.spatial:
            parts += [self.smoothed(r) for r in self.radii]
        return np.concatenate(parts, axis=0) if len(parts) > 1 else self.image

    def pixels(self, where: np.ndarray | None = None) -> np.ndarray:
        """Feature matrix of the valid pixels (row-major order): the scores then each
        neighbourhood mean, ``(N, C (1 + len(radii)))`` (``(N, C)`` without ``spatial``).

        ``where`` (bool ``(H, W)``), when given, keeps only the valid pixels inside it (a
        tile's core); the neighbourhood means still use every valid pixel of the image.
        """
        mask = self.valid if where is None else self.valid & where
        parts = [self.image]
        if self.spatial:
            parts += [self.smoothed(r) for r in self.radii]
        return np.ascontiguousarray(
            np.concatenate([p[:, mask] for p in parts], axis=0).T, dtype=np.float32)

    def apply(self, data: ArrayLike, nodata: float | None = None) -> PixelFeatures:
        """The same features (this PCA, ``spatial``, ``radii``) of other pixels, e.g. a tile.

        Parameters
        ----------
        data : array-like, shape (bands, h, w)
            Spectra in the units the PCA was fitted on, every band of the cube (the PCA
            reads :attr:`bands`).
        nodata : float, optional
            A pixel whose bands all equal it, or with a NaN/infinite band, is not valid: it
            holds 0 and is left out of the neighbourhood means (as :func:`pixel_features`
            with ``nonfinite="nodata"``).

        Returns
        -------
        PixelFeatures
            Over ``(h, w)``; a tile read with a halo of :attr:`halo` pixels gives its core
            pixels the rows they have in the features of the whole scene.
        """
        data = np.asarray(data)
        if self.bands is not None:
            data = data[self.bands]
        valid = valid_mask(data, nodata)
        image = np.asarray(self.pca.transform(data, valid), dtype=np.float32)
        image[:, ~valid] = 0
        return PixelFeatures(image=image, valid=valid, pca=self.pca, spatial=self.spatial,
                             radii=self.radii, bands=self.bands)

def _as_cube(cube: Cube | ArrayLike) -> Cube:
    """``cube`` as a :class:`~hsi.cube.Cube` (an array wrapped, without nodata)."""
    from hsi.cube import Cube

    return cube if isinstance(cube, Cube) else Cube(_data_and_nodata(cube)[0])


def _data_and_nodata(cube: Cube | ArrayLike) -> tuple[Any, float | None]:
    """``(data, nodata)`` of a Cube; a bare array as numpy or dask (:func:`cube_input`'s
    conversion, without its warning) and no nodata."""
    from hsi.cube import Cube, _as_array

    if isinstance(cube, Cube):
        return cube.data, cube.nodata
    return _as_array(cube), None


def cube_input(cube: Cube | ArrayLike) -> Cube | Any:
    """What clustering reads: a Cube as given, anything else as a ``(bands, H, W)`` array.

    A torch tensor, an xarray ``DataArray`` or nested lists become numpy, as
    :class:`~hsi.cube.Cube` converts them; a bare array whose shape looks like
    ``(H, W, bands)`` (:func:`hsi.cube.looks_channels_last`, e.g. ``(100, 100, 4)``) is read
    as ``(bands, H, W)`` all the same, with one warning line (logger ``hsi.clustering``)
    naming its shape and ``np.moveaxis(array, -1, 0)``.

    Parameters
    ----------
    cube : Cube or array-like, shape (bands, H, W)

    Returns
    -------
    Cube or numpy/dask array

    Raises
    ------
    ArgumentTypeError
        Data that is not numeric (text, objects, ``None``).
    ShapeError
        Nested lists of unequal lengths.
    """
    import logging

    from hsi.cube import Cube, warn_if_channels_last

    if isinstance(cube, Cube):
        return cube
    data, _ = _data_and_nodata(cube)
    warn_if_channels_last(data.shape, "cube", logging.getLogger("hsi.clustering"))
    return data


def check_cube(cube: Cube | ArrayLike) -> tuple[int, int, int]:
    """Check a cube's rank and return ``(bands, H, W)``."""
    data, _ = _data_and_nodata(cube)
    if data.ndim != 3:
        raise ShapeError(f"cube: expected (bands, H, W), got {tuple(data.shape)}",
                         actual_shape=tuple(data.shape), expected_shape=("bands", "H", "W"))
    return tuple(int(s) for s in data.shape)


#: What :func:`pixel_features` does with a pixel holding NaN/infinity in some band.
NONFINITE = ("raise", "nodata")


def check_spectra(spectra: str) -> None:
    """Raise :class:`ConfigError` unless ``spectra`` is one of :data:`SPECTRA_CHOICES`."""
    if spectra not in SPECTRA_CHOICES:
        raise ConfigError(f"spectra: expected one of {', '.join(SPECTRA_CHOICES)}, "
                          f"got {spectra!r}")


def pixel_features(cube: Cube | ArrayLike, *, n_components: int = 10, spatial: bool = True,
                   radii: tuple | None = None, seed: int = 0,
                   nonfinite: str = "raise", spectra: str | None = None) -> PixelFeatures:
    """Compute :class:`PixelFeatures` of a cube.

    Empty bands (no valid value: all NaN, infinite or ``cube.nodata``,
    :func:`hsi.bands.empty_bands`) are left out, with one warning line naming them: the
    features are those of the cube without them (:attr:`PixelFeatures.bands`).

    Parameters
    ----------
    cube : Cube or array-like, shape (bands, H, W)
        Numpy or dask data; pixels whose bands all equal ``cube.nodata`` are not clustered.
    n_components : int
        PCA components kept (>= 1; fewer when the cube has fewer bands or pixels).
    spatial : bool
        Append neighbourhood means to each pixel's scores.
    radii : tuple of int, optional
        Their window radii; default :data:`SPATIAL_RADII`.
    seed : int
        Seeds the pixel subset the PCA is fitted on.
    nonfinite : {"raise", "nodata"}
        A pixel not marked nodata that holds NaN or infinity in some band: an error
        (``"raise"``), or a nodata pixel like the marked ones (``"nodata"``: not valid, left out
        of the PCA fit and of the neighbourhood means, 0 in the image).
    spectra : {"shape", "raw"}, optional
        What the PCA sees (default :data:`SPECTRA`): ``"raw"``, the spectra as given;
        ``"shape"``, each spectrum divided by its Euclidean norm, plus its robustly
        standardised log-norm as one more channel (:class:`PcaTransform` ``unit_norm`` and
        ``brightness``, the classifier's default input): shading and illumination change a
        pixel's norm, not its shape.

    Raises
    ------
    ShapeError
        The cube is not 3-D.
    FormatError
        A pixel not marked nodata holds NaN or infinity (the message counts them), with
        ``nonfinite="raise"``.
    DataError
        Too few valid pixels.
    ConfigError
        ``nonfinite`` is not one of :data:`NONFINITE`; ``n_components`` is not a whole
        number >= 1.
    ResourceError
        Lazy data whose row block (:data:`BLOCK_BYTES`, or the whole cube when smaller) is
        over the memory budget (:func:`hsi.memory.check_allocation`).
    """
    from hsi.check import is_whole_number

    if not is_whole_number(n_components, 1):
        raise ConfigError(f"n_components: expected a whole number >= 1, got {n_components!r}")
    spectra = SPECTRA if spectra is None else spectra
    if nonfinite not in NONFINITE:
        raise ConfigError(f"nonfinite: expected one of {', '.join(NONFINITE)}, got {nonfinite!r}")
    check_spectra(spectra)
    from hsi.bands import bands_with_data

    bands, h, w = check_cube(cube)
    data, nodata = _data_and_nodata(cube)
    rows = max(1, BLOCK_BYTES // (bands * w * 4))
    used = bands_with_data(_as_cube(cube), "clustering features")

    def read(r0: int) -> np.ndarray:
        """Rows ``r0 .. r0 + rows`` of the bands with data, in memory."""
        block = np.asarray(data[:, r0:r0 + rows, :])
        return block if used is None else block[used]

    if getattr(data, "dask", None) is not None:  # lazy: the row blocks below are read whole
        from hsi.memory import check_load

        check_load(data, shape=(bands, min(rows, h), w))
    valid = np.zeros((h, w), dtype=bool)
    rate = min(1.0, PCA_MAX_PIXELS / max(h * w, 1))
    rng = np.random.default_rng(seed)
    samples = []
    bad = 0
    for r0 in range(0, h, rows):
        block = read(r0)
        ok = valid_mask(block, nodata)
        if nonfinite == "raise" and np.issubdtype(block.dtype, np.floating):
            # pixels marked nodata (all bands == nodata, or all NaN for a NaN nodata) are
            # skipped; any other non-finite value is an error
            if nodata is not None and np.isnan(nodata):
                marked = np.isnan(block).all(axis=0)
            elif nodata is not None:
                marked = (block == nodata).all(axis=0)
            else:
                marked = np.zeros(ok.shape, dtype=bool)
            bad += int((~np.isfinite(block[:, ~marked])).sum())
        valid[r0:r0 + rows] = ok
        px = block[:, ok]
        if rate < 1.0:
            px = px[:, rng.random(px.shape[1]) < rate]
        samples.append(px.astype(np.float64))
    if bad:
        raise FormatError(f"cube: {bad} NaN/infinite values in pixels not marked nodata; "
                          "fill them, set the cube's nodata, or pass nonfinite='nodata' to "
                          "leave those pixels out (label 0)")
    sample = np.concatenate(samples, axis=1)
    if sample.shape[1] < 2:
        raise DataError(f"cube: clustering needs at least 2 valid pixels, got {int(valid.sum())}")
    n_components = max(1, min(int(n_components), sample.shape[0], sample.shape[1] - 1))
    shape = spectra == "shape"
    pca = fit_pca(sample[:, :, None], n_components, seed=seed, unit_norm=shape,
                  brightness=shape)
    pca = PcaTransform(mean=pca.mean, components=pca.components,
                       scale=np.full(pca.n_components, pca.scale[0]), unit_norm=shape,
                       brightness=pca.brightness)
    image = np.zeros((pca.channels, h, w), dtype=np.float32)
    for r0 in range(0, h, rows):
        image[:, r0:r0 + rows] = pca.transform(read(r0), valid[r0:r0 + rows])
    image[:, ~valid] = 0
    radii = SPATIAL_RADII if radii is None else tuple(int(r) for r in radii)
    return PixelFeatures(image=image, valid=valid, pca=pca, spatial=spatial, radii=radii,
                         bands=used)
