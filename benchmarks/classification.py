"""Benchmark: GAN + CRF classification against spectral and spectral-spatial SVMs and a CNN.

Scenes: Indian Pines (16 classes), Salinas-A (6 classes), Samson and Jasper Ridge (class =
dominant endmember of the abundance ground truth). Training pixels: 5 per class by default
(``--labels 5 10 30`` for more), random (stratified) and spatially disjoint splits (blocks,
margin = patch radius); test pixels: every other labelled pixel (random) / every labelled pixel
outside the training blocks and margin (spatial). Methods:

- ``svm``: RBF-SVM on standardised spectra, C = 100, gamma = "scale" (FINDINGS.md);
- ``svm_shape``: the same SVM on the spectra divided by their Euclidean norm (not
  standardised): the spectral baseline of the GAN's default input (``GanConfig.spectra =
  "shape"``), so that the table separates the gain of that normalisation from the network's;
- ``svm_ss``: the same SVM on spectral-spatial features: 15 PCA components (fitted on every
  pixel of the scene) and their local means over 5×5 and 9×9 windows;
- ``svm_input`` / ``svm_input_window`` (diagnostics, not in the default run): the same SVM on
  exactly what the GAN sees, its PCA features (``GanConfig``'s components, spectra and scaling,
  not standardised again) at the pixel / averaged over the GAN's patch window: what the
  window's spatial context alone does to a spectral classifier on each scene;
- ``cnn``: the GAN's discriminator trained on the labelled pixels only (no generator, no
  unlabelled term), same PCA patches, same number of steps: the GAN's ablation;
- ``gan``: the semi-supervised GAN's discriminator (argmax);
- ``gan_crf``: the same probabilities refined by the dense CRF, its parameters chosen by
  cross-validation on the training labels only (``GanConfig(crf_select="cv")``, the default;
  the CRF is switched off when no setting beats the network on the held-out folds);
- ``gan_cc`` / ``gan_cc_crf``: the same GAN whose discriminator trunk is first pretrained
  with the Contrastive Clustering objective on every pixel (``GanConfig(pretrain=
  "contrastive", spectra="raw")``), without / with the CRF (not in the default run:
  ``--methods``).

Transductive setting: the PCA (GAN, CNN, svm_ss), the GAN's unlabelled term and the CRF see
every pixel of the scene, test pixels included, without their labels. No label outside the
training split is read by any method or any parameter choice.

Usage::

    python benchmarks/classification.py                 # full run, appends to RESULTS.md
    python benchmarks/classification.py --quick         # 1 scene, 5 labels, 2 seeds, no append
    python benchmarks/classification.py --seeds 10 --jobs 2 --labels 5 10 30
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import benchmarks.common  # noqa: E402, F401  (records the commit the run starts from)

DATASETS = ("indian_pines", "salinas_a", "samson", "jasper_ridge")
METHODS = ("svm", "svm_shape", "svm_ss", "svm_input", "svm_input_window", "cnn", "gan",
           "gan_crf", "gan_cc", "gan_cc_crf")
#: Methods of the default run.
DEFAULT_METHODS = ("svm", "svm_shape", "svm_ss", "cnn", "gan", "gan_crf")
#: Title of the default run's RESULTS.md section.
DEFAULT_TITLE = "Classification: GAN + CRF vs spectral and spectral-spatial SVMs and a CNN"
#: Labels per class of the default run (the issue's targets are at 5).
LABELS_PER_CLASS = (5,)
#: svm_ss: PCA components and local-mean windows (pixels).
SS_COMPONENTS, SS_WINDOWS = 15, (5, 9)
MODES = ("random", "spatial")

_SCENES: dict = {}


def scene(name: str):
    """(cube as a numpy-backed Cube, labels, class names), cached per process."""
    if name not in _SCENES:
        import hsi.data

        s = hsi.data.load(name)
        _SCENES[name] = (s.cube.compute(), np.asarray(s.labels), list(s.class_names))
    return _SCENES[name]


def spectral_spatial_features(cube) -> np.ndarray:
    """``(H * W, 45)``: 15 standardised PCA scores and their 5×5 and 9×9 local means."""
    from scipy.ndimage import uniform_filter
    from sklearn.decomposition import PCA

    x = np.asarray(cube.data, dtype=np.float64).reshape(cube.bands, -1).T
    scores = PCA(SS_COMPONENTS, random_state=0).fit_transform(x)
    scores /= scores.std(0)
    maps = scores.T.reshape(SS_COMPONENTS, cube.height, cube.width)
    feats = [maps] + [uniform_filter(maps, size=(1, w, w), mode="reflect") for w in SS_WINDOWS]
    return np.concatenate(feats).reshape(-1, cube.height * cube.width).T


def gan_input_features(cube, config, window: bool) -> np.ndarray:
    """``(H * W, channels)``: the GAN's PCA features (its own ``fit_pca`` with ``config``) of
    each pixel, or their mean over the ``config.patch_size`` window (``window``)."""
    from scipy.ndimage import uniform_filter

    from hsi.classification.features import fit_pca

    data = np.asarray(cube.data)
    shape = config.spectra == "shape"
    maps = fit_pca(data, config.n_components, unit_norm=shape, brightness=shape).transform(data)
    if window:
        size = config.patch_size
        maps = uniform_filter(maps, size=(1, size, size), mode="reflect")
    return maps.reshape(maps.shape[0], -1).T


def svm_predict(cube, train: np.ndarray, features: np.ndarray | None = None, *,
                standardise: bool = True) -> np.ndarray:
    """RBF-SVM (C=100, gamma='scale') class map of the whole scene.

    ``features`` ``(H * W, F)`` default to the spectra; ``standardise`` scales each feature
    to unit variance on the training pixels first.
    """
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    x = (np.asarray(cube.data, dtype=np.float64).reshape(cube.bands, -1).T
         if features is None else features)
    m = train.ravel() > 0
    scaler = StandardScaler(with_std=standardise).fit(x[m])
    svm = SVC(C=100.0, gamma="scale").fit(scaler.transform(x[m]), train.ravel()[m])
    return svm.predict(scaler.transform(x)).reshape(train.shape)


def class_drift(cube, train: np.ndarray, test: np.ndarray, names: list[str]) -> dict:
    """Per class name: (angle between the mean unit spectrum of its training pixels and of its
    test pixels, smallest angle between its test mean and another class's test mean), degrees.

    A diagnostic of the split, read after scoring and used by nothing: when the first angle
    approaches the second, the class's few training pixels do not represent where its test
    pixels are, and no spectral classifier can be expected to place them.
    """
    from hsi.classification.features import unit_spectra

    shape = unit_spectra(np.asarray(cube.data).reshape(cube.bands, -1))[0].T
    codes = np.unique(np.concatenate([train[train > 0], test[test > 0]]))
    tr = {k: shape[train.ravel() == k].mean(0) for k in codes if (train == k).any()}
    te = {k: shape[test.ravel() == k].mean(0) for k in codes if (test == k).any()}

    def angle(u, v):
        return float(np.degrees(np.arccos(np.clip(u @ v / np.linalg.norm(u) / np.linalg.norm(v),
                                                  -1.0, 1.0))))

    return {names[i]: (angle(tr[k], te[k]), min((angle(te[k], te[j]) for j in te if j != k),
                                                 default=float("nan")))
            for i, k in enumerate(codes) if k in tr and k in te}


def per_class_text(rows: list[dict]) -> str:
    """Per (dataset, split, labels/class): each class's recall per method (mean over seeds)
    beside the split's drift (:func:`class_drift`, mean over seeds)."""
    from benchmarks.common import markdown_table

    parts = []
    keys = sorted({(r["dataset"], r["mode"], r["n"]) for r in rows},
                  key=lambda k: (DATASETS.index(k[0]), MODES.index(k[1]), k[2]))
    for key in keys:
        sel = [r for r in rows if (r["dataset"], r["mode"], r["n"]) == key]
        methods = [m for m in METHODS if any(r["method"] == m for r in sel)]
        names = list(sel[0]["recall"])
        table = []
        for name in names:
            runs = [r for r in sel if r["method"] == methods[0] and name in r["drift"]]
            shift = np.mean([r["drift"][name][0] for r in runs]) if runs else np.nan
            nearest = np.mean([r["drift"][name][1] for r in runs]) if runs else np.nan
            recall = [np.nanmean([r["recall"][name] for r in sel if r["method"] == m])
                      for m in methods]
            table.append([name, *[f"{v:.1f}" for v in recall], f"{shift:.2f}", f"{nearest:.2f}"])
        parts.append(f"**{key[0]}, {key[1]} split, {key[2]}/class: recall (%) per class, mean "
                     f"over seeds**\n\n" + markdown_table(
                         ["class", *methods, "train → test mean (°)", "nearest other class (°)"],
                         table))
    return "\n\n".join(parts)


def run_one(task: tuple) -> list[dict]:
    """Train and score the methods on one (dataset, labels per class, mode, seed) split.

    ``task`` is ``(dataset, labels per class, mode, seed, GanConfig overrides, methods,
    margin)`` (margin None: the configured patch radius);
    ``gan_crf``
    (``gan_cc_crf``) also trains the GAN of ``gan`` (``gan_cc``) but scores only its CRF map.
    """
    import torch

    from hsi.classification import GanConfig, evaluate_class_map, split_labels, train_classifier

    torch.set_num_threads(1)
    name, n, mode, seed, overrides, methods, margin = task
    cube, labels, names = scene(name)
    config = GanConfig(**overrides)
    margin = config.radius if margin is None else margin
    train, test = split_labels(labels, per_class=n, mode=mode, seed=seed, margin=margin)
    rows = []

    def score(method, pred, seconds):
        r = evaluate_class_map(pred, test, names)
        rows.append({"dataset": name, "n": n, "mode": mode, "seed": seed, "method": method,
                     "oa": r.oa, "aa": r.aa, "kappa": r.kappa, "seconds": seconds,
                     "n_test": r.n_test, "recall": dict(zip(r.class_names, r.producers.tolist(),
                                                          strict=True)),
                     "drift": drift})

    drift = class_drift(cube, train, test, names)

    if "svm" in methods:
        t = time.process_time()
        score("svm", svm_predict(cube, train), time.process_time() - t)
    if "svm_shape" in methods:
        from hsi.classification.features import unit_spectra

        t = time.process_time()
        shape = unit_spectra(np.asarray(cube.data).reshape(cube.bands, -1))[0].T
        score("svm_shape", svm_predict(cube, train, shape, standardise=False),
              time.process_time() - t)
    if "svm_ss" in methods:
        t = time.process_time()
        score("svm_ss", svm_predict(cube, train, spectral_spatial_features(cube)),
              time.process_time() - t)
    for method, window in (("svm_input", False), ("svm_input_window", True)):
        if method in methods:
            t = time.process_time()
            score(method, svm_predict(cube, train, gan_input_features(cube, config, window),
                                      standardise=False), time.process_time() - t)
    if "cnn" in methods:  # scored without the CRF: no CRF selection needed
        t = time.process_time()
        cnn = train_classifier(cube, train, class_names=names, seed=seed, device="cpu",
                               progress=False,
                               config=dataclasses.replace(config, adversarial=False,
                                                          crf_select="fixed"))
        score("cnn", cnn.predict(cube, use_crf=False)[0], time.process_time() - t)
    for method, cfg in (("gan", config),
                        ("gan_cc", dataclasses.replace(config, pretrain="contrastive",
                                                       spectra="raw"))):
        if method not in methods and f"{method}_crf" not in methods:
            continue
        t = time.process_time()
        gan = train_classifier(cube, train, class_names=names, config=cfg, seed=seed,
                               device="cpu", progress=False)
        if method in methods:
            score(method, gan.predict(cube, use_crf=False)[0], time.process_time() - t)
            rows[-1]["patch"] = gan.config.patch_size
        if f"{method}_crf" in methods:
            t = time.perf_counter()
            score(f"{method}_crf", gan.predict(cube, use_crf=True)[0], time.perf_counter() - t)
            sel = gan.history.get("crf_selection", {})
            rows[-1]["crf_on"] = bool(sel.get("chosen") and (
                sel["chosen"]["gaussian_weight"] > 0 or sel["chosen"]["bilateral_weight"] > 0))
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    """Per (dataset, mode, n, method): the lists of OA, AA, kappa, seconds over seeds."""
    out = []
    keys = sorted({(r["dataset"], r["mode"], r["n"]) for r in rows},
                  key=lambda k: (DATASETS.index(k[0]), MODES.index(k[1]), k[2]))
    for ds, mode, n in keys:
        for method in METHODS:
            sel = [r for r in rows if (r["dataset"], r["mode"], r["n"], r["method"])
                   == (ds, mode, n, method)]
            if sel:
                entry = {"dataset": ds, "mode": mode, "n": n, "method": method}
                entry.update({m: [r[m] for r in sel] for m in
                              ("oa", "aa", "kappa", "seconds", "n_test")})
                out.append(entry)
    return out


def table_markdown(summary: list[dict]) -> str:
    """One row per (dataset, split, labels/class); per method ``OA / AA / κ`` (mean ± std)."""
    from benchmarks.common import format_mean_std, markdown_table

    groups: dict = {}
    for e in summary:
        groups.setdefault((e["dataset"], e["mode"], e["n"]), {})[e["method"]] = e
    methods = [m for m in METHODS if any(e["method"] == m for e in summary)]
    rows = []
    for (ds, mode, n), by in groups.items():
        first = next(iter(by.values()))
        row = [ds, mode, n, f"{np.mean(first['n_test']):.0f}", len(first["oa"])]
        for m in methods:
            e = by.get(m)
            row.append(None if e is None else
                       f"{format_mean_std(e['oa'], 1)} / {format_mean_std(e['aa'], 1)} / "
                       f"{format_mean_std(e['kappa'], 3)}")
        rows.append(row)
    heads = ["dataset", "split", "labels/class", "test px", "seeds"]
    heads += [f"{m} OA / AA / κ" for m in methods]
    return markdown_table(heads, rows)


def seconds_text(summary: list[dict], rows: list[dict]) -> str:
    """Mean CPU seconds per run of each method, the CRF prediction's wall time, CRF use."""
    per = {m: [s for e in summary if e["method"] == m for s in e["seconds"]] for m in METHODS}
    text = ("CPU seconds per run (train + predict; gan/cnn include the CRF cross-validation's "
            "extra trainings for gan; gan_crf: wall seconds of the whole-scene prediction with "
            "the CRF, 1 thread): " + ", ".join(f"{m} {np.mean(v):.1f}" for m, v in per.items()
                                               if v))
    crf = [r for r in rows if r["method"] == "gan_crf"]
    if crf:
        on = {}
        for r in crf:
            on.setdefault(r["dataset"], []).append(r.get("crf_on", False))
        text += ("\n\nCRF switched on by the cross-validation on the training labels: " + ", ".join(
            f"{ds} {sum(v)}/{len(v)} runs" for ds, v in on.items()))
    windows: dict = {}
    for r in rows:
        if r["method"] == "gan" and "patch" in r:
            windows.setdefault((r["dataset"], r["mode"]), []).append(r["patch"])
    if windows:
        text += ("\n\nGAN window (GanConfig.patch_select; the pixel alone = 1) per scene and "
                 "split, over the seeds: " + ", ".join(
                     f"{ds} {mode}: " + ", ".join(f"{p} in {v.count(p)}/{len(v)}"
                                             for p in sorted(set(v), reverse=True))
                     for (ds, mode), v in windows.items()))
    return text


def targets_text(summary: list[dict]) -> str:
    """The issue's targets at 5 labels/class, checked per scene and split; the gain of
    contrastive pretraining when the run has gan and gan_cc."""
    from benchmarks.common import shown_diff

    lines = []
    by = {(e["dataset"], e["mode"], e["n"], e["method"]): float(np.mean(e["oa"]))
          for e in summary}
    paired = {(e["dataset"], e["mode"], e["n"], e["method"]): np.asarray(e["oa"])
              for e in summary}
    keys = sorted({k[:3] for k in by}, key=lambda k: (DATASETS.index(k[0]), MODES.index(k[1]),
                                                      k[2]))
    for ds, mode, n in keys:
        for base, other in (("gan", "gan_cc"), ("gan_crf", "gan_cc_crf"), ("cnn", "gan"),
                            ("svm_input", "svm_input_window")):
            if (ds, mode, n, base) in by and (ds, mode, n, other) in by:
                d = paired[(ds, mode, n, other)] - paired[(ds, mode, n, base)]
                lines.append(
                    f"- {ds} {mode} {n}/class: {other} - {base} OA {d.mean():+.1f} "
                    f"(per seed {', '.join(f'{v:+.1f}' for v in d)}; better on "
                    f"{int((d > 0).sum())}/{len(d)} seeds)")
    for ds in DATASETS:
        for mode in MODES:
            if any((ds, mode, 5, m) not in by for m in ("svm", "gan", "gan_crf")):
                continue
            svm, gan, crf = (by[(ds, mode, 5, m)] for m in ("svm", "gan", "gan_crf"))
            if ds == "salinas_a":
                line = (f"- {ds} {mode} 5/class: GAN+CRF {crf:.1f} (target ≥ 98.5: "
                        f"{'met' if crf >= 98.5 else f'NOT met, {shown_diff(crf, 98.5, 1):+.1f}'})")
            else:
                line = (f"- {ds} {mode} 5/class: GAN+CRF {crf:.1f} vs SVM {svm:.1f} "
                        f"({shown_diff(crf, svm, 1):+.1f}, target +5: "
                        f"{'met' if crf - svm >= 5 else 'NOT met'})")
            if (ds, mode, 5, "svm_shape") in by:
                sh = by[(ds, mode, 5, "svm_shape")]
                line += f"; vs SVM on unit-norm spectra {sh:.1f} ({shown_diff(crf, sh, 1):+.1f})"
            if (ds, mode, 5, "svm_ss") in by:
                ss = by[(ds, mode, 5, "svm_ss")]
                line += (f"; vs spectral-spatial SVM {ss:.1f} ({shown_diff(crf, ss, 1):+.1f}, "
                         f"target ≥ 0: "
                         f"{'met' if crf >= ss else 'NOT met'})")
            line += f"; CRF over GAN {shown_diff(crf, gan, 1):+.1f}"
            if ds == "indian_pines":
                line += f" (target +1: {'met' if crf - gan >= 1 else 'NOT met'})"
            lines.append(line)
    return "\n".join(lines)


def _map(fn, tasks: list, jobs: int) -> list:
    if jobs <= 1:
        return [fn(t) for t in tasks]
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(jobs) as pool:
        return list(pool.imap(fn, tasks))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=None,
                    help="Seeds per setting (default 5; 2 with --quick).")
    ap.add_argument("--first-seed", type=int, default=0,
                    help="First seed (default 0, the benchmark's; settings are tuned on "
                         "others, e.g. --first-seed 10).")
    ap.add_argument("--quick", action="store_true",
                    help="Salinas-A only, 5 labels/class, random split, 2 seeds (unless "
                         "--seeds says otherwise); no append.")
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    ap.add_argument("--labels", nargs="+", type=int, default=list(LABELS_PER_CLASS))
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    ap.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS), choices=METHODS,
                    help=f"Methods to run (default {' '.join(DEFAULT_METHODS)}).")
    ap.add_argument("--title", default=DEFAULT_TITLE, help="Title of the RESULTS.md section.")
    ap.add_argument("--epochs", type=int, default=None, help="Override GanConfig.epochs.")
    ap.add_argument("--patch-size", type=int, default=None,
                    help="Override GanConfig.patch_size (also the spatial splits' margin).")
    ap.add_argument("--margin", type=int, default=None,
                    help="Spatial splits' margin in pixels (default: the patch radius), so "
                         "that runs at different patch sizes can share their test pixels.")
    ap.add_argument("--components", type=int, default=None,
                    help="Override GanConfig.n_components.")
    ap.add_argument("--spectra", default=None, choices=("raw", "shape"),
                    help="Override GanConfig.spectra (the GAN's and the CNN's input).")
    ap.add_argument("--patch-select", default=None, choices=("cv", "fixed"),
                    help="Override GanConfig.patch_select (window chosen on the training "
                         "labels, or --patch-size as given).")
    ap.add_argument("--members", type=int, default=None,
                    help="Override GanConfig.members (discriminators averaged).")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="Worker processes (one thread each).")
    ap.add_argument("--per-class", action="store_true",
                    help="Also report each class's recall per method and how far its "
                         "training pixels' mean spectrum lies from its test pixels'.")
    ap.add_argument("--no-append", action="store_true", help="Do not touch RESULTS.md.")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    if args.quick:
        args.datasets, args.labels, args.modes = ["salinas_a"], [5], ["random"]
        args.seeds = args.seeds or 2
        args.no_append = True
    args.seeds = 5 if args.seeds is None else args.seeds
    if args.seeds < 1 or args.jobs < 1:
        ap.error("--seeds and --jobs must be at least 1")
    from benchmarks.common import require_data

    require_data(args.datasets)
    methods = tuple(m for m in METHODS if m in args.methods)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("patch_size", args.patch_size),
                                   ("n_components", args.components),
                                   ("spectra", args.spectra),
                                   ("patch_select", args.patch_select),
                                   ("members", args.members)) if v is not None}
    tasks = [(ds, n, mode, seed, overrides, methods, args.margin) for ds in args.datasets
             for mode in args.modes for n in args.labels
             for seed in range(args.first_seed, args.first_seed + args.seeds)]
    start = time.time()
    rows: list[dict] = []
    if args.jobs > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(args.jobs) as pool:
            for i, res in enumerate(pool.imap_unordered(run_one, tasks), 1):
                rows += res
                print(f"[{i}/{len(tasks)}] {res[0]['dataset']} {res[0]['mode']} "
                      f"n={res[0]['n']} seed={res[0]['seed']}: " + ", ".join(
                          f"{r['method']} {r['oa']:.1f}" for r in res), flush=True)
    else:
        for i, task in enumerate(tasks, 1):
            res = run_one(task)
            rows += res
            print(f"[{i}/{len(tasks)}] {task[:4]}: " + ", ".join(
                f"{r['method']} {r['oa']:.1f}" for r in res), flush=True)
    wall = time.time() - start
    summary = summarize(rows)
    table = table_markdown(summary)
    targets = targets_text(summary) + "\n\n" + seconds_text(summary, rows)
    if args.per_class:
        targets += "\n\n" + per_class_text(rows)
    print()
    print(table)
    print()
    print(targets)
    print(f"\nwall time {wall / 60:.1f} min with {args.jobs} worker(s)")
    if not args.no_append:
        from benchmarks.common import append_results
        from hsi.classification import GanConfig

        cfg = GanConfig(**overrides)
        notes = (f"OA/AA in %, mean ± std over {args.seeds} seeds ({args.first_seed}–"
                 f"{args.first_seed + args.seeds - 1}); GanConfig: patch "
                 f"{cfg.patch_size} (patch_select {cfg.patch_select}), {cfg.n_components} PCA "
                 f"components of {cfg.spectra} spectra, "
                 f"{cfg.epochs} epochs, {cfg.members} discriminator(s) averaged, "
                 f"CRF chosen by {cfg.crf_folds}-fold CV on the training labels; "
                 f"wall {wall / 60:.1f} min, {args.jobs} worker(s). Transductive: PCA, the "
                 "GAN's unlabelled term and the CRF see every pixel of the scene (no test "
                 f"label).\n\n{targets}")
        if "gan_cc" in methods or "gan_cc_crf" in methods:
            notes += (f"\n\ngan_cc: GanConfig(pretrain=\"contrastive\", pretrain_steps="
                      f"{cfg.pretrain_steps}); same splits and seeds as gan.")
        append_results(args.title, table, notes=notes, data=args.datasets)
    return 0


if __name__ == "__main__":
    from benchmarks.common import run_cli

    sys.exit(run_cli(main))
