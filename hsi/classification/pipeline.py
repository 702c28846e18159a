"""Train, save, load and apply the GAN + CRF classifier; the demo entry point.

>>> import tempfile
>>> from pathlib import Path
>>> from hsi.classification import GanConfig, split_labels, train_classifier, load_classifier
>>> from hsi.data import sample_cube, sample_labels
>>> cube = sample_cube(); labels, names = sample_labels()
>>> train_labels, test_labels = split_labels(labels, per_class=5, seed=0)
>>> quick = GanConfig(epochs=1, min_steps=20, members=1, patch_select="fixed", crf_select="fixed")
>>> clf = train_classifier(cube, train_labels, class_names=names, config=quick)  # a quick fit
>>> class_map, prob = clf.predict(cube)
>>> tmp = tempfile.TemporaryDirectory(); path = Path(tmp.name) / "model.pt"
>>> clf.save(path)
PosixPath('.../model.pt')
>>> clf = load_classifier(path)
>>> tmp.cleanup()
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hsi.bands import band_label, bands_with_data
from hsi.classification.config import GanConfig
from hsi.classification.context import select_patch_size
from hsi.classification.evaluate import refuse_string_names
from hsi.classification.features import PcaTransform, fit_pca
from hsi.classification.gan import Discriminator, DiscriminatorEnsemble
from hsi.cube import axis_order_hint, valid_mask
from hsi.errors import (
    ArgumentTypeError,
    ConfigError,
    FormatError,
    HsiError,
    ModelError,
    ShapeError,
)
from hsi.labels import Labels, as_labels
from hsi.progress import ProgressCallback

if TYPE_CHECKING:
    from collections.abc import Sequence

    import torch
    from affine import Affine
    from rasterio.crs import CRS
    from rasterio.windows import Window

    from hsi.classification.predict import TileResult
    from hsi.cube import Cube

log = logging.getLogger(__name__)

#: ``kind`` of classifier checkpoints.
CHECKPOINT_KIND = "gan_crf_classifier"


def check_labels(labels: np.ndarray | Labels, cube: Cube,
                 class_names: Sequence[str] | dict[int, str] | None = None, *,
                 labels_crs: CRS | None = None, labels_transform: Affine | None = None,
                 name: str = "labels") -> int:
    """Check a training label raster against its cube; return the class count K.

    Classes are the positive codes present (any integers up to 65 535: Salinas' 1, 10–14,
    land-cover codes 11, 21, 41...), see :func:`class_codes`.

    Parameters
    ----------
    labels : hsi.labels.Labels or numpy.ndarray of int, shape (H, W)
        A :class:`~hsi.labels.Labels` brings its own CRS, transform and class names.
    cube : hsi.Cube
    class_names : list of str or dict, optional
        Overrides the names of a :class:`~hsi.labels.Labels`.
    labels_crs, labels_transform : optional
        Georeference of a bare array.

    Raises
    ------
    ShapeError
        The raster is not ``(H, W)`` of the cube (the message says so when the cube looks
        built from an ``(H, W, bands)`` array).
    GridError
        Both have a CRS/transform and they differ (:meth:`hsi.labels.Labels.check_grid`).
    FormatError
        Negative values, fewer than two classes, names that do not fit the codes, or (names
        given as a list of K names for codes 1..K) a class without pixels.
    """
    labels = as_labels(labels, crs=labels_crs, transform=labels_transform)
    try:
        labels.check_grid(cube, name=name)
    except ShapeError as exc:
        if labels.array.shape != (cube.bands, cube.height):
            raise
        raise ShapeError(f"{exc}{axis_order_hint(cube)}", actual_shape=exc.actual_shape,
                         expected_shape=exc.expected_shape) from None
    if class_names is None:
        class_names = labels.class_names
    codes, _ = class_codes(labels.array, class_names, name=name)
    return len(codes)


def warn_if_fill_value_code(labels: np.ndarray, name: str = "labels", use: str = "trained"
                            ) -> int:
    """Warn (one log line) when unnamed training labels hold their dtype's largest value.

    255 in a uint8 raster (65535 in uint16) usually marks unlabelled pixels, not a class; a
    raster that declares it as its nodata has it unlabelled by the readers already
    (:func:`hsi.io.labels.unlabelled_nodata`), a bare array or an undeclared one does not.
    It is still trained as a class (a legal code): the warning says how to drop it.

    Parameters
    ----------
    labels : numpy.ndarray of int, shape (H, W)
    name : str
        What the message calls the labels.
    use : str
        What becomes of the pixels: they are "trained" (or "split", "scored") as a class.

    Returns
    -------
    int
        The pixels holding that value (0: no warning).
    """
    if labels.dtype not in (np.uint8, np.uint16):
        return 0
    fill = int(np.iinfo(labels.dtype).max)
    pixels = int(np.count_nonzero(labels == fill))
    if pixels:
        log.warning("%s: %d pixel(s) hold %d, the largest %s value, and are %s as class "
                    "%d; if %d marks unlabelled pixels, set them to 0 (or declare %d as the "
                    "label raster's nodata)", name, pixels, fill, labels.dtype, use, fill, fill,
                    fill)
    return pixels


def class_codes(labels: np.ndarray, class_names: Sequence[str] | dict[int, str] | None = None, *,
                name: str = "labels") -> tuple[list[int], list[str]]:
    """The class codes of a label raster and one name per code.

    Parameters
    ----------
    labels : numpy.ndarray of int, shape (H, W)
        0 = unlabelled; any positive codes (≤ 65 535).
    class_names : list of str or dict, optional
        A dict ``{code: name}``; or a list, read as the names of codes ``1..len(list)``
        when it is that long (every one of those codes must then be labelled), else as the
        names of the codes present in increasing order.

    Returns
    -------
    codes : list of int
        The positive codes present, increasing.
    names : list of str
        One name per code (``"class <code>"`` without names).

    Raises
    ------
    FormatError
        Non-integer or negative values, fewer than two classes, or names that do not fit.
    ArgumentTypeError
        ``class_names`` is a string (its letters would be read as names).
    """
    from hsi.io.labels import MAX_CODE

    refuse_string_names(class_names)
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iub":
        raise FormatError(f"{name}: expected integer class values, got {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() > MAX_CODE):
        bad = int(labels.min()) if labels.min() < 0 else int(labels.max())
        raise FormatError(f"{name}: class values must lie in 0..{MAX_CODE} (0 = unlabelled), "
                          f"got {bad}")
    codes = [int(c) for c in np.unique(labels) if c > 0]
    if isinstance(class_names, dict):
        missing = [c for c in codes if c not in class_names]
        if missing:
            raise FormatError(f"{name}: label {missing[0]} has no class name")
        names = [str(class_names[c]) for c in codes]
    elif class_names:
        given = [str(n) for n in class_names]
        if codes and codes[-1] <= len(given):  # names of codes 1..K, every class labelled
            absent = [c for c in range(1, len(given) + 1) if c not in codes]
            if absent:
                label = ", ".join(f"{m} ({given[m - 1]})" for m in absent[:5])
                more = f" and {len(absent) - 5} more" if len(absent) > 5 else ""
                which = (f"class {label} has" if len(absent) == 1
                         else f"classes {label}{more} have")
                raise FormatError(f"{name}: {which} no labelled pixel")
            codes = list(range(1, len(given) + 1))
            names = given
        elif len(given) == len(codes):
            names = given
        else:
            raise FormatError(f"{name}: {len(given)} class names for {len(codes)} codes "
                              f"({', '.join(map(str, codes[:8]))}); give one name per code, "
                              f"or a 'value,name' file")
    else:
        names = [f"class {c}" for c in codes]
    if len(codes) < 2:
        raise FormatError(f"{name}: expected at least two classes, got {len(codes)}")
    return codes, names


def read_class_names(path: str | os.PathLike) -> list[str] | dict[int, str]:
    """Class names from a JSON list/dict or a CSV/text file (UTF-8).

    JSON: ``["a", "b"]`` or ``{"1": "a", "10": "b"}``. CSV: one class per line, either
    ``name`` or ``value,name`` (a header line ``value,name`` is skipped; quote a name that
    holds a comma). Names keyed by values 1..K come back as a list, keyed by other positive
    codes as a dict.

    Raises
    ------
    HsiIOError
        Missing or unreadable file.
    FormatError
        One line naming the file (and the line or key): not UTF-8 (with the byte's position),
        empty, unparsable, a ``;``- or tab-separated ``value;name`` file, lines of mixed or
        extra columns, a value that is not a code in 1..65535, a code given twice (``1`` and
        ``01`` included), an empty name, or one name for two classes.
    """
    import codecs

    from hsi.errors import HsiIOError

    path = Path(path)
    if not path.is_file():
        raise HsiIOError(f"{path}: no such class-names file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise HsiIOError(f"{path}: cannot read ({exc.strerror or exc})") from None
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = bom + exc.start
        line = data.count(b"\n", 0, at) + 1
        raise FormatError(f"{path}: line {line}: not UTF-8 text (byte 0x{data[at]:02x} at "
                          f"position {at}); save the file as UTF-8") from None
    if not text.strip():
        raise FormatError(f"{path}: no class names (the file is empty)")
    if path.suffix.lower() == ".json" or text.lstrip()[:1] in ("[", "{"):
        entries = _json_class_names(path, text)
    else:
        entries = _csv_class_names(path, text)
    return _checked_class_names(path, entries)


class _JsonPairs(list):
    """The ``(key, value)`` pairs of a JSON object, in order, repeated keys kept."""


def _json_class_names(path: Path, text: str) -> list[tuple[str, str, str]]:
    """``(where, code text, name)`` of each class of a JSON list or object."""
    import re

    try:
        obj = json.loads(text, object_pairs_hook=_JsonPairs)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if isinstance(obj, _JsonPairs):
        entries, seen = [], {}
        for key, value in obj:
            nth = seen[key] = seen.get(key, 0) + 1
            quoted = re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:"
            hits = list(re.finditer(quoted, text))
            where = f"key {json.dumps(key, ensure_ascii=False)}"
            if len(hits) >= nth:
                where = f"line {text.count(chr(10), 0, hits[nth - 1].start()) + 1}: {where}"
            entries.append((where, key, value))
    elif isinstance(obj, list):
        entries = [(f"entry {i + 1}", str(i + 1), value) for i, value in enumerate(obj)]
    else:
        raise FormatError(f"{path}: expected a JSON list or object of class names")
    for where, _, value in entries:
        if not isinstance(value, str):
            raise FormatError(f"{path}: {where}: expected a class name (a string), got "
                              f"{json.dumps(value)[:40]}")
    return entries


def _csv_class_names(path: Path, text: str) -> list[tuple[str, str | None, str]]:
    """``(where, code text or None, name)`` of each line of a ``name`` or ``value,name`` file."""
    import csv
    import io
    import re

    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [(reader.line_num, r) for r in reader if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise FormatError(f"{path}: line {reader.line_num}: not CSV ({exc})") from None
    for n, r in rows:
        other = re.match(r"\s*\d+\s*([;\t|:])", r[0]) if len(r) == 1 else None
        if other:
            sep = {"\t": "a tab"}.get(other.group(1), repr(other.group(1)))
            raise FormatError(f"{path}: line {n}: {r[0].strip()!r} is a value and a name "
                              f"separated by {sep}; separate them with a comma ('value,name')")
    if len(rows) > 1 and len(rows[0][1]) == 2 and not rows[0][1][0].strip().isdigit() \
            and all(len(r) >= 2 for _, r in rows[1:]):
        rows = rows[1:]  # a header ('value,name')
    first, columns = rows[0][0], len(rows[0][1])
    entries = []
    for n, r in rows:
        if len(r) > 2:
            raise FormatError(f"{path}: line {n}: expected 'value,name', got {len(r)} fields "
                              f"(quote a name that holds a comma)")
        if len(r) != columns:
            want = "'value,name'" if columns == 2 else "a name alone"
            raise FormatError(f"{path}: line {n}: expected {want} like line {first}, got "
                              f"{','.join(r)!r}")
        entries.append((f"line {n}", r[0] if columns == 2 else None, r[-1]))
    return entries


def _checked_class_names(path: Path, entries: Sequence[tuple[str, str | None, str]]
                         ) -> list[str] | dict[int, str]:
    """``{code: name}`` of ``(where, code text or None for 1..K, name)`` entries, checked."""
    from hsi.io.labels import MAX_CODE

    pairs: dict[int, str] = {}
    where_of: dict[int, str] = {}
    code_of_name: dict[str, int] = {}
    for i, (where, key, raw) in enumerate(entries):
        if key is None:
            code = i + 1
        else:
            if not key.strip().isdigit() or not key.strip().isascii():
                raise FormatError(f"{path}: {where}: {key.strip()!r} is not a class value (a "
                                  f"whole number in 1..{MAX_CODE})")
            code = int(key)
            if not 1 <= code <= MAX_CODE:
                raise FormatError(f"{path}: {where}: class value {code} outside 1..{MAX_CODE} "
                                  f"(0 is unlabelled)")
        name = raw.strip()
        if not name:
            raise FormatError(f"{path}: {where}: empty class name for class {code}")
        if code in pairs:
            raise FormatError(f"{path}: {where}: class {code} is named again ({where_of[code]} "
                              f"names it {pairs[code]!r}); give each class value once")
        if name in code_of_name:
            other = code_of_name[name]
            raise FormatError(f"{path}: {where}: {name!r} already names class {other} "
                              f"({where_of[other]}); each class needs its own name")
        pairs[code], where_of[code], code_of_name[name] = name, where, code
    if sorted(pairs) == list(range(1, len(pairs) + 1)):
        return [pairs[i] for i in range(1, len(pairs) + 1)]
    return dict(sorted(pairs.items()))  # names keyed by any codes (1, 10, 11, ...)


@dataclass
class Classifier:
    """A trained spectral-spatial GAN discriminator with its PCA, classes and sensor.

    Attributes
    ----------
    model : Discriminator or DiscriminatorEnsemble
        K + 1 outputs; the K real-class probabilities are used (averaged over the members
        when ``config.members > 1``).
    config : GanConfig
    pca : PcaTransform
    class_names : list of str
        Names of classes 1..K.
    wavelengths : numpy.ndarray or None
        Band centres (nm) of the training cube.
    history : dict
        Per-epoch losses of the training run (not saved).
    codes : list of int
        The label code of each class (class ``i`` of the network is ``codes[i - 1]`` in the
        label rasters and class maps); default ``1..K``.
    input_bands : numpy.ndarray of int, shape (pca.bands,), or None
        The bands of the input cube the model reads, increasing indices from 0 (the bands
        with data of the training cube: an empty one, all NaN or nodata, is left out);
        ``None``: every band (and checkpoints saved before this record).
    cube_bands : int, optional
        Bands of the cube the model is applied to (the training cube's); ``pca.bands`` when
        ``input_bands`` is ``None``.

    Raises
    ------
    ModelError
        ``input_bands`` not increasing, out of ``0..cube_bands - 1``, or not one per PCA
        input band.
    """

    model: Discriminator | DiscriminatorEnsemble
    config: GanConfig
    pca: PcaTransform
    class_names: list[str]
    wavelengths: np.ndarray | None = None
    history: dict | None = None
    codes: list[int] | None = None
    input_bands: np.ndarray | None = None
    cube_bands: int | None = None

    def __post_init__(self) -> None:
        if self.codes is None:
            self.codes = list(range(1, len(self.class_names) + 1))
        if self.input_bands is None:
            self.cube_bands = self.pca.bands
            return
        used = np.asarray(self.input_bands).reshape(-1)
        total = self.cube_bands
        if used.dtype.kind not in "iu" or used.size != self.pca.bands or total is None \
                or (used.size and (used[0] < 0 or used[-1] >= total)) \
                or (np.diff(used) <= 0).any():
            raise ModelError(f"input_bands: expected {self.pca.bands} increasing band indices "
                             f"in 0..{'cube_bands - 1' if total is None else total - 1}, got "
                             f"{used.size} ({used[:6].tolist()}...)")
        self.input_bands = used.astype(np.int64)
        self.cube_bands = int(total)

    def __repr__(self) -> str:
        from hsi.reprs import names_summary

        wl = self.wavelengths
        span = f" {np.min(wl):.0f}–{np.max(wl):.0f} nm" if wl is not None and len(wl) else ""
        members = len(getattr(self.model, "members", [self.model]))
        nets = "1 discriminator" if members == 1 else f"{members} discriminators"
        used = "" if self.input_bands is None else f" ({self.pca.bands} with data used)"
        return (f"Classifier({names_summary(self.class_names)}, {self.bands} bands{span}{used}, "
                f"{self.pca.n_components} PCA components, {nets})")

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def bands(self) -> int:
        """Bands of the cubes the model is applied to (the training cube's)."""
        return int(self.cube_bands)

    def used_bands(self, data: np.ndarray) -> np.ndarray:
        """The bands of ``data`` the model reads (:attr:`input_bands`).

        Parameters
        ----------
        data : numpy.ndarray, shape (bands, ...)
            :attr:`bands` bands.

        Returns
        -------
        numpy.ndarray, shape (pca.bands, ...)
            ``data`` itself when the model reads every band.
        """
        return data if self.input_bands is None else data[self.input_bands]

    def code_table(self) -> np.ndarray:
        """Class index (0 = nodata, 1..K) → label code: ``[0, *codes]``.

        Returns
        -------
        numpy.ndarray, uint8 (uint16 when a code is above 255), shape (K + 1,)
        """
        codes = [0, *self.codes]
        return np.asarray(codes, dtype=np.uint8 if max(codes) <= 255 else np.uint16)

    def check_bands(self, cube: Cube) -> None:
        """Refuse a scene where a band the model reads has no valid value.

        An empty band (:func:`hsi.bands.empty_bands`: all NaN or nodata) the model was
        trained with would leave every pixel without data (a NaN band) or with a spectrum
        unlike any it learnt (a band of nodata values). Bands the model leaves out
        (:attr:`input_bands`) may be empty; a scene whose every band is empty has no pixel
        with data and is classified as all nodata (not refused).

        Parameters
        ----------
        cube : hsi.Cube, shape (bands, H, W)
            Lazy cubes are judged on a strided sample.

        Raises
        ------
        DataError
            One line naming the cube (its file for a cube opened from one) and the bands.
        """
        from hsi.bands import empty_bands
        from hsi.errors import DataError

        empty = empty_bands(cube)
        if not empty.size or empty.size == cube.bands:
            return
        if self.input_bands is not None:
            empty = np.intersect1d(empty, self.input_bands)
        if empty.size:
            raise DataError(f"{cube.name or 'cube'}: band(s) {band_label(cube, empty)} have no "
                            f"valid pixel (all NaN or nodata) and the model reads them: give "
                            f"a scene with data in them, or a model trained without them (on "
                            f"a scene where they are empty)")

    def check_cube(self, cube: Cube) -> None:
        """Raise :class:`ModelError` when ``cube``'s bands do not match the training cube's."""
        if cube.bands != self.bands:
            hint = axis_order_hint(cube) if cube.width == self.bands else ""
            raise ModelError(f"model expects {self.bands} bands, the cube has {cube.bands}{hint}")
        if self.wavelengths is not None and cube.wavelengths is not None:
            wl = np.asarray(cube.wavelengths, dtype=np.float64)
            diff = float(np.max(np.abs(wl - self.wavelengths)))
            if diff > 1.0:
                # the same bands in another order (e.g. reversed) is not another sensor
                reordered = float(np.max(np.abs(np.sort(wl) - np.sort(self.wavelengths)))) <= 1
                why = (f"the same bands in another order: the model's run {self.wavelengths[0]:g}"
                       f"…{self.wavelengths[-1]:g} nm, the cube's {wl[0]:g}…{wl[-1]:g} nm; "
                       "store the cube's bands in the model's order") if reordered else \
                    "trained on another sensor?"
                raise ModelError(
                    f"model wavelengths differ from the cube's by up to {diff:.1f} nm ({why})")

    def predict(self, cube: Cube, use_crf: bool = True, *, tile: int | None = None,
                progress: bool = False, callback: ProgressCallback | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Classify every pixel of a scene.

        Parameters
        ----------
        cube : hsi.Cube, shape (bands, H, W)
            Same sensor (band count) as the training cube.
        use_crf : bool
            Refine with the dense CRF (``False``: the discriminator's argmax).
        tile : int, optional
            Tile side in pixels, a whole number >= 1 (default
            :data:`hsi.classification.predict.TILE`).
        progress : bool
            Show a tqdm bar over tiles on stderr.
        callback : callable, optional
            ``callback(done_tiles, total_tiles)`` (:mod:`hsi.progress`); return ``True`` from
            it to stop (:class:`~hsi.errors.Cancelled`).

        Returns
        -------
        class_map : numpy.ndarray, uint8 (uint16 for codes above 255), shape (H, W)
            The training labels' class codes (:attr:`codes`: ``1, 10, 11`` for labels coded
            so, as :func:`evaluate_class_map` and the written class maps expect); 0 where
            the pixel is NaN or nodata.
        probabilities : numpy.ndarray, float32, shape (K, H, W)
            Class probabilities (CRF marginals with ``use_crf``), band ``i`` for class
            ``codes[i]``; 0 at nodata pixels.

        Raises
        ------
        ModelError
            When the cube's bands do not match (or its wavelengths differ by over 1 nm).
        DataError
            A band the model reads has no valid value in ``cube`` (:meth:`check_bands`).
        CubeTypeError
            ``cube`` is not a :class:`~hsi.cube.Cube` (e.g. a bare numpy array).
        ShapeError
            ``tile`` is not a whole number >= 1.
        Cancelled
            When ``callback`` returns ``True``.
        """
        from hsi.classification.predict import TILE, predict_scene
        from hsi.cube import require_cube

        cube = require_cube(cube, "Classifier.predict: cube")

        self.check_cube(cube)
        to_code = self.code_table()
        class_map = np.zeros((cube.height, cube.width), dtype=to_code.dtype)
        prob = np.zeros((self.n_classes, cube.height, cube.width), dtype=np.float32)

        def write(t: TileResult) -> None:
            rows, cols = _slices(t.window)
            class_map[rows, cols] = to_code[t.class_map]
            prob[:, rows, cols] = t.probabilities

        predict_scene(self, cube, write, use_crf=use_crf, tile=TILE if tile is None else tile,
                      progress=progress, callback=callback)
        return class_map, prob

    def save(self, path: str | os.PathLike) -> Path:
        """Write a checkpoint (loads with ``weights_only=True`` via :func:`load_classifier`).

        Parameters
        ----------
        path : str or os.PathLike
            The checkpoint (``.pt``) file, written atomically.

        Returns
        -------
        pathlib.Path
            ``path``.

        Raises
        ------
        ArgumentTypeError
            ``path`` is not a path (e.g. ``None``).
        """
        from hsi.checkpoint import save_checkpoint

        meta = {
            "pca_mean": self.pca.mean, "pca_components": self.pca.components,
            "pca_scale": self.pca.scale, "pca_unit_norm": bool(self.pca.unit_norm),
            "pca_brightness": self.pca.brightness, "class_names": list(self.class_names),
            "class_codes": [int(c) for c in self.codes],
            "bands": self.bands,
            # the cube's bands the model reads; absent from older checkpoints: every band
            "input_bands": None if self.input_bands is None else
            [int(b) for b in self.input_bands],
            "wavelengths": None if self.wavelengths is None else np.asarray(self.wavelengths),
        }
        return save_checkpoint(path, kind=CHECKPOINT_KIND, model=self.model, config=self.config,
                               meta=meta)


def load_classifier(path: str | os.PathLike, device: str = "auto") -> Classifier:
    """Load a classifier saved by :meth:`Classifier.save`.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file.
    device : str
        Where the network runs: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.

    Returns
    -------
    Classifier

    Raises
    ------
    HsiIOError
        Missing file.
    ModelError
        Not a classifier checkpoint, or inconsistent content.
    ArgumentTypeError
        ``path`` is not a path (e.g. ``None``).
    ConfigError
        ``device`` is not a device name.
    DeviceError
        ``device`` asks for CUDA on a machine without it.
    """
    from hsi.checkpoint import config_from_dict, load_checkpoint
    from hsi.device import pick_device

    payload = load_checkpoint(path, CHECKPOINT_KIND)
    try:
        values = payload["config"]
        if isinstance(values, dict):  # checkpoints from before GanConfig.spectra: raw spectra
            values = {"spectra": "raw", **values}
        config = config_from_dict(GanConfig, values, path)
        meta = payload["meta"]
        level = meta.get("pca_brightness")
        pca = PcaTransform(mean=np.asarray(meta["pca_mean"], dtype=np.float64),
                           components=np.asarray(meta["pca_components"], dtype=np.float64),
                           scale=np.asarray(meta["pca_scale"], dtype=np.float64),
                           unit_norm=bool(meta.get("pca_unit_norm", False)),
                           brightness=None if level is None else np.asarray(level, np.float64))
        names = [str(n) for n in meta["class_names"]]
        wl = meta.get("wavelengths")
        used = meta.get("input_bands")  # None, or absent before the record: every band
        if used is not None:
            used = np.asarray(used, dtype=np.int64)
            cube_bands = int(meta["bands"])
        else:
            cube_bands = None
        model = discriminator_for(config, pca.channels, len(names))
        model.load_state_dict(payload["state_dict"])
    except ModelError:
        raise  # already names the file and the field
    except (KeyError, RuntimeError, TypeError, ValueError, HsiError) as exc:
        raise ModelError(f"{path}: malformed classifier checkpoint ({exc})") from None
    model.to(pick_device(device)).eval()
    codes = [int(c) for c in meta.get("class_codes", range(1, len(names) + 1))]
    if len(codes) != len(names):
        raise ModelError(f"{path}: malformed classifier checkpoint ({len(codes)} codes for "
                         f"{len(names)} classes)")
    try:
        return Classifier(model=model, config=config, pca=pca, class_names=names,
                          wavelengths=None if wl is None else np.asarray(wl, dtype=np.float64),
                          codes=codes, input_bands=used, cube_bands=cube_bands)
    except ModelError as exc:
        raise ModelError(f"{path}: malformed classifier checkpoint ({exc})") from None


def train_classifier(cube: Cube, labels: np.ndarray | Labels, *,
                     class_names: Sequence[str] | dict[int, str] | None = None,
                     config: GanConfig | None = None,
                     epochs: int | None = None, seed: int = 0, device: str = "auto",
                     progress: bool = True,
                     callback: ProgressCallback | None = None) -> Classifier:
    """Train the semi-supervised spectral-spatial GAN classifier on one scene.

    The PCA is fitted on every valid pixel of ``cube``; all valid pixels are the unlabelled
    examples of the GAN, the labelled ones also the supervised examples. Empty bands (no valid
    value: all NaN or ``cube.nodata``, :func:`hsi.bands.empty_bands`) are left out of the
    features, with one warning line naming them; the classifier records the bands it reads
    (:attr:`Classifier.input_bands`) and reads the same ones of the scenes it classifies.

    Parameters
    ----------
    cube : hsi.Cube, shape (bands, H, W)
        Reflectance (any consistent scale); NaN / ``cube.nodata`` pixels are ignored.
    labels : hsi.labels.Labels or numpy.ndarray of int, shape (H, W)
        0 = unlabelled, any positive codes = classes (see :func:`class_codes`). A
        :class:`~hsi.labels.Labels` is checked against the cube's grid (shape, CRS,
        transform) and brings its class names.
    class_names : list of str or dict, optional
        Names of the classes (see :func:`class_codes`; default: the names of a
        :class:`~hsi.labels.Labels`, else ``"class <code>"``).
    config : GanConfig, optional
    epochs : int, optional
        Overrides ``config.epochs``.
    seed : int
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    progress : bool
    callback : callable, optional
        ``callback(done_steps, total_steps)`` (:mod:`hsi.progress`), called before the first
        training step and after every step; return ``True`` from it to stop training.

    Returns
    -------
    Classifier

    Raises
    ------
    ShapeError, GridError, FormatError
        See :func:`check_labels`.
    ConfigError
        ``config.patch_size`` is larger than the cube; ``seed`` or ``epochs`` not a whole
        number in range; an unknown ``device`` name.
    DeviceError
        ``device`` asks for CUDA on a machine without it.
    CubeTypeError
        ``cube`` is not a :class:`~hsi.cube.Cube` (e.g. a bare numpy array).
    ArgumentTypeError
        ``config`` is not a :class:`GanConfig`, or ``class_names`` is a single string.
    Cancelled
        When ``callback`` returns ``True``.
    """
    from hsi.check import check_seed, is_whole_number
    from hsi.cube import require_cube
    from hsi.device import pick_device, seed_everything

    cube = require_cube(cube, "train_classifier: cube")
    seed = check_seed(seed)
    if config is not None and not isinstance(config, GanConfig):
        raise ArgumentTypeError(f"config: expected a GanConfig, got {type(config).__name__} "
                                f"(for a dict of options: GanConfig(**options))")
    config = config or GanConfig()
    if epochs is not None:
        if not is_whole_number(epochs, 1):
            raise ConfigError(f"epochs: expected a whole number >= 1, got {epochs!r}")
        config = dataclasses.replace(config, epochs=int(epochs))
    grid = as_labels(labels)
    if class_names is None:
        class_names = grid.class_names
    check_labels(grid, cube, class_names)
    labels = grid.array
    codes, names = class_codes(labels, class_names)
    if class_names is None:
        warn_if_fill_value_code(labels)
    side = min(cube.height, cube.width)
    if config.patch_size > side:
        raise ConfigError(f"patch_size: a {config.patch_size}×{config.patch_size} window is "
                          f"larger than the cube ({cube.height}×{cube.width} pixels); give "
                          f"an odd size up to {side - 1 + side % 2}")
    k = len(codes)
    # the network's classes are 1..K; the codes are the raster's values
    index = np.zeros(labels.shape, dtype=np.int64)
    labelled = labels > 0
    index[labelled] = np.searchsorted(codes, labels[labelled]) + 1
    labels = index
    # an empty band (all NaN or nodata) is left out: every pixel would be missing, or hold
    # the nodata value as a reflectance (one warning line names the bands)
    used = bands_with_data(cube, "classifier's features")
    data = np.asarray(cube.data if used is None else cube.data[used], dtype=np.float32)
    valid = valid_mask(data, cube.nodata)
    usable = np.bincount(labels[valid].ravel().astype(np.int64), minlength=k + 1)[1:]
    if (usable == 0).any():
        bad = int(np.flatnonzero(usable == 0)[0])
        named = "" if names[bad] == f"class {codes[bad]}" else f" ({names[bad]})"
        raise FormatError(f"labels: class {codes[bad]}{named} is labelled only on pixels the "
                          f"cube has no data for (NaN or nodata: {int((~valid).sum())} of "
                          f"{valid.size} pixels)")
    seed_everything(seed)
    shape = config.spectra == "shape"
    pca = fit_pca(data, config.n_components, valid, seed=seed, unit_norm=shape, brightness=shape)
    config = dataclasses.replace(config, n_components=pca.n_components,
                                 crf_components=min(config.crf_components, pca.n_components))
    features = pca.transform(data, valid)
    patch_record = None
    if config.patch_select == "cv":
        patch, patch_record = select_patch_size(features, np.where(valid, labels, 0),
                                                config.patch_size, seed=seed)
        config = dataclasses.replace(config, patch_size=patch)
    device = pick_device(device)
    m = config.members
    runs = m * (1 + (config.crf_folds if config.crf_select == "cv" else 0))
    model, history = train_model(features, labels, valid, k, config, seed=seed, device=device,
                                 progress=progress,
                                 callbacks=[_share(callback, j, runs) for j in range(m)], pca=pca)
    if patch_record is not None:
        history["patch_selection"] = patch_record
    if config.crf_select == "cv":
        config, history["crf_selection"] = select_crf_by_cv(
            features, labels, valid, k, config, seed=seed, device=device, progress=progress,
            callbacks=[_share(callback, m + i, runs) for i in range(runs - m)], pca=pca)
    return Classifier(model=model, config=config, pca=pca, class_names=names,
                      wavelengths=cube.wavelengths, history=history, codes=codes,
                      input_bands=used, cube_bands=cube.bands)


def discriminator_for(config: GanConfig, channels: int, n_classes: int
                      ) -> Discriminator | DiscriminatorEnsemble:
    """An untrained model of ``config``'s shape: one discriminator, or ``config.members``."""
    def one() -> Discriminator:
        return Discriminator(channels, n_classes, config.patch_size, config.width, config.dropout)

    if config.members == 1:
        return one()
    return DiscriminatorEnsemble([one() for _ in range(config.members)])


def train_model(features: np.ndarray, labels: np.ndarray, valid: np.ndarray, k: int,
                config: GanConfig, *, seed: int = 0, device: str | torch.device = "cpu",
                progress: bool = False, callbacks: list | None = None,
                pca: PcaTransform | None = None, desc: str = "training"
                ) -> tuple[Discriminator | DiscriminatorEnsemble, dict]:
    """:func:`~hsi.classification.train.train_networks` ``config.members`` times.

    Member ``j`` is trained from seed ``seed + 1000 j`` (its callback ``callbacks[j]``), its
    progress bar labelled ``desc`` and, with several members, ``member j/n``.

    Returns
    -------
    model : Discriminator or DiscriminatorEnsemble
        A single discriminator when ``config.members == 1``.
    history : dict
        The first member's losses.
    """
    from hsi.classification.train import train_networks

    callbacks = callbacks or [None] * config.members
    m = config.members
    trained = [train_networks(features, labels, valid, k, config, seed=seed + 1000 * j,
                              device=device, progress=progress, callback=callbacks[j], pca=pca,
                              desc=desc if m == 1 else f"{desc}, member {j + 1}/{m}")
               for j in range(m)]
    if config.members == 1:
        return trained[0]
    return DiscriminatorEnsemble([d for d, _ in trained]).eval(), trained[0][1]


def _share(callback: ProgressCallback | None, run: int, runs: int) -> ProgressCallback | None:
    """``callback`` seen by training run ``run`` of ``runs`` equal runs (one progress scale)."""
    if callback is None:
        return None
    return lambda done, total: callback(run * total + done, runs * total)


def select_crf_by_cv(features: np.ndarray, labels: np.ndarray, valid: np.ndarray, k: int,
                     config: GanConfig, *, seed: int = 0, device: str | torch.device = "cpu",
                     progress: bool = False, callbacks: list | None = None,
                     pca: PcaTransform | None = None) -> tuple[GanConfig, dict]:
    """``config`` with the CRF parameters chosen by cross-validation on ``labels``.

    ``config.crf_folds`` models (of ``config.members`` discriminators each) are trained, each
    without one stratified fold of the labelled pixels; every
    :func:`hsi.classification.crf_select.crf_grid` setting is scored on the held-out folds
    (see :mod:`hsi.classification.crf_select`).

    Parameters
    ----------
    features : numpy.ndarray, float32, shape (C, H, W)
        Standardised PCA scores.
    labels : numpy.ndarray of int, shape (H, W)
        The training labels, 0 = unlabelled, 1..K = class: the only labels read.
    valid : numpy.ndarray of bool, shape (H, W)
    k : int
    config : GanConfig

    Returns
    -------
    config : GanConfig
        With the chosen ``crf_*`` values.
    record : dict
        ``{"folds", "chosen", "no_crf_score", "chosen_score"}`` (held-out accuracies).
    """
    from hsi.classification.crf_select import crf_grid, label_folds, select_crf_params
    from hsi.classification.train import predict_probabilities

    folds = label_folds(labels, config.crf_folds, seed=seed)
    if any(not (f > 0).any() for f in folds):
        return config, {"folds": len(folds), "chosen": None,
                        "skipped": "fewer labelled pixels than folds: CRF parameters as given"}
    results = []
    m = config.members
    callbacks = callbacks or [None] * (m * len(folds))
    for i, held_out in enumerate(folds):
        fit = np.where(held_out > 0, 0, labels)
        disc, _ = train_model(features, fit, valid, k, config, seed=seed + 1 + i, device=device,
                              progress=progress, callbacks=callbacks[m * i: m * (i + 1)],
                              pca=pca, desc=f"CRF cross-validation, fold {i + 1}/{len(folds)}")
        results.append((predict_probabilities(disc, features, config.patch_size), held_out))
    grid = crf_grid(config.crf_iterations)
    params, scores = select_crf_params(results, features[: config.crf_components], valid, grid)
    config = dataclasses.replace(
        config, crf_gaussian_sxy=params.gaussian_sxy, crf_gaussian_weight=params.gaussian_weight,
        crf_bilateral_sxy=params.bilateral_sxy, crf_bilateral_schan=params.bilateral_schan,
        crf_bilateral_weight=params.bilateral_weight)
    best = int(np.argmax(scores))
    record = {"folds": len(folds), "chosen": dataclasses.asdict(params),
              "no_crf_score": scores[0], "chosen_score": scores[best]}
    return config, record


def _slices(window: Window) -> tuple[slice, slice]:
    """``(rows, cols)`` of an integer window."""
    r0, c0 = int(window.row_off), int(window.col_off)
    return slice(r0, r0 + int(window.height)), slice(c0, c0 + int(window.width))


def classify_to_files(classifier: Classifier, cube: Cube, output: str | os.PathLike, *,
                      use_crf: bool = True, probabilities: str | os.PathLike | None = None,
                      uncertainty: str | os.PathLike | None = None, tile: int | None = None,
                      progress: bool = False, callback: ProgressCallback | None = None
                      ) -> dict:
    """Classify a scene tile by tile and write the class map (and optional rasters).

    Runs on the scene engine (:func:`hsi.classification.predict.predict_scene`): a lazy cube
    (``hsi.open(path, lazy=True)``) is read window by window, the optional rasters are written
    tile by tile, and only the class map is held whole (one byte per pixel, two for codes
    above 255).

    Outputs are georeferenced like ``cube``: ``output`` a uint8 class map with a colour table
    and the class names; ``probabilities`` a float32 raster with one band per class (0 at
    nodata), band ``i`` described by the code and name of class ``i`` (``"3: Lettuce"``);
    ``uncertainty`` the per-pixel entropy in nats (float32, NaN at nodata). The files
    are written as one set (:func:`hsi.io.atomic.atomic_files`): all of them or none, even
    when a rename into place fails; nothing is written when the model does not fit the cube,
    or when ``callback(done_tiles, total_tiles)`` returns ``True``
    (:class:`~hsi.errors.Cancelled`).

    Returns
    -------
    dict
        ``{"classes": K, "pixels": classified pixels, "nodata": unclassified pixels,
        "counts": {name: pixels}}``

    Raises
    ------
    ModelError
        The cube's bands do not match the model's.
    DataError
        A band the model reads has no valid value in ``cube`` (all NaN or nodata,
        :meth:`Classifier.check_bands`): no file is written.
    ShapeError
        ``tile`` is not a whole number >= 1.
    """
    import contextlib

    from hsi.classification.predict import TILE, entropy, predict_scene
    from hsi.io.atomic import atomic_files
    from hsi.io.geotiff import GeoTiffTileWriter, check_tiff_output
    from hsi.io.labels import write_class_map

    for path in (output, probabilities, uncertainty):
        if path is not None:
            check_tiff_output(path)
    classifier.check_cube(cube)
    k, h, w = classifier.n_classes, cube.height, cube.width
    to_code = classifier.code_table()
    # the map is held in its codes and counted tile by tile: no whole-scene temporary (the
    # count of the whole map had taken 8 bytes a pixel, 134 MB at 4096², the command's peak)
    class_map = np.zeros((h, w), dtype=to_code.dtype)
    counts = np.zeros(k + 1, dtype=np.int64)
    # one set of files, renamed into place together once every one is written (the class map
    # last): a failure, even at a rename, leaves all the outputs or none, never a new class
    # map beside the probabilities of an earlier run (hsi.io.atomic.atomic_files)
    extra = [path for path in (probabilities, uncertainty) if path is not None]
    with atomic_files([*extra, output]) as tmps, contextlib.ExitStack() as stack:
        *extra_tmps, class_map_tmp = tmps
        tmp_of = iter(extra_tmps)  # in the order of ``extra``
        pw = uw = None
        if probabilities is not None:
            pw = stack.enter_context(GeoTiffTileWriter(
                next(tmp_of), bands=k, height=h, width=w, dtype="float32",
                crs=cube.crs, transform=cube.transform, nodata=None, wavelengths=None,
                fwhm=None))
            # band b is class b's probability: named by its code and name ("3: Lettuce")
            pw.describe_bands([f"{code}: {name}" for code, name in
                               zip(classifier.codes, classifier.class_names, strict=True)])
        if uncertainty is not None:
            uw = stack.enter_context(GeoTiffTileWriter(
                next(tmp_of), bands=1, height=h, width=w, dtype="float32",
                crs=cube.crs, transform=cube.transform, nodata=float("nan"), wavelengths=None,
                fwhm=None))

        def write(t: TileResult) -> None:
            class_map[_slices(t.window)] = to_code[t.class_map]
            counts[:] += np.bincount(t.class_map.ravel(), minlength=k + 1)
            if pw is not None:
                pw.write(t.probabilities, t.window)
            if uw is not None:
                uw.write(entropy(t.probabilities, t.valid)[None], t.window)

        predict_scene(classifier, cube, write, use_crf=use_crf, tile=TILE if tile is None else tile,
                      progress=progress, callback=callback)
        write_class_map(class_map_tmp, class_map, crs=cube.crs, transform=cube.transform,
                        class_names=classifier.class_names, codes=classifier.codes,
                        nodata=0)  # the pixels with no data: GIS tools leave them empty
    return {"classes": k, "pixels": int(counts[1:].sum()), "nodata": int(counts[0]),
            "counts": {n: int(c) for n, c in zip(classifier.class_names, counts[1:],
                                                 strict=True)}}


#: The files :func:`demo_classification` writes into its folder: class map, report.
DEMO_CLASSIFICATION_FILES = ("classification.tif", "classification_report.md")


def demo_classification(out_dir: str | os.PathLike, *, per_class: int = 5, seed: int = 0,
                        epochs: int | None = None, progress: bool = False) -> dict:
    """Train on a few labels of the shipped Salinas-A sample and write its class map.

    Takes ``per_class`` random labelled pixels of each class of
    :func:`hsi.data.sample_labels` for training, classifies the whole
    :func:`hsi.data.sample_cube` with the CRF, writes ``classification.tif`` (class map) and
    ``classification_report.md`` in ``out_dir`` and scores the held-out labelled pixels.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder the class map and report are written to.
    per_class : int
        Training pixels per class.
    seed : int
        Seeds the split and the training.
    epochs : int, optional
        Overrides :class:`GanConfig`'s ``epochs``.
    progress : bool
        Show a tqdm bar on stderr.

    Returns
    -------
    dict
        ``oa``, ``aa``, ``kappa`` (held-out pixels, with CRF), ``oa_no_crf``, ``n_train``,
        ``n_test``, ``class_map`` (path), ``report`` (path).
    """
    from hsi.classification.evaluate import evaluate_class_map
    from hsi.classification.splits import split_labels
    from hsi.data import sample_cube, sample_labels
    from hsi.io.atomic import atomic_files, check_writable_dir
    from hsi.io.labels import write_class_map

    out = check_writable_dir(out_dir)
    cube = sample_cube()
    labels, names = sample_labels()
    train, test = split_labels(labels, per_class=per_class, mode="random", seed=seed)
    clf = train_classifier(cube, train, class_names=names, epochs=epochs, seed=seed,
                           device="cpu", progress=progress)
    class_map, _ = clf.predict(cube, use_crf=True)
    plain, _ = clf.predict(cube, use_crf=False)
    report = evaluate_class_map(class_map, test, names)
    map_path, report_path = (out / name for name in DEMO_CLASSIFICATION_FILES)
    with atomic_files([map_path, report_path]) as (map_tmp, report_tmp):  # both or neither
        write_class_map(map_tmp, class_map, crs=cube.crs, transform=cube.transform,
                        class_names=names)
        report_tmp.write_text(report.to_markdown(), encoding="utf-8")
    return {"oa": report.oa, "aa": report.aa, "kappa": report.kappa,
            "oa_no_crf": evaluate_class_map(plain, test, names).oa,
            "n_train": int((train > 0).sum()), "n_test": int((test > 0).sum()),
            "class_map": str(map_path), "report": str(report_path)}
