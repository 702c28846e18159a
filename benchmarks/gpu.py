"""GPU check for INFN in one script (< 8 minutes): CUDA tests, training speed, inference, AMP.

1. the CUDA-marked tests (``pytest --device cuda`` on the fusion and tiling tests);
2. training steps/s of the default INFN step (8 patches of 32²) and of batches of 32 to 512,
   with the step's FLOPs as a share of the device's measured fp32 matmul rate;
3. the shipped CAVE checkpoint on a whole CAVE test scene (jelly_beans, paper protocol x4):
   this device's PSNR and SAM, to set beside the CPU's in RESULTS.md;
4. INFN inference of a 1000 × 1000 × 31 x4 pair (a CAVE test scene mirrored to that size, or
   the shipped sample when CAVE is absent), in memory (median of 5) and tiled through
   ``fuse_files`` (batched tiles, overlapped copies); goal < 0.5 s in memory on a data-centre
   GPU; the network alone on device tensors, fp32 and AMP;
5. AMP against fp32 on the same pair (PSNR between the two outputs, max difference).

It appends one section to ``benchmarks/RESULTS.md`` naming the device. On a machine without
CUDA, ``--device cpu --quick`` runs the same code paths small (that is how it is tested).

Usage::

    python -m benchmarks.gpu                          # on the GPU machine
    python -m benchmarks.gpu --device cpu --quick --no-append
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import append_results, markdown_table, matmul_rate, timer  # noqa: E402

#: The tests run with ``--device cuda`` (the ones whose models take the device fixture, and the
#: fusion and tiling tests, which pick CUDA by themselves when it is there).
CUDA_TESTS = ("tests/fusion", "tests/tiling", "tests/test_degrade.py", "tests/test_device.py")
#: ``--test-set all`` adds these (3.5 min on the 2-core CPU; never yet run under CUDA).
MORE_CUDA_TESTS = ("tests/classification", "tests/clustering")

#: The shipped CAVE checkpoint: the model a user's ``hsi fuse`` runs on a CAVE-like pair.
SHIPPED = ROOT / "hsi" / "data" / "checkpoints" / "infn_cave31_nikond700_x4.pt"


def scene_pair(size: int, ratio: int = 4):
    """A real ``(31, size, size)`` reference (CAVE test scene mirrored) and its x4 pair."""
    from hsi.cube import Cube
    from hsi.degrade import simulate_pair

    try:
        from hsi.data.cave_database import cave_cubes

        (ref,) = cave_cubes(["jelly_beans"])
        data = np.asarray(ref.data, dtype=np.float32)
        wl = ref.wavelengths
    except Exception:  # CAVE not present: the shipped sample's first 31 visible bands
        from hsi.data import sample_cube

        s = sample_cube()
        keep = np.flatnonzero((s.wavelengths >= 400) & (s.wavelengths <= 720))[:31]
        data, wl = np.asarray(s.data, dtype=np.float32)[keep], s.wavelengths[keep]
    reps = -(-size // data.shape[1])
    tiled = np.tile(np.concatenate([data, data[:, ::-1]], axis=1), (1, reps, reps))
    tiled = np.concatenate([tiled, tiled[:, :, ::-1]], axis=2)[:, :size, :size]
    ref = Cube(np.ascontiguousarray(tiled), wavelengths=wl, name="bench")
    return simulate_pair(ref, ratio, "nikon_d700")


def main(argv: list[str] | None = None) -> int:
    from hsi.fusion import INFN, InfnConfig, fuse, load_infn, model_cost, train_infn
    from hsi.fusion.infn import autocast_for
    from hsi.metrics import psnr

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--checkpoint", default=str(SHIPPED) if SHIPPED.exists() else None,
                    help="INFN checkpoint (default: the shipped CAVE x4 one)")
    ap.add_argument("--quick", action="store_true", help="small sizes (CPU check)")
    ap.add_argument("--no-tests", action="store_true")
    ap.add_argument("--test-set", choices=["fusion", "all"], default="fusion",
                    help="fusion: fusion, tiling, degradation, devices (~1.5 min on an H200); "
                         "all: also classification and clustering")
    ap.add_argument("--no-append", action="store_true")
    ap.add_argument("--test-log", default=None, help="write the CUDA tests' output here")
    ap.add_argument("--batches", type=int, nargs="+", default=None,
                    help="training batches to time (default 8 32 128 512; --quick: 8 16)")
    args = ap.parse_args(argv)
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    warnings.simplefilter("ignore", NotGeoreferencedWarning)  # the benchmark pair has no CRS
    dev = torch.device(args.device)
    size = 128 if args.quick else 1000
    rows, notes = [], []

    if not args.no_tests and dev.type == "cuda":
        from tests.conftest import SKIP_MISSING_DATA

        tests = CUDA_TESTS + (MORE_CUDA_TESTS if args.test_set == "all" else ())
        start = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            *tests, "--device", "cuda", "-rfEs"],
                           cwd=ROOT, capture_output=True, text=True,
                           timeout=300 if args.test_set == "fusion" else 540,
                           env={**os.environ, SKIP_MISSING_DATA: "1"})  # data not carried
        if args.test_log:
            Path(args.test_log).write_text(r.stdout + r.stderr, encoding="utf-8")
        last = (r.stdout.strip().splitlines() or ["(no output)"])[-1]
        which = "fusion, tiling, degradation, devices" + (
            ", classification, clustering" if args.test_set == "all" else "")
        rows.append([f"CUDA tests ({which})", last,
                     f"{time.perf_counter() - start:.0f} s"])

    rate = matmul_rate(dev, 1024 if args.quick else 4096, 3 if args.quick else 10)
    rows.append(["fp32 matmul rate", f"{rate / 1e9:.0f} GFLOP/s", ""])

    # training speed: the default step on real patches, then larger batches (a GPU is idle at 8)
    lr, msi = scene_pair(128 if args.quick else 512)
    from hsi.cube import Cube

    ref_small = Cube(np.asarray(lr.data), wavelengths=lr.wavelengths)  # any 31-band cube
    steps = 20 if args.quick else 300
    for batch in args.batches or ((8, 16) if args.quick else (8, 32, 128, 512)):
        cfg = InfnConfig(batch=batch)
        train_infn([ref_small], srf="nikon_d700", ratio=4, config=cfg, steps=3, max_minutes=None,
                   device=dev, progress=False)  # warm-up
        with timer(dev) as t:
            model = train_infn([ref_small], srf="nikon_d700", ratio=4, config=cfg, steps=steps,
                               max_minutes=None, device=dev, progress=False)
        steps_s = steps / t.seconds  # includes the pair simulation, a small share at 300 steps
        step_flops = 3 * model_cost(model.to("cpu"), lr_size=cfg.patch // 4, ratio=4)["flops"] \
            * cfg.batch
        rows.append([f"training, batch {batch} × {cfg.patch}²",
                     f"{steps_s:.1f} steps/s ({steps_s * batch:.0f} patches/s)",
                     f"{100 * steps_s * step_flops / rate:.1f} % of matmul rate "
                     f"(≈3× forward FLOPs)"])

    model = load_infn(args.checkpoint, dev) if args.checkpoint else \
        INFN(InfnConfig(hsi_bands=31, msi_bands=3)).to(dev).eval()

    # the same checkpoint on a whole real test scene: this device's scores beside the CPU's
    if not args.quick:
        from hsi.data.cave_database import cave_cubes
        from hsi.degrade import simulate_pair
        from hsi.metrics import fusion_metrics

        try:
            (ref,) = cave_cubes(["jelly_beans"])
        except Exception as exc:
            notes.append(f"No whole-scene check: {exc}")
        else:
            from hsi.data.cave_database import CAVE_DATASETS

            bad = CAVE_DATASETS["cave_jelly_beans"].check_files()
            notes.append("CAVE jelly_beans: " + ("; ".join(bad) if bad else
                         "every band file's sha256 equals hsi/data/manifests/cave.sha256."))
            pair = simulate_pair(ref, 4, "nikon_d700")
            target = np.asarray(ref.data, dtype=np.float32)
            for name, kw in (("glp", {"method": "glp"}),
                             ("INFN", {"method": "infn", "model": model})):
                est = fuse(*pair, ratio=4, device=dev, **kw)
                sc = fusion_metrics(target, np.clip(est.data, 0, None), 4)
                rows.append([f"jelly_beans 512² paper x4, {name}",
                             f"PSNR {sc['psnr']:.2f} dB, SAM {sc['sam']:.2f}°",
                             "CAVE test scene, whole; compare with the CPU's row in RESULTS"])

    # inference: the whole call, then the network alone (fp32 and AMP), medians of 5
    lr, msi = scene_pair(size)
    fuse(lr, msi, method="infn", model=model, device=dev, ratio=4)  # warm-up
    times = []
    for _ in range(5):
        with timer(dev) as t:
            out32 = fuse(lr, msi, method="infn", model=model, device=dev, ratio=4)
        times.append(t.seconds)
    rows.append([f"INFN in memory {size}²×31 x4 (fuse)", f"{np.median(times):.3f} s",
                 f"median of 5 (min {min(times):.3f}); goal < 0.5 s on a GPU"])

    import hsi
    from hsi.fusion.scene import fuse_files

    with tempfile.TemporaryDirectory() as tmp:
        hsi.save(lr, Path(tmp) / "lr.tif")
        hsi.save(msi, Path(tmp) / "hr.tif")
        for run in (1, 2):
            with timer(dev) as t:
                fuse_files(Path(tmp) / "lr.tif", Path(tmp) / "hr.tif", Path(tmp) / f"o{run}.tif",
                           method="infn", model=model, device=dev, ratio=4, progress=False)
            rows.append([f"INFN tiled, file to file {size}² (run {run})", f"{t.seconds:.2f} s",
                         "read + batched tiles + write"])

    # the network alone on device tensors, and AMP against fp32 on the same pair
    lr_t = torch.as_tensor(np.asarray(lr.data), device=dev)[None]
    msi_t = torch.as_tensor(np.asarray(msi.data), device=dev)[None]
    with torch.no_grad():
        for label, ctx in (("fp32", contextlib.nullcontext), ("AMP", lambda: autocast_for(dev))):
            with ctx():
                model(lr_t, msi_t, ratio=4)  # warm-up
                times = []
                for _ in range(5):
                    with timer(dev) as t:
                        out = model(lr_t, msi_t, ratio=4).float()
                    times.append(t.seconds)
            rows.append([f"INFN network alone {size}², {label}", f"{np.median(times):.3f} s",
                         "tensors already on the device; median of 5"])
            if label == "fp32":
                full = out
        amp = out
    diff = float((full - amp).abs().max())
    rows.append(["AMP vs fp32", f"PSNR {psnr(full[0].cpu().numpy(), amp[0].cpu().numpy()):.1f} dB",
                 f"max |diff| {diff:.2e}"])
    del out32

    table = markdown_table(["check", "result", "note"], rows)
    print(table)
    if not args.no_append:
        notes.append(f"Checkpoint: {args.checkpoint or 'untrained INFN (timings only)'}.")
        where = "a GPU" if dev.type == "cuda" else "the CPU (gpu.py's counterpart run)"
        append_results(f"INFN on {where}: tests, training speed, inference, AMP", table,
                       notes="\n".join(notes), device=dev)
    return 0


if __name__ == "__main__":
    from benchmarks.common import run_cli

    sys.exit(run_cli(main))
