"""Benchmark: spectral denoising of the LR-HSI before fusion, on CAVE *training* scenes.

For each scene (256² centre crop): the paper pairs (x4, x8: no noise) and the realistic x4
pairs of ``benchmarks/fusion_cave.py`` (35 dB noise on the LR-HSI, 40 dB on the HR-MSI, the
unseen camera, each PSF variant). The script prints the SNR that
:func:`hsi.fusion.denoise.spectral_denoiser` estimates, and GLP's and the shipped INFN's PSNR
with ``lr_denoise`` off and on (the default). Training scenes only: the denoiser was designed
on them; the test split is scored by ``fusion_cave.py``.

Usage::

    python -m benchmarks.lr_denoise --scenes 8
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/lr_denoise.py` finds `benchmarks`
    sys.path.insert(0, str(ROOT))

from benchmarks.common import append_results, markdown_table  # noqa: E402

SETTINGS = (("off", False), ("on", True))


def main(argv: list[str] | None = None) -> int:
    from benchmarks.fusion_cave import (
        PSF_VARIANTS,
        paper_pair,
        realistic_pair,
        training_crops,
        unseen_camera,
    )
    from hsi.data.cave_database import CAVE_TRAIN
    from hsi.fusion import fuse
    from hsi.fusion.api import CHECKPOINT_DIR
    from hsi.fusion.denoise import spectral_denoiser
    from hsi.metrics import fusion_metrics

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=8, help="first N CAVE training scenes")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--methods", nargs="+", default=["glp", "infn"],
                    choices=["glp", "gsa", "cnmf", "infn"])
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    model = CHECKPOINT_DIR / "infn_cave31_nikond700_x4.pt"
    methods = [(m.upper(), {"method": m, **({"model": model} if m == "infn" else {})})
               for m in args.methods]
    camera, camera_label = unseen_camera()
    rows, scores = [], {}
    start = time.perf_counter()
    for i, (name, ref) in enumerate(training_crops(args.scenes, args.crop)):
        target = np.asarray(ref.data, dtype=np.float32)
        pairs = [(f"paper x{r}", r, *paper_pair(ref, r)) for r in (4, 8)]
        pairs += [(f"realistic {v}", 4, *realistic_pair(ref, 4, v, camera, i))
                  for v in ("gauss×1.0", *PSF_VARIANTS)]
        for label, ratio, lr, msi in pairs:
            den = spectral_denoiser(torch.as_tensor(np.asarray(lr.data, np.float32)))
            row = [name, label, *((f"{den.snr_db:.1f}", str(den.rank)) if den else ("–", "–"))]
            for method, kwargs in methods:
                for tag, setting in SETTINGS:
                    est = fuse(lr, msi, ratio=ratio, device="cpu", progress=False,
                               lr_denoise=setting, **kwargs)
                    psnr = fusion_metrics(target, np.clip(est.data, 0, None), ratio)["psnr"]
                    group = label.split(" ")[0] + (f" x{ratio}" if label.startswith("paper")
                                                   else "")
                    scores.setdefault((group, method, tag), []).append(psnr)
                    row.append(f"{psnr:.2f}")
            rows.append(row)
            print(" | ".join(row), flush=True)
    head = ["scene", "pair", "estimated SNR (dB)", "subspace rank",
            *(f"{m} {t}" for m, _ in methods for t, _ in SETTINGS)]
    table = markdown_table(head, rows)
    groups = sorted({k[0] for k in scores})
    means = [[g, m, str(len(scores[(g, m, "off")])),
              *(f"{np.mean(scores[(g, m, t)]):.2f}" for t, _ in SETTINGS),
              f"{np.mean(scores[(g, m, 'on')]) - np.mean(scores[(g, m, 'off')]):+.2f}",
              f"{np.min(np.subtract(scores[(g, m, 'on')], scores[(g, m, 'off')])):+.2f}"]
             for g in groups for m, _ in methods]
    summary = markdown_table(["pairs", "method", "n", "PSNR off", "PSNR on", "on − off (mean)",
                              "on − off (worst pair)"], means)
    notes = (f"CAVE training scenes {', '.join(CAVE_TRAIN[: args.scenes])} (never scored by "
             f"fusion_cave.py), {args.crop}² centre crops; realistic pairs: LR-HSI 35 dB and "
             f"HR-MSI 40 dB SNR, camera {camera_label}, PSF variants as named. INFN = the "
             f"shipped `{model.name}`. PSF estimated per pair (psf_sigma='auto'). "
             f"Total {time.perf_counter() - start:.0f} s, 1 torch thread.\n\n"
             "<details><summary>Per pair</summary>\n\n" + table + "\n\n</details>")
    print(summary)
    if not args.no_append:
        append_results("LR-HSI spectral denoising: CAVE training scenes", summary, notes=notes,
                       device="cpu")
    return 0


if __name__ == "__main__":
    from benchmarks.common import run_cli

    raise SystemExit(run_cli(main))
