"""Whole-scene prediction in tiles: network probabilities, optional dense CRF, class map.

Each tile is read with a halo (the patch radius plus the CRF's reach) so that pixels near tile
edges see the same neighbours as in a whole-scene run; for a scene smaller than one tile the
result is exactly the whole-scene one.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from hsi.classification.crf import CrfParams, crf_refine
from hsi.classification.features import valid_mask
from hsi.classification.train import predict_probabilities

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


def iter_tiles(height: int, width: int, tile: int) -> Iterator[Window]:
    """Row-major windows of at most ``tile × tile`` covering the grid."""
    for r0 in range(0, height, tile):
        for c0 in range(0, width, tile):
            yield Window(c0, r0, min(tile, width - c0), min(tile, height - r0))


def predict_tiles(classifier, cube, *, use_crf: bool = True, tile: int = TILE,
                  progress: bool = False) -> Iterator[TileResult]:
    """Classify a scene tile by tile.

    Parameters
    ----------
    classifier : hsi.classification.Classifier
    cube : hsi.Cube
        Same band count as the classifier was trained on (checked by the caller).
    use_crf : bool
    tile : int
        Tile side in pixels.
    progress : bool

    Yields
    ------
    TileResult
    """
    from tqdm.auto import tqdm

    config = classifier.config
    r = config.radius
    params = CrfParams.from_config(config)
    halo = r + (params.reach if use_crf else 0)
    h, w = cube.height, cube.width
    windows = list(iter_tiles(h, w, tile))
    for win in tqdm(windows, disable=not progress or len(windows) < 2, file=sys.stderr,
                    desc="predicting", unit="tile", leave=False):
        r0, c0 = int(win.row_off), int(win.col_off)
        th, tw = int(win.height), int(win.width)
        er0, ec0 = max(0, r0 - halo), max(0, c0 - halo)
        er1, ec1 = min(h, r0 + th + halo), min(w, c0 + tw + halo)
        ext = cube.crop(Window(ec0, er0, ec1 - ec0, er1 - er0))
        data = np.asarray(ext.data, dtype=np.float32)
        valid = valid_mask(data, cube.nodata)
        feats = classifier.pca.transform(data, valid)
        # reflect-pad only where the window touches the scene border; inside the scene the
        # halo already holds the real neighbours
        pads = ((0, 0), (r if er0 == 0 else 0, r if er1 == h else 0),
                (r if ec0 == 0 else 0, r if ec1 == w else 0))
        padded = _pad_sides(feats, pads)
        # pixels of the extended window whose full patch is inside `padded`
        top, left = r - pads[1][0], r - pads[2][0]
        bottom, right = r - pads[1][1], r - pads[2][1]
        inner = feats[:, top:feats.shape[1] - bottom, left:feats.shape[2] - right]
        prob = predict_probabilities(classifier.model, inner, config.patch_size,
                                     padded=padded)
        ivalid = valid[top:valid.shape[0] - bottom, left:valid.shape[1] - right]
        if use_crf:
            guide = inner[: config.crf_components]
            prob = crf_refine(prob, guide, params, valid=ivalid)
        # crop the inner grid to the tile
        rr0, cc0 = r0 - (er0 + top), c0 - (ec0 + left)
        prob = prob[:, rr0:rr0 + th, cc0:cc0 + tw]
        tvalid = ivalid[rr0:rr0 + th, cc0:cc0 + tw]
        prob = np.where(tvalid[None], prob, np.float32(0.0)).astype(np.float32)
        cmap = (prob.argmax(0) + 1).astype(np.uint8)
        cmap[~tvalid] = 0
        yield TileResult(window=win, class_map=cmap, probabilities=prob, valid=tvalid)


def _pad_sides(feats: np.ndarray, pads) -> np.ndarray:
    """Reflect-pad only the sides listed in ``pads`` (narrow images fall back to edge)."""
    need = max(max(p) for p in pads[1:])
    if need == 0:
        return feats
    mode = "reflect" if min(feats.shape[1:]) > need else "edge"
    return np.pad(feats, pads, mode=mode)
