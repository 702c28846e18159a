"""Benchmark: unsupervised clustering, every method, on Salinas-A, Samson, Jasper Ridge and
Indian Pines.

Ground truth as in the classification benchmark (Samson / Jasper Ridge: dominant endmember of
the abundance ground truth, as loaded by ``hsi.data``; Indian Pines: EHU's 16 classes, only
its 10 249 labelled pixels scored, every pixel clustered). Every method clusters the whole
scene with ``k`` = the number of classes, for several seeds; ACC (Hungarian matching), NMI and
ARI on the labelled pixels, mean ± std over seeds, wall time per run and peak memory (the
process's peak RSS while clustering, above its RSS before the first run; each (scene, method)
runs in a fresh process). The O(n²) steps work on subsamples whatever the scene: spectral
clustering's affinity on 3000 pixels (the rest by kNN vote), AGC and minCUT on at most 3000
SLIC superpixels.

The mean NMI over the scenes is printed per method (± the std over seeds of the per-seed scene
mean), with verdict lines for issue 17's targets (every network method ≥ k-means; the best
network-trained method ≥ spectral clustering + 0.08; the best overall ≥ spectral + 0.10), and
``-k auto``'s estimate per scene against the labelled class count.

Scale: Salinas-A mirror-tiled (lazily, with dask) to at least 2000 × 2000 pixels × 204 bands
(3.3 GB as float32, never loaded whole), clustered by every method as ``hsi cluster`` runs it:
the tiled methods (k-means, SpectralNet, CC, Dink-Net) fit on 16 windows of 128², then assign
tile by tile; the graph methods (spectral, AGC, minCUT) take the whole scene's features (row
blocks of the cube), spectral clustering its affinity on 3000 sampled pixels, AGC and minCUT
their graph on at most 3000 SLIC superpixels. Time and peak RSS per method, with verdict
lines for issue 17's limits (:data:`SCALE_LIMITS`).

Usage::

    python benchmarks/clustering.py                   # full run, appends to RESULTS.md
    python benchmarks/clustering.py --quick           # Salinas-A, 2 seeds, small scale scene
    python benchmarks/clustering.py --seeds 3 --methods kmeans,spectralnet --no-append
    python benchmarks/clustering.py --scale-only      # the 4-Mpixel scene alone
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    append_results,
    format_mean_std,
    markdown_table,
    mean_std,
    require_data,
    shown_diff,
)

SCENES = ("salinas_a", "samson", "jasper_ridge", "indian_pines")
METHODS = ("kmeans", "spectral", "spectralnet", "cc", "agc", "mincut", "dinknet")
SCALABLE = ("kmeans", "spectralnet", "cc", "dinknet")  # hsi.clustering.files.TILED_METHODS
#: Issue 17's time limits on the 4-Mpixel scene (2 cores): k-means-class methods (no training)
#: 60 s, the network methods 3 minutes.
SCALE_LIMITS = {"kmeans": 60, "spectral": 60, "agc": 60, "spectralnet": 180, "cc": 180,
                "mincut": 180, "dinknet": 180}
NETWORK = ("spectralnet", "cc", "mincut", "dinknet")
SPECTRA = "shape"  # hsi.clustering.features.SPECTRA, the features' default input


def rss_mb() -> float:
    """Current resident set size of this process, MB (``/proc/self/statm``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """Peak resident set size of this process's own address space so far, MB (``VmHWM``).

    Not ``getrusage``'s ``ru_maxrss``: Linux carries the parent's high-water mark into a
    spawned (fork + exec) child, so that would report at least the parent's peak.
    """
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def _scene_runs(args) -> dict:
    """Child process: cluster one scene with one method for every seed."""
    scene, method, seeds, device, spectra = args
    import torch

    from hsi.clustering import cluster, evaluate
    from hsi.data import load

    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "2"))))
    s = load(scene)
    base = rss_mb()
    out = {"acc": [], "nmi": [], "ari": [], "seconds": []}
    for seed in seeds:
        t = time.perf_counter()
        res = cluster(s.cube, len(s.class_names), method, seed=seed, device=device,
                      progress=False, spectra=spectra)
        out["seconds"].append(time.perf_counter() - t)
        for key, v in evaluate(res.labels, s.labels).items():
            if key in out:
                out[key].append(v)
    out["peak_mb"] = peak_rss_mb() - base
    return out


