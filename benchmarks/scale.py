"""Scene scale: peak memory of fuse, classify predict and cluster from 512² up; throughput ratios.

Scenes are built from real data: the shipped Salinas-A sample, Wald-simulated at x4 for
Sentinel-2 (204-band LR-HSI, 12-band HR-MSI), then mirror-tiled (symmetric reflection, HR
blocks of a multiple of the ratio so the LR grid stays aligned) into GeoTIFFs in a temporary
folder, strip by strip so building them never holds a scene in memory.

Each pipeline runs as its CLI command in a fresh interpreter that reports its peak RSS
(``VmHWM`` of ``/proc/self/status``, imports included); the wall time is the whole command's
(start-up included), as a user sees it:

- ``hsi fuse LR HR --method glp`` (and ``--method infn`` with ``--methods glp infn``);
- ``hsi classify predict HR --model M`` (a classifier trained here on the 12-band HR-MSI of the
  sample with its labels, 2 epochs, the fixed CRF setting; CRF on, as the default);
- ``hsi cluster HR -k 6`` (k-means; tiled above :data:`hsi.clustering.files.WHOLE_SCENE_PIXELS`).

Two ratios are reported as the issue asks: the wall time of ``hsi fuse --method glp`` over the
time of writing the same output alone as a lossless float GeoTIFF at disk speed (ZSTD level 1,
floating-point predictor, 256-px tiles, GDAL ``NUM_THREADS=ALL_CPUS``; the fused file is read
block by block and written, and only the writes and the closing flush are timed; also given
with the horizontal predictor 2 that hsikit itself writes, :func:`hsi.io.geotiff.geotiff_profile`),
and the start-up of ``hsi --help`` over ``python -c pass`` (best of 5 each).

For ``--methods infn`` the network's FLOPs are counted with
:class:`torch.utils.flop_counter.FlopCounterMode` on one full tile (less those of its base image,
whose bicubic upsampling runs as dense block matrix products that count more FLOPs than its 4
taps need) and scaled by the pixels read; over the whole command's wall time, this achieved
rate is given as a fraction of the machine's numpy fp32 matmul rate (a conservative figure);
in brackets, the same for the network's inference of that tile alone, timed in this process
(no reading, base image, writing or compression beside it: the network's own efficiency).

Usage::

    python benchmarks/scale.py                            # 512, 2048, 4096; all pipelines
    python benchmarks/scale.py --sizes 512 1024 --pipelines fuse cluster --no-append
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
import json, sys
from hsi.cli.main import cli
try:
    cli.main(sys.argv[1:], prog_name="hsi", standalone_mode=False)
finally:
    with open("/proc/self/status") as f:
        hwm_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    print(json.dumps({"peak_rss_mb": hwm_kb / 1024}))
"""

# The output alone: the fused file read block by block and written as ZSTD float GeoTIFF.
_WRITE_ALONE = r"""
import json, sys, time
import rasterio
from rasterio.windows import Window
src_path, out_path, predictor = sys.argv[1], sys.argv[2], int(sys.argv[3])
with rasterio.open(src_path) as src:
    profile = {"driver": "GTiff", "count": src.count, "height": src.height,
               "width": src.width, "dtype": "float32", "crs": src.crs,
               "transform": src.transform, "tiled": True, "blockxsize": 256,
               "blockysize": 256, "compress": "ZSTD", "zstd_level": 1, "predictor": predictor,
               "num_threads": "ALL_CPUS", "BIGTIFF": "IF_SAFER", "interleave": "band"}
    windows = [Window(c, r, min(256, src.width - c), min(256, src.height - r))
               for r in range(0, src.height, 256) for c in range(0, src.width, 256)]
    seconds = 0.0
    dst = rasterio.open(out_path, "w", **profile)
    try:
        for w in windows:
            block = src.read(window=w)  # not timed
            t = time.perf_counter()
            dst.write(block, window=w)
            seconds += time.perf_counter() - t
    finally:
        t = time.perf_counter()
        dst.close()  # the blocks still cached are compressed and written here
        seconds += time.perf_counter() - t
print(json.dumps({"seconds": seconds}))
"""


