"""Benchmark: does ``method="auto"`` keep the shipped CAVE checkpoint only on scenes like its own?

A checkpoint's sensors (31 bands at 400–700 nm, the Nikon D700) say nothing about the scene:
close-range objects under studio light (CAVE) or fields seen from an aircraft. For every pair
the script scores GLP, the shipped CAVE checkpoint (explicitly) and ``method="auto"`` against
the reference, and reads the scene check that ``auto`` ran
(:func:`hsi.fusion.gate.reprojection_gap` on the central 256² HR window, in the result's
``auto_check`` metadata).

Groups of scenes, each at paper x4, paper x8 and x4 with 35 / 40 dB noise on the LR-HSI /
HR-MSI (the D700 and a Gaussian PSF σ = ratio / 2 throughout: ``auto`` only applies to a
camera it knows):

- ``train``: the 20 CAVE training scenes (256² centre crops), the checkpoint's own. The limit
  stored in the checkpoint (``meta["max_reprojection_gap_db"]``) is twice the largest gap
  here, rounded to 0.1 dB; the script recomputes it and says whether it matches.
- ``airborne``: every AVIRIS-like scene with band centres in the data folder (Salinas-A,
  Indian Pines, Jasper Ridge, Samson, the ABU scenes), resampled to the CAVE grid: scenes the
  checkpoint was never meant for.
- ``test``: the 11 CAVE test scenes (256² centre crops): a check, nothing is chosen from it.

Usage::

    python -m benchmarks.auto_guard
    python -m benchmarks.auto_guard --groups train airborne --no-append
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/auto_guard.py` finds `benchmarks`
    sys.path.insert(0, str(ROOT))

from benchmarks.common import append_results, markdown_table  # noqa: E402

#: (label, ratio, noisy) of every pair made from a scene.
SETTINGS = (("x4", 4, False), ("x8", 8, False), ("x4 noisy", 4, True))
#: Scenes of the ``airborne`` group (those without band centres are skipped).
AIRBORNE = ("salinas_a", "indian_pines", "jasper_ridge", "samson", "abu_airport_1",
            "abu_airport_2", "abu_airport_3", "abu_airport_4", "abu_urban_1", "abu_urban_2",
            "abu_urban_3", "abu_urban_4", "abu_urban_5", "sandiego")
#: The limit is this many times the largest gap on the checkpoint's training scenes.
LIMIT_FACTOR = 2.0


def group_scenes(group: str, crop: int):
    """``(name, reference cube)`` of a group, reflectance-scaled, on the CAVE band grid."""
    from rasterio.windows import Window

    import hsi.data
    from benchmarks.common import resample_cube
    from hsi.data.cave_database import CAVE_TEST, CAVE_TRAIN, cave_cubes
    from hsi.degrade import normalize_reflectance

    if group in ("train", "test"):
        names = CAVE_TRAIN if group == "train" else CAVE_TEST
        for name, cube in zip(names, cave_cubes(names), strict=True):
            cube, _ = normalize_reflectance(cube.compute())
            r0, c0 = (cube.height - crop) // 2, (cube.width - crop) // 2
            yield name, cube.crop(Window(c0, r0, crop, crop))
        return
    grid = np.arange(400.0, 701.0, 10.0)
    for name in AIRBORNE:
        cube = hsi.data.load(name).cube.compute()
        if cube.wavelengths is None:
            continue
        cube, _ = normalize_reflectance(cube)
        out = resample_cube(cube, grid, tolerance_nm=10.0)
        if out is not None:
            yield name, out


def scene_pair(ref, ratio: int, noisy: bool, seed: int):
    """The D700 Wald pair of ``ref`` (noise from ``benchmarks.fusion_cave`` when ``noisy``)."""
    from benchmarks.fusion_cave import LR_SNR_DB, MSI_SNR_DB, add_noise
    from hsi.degrade import simulate_pair

    lr, msi = simulate_pair(ref, ratio, "nikon_d700")
    if noisy:
        rng = np.random.default_rng(seed)
        lr = lr.with_data(add_noise(np.asarray(lr.data), LR_SNR_DB, rng))
        msi = msi.with_data(np.clip(add_noise(np.asarray(msi.data), MSI_SNR_DB, rng), 0, None))
    return lr, msi


def score_pair(ref, lr, msi, model) -> dict:
    """PSNR of GLP, the checkpoint and ``auto``; the method ``auto`` chose and its check."""
    from hsi.fusion import fuse
    from hsi.metrics import psnr

    target = np.asarray(ref.data, dtype=np.float64)[:, : msi.height, : msi.width]
    glp = fuse(lr, msi, method="glp", device="cpu", progress=False)
    infn = fuse(lr, msi, model=model, device="cpu", progress=False)
    auto = fuse(lr, msi, device="cpu", progress=False)
    check = auto.metadata.get("auto_check") or {}
    return {"glp": psnr(target, glp.data), "infn": psnr(target, infn.data),
            "auto": psnr(target, auto.data), "chose": auto.metadata["fusion_method"],
            "gap": check.get("reprojection_gap_db", float("nan"))}


def main(argv: list[str] | None = None) -> int:
    from hsi.fusion.api import CHECKPOINT_DIR, load_infn
    from hsi.fusion.gate import GAP_KEY

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", nargs="+", default=["train", "airborne", "test"],
                    choices=["train", "airborne", "test"])
    ap.add_argument("--crop", type=int, default=256, help="CAVE centre crop, pixels")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    path = CHECKPOINT_DIR / "infn_cave31_nikond700_x4.pt"
    model = load_infn(path)
    limit = model.meta.get(GAP_KEY)
    start = time.perf_counter()
    rows, per_group = [], {}
    for group in args.groups:
        results = per_group.setdefault(group, [])
        for i, (name, ref) in enumerate(group_scenes(group, args.crop)):
            for label, ratio, noisy in SETTINGS:
                lr, msi = scene_pair(ref, ratio, noisy, seed=i)
                res = score_pair(ref, lr, msi, model)
                results.append(res)
                rows.append([group, name, label, f"{res['glp']:.2f}", f"{res['infn']:.2f}",
                             f"{res['infn'] - res['glp']:+.2f}", f"{res['gap']:.2f}",
                             res["chose"], f"{res['auto'] - res['glp']:+.2f}"])
                print(" | ".join(rows[-1]), flush=True)

    summary, verdicts = [], []
    for group, results in per_group.items():
        gain = np.array([r["infn"] - r["glp"] for r in results])
        auto = np.array([r["auto"] - r["glp"] for r in results])
        kept = sum(r["chose"] == "infn" for r in results)
        summary.append([group, len(results), f"{gain.mean():+.2f}", int((gain < 0).sum()),
                        f"{np.nanmax([r['gap'] for r in results]):.2f}", kept,
                        f"{auto.mean():+.2f}", int((auto < -0.1).sum()), f"{auto.min():+.2f}"])
    if "train" in per_group:
        derived = round(LIMIT_FACTOR * float(np.nanmax([r["gap"] for r in per_group["train"]])),
                        1)
        verdicts.append(f"limit from the training scenes: {LIMIT_FACTOR:g} × the largest gap = "
                        f"{derived:.1f} dB; stored in the checkpoint: {limit} dB"
                        f"{' (matches)' if limit is not None and derived == limit else ''}")
    for group, results in per_group.items():
        auto = np.array([r["auto"] - r["glp"] for r in results])
        gain = np.array([r["infn"] - r["glp"] for r in results])
        verdicts.append(f"{group}: auto vs GLP {auto.mean():+.2f} dB mean, below GLP by more "
                        f"than 0.1 dB on {int((auto < -0.1).sum())} of {len(auto)} pairs "
                        f"(the checkpoint alone: {gain.mean():+.2f} dB, below on "
                        f"{int((gain < -0.1).sum())})")
    table = markdown_table(["group", "pairs", "INFN − GLP (dB)", "INFN below GLP",
                            "largest gap (dB)", "auto kept INFN", "auto − GLP (dB)",
                            "auto below GLP − 0.1", "auto − GLP, worst"], summary)
    details = markdown_table(["group", "scene", "pair", "GLP", "INFN", "INFN − GLP",
                              "gap (dB)", "auto chose", "auto − GLP"], rows)
    print(table)
    print("\n".join(f"- {v}" for v in verdicts))
    if not args.no_append:
        notes = ("Verdicts (printed by the script):\n" + "\n".join(f"- {v}" for v in verdicts)
                 + f"\n\nCheckpoint `{path.name}`; gap = `hsi.fusion.gate.reprojection_gap` on "
                 "the central 256² HR window, as `auto` measures it (GLP's reprojection PSNR "
                 "minus the checkpoint's). PSNR in dB against the reference. CAVE scenes: "
                 f"{args.crop}² centre crops; airborne scenes resampled to 400, 410, … 700 nm. "
                 f"Wall {(time.perf_counter() - start) / 60:.1f} min, 1 thread."
                 f"\n\n<details><summary>Per pair</summary>\n\n{details}\n\n</details>")
        append_results("Fusion: the scene check of method='auto' (shipped CAVE checkpoint)",
                       table, notes=notes)
    return 0


if __name__ == "__main__":
    from benchmarks.common import run_cli

    raise SystemExit(run_cli(main))
