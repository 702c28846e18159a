"""``hsi classify``: train, predict, evaluate and split for the GAN + CRF classifier."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from hsi.cli.options import (
    CheckpointPath,
    OutputFolder,
    check_checkpoint_output,
    device_option,
    guarded,
    output_file_option,
    seed_option,
    var_option,
)

if TYPE_CHECKING:
    from affine import Affine
    from rasterio.crs import CRS

    from hsi.labels import Labels


@click.group("classify")
def classify() -> None:
    """Semi-supervised spectral-spatial GAN + dense-CRF classification."""


@classify.command("train")
@click.argument("cube_path", metavar="CUBE", type=click.Path(exists=True))
@click.argument("labels_path", metavar="TRAIN_LABELS", type=click.Path(exists=True))
@output_file_option("Classifier checkpoint to write (.pt).")
@click.option("--class-names", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Class names keyed by the labels' codes: a JSON list (codes 1..K) or "
                   "object ({\"11\": \"water\"}), or CSV ('code,name').")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Passes over the scene's pixels [default: 4, GanConfig.epochs].")
@click.option("--members", type=click.IntRange(1, 16), default=None,
              help="Discriminators trained from their own seeds and averaged; each one more "
                   "training [default: 5, GanConfig.members].")
@click.option("--patch-size", type=click.IntRange(min=1), default=None,
              help="Odd window side the classifier sees (1: the pixel alone) [default: the "
                   "config's window or the pixel alone, chosen by cross-validation on the "
                   "training labels].")
@seed_option
@device_option
@var_option
@click.option("--labels-var", default=None, help="Variable of a .mat label file.")
@guarded(outputs=("output",), inputs=("cube_path", "labels_path", "class_names"))
def train(cube_path, labels_path, output, class_names, epochs, members, patch_size, seed,
          device, var, labels_var) -> None:
    """Train on every labelled pixel of TRAIN_LABELS over CUBE.

    Labels may use any positive codes (0 = unlabelled, as are the pixels of the file's
    declared nodata value, e.g. 255); predicted class maps keep them.
    Empty bands of CUBE (all NaN or nodata) are left out, with a warning naming them; the
    model records the bands it reads and predict reads the same ones.
    """
    # before any training:
    check_checkpoint_output(output, "hsi classify predict --model", "gan_crf_classifier")
    import hsi
    from hsi.classification.config import GanConfig
    from hsi.classification.pipeline import check_labels, read_class_names, train_classifier
    from hsi.errors import naming
    from hsi.io.labels import read_labels

    cube = hsi.open(cube_path, var=var, lazy=False)
    with labels_var_named():
        labels = read_labels(labels_path, var=labels_var)
    names = read_class_names(class_names) if class_names else None
    labels.check_grid(cube, name=str(labels_path), of=str(cube_path))  # not "the cube's grid"
    check_labels(labels, cube, names, name=str(labels_path))
    warn_fill_value(labels_path, labels, names, "trained")
    options = {} if members is None else {"members": members}
    if patch_size is not None:
        options.update(patch_size=patch_size, patch_select="fixed")
    config = GanConfig(**options)
    # "lab.tif: class 3 ... only on nodata pixels", "scene.tif: PCA needs more than 20 valid
    # pixels, got 16"
    with naming(labels=labels_path, cube=cube_path):
        clf = train_classifier(cube, labels, class_names=names, config=config, epochs=epochs,
                               seed=seed, device=device, progress=True)
    clf.save(output)
    n = int((labels.array > 0).sum())
    p = clf.config.patch_size
    window = f"{p}×{p} window" if p > 1 else "the pixel alone"
    chosen = (clf.history or {}).get("patch_selection") or {}
    if chosen.get("scores"):
        window += " (cross-validated on the training labels: " + ", ".join(
            f"{side}×{side} {score:.3f}" if side > 1 else f"pixel {score:.3f}"
            for side, score in chosen["scores"].items()) + ")"
    # empty bands (all NaN or nodata) were left out, with a warning naming them
    bands = "" if clf.input_bands is None else f", {clf.pca.bands} of {clf.bands} bands"
    epochs, members = clf.config.epochs, clf.config.members
    click.echo(f"trained on {n} labelled pixels, {clf.n_classes} classes "
               f"({epochs} epoch{'s' * (epochs != 1)}, {members} "
               f"discriminator{'s' * (members != 1)}, "
               f"{window}{bands}) -> {output}")
    crf = crf_choice((clf.history or {}).get("crf_selection"))
    if crf:
        click.echo(crf)


def crf_choice(record: dict | None) -> str | None:
    """What the CRF's cross-validation chose, in one line (``None`` when it did not run).

    Parameters
    ----------
    record : dict or None
        ``history["crf_selection"]`` of a trained classifier
        (:func:`hsi.classification.pipeline.select_crf_by_cv`).

    Returns
    -------
    str or None
        E.g. ``"CRF: appearance kernel 5 px × 0.5, weight 10 (cross-validated on the training
        labels: accuracy 0.812, 0.750 without the CRF)"`` or ``"CRF: off (no setting beat the
        network's own classes on the held-out training labels: accuracy 0.750)"``.
    """
    if not record:
        return None
    chosen = record.get("chosen")
    if chosen is None:  # too few labelled pixels for the folds
        return f"CRF: parameters as configured ({record.get('skipped', 'not cross-validated')})"
    best, none = record["chosen_score"], record["no_crf_score"]
    kernels = []
    if chosen["gaussian_weight"] > 0:
        kernels.append(f"position kernel {chosen['gaussian_sxy']:g} px, "
                       f"weight {chosen['gaussian_weight']:g}")
    if chosen["bilateral_weight"] > 0:
        kernels.append(f"appearance kernel {chosen['bilateral_sxy']:g} px × "
                       f"{chosen['bilateral_schan']:g}, weight {chosen['bilateral_weight']:g}")
    if not kernels:
        return (f"CRF: off (no setting beat the network's own classes on the held-out "
                f"training labels: accuracy {none:.3f})")
    return (f"CRF: {'; '.join(kernels)} (cross-validated on the training labels: accuracy "
            f"{best:.3f}, {none:.3f} without the CRF)")


@classify.command("predict")
@click.argument("cube_path", metavar="CUBE", type=click.Path(exists=True))
@click.option("--model", "model_path", required=True, type=CheckpointPath(),
              help="Checkpoint written by `hsi classify train`.")
@output_file_option("Class map GeoTIFF to write (.tif).")
@click.option("--no-crf", is_flag=True, help="Skip the dense-CRF refinement.")
@click.option("--probabilities", type=click.Path(dir_okay=False), default=None,
              help="Also write per-class probabilities (float32 GeoTIFF, one band per class, "
                   "described by its code and name, e.g. '3: Lettuce_romaine_4wk').")
@click.option("--uncertainty", type=click.Path(dir_okay=False), default=None,
              help="Also write the per-pixel entropy in nats (float32 GeoTIFF).")
@click.option("--tile", type=click.IntRange(min=32), default=512, show_default=True,
              help="Tile side in pixels.")
@device_option
@var_option
@guarded(outputs=("output", "probabilities", "uncertainty"), inputs=("cube_path", "model_path"))
def predict(cube_path, model_path, output, no_crf, probabilities, uncertainty, tile, device,
            var) -> None:
    """Classify every pixel of CUBE into a GeoTIFF class map (0 = nodata; uint8, or uint16 for
    codes above 255).

    The model reads the bands it was trained on; CUBE is refused when one of them has no
    valid value (all NaN or nodata)."""
    import hsi
    from hsi.classification.pipeline import classify_to_files, load_classifier
    from hsi.errors import ModelError, naming

    cube = hsi.open(cube_path, var=var, lazy=True)  # the cheap check first; read by tiles
    clf = load_classifier(model_path, device=device)
    try:
        clf.check_cube(cube)
    except ModelError as exc:
        raise ModelError(f"{model_path}: {exc} ({cube_path})") from None
    with naming(cube=cube_path):  # "cube: ..." of the features names the file
        summary = classify_to_files(clf, cube, output, use_crf=not no_crf,
                                    probabilities=probabilities, uncertainty=uncertainty,
                                    tile=tile, progress=True)
    also = "".join(f", {what} -> {path}" for what, path in (
        ("probabilities", probabilities), ("uncertainty", uncertainty)) if path)
    click.echo(f"{summary['pixels']} pixels classified into {summary['classes']} classes"
               f" ({summary['nodata']} nodata) -> {output}{also}")
    if summary["pixels"] == 0:
        click.echo(f"warning: no pixel of {cube_path} has data (NaN or its nodata value "
                   f"everywhere): {output} is all 0", err=True)


@classify.command("evaluate")
@click.argument("classmap_path", metavar="CLASSMAP", type=click.Path(exists=True))
@click.argument("labels_path", metavar="TEST_LABELS", type=click.Path(exists=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write a Markdown report (and a confusion-matrix PNG beside it).")
@click.option("--labels-var", default=None, help="Variable of a .mat label file.")
@guarded(outputs=("output",), inputs=("classmap_path", "labels_path"))
def evaluate(classmap_path, labels_path, output, labels_var) -> None:
    """Score CLASSMAP on the labelled pixels of TEST_LABELS (OA, AA, kappa, confusion).

    The two must lie on one grid (shape, and CRS and transform where both have them); the
    pixels of a file's declared nodata value are unlabelled (unclassified in CLASSMAP)."""
    from pathlib import Path

    from hsi.classification.evaluate import evaluate_class_map, plot_confusion
    from hsi.errors import ShapeError, naming
    from hsi.io.atomic import atomic_files
    from hsi.io.formats import OUTPUT_FORMATS
    from hsi.io.guard import check_outputs
    from hsi.io.labels import read_class_map, read_labels
    from hsi.labels import Labels

    # .png: the report would be the matrix; .tif, .hdr, .mat: a raster writer's name
    not_text = {ext for exts in OUTPUT_FORMATS.values() for ext in exts} | {".png", ".pt"}
    if output and Path(output).suffix.lower() in not_text:
        raise click.BadParameter(f"{output}: the report is Markdown and its confusion matrix "
                                 f"is written beside it as .png; name the report .md",
                                 param_hint="--output")
    pred, names, _ = read_class_map(classmap_path)  # its nodata value: not classified (0)
    pred_map = Labels(pred, *raster_grid(classmap_path))
    with labels_var_named():
        test = read_labels(labels_path, var=labels_var)
    truth = test.array
    if pred.shape != truth.shape:
        raise ShapeError(f"{labels_path}: test labels are {truth.shape[0]}×{truth.shape[1]}, "
                         f"the class map {classmap_path} is {pred.shape[0]}×{pred.shape[1]}: "
                         "give the labels of the classified scene", truth.shape, pred.shape)
    # same shape, other ground (another CRS, origin or pixel size): not scored pixel by pixel
    test.check_grid(pred_map, name=str(labels_path), of=str(classmap_path))
    with naming(**{"test labels": labels_path}):  # "test labels: no labelled pixel"
        report = evaluate_class_map(pred, truth, names or None)
    text = report.to_markdown()
    if output:
        png = Path(output).with_suffix(".png")
        check_outputs([png], [classmap_path, labels_path])
        with atomic_files([output, png]) as (tmp_md, tmp_png):  # both or neither
            Path(tmp_md).write_text(text, encoding="utf-8")
            wrote_png = plot_confusion(report, tmp_png) is not None
        if not wrote_png:
            png.unlink(missing_ok=True)  # matplotlib missing: the report alone
        click.echo(f"report -> {output}" + (f", confusion matrix -> {png}" if wrote_png else ""))
    # test pixels the map left 0 (no data in the cube, a NaN collar): errors, said so
    unclassified = int(report.confusion[:, -1].sum())
    left = (f"; {unclassified} unclassified in {classmap_path}, counted as errors"
            if unclassified else "")
    click.echo(f"OA {report.oa:.2f} %  AA {report.aa:.2f} %  kappa {report.kappa:.4f}  "
               f"({report.n_test} test pixels{left})")


@classify.command("split")
@click.argument("labels_path", metavar="LABELS", type=click.Path(exists=True))
@click.option("-o", "--output", "out_dir", required=True, type=OutputFolder(),
              help="Folder for train.tif and test.tif.")
@click.option("--per-class", type=click.IntRange(min=1), default=None,
              help="Training pixels per class.")
@click.option("--fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=None, help="Fraction of each class's pixels for training.")
@click.option("--mode", type=click.Choice(["random", "spatial"]), default="random",
              show_default=True,
              help="random: training pixels drawn per class anywhere; spatial: whole blocks of "
                   "the scene go to training or test, with --margin pixels between them.")
@click.option("--margin", type=click.IntRange(min=0), default=None,
              help="Spatial mode: gap in pixels between training and test pixels "
                   "[default: the classifier's patch radius].")
@seed_option
@click.option("--labels-var", default=None, help="Variable of a .mat label file.")
def split(labels_path, out_dir, per_class, fraction, mode, margin, seed, labels_var) -> None:
    """Split LABELS into train.tif and test.tif (random stratified or spatially disjoint).

    0 and the file's declared nodata value (e.g. 255) are unlabelled."""
    if (per_class is None) == (fraction is None):
        raise click.UsageError("give exactly one of --per-class and --fraction")
    if margin is not None and mode != "spatial":
        raise click.UsageError("--margin applies to --mode spatial (a random split has no gap "
                               "to keep)")
    from pathlib import Path

    from hsi.classification.splits import write_split
    from hsi.errors import naming
    from hsi.io.atomic import new_folder_removed_on_failure
    from hsi.io.guard import check_outputs
    from hsi.io.labels import read_labels

    check_outputs([Path(out_dir) / "train.tif", Path(out_dir) / "test.tif"], [labels_path])

    with labels_var_named():
        labels = read_labels(labels_path, var=labels_var)  # with its names and colours
    # the folder is made before the two files are written: not left empty by a failure
    # "labels: no labelled pixel", "split: no test pixel left" name the file
    with new_folder_removed_on_failure(out_dir), naming(labels=labels_path, split=labels_path):
        train_path, test_path, n_train, n_test = write_split(
            labels, out_dir, per_class=per_class, fraction=fraction, mode=mode, seed=seed,
            margin=margin)
    warn_fill_value(labels_path, labels, labels.class_names, "split")  # once it is done
    if per_class is not None:
        warn_small_classes(labels_path, labels, per_class)
    click.echo(f"{n_train} training pixels -> {train_path}; {n_test} test pixels -> {test_path}")


@contextlib.contextmanager
def labels_var_named() -> Iterator[None]:
    """Let a label ``.mat`` of several arrays ask for ``--labels-var``, the option that picks
    the labels' variable (``--var`` picks the cube's, or is no option of the command), where
    the reader's message says ``choose one with var=``."""
    from hsi.errors import HsiError

    try:
        yield
    except HsiError as exc:
        text = str(exc)
        if text.endswith("choose one with var=") and exc.args:
            exc.args = (text.removesuffix("var=") + "--labels-var", *exc.args[1:])
        elif ": var=" in text and "applies to .mat files only" in text and exc.args:
            exc.args = (re.sub(r": var='([^']*)' applies", r": --labels-var \1 applies", text),
                        *exc.args[1:])
        raise


def warn_fill_value(path: str | os.PathLike, labels: Labels, names: object, use: str) -> None:
    """Warn when an unnamed label file holds its type's largest value (255 in uint8, 65535 in
    uint16), most often its unlabelled pixels, without declaring it nodata
    (:func:`hsi.classification.pipeline.warn_if_fill_value_code`, which judges by the array's
    type: the readers give int64 codes, so the file's own type is looked up here).

    Parameters
    ----------
    path : path
        The label file (a ``.mat`` is not judged: its type is not kept).
    labels : hsi.labels.Labels
        Its codes as read.
    names : object
        The class names in use (named classes are taken as meant: no warning).
    use : str
        What becomes of the pixels: ``"trained"``, ``"split"``, ``"scored"`` (as a class).
    """
    import numpy as np

    import hsi
    from hsi.classification.pipeline import warn_if_fill_value_code
    from hsi.io.formats import detect_format

    if names or detect_format(path) == "mat":
        return
    stored = np.dtype(hsi.open(path, lazy=True).dtype)
    if stored in (np.uint8, np.uint16):
        warn_if_fill_value_code(labels.array.astype(stored), name=str(path), use=use)


def warn_small_classes(path: str | os.PathLike, labels: Labels, per_class: int) -> None:
    """Warn that ``--per-class`` takes all but one pixel of the classes that have no more
    (Indian Pines' Alfalfa, 46 pixels, and Oats, 20, with ``--per-class 50``): their
    per-class accuracies will rest on one test pixel each. A class of a single pixel is
    told of by the split itself (no test pixel left)."""
    import numpy as np

    from hsi.classification.evaluate import named_codes

    codes, counts = np.unique(labels.array[labels.array > 0], return_counts=True)
    small = (counts > 1) & (counts <= per_class)
    if small.any():
        sizes = ", ".join(map(str, counts[small].tolist()))
        classes = named_codes(codes[small].tolist(), labels.class_names)
        click.echo(f"warning: {path}: class(es) {classes} have no more than --per-class "
                   f"{per_class} labelled pixels ({sizes}): all but one of each are training "
                   "pixels, leaving at most 1 test pixel each", err=True)


def raster_grid(path: str | os.PathLike) -> tuple[CRS | None, Affine | None]:
    """The CRS and transform of a GeoTIFF or ENVI raster, read from its header (``None`` each
    for a ``.mat``, which has neither, or where the file declares none).

    Parameters
    ----------
    path : str or os.PathLike
    """
    import hsi
    from hsi.io.formats import detect_format

    if detect_format(path) == "mat":
        return None, None
    header = hsi.open(path, lazy=True)
    return header.crs, header.transform