def _auto_k(scene: str) -> dict:
    """Child process: ``-k auto``'s estimate on one scene (seed 0) and the class count."""
    from hsi.clustering.auto_k import estimate_k
    from hsi.clustering.features import pixel_features
    from hsi.data import load

    s = load(scene)
    k, criterion = estimate_k(pixel_features(s.cube, seed=0).pixels(), seed=0)
    return {"k": k, "classes": len(s.class_names), "criterion": criterion}


def verdicts(avg: dict) -> list[str]:
    """Issue 17's target lines from the mean NMI per method (methods absent are skipped)."""
    out = []
    if "kmeans" in avg:
        for m in [m for m in NETWORK if m in avg]:
            ok = avg[m] >= avg["kmeans"]
            out.append(f"{m} >= k-means: {'MET' if ok else 'NOT MET'} "
                       f"({avg[m]:.3f} vs {avg['kmeans']:.3f}, "
                       f"{shown_diff(avg[m], avg['kmeans'], 3):+.3f})")
    if "spectral" in avg:
        net = {m: avg[m] for m in NETWORK if m in avg}
        if net:
            best = max(net, key=net.get)
            gain = net[best] - avg["spectral"]
            out.append(f"best network-trained method ({best}) >= spectral + 0.08: "
                       f"{'MET' if gain >= 0.08 else 'NOT MET'} ({gain:+.3f})")
        others = {m: v for m, v in avg.items() if m != "spectral"}
        if others:
            best = max(others, key=others.get)
            gain = others[best] - avg["spectral"]
            out.append(f"best overall ({best}) >= spectral + 0.10: "
                       f"{'MET' if gain >= 0.10 else 'NOT MET'} ({gain:+.3f})")
    return out


def tiled_cube(size: int):
    """Salinas-A mirror-tiled to at least ``size`` × ``size`` pixels, as a lazy dask Cube."""
    import dask.array as da

    from hsi.data import load

    s = load("salinas_a")
    data = np.asarray(s.cube.data)
    _, h, w = data.shape
    ny, nx = -(-size // h), -(-size // w)
    tile = da.from_array(data, chunks=data.shape)
    rows = [[mirror(tile, i, j) for j in range(nx)] for i in range(ny)]
    big = da.block(rows)[:, :size, :size]
    lab = np.block([[mirror(s.labels, i, j) for j in range(nx)] for i in range(ny)])
    return s.cube.with_data(big), lab[:size, :size], len(s.class_names)


def mirror(a: np.ndarray, i: int, j: int) -> np.ndarray:
    """Tile ``(i, j)`` of a mirror tiling: flipped vertically on odd rows, horizontally on odd
    columns (the last two axes)."""
    a = a[..., ::-1, :] if i % 2 else a
    return a[..., ::-1] if j % 2 else a


def _scale_run(args) -> dict:
    """Child process: cluster the tiled scene once with a scalable method, as ``hsi cluster``
    does (:func:`hsi.clustering.files.cluster_cube`: tiled above 512² pixels)."""
    method, size, device = args
    import torch

    from hsi.clustering import evaluate
    from hsi.clustering.files import cluster_cube

    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "2"))))
    cube, labels, k = tiled_cube(size)
    base = rss_mb()
    t = time.perf_counter()
    res = cluster_cube(cube, k, method=method, seed=0, device=device, progress=False)
    seconds = time.perf_counter() - t
    scores = evaluate(res.labels, labels)
    return {"seconds": seconds, "peak_mb": peak_rss_mb() - base, "peak_abs_mb": peak_rss_mb(),
            "pixels": int(res.labels.size), "nmi": scores["nmi"], "acc": scores["acc"]}


