"""Clustering a cube file into a class map file (what ``hsi cluster`` runs).

A scene up to :data:`WHOLE_SCENE_PIXELS` (or a method outside :data:`TILED_METHODS`) is
clustered whole by :func:`hsi.clustering.cluster`; a larger one runs on the scene engine
(:mod:`hsi.engine`): a global fit on a sample of windows, then assignment tile by tile.

>>> from hsi.clustering import cluster_file
>>> result = cluster_file("scene.tif", 6, "clusters.tif", method="kmeans")  # doctest: +SKIP
>>> result.k                                                                # doctest: +SKIP
6
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from hsi.progress import ProgressCallback, report_progress

if TYPE_CHECKING:
    from hsi.clustering.api import ClusterResult

__all__ = ["TILED_METHODS", "WHOLE_SCENE_PIXELS", "cluster_file"]

#: Methods :func:`cluster_file` can fit on a sample and apply tile by tile (nearest centre).
TILED_METHODS = ("kmeans",)
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
        and the k-means centres are fitted on a sample of :data:`FIT_WINDOWS` windows of
        :data:`FIT_WINDOW` pixels spread over the scene, then every tile (read with a halo
        of the neighbourhood radius) is assigned to its nearest centre and written. Only for
        :data:`TILED_METHODS`; default: when the scene has more than
        :data:`WHOLE_SCENE_PIXELS` pixels. The result equals the untiled assignment with the
        same fit (any ``tile``); it differs from fitting on every pixel. Non-finite pixels
        get 0 (nodata) instead of an error.
    tile : int
        Tile side of a tiled run, pixels.

    Returns
    -------
    ClusterResult
        Labels and confidence ``(H, W)``, the method, ``k`` and how it was chosen.

    Raises
    ------
    HsiIOError, FormatError
        Unreadable cube or unwritable outputs.
    ShapeError, ConfigError
        From :func:`hsi.clustering.cluster` (``k`` out of range, unknown method or device).
    Cancelled
        When ``callback`` returns ``True``.

    Nothing is written unless both files are complete: they replace their destinations
    together, atomically.
    """
    from hsi.clustering.api import cluster
    from hsi.cube import Cube
    from hsi.io import open as open_cube
    from hsi.io import output_format, save
    from hsi.io.atomic import atomic_files
    from hsi.io.labels import write_class_map

    cube = open_cube(cube_path, var=var, lazy=True)  # GeoTIFF/ENVI: read by windows
    method = str(method).lower()
    if tiled is None:
        tiled = method in TILED_METHODS and cube.height * cube.width > WHOLE_SCENE_PIXELS
    if tiled and method in TILED_METHODS:
        return _cluster_tiled(cube, k, output, method=method, seed=seed, confidence=confidence,
                              progress=progress, callback=callback, tile=tile)

    steps = {"total": 1}

    def clustering_callback(done: int, total: int) -> bool | None:  # one step more: writing
        steps["total"] = total + 1
        return callback(done, total + 1)

    result = cluster(cube, k, method=method, seed=seed, device=device, progress=progress,
                     callback=clustering_callback if callback is not None else None)
    outputs = [output] + ([confidence] if confidence is not None else [])
    with atomic_files(outputs) as tmps:  # both files or neither
        write_class_map(tmps[0], result.labels, crs=cube.crs, transform=cube.transform,
                        class_names=result.class_names)
        if confidence is not None:
            save(Cube(result.confidence[None], crs=cube.crs, transform=cube.transform,
                      name="cluster confidence"), tmps[1], format=output_format(confidence))
        # before the temporaries are moved into place: a cancel here still leaves nothing
        report_progress(callback, steps["total"], steps["total"], "clustering")
    return result


def _sample_mosaic(reader):
    """:data:`FIT_WINDOWS` windows spread over the scene, side by side in one cube."""
    import numpy as np

    from hsi.tiling import spread_windows

    cube = reader.cube
    windows = spread_windows(cube.height, cube.width, FIT_WINDOW, FIT_WINDOWS)
    parts = [np.asarray(reader.read(w).data) for w in windows]
    return cube.with_data(np.concatenate(parts, axis=2), crs=None, transform=None)


