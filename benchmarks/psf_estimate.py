"""Benchmark: the PSF estimated from the pair, on CAVE *training* scenes (realistic pairs).

For each scene (256² centre crop) and each PSF of the realistic protocol (Gaussian σ × 1,
× 1.25, × 0.75 and a 4 × 4 box at x4; 35 dB noise on the LR-HSI, 40 dB on the HR-MSI, the
unseen camera of ``benchmarks/fusion_cave.py``), the script prints the σ that
:func:`hsi.fusion.psf.estimate_psf` finds (σ and the sub-pixel shift of its centre) and GLP's
PSNR with the nominal σ (ratio / 2), with the estimated σ alone (no shift) and with the whole
estimate. The 4 × 4 box is even-sized: :func:`hsi.degrade.kernel_blur_decimate` centres it half
an HR pixel off the block centre, so its pairs are also misregistered by half a pixel.
Training scenes only: the estimator was designed on them, the test split is scored by
``fusion_cave.py``.

Usage::

    python -m benchmarks.psf_estimate --scenes 6
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/psf_estimate.py` finds `benchmarks`
    sys.path.insert(0, str(ROOT))

from benchmarks.common import append_results, markdown_table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from benchmarks.fusion_cave import PSF_VARIANTS, realistic_pair, training_crops, unseen_camera
    from hsi.degrade import Psf
    from hsi.fusion.baselines import glp
    from hsi.fusion.psf import estimate_psf
    from hsi.metrics import fusion_metrics

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=6, help="first N CAVE training scenes")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    camera, camera_label = unseen_camera()
    rows, gains = [], []
    start = time.perf_counter()
    for i, (name, ref) in enumerate(training_crops(args.scenes, args.crop)):
        target = np.asarray(ref.data, dtype=np.float32)
        for variant in ("gauss×1.0", *PSF_VARIANTS):
            lr, msi = realistic_pair(ref, 4, variant, camera, i)
            lr_t = torch.as_tensor(np.asarray(lr.data, dtype=np.float32))
            msi_t = torch.as_tensor(np.asarray(msi.data, dtype=np.float32))
            t0 = time.perf_counter()
            psf = estimate_psf(lr_t, msi_t, 4)
            seconds = time.perf_counter() - t0
            scores = [fusion_metrics(target, np.clip(glp(lr_t, msi_t, 4, psf_sigma=s).numpy(),
                                                     0, None), 4)["psnr"]
                      for s in (2.0, Psf(psf.sigma), psf)]
            gains.append(scores[2] - scores[0])
            rows.append([name, variant, f"{psf.sigma:.3f}",
                         f"({psf.shift[0]:+.2f}, {psf.shift[1]:+.2f})", f"{scores[0]:.2f}",
                         f"{scores[1]:.2f}", f"{scores[2]:.2f}", f"{scores[2] - scores[0]:+.2f}",
                         f"{seconds:.2f}"])
            print(" | ".join(rows[-1]), flush=True)
    table = markdown_table(["scene", "true PSF", "σ estimated", "shift estimated",
                            "GLP nominal σ = 2 (dB)", "GLP estimated σ, no shift (dB)",
                            "GLP estimated PSF (dB)", "gain", "estimate (s)"], rows)
    notes = (f"CAVE training scenes (never scored by fusion_cave.py), {args.crop}² centre crops, "
             f"x4, realistic pairs: LR-HSI 35 dB and HR-MSI 40 dB SNR, camera {camera_label}. "
             f"GLP gain from the estimated PSF over the nominal one: mean {np.mean(gains):+.2f} "
             f"dB, min {np.min(gains):+.2f}, max {np.max(gains):+.2f} over {len(gains)} pairs. "
             f"Total {time.perf_counter() - start:.0f} s, 1 torch thread.")
    print(table)
    print(notes)
    if not args.no_append:
        append_results("PSF estimated from the pair: CAVE training scenes, realistic pairs", table,
                       notes=notes, device="cpu")
    return 0


if __name__ == "__main__":
    from benchmarks.common import run_cli

    raise SystemExit(run_cli(main))
