"""Benchmark: every headline fusion number of hsikit from one command.

Runs, in one process and one invocation:

1. ``benchmarks/fusion_cave.py``: the INFN CAVE checkpoints against bicubic, GLP, GSA and CNMF
   on the 11 CAVE test scenes, paper protocol (x4, x8) and realistic protocol (noise, PSF
   mismatch, unseen camera), with INFN fitted per scene (``--fit``);
2. ``benchmarks/fusion_aviris.py``: AVIRIS + Sentinel-2, leave one scene out, x4 and x8, with
   the fold checkpoints of ``benchmarks/train_aviris.py --all-folds``.

Each part appends its own section to ``benchmarks/RESULTS.md`` (commit, data hashes, machine)
with the verdict lines the scripts print. Training is not part of this command (it takes up to
an hour per checkpoint on a 2-core CPU): the checkpoints' metadata records how each was trained.
The INFN variants trained to one small equal budget (ablations) are in
``benchmarks/fusion_ablations.py``.

Usage::

    python benchmarks/fusion.py --cave glp=hsi/data/checkpoints/infn_cave31_nikond700_x4.pt \\
        --aviris-folds runs/aviris/
    python benchmarks/fusion.py --quick      # one CAVE scene, paper protocol, no append
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import fusion_aviris, fusion_cave  # noqa: E402

SHIPPED_CAVE = ROOT / "hsi" / "data" / "checkpoints" / "infn_cave31_nikond700_x4.pt"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cave", nargs="*", default=[f"glp={SHIPPED_CAVE}"], metavar="LABEL=PATH",
                    help="CAVE checkpoints (default: the shipped one)")
    ap.add_argument("--aviris-folds", help="folder of train_aviris --all-folds checkpoints")
    ap.add_argument("--no-fit", action="store_true", help="skip INFN fitted per CAVE scene")
    ap.add_argument("--fit-minutes", type=float, default=1.0)
    ap.add_argument("--jobs", type=int, default=1, help="CAVE scenes scored in parallel")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args(argv)

    cave = ["--checkpoint", *args.cave, "--jobs", str(args.jobs), "--threads", "1",
            "--fit-minutes", str(args.fit_minutes)]
    if not args.no_fit:
        cave.append("--fit")
    if args.quick:
        cave += ["--scenes", "jelly_beans", "--protocols", "paper"]
    if args.quick or args.no_append:
        cave.append("--no-append")
    status = fusion_cave.main(cave)
    if args.aviris_folds and not args.quick:
        status |= fusion_aviris.main(["--folds", args.aviris_folds, "--threads", "1",
                                      *(["--no-append"] if args.no_append else [])])
    elif not args.quick:
        print("AVIRIS + Sentinel-2 leave-one-scene-out skipped: give --aviris-folds DIR "
              "(train them with `python -m benchmarks.train_aviris --all-folds --outdir DIR`)")
    return status


if __name__ == "__main__":
    from benchmarks.common import run_cli

    sys.exit(run_cli(main))
