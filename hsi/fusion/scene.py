"""Scene-scale fusion: read two files window by window, fuse tile by tile, write a tiled GeoTIFF.

Memory is bounded by the tile, not the scene. Each tile's HR window is grown by an overlap that
covers the method's receptive field (:func:`receptive_field`), fused with
:func:`hsi.fusion.fuse`, and only its core is written into a
:class:`hsi.io.geotiff.GeoTiffTileWriter` on the HR-MSI grid with the LR-HSI's wavelengths; the
file appears only when every tile is written (Ctrl-C or an error leave nothing at the output
path). Everything that depends on the whole scene is computed once and handed to every tile,
so the tiled result equals the untiled one:

- the normalisation divisors (:func:`hsi.degrade.reflectance_scale` of each input, as
  :func:`hsi.fusion.api.input_scales` does, on a strided subsample of a lazy cube);
- the GLP regression gains (method ``glp`` and INFN models with a GLP base image), summed over
  the tiles' cores in a first pass (:func:`hsi.fusion.api.glp_moments`);
- GSA's intensity weights, band groups and injection gains (method ``gsa``), from moments
  summed the same way (:func:`hsi.fusion.api.gsa_statistics`);
- the INFN model: loaded once, or fitted once (``fit_scene``) on a sample of the scene's
  tiles (:func:`fit_windows`).

``cnmf`` learns its endmembers per tile; with more than one tile its result differs from an
untiled run (a warning says so).

Reading runs in a background thread one batch of tiles ahead and writing (compression) in
another, so I/O overlaps compute. On CUDA, tiles of the same shape are stacked into batches of
:data:`CUDA_TILE_BATCH`, staged in pinned memory and copied on a side stream (the copy of the
next batch overlaps the current one's compute), and results come back asynchronously; on CPU
tiles go one at a time and torch keeps its default of one thread per core.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
from rasterio.windows import Window

from hsi.cube import Cube
from hsi.tiling import Tile, align_up, crop_to_core, tile_windows

__all__ = [
    "CUDA_TILE_BATCH",
    "FIT_TILE",
    "FIT_TILES",
    "FIT_WINDOW",
    "fit_windows",
    "fuse_files",
    "receptive_field",
    "tile_batches",
]

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)

#: Largest scene (HR pixels a side) that ``fit_scene`` trains on whole.
FIT_WINDOW = 512
#: Windows (a square number) sampled from a larger scene for ``fit_scene``, and their side.
FIT_TILES = 4
FIT_TILE = 256
#: Methods that estimate global statistics per tile (tiled != untiled).
_GLOBAL_METHODS = ("cnmf",)


#: Tiles fused at once on CUDA (tiles of one read shape are stacked into a batch).
CUDA_TILE_BATCH = 8
#: GDAL block cache while fusing a scene, in bytes.
GDAL_CACHE_BYTES = 64 * 2**20


# ----------------------------------------------------------------------- receptive field

def _psf_radius(ratio: int, psf_sigma: float | None = None) -> int:
    from hsi.degrade import psf_kernel_size

    sigma = ratio / 2 if psf_sigma is None else float(psf_sigma)
    return psf_kernel_size(sigma) // 2


def _glp_field(ratio: int) -> int:
    """HR pixels on which one GLP output pixel depends (one side).

    Bicubic upsampling reaches 2 LR pixels (``2·ratio``); the MSI low-pass reaches the PSF
    radius around each LR block centre (``ratio / 2`` from its edge); one LR pixel of margin
    more is added for the reflected borders of the PSF and the clamped ones of the upsampling.
    """
    return 3 * ratio + math.ceil(ratio / 2) + _psf_radius(ratio)


def receptive_field(method: str, ratio: int, model=None) -> int:
    """Overlap (HR pixels, a multiple of ``ratio``) that makes tiles agree with an untiled run.

    Computed from the method's operators; for INFN from its config (encoder depths, the
    high-pass filters, the four-neighbour query and the base image).

    Parameters
    ----------
    method : str
        ``"infn"``, ``"glp"``, ``"gsa"``, ``"cnmf"`` or ``"bicubic"``.
    ratio : int
        HR/LR ratio.
    model : INFN, optional
        The INFN that will be applied (its config decides the field).

    Returns
    -------
    int
    """
    ratio = int(ratio)
    method = method.lower()
    if method == "bicubic":
        field = 3 * ratio
    elif method in ("glp", "gsa", "cnmf"):
        field = _glp_field(ratio)
    else:
        from hsi.fusion.infn import LR_HIGHPASS_SIGMA

        config = getattr(model, "config", None)
        depth = int(getattr(config, "depth", 3))
        base = getattr(config, "base", "glp")
        # HR branch: base image, 1×1 projection, MSI high-pass, (1 + depth) 3×3 convs
        hr = max(_glp_field(ratio) if base == "glp" else 3 * ratio, _psf_radius(ratio))
        hr += 1 + depth
        # LR branch: (1 + depth) 3×3 convs, or the LR high-pass then a 2-conv encoder; then the
        # four neighbours (one LR pixel) and one LR pixel of margin
        lr_hp = math.ceil(3 * LR_HIGHPASS_SIGMA) + 2
        lr = max(1 + depth, lr_hp) + 2
        field = max(hr, lr * ratio)
    return align_up(field, ratio)


# --------------------------------------------------------------------------------- reading
@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn a low-level read failure (GDAL, a memory map...) into a one-line HsiIOError."""
    from hsi.errors import HsiError, HsiIOError

    try:
        yield
    except HsiError:
        raise
    except (OSError, ValueError, RuntimeError) as exc:
        from hsi.io.atomic import _cause

        text = _cause(exc) or type(exc).__name__  # GDAL's message, behind rasterio's own
        # no chained cause: the error must pickle to cross Dask process boundaries intact
        raise HsiIOError(f"{path}: read failed ({text})") from None