def run_isolated(fn, args):
    """Run ``fn(args)`` in a fresh process (so peak RSS is its own)."""
    with mp.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(fn, (args,))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=None,
                   help="seeds per scene and method (default 5; 2 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="Salinas-A only, 2 seeds (unless --seeds says otherwise), 512 × 512 "
                        "scale scene, no append")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--scenes", default=",".join(SCENES))
    p.add_argument("--scale-size", type=int, default=2000, help="side of the tiled scene")
    p.add_argument("--no-scale", action="store_true", help="skip the tiled scene")
    p.add_argument("--no-auto-k", action="store_true", help="skip the -k auto estimates")
    p.add_argument("--scale-only", action="store_true",
                   help="only the tiled scene (no labelled scenes, no -k auto)")
    p.add_argument("--jobs", type=int, default=1,
                   help="(scene, method) runs in parallel, each in its own fresh process "
                        "(times then include the contention)")
    p.add_argument("--device", default="auto")
    p.add_argument("--spectra", default=SPECTRA,
                   help="features' input(s), comma-separated (shape, raw); the first is scored "
                        "by the verdicts, the others are listed as 'method (spectra)'")
    p.add_argument("--no-append", action="store_true")
    a = p.parse_args(argv)
    for opt, given, known in (("--methods", a.methods, METHODS), ("--scenes", a.scenes, SCENES),
                              ("--spectra", a.spectra, ("shape", "raw"))):
        wrong = [v for v in given.split(",") if v not in known]
        if wrong:
            p.error(f"{opt}: {', '.join(map(repr, wrong))} not among {', '.join(known)}")
    if a.seeds is not None and a.seeds < 1:
        p.error("--seeds must be at least 1")
    spectra = a.spectra.split(",")
    methods = [m if sp == spectra[0] else f"{m} ({sp})" for sp in spectra
               for m in a.methods.split(",")]
    scenes = [] if a.scale_only else ["salinas_a"] if a.quick else a.scenes.split(",")
    seeds = list(range(a.seeds or (2 if a.quick else 5)))
    require_data([*scenes, *([] if a.no_scale else ["salinas_a"])])
    size = 512 if a.quick else a.scale_size

    rows, per_method = [], {m: [] for m in methods}
    per_seed = {m: [] for m in methods}  # (scenes, seeds) NMI per method
    # the slowest methods first, so that parallel workers finish together
    cost = {"cc": 0, "mincut": 1, "spectralnet": 2, "agc": 3, "spectral": 4, "kmeans": 5}
    tasks = sorted(((scene, m.split(" ")[0], seeds, a.device, sp) for scene in scenes
                    for sp in spectra for m in a.methods.split(",")),
                   key=lambda t: (cost.get(t[1], 6), scenes.index(t[0])))
    done = {}
    with mp.get_context("spawn").Pool(max(1, a.jobs), maxtasksperchild=1) as pool:
        for t, r in zip(tasks, pool.imap(_scene_runs, tasks, chunksize=1), strict=True):
            label = t[1] if t[4] == spectra[0] else f"{t[1]} ({t[4]})"
            done[t[0], label] = r
            print(f"{t[0]} | {label} | NMI {format_mean_std(r['nmi'], 3)}", flush=True)
    for scene in scenes:
        for method in methods:
            r = done[scene, method]
            per_method[method].append(np.mean(r["nmi"]))
            per_seed[method].append(r["nmi"])
            rows.append([scene, method, format_mean_std(r["acc"], 3),
                         format_mean_std(r["nmi"], 3), format_mean_std(r["ari"], 3),
                         f"{np.mean(r['seconds']):.1f}", f"{r['peak_mb']:.0f}"])
    table = markdown_table(["scene", "method", "ACC", "NMI", "ARI", "time (s)",
                            "peak RSS (MB)"], rows)
    avg = {m: float(np.mean(v)) for m, v in per_method.items() if v}
    # the sample std, as format_mean_std in the table
    std = {m: mean_std(np.mean(per_seed[m], axis=0))[1] for m in avg}
    avg_line = ", ".join(f"{m} {v:.3f} ± {std[m]:.3f}" for m, v in avg.items())
    if rows:  # not with --scale-only
        print("\n" + table + f"\n\nmean NMI over {len(scenes)} scenes: {avg_line}")
    verdict = verdicts({m: v for m, v in avg.items() if "(" not in m})
    for line in verdict:
        print(line)

    auto_line = ""
    if scenes and not a.no_auto_k:
        est = {scene: run_isolated(_auto_k, scene) for scene in scenes}
        hits = sum(e["k"] == e["classes"] for e in est.values())
        auto_line = ("-k auto (" + next(iter(est.values()))["criterion"] + "): "
                     + ", ".join(f"{sc} {e['k']} (classes {e['classes']})"
                                 for sc, e in est.items())
                     + f"; recovers the class count on {hits} of {len(est)} scenes "
                     + f"(target 3 of 4: {'MET' if hits >= 3 and len(est) >= 4 else 'NOT MET'}).")
        print(auto_line)

    scale_table, scale_verdict = "", []
    if not a.no_scale:
        srows = []
        for method in a.methods.split(","):  # hsi cluster's default features
            r = run_isolated(_scale_run, (method, size, a.device))
            srows.append([method, "tiles" if method in SCALABLE else "whole scene",
                          f"{size} × {size}", f"{r['pixels'] / 1e6:.2f}",
                          f"{r['seconds']:.0f}", f"{r['peak_mb']:.0f}",
                          f"{r['peak_abs_mb']:.0f}", f"{r['acc']:.3f}", f"{r['nmi']:.3f}"])
            print(" | ".join(srows[-1]), flush=True)
            if r["pixels"] >= 4_000_000:
                limit = SCALE_LIMITS[method]
                scale_verdict.append(f"{method}: {r['seconds']:.0f} s on {r['pixels'] / 1e6:.1f} "
                                     f"Mpixels (limit {limit} s): "
                                     f"{'MET' if r['seconds'] < limit else 'NOT MET'}")
        scale_table = markdown_table(
            ["method", "path", "scene", "Mpixels", "time (s)", "peak RSS above start (MB)",
             "peak RSS (MB)", "ACC", "NMI"], srows)
        print("\n" + scale_table)
        print("\n".join(scale_verdict))

    if not (a.quick or a.no_append):
        deep = {m: v for m, v in avg.items() if m in ("spectralnet", "cc", "mincut", "dinknet",
                                                       "agc")}
        notes = (f"{len(seeds)} seeds (0..{len(seeds) - 1}), k = number of classes, default "
                 f"settings of hsi.clustering, features from {spectra[0]!r} spectra (rows "
                 f"'method (x)': from {'/'.join(spectra[1:]) or '-'!r} spectra); mean NMI "
                 f"over the {len(scenes)} scenes "
                 f"(± std over seeds of the per-seed scene mean): {avg_line}.")
        if deep and "spectral" in avg:
            best = max(deep, key=deep.get)
            notes += (f" Best deep/graph method {best}: {deep[best] - avg['spectral']:+.3f} NMI "
                      "vs spectral clustering.")
        if verdict:
            notes += "\n\nIssue 17 targets:\n\n" + "\n".join(f"- {v}" for v in verdict)
        if auto_line:
            notes += "\n\n" + auto_line
        if rows:
            append_results("Clustering: every method on " + ", ".join(scenes), table,
                           notes=notes, device=a.device, data=scenes)
        if scale_table:
            append_results(f"Clustering at scale: Salinas-A mirror-tiled to {size} × {size}",
                           scale_table, notes="Lazy (dask) cube, features in row blocks; one "
                           "run, seed 0; peak RSS of a fresh process; 'path': tiled (fit on "
                           "16 windows of 128²) or the whole scene (the graph methods)."
                           + ("\n\nIssue 17 scale limits (2 cores):\n\n"
                              + "\n".join(f"- {v}" for v in scale_verdict)
                              if scale_verdict else ""), device=a.device,
                           data=["salinas_a"])


if __name__ == "__main__":
    from benchmarks.common import run_cli

    sys.exit(run_cli(main))
