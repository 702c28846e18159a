"""Score the shipped INFN checkpoint on the demo pair (x4 and x8) and report model cost.

Prints two markdown tables: fusion metrics of INFN (shipped checkpoint, trained without
Salinas-A) and classical baselines on the Salinas-A sample simulated with the Sentinel-2 preset, and
parameters / FLOPs per 64×64 LR patch of INFN variants. x8 queries the x4 checkpoint at x8.

Run: ``python benchmarks/shipped_checkpoint.py``
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from hsi.data import sample_cube
from hsi.degrade import crop_to_ratio, simulate_pair
from hsi.fusion import INFN, InfnConfig, fuse
from hsi.fusion.infn import model_cost
from hsi.metrics import fusion_metrics

METHODS = ("infn", "glp", "cnmf", "bicubic")
VARIANTS = {
    "default (hidden 32, depth 2, INR-CS, DHFF)": {},
    "without DHFF 2nd branch": {"dhff_second_branch": False},
    "learned weights instead of INR-CS": {"weights": "learned"},
    "hidden 64, depth 3": {"hidden": 64, "depth": 3},
}


def score_rows() -> list[str]:
    """One markdown row per (ratio, method): metrics and seconds on CPU."""
    cube = sample_cube()
    rows = []
    for ratio in (4, 8):
        lr, hr = simulate_pair(cube, ratio, "sentinel2")
        ref = np.asarray(crop_to_ratio(cube, ratio).data, dtype=np.float64)
        for method in METHODS:
            start = time.perf_counter()
            est = fuse(lr, hr, method=method, ratio=ratio, device="cpu", progress=False)
            seconds = time.perf_counter() - start
            s = fusion_metrics(ref, np.asarray(est.data, np.float64), ratio)
            rows.append(f"| x{ratio} | {method} | {s['psnr']:.2f} | {s['ssim']:.4f} | "
                        f"{s['sam']:.3f} | {s['ergas']:.3f} | {s['q2n']:.4f} | {seconds:.2f} |")
    return rows


def cost_rows() -> list[str]:
    """One markdown row per INFN variant: parameters and GFLOPs per 64×64 LR patch at x4."""
    rows = []
    for name, changes in VARIANTS.items():
        cost = model_cost(INFN(InfnConfig(hsi_bands=204, msi_bands=13, **changes)), 64, 4)
        rows.append(f"| {name} | {cost['params']:,} | {cost['flops'] / 1e9:.2f} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Prints its tables only; it never writes benchmarks/RESULTS.md.").parse_args(argv)
    print("| ratio | method | PSNR dB | SSIM | SAM ° | ERGAS | Q2n | time s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(score_rows()))
    print()
    print("| config | parameters | GFLOPs per 64×64 LR patch (x4) |")
    print("|---|---:|---:|")
    print("\n".join(cost_rows()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
