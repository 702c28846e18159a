"""Train INFN for AVIRIS (the Salinas-A sample's 204 bands) + Sentinel-2, one scene held out.

The training scenes are every AVIRIS-like scene in the data folder except the held-out one:
the ten ABU scenes (nominal 400–2500 nm grids) and the other two of Salinas-A, Indian Pines and
Jasper Ridge. Each is resampled onto the Salinas-A sample's 204 band centres
(:func:`benchmarks.common.resample_cube`, linear, edges repeated) and degraded by Wald's
protocol (Sentinel-2 SRF, Gaussian PSF σ = ratio / 2, block-centre decimation). The held-out
scene is never read. ``benchmarks/fusion_aviris.py`` scores each fold on its held-out scene.

Usage::

    python -m benchmarks.train_aviris --holdout salinas_a -o aviris_wo_salinas_a.pt
    python -m benchmarks.train_aviris --all-folds --outdir runs/ --max-minutes 15
    python -m benchmarks.train_aviris --all-folds --validate --outdir runs/   # gated folds

With ``--validate`` each fold also keeps its :func:`validation_scene` out of training; after
training, the residual head is zeroed when the model's PSNR there is below its base image's
(``train_infn(validation=...)``), so a fold never does worse than its base on that scene.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/train_aviris.py` finds `benchmarks`
    sys.path.insert(0, str(ROOT))

from benchmarks.common import finish_checkpoint, git_commit, resample_cube  # noqa: E402

#: Scenes with real band centres: each is held out in turn (scored by fusion_aviris.py).
HOLDOUTS: tuple[str, ...] = ("salinas_a", "indian_pines", "jasper_ridge")
#: Training-only scenes (ABU, nominal wavelengths).
ABU: tuple[str, ...] = ("abu_airport_1", "abu_airport_2", "abu_airport_3", "abu_airport_4",
                        "abu_urban_1", "abu_urban_2", "abu_urban_3", "abu_urban_4",
                        "abu_urban_5", "sandiego")


def target_wavelengths():
    """The checkpoint's HSI band centres: the shipped Salinas-A sample's 204 bands (nm)."""
    from hsi.data import sample_cube

    return sample_cube().wavelengths


def aviris_cube(name: str):
    """Scene ``name`` as a reflectance cube on :func:`target_wavelengths` ``(204, H, W)``."""
    import hsi.data
    from hsi.degrade import normalize_reflectance

    cube = hsi.data.load(name).cube.compute()
    cube, _ = normalize_reflectance(cube)
    out = resample_cube(cube, target_wavelengths(), tolerance_nm=40.0)
    if out is None:
        raise SystemExit(f"{name}: its wavelengths do not cover the 204-band grid")
    return out


def validation_scene(holdout: str | None) -> str:
    """The real-wavelength scene a fold validates on (``--validate``): the held-out scene's
    successor in :data:`HOLDOUTS` (Salinas-A → Indian Pines → Jasper Ridge → Salinas-A)."""
    i = HOLDOUTS.index(holdout) if holdout in HOLDOUTS else -1
    return HOLDOUTS[(i + 1) % len(HOLDOUTS)]


def training_scenes(holdout: str | None, validate: bool = False) -> list[str]:
    """Every AVIRIS-like scene except ``holdout`` (and its validation scene with
    ``validate``)."""
    skip = {holdout, validation_scene(holdout) if validate else None}
    return [s for s in (*HOLDOUTS, *ABU) if s not in skip]


def train_fold(holdout: str | None, output: str, args) -> None:
    """Train one checkpoint without ``holdout`` and write it to ``output``."""
    from hsi.fusion import InfnConfig, train_infn

    scenes = training_scenes(holdout, args.validate)
    cubes = [aviris_cube(s) for s in scenes]
    validation = [aviris_cube(validation_scene(holdout))] if args.validate else None
    start = time.perf_counter()
    partial = output + ".training"
    model = train_infn(cubes, srf=args.sensor, ratio=args.ratio,
                       config=InfnConfig(base=args.base, hidden=args.hidden),
                       steps=args.steps, max_minutes=args.max_minutes, seed=args.seed,
                       device="auto", out_path=partial, progress=False, validation=validation)
    wall = time.perf_counter() - start
    steps = int(model.meta["steps_done"])
    finish_checkpoint(partial, output, {
        "command": "python -m benchmarks.train_aviris " + shlex.join(sys.argv[1:]),
        "holdout": holdout or "none",
        "data": scenes,
        "steps_done": steps,
        "wall_minutes": round(wall / 60.0, 1),
        "steps_per_s": round(steps / wall, 2),
        "torch_threads": torch.get_num_threads(),
        "git_commit": git_commit(),
        **({"validation": model.meta["validation"]} if args.validate else {}),
    })


def fold_path(outdir: str | Path, holdout: str, base: str = "glp", seed: int = 0) -> Path:
    """Where ``--all-folds`` writes the fold without ``holdout``."""
    return Path(outdir) / f"infn_aviris_wo_{holdout}_{base}_s{seed}.pt"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--holdout", choices=[*HOLDOUTS, "none"], default="salinas_a")
    p.add_argument("-o", "--output", help="checkpoint (with --holdout)")
    p.add_argument("--all-folds", action="store_true",
                   help="train one checkpoint per held-out scene into --outdir")
    p.add_argument("--outdir", default=".")
    p.add_argument("--base", choices=["glp", "bicubic"], default="glp")
    p.add_argument("--sensor", default="sentinel2")
    p.add_argument("--ratio", type=int, default=4)
    p.add_argument("--steps", type=int, default=60000)
    p.add_argument("--max-minutes", type=float, default=15.0, help="per checkpoint")
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--validate", action="store_true",
                   help="keep one more real scene out of training and zero the residual head "
                        "when the model does not beat its base image there")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.all_folds:
        for holdout in HOLDOUTS:
            train_fold(holdout, str(fold_path(args.outdir, holdout, args.base, args.seed)), args)
    elif args.output:
        train_fold(None if args.holdout == "none" else args.holdout, args.output, args)
    else:
        p.error("give -o OUTPUT or --all-folds")


if __name__ == "__main__":
    from benchmarks.common import run_cli

    sys.exit(run_cli(main))
