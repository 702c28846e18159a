"""Huge files are read by window without taking memory or address space for the whole file."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # 4 GiB of address space
import numpy as np
import hsi
c = hsi.open(sys.argv[1])
x = np.asarray(c.data[3:5, 100:164, 200:264])
print(x.shape, float(x.sum()))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and sparse files")
@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
def test_window_of_a_40_gb_envi_file_under_a_4_gb_address_limit(tmp_path, interleave):
    img = tmp_path / "big.img"
    with open(img, "wb") as f:  # sparse: no disk blocks are used
        f.truncate(100 * 10000 * 10000 * 4)
    hdr = tmp_path / "big.hdr"
    hdr.write_text("ENVI\nsamples = 10000\nlines = 10000\nbands = 100\nheader offset = 0\n"
                   f"data type = 4\ninterleave = {interleave}\nbyte order = 0\n")
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(hdr)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-1500:]
    assert r.stdout.strip() == "(2, 64, 64) 0.0"


def test_label_raster_declaring_a_huge_grid(work, run_hostile, tmp_path, monkeypatch):
    """A 100 KB deflate GeoTIFF that declares 60 000 × 60 000 pixels (3.6 GB decoded)."""
    import numpy as np
    import rasterio

    bomb = work["cube"].parent / "bomb.tif"
    with rasterio.open(bomb, "w", driver="GTiff", width=60000, height=60000, count=1,
                       dtype="uint8", compress="deflate", tiled=True, blockxsize=512,
                       blockysize=512, sparse_ok=True) as dst:
        dst.write(np.ones((1, 512, 512), "uint8"), window=((0, 512), (0, 512)))
    assert bomb.stat().st_size < 1 << 20
    monkeypatch.setenv("HSI_MEMORY_LIMIT", "1e9")
    for args in (["classify", "evaluate", bomb, work["labels"]],
                 ["classify", "evaluate", work["classmap"], bomb],
                 ["classify", "split", bomb, "-o", tmp_path / "split", "--per-class", 2]):
        run_hostile(args, work["cube"].parent, ("bomb.tif", "memory budget"))


def test_cube_over_the_memory_budget_is_refused_before_reading(work, run_hostile, monkeypatch):
    monkeypatch.setenv("HSI_MEMORY_LIMIT", "1000")  # bytes: every eager read is over it
    run_hostile(["classify", "train", work["cube"], work["labels"], "-o",
                 work["cube"].parent / "m.pt"], work["cube"].parent, ("cube.tif",
                                                                     "memory budget"))