class _WindowReader:
    """Windowed reads of one input, opened once: GeoTIFF/ENVI lazily (each window read from the
    file through the cube's file view, :func:`hsi.io.indexing.load_window`), other formats into
    memory."""

    def __init__(self, path: str | os.PathLike) -> None:
        from hsi.io import open as open_cube

        self.path = Path(path)
        self.cube = open_cube(self.path, lazy=True)  # mat and CAVE are read into memory
        self.windowed = self.cube.is_lazy

    def scale(self) -> float:
        """Divisor to reflectance of the whole input (a strided subsample when lazy)."""
        from hsi.degrade import reflectance_scale

        with _reading(self.path):
            return reflectance_scale(self.cube)

    def read(self, window) -> Cube:
        """The pixels of ``window`` in memory, without georeference."""
        from hsi.io.indexing import load_window

        with _reading(self.path):
            data = load_window(self.cube, window).data
        # tiles carry no georeference: the scene was checked once, and a tile of a file
        # without georeference would otherwise look georeferenced (shifted identity)
        return self.cube.with_data(data, crs=None, transform=None)


def _read_ahead(fn: Callable[[T], R], items: Sequence[T]) -> Iterator[tuple[T, R]]:
    """Yield ``(item, fn(item))``, computing the next item's ``fn`` in a thread meanwhile."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="hsi-read")
    try:
        pending = pool.submit(fn, items[0]) if items else None
        for i, item in enumerate(items):
            result = pending.result()
            pending = pool.submit(fn, items[i + 1]) if i + 1 < len(items) else None
            yield item, result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _tile_pairs(lr: _WindowReader, hr: _WindowReader,
                tiles: list[Tile]) -> Iterator[tuple[Tile, Cube, Cube]]:
    """Yield ``(tile, lr_cube, hr_cube)``, reading the next tile in a thread meanwhile."""
    for t, (lr_t, hr_t) in _read_ahead(lambda t: (lr.read(t.lr_read), hr.read(t.read)), tiles):
        yield t, lr_t, hr_t


def tile_batches(tiles: Sequence[Tile], size: int) -> list[list[Tile]]:
    """Group consecutive tiles whose read windows have the same shape, ``size`` at most.

    Parameters
    ----------
    tiles : sequence of Tile
        In scene order.
    size : int
        Largest batch (1: every tile alone).

    Returns
    -------
    list of list of Tile
        Every tile exactly once, in order; the tiles of one batch can be stacked.
    """
    def shape(t: Tile) -> tuple[int, ...]:
        return tuple(int(v) for v in (t.read.height, t.read.width, t.lr_read.height,
                                      t.lr_read.width))

    batches: list[list[Tile]] = []
    for t in tiles:
        if batches and len(batches[-1]) < size and shape(batches[-1][0]) == shape(t):
            batches[-1].append(t)
        else:
            batches.append([t])
    return batches


class _TileBatch:
    """LR and HR reads of a batch of tiles as normalised tensors, staged on the device.

    On CUDA the host tensors are pinned and copied on a side stream, so the copy of batch
    ``i + 1`` (made in the reading thread) overlaps the fusion of batch ``i``; :meth:`tensors`
    makes the compute stream wait for the copy.
    """

    def __init__(self, lr_cubes: list[Cube], hr_cubes: list[Cube], scales: tuple[float, float],
                 device, stream=None) -> None:
        import torch

        def stacked(cubes: list[Cube], scale: float):
            x = torch.from_numpy(np.stack([np.asarray(c.data, dtype=np.float32)
                                           for c in cubes])) / scale
            return x.pin_memory() if stream is not None else x

        lr, msi = stacked(lr_cubes, scales[0]), stacked(hr_cubes, scales[1])
        self.event = None
        if stream is None:
            self.lr, self.msi = lr.to(device), msi.to(device)
        else:
            with torch.cuda.stream(stream):
                self.lr = lr.to(device, non_blocking=True)
                self.msi = msi.to(device, non_blocking=True)
                self.event = torch.cuda.Event()
                self.event.record(stream)

    def tensors(self):
        """``(lr, msi)`` of shapes ``(N, C, h, w)``, ``(N, m, H, W)``, ready for compute."""
        import torch

        if self.event is not None:
            current = torch.cuda.current_stream()
            current.wait_event(self.event)
            # the side stream allocated them: keep their memory until the compute is done
            self.lr.record_stream(current)
            self.msi.record_stream(current)
        return self.lr, self.msi


def _to_host(est):
    """``est`` copied to host memory, and a function that waits for the copy, then returns it.

    On CUDA the copy is asynchronous into pinned memory (it overlaps the next batch's
    compute); the writer thread waits for it.
    """
    import torch

    if est.device.type != "cuda":
        host = est.cpu()
        return lambda: host.numpy()
    host = torch.empty(est.shape, dtype=est.dtype, pin_memory=True)
    host.copy_(est, non_blocking=True)
    done = torch.cuda.Event()
    done.record()

    def wait():
        done.synchronize()
        return host.numpy()

    return wait


def _write_batch(writer, group: list[Tile], result: Callable[[], np.ndarray]) -> None:
    """Write the cores of a batch's results ``(N, C, h, w)`` (waits for their copy first)."""
    est = result()
    for t, tile_est in zip(group, est, strict=True):
        writer.write(crop_to_core(tile_est, t), t.core)


