"""Whole-scene prediction in tiles: network probabilities, optional dense CRF, class map.

Each tile is read with a halo (the patch radius plus the CRF's reach) so that pixels near tile
edges see the same neighbours as in a whole-scene run; for a scene smaller than one tile the
result is exactly the whole-scene one. Tiling, reading, threads, progress and cancellation are
the scene engine's (:mod:`hsi.engine`); this module only classifies one tile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from rasterio.windows import Window

from hsi.classification.crf import CrfParams, crf_refine
from hsi.classification.train import predict_probabilities
from hsi.cube import valid_mask
from hsi.progress import ProgressCallback
from hsi.tiling import Tile

if TYPE_CHECKING:
    from hsi.classification.pipeline import Classifier
    from hsi.cube import Cube

#: Default tile side (pixels) for prediction.
TILE = 512


@dataclass
class TileResult:
    """Prediction of one tile.

    Attributes
    ----------
    window : rasterio.windows.Window
        Where the tile lies in the scene.
    class_map : numpy.ndarray, uint8, shape (h, w)
        1..K, 0 for nodata.
    probabilities : numpy.ndarray, float32, shape (K, h, w)
        Final class probabilities (CRF marginals when the CRF is used); 0 at nodata.
    valid : numpy.ndarray of bool, shape (h, w)
    """

    window: Window
    class_map: np.ndarray
    probabilities: np.ndarray
    valid: np.ndarray


def entropy(probabilities: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Shannon entropy of per-pixel class probabilities, in nats.

    Parameters
    ----------
    probabilities : numpy.ndarray, shape (K, H, W)
    valid : numpy.ndarray of bool, shape (H, W), optional
        Invalid pixels get NaN.

    Returns
    -------
    numpy.ndarray, float32, shape (H, W)
        0 for a certain pixel, ``log K`` for a uniform one.
    """
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(0)
    h = h.astype(np.float32)
    if valid is not None:
        h[~valid] = np.nan
    return h


def predict_tile(classifier: Classifier, data: np.ndarray, t: Tile, height: int, width: int,
                 *, use_crf: bool = True, nodata: float | None = None) -> TileResult:
    """Classify the core of tile ``t`` from ``data``, the cube's pixels over ``t.read``.

    ``t.read`` is the core grown by :func:`halo` (clipped to the ``height × width`` scene), so
    every core pixel sees the same neighbours as in a whole-scene run; where the read window
    touches the scene border the features are reflect-padded as the whole scene would be.
    ``data`` holds every band of the scene, ``(classifier.bands, h, w)``; the model reads its
    :attr:`~hsi.classification.Classifier.input_bands`.
    """
    config = classifier.config
    r = config.radius
    h, w = int(height), int(width)
    er0, ec0 = int(t.read.row_off), int(t.read.col_off)
    er1, ec1 = er0 + int(t.read.height), ec0 + int(t.read.width)
    # the bands the model reads (an empty band of the training scene left out)
    data = classifier.used_bands(np.asarray(data, dtype=np.float32))
    valid = valid_mask(data, nodata)
    feats = classifier.pca.transform(data, valid)
    # reflect-pad only where the window touches the scene border; inside the scene the
    # halo already holds the real neighbours
    pads = ((0, 0), (r if er0 == 0 else 0, r if er1 == h else 0),
            (r if ec0 == 0 else 0, r if ec1 == w else 0))
    padded = _pad_sides(feats, pads)
    # pixels of the read window whose full patch is inside `padded`
    top, left = r - pads[1][0], r - pads[2][0]
    bottom, right = r - pads[1][1], r - pads[2][1]
    inner = feats[:, top:feats.shape[1] - bottom, left:feats.shape[2] - right]
    prob = predict_probabilities(classifier.model, inner, config.patch_size, padded=padded)
    ivalid = valid[top:valid.shape[0] - bottom, left:valid.shape[1] - right]
    if use_crf:
        guide = inner[: config.crf_components]
        prob = crf_refine(prob, guide, CrfParams.from_config(config), valid=ivalid)
    # crop the inner grid to the core
    r0, c0 = int(t.core.row_off), int(t.core.col_off)
    th, tw = int(t.core.height), int(t.core.width)
    rr0, cc0 = r0 - (er0 + top), c0 - (ec0 + left)
    prob = prob[:, rr0:rr0 + th, cc0:cc0 + tw]
    tvalid = ivalid[rr0:rr0 + th, cc0:cc0 + tw]
    prob = np.where(tvalid[None], prob, np.float32(0.0)).astype(np.float32)
    cmap = (prob.argmax(0) + 1).astype(np.uint8)
    cmap[~tvalid] = 0
    return TileResult(window=t.core, class_map=cmap, probabilities=prob, valid=tvalid)


def halo(classifier: Classifier, use_crf: bool = True) -> int:
    """Pixels read around each tile: the patch radius, plus the CRF's reach with the CRF."""
    config = classifier.config
    return int(config.radius) + (CrfParams.from_config(config).reach if use_crf else 0)


#: Median brightness ratio (either way) past which a cube is taken to be in other units than
#: the training scene's (reflectance × 10 000 against reflectance: 10 000).
UNITS_RATIO = 5.0