def run_hsi(args: list[str]) -> dict:
    """Run ``hsi ARGS`` in a fresh interpreter; its wall seconds and peak RSS."""
    t = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if res.returncode != 0:
        raise RuntimeError(f"hsi {' '.join(args)} failed:\n{res.stderr[-3000:]}")
    return {"seconds": seconds, **json.loads(res.stdout.strip().splitlines()[-1])}


def write_alone_seconds(fused: Path, out: Path, predictor: int = 3) -> float:
    """Seconds to write ``fused``'s pixels alone as ZSTD-1 float GeoTIFF with ``predictor``
    (only the writes and the closing flush are timed, not the reads of the fused file)."""
    res = subprocess.run([sys.executable, "-c", _WRITE_ALONE, str(fused), str(out),
                          str(predictor)], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"writing {fused.name} alone failed:\n{res.stderr[-3000:]}")
    out.unlink(missing_ok=True)
    return float(json.loads(res.stdout.strip().splitlines()[-1])["seconds"])


def fuse_vs_write_alone(first_seconds: float, cli_args: list[str], out: Path, folder: Path,
                        repeats: int) -> dict:
    """Median wall seconds of ``hsi fuse`` (``first_seconds`` and ``repeats − 1`` reruns of
    ``cli_args``) and of writing its output alone (predictors 3 and 2), the runs in turn, so
    that a slow spell of a shared machine falls on both sides; ``ratios``: each run's fuse
    over its own write-alone (predictor 3)."""
    fuse, alone, alone_p2 = [first_seconds], [], []
    for i in range(max(1, repeats)):
        if i:
            fuse.append(run_hsi(cli_args)["seconds"])
        alone.append(write_alone_seconds(out, folder / "alone.tif"))
        alone_p2.append(write_alone_seconds(out, folder / "alone.tif", 2))
    return {"seconds": float(np.median(fuse)), "write_alone": float(np.median(alone)),
            "write_alone_p2": float(np.median(alone_p2)),
            "ratios": [f / a for f, a in zip(fuse, alone, strict=True)]}


