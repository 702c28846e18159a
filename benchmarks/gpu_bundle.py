"""Bundle what ``benchmarks/gpu.py`` needs on a GPU machine whose Python has torch but not
hsikit's other dependencies (a data-centre image): wheels for its Python, and the data files
its CUDA tests and checks read.

The bundle (default ``.gpubundle/``, ignored by git) holds ``wheels/`` and ``data/``; on the
GPU machine, from the repository root::

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .gpubundle/wheels/*.whl
    PYTHONPATH=/tmp/site:$PWD HSI_DATA_DIR=$PWD/.gpubundle/data python3 -m benchmarks.gpu

The 2026-12-04 H200 run was made that way (35 MB of wheels, 26 MB of data; the
bundle now adds pydensecrf2 and leaves cave_partial out: 40 + 15 MB). Each dataset's
files are copied from the registry's file list (``hsi.data``), so the data folder holds
exactly what the registry checks.

Usage::

    python -m benchmarks.gpu_bundle --build-python python3.12   # wheels for Python 3.12, data
    python -m benchmarks.gpu_bundle --no-wheels --out /tmp/bundle
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Distributions hsikit imports on the fusion and tiling paths that a torch-only image lacks
#: (torch, numpy, scipy, scikit-image, h5py, imageio, click, toolz, cloudpickle, fsspec and
#: pyyaml were on the H200's image).
WHEELS = ("kornia", "kornia_rs", "rasterio", "affine", "cligj", "click-plugins", "spectral",
          "PyWavelets", "dask", "partd", "locket", "pydensecrf2")
#: Pinned where this environment's version makes a larger bundle: rasterio 1.4.4's
#: manylinux_2_28 wheel is 36 MB, 1.4.3's manylinux2014 one 22 MB (same API for hsikit).
PINS = {"rasterio": "1.4.3"}
#: Registry datasets whose files ``gpu.py`` and most of its CUDA tests read (the tests whose
#: data is left out, e.g. cave_partial's 9 MB for two fit-size tests, are skipped there): the
#: bundle and the repository stay under 64 MiB, what a lent GPU machine's call carries.
DATASETS = ("cave_jelly_beans", "salinas_a", "nikon_d700", "mhf_net_srf")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64")


def requirement(name: str) -> str:
    """``name==version``: the pin, else this environment's version, else the bare name."""
    if name in PINS:
        return f"{name}=={PINS[name]}"
    try:
        return f"{name}=={version(name)}"
    except PackageNotFoundError:
        return name


def fetch_wheels(dest: Path, python_version: str, build_python: str = sys.executable) -> list[str]:
    """Download binary wheels of :data:`WHEELS` for ``python_version``; a release with none
    on the index (spectral 0.25, pydensecrf2) is built with ``pip wheel`` by ``build_python``,
    which must be of that version for a compiled one. Returns warnings, one line each."""
    dest.mkdir(parents=True, exist_ok=True)
    platform_args = [a for p in PLATFORMS for a in ("--platform", p)]
    tag = "cp" + python_version.replace(".", "")
    warnings = []
    for name in WHEELS:
        req = requirement(name)
        got = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
             "--python-version", python_version, "--implementation", "cp", *platform_args,
             "-d", str(dest), req], capture_output=True, text=True)
        if got.returncode == 0:
            continue
        before = set(dest.glob("*.whl"))
        subprocess.run([build_python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dest),
                        req], check=True)
        for wheel in set(dest.glob("*.whl")) - before:
            if "-cp" in wheel.name and f"-{tag}-" not in wheel.name:
                warnings.append(f"{wheel.name} was built for another Python than "
                                f"{python_version}: give --build-python a {python_version} "
                                "interpreter")
    return warnings


def copy_data(dest: Path, root: Path | None = None) -> list[str]:
    """Copy every file of :data:`DATASETS` from the data folder into ``dest``; the missing."""
    from hsi.data.base import data_dir
    from hsi.data.registry import get_dataset

    root = Path(root) if root is not None else data_dir()
    missing = []
    for name in DATASETS:
        for rel in get_dataset(name).files:
            src = root / rel
            if not src.is_file():
                missing.append(str(src))
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return missing


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / ".gpubundle")
    ap.add_argument("--python-version", default="3.12", help="the GPU machine's Python")
    ap.add_argument("--data-dir", type=Path, default=None, help="default: $HSI_DATA_DIR")
    ap.add_argument("--build-python", default=sys.executable,
                    help="a Python of the GPU machine's version, to build the releases that "
                         "have no wheel (pydensecrf2); default this one")
    ap.add_argument("--no-wheels", action="store_true")
    args = ap.parse_args(argv)

    warnings = []
    if not args.no_wheels:
        warnings = fetch_wheels(args.out / "wheels", args.python_version, args.build_python)
    missing = copy_data(args.out / "data", args.data_dir)
    for part in ("wheels", "data"):
        if (args.out / part).is_dir():
            print(f"{args.out / part}: {size_mb(args.out / part):.1f} MB")
    for line in warnings:
        print(line)
    if missing:
        print(f"missing from the data folder ({len(missing)}), the tests that read them will "
              f"error there: {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