def _lr_core(t: Tile, ratio: int) -> tuple[slice, slice]:
    """LR rows/cols of ``t``'s core inside its LR read window."""
    r0 = int(t.core.row_off) // ratio - int(t.lr_read.row_off)
    c0 = int(t.core.col_off) // ratio - int(t.lr_read.col_off)
    h = align_up(int(t.core.height), ratio) // ratio
    w = align_up(int(t.core.width), ratio) // ratio
    return slice(r0, r0 + h), slice(c0, c0 + w)


def _scene_statistics(kind: str, lr: _WindowReader, hr: _WindowReader, tiles: list[Tile],
                      ratio: int, scales: tuple[float, float], progress: bool):
    """Statistics of the whole scene from per-tile moments (one pass over the inputs).

    ``kind`` ``"glp"``: the GLP regression gains, shape (C, m); ``"gsa"``: the
    :class:`hsi.fusion.baselines.GsaStatistics`.
    """
    from tqdm.auto import tqdm

    from hsi.fusion.api import glp_moments, gsa_statistics

    moments = glp_moments if kind == "glp" else gsa_statistics
    total = None
    with tqdm(total=len(tiles), desc=f"{kind.upper()} statistics", unit="tile",
              disable=not progress, leave=False) as bar:
        for t, lr_t, hr_t in _tile_pairs(lr, hr, tiles):
            rows, cols = _lr_core(t, ratio)
            m = moments(lr_t, hr_t, ratio=ratio, scales=scales, rows=rows, cols=cols)
            total = m if total is None else total + m
            bar.update(1)
    return total.solve()[0] if kind == "glp" else total


