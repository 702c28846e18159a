"""``cluster(cube, k, method=...)``: one entry point for every clustering method."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from hsi.check import MAX_SEED, check_seed  # noqa: F401  (re-exported: the seed rules)
from hsi.errors import ConfigError, ShapeError
from hsi.progress import ProgressCallback, report_progress

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    import torch
    from _typeshed import DataclassInstance
    from numpy.typing import ArrayLike

    from hsi.clustering.features import PixelFeatures
    from hsi.cube import Cube

#: Method names accepted by :func:`cluster`, in the order benchmarks list them.
METHODS = ("kmeans", "spectral", "spectralnet", "cc", "agc", "mincut", "dinknet")

#: Methods whose memory grows with the batch, not the scene (for scenes of millions of pixels).
SCALABLE_METHODS = ("kmeans", "spectralnet", "dinknet")

#: Methods that fit a model which then assigns pixels it was not fitted on (:func:`fit_model`);
#: the graph methods (``spectral``, ``agc``, ``mincut``) cluster the pixels they are given only.
MODEL_METHODS = ("kmeans", "spectralnet", "cc", "dinknet")
#: Methods that train a small torch network; on a CPU they run on
#: :data:`hsi.device.SMALL_MODEL_THREADS` threads (:func:`hsi.device.cpu_threads`: on a busy
#: 2-core CPU, Dink-Net 8.9 s vs 68.9 s and minCUT 11.8 s vs 148.3 s on Salinas-A, 1 vs 2).
NETWORK_METHODS = ("spectralnet", "cc", "mincut", "dinknet")


@dataclass
class ClusterResult:
    """What :func:`cluster` returns.

    Attributes
    ----------
    labels : numpy.ndarray, uint8, shape (H, W)
        Cluster ids 1..k; 0 for nodata pixels.
    confidence : numpy.ndarray, float32, shape (H, W)
        Per-pixel confidence in [0, 1] (0 on nodata): the method's assignment probability, or
        the distance margin ``1 - d_nearest / d_second`` for centroid-based methods.
    method : str
    k : int
    criterion : str
        How ``k`` was chosen (``"given"`` or the automatic criterion).
    seconds : float
        Wall-clock time of the clustering (features included).
    info : dict
        More about the run: ``"bands_left_out"``, the empty bands (all NaN or nodata) the
        features left out (indices from 0, only when there are any); a tiled run's
        ``"tiles"`` and ``"fit_pixels"``.
    """

    labels: np.ndarray
    confidence: np.ndarray
    method: str
    k: int
    criterion: str = "given"
    seconds: float = 0.0
    info: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        from hsi.reprs import array_summary

        how = "" if self.criterion == "given" else f" ({self.criterion})"
        return (f"ClusterResult({self.method!r}, k={self.k}{how}, "
                f"labels={array_summary(self.labels)}, {self.seconds:.1f} s)")

    @property
    def class_names(self) -> list[str]:
        """``["cluster 1", ..., "cluster k"]`` for the class map's tags."""
        return [f"cluster {i + 1}" for i in range(self.k)]


