"""Scene-scale fusion: peak memory and throughput of tiled ``fuse_files`` from 512² to 4096².

Scenes are built from real data: the shipped Salinas-A sample, Wald-simulated at x4 for
Sentinel-2 (204-band LR-HSI, 13-band HR-MSI), then mirror-tiled (symmetric reflection, HR
blocks of a multiple of the ratio so the LR grid stays aligned) into GeoTIFFs in a temporary
folder, strip by strip so building them never holds a scene in memory.

Each fusion runs in a fresh subprocess that reports its peak RSS (``VmHWM`` of
``/proc/self/status``, imports included) and the wall time of ``fuse_files`` alone. FLOPs are
counted with :class:`torch.utils.flop_counter.FlopCounterMode` (convolutions and matmuls) on
one full tile and scaled by the pixels read; the ratio of achieved FLOP/s to the machine's
numpy fp32 matmul rate says how far from the hardware bound the run is.

Usage::

    python benchmarks/scale.py                          # 512, 2048, 4096; glp and infn
    python benchmarks/scale.py --sizes 512 2048 --methods glp --no-append
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/scale.py` finds `benchmarks.common`
    sys.path.insert(0, str(ROOT))

import benchmarks.common  # noqa: E402, F401  (records the commit the run starts from)

RATIO = 4
SENSOR = "sentinel2"
TILE = 256


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Best-of-``repeats`` numpy float32 ``n×n`` matmul rate in GFLOP/s (2·n³ per product)."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _mirror_index(n_out: int, n_in: int) -> np.ndarray:
    """Indices ``0..n_in-1`` then back down, repeated (symmetric mirror tiling)."""
    i = np.arange(n_out) % (2 * n_in)
    return np.where(i < n_in, i, 2 * n_in - 1 - i)


def build_scene(folder: Path, size: int, lr, hr) -> tuple[Path, Path]:
    """Write a ``size``² HR-MSI and its LR-HSI, mirror-tiled from the simulated pair."""
    from affine import Affine

    from hsi.io.geotiff import GeoTiffTileWriter

    lr_path, hr_path = folder / f"scene{size}_lr.tif", folder / f"scene{size}_hr.tif"
    transform = Affine(3.7, 0, 612000.0, 0, -3.7, 4062000.0)
    for cube, path, n, t in ((lr, lr_path, size // RATIO, transform * Affine.scale(RATIO)),
                             (hr, hr_path, size, transform)):
        rows = _mirror_index(n, cube.height)
        cols = _mirror_index(n, cube.width)
        data = np.asarray(cube.data, dtype=np.float32)
        strip = max(16, (64 * 2**20 // (cube.bands * n * 4)) // 16 * 16)
        with GeoTiffTileWriter(path, bands=cube.bands, height=n, width=n, dtype="float32",
                               crs="EPSG:32610", transform=t, nodata=None,
                               wavelengths=cube.wavelengths, fwhm=cube.fwhm,
                               tile=min(TILE, n)) as w:
            from rasterio.windows import Window

            for r0 in range(0, n, strip):
                r1 = min(n, r0 + strip)
                w.write(data[:, rows[r0:r1]][:, :, cols], Window(0, r0, n, r1 - r0))
    return lr_path, hr_path


# Peak RSS is the child's VmHWM (the high-water mark of its own address space), not
# getrusage's ru_maxrss: Linux carries the parent's high-water mark into a child that was
# forked (or vforked) and exec'd, so ru_maxrss would report this benchmark process's own peak.
_CHILD = r"""
import json, sys, time
import torch
from hsi.fusion.scene import fuse_files
args = json.loads(sys.argv[1])
t = time.perf_counter()
fuse_files(args["lr"], args["hr"], args["out"], method=args["method"], model=args["model"],
           tile=args["tile"], device=args["device"], progress=False)
seconds = time.perf_counter() - t
with open("/proc/self/status") as f:
    hwm_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "peak_rss_mb": hwm_kb / 1024,
                  "threads": torch.get_num_threads()}))
"""


def run_child(lr: Path, hr: Path, out: Path, method: str, model: str | None,
              device: str) -> dict:
    """Fuse in a fresh interpreter; return its seconds and peak RSS."""
    args = json.dumps({"lr": str(lr), "hr": str(hr), "out": str(out), "method": method,
                       "model": model, "tile": TILE, "device": device})
    res = subprocess.run([sys.executable, "-c", _CHILD, args], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"fusion of {lr.name} with {method} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def tile_flops(lr_path: Path, hr_path: Path, method: str, model: str | None) -> float:
    """FLOPs per HR pixel read, counted on the first full tile (fusion + GLP-gain moments)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from hsi.fusion import fuse
    from hsi.fusion.api import glp_moments, load_infn
    from hsi.fusion.scene import _WindowReader, receptive_field
    from hsi.tiling import tile_windows

    lr, hr = _WindowReader(lr_path), _WindowReader(hr_path)
    net = load_infn(model) if model else None
    overlap = receptive_field(method, RATIO, net)
    tiles = tile_windows(hr.cube.height, hr.cube.width, tile=TILE, overlap=overlap,
                         ratio=RATIO)
    t = max(tiles, key=lambda t: t.read.width * t.read.height)
    lr_t, hr_t = lr.read(t.lr_read), hr.read(t.read)
    scales = (lr.scale(), hr.scale())
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        fuse(lr_t, hr_t, method=method, model=net, ratio=RATIO, device="cpu", scales=scales,
             progress=False)
        if method == "glp" or getattr(getattr(net, "config", None), "base", "") == "glp":
            glp_moments(lr_t, hr_t, ratio=RATIO, scales=scales)
    return counter.get_total_flops() / (t.read.width * t.read.height)