def warn_if_other_units(classifier: Classifier, cube: Cube, samples: int = 65536) -> float | None:
    """Log one warning when ``cube``'s spectra are far brighter or darker than the training
    scene's (median norm, :meth:`PcaTransform.brightness_ratio`, on at most ``samples``
    pixels read on a regular grid): a cube in other units (reflectance × 10 000 given to a
    model trained on reflectance) gets wrong classes, every pixel the brightest class's.

    Returns
    -------
    float or None
        The ratio, ``None`` when the features do not depend on brightness.
    """
    import logging
    import math

    step = max(1, math.ceil(math.sqrt(cube.height * cube.width / samples)))
    sample = classifier.used_bands(np.asarray(cube.data[:, ::step, ::step], dtype=np.float64))
    ratio = classifier.pca.brightness_ratio(sample.reshape(sample.shape[0], -1))
    if ratio is not None and not 1 / UNITS_RATIO <= ratio <= UNITS_RATIO:
        times = f"{ratio:,.0f}×" if ratio > 1 else f"1/{1 / ratio:,.0f}"
        logging.getLogger(__name__).warning(
            "%s: its spectra are %s as bright as the training scene's (median norm): a cube "
            "in other units (e.g. reflectance × 10 000) gets wrong classes; give it in the "
            "training scene's units", cube.name or "cube", times)
    return ratio


def predict_scene(classifier: Classifier, cube: Cube, write: Callable[[TileResult], None], *,
                  use_crf: bool = True, tile: int = TILE, progress: bool = False,
                  callback: ProgressCallback | None = None) -> int:
    """Classify a scene tile by tile through the scene engine (:mod:`hsi.engine`).

    Tiles come from :func:`hsi.tiling.tile_windows` with a :func:`halo` overlap; the next
    tile is read (from the file, for a lazy cube) while the current one is classified, and
    ``write`` runs in the engine's writer thread.

    Parameters
    ----------
    classifier : hsi.classification.Classifier
    cube : hsi.Cube
        Same band count as the classifier was trained on (checked by the caller); lazy or
        in memory. A band the model reads must have data (:meth:`Classifier.check_bands`,
        checked here).
    write : callable
        ``write(TileResult)``, once per tile, in scene order.
    use_crf : bool
    tile : int
        Tile side in pixels.
    progress : bool
        tqdm bar over tiles on stderr.
    callback : callable, optional
        ``callback(done_tiles, total_tiles)`` (:mod:`hsi.progress`); return ``True`` to stop
        (:class:`~hsi.errors.Cancelled`).

    Returns
    -------
    int
        Number of tiles.

    Raises
    ------
    DataError
        A band the model reads has no valid value in ``cube`` (all NaN or nodata), before
        any tile is read.
    """
    from hsi.engine import SceneProgress, WindowReader, run_tiles
    from hsi.tiling import tile_windows

    classifier.check_bands(cube)
    warn_if_other_units(classifier, cube)
    reader = WindowReader(cube)
    h, w = cube.height, cube.width
    tiles = tile_windows(h, w, tile=tile, overlap=halo(classifier, use_crf))

    def compute(t: Tile, part: Cube) -> TileResult:
        return predict_tile(classifier, part.data, t, h, w, use_crf=use_crf, nodata=cube.nodata)

    with reader, SceneProgress(len(tiles), what="predicting", progress=progress,
                               callback=callback) as bar:
        run_tiles(tiles, lambda t: reader.read(t.read), compute, lambda _t, res: write(res),
                  bar=bar)
    return len(tiles)


def predict_arrays(classifier: Classifier, cube: Cube, *, use_crf: bool = True, tile: int = TILE,
                   progress: bool = False, callback: ProgressCallback | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Classify a scene tile by tile into arrays in memory (:func:`predict_scene`'s array sink).

    What the viewer's Classify dock runs: ``cube`` (lazy or in memory) is read window by
    window, so memory is bounded by the tile plus the two outputs; ``callback`` follows the
    tiles and stops between them. :func:`hsi.classification.pipeline.classify_to_files` runs
    the same :func:`predict_scene` with file sinks.

    Returns
    -------
    class_map : numpy.ndarray, uint8, shape (H, W)
        1..K; 0 where the pixel is NaN or nodata.
    probabilities : numpy.ndarray, float32, shape (K, H, W)
        0 at nodata pixels.

    Raises
    ------
    ModelError
        When the cube's bands do not match.
    DataError
        A band the model reads has no valid value in ``cube``.
    Cancelled
        When ``callback`` returns ``True``.
    """
    classifier.check_cube(cube)
    class_map = np.zeros((cube.height, cube.width), dtype=np.uint8)
    prob = np.zeros((classifier.n_classes, cube.height, cube.width), dtype=np.float32)

    def write(t: TileResult) -> None:
        r0, c0 = int(t.window.row_off), int(t.window.col_off)
        rows = slice(r0, r0 + int(t.window.height))
        cols = slice(c0, c0 + int(t.window.width))
        class_map[rows, cols] = t.class_map
        prob[:, rows, cols] = t.probabilities

    predict_scene(classifier, cube, write, use_crf=use_crf, tile=tile, progress=progress,
                  callback=callback)
    return class_map, prob


def _pad_sides(feats: np.ndarray,
               pads: tuple[tuple[int, int], tuple[int, int], tuple[int, int]]) -> np.ndarray:
    """Reflect-pad only the sides listed in ``pads`` (narrow images fall back to edge)."""
    need = max(max(p) for p in pads[1:])
    if need == 0:
        return feats
    mode = "reflect" if min(feats.shape[1:]) > need else "edge"
    return np.pad(feats, pads, mode=mode)
