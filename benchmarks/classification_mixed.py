"""Diagnostic: where the classifiers err on the unmixing scenes (Jasper Ridge, Samson).

Their ground truth is each pixel's dominant endmember (argmax of the abundances), so a pixel
whose two largest abundances are close has a label that its spectrum barely decides. This
script scores the spectral SVM and GAN + CRF on the benchmark's splits (5 labels per class,
random and spatial, seeds 0–4: the same splits as ``benchmarks/classification.py``) and
reports, per bin of the abundance margin (largest minus second largest abundance of a test
pixel), the share of test pixels and the OA there, and the OA a method would reach if it
were right on every clear pixel (margin ≥ 0.2) and kept its own accuracy on the mixed ones.
Nothing is chosen from it: it explains a target, it tunes nothing.

Usage::

    python benchmarks/classification_mixed.py [--seeds 5] [--no-append]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import append_results, markdown_table  # noqa: E402

SCENES = ("jasper_ridge", "samson")
#: Abundance-margin bin edges (the last bin is closed at 1).
BINS = (0.0, 0.1, 0.2, 0.4, 1.0)
#: Margin from which a pixel counts as clear.
CLEAR = 0.2


def abundance_margin(abundances: np.ndarray) -> np.ndarray:
    """Largest minus second largest abundance per pixel, ``(E, H, W)`` -> ``(H, W)``."""
    top = np.sort(np.asarray(abundances, dtype=np.float64), axis=0)
    return top[-1] - top[-2]


def margin_rows(margin: np.ndarray, correct: np.ndarray) -> tuple[list[str], float, float]:
    """Per margin bin ``"share % / OA"``, the share of errors on mixed pixels (%) and the OA
    (%) if every clear pixel were right, from the test pixels' margins and hits (1-D)."""
    cells = []
    for i, (lo, hi) in enumerate(itertools.pairwise(BINS)):
        inside = (margin >= lo) & ((margin < hi) if i < len(BINS) - 2 else (margin <= hi))
        acc = 100 * correct[inside].mean() if inside.any() else float("nan")
        cells.append(f"{100 * inside.mean():.1f} / {acc:.1f}")
    clear = margin >= CLEAR
    wrong = ~correct
    mixed_errors = 100 * (wrong & ~clear).sum() / max(int(wrong.sum()), 1)
    ceiling = 100 * (clear.mean() + (correct & ~clear).mean())
    return cells, mixed_errors, ceiling


def main(argv: list[str] | None = None) -> int:
    import torch

    import hsi.data
    from benchmarks.classification import scene, svm_predict
    from hsi.classification import GanConfig, split_labels, train_classifier

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    hits: dict = {}
    for name in SCENES:
        cube, labels, names = scene(name)
        margin = abundance_margin(hsi.data.load(name).abundances)
        for mode in ("random", "spatial"):
            for seed in range(args.seeds):
                config = GanConfig()
                train, test = split_labels(labels, per_class=5, mode=mode, seed=seed,
                                           margin=config.radius)
                gan = train_classifier(cube, train, class_names=names, config=config,
                                       seed=seed, device="cpu", progress=False)
                m = test > 0
                for method, pred in (("svm", svm_predict(cube, train)),
                                     ("gan_crf", gan.predict(cube, use_crf=True)[0])):
                    key = (name, mode, method)
                    hits.setdefault(key, []).append((margin[m], (pred == test)[m]))
                print(f"{name} {mode} seed {seed} done", flush=True)

    rows = []
    for (name, mode, method), parts in hits.items():
        margins = np.concatenate([p[0] for p in parts])
        correct = np.concatenate([p[1] for p in parts])
        cells, mixed_errors, ceiling = margin_rows(margins, correct)
        rows.append([name, mode, method, len(parts), f"{100 * correct.mean():.1f}", *cells,
                     f"{mixed_errors:.0f}", f"{ceiling:.1f}"])
    edges = [f"{lo:g}–{hi:g}" for lo, hi in itertools.pairwise(BINS)]
    table = markdown_table(
        ["scene", "split", "method", "seeds", "OA", *[f"margin {e}: % px / OA" for e in edges],
         f"% of errors on mixed px (margin < {CLEAR:g})",
         "OA if every clear px were right"], rows)
    print(table)
    if not args.no_append:
        notes = (f"Test pixels of seeds 0–{args.seeds - 1} pooled (5 labels per class, the splits "
                 "of `benchmarks/classification.py`); margin = largest minus second largest "
                 "abundance of the scene's ground truth (the label is the argmax); GAN + CRF "
                 "with the default GanConfig, CRF chosen on the training labels. Wall "
                 f"{(time.perf_counter() - start) / 60:.1f} min, 1 thread.")
        append_results("Classification on the unmixing scenes: errors by abundance margin",
                       table, notes=notes, device="cpu")
    return 0


if __name__ == "__main__":
    from benchmarks.common import run_cli

    sys.exit(run_cli(main))
