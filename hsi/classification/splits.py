"""Train/test splits of a label raster: random stratified, or spatially disjoint blocks."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from hsi.check import is_whole_number
from hsi.errors import ConfigError, DataError, FormatError

if TYPE_CHECKING:
    from pathlib import Path

    from affine import Affine
    from numpy.typing import ArrayLike
    from rasterio.crs import CRS

    from hsi.labels import Labels


def _check_request(labels: np.ndarray, per_class: int | None, fraction: float | None,
                   mode: str) -> None:
    if labels.ndim != 2:
        raise FormatError(f"labels: expected a (H, W) raster, got shape {labels.shape}")
    if (per_class is None) == (fraction is None):
        raise ConfigError("split: give exactly one of per_class and fraction")
    if per_class is not None and not is_whole_number(per_class, 1):
        raise ConfigError(f"per_class: expected a whole number >= 1, got {per_class!r}")
    if fraction is not None and not 0.0 < fraction < 1.0:
        raise ConfigError(f"fraction: expected in (0, 1), got {fraction}")
    if mode not in ("random", "spatial"):
        raise ConfigError(f"mode: expected 'random' or 'spatial', got {mode!r}")
    if not (labels > 0).any():
        raise FormatError("labels: no labelled pixel (all 0)")


def _dilate(mask: np.ndarray, margin: int) -> np.ndarray:
    """Pixels within Chebyshev distance ``margin`` of a True pixel."""
    if margin <= 0:
        return mask.copy()
    from scipy.ndimage import maximum_filter

    return maximum_filter(mask.astype(np.uint8), size=2 * margin + 1, mode="constant") > 0


def split_labels(labels: Labels | ArrayLike, *, per_class: int | None = None,
                 fraction: float | None = None, mode: str = "random", seed: int = 0,
                 margin: int | None = None,
                 block: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Split labelled pixels into a training and a test raster.

    Parameters
    ----------
    labels : numpy.ndarray of int or hsi.labels.Labels, shape (H, W)
        0 = unlabelled, other values = class.
    per_class : int, optional
        Training pixels per class. A class of ``n <= per_class`` pixels gives ``n - 1`` (all
        but one, kept for testing in random mode); a class of a single pixel gives it to
        training and has no test pixel.
    fraction : float, optional
        Fraction of each class's pixels used for training (rounded, at least one and, from
        two pixels on, at most all but one per class).
    mode : {"random", "spatial"}
        ``random``: stratified random pixels; test = every other labelled pixel.
        ``spatial``: the scene is cut into ``block × block`` squares taken in a seeded random
        order; a class's training pixels come from the first blocks holding it (random pixels
        inside a block); test pixels lie outside every block that gave a training pixel *and*
        farther than ``margin`` pixels (Chebyshev) from every training pixel, so with
        ``margin = patch radius`` no test pixel's window contains a training pixel. Small or
        compact classes can lose all their test pixels this way (Indian Pines at 5 per
        class: several classes), and the AA of the test set then averages fewer classes.
    seed : int
        Seeds the choice of pixels (and blocks): the same seed, the same split.
    margin : int, optional
        Spatial mode only: the patch radius of the classifier (default: that of
        :class:`~hsi.classification.config.GanConfig`).
    block : int, optional
        Spatial mode block side in pixels (default ``max(8, min(H, W) // 6)``).

    Returns
    -------
    train, test : numpy.ndarray, same dtype and shape as ``labels``
        Disjoint label rasters (0 elsewhere). A warning is logged naming the classes left
        without any test pixel. Deterministic for a given ``seed``.

    Raises
    ------
    FormatError
        ``labels`` is not a 2-D raster, or has no labelled pixel.
    ConfigError
        Not exactly one of ``per_class`` (a whole number >= 1) and ``fraction`` (in (0, 1));
        an unknown ``mode``; ``seed`` not a whole number in 0..2**32 - 1.
    """
    from hsi.check import check_seed
    from hsi.labels import Labels

    names = labels.class_names if isinstance(labels, Labels) else None
    labels = np.asarray(labels.array if isinstance(labels, Labels) else labels)
    _check_request(labels, per_class, fraction, mode)
    seed = check_seed(seed)
    train, test = _split(labels, per_class, fraction, mode, seed, margin, block)
    untested = np.setdiff1d(np.unique(labels[labels > 0]), np.unique(test[test > 0]))
    if untested.size:
        import logging

        from hsi.classification.evaluate import named_codes

        logging.getLogger(__name__).warning(
            "split: class(es) %s have no test pixel left (%s); scores of the test set "
            "(AA, per-class accuracies) will not cover them",
            named_codes(untested.tolist(), names),
            "a single labelled pixel, used for training" if mode == "random" else
            "all near training pixels or in their blocks: fewer per class, a smaller margin "
            "or block, or a random split")
    return train, test