def _cluster_tiled(cube, k, output, *, method: str, seed: int, confidence, progress: bool,
                   callback: ProgressCallback | None, tile: int) -> ClusterResult:
    """Fit on a sample of the scene, then assign and write tile by tile (the scene engine)."""
    import contextlib
    import time

    import numpy as np

    from hsi.classification.features import valid_mask
    from hsi.clustering.api import ClusterResult, check_k
    from hsi.clustering.baselines import assign_to_centres, kmeans_centres
    from hsi.clustering.features import PixelFeatures, pixel_features
    from hsi.device import seed_everything
    from hsi.engine import SceneProgress, WindowReader, run_tiles
    from hsi.errors import ShapeError
    from hsi.io import output_format
    from hsi.io.atomic import atomic_files
    from hsi.io.geotiff import GeoTiffTileWriter
    from hsi.io.labels import write_class_map
    from hsi.tiling import crop_to_core, tile_windows

    start = time.perf_counter()
    if isinstance(k, str) and k.lower() != "auto":
        raise ShapeError(f"k: expected an integer number of clusters or 'auto', got {k!r}")
    reader = WindowReader(cube)
    h, w = cube.height, cube.width
    seed_everything(seed)
    feats = pixel_features(_sample_mosaic(reader), seed=seed)
    x = feats.pixels()
    criterion = "given"
    if isinstance(k, str):
        from hsi.clustering.auto_k import estimate_k

        k, criterion = estimate_k(x, seed=seed)
    check_k(k, len(x))
    centres = kmeans_centres(x, int(k), seed=seed)
    del x
    halo = max(feats.radii) if feats.spatial else 0
    tiles = tile_windows(h, w, tile=tile, overlap=halo)
    labels = np.zeros((h, w), dtype=np.uint8)
    conf = np.zeros((h, w), dtype=np.float32)

    def compute(t, part):
        data = np.asarray(part.data)
        valid = valid_mask(data, cube.nodata)
        image = feats.pca.transform(data, valid)
        image[:, ~valid] = 0
        stacked = crop_to_core(PixelFeatures(image=image, valid=valid, pca=feats.pca,
                                             spatial=feats.spatial, radii=feats.radii).stacked(),
                               t)
        core = crop_to_core(valid, t)
        tile_labels, tile_conf = assign_to_centres(
            np.ascontiguousarray(stacked[:, core].T, dtype=np.float32), centres)
        out_l = np.zeros(core.shape, dtype=np.uint8)
        out_c = np.zeros(core.shape, dtype=np.float32)
        out_l[core] = tile_labels.astype(np.uint8) + 1
        out_c[core] = np.clip(tile_conf, 0, 1)
        return out_l, out_c

    outputs = [output] + ([confidence] if confidence is not None else [])
    tiff_conf = confidence is not None and output_format(confidence) == "geotiff"
    with SceneProgress(len(tiles) + 2, what="clustering", progress=progress,
                       callback=callback) as bar, atomic_files(outputs) as tmps, \
            contextlib.ExitStack() as stack:
        bar.advance(1)  # the fit
        conf_writer = stack.enter_context(GeoTiffTileWriter(
            tmps[1], bands=1, height=h, width=w, dtype="float32", crs=cube.crs,
            transform=cube.transform, nodata=None, wavelengths=None,
            fwhm=None)) if tiff_conf else None

        def write(t, result) -> None:
            rows = slice(int(t.core.row_off), int(t.core.row_off + t.core.height))
            cols = slice(int(t.core.col_off), int(t.core.col_off + t.core.width))
            labels[rows, cols], conf[rows, cols] = result
            if conf_writer is not None:
                conf_writer.write(result[1], t.core)

        run_tiles(tiles, lambda t: reader.read(t.read), compute, write, bar=bar)
        stack.close()  # the confidence GeoTIFF is complete
        result = ClusterResult(labels=labels, confidence=conf, method=method, k=int(k),
                               criterion=criterion, seconds=time.perf_counter() - start,
                               info={"tiles": len(tiles), "fit_pixels": int(feats.n_pixels)})
        write_class_map(tmps[0], labels, crs=cube.crs, transform=cube.transform,
                        class_names=result.class_names)
        if confidence is not None and not tiff_conf:
            from hsi.cube import Cube
            from hsi.io import save

            save(Cube(conf[None], crs=cube.crs, transform=cube.transform,
                      name="cluster confidence"), tmps[1], format=output_format(confidence))
        bar.advance(1)  # written; a cancel here still leaves nothing
    return result
