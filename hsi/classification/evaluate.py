"""Accuracy of a class map against test labels: OA, AA, kappa, per-class accuracies, confusion."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hsi.errors import FormatError, ShapeError
from hsi.labels import Labels, transposed_hint


@dataclass
class ClassificationReport:
    """Scores of a class map on the labelled pixels of a test raster.

    Attributes
    ----------
    confusion : numpy.ndarray of int, shape (K, K + 1)
        Rows = true class ``codes[i]``, columns = predicted ``codes[j]`` then
        "unclassified" (0).
    class_names : list of str
        K names, one per code.
    oa : float
        Overall accuracy in % (correct / test pixels; an unclassified test pixel is wrong).
    aa : float
        Average of the producer's accuracies of the classes present in the test set, in %
        (scikit-learn's ``balanced_accuracy_score``): a tested class never predicted counts
        with 0 %, a class without test pixels (only predicted, or only named) is left out.
    kappa : float
        Cohen's kappa on the test pixels, "unclassified" (0) being a category of its own that
        no test pixel has (scikit-learn's ``cohen_kappa_score`` with 0 among the labels). When
        chance agreement is 1 (one class tested, all predicted right) kappa is 1 (scikit-learn:
        undefined).
    producers : numpy.ndarray, shape (K,)
        Producer's accuracy (recall: diagonal / row total, unclassified pixels included) per
        class in %, NaN for a class absent from the test set.
    users : numpy.ndarray, shape (K,)
        User's accuracy (precision: diagonal / column total) per class in %, NaN for a class
        never predicted on a test pixel.
    """

    confusion: np.ndarray
    class_names: list[str]
    oa: float
    aa: float
    kappa: float
    producers: np.ndarray
    users: np.ndarray
    extra: dict = field(default_factory=dict)
    codes: list[int] | None = None

    def __post_init__(self) -> None:
        if self.codes is None:
            self.codes = list(range(1, len(self.class_names) + 1))

    def __repr__(self) -> str:
        from hsi.reprs import names_summary

        return (f"ClassificationReport(OA {self.oa:.2f} %, AA {self.aa:.2f} %, kappa "
                f"{self.kappa:.4f}, {names_summary(self.class_names)}, {self.n_test} test "
                "pixels)")

    @property
    def n_test(self) -> int:
        return int(self.confusion.sum())

    def _untested_note(self) -> list[str]:
        """A line naming the classes without test pixels (left out of AA), or nothing."""
        rows = self.confusion.sum(1)
        untested = [c for c, n in zip(self.codes, rows, strict=True) if n == 0]
        if not untested:
            return []
        names = dict(zip(self.codes, self.class_names, strict=True))
        return [f"AA averages the {len(self.codes) - len(untested)} of {len(self.codes)} "
                f"classes that have test pixels; no test pixel for "
                f"{named_codes(untested, names)} (n/a below).", ""]

    def to_markdown(self) -> str:
        """The report as Markdown: summary, per-class table, confusion matrix."""
        k = len(self.class_names)
        lines = [
            "# Classification report", "",
            f"Test pixels: {self.n_test}", "",
            "| metric | value |", "|---|---|",
            f"| overall accuracy (OA) | {self.oa:.2f} % |",
            f"| average accuracy (AA) | {self.aa:.2f} % |",
            f"| kappa | {self.kappa:.4f} |", "",
            *self._untested_note(),
            "| class | name | test pixels | producer's accuracy | user's accuracy |",
            "|---|---|---|---|---|",
        ]
        rows = self.confusion.sum(1)
        for i in range(k):
            lines.append(f"| {self.codes[i]} | {self.class_names[i]} | {rows[i]} | "
                         f"{_pct(self.producers[i])} | {_pct(self.users[i])} |")
        lines += ["", "Confusion matrix (rows: truth, columns: prediction; 0 = unclassified):", "",
                  "| truth \\ pred | " + " | ".join(str(c) for c in self.codes) + " | 0 |",
                  "|---" * (k + 2) + "|"]
        for i in range(k):
            lines.append(f"| {self.codes[i]} {self.class_names[i]} | "
                         + " | ".join(str(int(v)) for v in self.confusion[i]) + " |")
        return "\n".join(lines) + "\n"


def named_codes(codes: Iterable[int], names: Mapping[int, str] | None = None) -> str:
    """Class codes in words, each with its name where it has one: ``"4 (Corn), 9 (Oats)"``.

    Parameters
    ----------
    codes : iterable of int
    names : dict, optional
        ``{code: name}``; a missing name or the placeholder ``"class <code>"`` gives the code
        alone.

    Returns
    -------
    str
    """
    names = names or {}
    parts = []
    for c in codes:
        name = names.get(int(c))
        parts.append(f"{int(c)}" if not name or name == f"class {int(c)}" else f"{int(c)} ({name})")
    return ", ".join(parts)


def _pct(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.2f} %"


def refuse_string_names(class_names: object) -> None:
    """Raise :class:`~hsi.errors.ArgumentTypeError` when ``class_names`` is one string: its
    letters would be read as the names of codes 1, 2, 3..."""
    if isinstance(class_names, str):
        from hsi.errors import ArgumentTypeError

        raise ArgumentTypeError(f"class_names: expected a list or a dict of names, got the "
                                f"string {class_names!r} (one name: [{class_names!r}])")


def evaluate_class_map(prediction: np.ndarray | Labels, truth: np.ndarray | Labels,
                       class_names: list[str] | Mapping[int, str] | None = None,
                       ) -> ClassificationReport:
    """Score a class map on the labelled pixels of ``truth``.

    Parameters
    ----------
    prediction : hsi.labels.Labels or numpy.ndarray of int, shape (H, W) or (n,)
        Classes 1..K, 0 = not classified (counted as wrong). A 1-D vector (one label per
        pixel, e.g. the predictions of a pixel table) is scored as a one-row raster.
    truth : hsi.labels.Labels or numpy.ndarray of int, same shape as ``prediction``
        Test labels, 0 = not a test pixel. When both rasters are :class:`~hsi.labels.Labels`
        their grids (shape, CRS, transform) must match.
    class_names : list of str or dict, optional
        A list names codes ``1..len(class_names)`` by value (``class_names[v - 1]`` names
        code ``v``; an entry ``"class v"`` is a placeholder, what
        :func:`hsi.io.labels.read_class_map` lists between non-consecutive codes); a dict
        maps codes to names (:attr:`hsi.labels.Labels.class_names`). Default: the names of a
        :class:`~hsi.labels.Labels` ``prediction``, else of a :class:`~hsi.labels.Labels`
        ``truth``. Unnamed codes are ``"class <code>"``. The report has one row per code
        present in the test labels, predicted on a test pixel, or named.

    Returns
    -------
    ClassificationReport
        Confusion matrix, OA, AA and kappa (in %, kappa in [-1, 1]) over the test pixels.

    Raises
    ------
    ShapeError
        When the two differ in shape, or are not both ``(H, W)`` or both 1-D (the message
        names both shapes).
    GridError
        When both are :class:`~hsi.labels.Labels` with differing CRS or transform.
    FormatError
        When ``truth`` has no labelled pixel, or ``truth`` or ``prediction`` a negative value.
    DataError
        A test pixel's code (in ``truth`` or ``prediction``) is not a whole number (e.g.
        ``1.4`` or NaN in a float array).
    ArgumentTypeError
        ``class_names`` is a string (its letters would be read as names).
    """
    from hsi.labels import whole_ids

    refuse_string_names(class_names)

    if isinstance(prediction, Labels) and isinstance(truth, Labels):
        truth.check_grid(prediction, name="test labels", of="the class map")
    if class_names is None:  # the names a class map (or the test labels) carry
        class_names = next((r.class_names for r in (prediction, truth)
                            if isinstance(r, Labels) and r.class_names), None)
    prediction = np.asarray(prediction.array if isinstance(prediction, Labels) else prediction)
    truth = np.asarray(truth.array if isinstance(truth, Labels) else truth)
    _check_label_shapes(prediction, truth)
    mask = truth > 0
    if not mask.any():
        raise FormatError("test labels: no labelled pixel (all 0)")
    if (truth < 0).any() or (prediction < 0).any():
        raise FormatError("labels: negative class values")
    # a float map (a probability, a mean) would be truncated: whole numbers only
    t = whole_ids(truth[mask], "test labels")
    p = whole_ids(prediction[mask], "class map")
    if isinstance(class_names, Mapping):
        name_of = {int(c): str(n) for c, n in class_names.items() if int(c) > 0}
    else:  # listed by value, "class v" a placeholder
        name_of = {v: str(n) for v, n in enumerate(class_names or [], start=1)
                   if str(n) != f"class {v}"}
    unseen = np.setdiff1d(np.unique(t), np.unique(prediction[prediction > 0]))
    strangers = np.setdiff1d(np.unique(p[p > 0]), np.unique(t))
    if unseen.size:
        import logging

        log = logging.getLogger(__name__)
        if strangers.size:  # a class never predicted anywhere and one never tested
            log.warning(
                "the test labels' code(s) %s never appear in the class map, whose code(s) %s "
                "are not in the test labels: do the two use the same class codes?",
                ", ".join(map(str, unseen.tolist())), ", ".join(map(str, strangers.tolist())))
        else:  # a class the model never learnt, or a fill value read as a class
            fill = [f"; if {c} marks unlabelled pixels, declare it as the test labels' nodata"
                    for c in (255, 65535) if c in unseen]
            log.warning(
                "the test labels' class(es) %s never appear in the class map: their %d test "
                "pixel(s) count as misclassified%s", named_codes(unseen.tolist(), name_of),
                int(np.isin(t, unseen).sum()), "".join(fill))
    # matrices are sized by the codes present and the named ones, never by the largest code
    # value (class maps list names by value, "class v" where a value has none)
    codes = np.unique(np.concatenate([t, p[p > 0], np.asarray(sorted(name_of), dtype=np.int64)]))
    k = len(codes)
    names = [name_of.get(c, f"class {c}") for c in codes.tolist()]
    rows_idx = np.searchsorted(codes, t)
    cols = np.where(p == 0, k, np.searchsorted(codes, p))  # "unclassified": the last column
    confusion = np.zeros((k, k + 1), dtype=np.int64)
    np.add.at(confusion, (rows_idx, cols), 1)
    n = confusion.sum()
    diag = np.diag(confusion[:, :k]).astype(np.float64)
    rows = confusion.sum(1).astype(np.float64)
    colsum = confusion[:, :k].sum(0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        producers = 100.0 * diag / rows
        users = 100.0 * diag / colsum
    oa = 100.0 * diag.sum() / n
    aa = float(np.nanmean(producers[rows > 0]))
    pe = float((rows * colsum).sum()) / float(n) ** 2
    po = diag.sum() / n
    kappa = float((po - pe) / (1.0 - pe)) if pe < 1 else 1.0
    return ClassificationReport(confusion=confusion, class_names=names, oa=float(oa), aa=aa,
                                kappa=kappa, producers=producers, users=users,
                                codes=codes.tolist())


def _check_label_shapes(prediction: np.ndarray, truth: np.ndarray) -> None:
    """Refuse a class map and test labels that are not two ``(H, W)`` rasters, or two 1-D
    vectors of labels (one per pixel), of one shape.

    Raises
    ------
    ShapeError
        Naming both shapes: ``"class map (2, 10, 10) and test labels (10, 10): expected two
        (H, W) rasters (or two 1-D label vectors) of the same shape"``, with the fix for a
        one-band ``(1, H, W)`` array (its band ``[0]``).
    """
    if prediction.shape == truth.shape and prediction.ndim in (1, 2):
        return
    band = next((f"; the {what} {x.shape} is one band: give its [0]"
                 for what, x in (("class map", prediction), ("test labels", truth))
                 if x.ndim == 3 and x.shape[0] == 1), "")
    band = band or transposed_hint(truth.shape, prediction.shape)
    raise ShapeError(f"class map {prediction.shape} and test labels {truth.shape}: expected two "
                     f"(H, W) rasters (or two 1-D label vectors) of the same shape{band}",
                     actual_shape=prediction.shape, expected_shape=truth.shape)


def plot_confusion(report: ClassificationReport, path: str | os.PathLike) -> Path | None:
    """Write the confusion matrix as a PNG (rows: truth, columns: prediction, counts printed).

    Colours are the counts divided by the row's test pixels, so the diagonal shows the
    producer's accuracies; test pixels left unclassified (0) get a last column of their own
    (shown only when there are some).

    Returns
    -------
    Path or None
        ``None`` when matplotlib is not installed (nothing written).
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from hsi.io.atomic import atomic_path

    k = len(report.class_names)
    unclassified = bool(report.confusion[:, k].any())
    cm = report.confusion[:, :k + 1 if unclassified else k].astype(np.float64)
    # shares of the row's test pixels, the unclassified ones included (diagonal = producer's)
    norm = cm / np.maximum(report.confusion.sum(1, keepdims=True), 1)
    cols = cm.shape[1]
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * cols, 0.8 + 0.6 * k), dpi=100)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(cols):
            ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=8,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(cols), report.class_names + ["unclassified"] * unclassified,
                  rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), report.class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"OA {report.oa:.1f} %  AA {report.aa:.1f} %  κ {report.kappa:.3f}", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path