def _split(labels: np.ndarray, per_class: int | None, fraction: float | None, mode: str,
           seed: int, margin: int | None, block: int | None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    classes = np.unique(labels[labels > 0])
    train = np.zeros_like(labels)
    if mode == "random":
        for k in classes:
            idx = np.flatnonzero(labels == k)
            n = _count(len(idx), per_class, fraction)
            train.flat[rng.choice(idx, n, replace=False)] = k
        test = np.where(train > 0, 0, labels)
        return train, test

    if margin is None:
        from hsi.classification.config import GanConfig

        margin = GanConfig().radius
    h, w = labels.shape
    block = int(block or max(8, min(h, w) // 6))
    by, bx = np.divmod(np.arange(h * w), w)
    block_id = (by // block) * (-(-w // block)) + (bx // block)
    n_blocks = int(block_id.max()) + 1
    order = rng.permutation(n_blocks)
    rank = np.empty(n_blocks, dtype=np.int64)
    rank[order] = np.arange(n_blocks)
    used = np.zeros(n_blocks, dtype=bool)
    flat = labels.reshape(-1)
    for k in classes:
        idx = np.flatnonzero(flat == k)
        n = _count(len(idx), per_class, fraction)
        # this class's pixels sorted by the rank of their block, shuffled inside a block
        idx = idx[rng.permutation(len(idx))]
        idx = idx[np.argsort(rank[block_id[idx]], kind="stable")]
        chosen = idx[:n]
        train.flat[chosen] = k
        used[block_id[chosen]] = True
    train_region = used[block_id].reshape(h, w)
    near = _dilate(train > 0, margin) | train_region
    test = np.where(near, 0, labels)
    return train, test


def _count(available: int, per_class: int | None, fraction: float | None) -> int:
    if per_class is not None:
        return min(per_class, max(available - 1, 1))
    return max(1, min(available - 1, round(fraction * available))) if available > 1 else 1


def windows_overlap(train: np.ndarray, test: np.ndarray, radius: int) -> np.ndarray:
    """Test pixels whose ``(2 radius + 1)²`` window contains a training pixel.

    Returns
    -------
    numpy.ndarray of bool, shape (H, W)
    """
    return _dilate(np.asarray(train) > 0, radius) & (np.asarray(test) > 0)


def write_split(labels: Labels | ArrayLike, out_dir: str | os.PathLike, *,
                per_class: int | None = None, fraction: float | None = None,
                mode: str = "random", seed: int = 0, margin: int | None = None,
                crs: CRS | None = None,
                transform: Affine | None = None) -> tuple[Path, Path, int, int]:
    """Split ``labels`` (see :func:`split_labels`) and write ``train.tif`` and ``test.tif``.

    Both are single-band integer GeoTIFFs (uint8 when the values fit) with ``crs`` and
    ``transform``; they appear together or not at all. Labels with class names (a
    :class:`~hsi.labels.Labels` read from a class map) make both rasters class maps
    (:func:`hsi.io.labels.write_class_map`) with those names, codes and colours, so that a
    classifier trained on the split and its maps keep them.

    Parameters
    ----------
    labels : hsi.labels.Labels or numpy.ndarray of int, shape (H, W)
        A :class:`~hsi.labels.Labels` brings its CRS, transform, names and colours.
    crs, transform : optional
        Georeference (default: that of a :class:`~hsi.labels.Labels`).

    Returns
    -------
    (train_path, test_path, n_train, n_test)
    """
    from pathlib import Path

    import rasterio

    from hsi.io.atomic import atomic_files, check_writable_dir
    from hsi.labels import Labels

    names = None
    source = labels  # its class names name the classes a warning lists
    if isinstance(labels, Labels):
        crs = labels.crs if crs is None else crs
        transform = labels.transform if transform is None else transform
        names = labels.class_names
        colors = dict(zip(labels.codes, labels.colors, strict=True)) if labels.colors else {}
        labels = labels.array
    labels = np.asarray(labels)
    train, test = split_labels(source, per_class=per_class, fraction=fraction, mode=mode,
                               seed=seed, margin=margin)
    if int(test.max()) == 0:
        raise DataError("split: no test pixel left (fewer training pixels, or a smaller margin)")
    folder = check_writable_dir(out_dir)
    dests = [Path(folder) / "train.tif", Path(folder) / "test.tif"]
    if names:  # class maps: the input's names, codes and colours (defaults for the others)
        from hsi.io.labels import default_colors, write_class_map

        codes = sorted({*names, *(int(c) for c in np.unique(labels) if c > 0)})
        spare = iter(default_colors(len(codes)))
        palette = [colors.get(c) or next(spare) for c in codes]
        with atomic_files(dests) as tmps:
            for tmp, arr in zip(tmps, (train, test), strict=True):
                write_class_map(tmp, arr, crs=crs, transform=transform, codes=codes,
                                class_names=[names.get(c, f"class {c}") for c in codes],
                                colors=palette)
        return dests[0], dests[1], int((train > 0).sum()), int((test > 0).sum())
    dtype = "uint8" if int(labels.max()) <= 255 else "uint16"
    profile = {"driver": "GTiff", "count": 1, "height": labels.shape[0],
               "width": labels.shape[1], "dtype": dtype, "compress": "deflate"}
    if crs is not None:
        profile["crs"] = crs
    if transform is not None:
        profile["transform"] = transform
    with atomic_files(dests) as tmps:
        for tmp, arr in zip(tmps, (train, test), strict=True):
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(arr.astype(dtype), 1)
    return dests[0], dests[1], int((train > 0).sum()), int((test > 0).sum())
