"""Big (a few hundred MB uncompressed) cubes written quickly on the fly, and read counters.

The pixels are a piecewise-constant pattern that deflate squeezes to almost nothing, so a
384 MB GeoTIFF takes a few seconds and a few MB of disk; ENVI files are sparse (holes) apart
from a few written rows.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import rasterio

#: The big test cube: int16, 48 bands × 2048 × 2048 = 384 MiB uncompressed, 256² tiles.
BIG_SHAPE = (48, 2048, 2048)
BIG_TILE = 256
#: Its nodata value, filling a collar of :data:`COLLAR` rows at the top.
NODATA = -9999
COLLAR = 64
#: Its wavelengths (nm): 400 ... 1105 in 15 nm steps, so true colour is covered.
BIG_WAVELENGTHS = 400.0 + 15.0 * np.arange(BIG_SHAPE[0])


def pattern(band: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The big cube's values ``(len(rows), len(cols))`` int16 in band ``band``.

    ``10 × band + row // 64 + col // 64`` (nodata in the first :data:`COLLAR` rows).
    """
    rows = np.asarray(rows)[:, None]
    cols = np.asarray(cols)[None, :]
    values = (10 * band + rows // 64 + cols // 64).astype(np.int16)
    return np.where(rows < COLLAR, np.int16(NODATA), values)


def write_big_geotiff(path: Path, shape: tuple[int, int, int] = BIG_SHAPE,
                      tile: int = BIG_TILE) -> Path:
    """Write the pattern as a tiled (``tile`` × ``tile``), deflate-compressed GeoTIFF."""
    from hsi.io.geotiff import write_wavelength_tags

    bands, height, width = shape
    profile = {"driver": "GTiff", "count": bands, "height": height, "width": width,
               "dtype": "int16", "crs": "EPSG:32610", "nodata": NODATA,
               "transform": rasterio.Affine(10.0, 0, 500000.0, 0, -10.0, 4100000.0),
               "tiled": True, "blockxsize": tile, "blockysize": tile, "compress": "deflate",
               "zlevel": 1, "predictor": 2, "interleave": "band"}
    rows, cols = np.arange(height), np.arange(width)
    with rasterio.open(path, "w", **profile) as dst:
        for b in range(bands):
            dst.write(pattern(b, rows, cols), b + 1)
        write_wavelength_tags(dst, BIG_WAVELENGTHS[:bands], None)
    return path


def write_big_envi(path: Path, shape: tuple[int, int, int] = BIG_SHAPE,
                   interleave: str = "bil") -> Path:
    """A sparse ENVI cube (zeros but for rows 100-101 of every band, set to ``band + 1``)."""
    bands, height, width = shape
    data_file = path.with_suffix(".img")
    wl = ", ".join(f"{v:g}" for v in BIG_WAVELENGTHS[:bands])
    path.write_text(
        "ENVI\n"
        f"samples = {width}\nlines = {height}\nbands = {bands}\nheader offset = 0\n"
        f"file type = ENVI Standard\ndata type = 2\ninterleave = {interleave}\n"
        f"byte order = 0\ndata ignore value = {NODATA}\nwavelength units = Nanometers\n"
        f"wavelength = {{{wl}}}\n")
    with open(data_file, "wb") as f:
        f.truncate(bands * height * width * 2)
    mm = np.memmap(data_file, dtype="<i2", mode="r+", shape={
        "bsq": (bands, height, width), "bil": (height, bands, width),
        "bip": (height, width, bands)}[interleave])
    for b in range(bands):
        index = {"bsq": (b, slice(100, 102)), "bil": (slice(100, 102), b),
                 "bip": (slice(100, 102), slice(None), b)}[interleave]
        mm[index] = b + 1
    mm.flush()
    del mm
    return path


class ReadCounter:
    """Counts the pixels bytes every rasterio ``DatasetReader.read`` returns (all threads)."""

    def __init__(self, monkeypatch) -> None:
        self.bytes = 0
        self.calls = 0
        self._lock = threading.Lock()
        original = rasterio.io.DatasetReader.read

        def read(src, *args, **kwargs):
            out = original(src, *args, **kwargs)
            with self._lock:
                self.bytes += out.nbytes
                self.calls += 1
            return out

        monkeypatch.setattr(rasterio.io.DatasetReader, "read", read)

    def reset(self) -> None:
        with self._lock:
            self.bytes = 0
            self.calls = 0
