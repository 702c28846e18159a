"""Clustering a cube file into a class map file (what ``hsi cluster`` runs).

A scene up to :data:`WHOLE_SCENE_PIXELS` (or a graph method, outside :data:`TILED_METHODS`)
is clustered whole by :func:`hsi.clustering.cluster`; a larger one runs on the scene engine
(:mod:`hsi.engine`): a global fit on a sample of windows, then assignment tile by tile by the
fitted model (k-means centres or a trained network).

>>> from hsi.clustering import cluster_file
>>> result = cluster_file("scene.tif", 6, "clusters.tif", method="kmeans")  # doctest: +SKIP
>>> result.k                                                                # doctest: +SKIP
6
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from hsi.progress import ProgressCallback, report_progress

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from _typeshed import DataclassInstance

    from hsi.clustering.api import ClusterModel, ClusterResult
    from hsi.clustering.features import PixelFeatures
    from hsi.cube import Cube
    from hsi.engine import WindowReader
    from hsi.tiling import Tile

__all__ = ["TILED_METHODS", "WHOLE_SCENE_PIXELS", "cluster_cube", "cluster_file"]

#: Methods :func:`cluster_file` can fit on a sample and apply tile by tile: k-means (nearest
#: centre) and the networks that map a pixel's features to a cluster (SpectralNet, Contrastive
#: Clustering, Dink-Net). The graph methods (spectral, agc, mincut) cluster the scene whole.
TILED_METHODS = ("kmeans", "spectralnet", "cc", "dinknet")
#: Above this many pixels a scene is clustered by tiles (``tiled=None``): the whole-scene path
#: holds every pixel's features, 1.5 times the peak memory of a 512² run at 1024² already.
WHOLE_SCENE_PIXELS = 512 * 512
#: Sample windows (a square number) and their side for the fit of a tiled run.
FIT_WINDOWS = 16
FIT_WINDOW = 128


def cluster_file(
    cube_path: str | os.PathLike,
    k: int | str,
    output: str | os.PathLike,
    *,
    method: str = "kmeans",
    seed: int = 0,
    device: str = "auto",
    confidence: str | os.PathLike | None = None,
    var: str | None = None,
    progress: bool = True,
    callback: ProgressCallback | None = None,
    tiled: bool | None = None,
    tile: int = 512,
    config: DataclassInstance | Mapping[str, Any] | None = None,
    spectra: str | None = None,
) -> ClusterResult:
    """Cluster the pixels of the cube at ``cube_path`` and write its class map (and confidence).

    Parameters
    ----------
    cube_path : path
        Any cube :func:`hsi.io.open` reads.
    k : int or "auto"
        Number of clusters, as :func:`hsi.clustering.cluster`.
    output : path
        Class map GeoTIFF: uint8 ``(H, W)``, values 1..k (0 = nodata), a colour table, class
        names ``cluster 1`` ... and the cube's CRS and transform.
    method, seed, device
        As :func:`hsi.clustering.cluster`.
    confidence : path, optional
        Also write the per-pixel confidence in [0, 1], float32 ``(1, H, W)`` (format from the
        extension, as :func:`hsi.io.save`).
    var : str, optional
        Variable of a ``.mat`` holding several cubes.
    progress : bool
        tqdm progress bars on stderr.
    callback : callable, optional
        ``callback(done_steps, total_steps)`` (:mod:`hsi.progress`): the clustering's steps,
        then one for writing the files (``done == total`` once they are written). Return
        ``True`` to stop; nothing is written then.
    tiled : bool, optional
        Run on the scene engine (:mod:`hsi.engine`) with memory bounded by the tile: the PCA
        and the model (:func:`hsi.clustering.api.fit_model`: the k-means centres, or the
        trained SpectralNet, Contrastive Clustering or Dink-Net network, with the same
        features and config as the whole-scene method) are fitted on a sample of
        :data:`FIT_WINDOWS` windows of :data:`FIT_WINDOW` pixels spread over the scene, then
        every tile (read with a halo of the neighbourhood or patch radius) is assigned by the
        fitted model and written: nearest centre (k-means), nearest k-means centre of the
        SpectralNet embedding, argmax of the CC cluster head, nearest learned Dink-Net
        centre. Only for :data:`TILED_METHODS`: the graph methods (``spectral``, ``agc``,
        ``mincut``) cluster the whole scene in memory whatever ``tiled`` says. Default:
        tiled when the scene has more than :data:`WHOLE_SCENE_PIXELS` pixels. The result
        equals the untiled assignment with the same fit (any ``tile``); it differs from
        fitting on every pixel unless the sample covers the scene. Empty bands (all NaN or
        nodata) are left out of the features, with one warning line naming them, whole or
        tiled (in a tiled run, judged on the sample); the class map's
        ``CLUSTER_BANDS_LEFT_OUT`` tag lists them.
    tile : int
        Tile side of a tiled run, pixels.
    config : dataclass or dict, optional
        The method's hyper-parameters, as :func:`hsi.clustering.cluster` (both paths).
    spectra : {"shape", "raw"}, optional
        What the features' PCA sees, as :func:`hsi.clustering.cluster` (both paths).

    Returns
    -------
    ClusterResult
        Labels and confidence ``(H, W)``, the method, ``k`` and how it was chosen.

    Raises
    ------
    ArgumentTypeError
        ``cube_path`` or ``output`` is not a path (for a Cube or an array:
        :func:`hsi.clustering.cluster`), or ``confidence`` neither a path nor ``None``.
    HsiIOError, FormatError
        Unreadable cube or unwritable outputs.
    ShapeError, ConfigError
        From :func:`hsi.clustering.cluster` (``k`` out of range, unknown method or device).
    Cancelled
        When ``callback`` returns ``True``.

    Nodata, on both paths: a pixel with NaN or infinity in any band, or all bands equal to
    the cube's nodata value, is left out of the fit (PCA, model, neighbourhood means) and
    gets class 0 and confidence 0.

    Nothing is written unless both files are complete: they replace their destinations
    together, atomically.
    """
    from hsi.errors import naming
    from hsi.io import open as open_cube
    from hsi.io.guard import check_outputs

    _require_path(cube_path, "cube_path")
    _require_path(output, "output")
    _require_path(confidence, "confidence", optional=True)
    # as `hsi cluster`: never an input overwritten, never one file given as both outputs
    check_outputs([output, confidence], [cube_path])
    cube = open_cube(cube_path, var=var, lazy=True)  # GeoTIFF/ENVI: read by windows
    with naming(cube=cube_path):  # "cube: no valid pixel" names the file
        return cluster_cube(cube, k, method=method, seed=seed, device=device,
                            progress=progress, callback=callback, tiled=tiled, tile=tile,
                            config=config, output=output, confidence=confidence,
                            spectra=spectra)


def _require_path(value: object, name: str, *, optional: bool = False) -> None:
    """Refuse a ``value`` of argument ``name`` of :func:`cluster_file` that is not a ``str``
    or path-like (``None`` too when ``optional``); for ``cube_path``, say what clusters a
    cube in memory.

    Raises
    ------
    ArgumentTypeError
        ``"cluster_file: cube_path must be a file path (...), got Cube (...)"``.
    """
    if isinstance(value, (str, os.PathLike)) or (optional and value is None):
        return
    from hsi.errors import ArgumentTypeError

    hint = (" (a cube in memory: hsi.clustering.cluster(cube, k), or hsi.clustering.files."
            "cluster_cube(cube, k, output=...) to write the class map)"
            if name == "cube_path" else "")
    raise ArgumentTypeError(f"cluster_file: {name} must be a file path (str or pathlib.Path), "
                            f"got {type(value).__name__}{hint}")


def cluster_cube(
    cube: Cube,
    k: int | str,
    *,
    method: str = "kmeans",
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
    callback: ProgressCallback | None = None,
    tiled: bool | None = None,
    tile: int = 512,
    config: DataclassInstance | Mapping[str, Any] | None = None,
    output: str | os.PathLike | None = None,
    confidence: str | os.PathLike | None = None,
    spectra: str | None = None,
) -> ClusterResult:
    """Cluster a cube (lazy or in memory) as :func:`cluster_file` does; the files are optional.

    The one clustering pipeline of a scene: :func:`cluster_file` (``hsi cluster``) runs it on
    a file opened lazily, with ``output`` (and ``confidence``); the viewer's Cluster dock on
    its layer's cube, without files. Above :data:`WHOLE_SCENE_PIXELS` a method of
    :data:`TILED_METHODS` runs on the scene engine (fit on a sample of windows, then
    assignment tile by tile from windows of ``cube``: memory bounded by the tile plus the
    label and confidence arrays); otherwise the scene is clustered whole
    (:func:`hsi.clustering.cluster`). The parameters are :func:`cluster_file`'s; the
    callback counts one step more for writing the files when there are any (in a tiled run,
    always: the fit, the tiles, the end).

    Returns
    -------
    ClusterResult
        Labels (uint8, 1..k, 0 = nodata) and confidence (float32) ``(H, W)``.
    """
    from hsi.clustering.api import check_cube_shape, check_k_request, check_seed, cluster
    from hsi.io import output_format
    from hsi.io.atomic import atomic_files
    from hsi.io.geotiff import check_tiff_output
    from hsi.io.labels import write_class_map

    if output is not None:  # bad output names fail before any work
        check_tiff_output(output)
    if confidence is not None:
        output_format(confidence)
    check_k_request(k)
    seed = check_seed(seed)
    check_cube_shape(cube)
    method = str(method).lower()
    if tiled is None:
        tiled = method in TILED_METHODS and cube.height * cube.width > WHOLE_SCENE_PIXELS
    if tiled and method in TILED_METHODS:
        return _cluster_tiled(cube, k, output, method=method, seed=seed, confidence=confidence,
                              progress=progress, callback=callback, tile=tile, device=device,
                              config=config, spectra=spectra)

    steps = {"total": 1}
    outputs = _destinations(output, confidence)

    def clustering_callback(done: int, total: int) -> bool | None:  # one step more: writing
        steps["total"] = total + 1
        return callback(done, total + 1)

    if callback is not None and outputs:
        callback_used = clustering_callback
    else:  # no files: the clustering's own steps
        callback_used = callback
    result = cluster(cube, k, method=method, seed=seed, device=device, progress=progress,
                     callback=callback_used, config=config, nonfinite="nodata",
                     spectra=spectra)
    if not outputs:
        return result
    with atomic_files(outputs) as tmps:  # both files or neither
        if output is not None:
            write_class_map(tmps[0], result.labels, crs=cube.crs, transform=cube.transform,
                            class_names=result.class_names, nodata=0,
                            tags=_class_map_tags(result, seed=seed, spectra=spectra))
        if confidence is not None:
            _write_confidence(result.confidence, cube, confidence,
                              tmps[1 if output is not None else 0:])
        # before the temporaries are moved into place: a cancel here still leaves nothing
        report_progress(callback, steps["total"], steps["total"], "clustering")
    return result


def _confidence_files(confidence: str | os.PathLike) -> list[Path]:
    """The files a confidence output is: an ENVI one is a header and a data file (named as
    :func:`hsi.io.envi.write_envi` names them), any other one file."""
    from pathlib import Path

    from hsi.io import output_format

    path = Path(confidence)
    if output_format(confidence) != "envi":
        return [path]
    if path.suffix.lower() == ".hdr":
        return [path, path.with_suffix(".img")]
    return [path.with_suffix(".hdr"), path]


def _destinations(output: str | os.PathLike | None, confidence: str | os.PathLike | None
                  ) -> list[str | os.PathLike]:
    """Every file a run writes (the class map, the confidence's one or two files), staged
    together by :func:`~hsi.io.atomic.atomic_files`: all of them or none."""
    outputs = [output] if output is not None else []
    if confidence is not None:
        outputs += _confidence_files(confidence)
    return outputs


def _write_confidence(conf: np.ndarray, cube: Cube, confidence: str | os.PathLike,
                      tmps: list[Path]) -> None:
    """Write the confidence ``(H, W)`` into its staged temporaries ``tmps`` (those of
    :func:`_confidence_files`): an ENVI pair is written as one cube, then its header and data
    file are moved onto their own temporaries (ENVI names the header after the data file,
    which a temporary's name would not give)."""
    import contextlib
    import os

    from hsi.cube import Cube
    from hsi.io import output_format, save

    fmt = output_format(confidence)
    image = Cube(conf[None], crs=cube.crs, transform=cube.transform, name="cluster confidence")
    if fmt != "envi":
        save(image, tmps[0], format=fmt)
        return
    tmp_hdr, tmp_data = tmps
    written_hdr = None
    try:
        written_hdr = save(image, tmp_data, format="envi")  # header beside: DATA.hdr
        os.replace(written_hdr, tmp_hdr)
    finally:
        if written_hdr is not None:
            with contextlib.suppress(OSError):
                os.unlink(written_hdr)


def _class_map_tags(result: ClusterResult, *, seed: int,
                    spectra: str | None) -> dict[str, str]:
    """How the class map was made, as its GeoTIFF tags: ``CLUSTER_METHOD``, ``CLUSTER_K``,
    ``CLUSTER_SEED``, ``CLUSTER_CRITERION``, ``CLUSTER_SPECTRA``, and, when the features left
    empty bands out, ``CLUSTER_BANDS_LEFT_OUT`` (band numbers from 1, comma-separated)."""
    from hsi.clustering.features import SPECTRA

    tags = {"CLUSTER_METHOD": result.method, "CLUSTER_K": str(result.k),
            "CLUSTER_SEED": str(seed), "CLUSTER_CRITERION": result.criterion,
            "CLUSTER_SPECTRA": spectra or SPECTRA}
    left_out = result.info.get("bands_left_out")
    if left_out:
        tags["CLUSTER_BANDS_LEFT_OUT"] = ",".join(str(b + 1) for b in left_out)
    return tags


def _sample_mosaic(reader: WindowReader) -> Cube:
    """:data:`FIT_WINDOWS` windows spread over the scene, side by side in one cube."""
    import numpy as np

    from hsi.tiling import spread_windows

    cube = reader.cube
    windows = spread_windows(cube.height, cube.width, FIT_WINDOW, FIT_WINDOWS)
    parts = [np.asarray(reader.read(w).data) for w in windows]
    return cube.with_data(np.concatenate(parts, axis=2), crs=None, transform=None)


def _train_steps(method: str, cfg: DataclassInstance | dict[str, Any] | None) -> int:
    """Training steps of a method's fit (0 for k-means): progress steps of a tiled run."""
    if method == "spectralnet":
        from hsi.clustering.spectralnet import SpectralNetConfig

        return int((cfg or SpectralNetConfig()).steps)
    if method == "cc":
        from hsi.clustering.contrastive import ContrastiveConfig

        return int((cfg or ContrastiveConfig()).steps)
    if method == "dinknet":
        from hsi.clustering.dinknet import DinkNetConfig

        cfg = cfg or DinkNetConfig()
        return int(cfg.pretrain_steps + cfg.finetune_steps)
    return 0


def _model_halo(method: str, cfg: DataclassInstance | dict[str, Any] | None) -> int:
    """Context a pixel's assignment reads, known before the fit: the features' neighbourhood
    radius (default features, as :func:`~hsi.clustering.features.pixel_features`), or the
    patch radius of ``cc``."""
    from hsi.clustering.features import SPATIAL_RADII

    if method == "cc":
        from hsi.clustering.contrastive import ContrastiveConfig

        return int((cfg or ContrastiveConfig()).patch_size) // 2
    return max(SPATIAL_RADII, default=0)


def _assign_tile(model: ClusterModel, feats: PixelFeatures, core_mask: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Class ids 1..k (0 = nodata) and confidence (0 on nodata) of a tile's core.

    ``feats`` covers the tile's read window, ``core_mask`` (bool, same shape) its core; the
    result has the core's shape.
    """
    rows = np.flatnonzero(core_mask.any(axis=1))
    cols = np.flatnonzero(core_mask.any(axis=0))
    core = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    valid = feats.valid[core]
    out_l = np.zeros(valid.shape, dtype=np.uint8)
    out_c = np.zeros(valid.shape, dtype=np.float32)
    if valid.any():
        tile_labels, tile_conf = model.assign(feats, core_mask)
        out_l[valid] = tile_labels.astype(np.uint8) + 1
        out_c[valid] = np.clip(tile_conf, 0, 1)
    return out_l, out_c


def _cluster_tiled(cube: Cube, k: int | str, output: str | os.PathLike | None, *, method: str,
                   seed: int, confidence: str | os.PathLike | None, progress: bool,
                   callback: ProgressCallback | None, tile: int, device: str = "auto",
                   config: DataclassInstance | Mapping[str, Any] | None = None,
                   spectra: str | None = None) -> ClusterResult:
    """Fit on a sample of the scene, then assign and write tile by tile (the scene engine).

    The model (:func:`hsi.clustering.api.fit_model`: k-means centres, or a trained network)
    and the feature PCA are fitted on the :func:`_sample_mosaic` as :func:`cluster` fits
    them; each tile's features come from the same PCA
    (:meth:`~hsi.clustering.features.PixelFeatures.apply`) over the tile and a halo of
    ``model.halo`` pixels, and ``model.assign`` labels the core. Pixels with a NaN/infinite
    band or all bands equal to the nodata value are left out of the fit and get 0, confidence 0.
    """
    import contextlib
    import time

    from hsi.clustering.api import (
        ClusterResult,
        _config,
        bands_info,
        check_k_request,
        cluster_count,
        fit_model,
    )
    from hsi.clustering.features import pixel_features
    from hsi.device import pick_device, seed_everything
    from hsi.engine import SceneProgress, WindowReader, run_tiles
    from hsi.errors import ShapeError
    from hsi.io import output_format
    from hsi.io.atomic import atomic_files
    from hsi.io.geotiff import GeoTiffTileWriter
    from hsi.io.labels import write_class_map
    from hsi.tiling import tile_windows

    start = time.perf_counter()
    check_k_request(k)
    dev = pick_device(device)
    cfg = _config(method, config)
    reader = WindowReader(cube)
    h, w = cube.height, cube.width
    halo = _model_halo(method, cfg)
    # a read window at least 2 halo + 1 wide: padding at the scene border stays as untiled
    tiles = tile_windows(h, w, tile=tile, overlap=halo, min_read=2 * halo + 1)
    train_steps = _train_steps(method, cfg)
    labels = np.zeros((h, w), dtype=np.uint8)
    conf = np.zeros((h, w), dtype=np.float32)
    fitted: dict = {}

    def compute(t: Tile, part: Cube) -> tuple[np.ndarray, np.ndarray]:
        feats = fitted["feats"].apply(part.data, cube.nodata)  # the tile and its halo only
        r0, c0 = int(t.core.row_off - t.read.row_off), int(t.core.col_off - t.read.col_off)
        core_mask = np.zeros(feats.shape, dtype=bool)
        core_mask[r0:r0 + int(t.core.height), c0:c0 + int(t.core.width)] = True
        return _assign_tile(fitted["model"], feats, core_mask)

    outputs = _destinations(output, confidence)  # none: arrays only
    tiff_conf = confidence is not None and output_format(confidence) == "geotiff"
    with SceneProgress(train_steps + len(tiles) + 2, what="clustering", progress=progress,
                       callback=callback) as bar, atomic_files(outputs) as tmps, \
            contextlib.ExitStack() as stack:
        stack.enter_context(reader)  # the file kept open for the sample and the tiles
        seed_everything(seed)
        feats = pixel_features(_sample_mosaic(reader), seed=seed, nonfinite="nodata",
                               spectra=spectra)
        x = feats.pixels()
        k, criterion = cluster_count(k, feats, seed)
        seed_everything(seed)
        model = fit_model(method, feats, x, int(k), cfg, seed=seed, device=dev,
                          progress=progress,
                          callback=(lambda done, total: bar.advance(1) if done else None)
                          if train_steps else None)
        if model.halo > halo:  # features other than the defaults
            raise ShapeError(f"cluster_file: the {method} model reads {model.halo} pixels "
                             f"around each pixel, more than the tile halo {halo}")
        fitted.update(feats=feats, model=model)
        fit_pixels = int(feats.n_pixels)
        del x
        bar.advance(train_steps + 1 - bar.done)  # the fit
        conf_writer = stack.enter_context(GeoTiffTileWriter(
            tmps[-1], bands=1, height=h, width=w, dtype="float32", crs=cube.crs,
            transform=cube.transform, nodata=None, wavelengths=None,
            fwhm=None)) if tiff_conf else None

        def write(t: Tile, result: tuple[np.ndarray, np.ndarray]) -> None:
            rows = slice(int(t.core.row_off), int(t.core.row_off + t.core.height))
            cols = slice(int(t.core.col_off), int(t.core.col_off + t.core.width))
            labels[rows, cols], conf[rows, cols] = result
            if conf_writer is not None:
                conf_writer.write(result[1], t.core)

        run_tiles(tiles, lambda t: reader.read(t.read), compute, write, bar=bar)
        stack.close()  # the confidence GeoTIFF is complete
        result = ClusterResult(labels=labels, confidence=conf, method=method, k=int(k),
                               criterion=criterion, seconds=time.perf_counter() - start,
                               info={"tiles": len(tiles), "fit_pixels": fit_pixels,
                                     **bands_info(feats, cube.bands)})
        if output is not None:
            write_class_map(tmps[0], labels, crs=cube.crs, transform=cube.transform,
                            class_names=result.class_names, nodata=0,
                            tags=_class_map_tags(result, seed=seed, spectra=spectra))
        if confidence is not None and not tiff_conf:
            _write_confidence(conf, cube, confidence, tmps[1 if output is not None else 0:])
        bar.advance(1)  # written; a cancel here still leaves nothing
    return result
