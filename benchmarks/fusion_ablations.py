"""Benchmark: INFN ablations (leave-one-scene-out, scene-fitted) at small training budgets.

The headline fusion numbers come from ``benchmarks/fusion.py`` (the CAVE test split and the
AVIRIS leave-one-scene-out folds, trained for real); this script compares INFN's variants
trained to one small, equal budget. Every airborne reference scene of ``$HSI_DATA_DIR``
(Salinas-A, Samson, Jasper Ridge; ``--scenes`` may add the two partial CAVE scenes, which are
resampled by their uploader and kept for small runs only) is degraded by Wald's protocol
(``hsi.degrade.simulate_pair``: Gaussian PSF σ = ratio / 2, block-centre decimation, the
sensor's SRF) at x4 and x8, for two sensors: an RGB camera (``nikon_d700``) and a
multispectral satellite (``sentinel2``). Then, in one run:

- the classical baselines of ``hsi.fusion.baselines`` (bicubic, GLP, GSA, CNMF with the
  sensor's true SRF) — deterministic, run once per pair;
- **INFN LOSO**: trained on the *other* scenes of the same kind (airborne: Salinas-A, Samson,
  Jasper Ridge; lab: the two CAVE scenes), their spectra resampled onto the held-out scene's
  wavelengths (a scene whose range does not cover the held-out one's is left out), at x4
  only; the x4 checkpoint is applied at x4 *and* x8 (INFN is queried at continuous
  coordinates, so one checkpoint serves both);
- **INFN fit**: ``fit_scene`` on the test pair itself, degraded once more (it never sees the
  reference);
- the ablations of INFN (``dhff_second_branch=False``; ``weights="learned"`` instead of
  INR-CS), trained like INFN LOSO (``--ablation-mode fit`` fits them per scene instead).

Metrics: PSNR, SSIM, SAM (°), ERGAS, Q2n (``hsi.metrics.fusion_metrics``), mean ± std over
``--seeds`` seeds (INFN; the baselines are deterministic), the time to fuse a scene on the
benchmark device (and on the CPU too when that device is a GPU), and the training/fitting time.

Sensors whose bands reach outside a scene's wavelength range are reduced to the bands that fit
(noted in the table, e.g. CAVE's 400–590 nm keeps Sentinel-2 B1/B2); when fewer than two bands
of the RGB camera fit, a Gaussian visible 3-band camera (``vis3``: 450/495/540 nm, FWHM 35 nm)
replaces it. CAVE scenes are centre-cropped to ``--cave-size`` pixels (the shared copy is
partial and resampled, see shared/data/SOURCES.md).

Budgets are small so the full run fits in ~30 min on a 2-core CPU (two worker processes, one
thread each); they are printed with the table. With a GPU the same budgets buy many more steps.

Usage::

    python benchmarks/fusion_ablations.py           # full run, appends to benchmarks/RESULTS.md
    python benchmarks/fusion_ablations.py --quick   # Salinas-A, Sentinel-2, x4, few steps
    python benchmarks/fusion_ablations.py --seeds 3 --device auto --jobs 2
    python benchmarks/fusion_ablations.py --baselines-only   # classical methods only
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import traceback
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the script finds `hsi` and `benchmarks.common`
    sys.path.insert(0, str(ROOT))

import benchmarks.common  # noqa: E402, F401  (records the commit the run starts from)

#: Scenes and their kind: INFN LOSO trains on the other scenes of the same kind.
SCENES: dict[str, str] = {
    "salinas_a": "airborne",
    "samson": "airborne",
    "jasper_ridge": "airborne",
    "cave_partial_balloons": "lab",
    "cave_partial_oil_painting": "lab",
}
#: Scenes of the default run (the partial CAVE scenes are not the original data).
DEFAULT_SCENES = ("salinas_a", "samson", "jasper_ridge")
SENSORS = ("nikon_d700", "sentinel2")
#: Sensors that stand for "an RGB camera": replaced by VIS3 where fewer than 2 bands fit.
CAMERAS = ("nikon_d700",)
#: Gaussian visible camera for scenes whose range stops short of red (CAVE: 400–590 nm).
VIS3 = {"centres": (450.0, 495.0, 540.0), "fwhm": 35.0, "names": ["B", "G", "Y"], "name": "vis3"}
RATIOS = (4, 8)
#: The ratio INFN LOSO is trained at (its checkpoint is also applied at the other ratios).
TRAIN_RATIO = 4
BASELINES = ("bicubic", "glp", "gsa", "cnmf")
#: INFN variants: label -> InfnConfig overrides.
VARIANTS: dict[str, dict] = {
    "infn": {},
    "no_dhff2": {"dhff_second_branch": False},
    "learned_w": {"weights": "learned"},
    "bicubic_base": {"base": "bicubic"},
}
VARIANT_TITLES = {
    "infn": "INFN",
    "no_dhff2": "INFN −DHFF 2nd branch",
    "learned_w": "INFN learned weights",
    "bicubic_base": "INFN bicubic base",
}
#: A training scene may fall short of the held-out range by this much (edge bands repeated).
SPECTRAL_TOLERANCE_NM = 40.0
METRICS = ("psnr", "ssim", "sam", "ergas", "q2n")

_SCENE_CACHE: dict = {}


# ----------------------------------------------------------------------------- data
def load_scene(name: str, cave_size: int):
    """The reference cube of ``name`` in reflectance (float32, numpy), CAVE centre-cropped."""
    key = (name, cave_size)
    if key not in _SCENE_CACHE:
        from rasterio.windows import Window

        import hsi.data
        from hsi.degrade import normalize_reflectance

        cube = hsi.data.load(name).cube.compute()
        if SCENES.get(name) == "lab" and cave_size and min(cube.height, cube.width) > cave_size:
            r0 = (cube.height - cave_size) // 2
            c0 = (cube.width - cave_size) // 2
            cube = cube.crop(Window(c0, r0, cave_size, cave_size))
        cube, _ = normalize_reflectance(cube)
        cube = cube.with_data(np.asarray(cube.data, dtype=np.float32))
        _SCENE_CACHE[key] = cube
    return _SCENE_CACHE[key]


def _srf_subset(srf, keep: list[int], label: str):
    from hsi.degrade import SRF

    return SRF(srf.wavelengths, srf.curves[keep], [srf.band_names[i] for i in keep], name=label)


def fit_sensor(sensor: str, wavelengths) -> tuple[object | None, str]:
    """The sensor's SRF reduced to the bands inside the scene's range, and a note saying so.

    Returns ``(None, why)`` when fewer than two bands fit (after trying :data:`VIS3` for a
    camera).
    """
    from hsi.degrade import SRF, load_srf
    from hsi.errors import SensorError

    srf = load_srf(sensor)
    try:
        srf.matrix(wavelengths)
        return srf, ""
    except SensorError:
        pass
    keep = []
    for i in range(srf.msi_bands):
        try:
            _srf_subset(srf, [i], srf.name).matrix(wavelengths)
            keep.append(i)
        except SensorError:
            continue
    span = f"{wavelengths[0]:.0f}–{wavelengths[-1]:.0f} nm"
    if len(keep) >= 2:
        names = [srf.band_names[i] for i in keep]
        dropped = [n for i, n in enumerate(srf.band_names) if i not in keep]
        label = f"{srf.name}[{','.join(names)}]"
        return _srf_subset(srf, keep, label), (
            f"{label}: {', '.join(dropped)} outside the scene's {span}")
    if sensor in CAMERAS:
        vis = SRF.gaussian(VIS3["centres"], VIS3["fwhm"], names=VIS3["names"], name=VIS3["name"])
        vis.matrix(wavelengths)
        return vis, (f"{VIS3['name']} (Gaussian {'/'.join(f'{c:.0f}' for c in VIS3['centres'])}"
                     f" nm, FWHM {VIS3['fwhm']:.0f} nm) replaces {sensor}: fewer than 2 of its "
                     f"bands inside {span}")
    return None, f"{sensor} skipped: fewer than 2 bands inside {span}"


def have_infn() -> bool:
    """Whether INFN (``hsi.fusion.train_infn``/``fit_scene``/``fuse``) can be imported."""
    try:
        from hsi.fusion import InfnConfig, fit_scene, fuse, train_infn  # noqa: F401
        from hsi.fusion.api import input_scales  # noqa: F401
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------------- one task
def _score(ref, est, ratio: int) -> dict:
    from hsi.metrics import fusion_metrics

    return fusion_metrics(ref, np.asarray(est, dtype=np.float32), ratio)


def _row(scene, sensor_label, ratio, method, mode, seed, metrics, fit_s=None, fuse_s=None,
         cpu_s=None) -> dict:
    return {"scene": scene, "sensor": sensor_label, "ratio": ratio, "method": method,
            "mode": mode, "seed": seed, **metrics, "fit_s": fit_s, "fuse_s": fuse_s,
            "cpu_s": cpu_s}


@contextmanager
def _guard(out: dict, what: str):
    """Turn an exception into a note of ``out`` so that one failure loses one result only."""
    try:
        yield
    except Exception as exc:  # reported under the table
        out["notes"].append(f"{what}: FAILED {type(exc).__name__}: {exc}")
        out.setdefault("tracebacks", []).append(traceback.format_exc(limit=4))


def run_task(task: dict) -> dict:
    """Score every method on one (held-out scene, sensor, seed); returns rows and notes."""
    import torch

    from benchmarks.common import resample_cube, timer
    from hsi.degrade import crop_to_ratio, simulate_pair
    from hsi.device import pick_device, seed_everything
    from hsi.fusion.baselines import BASELINES as FUNCS

    if task["threads"]:
        torch.set_num_threads(task["threads"])
    dev = pick_device(task["device"])
    scene, sensor, seed = task["scene"], task["sensor"], task["seed"]
    out: dict = {"rows": [], "notes": []}
    cube = load_scene(scene, task["cave_size"])
    srf, note = fit_sensor(sensor, cube.wavelengths)
    if note:
        out["notes"].append(f"{scene}: {note}")
    if srf is None:
        return out
    label = srf.name
    matrix = torch.as_tensor(srf.matrix(cube.wavelengths), dtype=torch.float32)
    pairs = {}
    for r in task["ratios"]:
        lr, msi = simulate_pair(cube, r, srf)
        ref = np.asarray(crop_to_ratio(cube, r).data, dtype=np.float32)
        pairs[r] = (lr, msi, ref)

    # classical baselines: deterministic, once per pair (first seed only)
    if task["baselines"]:
        for r, (lr, msi, ref) in pairs.items():
            lr_t = torch.as_tensor(lr.data, device=dev)
            msi_t = torch.as_tensor(msi.data, device=dev)
            for name in task["baseline_methods"]:
                with _guard(out, f"{scene} {label} x{r} {name}"):
                    kwargs = {"srf_matrix": matrix.to(dev)} if name == "cnmf" else {}
                    with timer(dev) as t:
                        est = FUNCS[name](lr_t, msi_t, r, **kwargs)
                    cpu_s = None
                    if dev.type == "cuda":
                        with timer() as tc:
                            FUNCS[name](lr_t.cpu(), msi_t.cpu(), r, **kwargs_cpu(kwargs))
                        cpu_s = tc.seconds
                    out["rows"].append(_row(scene, label, r, name, "classical", None,
                                            _score(ref, est, r), fuse_s=t.seconds, cpu_s=cpu_s))

    if not task["variants"] and not task["fit"]:
        return out
    from hsi.fusion import InfnConfig, fit_scene, fuse, train_infn
    from hsi.fusion.api import input_scales

    def infer(model, lr, msi, r):
        with timer(dev) as t:
            est = fuse(lr, msi, model=model, ratio=r, device=dev, progress=False)
        cpu_s = None
        if dev.type == "cuda":
            with timer() as tc:
                fuse(lr, msi, model=model.to("cpu"), ratio=r, device="cpu", progress=False)
            model.to(dev)
            cpu_s = tc.seconds
        return est.data, t.seconds, cpu_s

    # INFN trained leave-one-scene-out (x4 checkpoint applied at every ratio)
    loso_variants = [v for v in task["variants"] if task["ablation_mode"] == "trained"
                     or v == "infn"]
    if loso_variants:
        train = []
        for other, kind in SCENES.items():
            if other == scene or kind != SCENES[scene]:
                continue
            res = resample_cube(load_scene(other, task["cave_size"]), cube.wavelengths,
                                    tolerance_nm=SPECTRAL_TOLERANCE_NM)
            if res is None:
                out["notes"].append(f"{scene}: LOSO leaves out {other} (its spectral range "
                                    f"does not cover {scene}'s)")
            else:
                train.append(res)
        if not train:
            out["notes"].append(f"{scene}: no training scene covers its range; no INFN LOSO")
        for variant in loso_variants if train else []:
            model = None
            with _guard(out, f"{scene} {label} {variant} LOSO training"):
                seed_everything(seed)
                config = InfnConfig(**VARIANTS[variant])
                with timer(dev) as t:
                    model = train_infn(train, srf=srf, ratio=TRAIN_RATIO, config=config,
                                       steps=task["train_steps"],
                                       max_minutes=task["train_minutes"], seed=seed,
                                       device=dev, progress=False)
                out.setdefault("steps", []).append(("LOSO", variant, model.meta.get("steps_done")))
            if model is None:
                continue
            for r, (lr, msi, ref) in pairs.items():
                with _guard(out, f"{scene} {label} x{r} {variant} LOSO"):
                    est, fuse_s, cpu_s = infer(model, lr, msi, r)
                    out["rows"].append(_row(scene, label, r, variant, f"LOSO x{TRAIN_RATIO}",
                                            seed, _score(ref, est, r), t.seconds, fuse_s, cpu_s))

    # INFN fitted on the test pair itself (and the ablations, with --ablation-mode fit)
    fit_variants = ["infn"] if task["fit"] else []
    if task["ablation_mode"] == "fit":
        fit_variants += [v for v in task["variants"] if v != "infn"]
    for variant in fit_variants:
        for r, (lr, msi, ref) in pairs.items():
            if min(lr.height, lr.width) < 2 * r:
                out["notes"].append(f"{scene} x{r}: no scene fitting (LR-HSI {lr.height}×"
                                    f"{lr.width} < {2 * r}×{2 * r})")
                continue
            with _guard(out, f"{scene} {label} x{r} {variant} fit"):
                seed_everything(seed)
                s_lr, s_msi = input_scales(lr, msi)
                lr_n = lr.with_data(np.asarray(lr.data, dtype=np.float32) / np.float32(s_lr))
                msi_n = msi.with_data(np.asarray(msi.data, dtype=np.float32) / np.float32(s_msi))
                with timer(dev) as t:
                    model = fit_scene(lr_n, msi_n, ratio=r,
                                      config=InfnConfig(**VARIANTS[variant]),
                                      steps=task["fit_steps"], minutes=task["fit_minutes"],
                                      seed=seed, device=dev, progress=False)
                out.setdefault("steps", []).append(("fit", variant, model.meta.get("steps_done")))
                est, fuse_s, cpu_s = infer(model, lr, msi, r)
                out["rows"].append(_row(scene, label, r, variant, "fit", seed,
                                        _score(ref, est, r), t.seconds, fuse_s, cpu_s))
    return out


def kwargs_cpu(kwargs: dict) -> dict:
    """The same keyword arguments with tensors moved to the CPU."""
    return {k: (v.cpu() if hasattr(v, "cpu") else v) for k, v in kwargs.items()}


def run_task_safe(task: dict) -> dict:
    """:func:`run_task`, turning an exception into a note (one failure must not sink the run)."""
    try:
        return run_task(task)
    except Exception as exc:  # reported in the table notes
        tb = traceback.format_exc(limit=3)
        return {"rows": [], "notes": [f"{task['scene']} {task['sensor']} seed {task['seed']}: "
                                      f"FAILED {type(exc).__name__}: {exc}"], "traceback": tb}


# ----------------------------------------------------------------------------- tables
def method_title(method: str, mode: str) -> str:
    if mode == "classical":
        return {"bicubic": "bicubic", "glp": "GLP", "gsa": "GSA", "cnmf": "CNMF"}[method]
    return f"{VARIANT_TITLES[method]} ({mode})"


def aggregate(rows: list[dict]) -> list[dict]:
    """Mean ± std over seeds per (scene, sensor, ratio, method, mode), with gaps to the best
    classical baseline of the same pair (ΔPSNR in dB, SAM ratio)."""
    from benchmarks.common import mean_std

    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["scene"], r["sensor"], r["ratio"], r["method"], r["mode"])].append(r)
    out = []
    for key, rs in groups.items():
        agg = {"scene": key[0], "sensor": key[1], "ratio": key[2], "method": key[3],
               "mode": key[4], "n": len(rs)}
        for m in (*METRICS, "fit_s", "fuse_s", "cpu_s"):
            vals = [r[m] for r in rs if r.get(m) is not None]
            agg[m] = mean_std(vals) if vals else (math.nan, math.nan)
            agg[m + "_values"] = vals
        out.append(agg)
    best: dict[tuple, dict] = {}
    for a in out:
        if a["mode"] == "classical":
            k = (a["scene"], a["sensor"], a["ratio"])
            if k not in best or a["psnr"][0] > best[k]["psnr"][0]:
                best[k] = a
    for a in out:
        b = best.get((a["scene"], a["sensor"], a["ratio"]))
        a["best"] = method_title(b["method"], "classical") if b else None
        a["dpsnr"] = a["psnr"][0] - b["psnr"][0] if b else math.nan
        a["sam_ratio"] = a["sam"][0] / b["sam"][0] if b and b["sam"][0] > 0 else math.nan
    order = {m: i for i, m in enumerate((*BASELINES, *VARIANTS))}
    modes = {"classical": 0, f"LOSO x{TRAIN_RATIO}": 1, "fit": 2}
    scenes = {s: i for i, s in enumerate(SCENES)}
    out.sort(key=lambda a: (scenes.get(a["scene"], 99), a["sensor"], a["ratio"],
                            modes.get(a["mode"], 9), order.get(a["method"], 99)))
    return out


def _fmt(pair, digits=2) -> str:
    mean, std = pair
    if mean is None or math.isnan(mean):
        return "—"
    return f"{mean:.{digits}f}" if not std else f"{mean:.{digits}f} ± {std:.{digits}f}"


def detail_table(aggs: list[dict], gpu: bool) -> str:
    from benchmarks.common import markdown_table

    headers = ["scene", "sensor", "ratio", "method", "PSNR (dB)", "SSIM", "SAM (°)", "ERGAS",
               "Q2n", "ΔPSNR vs best classical", "SAM / best classical", "train/fit (s)",
               "fuse (s)"]
    if gpu:
        headers.append("fuse on CPU (s)")
    rows = []
    for a in aggs:
        row = [a["scene"], a["sensor"], f"x{a['ratio']}", method_title(a["method"], a["mode"]),
               _fmt(a["psnr"]), _fmt(a["ssim"], 4), _fmt(a["sam"]), _fmt(a["ergas"]),
               _fmt(a["q2n"], 4), "—" if math.isnan(a["dpsnr"]) else f"{a['dpsnr']:+.2f}",
               "—" if math.isnan(a["sam_ratio"]) else f"{a['sam_ratio']:.2f}",
               _fmt(a["fit_s"], 1), _fmt(a["fuse_s"], 3)]
        if gpu:
            row.append(_fmt(a["cpu_s"], 3))
        rows.append(row)
    return markdown_table(headers, rows)


def summary_table(aggs: list[dict]) -> str:
    """Per method and ratio: means over the scene/sensor pairs it ran on."""
    from benchmarks.common import markdown_table

    groups: dict[tuple, list[dict]] = defaultdict(list)
    for a in aggs:
        groups[(a["ratio"], a["mode"], a["method"])].append(a)
    order = {m: i for i, m in enumerate((*BASELINES, *VARIANTS))}
    modes = {"classical": 0, f"LOSO x{TRAIN_RATIO}": 1, "fit": 2}
    rows = []
    for key in sorted(groups, key=lambda k: (k[0], modes.get(k[1], 9), order.get(k[2], 99))):
        g = groups[key]

        def mean(k: str, g: list[dict] = g) -> float:
            return float(np.nanmean([a[k][0] for a in g]))

        wins = sum(1 for a in g if a["dpsnr"] >= 2.0 and a["sam_ratio"] < 1.0)
        rows.append([f"x{key[0]}", method_title(key[2], key[1]), str(len(g)),
                     f"{mean('psnr'):.2f}", f"{mean('ssim'):.4f}", f"{mean('sam'):.2f}",
                     f"{mean('ergas'):.2f}", f"{mean('q2n'):.4f}",
                     f"{float(np.nanmean([a['dpsnr'] for a in g])):+.2f}",
                     f"{float(np.nanmean([a['sam_ratio'] for a in g])):.2f}",
                     f"{wins}/{len(g)}", f"{mean('fuse_s'):.3f}"])
    return markdown_table(["ratio", "method", "pairs", "PSNR (dB)", "SSIM", "SAM (°)", "ERGAS",
                           "Q2n", "ΔPSNR vs best classical", "SAM / best classical",
                           "≥ +2 dB and lower SAM", "fuse (s)"], rows)


def targets_text(aggs: list[dict]) -> str:
    """Whether INFN beats the best classical baseline by ≥ 2 dB with lower SAM, per pair."""
    lines = []
    for mode in (f"LOSO x{TRAIN_RATIO}", "fit"):
        sel = [a for a in aggs if a["method"] == "infn" and a["mode"] == mode]
        if not sel:
            continue
        ok = [a for a in sel if a["dpsnr"] >= 2.0 and a["sam_ratio"] < 1.0]
        lines.append(f"- INFN ({mode}): target (≥ +2 dB PSNR over the best classical baseline "
                     f"and lower SAM) met on {len(ok)}/{len(sel)} held-out pairs; mean ΔPSNR "
                     f"{float(np.nanmean([a['dpsnr'] for a in sel])):+.2f} dB, mean SAM ratio "
                     f"{float(np.nanmean([a['sam_ratio'] for a in sel])):.2f}.")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="Salinas-A, Sentinel-2, x4, 1 seed, few steps (< 3 min); no append.")
    ap.add_argument("--seeds", type=int, default=3, help="INFN seeds (default 3).")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto).")
    ap.add_argument("--jobs", type=int, default=None,
                    help="Worker processes, one thread each (default: 2 on CPU, 1 on CUDA).")
    ap.add_argument("--scenes", nargs="+", default=list(DEFAULT_SCENES), choices=list(SCENES))
    ap.add_argument("--sensors", nargs="+", default=list(SENSORS),
                    help="SRF presets or files (default: nikon_d700 sentinel2).")
    ap.add_argument("--ratios", nargs="+", type=int, default=list(RATIOS))
    ap.add_argument("--variants", nargs="+", default=["infn", "no_dhff2", "learned_w"],
                    choices=list(VARIANTS), help="INFN variants (ablations) to train.")
    ap.add_argument("--ablation-mode", choices=["trained", "fit"], default="trained",
                    help="Train the ablations leave-one-scene-out (default) or fit them per scene.")
    ap.add_argument("--no-fit", action="store_true", help="Skip INFN scene fitting.")
    ap.add_argument("--baselines-only", action="store_true", help="Classical methods only.")
    ap.add_argument("--train-steps", type=int, default=400, help="Max steps per LOSO training.")
    ap.add_argument("--train-minutes", type=float, default=0.3,
                    help="Time budget per LOSO training (default 0.3 min).")
    ap.add_argument("--fit-steps", type=int, default=200, help="Max steps per scene fit.")
    ap.add_argument("--fit-minutes", type=float, default=0.15,
                    help="Time budget per scene fit (default 0.15 min).")
    ap.add_argument("--cave-size", type=int, default=256,
                    help="Centre crop of the CAVE scenes in pixels (0: whole 512×640).")
    ap.add_argument("--no-append", action="store_true", help="Do not touch RESULTS.md.")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    import torch

    from benchmarks.common import append_results, device_description, require_data
    from hsi.device import pick_device

    if args.quick:
        args.scenes, args.sensors, args.ratios, args.seeds = ["salinas_a"], ["sentinel2"], [4], 1
        args.train_steps, args.train_minutes, args.fit_steps, args.fit_minutes = 40, 0.4, 40, 0.3
        args.no_append = True
    require_data(args.scenes)  # one line naming what is missing, before any work
    infn = have_infn() and not args.baselines_only
    if not infn:
        args.variants, args.no_fit = [], True
        if not args.baselines_only:
            print("INFN is not importable (hsi.fusion.train_infn/fit_scene/fuse): "
                  "scoring the classical baselines only", flush=True)
    dev = pick_device(args.device)
    gpu = dev.type == "cuda"
    jobs = args.jobs or (1 if gpu else min(2, os.cpu_count() or 1))
    seeds = list(range(args.seeds)) if infn else [0]
    tasks = [{"scene": s, "sensor": sensor, "seed": seed, "device": str(dev),
              "ratios": args.ratios, "baselines": seed == seeds[0],
              "baseline_methods": BASELINES, "variants": args.variants,
              "ablation_mode": args.ablation_mode, "fit": not args.no_fit,
              "train_steps": args.train_steps, "train_minutes": args.train_minutes,
              "fit_steps": args.fit_steps, "fit_minutes": args.fit_minutes,
              "cave_size": args.cave_size}
             for seed in seeds for s in args.scenes for sensor in args.sensors]
    # the big CAVE scenes first, so that the pool does not end on one long task
    tasks.sort(key=lambda t: (SCENES[t["scene"]] != "lab", t["seed"]))
    jobs = max(1, min(jobs, len(tasks)))
    threads = 1 if jobs > 1 else 0  # 0: torch's default
    for t in tasks:
        t["threads"] = threads
    print(f"{len(tasks)} tasks on {device_description(dev)}; {jobs} worker(s)", flush=True)

    start = time.time()
    results = []

    def report(i: int, res: dict, task: dict) -> None:
        rows = res["rows"]
        print(f"[{i}/{len(tasks)}] {task['scene']} {task['sensor']} seed {task['seed']}: "
              + ", ".join(f"{r['method']}/{r['mode']} x{r['ratio']} {r['psnr']:.2f}"
                          for r in rows) + f"  ({time.time() - start:.0f} s)", flush=True)
        for n in res["notes"]:
            if "FAILED" in n:
                print("  " + n, flush=True)
        for tb in res.get("tracebacks", []) + ([res["traceback"]] if "traceback" in res else []):
            print(tb, flush=True)

    if jobs > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(jobs) as pool:
            done = pool.imap(run_task_safe, tasks)
            for i, (res, task) in enumerate(zip(done, tasks, strict=True), 1):
                results.append(res)
                report(i, res, task)
    else:
        for i, task in enumerate(tasks, 1):
            res = run_task_safe(task)
            results.append(res)
            report(i, res, task)
    wall = time.time() - start

    rows = [r for res in results for r in res["rows"]]
    notes = sorted({n for res in results for n in res["notes"]})
    if not rows:  # every task failed: nothing to tabulate, nothing appended
        print(f"fusion_ablations.py: error: every task failed ({len(tasks)}), nothing appended; "
              f"first: {notes[0] if notes else '?'}", file=sys.stderr)
        return 1
    steps = defaultdict(list)
    for res in results:
        for mode, variant, n in res.get("steps", []):
            steps[(mode, variant)].append(n)
    aggs = aggregate(rows)
    summary = summary_table(aggs)
    detail = detail_table(aggs, gpu)
    targets = targets_text(aggs)
    budget = ("classical baselines only" if not infn else
              f"INFN budgets: LOSO training ≤ {args.train_steps} steps / "
              f"{args.train_minutes:g} min per model at x{TRAIN_RATIO}, scene fit ≤ "
              f"{args.fit_steps} steps / {args.fit_minutes:g} min; steps done (mean): " + ", ".join(
                  f"{VARIANT_TITLES[v]} {m} {np.mean([s for s in n if s is not None]):.0f}"
                  for (m, v), n in sorted(steps.items()) if any(s is not None for s in n))
              + f"; {len(seeds)} seed(s)")
    text_notes = "\n".join([
        f"Wald's protocol (Gaussian PSF σ = ratio/2, block-centre decimation); scenes "
        f"{', '.join(args.scenes)}; CAVE centre-cropped to {args.cave_size} px. CNMF uses the "
        f"sensor's true SRF; GLP/GSA estimate their gains from the data. {budget}. "
        f"Times: {'GPU' if gpu else 'CPU'} wall time per scene ({jobs} worker(s), "
        f"{threads or torch.get_num_threads()} thread(s) each); total {wall / 60:.1f} min.",
        "", targets, "", *[f"- {n}" for n in notes]]).strip()
    print("\n" + summary + "\n\n" + detail + "\n\n" + text_notes)
    if not args.no_append:
        title = "Fusion: INFN vs classical baselines" if infn else "Fusion: classical baselines"
        body = (summary + "\n\n<details><summary>Per scene, sensor and ratio</summary>\n\n"
                + detail + "\n\n</details>")
        path = append_results(title, body, notes=text_notes, device=dev, data=args.scenes)
        print(f"\nappended to {path}")
    return 0


if __name__ == "__main__":
    from benchmarks.common import run_cli

    sys.exit(run_cli(main))