def fit_windows(height: int, width: int, ratio: int) -> list[tuple[Window, Window]]:
    """The sample of tiles that ``fit_scene`` trains on: ``[(lr_window, hr_window), ...]``.

    A scene of at most :data:`FIT_WINDOW` HR pixels a side is used whole. A larger one gives
    :data:`FIT_TILES` square windows of :data:`FIT_TILE` HR pixels (or the smallest size
    fitting accepts at this ratio), ratio-aligned and centred in the cells of an even grid over
    the scene, so the fit sees several parts of it while memory stays bounded.

    Parameters
    ----------
    height, width : int
        HR-MSI size, pixels.
    ratio : int

    Returns
    -------
    list of (rasterio.windows.Window, rasterio.windows.Window)
        LR and HR windows (LR = HR / ratio, exact).
    """
    from hsi.fusion.fit import min_fit_size

    def pair(r0: int, c0: int, h: int, w: int) -> tuple[Window, Window]:
        return (Window(c0 // ratio, r0 // ratio, align_up(w, ratio) // ratio,
                       align_up(h, ratio) // ratio), Window(c0, r0, w, h))

    if height <= FIT_WINDOW and width <= FIT_WINDOW:
        return [pair(0, 0, height, width)]
    size = align_up(max(FIT_TILE, ratio * min_fit_size(ratio)), ratio)
    h, w = min(size, height // ratio * ratio), min(size, width // ratio * ratio)
    grid = math.isqrt(FIT_TILES)
    windows = []
    for i in range(grid):
        for j in range(grid):
            r0 = int((i + 0.5) * height / grid - h / 2)
            c0 = int((j + 0.5) * width / grid - w / 2)
            r0 = min(max(r0, 0), height - h) // ratio * ratio
            c0 = min(max(c0, 0), width - w) // ratio * ratio
            windows.append(pair(r0, c0, h, w))
    return list(dict.fromkeys(windows))  # a thin scene can give the same window twice


# ------------------------------------------------------------------------------- driver
def min_tile_read(ratio: int) -> int:
    """Smallest tile read side (HR px) the fusion filters accept: the HR PSF (σ = ratio / 2)
    and the LR high-pass (σ = 1 LR px) both need more pixels than their kernel's radius."""
    from hsi.degrade import psf_kernel_size
    from hsi.fusion.infn import LR_HIGHPASS_SIGMA

    return max(psf_kernel_size(ratio / 2.0), ratio * psf_kernel_size(LR_HIGHPASS_SIGMA)) + ratio


def fuse_files(
    lr_path: str | os.PathLike,
    hr_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    method: str = "auto",
    model=None,
    ratio: int | None = None,
    fit_scene: bool = False,
    tile: int = 256,
    overlap: int | None = None,
    device="auto",
    seed: int = 0,
    progress: bool = True,
    fit_steps: int | None = None,
    fit_minutes: float | None = None,
    batch: int | None = None,
) -> Path:
    """Fuse an LR-HSI file with an HR-MSI file into a GeoTIFF, tile by tile.

    Parameters
    ----------
    lr_path, hr_path : path
        Low-resolution hyperspectral and high-resolution multispectral images (any format
        :func:`hsi.open` reads; GeoTIFF and ENVI are read window by window).
    out_path : path
        Output GeoTIFF: float32 ``(bands, H, W)`` on the HR-MSI grid (CRS, transform), with
        the LR-HSI's wavelengths/FWHM, in the LR-HSI's units; tiled, deflate-compressed,
        BigTIFF when needed. Written atomically.
    method : str
        ``"infn"`` or a baseline (``"glp"``, ``"gsa"``, ``"cnmf"``, ``"bicubic"``).
    model : path or INFN, optional
        INFN checkpoint; default a shipped one matching the sensors.
    ratio : int, optional
        HR/LR ratio for files without georeference (else from the pixel sizes).
    fit_scene : bool
        Fit INFN on the scene (whole up to :data:`FIT_WINDOW` HR pixels a side, else on a
        sample of tiles, :func:`fit_windows`) at reduced resolution, then apply it to every
        tile.
    tile : int
        Core tile size in HR pixels (rounded up to a multiple of the ratio).
    overlap : int, optional
        Margin read around each tile, HR pixels; default :func:`receptive_field`.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    seed : int
    progress : bool
        Progress bar over tiles on stderr.
    fit_steps, fit_minutes : optional
        Budget of ``fit_scene``.
    batch : int, optional
        Tiles of the same shape fused at once; default :data:`CUDA_TILE_BATCH` on CUDA
        (their host-to-device copy overlaps the previous batch's compute), 1 on CPU (where
        torch already uses every core on one tile).

    Returns
    -------
    pathlib.Path
        ``out_path``.

    Raises
    ------
    GridError
        The two images do not cover the same ground.
    ModelError
        Unknown method or a model that does not fit the bands.
    HsiIOError, FormatError
        Unreadable inputs or unwritable output (nothing is left at ``out_path``).
    """
    import rasterio
    import torch
    from tqdm.auto import tqdm

    from hsi.device import pick_device, seed_everything
    from hsi.errors import ModelError
    from hsi.fusion.api import AUTO, auto_method, checked_method, estimate, resolve_model, scaled
    from hsi.fusion.fit import fit_scene as fit_scene_model
    from hsi.fusion.grid import check_pair
    from hsi.io.atomic import clean_stale_temporaries
    from hsi.io.geotiff import GeoTiffTileWriter
    from hsi.memory import limit_heap_growth, release_free_memory

    method = checked_method(method, model=model, fit_scene=fit_scene)
    if model is not None and fit_scene:
        raise ModelError("give either a model or fit_scene=True, not both")
    limit_heap_growth()
    # GDAL caches dirty output blocks (204 bands × 256² per tile) up to 5 % of RAM by default;
    # a fixed cap keeps memory bounded by the tile, not by a row of tiles of the scene.
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
        out_path = Path(out_path)
        clean_stale_temporaries(out_path)  # left by a killed earlier run of this output
        lr = _WindowReader(lr_path)
        hr = _WindowReader(hr_path)
        r = check_pair(lr.cube, hr.cube, ratio)
        dev = pick_device(device) if isinstance(device, str) else device
        scales = (lr.scale(), hr.scale())  # as hsi.fusion.api.input_scales, one file at a time
        release_free_memory()

        net = None
        if method == AUTO:
            method, net = auto_method(lr.cube, hr.cube, r, dev)
        elif method == "infn":
            if fit_scene:
                windows = fit_windows(hr.cube.height, hr.cube.width, r)
                net = fit_scene_model([scaled(lr.read(w), scales[0]) for w, _ in windows],
                                      [scaled(hr.read(w), scales[1]) for _, w in windows],
                                      ratio=r, steps=fit_steps, minutes=fit_minutes, seed=seed,
                                      device=dev, progress=progress)
            else:
                net = resolve_model(lr.cube, hr.cube, model=model, ratio=r, device=dev)
        if overlap is None:
            overlap = receptive_field(method, r, net)
        tiles = tile_windows(hr.cube.height, hr.cube.width, tile=tile, overlap=overlap, ratio=r,
                             lr_height=lr.cube.height, lr_width=lr.cube.width,
                             min_read=min_tile_read(r))

        gains = gsa_stats = None
        needs_gains = method == "glp" or (
            method == "infn" and getattr(net.config, "base", None) == "glp")
        if needs_gains and len(tiles) > 1:
            gains = _scene_statistics("glp", lr, hr, tiles, r, scales, progress)
        if method == "gsa" and len(tiles) > 1:
            gsa_stats = _scene_statistics("gsa", lr, hr, tiles, r, scales, progress)
        release_free_memory()
        if method in _GLOBAL_METHODS and len(tiles) > 1:
            log.warning("%s estimates its statistics per tile: with %d tiles the result differs "
                        "from an untiled run (tile=%d makes it one tile)", method, len(tiles),
                        max(hr.cube.height, hr.cube.width))

        if batch is None:
            batch = CUDA_TILE_BATCH if dev.type == "cuda" else 1
        batches = tile_batches(tiles, max(1, int(batch)))
        stream = torch.cuda.Stream(dev) if dev.type == "cuda" else None

        def stage(group: list[Tile]) -> _TileBatch:
            return _TileBatch([lr.read(t.lr_read) for t in group],
                              [hr.read(t.read) for t in group], scales, dev, stream)

        block = 256 if min(hr.cube.height, hr.cube.width) >= 256 else 16 * max(
            1, min(hr.cube.height, hr.cube.width, 256) // 16)
        with GeoTiffTileWriter(out_path, bands=lr.cube.bands, height=hr.cube.height,
                               width=hr.cube.width, dtype="float32", crs=hr.cube.crs,
                               transform=hr.cube.transform, nodata=None,
                               wavelengths=lr.cube.wavelengths, fwhm=lr.cube.fwhm,
                               tile=block) as writer, \
                tqdm(total=len(tiles), desc=f"fuse {method}", unit="tile", disable=not progress,
                     leave=False) as bar:
            # one writer thread: compression of batch i overlaps the fusion of batch i + 1;
            # at most one batch waits, so memory stays bounded
            with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hsi-write") as pool:
                pending: list[concurrent.futures.Future] = []
                for group, staged in _read_ahead(stage, batches):
                    seed_everything(seed)
                    lr_b, msi_b = staged.tensors()
                    with torch.no_grad():
                        est = estimate(method, lr_b, msi_b, r, model=net, glp_gains=gains,
                                       gsa_statistics=gsa_stats)
                    result = _to_host(est.mul_(scales[0]))
                    del est
                    while pending:
                        pending.pop(0).result()
                    pending.append(pool.submit(_write_batch, writer, group, result))
                    bar.update(len(group))
                for f in pending:
                    f.result()
        return out_path
