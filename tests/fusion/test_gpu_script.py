"""benchmarks/gpu.py runs its code paths on the CPU (the GPU run itself needs a device)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_benchmark_runs_small_on_cpu():
    r = subprocess.run([sys.executable, "-m", "benchmarks.gpu", "--device", "cpu", "--quick",
                        "--no-tests", "--no-append"], cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    for check in ("fp32 matmul rate", "training", "INFN in memory 128²×31 x4",
                  "INFN tiled, file to file", "AMP vs fp32"):
        assert check in r.stdout