def scene_read_pixels(size: int, method: str, model: str | None) -> int:
    from hsi.fusion.api import load_infn
    from hsi.fusion.scene import receptive_field
    from hsi.tiling import tile_windows

    net = load_infn(model) if model else None
    tiles = tile_windows(size, size, tile=TILE, overlap=receptive_field(method, RATIO, net),
                         ratio=RATIO)
    return sum(int(t.read.width * t.read.height) for t in tiles)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=int, default=[512, 2048, 4096])
    ap.add_argument("--methods", nargs="+", default=["glp", "infn"])
    ap.add_argument("--infn-sizes", nargs="+", type=int, default=None,
                    help="Sizes at which to run INFN (default: all --sizes).")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--no-append", action="store_true", help="Do not touch RESULTS.md.")
    args = ap.parse_args(argv)

    import torch

    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair
    from hsi.device import pick_device
    from hsi.fusion import INFN, InfnConfig, save_infn

    device = str(pick_device(args.device))
    gflops_bound = matmul_gflops()
    print(f"numpy fp32 matmul: {gflops_bound:.1f} GFLOP/s; torch threads "
          f"{torch.get_num_threads()}; device {device}", flush=True)
    lr, hr = simulate_pair(sample_cube(), RATIO, SENSOR)
    rows = []
    with tempfile.TemporaryDirectory(prefix="hsi-scale-") as tmp:
        folder = Path(tmp)
        model = None
        if "infn" in args.methods:
            # throughput does not depend on the weights: the default architecture, untrained
            torch.manual_seed(0)
            net = INFN(InfnConfig(hsi_bands=lr.bands, msi_bands=hr.bands))
            model = str(save_infn(folder / "infn.pt", net, meta={"ratios": [RATIO]}))
        for size in args.sizes:
            t = time.perf_counter()
            lr_path, hr_path = build_scene(folder, size, lr, hr)
            print(f"built {size}² scene in {time.perf_counter() - t:.0f} s "
                  f"({(lr_path.stat().st_size + hr_path.stat().st_size) / 2**20:.0f} MB)",
                  flush=True)
            for method in args.methods:
                if method == "infn" and args.infn_sizes and size not in args.infn_sizes:
                    continue
                m = model if method == "infn" else None
                res = run_child(lr_path, hr_path, folder / f"out_{size}_{method}.tif",
                                method, m, args.device)
                flops = tile_flops(lr_path, hr_path, method, m) * scene_read_pixels(
                    size, method, m)
                mp = size * size / 1e6
                row = {"size": size, "method": method, "seconds": res["seconds"],
                       "mp_s": mp / res["seconds"], "rss_mb": res["peak_rss_mb"],
                       "gflop_s": flops / res["seconds"] / 1e9}
                row["bound"] = row["gflop_s"] / gflops_bound
                rows.append(row)
                print(f"{size:>5}² {method:<5} {res['seconds']:8.1f} s  {row['mp_s']:6.3f} MP/s  "
                      f"peak RSS {row['rss_mb']:7.0f} MB  {row['gflop_s']:6.1f} GFLOP/s "
                      f"({100 * row['bound']:.1f}% of matmul)", flush=True)
                (folder / f"out_{size}_{method}.tif").unlink(missing_ok=True)
            lr_path.unlink()
            hr_path.unlink()

    from benchmarks.common import markdown_table

    table = markdown_table(
        ["HR scene", "method", "time (s)", "MP/s", "peak RSS (MB)", "GFLOP/s", "% of matmul"],
        [[f"{r['size']}²", r["method"], f"{r['seconds']:.1f}", f"{r['mp_s']:.3f}",
          f"{r['rss_mb']:.0f}", f"{r['gflop_s']:.1f}", f"{100 * r['bound']:.1f}"] for r in rows],
        align="llrrrrr")
    growth = []
    for method in args.methods:
        rss = {r["size"]: r["rss_mb"] for r in rows if r["method"] == method}
        if len(rss) > 1:
            lo, hi = min(rss), max(rss)
            growth.append(f"{method}: peak RSS x{rss[hi] / rss[lo]:.2f} from {lo}² to {hi}²")
    print()
    print(table)
    print("\n".join(growth))
    if not args.no_append:
        from benchmarks.common import append_results

        notes = (f"`benchmarks/scale.py`: Salinas-A simulated at x{RATIO} ({SENSOR}, 204 → 13 "
                 f"bands), mirror-tiled; tiles {TILE}² HR + receptive-field overlap; device "
                 f"{device}, {os.cpu_count()} CPU cores, torch threads "
                 f"{torch.get_num_threads()}; numpy fp32 matmul {gflops_bound:.0f} GFLOP/s. "
                 f"Peak RSS includes imports (torch). INFN: default InfnConfig, untrained "
                 f"weights (speed only). FLOPs: convolutions and matmuls counted by torch's "
                 f"FlopCounterMode on one tile (GLP's bicubic interpolation and kornia's CPU "
                 f"blur are not counted, so its ratio is a lower bound). "
                 + "; ".join(growth) + ".")
        append_results("Scene-scale fusion: memory and throughput", table, notes=notes,
                       device=device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