@runtime_checkable
class ClusterModel(Protocol):
    """A fitted clustering that assigns any pixels' features (what :func:`fit_model` returns).

    ``k``: number of clusters. ``halo``: pixels of context around a pixel that its assignment
    reads (neighbourhood means, patches), so a tile read with that halo gets the labels the
    whole scene would. ``assign(feats, where=None)`` returns labels ``(N,)`` 0..k-1 and
    confidence ``(N,)`` of the valid pixels of :class:`~hsi.clustering.features.PixelFeatures`
    ``feats`` inside the bool mask ``where`` (all valid pixels without it), row-major.
    Implemented by :class:`CentresModel` (k-means),
    :class:`~hsi.clustering.spectralnet.SpectralNetModel`,
    :class:`~hsi.clustering.contrastive.ContrastiveModel` and
    :class:`~hsi.clustering.dinknet.DinkNetModel`.
    """

    halo: int

    @property
    def k(self) -> int: ...

    def assign(self, feats: PixelFeatures, where: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class CentresModel:
    """Nearest-centre assignment in feature space (the fitted k-means).

    Attributes
    ----------
    centres : numpy.ndarray, shape (k, d)
    halo : int
        Pixels of context a pixel's features read (their neighbourhood radius).
    """

    centres: np.ndarray
    halo: int = 0

    @property
    def k(self) -> int:
        return int(self.centres.shape[0])

    def assign(self, feats: PixelFeatures, where: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        from hsi.clustering.baselines import assign_to_centres

        return assign_to_centres(feats.pixels(where), self.centres)


def fit_model(method: str, feats: PixelFeatures, x: np.ndarray, k: int,
              cfg: DataclassInstance | Mapping[str, Any] | None = None, *, seed: int = 0,
              device: str | torch.device | None = None, progress: bool = False,
              callback: ProgressCallback | None = None) -> ClusterModel:
    """Fit a method of :data:`MODEL_METHODS` on features, as :func:`cluster` fits it.

    Parameters
    ----------
    method : {"kmeans", "spectralnet", "cc", "dinknet"}
    feats : PixelFeatures
        The fit pixels' features (:func:`~hsi.clustering.features.pixel_features`).
    x : numpy.ndarray, shape (N, d)
        ``feats.pixels()``.
    k : int
    cfg : dataclass or dict, optional
        The method's config (as :func:`cluster`'s ``config``).
    seed, device, progress, callback
        As :func:`cluster` (``device`` a torch device; ``callback`` gets the training steps).

    Returns
    -------
    ClusterModel
        Its ``assign`` applied to ``feats`` gives :func:`cluster`'s labels and confidence.

    Raises
    ------
    ConfigError
        ``method`` is not one of :data:`MODEL_METHODS`, or a bad config.
    ShapeError
        ``k`` outside 2..min(rows of ``x``, distinct rows of ``x``, 255), before any training.
    """
    method = str(method).lower()
    if method not in MODEL_METHODS:
        raise ConfigError(f"method: expected one of {', '.join(MODEL_METHODS)} for a fitted "
                          f"model, got {method!r}")
    from hsi.clustering.baselines import distinct_rows

    cfg = _config(method, cfg)
    check_k(k, len(x), distinct_rows(x, at_most=MAX_K))  # before any training
    with _threads_for(method, device):
        return _fit(method, feats, x, k, cfg, seed=seed, device=device, progress=progress,
                    callback=callback)


def _threads_for(method: str, device: str | torch.device | None
                 ) -> AbstractContextManager[None]:
    """The thread cap of :data:`NETWORK_METHODS` (a no-op context for the others)."""
    import contextlib

    from hsi.device import SMALL_MODEL_THREADS, cpu_threads

    if method in NETWORK_METHODS:
        return cpu_threads(SMALL_MODEL_THREADS, device)
    return contextlib.nullcontext()


def _fit(method: str, feats: PixelFeatures, x: np.ndarray, k: int,
         cfg: DataclassInstance | dict[str, Any] | None, *, seed: int,
         device: str | torch.device | None, progress: bool,
         callback: ProgressCallback | None) -> ClusterModel:
    if method == "kmeans":
        from hsi.clustering.baselines import kmeans_centres

        return CentresModel(kmeans_centres(x, k, seed=seed, **(cfg or {})), halo=feats.halo)
    if method == "spectralnet":
        from hsi.clustering.spectralnet import fit_spectralnet_model

        return fit_spectralnet_model(x, k, cfg, halo=feats.halo, seed=seed, device=device,
                                     progress=progress, callback=callback)
    if method == "cc":
        from hsi.clustering.contrastive import fit_contrastive_model

        return fit_contrastive_model(feats, k, cfg, seed=seed, device=device,
                                     progress=progress, callback=callback)
    from hsi.clustering.dinknet import fit_dinknet_model

    return fit_dinknet_model(feats, x, k, cfg, seed=seed, device=device, progress=progress,
                             callback=callback)


def _config(method: str, config: DataclassInstance | Mapping[str, Any] | None
            ) -> DataclassInstance | dict[str, Any] | None:
    """The method's config dataclass from ``None``, an instance, or a dict of overrides."""
    import importlib

    where = {"spectralnet": ("spectralnet", "SpectralNetConfig"),
             "cc": ("contrastive", "ContrastiveConfig"), "agc": ("graph", "GraphConfig"),
             "mincut": ("graph", "GraphConfig"), "dinknet": ("dinknet", "DinkNetConfig")}
    if config is not None and not is_dataclass(config) and not isinstance(config, Mapping):
        raise ConfigError(f"config: expected a dict of options or a config dataclass for "
                          f"method {method!r}, got {type(config).__name__}")
    if method in ("kmeans", "spectral"):
        return _function_config(method, config)
    cls = None
    if method in where and config is not None and not is_dataclass(config):
        module, name = where[method]
        cls = getattr(importlib.import_module(f"hsi.clustering.{module}"), name)
    if config is None:
        return config
    if is_dataclass(config):
        _check_options(method, {f.name: getattr(config, f.name) for f in fields(config)},
                       {f.name: f.default for f in fields(config)})
        return config
    if cls is None:
        return dict(config)
    names = {f.name for f in fields(cls)}
    unknown = set(config) - names
    if unknown:
        raise ConfigError(f"config: unknown option(s) {sorted(unknown)} for method {method!r}; "
                       f"expected some of {sorted(names)}")
    _check_options(method, dict(config), {f.name: f.default for f in fields(cls)})
    return cls(**config)


def _function_config(method: str, config: DataclassInstance | Mapping[str, Any] | None
                     ) -> dict | None:
    """The keyword options of k-means or spectral clustering, checked against their function:
    unknown names and values of the wrong type are a :class:`ConfigError`, not a TypeError
    from deep inside scikit-learn."""
    import inspect

    from hsi.clustering import baselines

    if config is None:
        return None
    if is_dataclass(config):
        raise ConfigError(f"config: method {method!r} takes a dict of options, got a "
                          f"{type(config).__name__}")
    func = baselines.kmeans_cluster if method == "kmeans" else baselines.spectral_cluster
    defaults = {name: p.default for name, p in inspect.signature(func).parameters.items()
                if p.kind is p.KEYWORD_ONLY and name != "seed"}
    config = dict(config)
    unknown = set(config) - set(defaults)
    if unknown:
        raise ConfigError(f"config: unknown option(s) {sorted(unknown)} for method {method!r}; "
                          f"expected some of {sorted(defaults)}")
    _check_options(method, config, defaults)
    return config


#: Integer options that count something and cannot be 0 (a batch, a width, a sample).
_AT_LEAST_ONE = ("batch_size", "hidden", "width", "n_init", "max_pixels", "n_neighbors",
                 "patch_size", "init_pixels", "feature_dim", "max_nodes")


def _check_options(method: str, values: dict, defaults: dict) -> None:
    """Each option's value against the kind of its default: a bool, a whole number >= 0
    (>= 1 for the counts of :data:`_AT_LEAST_ONE`), a finite number (>= 0 when the default
    is), or text.

    Raises
    ------
    ConfigError
        ``config: NAME for method M: expected ..., got VALUE``.
    """
    import math
    import numbers

    for name, value in values.items():
        default = defaults.get(name)
        what = None
        if isinstance(default, bool):
            if not isinstance(value, (bool, np.bool_)):
                what = "True or False"
        elif isinstance(default, numbers.Integral):
            low = 1 if name in _AT_LEAST_ONE else 0
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
                    or value < low:
                what = f"a whole number >= {low}"
        elif isinstance(default, numbers.Real):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
                    or not math.isfinite(value) or (default >= 0 and value < 0):
                what = "a finite number" + (" >= 0" if default >= 0 else "")
        elif isinstance(default, str) and not isinstance(value, str):
            what = "text"
        if what is not None:
            raise ConfigError(f"config: {name} for method {method!r}: expected {what}, "
                              f"got {value!r}")


#: The most clusters a uint8 class map holds.
MAX_K = 255


def check_k(k: object, n_pixels: int, n_distinct: int | None = None) -> None:
    """Check a cluster count against the pixels it clusters.

    Parameters
    ----------
    k : int
    n_pixels : int
        Valid pixels (>= 0).
    n_distinct : int, optional
        Distinct valid pixels (:func:`distinct_spectra`): more clusters than that would
        leave some empty.

    Raises
    ------
    ShapeError
        Unless ``2 <= k <= min(n_pixels, n_distinct, 255)``; the message names ``k`` and that
        range (or, below 2 valid pixels, that no ``k`` fits).
    ConfigError
        ``n_pixels`` is not a count (negative, not an integer).
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ShapeError(f"k: expected an integer number of clusters or 'auto', got {k!r}")
    if (isinstance(n_pixels, bool) or not isinstance(n_pixels, (int, np.integer))
            or n_pixels < 0):
        raise ConfigError(f"n_pixels: expected a count of valid pixels (an integer >= 0), got "
                          f"{n_pixels!r}")
    top = min(n_pixels, MAX_K)
    if top < 2:
        raise ShapeError(f"k: no cluster count fits {n_pixels} valid pixel(s) (k must be in "
                         f"2..the valid pixel count: at least 2 pixels are needed), got {k}")
    if k < 2:
        raise ShapeError(f"k: expected at least 2 clusters, got {k} (k in 2..{top}: at most the "
                         f"valid pixel count, and {MAX_K} for a uint8 map)")
    if k > top:
        raise ShapeError(f"k: expected at most {top} clusters (the valid pixel "
                         f"count, and {MAX_K} for a uint8 map), got {k}")
    if n_distinct is not None and n_distinct < 2:
        raise ShapeError(f"k: all valid pixels are the same: there are no {k} clusters to find")
    if n_distinct is not None and k > n_distinct:
        raise ShapeError(f"k: expected at most {n_distinct} clusters (only {n_distinct} of the "
                         f"valid pixels are distinct), got {k}")


def distinct_spectra(feats: PixelFeatures) -> int:
    """Distinct valid pixel spectra of a scene, as its features see them (up to :data:`MAX_K`).

    Counts the distinct rows of each pixel's own PCA scores (brightness included), without
    the neighbourhood means: pixels of one spectrum are one, wherever they lie.

    Parameters
    ----------
    feats : PixelFeatures

    Returns
    -------
    int
        ``min(distinct spectra, MAX_K)``.
    """
    from hsi.clustering.baselines import distinct_rows

    return distinct_rows(feats.image[:, feats.valid].T, at_most=MAX_K)



def cluster_count(k: int | str, feats: PixelFeatures, seed: int) -> tuple[int, str]:
    """The number of clusters to make of ``feats`` and how it was chosen.

    Parameters
    ----------
    k : int or "auto"
        Given by the user, or ``"auto"``: estimated from the features
        (:func:`hsi.clustering.auto_k.estimate_k`).
    feats : PixelFeatures
    seed : int

    Returns
    -------
    (int, str)
        ``k`` and the criterion (``"given"`` or the automatic one's name).

    Raises
    ------
    ShapeError
        ``k`` outside 2..min(valid pixels, distinct valid spectra, 255).
    """
    x = feats.pixels()
    n_distinct = distinct_spectra(feats)
    criterion = "given"
    if isinstance(k, str):
        from hsi.clustering.auto_k import estimate_k

        k, criterion = estimate_k(x, seed=seed, n_distinct=n_distinct)
    check_k(k, len(x), n_distinct)
    return int(k), criterion




def check_cube_shape(cube: Cube | ArrayLike) -> None:
    """Refuse a cube with no band or no pixel (:class:`ShapeError`) or complex values
    (:class:`~hsi.errors.FormatError`, their imaginary part would be dropped) before any
    work: one line instead of an arithmetic error or a warning deep in the features."""
    shape = getattr(cube, "shape", None)
    if shape is None:
        try:
            shape = np.shape(cube)
        except ValueError:  # ragged nested lists: the features say what is wrong
            return
    shape = tuple(shape)
    dtype = getattr(cube, "dtype", None)
    try:
        kind = None if dtype is None else np.dtype(dtype).kind
    except TypeError:  # a torch dtype
        kind = "c" if getattr(dtype, "is_complex", False) else None
    if kind == "c":
        from hsi.errors import FormatError

        raise FormatError(f"cube: expected real values, got {dtype} (complex): take "
                          f"the magnitude or the real part first")
    if len(shape) == 3 and 0 in shape:
        raise ShapeError(f"cube: expected at least 1 band and 1 pixel, got shape {shape} "
                         f"(bands, H, W)", actual_shape=shape)


def check_k_request(k: object) -> None:
    """Check a requested ``k`` before any pixel is read: ``"auto"`` (any case) or an integer
    ``>= 2`` (its upper bound, the valid pixel count, is checked once the pixels are known).

    Raises
    ------
    ShapeError
        Any other string, or not an integer ``>= 2``.
    """
    if isinstance(k, str):
        if k.lower() != "auto":
            raise ShapeError(f"k: expected an integer number of clusters or 'auto', got {k!r}")
        return
    check_k(k, 10**9)


def cluster(cube: Cube | ArrayLike, k: int | str, method: str = "kmeans", *, seed: int = 0,
            device: str = "auto", progress: bool = True,
            config: DataclassInstance | Mapping[str, Any] | None = None, n_components: int = 10,
            spatial: bool = True, callback: ProgressCallback | None = None,
            nonfinite: str = "raise", spectra: str | None = None) -> ClusterResult:
    """Cluster the pixels of a scene without labels.

    Parameters
    ----------
    cube : Cube or array-like, shape (bands, H, W)
        Numpy or dask data (reflectance or any consistent units), or a torch tensor or nested
        lists; pixels whose bands all equal ``cube.nodata`` get label 0. A bare array whose
        shape looks like ``(H, W, bands)`` (e.g. ``(100, 100, 4)``) is clustered as
        ``(bands, H, W)`` all the same, with one warning line naming the fix
        (:func:`~hsi.clustering.features.cube_input`).
    k : int or "auto"
        Number of clusters (2..255), or ``"auto"`` to estimate it
        (:func:`hsi.clustering.auto_k.estimate_k`; the criterion is in ``result.criterion``).
    method : {"kmeans", "spectral", "spectralnet", "cc", "agc", "mincut", "dinknet"}
    seed : int
        Seeds sampling, initialisation and training: same seed, same labels (on CPU).
    device : {"auto", "cpu", "cuda"}
        Torch device for the network methods.
    progress : bool
        Show tqdm progress bars on stderr.
    config : dataclass or dict, optional
        The method's hyper-parameters (``SpectralNetConfig``, ``ContrastiveConfig``,
        ``GraphConfig``, ``DinkNetConfig``), or a dict overriding some of their fields.
    n_components : int
        PCA components of the features.
    spatial : bool
        Append each pixel's 3×3 neighbourhood mean to its features.
    spectra : {"shape", "raw"}, optional
        What the features' PCA sees (:func:`~hsi.clustering.features.pixel_features`; default
        :data:`~hsi.clustering.features.SPECTRA`): ``"shape"``, unit-norm spectra plus a
        brightness channel; ``"raw"``, the spectra as given.
    callback : callable, optional
        ``callback(done_steps, total_steps)`` (:mod:`hsi.progress`): called at the start, after
        the features, after every training step of the network methods (``spectralnet``,
        ``cc``, ``mincut``, ``dinknet``; their steps raise ``total_steps`` once training
        starts) and with ``done == total`` at the end. Return ``True`` from it to stop.
    nonfinite : {"raise", "nodata"}
        A pixel not marked nodata with NaN or infinity in some band: a :class:`FormatError`,
        or (``"nodata"``, what :func:`~hsi.clustering.cluster_file` uses) a nodata pixel: left
        out of the fit, label 0 and confidence 0.

    Returns
    -------
    ClusterResult

    Raises
    ------
    ShapeError
        Not a 3-D cube, ``k`` neither an integer nor ``"auto"``, or ``k`` outside
        2..min(valid pixels, distinct valid spectra, 255) (checked before any training;
        ``"auto"`` never picks more than the distinct spectra).
    ArgumentTypeError
        ``cube`` is not numeric (text, ``None``, objects).
    FormatError
        NaN or infinite values in pixels not marked nodata (``nonfinite="raise"``).
    ConfigError
        Unknown method or device; ``seed`` or ``n_components`` not a whole number in range;
        ``nonfinite`` or ``spectra`` not one of their values; a ``config`` that is neither a
        dict nor a dataclass, or names options the method does not have.
    DeviceError
        ``device`` asks for CUDA on a machine without it.
    Cancelled
        When ``callback`` returns ``True``.

    Notes
    -----
    A method that leaves some of the ``k`` clusters empty logs one warning saying how many
    are not (:func:`~hsi.clustering.baselines.warn_empty_clusters`); the labels keep their
    codes (``result.k`` stays ``k``).

    Empty bands (no valid value: all NaN or ``cube.nodata``, as EnMAP or PRISMA products
    hold in water-absorption windows) are left out of the features with one warning line
    naming them (:func:`~hsi.clustering.features.pixel_features`): the labels are those of
    the cube without them; ``result.info["bands_left_out"]`` lists them.
    """
    from hsi.clustering.features import check_cube, check_spectra, cube_input, pixel_features
    from hsi.device import pick_device, seed_everything

    if spectra is not None:
        check_spectra(spectra)
    if str(method).lower() not in METHODS:
        raise ConfigError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    method = str(method).lower()
    check_k_request(k)
    seed = check_seed(seed)
    check_cube_shape(cube)
    cube = cube_input(cube)  # a bare array as numpy, told when it looks (H, W, bands)
    dev = pick_device(device)
    cfg = _config(method, config)
    start = time.perf_counter()
    steps = {"total": 2}  # features + final assignment, plus the training steps once known
    report_progress(callback, 0, steps["total"], "clustering")
    seed_everything(seed)
    feats = pixel_features(cube, n_components=n_components, spatial=spatial, seed=seed,
                           nonfinite=nonfinite, spectra=spectra)
    x = feats.pixels()
    k, criterion = cluster_count(k, feats, seed)
    report_progress(callback, 1, steps["total"], "clustering")

    def fit_callback(done: int, total: int) -> bool | None:
        steps["total"] = total + 2
        return callback(done + 1, total + 2)

    seed_everything(seed)
    with _threads_for(method, dev):
        labels, conf = _run(method, feats, x, int(k), cfg, seed=seed, device=dev,
                            progress=progress,
                            callback=fit_callback if callback is not None else None)
    from hsi.clustering.baselines import warn_empty_clusters

    warn_empty_clusters(labels, int(k), method)
    out = np.zeros(feats.shape, dtype=np.uint8)
    out[feats.valid] = labels.astype(np.uint8) + 1
    confidence = np.zeros(feats.shape, dtype=np.float32)
    confidence[feats.valid] = np.clip(conf, 0, 1)
    report_progress(callback, steps["total"], steps["total"], "clustering")
    return ClusterResult(labels=out, confidence=confidence, method=method, k=int(k),
                         criterion=criterion, seconds=time.perf_counter() - start,
                         info=bands_info(feats, check_cube(cube)[0]))


def bands_info(feats: PixelFeatures, bands: int) -> dict:
    """``{"bands_left_out": [...]}``: the bands of a ``bands``-band cube that ``feats`` leave
    out (empty: all NaN or nodata), or ``{}`` when they read every band."""
    if feats.bands is None:
        return {}
    return {"bands_left_out": [int(b) for b in np.setdiff1d(np.arange(bands), feats.bands)]}


def _run(method: str, feats: PixelFeatures, x: np.ndarray, k: int,
         cfg: DataclassInstance | dict[str, Any] | None, *, seed: int,
         device: str | torch.device | None, progress: bool,
         callback: ProgressCallback | None = None) -> tuple[np.ndarray, np.ndarray]:
    if method == "kmeans":
        from hsi.clustering.baselines import kmeans_cluster

        return kmeans_cluster(x, k, seed=seed, **(cfg or {}))
    if method == "spectral":
        from hsi.clustering.baselines import spectral_cluster

        return spectral_cluster(x, k, seed=seed, **(cfg or {}))
    if method == "spectralnet":
        from hsi.clustering.spectralnet import spectralnet_cluster

        return spectralnet_cluster(x, k, cfg, seed=seed, device=device, progress=progress,
                                   callback=callback)
    if method == "cc":
        from hsi.clustering.contrastive import contrastive_cluster

        return contrastive_cluster(feats, k, cfg, seed=seed, device=device, progress=progress,
                                   callback=callback)
    if method == "agc":
        from hsi.clustering.graph import agc_cluster

        return agc_cluster(feats, x, k, cfg, seed=seed)
    if method == "mincut":
        from hsi.clustering.graph import mincut_cluster

        return mincut_cluster(feats, x, k, cfg, seed=seed, device=device, progress=progress,
                              callback=callback)
    from hsi.clustering.dinknet import dinknet_cluster

    return dinknet_cluster(feats, x, k, cfg, seed=seed, device=device, progress=progress,
                           callback=callback)
