"""Train INFN on the CAVE training split (20 scenes) for the Nikon D700, x4.

The checkpoint's metadata records the command, the scene list, the steps done, the wall time,
the speed (steps/s, GFLOP per step, and on CPU that as a share of the sgemm rate measured at
the end, at the run's torch thread count) and the git commit; the script prints one line with
the same facts for ``RESULTS.md``.
No test scene (:data:`hsi.data.cave_database.CAVE_TEST`) is read; with
``--hold-out-validation`` the validation scenes (:data:`~hsi.data.cave_database.CAVE_VALIDATION`)
are not read either, so the model can be scored on them to take a choice.

Usage::

    python -m benchmarks.train_cave --base glp --max-minutes 50 -o cave_glp.pt
    python -m benchmarks.train_cave --base bicubic --max-minutes 50 -o cave_bicubic.pt
    python -m benchmarks.train_cave --no-second-branch --steps 4000 -o cave_no_lr_branch.pt
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/train_cave.py` finds `benchmarks`
    sys.path.insert(0, str(ROOT))

from benchmarks.common import finish_checkpoint, git_commit, matmul_rate  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    from hsi.data.cave_database import CAVE_FIT, CAVE_TRAIN, cave_cubes
    from hsi.fusion import Augmentation, InfnConfig, train_infn
    from hsi.fusion.config import WEIGHTS
    from hsi.fusion.infn import model_cost

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--base", choices=["glp", "bicubic"], default="glp")
    p.add_argument("--sensor", default="nikon_d700")
    p.add_argument("--ratio", type=int, default=4)
    p.add_argument("--steps", type=int, default=60000)
    p.add_argument("--max-minutes", type=float, default=50.0)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--weights", choices=list(WEIGHTS), default="cosine",
                   help="local interpolation weights: INR-CS cosine (INFN), or the ablations")
    p.add_argument("--no-second-branch", action="store_true",
                   help="ablation: without DHFF's LR-HSI high-frequency branch")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--augment", action="store_true",
                   help="realistic-protocol augmentation (PSF σ ±30 %%, noise 30-50 dB SNR)")
    p.add_argument("--realizations", type=int, default=2,
                   help="with --augment: degraded pairs per training scene")
    p.add_argument("--box-probability", type=float, default=0.0,
                   help="with --augment: chance that a pair's PSF is a 3x3 or 5x5 box")
    p.add_argument("--srf-shift", type=float, default=0.0,
                   help="with --augment: shift each camera band by up to ± this many nm and "
                        "scale its width by up to 1.3x (robustness to unseen cameras)")
    p.add_argument("--init", default=None,
                   help="start from this checkpoint's weights and architecture (a warm "
                        "restart when it holds no training state: fresh optimiser and schedule)")
    p.add_argument("--clean-pairs", type=int, default=0,
                   help="with --augment: noise-free nominal pairs added per training scene")
    p.add_argument("--estimated-base-psf", action="store_true",
                   help="with --augment: build each pair's GLP base with the PSF (σ and "
                        "shift) estimated from the pair, as hsi fuse does by default")
    p.add_argument("--misregistration", type=float, default=0.0,
                   help="with --augment: shift each Gaussian-PSF pair's PSF centre by up to "
                        "± this many HR pixels per axis (the sensors' misregistration)")
    p.add_argument("--denoise-lr", action="store_true",
                   help="with --augment: denoise each pair's LR-HSI across bands as hsi fuse "
                        "does by default")
    p.add_argument("--hold-out-validation", action="store_true",
                   help="train on the 16 scenes of CAVE_FIT only, keeping the 4 validation "
                        "scenes (CAVE_VALIDATION) unseen for choices")
    args = p.parse_args(argv)
    if args.init and not Path(args.init).is_file():
        p.error(f"--init {args.init}: no such file")
    if args.threads:
        torch.set_num_threads(args.threads)

    scenes = CAVE_FIT if args.hold_out_validation else CAVE_TRAIN
    cubes = cave_cubes(scenes)
    start = time.perf_counter()
    config = InfnConfig(base=args.base, hidden=args.hidden, weights=args.weights,
                        dhff_second_branch=not args.no_second_branch)
    partial = args.output + ".training"
    model = train_infn(cubes, srf=args.sensor, ratio=args.ratio, config=config,
                       steps=args.steps, max_minutes=args.max_minutes, seed=args.seed,
                       device="auto", out_path=partial, progress=False, resume_from=args.init,
                       augment=Augmentation(realizations=args.realizations,
                                            box_probability=args.box_probability,
                                            srf_shift_nm=args.srf_shift,
                                            clean_pairs=args.clean_pairs,
                                            estimated_base_psf=args.estimated_base_psf,
                                            misregistration=args.misregistration,
                                            denoise_lr=args.denoise_lr)
                       if args.augment else None)
    wall = time.perf_counter() - start
    steps = int(model.meta["steps_done"])
    # issue 12: the step's FLOPs (≈ 3 × one batch's forward) as a share of the measured sgemm
    on_cpu = next(model.parameters()).device.type == "cpu"
    step_flops = 3 * model_cost(model.to("cpu"), lr_size=config.patch // args.ratio,
                                ratio=args.ratio)["flops"] * config.batch
    sgemm = matmul_rate("cpu", 2048, 5) if on_cpu else None
    record = {
        "command": "python -m benchmarks.train_cave " + shlex.join(sys.argv[1:]),
        "data": [f"cave_{s}" for s in scenes],
        "steps_done": steps,
        "initialised_from": args.init,
        "wall_minutes": round(wall / 60.0, 1),
        "steps_per_s": round(steps / wall, 2),
        "gflop_per_step": round(step_flops / 1e9, 2),
        **({"sgemm_gflop_s": round(sgemm / 1e9, 1),
            "share_of_sgemm": round(steps / wall * step_flops / sgemm, 3)} if sgemm else {}),
        "torch_threads": torch.get_num_threads(),
        "git_commit": git_commit(),
    }
    finish_checkpoint(partial, args.output, record)


if __name__ == "__main__":
    from benchmarks.common import run_cli

    sys.exit(run_cli(main))