def best_wall(cmd: list[str], repeats: int = 5, status: int = 0) -> float:
    """Best-of-``repeats`` wall seconds of ``cmd``, which must exit with ``status``."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if res.returncode != status:
            raise RuntimeError(f"{' '.join(cmd)} exited {res.returncode}, not {status}:\n"
                               f"{res.stderr[-2000:]}")
    return min(times)


def hsi_command(*args: str) -> list[str]:
    """``hsi ARGS`` as a user runs it: the console script beside this interpreter."""
    script = Path(sys.executable).parent / "hsi"
    return ([str(script), *args] if script.is_file() else
            [sys.executable, "-c", "from hsi.cli.main import main; main()", *args])


def startup_ratio(repeats: int = 5) -> tuple[float, float]:
    """Best-of-``repeats`` wall seconds of ``hsi --help`` and of ``python -c pass``."""
    return (best_wall(hsi_command("--help"), repeats),
            best_wall([sys.executable, "-c", "pass"], repeats))


def error_path_seconds(lr_path: Path, hr_path: Path, folder: Path, repeats: int = 3
                       ) -> dict[str, float]:
    """Best wall seconds of ``hsi`` commands a user gets wrong (each must exit 2 with its
    one-line error): swapped inputs, a GeoTIFF given as ``--model``, an output that is not a
    GeoTIFF."""
    out = str(folder / "never.tif")
    lr, hr = str(lr_path), str(hr_path)
    cases = {"fuse, swapped inputs": ("fuse", hr, lr, "-o", out),
             "fuse, --model not a checkpoint": ("fuse", lr, hr, "-o", out, "--model", lr),
             "fuse, -o not a GeoTIFF": ("fuse", lr, hr, "-o", str(folder / "never.envi")),
             "classify predict, --model not a checkpoint": ("classify", "predict", hr,
                                                            "--model", lr, "-o", out)}
    return {name: best_wall(hsi_command(*args), repeats, status=2)
            for name, args in cases.items()}


def train_msi_classifier(folder: Path, hr) -> Path:
    """A classifier of the HR-MSI of the sample (its labels, 2 epochs), saved."""
    import torch

    from hsi.classification import GanConfig, split_labels, train_classifier
    from hsi.data import sample_labels

    labels, names = sample_labels()
    labels = labels[:hr.height, :hr.width]
    train, _ = split_labels(labels, per_class=20, mode="random", seed=0)
    torch.manual_seed(0)
    # the speed of prediction does not depend on the fit: a fixed CRF setting (CRF on, no
    # cross-validated search, so training takes one GAN training)
    clf = train_classifier(hr, train, class_names=names, seed=0, device="cpu", progress=False,
                           config=GanConfig(epochs=2, crf_select="fixed"))
    return clf.save(folder / "msi_classifier.pt")


def tile_inference(lr_path: Path, hr_path: Path, method: str, model: str | None,
                   device: str = "cpu", repeats: int = 5) -> dict:
    """INFN's network on the largest tile as the scene runs it: its FLOPs per HR pixel read,
    and the seconds of one inference of that tile alone (in this process, best of
    ``repeats`` after two warm-up runs, into a reused output buffer as the scene's pool gives).

    The FLOPs are the encoders' on the core and their reach and the decoder's on the core;
    the base image is computed once, outside the count and the time (its bicubic upsampling
    runs as dense block matrix products, more FLOPs than 4 taps need).
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from hsi.engine import WindowReader
    from hsi.fusion.api import load_infn
    from hsi.fusion.infn import base_image
    from hsi.fusion.scene import receptive_field
    from hsi.tiling import tile_windows

    lr, hr = WindowReader(lr_path), WindowReader(hr_path)
    net = load_infn(model).eval().to(device)
    overlap = receptive_field(method, RATIO, net)
    tiles = tile_windows(hr.cube.height, hr.cube.width, tile=TILE, overlap=overlap,
                         ratio=RATIO)
    t = max(tiles, key=lambda t: t.read.width * t.read.height)
    lr_t = torch.from_numpy(np.asarray(lr.read(t.lr_read).data, np.float32))[None] / lr.scale()
    hr_t = torch.from_numpy(np.asarray(hr.read(t.read).data, np.float32))[None] / hr.scale()
    lr_t, hr_t = lr_t.to(device), hr_t.to(device)
    with torch.no_grad():
        base = base_image(lr_t, hr_t, RATIO, net.config.base,
                          region=net.encoder_region(t.inner, *hr_t.shape[-2:]))
        counter = FlopCounterMode(display=False)
        with counter:
            out = net(lr_t, hr_t, ratio=RATIO, base=base, core=t.inner)
        seconds = []
        for i in range(2 + repeats):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            net(lr_t, hr_t, ratio=RATIO, base=base, core=t.inner, out=out)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            if i >= 2:
                seconds.append(time.perf_counter() - start)
    flops = counter.get_total_flops()
    return {"flops_per_pixel": flops / (t.read.width * t.read.height), "tile_flops": flops,
            "tile_seconds": min(seconds)}


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
    ap.add_argument("--pipelines", nargs="+", default=["fuse", "classify", "cluster"],
                    choices=["fuse", "classify", "cluster"])
    ap.add_argument("--methods", nargs="+", default=["glp"], help="Fusion methods (glp, infn).")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--repeats", type=int, default=3,
                    help="Runs of `hsi fuse --method glp` and of writing alone, medians reported.")
    ap.add_argument("--no-append", action="store_true", help="Do not touch RESULTS.md.")
    args = ap.parse_args(argv)

    import torch

    from hsi.data import sample_cube
    from hsi.degrade import simulate_pair
    from hsi.device import pick_device
    from hsi.fusion import INFN, InfnConfig, save_infn

    device = str(pick_device(args.device))
    gflops_bound = matmul_gflops() if "infn" in args.methods else None
    if gflops_bound is not None:
        print(f"sgemm: {gflops_bound:.0f} GFLOP/s", flush=True)
    hsi_help, python_pass = startup_ratio()
    print(f"start-up: hsi --help {hsi_help:.2f} s, python -c pass {python_pass:.3f} s "
          f"(x{hsi_help / python_pass:.1f})", flush=True)
    lr, hr = simulate_pair(sample_cube(), RATIO, SENSOR)
    rows = []
    with tempfile.TemporaryDirectory(prefix="hsi-scale-") as tmp:
        folder = Path(tmp)
        model = clf = errors = None
        if "infn" in args.methods:
            # throughput does not depend on the weights: the default architecture, untrained
            torch.manual_seed(0)
            net = INFN(InfnConfig(hsi_bands=lr.bands, msi_bands=hr.bands))
            model = str(save_infn(folder / "infn.pt", net, meta={"ratios": [RATIO]}))
        if "classify" in args.pipelines:
            clf = train_msi_classifier(folder, hr)
        for size in args.sizes:
            t = time.perf_counter()
            lr_path, hr_path = build_scene(folder, size, lr, hr)
            print(f"built {size}² scene in {time.perf_counter() - t:.0f} s "
                  f"({(lr_path.stat().st_size + hr_path.stat().st_size) / 2**20:.0f} MB)",
                  flush=True)
            if errors is None:  # on the first scene: the error paths read its headers only
                errors = error_path_seconds(lr_path, hr_path, folder)
                print("error paths: " + ", ".join(f"{k} {v:.2f} s" for k, v in errors.items()),
                      flush=True)
            jobs = []
            if "fuse" in args.pipelines:
                for method in args.methods:
                    out = folder / f"out_{size}_{method}.tif"
                    extra = ["--model", model] if method == "infn" else []
                    jobs.append((f"fuse {method}", out,
                                 ["fuse", str(lr_path), str(hr_path), "-o", str(out),
                                  "--method", method, "--device", args.device, *extra]))
            if "classify" in args.pipelines:
                out = folder / f"classes_{size}.tif"
                jobs.append(("classify predict", out,
                             ["classify", "predict", str(hr_path), "--model", str(clf), "-o",
                              str(out), "--device", args.device]))
            if "cluster" in args.pipelines:
                out = folder / f"clusters_{size}.tif"
                jobs.append(("cluster kmeans", out, ["cluster", str(hr_path), "-k", "6", "-o",
                                                     str(out), "--device", args.device]))
            for name, out, cli_args in jobs:
                res = run_hsi(cli_args)
                mp = size * size / 1e6
                row = {"size": size, "pipeline": name, "seconds": res["seconds"],
                       "mp_s": mp / res["seconds"], "rss_mb": res["peak_rss_mb"]}
                if name == "fuse glp":  # the ratio target: medians of runs taken in turn
                    row.update(fuse_vs_write_alone(res["seconds"], cli_args, out, folder,
                                                   args.repeats))
                    row["mp_s"] = mp / row["seconds"]
                if name == "fuse infn":
                    tile = tile_inference(lr_path, hr_path, "infn", model, device)
                    flops = tile["flops_per_pixel"] * scene_read_pixels(size, "infn", model)
                    row["bound"] = flops / res["seconds"] / 1e9 / gflops_bound
                    row["tile_bound"] = (tile["tile_flops"] / tile["tile_seconds"] / 1e9
                                         / gflops_bound)
                rows.append(row)
                extra = (f"  write alone {row['write_alone']:.1f} s "
                         f"(x{row['seconds'] / row['write_alone']:.2f})"
                         if "write_alone" in row else "")
                print(f"{size:>5}² {name:<17} {row['seconds']:8.1f} s  {row['mp_s']:6.3f} MP/s"
                      f"  peak RSS {row['rss_mb']:7.0f} MB{extra}", flush=True)
                out.unlink(missing_ok=True)
            lr_path.unlink()
            hr_path.unlink()

    from benchmarks.common import markdown_table

    def ratio(r: dict) -> str:
        if "write_alone" in r:
            spread = (f"; runs x{min(r['ratios']):.2f}–{max(r['ratios']):.2f}"
                      if len(r["ratios"]) > 1 else "")
            return (f"x{r['seconds'] / r['write_alone']:.2f} "
                    f"(x{r['seconds'] / r['write_alone_p2']:.2f} of predictor 2{spread})")
        if "bound" in r:
            return (f"{100 * r['bound']:.1f} % of sgemm (a tile's inference alone: "
                    f"{100 * r['tile_bound']:.1f} %)")
        return ""

    table = markdown_table(
        ["HR scene", "pipeline", "time (s)", "MP/s", "peak RSS (MB)",
         "vs. writing alone / compute bound"],
        [[f"{r['size']}²", r["pipeline"], f"{r['seconds']:.1f}", f"{r['mp_s']:.3f}",
          f"{r['rss_mb']:.0f}", ratio(r)] for r in rows],
        align="llrrrl")
    growth = []
    for name in dict.fromkeys(r["pipeline"] for r in rows):
        rss = {r["size"]: r["rss_mb"] for r in rows if r["pipeline"] == name}
        if len(rss) > 1:  # the largest peak at any size over the smallest size's
            lo, hi = min(rss), max(rss)
            growth.append(f"{name}: peak RSS at most x{max(rss.values()) / rss[lo]:.2f} of "
                          f"{lo}²'s up to {hi}²")
    slowest = max(errors, key=errors.get)
    startup = (f"start-up: `hsi --help` {hsi_help:.2f} s = x{hsi_help / python_pass:.1f} "
               f"`python -c pass` ({python_pass:.3f} s); error paths (exit 2, one line): "
               + ", ".join(f"{k} {v:.2f} s" for k, v in errors.items())
               + f", the slowest x{errors[slowest] / python_pass:.1f} `python -c pass`")
    if gflops_bound is not None:  # the measured rate the "% of sgemm" column divides by
        startup += f"; sgemm measured at {gflops_bound:.0f} GFLOP/s (matmul_gflops)"
    print()
    print(table)
    print("\n".join([*growth, startup]))
    if not args.no_append:
        from benchmarks.common import append_results

        notes = (f"`benchmarks/scale.py`: Salinas-A simulated at x{RATIO} ({SENSOR}, "
                 f"{lr.bands} → {hr.bands} bands), mirror-tiled; each pipeline is its CLI command "
                 f"in a fresh process (wall time includes start-up; peak RSS = VmHWM, imports "
                 f"included); classify predict and cluster run on the {hr.bands}-band HR-MSI; "
                 f"device {device}, {os.cpu_count()} CPU cores. 'vs. writing alone': `hsi fuse` "
                 f"wall "
                 f"time over writing the same output as ZSTD-1 float GeoTIFF (predictor 3, "
                 f"256² tiles, NUM_THREADS=ALL_CPUS; only the writes timed: the issue's "
                 f"reference), in brackets over the same write with predictor 2 (what hsikit "
                 f"writes); both medians of {args.repeats} runs taken in turn, 'runs' the "
                 f"range of the runs' own ratios. "
                 + "; ".join([*growth, startup]) + ".")
        append_results("Scene scale: memory of fuse, classify, cluster; throughput ratios",
                       table, notes=notes, device=device)
    return 0


if __name__ == "__main__":
    from benchmarks.common import run_cli

    sys.exit(run_cli(main))
