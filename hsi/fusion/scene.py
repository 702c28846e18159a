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
- the GLP regression gains (method ``glp`` and INFN models with a GLP base image), from
  moments summed over cores of the scene in a first pass that reads each LR-HSI block once
  (:func:`_glp_gains`, :func:`hsi.fusion.baselines.glp_core_moments`);
- GSA's intensity weights, band groups and injection gains (method ``gsa``), from moments
  summed the same way (:func:`hsi.fusion.api.gsa_statistics`);
- the INFN model: loaded once, or fitted once (``fit_scene``) on a sample of the scene's
  tiles (:func:`fit_windows`).

``cnmf`` learns its endmembers per tile; with more than one tile its result differs from an
untiled run (a warning says so).

Tiling, reading (each input opened once), the first pass, the read-ahead and writer threads,
progress and cancellation are the scene engine's (:mod:`hsi.engine`); this module supplies
what is particular to fusion: the receptive field, the statistics and the batched compute.
:func:`fuse_scene` is the one pipeline: its inputs are paths or cubes (lazy or in memory) and
its output a sink, a GeoTIFF for :func:`fuse_files` (the CLI, batch) or an array in memory
for :func:`fuse_cube` (the viewer's Fuse dock).
On CUDA, tiles of the same shape are stacked into batches of
:data:`CUDA_TILE_BATCH`, staged in pinned memory and copied on a side stream (the copy of the
next batch overlaps the current one's compute), and results come back asynchronously; on CPU
tiles go one at a time and torch keeps its default of one thread per core.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rasterio.windows import Window

from hsi.cube import Cube
from hsi.engine import (
    BufferPool,
    SceneProgress,
    WindowReader,
    run_tiles,
    scene_pass,
    tile_batches,
)
from hsi.progress import ProgressCallback
from hsi.tiling import Tile, align_up, spread_windows, tile_windows

if TYPE_CHECKING:
    import torch

    from hsi.degrade import Psf
    from hsi.engine.sink import ArrayWriter
    from hsi.fusion.baselines import GsaStatistics
    from hsi.fusion.denoise import SpectralDenoiser
    from hsi.fusion.infn import INFN
    from hsi.io.geotiff import GeoTiffTileWriter

__all__ = [
    "CUDA_TILE_BATCH",
    "FIT_TILE",
    "FIT_TILES",
    "FIT_WINDOW",
    "SceneFusion",
    "fit_windows",
    "fuse_cube",
    "fuse_files",
    "fuse_scene",
    "receptive_field",
    "tile_batches",
]

log = logging.getLogger(__name__)

#: The fused image's declared nodata value: a pixel with no data under it (NaN or nodata
#: in either input) is NaN in every band, and GIS readers mask it.
FUSED_NODATA = float("nan")
#: Largest scene (HR pixels a side) that ``fit_scene`` trains on whole.
FIT_WINDOW = 512
#: Windows (a square number) sampled from a larger scene for ``fit_scene``, and their side.
FIT_TILES = 4
FIT_TILE = 256
#: Methods that estimate global statistics per tile (tiled != untiled).
_GLOBAL_METHODS = ("cnmf",)


#: Tiles fused at once on CUDA (tiles of one read shape are stacked into a batch).
CUDA_TILE_BATCH = 8


# ----------------------------------------------------------------------- receptive field

def _psf_radius(ratio: int, psf_sigma: float | Psf | None = None) -> int:
    from hsi.degrade import as_psf

    return as_psf(psf_sigma, ratio).size // 2


def _glp_field(ratio: int, psf_sigma: float | Psf | None = None) -> int:
    """HR pixels on which one GLP output pixel depends (one side).

    Bicubic upsampling reaches 2 LR pixels (``2·ratio``); the MSI low-pass reaches the PSF
    radius around each LR block centre (``ratio / 2`` from its edge); one LR pixel of margin
    more is added for the reflected borders of the PSF and the clamped ones of the upsampling.
    """
    return 3 * ratio + math.ceil(ratio / 2) + _psf_radius(ratio, psf_sigma)


def receptive_field(method: str, ratio: int, model: INFN | None = None,
                    psf_sigma: float | Psf | None = None) -> int:
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
    psf_sigma : float or Psf, optional
        PSF the methods degrade the MSI with; default Gaussian σ = ``ratio / 2``.

    Returns
    -------
    int
    """
    ratio = int(ratio)
    method = method.lower()
    if method == "bicubic":
        field = 3 * ratio
    elif method in ("glp", "gsa", "cnmf"):
        field = _glp_field(ratio, psf_sigma)
    else:
        from hsi.fusion.infn import LR_HIGHPASS_SIGMA

        config = getattr(model, "config", None)
        depth = int(getattr(config, "depth", 3))
        base = getattr(config, "base", "glp")
        # HR branch: base image, 1×1 projection, MSI high-pass, (1 + depth) 3×3 convs
        hr = max(_glp_field(ratio, psf_sigma) if base == "glp" else 3 * ratio,
                 _psf_radius(ratio))
        hr += 1 + depth
        # LR branch: (1 + depth) 3×3 convs, or the LR high-pass then a 2-conv encoder; then the
        # four neighbours (one LR pixel) and one LR pixel of margin
        lr_hp = math.ceil(3 * LR_HIGHPASS_SIGMA) + 2
        lr = max(1 + depth, lr_hp) + 2
        field = max(hr, lr * ratio)
    return align_up(field, ratio)


# --------------------------------------------------------------------------------- reading
def _tile_pairs(lr: WindowReader, hr: WindowReader, t: Tile) -> tuple[Cube, Cube]:
    """The LR and HR reads of one tile (through the strip of its row).

    At the start of a row of tiles the heap's free memory goes back to the system
    (:func:`hsi.memory.release_free_memory`): measured at 4096², the peak memory 786–795 MB
    against 818–927 MB without, and no slower.
    """
    if int(t.core.col_off) == 0:
        from hsi.memory import release_free_memory

        release_free_memory()
    return lr.read(t.lr_read, strip=True), hr.read(t.read, strip=True)


class _TileBatch:
    """LR and HR reads of a batch of tiles as normalised tensors, staged on the device.

    On CUDA the host tensors are pinned and copied on a side stream, so the copy of batch
    ``i + 1`` (made in the reading thread) overlaps the fusion of batch ``i``; :meth:`tensors`
    makes the compute stream wait for the copy.
    """

    def __init__(self, lr_cubes: list[Cube], hr_cubes: list[Cube], scales: tuple[float, float],
                 device: str | torch.device, stream: torch.cuda.Stream | None = None) -> None:
        import torch

        def stacked(cubes: list[Cube], scale: float) -> torch.Tensor:
            arrays = [np.asarray(c.data, dtype=np.float32) for c in cubes]
            # one tile (CPU): a view, so the division is the only copy
            x = torch.from_numpy(arrays[0][None] if len(arrays) == 1 else np.stack(arrays))
            x = x / scale
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

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(lr, msi)`` of shapes ``(N, C, h, w)``, ``(N, m, H, W)``, ready for compute."""
        import torch

        if self.event is not None:
            current = torch.cuda.current_stream()
            current.wait_event(self.event)
            # the side stream allocated them: keep their memory until the compute is done
            self.lr.record_stream(current)
            self.msi.record_stream(current)
        return self.lr, self.msi


def _to_host(est: torch.Tensor) -> Callable[[], np.ndarray]:
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

    def wait() -> np.ndarray:
        done.synchronize()
        return host.numpy()

    return wait


def _write_batch(writer: GeoTiffTileWriter | ArrayWriter, group: list[Tile],
                 results: list[Callable[[], np.ndarray]], pool: BufferPool | None = None) -> None:
    """Write a batch's fused cores, each ``(C, core_h, core_w)`` (waits for its copy first);
    each core's memory goes back to ``pool`` once written."""
    import torch

    for t, result in zip(group, results, strict=True):
        core = result()
        writer.write(core, t.core)
        if pool is not None:
            pool.give(torch.from_numpy(core))


class _CroppedWriter:
    """A sink's writer fed windows of a padded grid: writes only their part inside ``crop``
    (:meth:`hsi.fusion.grid.GridAlignment.crop`), moved to the sink's own grid."""

    def __init__(self, writer: GeoTiffTileWriter | ArrayWriter,
                 crop: tuple[slice, slice]) -> None:
        self.writer, self.rows, self.cols = writer, *crop

    def write(self, array: np.ndarray, window: Window) -> None:
        """Write the part of ``array``, shape ``(C, window.height, window.width)`` on the
        padded grid, that lies inside the sink's grid (nothing when none does)."""
        r0, c0 = int(window.row_off), int(window.col_off)
        top, bottom = max(r0, self.rows.start), min(r0 + int(window.height), self.rows.stop)
        left, right = max(c0, self.cols.start), min(c0 + int(window.width), self.cols.stop)
        if top >= bottom or left >= right:
            return
        self.writer.write(array[:, top - r0:bottom - r0, left - c0:right - c0],
                          Window(left - self.cols.start, top - self.rows.start, right - left,
                                 bottom - top))


def _lr_core(t: Tile, ratio: int) -> tuple[slice, slice]:
    """LR rows/cols of ``t``'s core inside its LR read window."""
    r0 = int(t.core.row_off) // ratio - int(t.lr_read.row_off)
    c0 = int(t.core.col_off) // ratio - int(t.lr_read.col_off)
    h = align_up(int(t.core.height), ratio) // ratio
    w = align_up(int(t.core.width), ratio) // ratio
    return slice(r0, r0 + h), slice(c0, c0 + w)


#: LR pixels a side of the GLP statistics pass's reads: 256, the block side of tiled GeoTIFFs
#: (hsikit's and GDAL's usual layout), so each LR-HSI block is decompressed once. Reading the
#: LR-HSI by the fusion tiles' strips instead decompressed each 204-band block row once per
#: row of tiles (4 times at x4): the pass took 6.3 s of a 4096² ``hsi fuse --method glp``.
STATS_LR_TILE = 256


def _glp_gains(lr: WindowReader, hr: WindowReader, tiles: list[Tile], ratio: int,
               scales: tuple[float, float], bar: SceneProgress, overlap: int,
               psf_sigma: float | Psf | None = None) -> torch.Tensor:
    """GLP's regression gains of the whole scene, shape (C, m): the statistics pass.

    The scene is read by cores of :data:`STATS_LR_TILE`² LR pixels, the LR-HSI without a
    margin (the regression reads the LR pixels of the core only) and the HR-MSI with the
    fusion tiles' ``overlap`` (the PSF's reach); each core's moments
    (:func:`hsi.fusion.baselines.glp_core_moments`) are summed, so the gains equal an untiled
    regression's up to float rounding. The bar advances by the fusion ``tiles`` each core
    holds.
    """
    import torch

    from hsi.fusion.baselines import glp_core_moments
    from hsi.fusion.infn import _fit_size

    cores = tile_windows(hr.cube.height, hr.cube.width, tile=ratio * STATS_LR_TILE,
                         overlap=overlap, ratio=ratio, lr_height=lr.cube.height,
                         lr_width=lr.cube.width, min_read=min_tile_read(ratio, psf_sigma))
    total: list = []
    # the fusion tiles form a grid: their rows' and columns' first pixels
    tile_rows = sorted({int(f.core.row_off) for f in tiles})
    tile_cols = sorted({int(f.core.col_off) for f in tiles})

    def read(t: Tile) -> tuple[Cube, Cube]:
        rows, cols = _lr_core(t, ratio)  # inside the LR read window, which is not read
        r0, c0 = int(t.lr_read.row_off) + rows.start, int(t.lr_read.col_off) + cols.start
        h = min(rows.stop, int(t.lr_read.height)) - rows.start
        w = min(cols.stop, int(t.lr_read.width)) - cols.start
        return lr.read(Window(c0, r0, w, h)), hr.read(t.read)

    def add(t: Tile, pair: tuple[Cube, Cube]) -> None:
        rows, cols = _lr_core(t, ratio)
        # NaN kept: glp_core_moments leaves missing data out of the regression
        x, msi = (torch.as_tensor(np.asarray(c.data, dtype=np.float32)) for c in pair)
        msi = _fit_size(msi, int(t.lr_read.height) * ratio, int(t.lr_read.width) * ratio)
        # the moments of the pixels as read, then normalised (blur and decimation are linear):
        # no normalised copy of a core is made
        m = glp_core_moments(x, msi, ratio, rows, cols, psf_sigma=psf_sigma).scaled(
            1.0 / scales[0], 1.0 / scales[1])
        total[:] = [m if not total else total[0] + m]
        bar.advance(_tiles_within(t.core, tile_rows, tile_cols))

    bar.describe("GLP statistics")
    scene_pass(cores, read, add)
    return total[0].solve()[0]


def _tiles_within(core: Window, tile_rows: list[int], tile_cols: list[int]) -> int:
    """How many tiles of the grid whose rows and columns start at ``tile_rows`` and
    ``tile_cols`` (sorted) start inside ``core``."""
    from bisect import bisect_left

    def count(starts: list[int], lo: int, size: int) -> int:
        return bisect_left(starts, lo + size) - bisect_left(starts, lo)

    return (count(tile_rows, int(core.row_off), int(core.height))
            * count(tile_cols, int(core.col_off), int(core.width)))


def _gsa_statistics(lr: WindowReader, hr: WindowReader, tiles: list[Tile], ratio: int,
                    scales: tuple[float, float], bar: SceneProgress,
                    psf_sigma: float | Psf | None = None) -> GsaStatistics:
    """GSA's statistics of the whole scene (a :class:`hsi.fusion.baselines.GsaStatistics`),
    summed over the fusion tiles' cores: the engine's first pass for GSA."""
    from hsi.fusion.api import gsa_statistics

    total: list = []

    def add(t: Tile, pair: tuple[Cube, Cube]) -> None:
        rows, cols = _lr_core(t, ratio)
        m = gsa_statistics(*pair, ratio=ratio, scales=scales, rows=rows, cols=cols,
                           psf_sigma=psf_sigma)
        total[:] = [m if not total else total[0] + m]

    bar.describe("GSA statistics")
    scene_pass(tiles, lambda t: _tile_pairs(lr, hr, t), add, bar=bar)
    return total[0]


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
    return [pair(int(w.row_off), int(w.col_off), int(w.height), int(w.width))
            for w in spread_windows(height, width, size, FIT_TILES, ratio)]


# ------------------------------------------------------------------------------- driver
def min_tile_read(ratio: int, psf_sigma: float | Psf | None = None) -> int:
    """Smallest tile read side (HR px) the fusion filters accept: the HR PSF (σ = ratio / 2
    unless given), INFN's own MSI high-pass (σ = ratio / 2) and the LR high-pass (σ = 1 LR px)
    all need more pixels than their kernel's radius."""
    from hsi.degrade import as_psf, psf_kernel_size
    from hsi.fusion.infn import LR_HIGHPASS_SIGMA

    hr = max(psf_kernel_size(ratio / 2.0), as_psf(psf_sigma, ratio).size)
    return max(hr, ratio * psf_kernel_size(LR_HIGHPASS_SIGMA)) + ratio


def _central_windows(lr: WindowReader, hr: WindowReader, ratio: int, side: int
                     ) -> tuple[Window, Window]:
    """The scene's central LR window of at most ``side`` pixels a side and its HR window."""
    h = min(lr.cube.height, hr.cube.height // ratio)
    w = min(lr.cube.width, hr.cube.width // ratio)
    r0, c0 = max(0, (h - side) // 2), max(0, (w - side) // 2)
    h, w = min(h, side), min(w, side)
    return Window(c0, r0, w, h), Window(c0 * ratio, r0 * ratio, w * ratio, h * ratio)


def _checked_pair(lr: Cube, hr: Cube, ratio: int | None) -> int:
    """:func:`hsi.fusion.grid.check_pair`, its error naming the two inputs (their files):
    ``"lr.tif, hr.tif: extents differ: left edge of LR-HSI is ..."``."""
    from hsi.errors import GridError
    from hsi.fusion.grid import check_pair

    try:
        return check_pair(lr, hr, ratio)
    except GridError as exc:
        if not (lr.name and hr.name):
            raise
        raise GridError(f"{lr.name}, {hr.name}: {exc}") from None


def scene_denoiser(lr_denoise: bool, lr: WindowReader, hr: WindowReader,
                   ratio: int) -> SpectralDenoiser | None:
    """The LR-HSI's spectral denoiser of a scene (:func:`hsi.fusion.denoise.denoiser_for`),
    fitted on the central window :func:`hsi.fusion.denoise.spectral_denoiser` would use of
    the whole scene; ``None`` when it does not act."""
    import torch

    from hsi.fusion.denoise import MAX_SIDE, denoiser_for, window_fits

    lr_win, _ = _central_windows(lr, hr, ratio, MAX_SIDE)
    if not (lr_denoise and window_fits(lr.cube.bands, int(lr_win.height), int(lr_win.width))):
        return None  # nothing read
    # missing data (NaN, ±inf) as 0, as :func:`hsi.fusion.fuse` reads it: an inf read as the
    # largest float swamped the noise estimate and switched the denoiser off
    x = np.nan_to_num(np.asarray(lr.read(lr_win).data, dtype=np.float32), nan=0.0, posinf=0.0,
                      neginf=0.0)
    return denoiser_for(lr_denoise, torch.as_tensor(x))


def scene_check_pair(lr: WindowReader, hr: WindowReader, ratio: int,
                     scales: tuple[float, float],
                     device: str | torch.device) -> tuple[torch.Tensor, ...]:
    """The central window ``method="auto"`` checks a shipped checkpoint on
    (:func:`hsi.fusion.gate.central_pair` of the whole scene), read, normalised (the LR-HSI as
    the reader gives it: denoised when a denoiser acts; NaN kept: the check leaves missing
    data out) and on ``device``."""
    import torch

    from hsi.fusion.api import scaled
    from hsi.fusion.gate import CHECK_SIDE_HR

    lr_win, hr_win = _central_windows(lr, hr, ratio, max(1, CHECK_SIDE_HR // ratio))
    return tuple(torch.as_tensor(np.asarray(scaled(reader.read(win), s).data, np.float32),
                                 device=device)
                 for reader, win, s in ((lr, lr_win, scales[0]), (hr, hr_win, scales[1])))


def scene_psf(psf_sigma: float | str | Psf | None, lr: WindowReader, hr: WindowReader,
              ratio: int, scales: tuple[float, float]) -> Psf:
    """The PSF of a scene (:func:`hsi.fusion.psf.psf_for`), estimated on the central window
    :func:`hsi.fusion.psf.estimate_psf` would use of the whole scene."""
    import torch

    from hsi.fusion.api import scaled
    from hsi.fusion.psf import AUTO, MAX_SIDE, psf_for

    if not (isinstance(psf_sigma, str) and psf_sigma.lower() == AUTO):
        return psf_for(psf_sigma, None, None, ratio)
    lr_win, hr_win = _central_windows(lr, hr, ratio, MAX_SIDE)
    lr_t = torch.as_tensor(np.asarray(scaled(lr.read(lr_win), scales[0]).data, np.float32))
    hr_t = torch.as_tensor(np.asarray(scaled(hr.read(hr_win), scales[1]).data, np.float32))
    return psf_for(AUTO, lr_t, hr_t, ratio)


@dataclass
class SceneFusion:
    """What :func:`fuse_scene` did: the sink it filled, the method it ran and the ratio.

    Attributes
    ----------
    writer
        The sink, closed (:class:`~hsi.engine.ArrayWriter`: the fused pixels in ``.data``).
    method : str
        The method that ran (``"auto"`` resolved).
    ratio : int
    lr, hr : Cube
        The inputs as read (lazy for GeoTIFF/ENVI files): wavelengths and grid of the output.
    tiles : int
    psf_sigma : Psf or None
        The PSF the method used (``None`` for bicubic).
    denoiser : SpectralDenoiser or None
        The LR-HSI's spectral denoiser (:mod:`hsi.fusion.denoise`), ``None`` when none acted.
    auto_check : dict or None
        ``method="auto"``'s scene check of a shipped checkpoint
        (:func:`hsi.fusion.api.auto_method`), ``None`` when none ran.
    scene_fit : dict or None
        ``fit_scene``'s check on the held-back part of the pair
        (:func:`hsi.fusion.gate.keep_if_better`: ``result`` is ``"fitted"``, ``"start"`` or
        ``"base"``, the image that was written), ``None`` without ``fit_scene``.
    """

    writer: Any
    method: str
    ratio: int
    lr: Cube
    hr: Cube
    tiles: int
    psf_sigma: Psf | None = None
    denoiser: Any = None
    auto_check: dict | None = None
    scene_fit: dict | None = None

    def metadata(self) -> dict:
        """The PSF's, the denoiser's, the auto check's and the scene fit's entries of the
        result's metadata."""
        return {**(self.psf_sigma.metadata() if self.psf_sigma else {}),
                **(self.denoiser.metadata() if self.denoiser else {}),
                **({"auto_check": self.auto_check} if self.auto_check else {}),
                **({"scene_fit": self.scene_fit} if self.scene_fit else {})}


def fuse_scene(
    lr_source: str | os.PathLike | Cube,
    hr_source: str | os.PathLike | Cube,
    sink: Callable[..., Any],
    *,
    method: str = "auto",
    model: INFN | str | os.PathLike | None = None,
    ratio: int | None = None,
    fit_scene: bool = False,
    tile: int = 256,
    overlap: int | None = None,
    device: str | torch.device = "auto",
    seed: int = 0,
    progress: bool = True,
    fit_steps: int | None = None,
    fit_minutes: float | None = None,
    batch: int | None = None,
    callback: ProgressCallback | None = None,
    psf_sigma: float | str | None = "auto",
    lr_denoise: bool | None = None,
    var: str | None = None,
) -> SceneFusion:
    """Fuse an LR-HSI with an HR-MSI tile by tile on the scene engine, into ``sink``.

    The one fusion pipeline of a scene: :func:`fuse_files` (``hsi fuse``, ``hsi fuse-batch``)
    runs it with a GeoTIFF sink, :func:`fuse_cube` (the viewer's Fuse dock) with an array in
    memory. Each input is read window by window through :class:`~hsi.engine.WindowReader`
    (a path, or a :class:`~hsi.cube.Cube`, lazy or in memory), so memory is bounded by the
    tile plus the sink.

    Parameters
    ----------
    lr_source, hr_source : path or Cube
    sink : callable
        ``sink(bands=, height=, width=, dtype=, crs=, transform=, nodata=, wavelengths=,
        fwhm=, tile=)`` returning a writer used in a ``with`` block, whose ``write(array,
        window)`` receives each tile's core and whose ``tag(**values)`` what produced them
        (``fusion_method``, ``ratio``, :meth:`SceneFusion.metadata`):
        ``functools.partial(GeoTiffTileWriter, path)`` (GeoTIFF tags) or
        :class:`~hsi.engine.ArrayWriter`. It is made once the model is ready and closed once
        every tile is written (not entered at all when the fit is cancelled).
    callback : callable, optional
        ``callback(done, total)``: with ``fit_scene`` every fitting step first (the total
        counts one more step, as :func:`hsi.fusion.fuse` does), then the tiles of every pass
        on from there; ``done == total`` once every tile is written. Return ``True`` to stop
        (:class:`~hsi.errors.Cancelled`) at the next fitting step or between tiles.

    The other parameters are :func:`fuse_files`'s.

    Returns
    -------
    SceneFusion
    """
    from hsi.fusion.grid import (
        grid_alignment,
        warn_if_georeference_unchecked,
        warn_if_not_multispectral,
    )
    from hsi.io.formats import mat_vars
    from hsi.memory import release_free_memory

    lr_var, hr_var = mat_vars((lr_source, hr_source), var)
    # GDAL's block cache is capped by the readers and the writer (hsi.io.geotiff.GDAL_CACHE_BYTES)
    with WindowReader(lr_source, var=lr_var) as lr, WindowReader(hr_source, var=hr_var) as hr:
        lr.missing_as_nan = hr.missing_as_nan = True  # nodata values: missing, not data
        r = _checked_pair(lr.cube, hr.cube, ratio)
        warn_if_georeference_unchecked(lr.cube, hr.cube)
        warn_if_not_multispectral(lr.cube, hr.cube)
        # the fusion stack (torch, ~1 s) loads only once the pair is known to fit together
        import torch

        from hsi.degrade import warn_if_zeros_undeclared
        from hsi.device import pick_device, seed_everything
        from hsi.fusion.api import (
            AUTO,
            auto_method,
            check_fit_input,
            check_infn_size,
            check_psf_size,
            checked_method,
            denoises_lr,
            empty_band_sources,
            estimate,
            msi_band_order,
            resolve_model,
            scaled,
        )
        from hsi.fusion.baselines import missing_pixels
        from hsi.fusion.fit import fit_scene as fit_scene_model

        method = checked_method(method, model=model, fit_scene=fit_scene)
        order = msi_band_order(hr.cube, method, model, fit_scene)
        if order is not None:  # e.g. R, G, B read as B, G, R: the checkpoint camera's order
            hr.reorder_bands(order)
        dev = pick_device(device)
        scales = (lr.scale(), hr.scale())  # as hsi.fusion.api.input_scales, one file at a time
        for reader in (lr, hr):  # "no nodata value, and 3.1% of its pixels are 0 ..."
            warn_if_zeros_undeclared(reader.cube)
        release_free_memory()
        # LR pixels off the HR-MSI's blocks of r: every read from here on is of the inputs
        # padded to line up (lazily), and the result is cut back to the HR-MSI's grid
        out_grid, grid = hr.cube, grid_alignment(lr.cube, hr.cube, r)
        if not grid.aligned:
            for reader, padded in zip((lr, hr), grid.pad(lr.cube, hr.cube), strict=True):
                reader.use_cube(padded)
        # an empty LR band (no valid value) is read from its nearest band with data, and NaN
        # in the result: read as NaN, it would make every pixel NaN
        lr.band_source = empty_band_sources(lr.cube, hr.cube)
        emptied = (None if lr.band_source is None else
                   np.flatnonzero(lr.band_source != np.arange(lr.cube.bands)))

        fit_done = {"steps": 0}  # fitting steps reported, counted before the tiles

        def fit_callback(done: int, total: int) -> bool | None:
            fit_done["steps"] = int(done)
            return callback(done, total + 1)

        denoiser = scene_denoiser(denoises_lr(method, lr_denoise), lr, hr, r)
        if denoiser is not None:  # every read of the LR-HSI from here on is denoised
            lr.band_matrix = denoiser.matrix.cpu().numpy()
        sigma = None if method == "bicubic" else scene_psf(psf_sigma, lr, hr, r, scales)
        if sigma is not None:  # "hr.tif: HR-MSI of 16×16 pixels is too small for the PSF ..."
            check_psf_size(hr.cube, sigma, r)
        net = check = None
        if method == AUTO:
            method, net, check = auto_method(lr.cube, hr.cube, r, dev,
                                             pair=scene_check_pair(lr, hr, r, scales, dev),
                                             psf_sigma=sigma)
        elif method == "infn":
            if fit_scene:
                check_fit_input(lr.cube, r)  # "lr.tif: fit_scene=True at ratio 4 needs ..."
                start = None if model is None else resolve_model(
                    lr.cube, hr.cube, model=model, ratio=r, device=dev)
                windows = fit_windows(hr.cube.height, hr.cube.width, r)
                net = fit_scene_model([scaled(lr.read(w), scales[0]) for w, _ in windows],
                                      [scaled(hr.read(w), scales[1]) for _, w in windows],
                                      ratio=r, steps=fit_steps, minutes=fit_minutes, seed=seed,
                                      device=dev, progress=progress, init=start,
                                      psf_sigma=sigma,
                                      callback=fit_callback if callback is not None else None)
            else:
                net = resolve_model(lr.cube, hr.cube, model=model, ratio=r, device=dev)
        if method == "infn":  # "lr.tif: LR-HSI of 2×2 pixels is too small for INFN ..."
            check_infn_size(lr.cube, net, r)
        needed = receptive_field(method, r, net, psf_sigma=sigma)
        if overlap is None:
            overlap = needed
        elif overlap < needed and method != "cnmf":  # cnmf's tiles differ anyway (warned)
            log.warning("overlap %d HR pixels is less than %s's reach of %d: pixels near the "
                        "tiles' edges will differ from an untiled fusion (leave the overlap out "
                        "for the exact margin)", overlap, method.upper(), needed)
        tiles = tile_windows(hr.cube.height, hr.cube.width, tile=tile, overlap=overlap, ratio=r,
                             lr_height=lr.cube.height, lr_width=lr.cube.width,
                             min_read=min_tile_read(r, sigma))

        needs_gains = method == "glp" or (
            method == "infn" and getattr(net.config, "base", None) == "glp")
        passes = [kind for kind, wanted in (("glp", needs_gains), ("gsa", method == "gsa"))
                  if wanted and len(tiles) > 1]
        if method in _GLOBAL_METHODS and len(tiles) > 1:
            log.warning("%s estimates its statistics per tile: with %d tiles the result differs "
                        "from an untiled run (tile=%d makes it one tile)", method, len(tiles),
                        max(hr.cube.height, hr.cube.width))

        if batch is None:
            batch = CUDA_TILE_BATCH if dev.type == "cuda" else 1
        batches = tile_batches(tiles, max(1, int(batch)))
        stream = torch.cuda.Stream(dev) if dev.type == "cuda" else None

        def stage(group: list[Tile]) -> _TileBatch:
            pairs = [_tile_pairs(lr, hr, t) for t in group]
            return _TileBatch([p[0] for p in pairs], [p[1] for p in pairs], scales, dev, stream)

        # on CPU the cores' buffers are reused once written (fresh pages cost more than GLP)
        pool = BufferPool() if dev.type == "cpu" else None

        def compute(group: list[Tile], staged: _TileBatch) -> list[Callable[[], np.ndarray]]:
            lr_b, msi_b = staged.tensors()
            outs = None if pool is None else [
                pool.take((lr.cube.bands, int(t.core.height), int(t.core.width))) for t in group]
            with torch.no_grad():
                cores = estimate(method, lr_b, msi_b, r, model=net, glp_gains=stats.get("glp"),
                                 gsa_statistics=stats.get("gsa"), psf_sigma=sigma,
                                 cores=[t.inner for t in group], outs=outs, pool=pool)
                for core, t, x, m in zip(cores, group, lr_b, msi_b, strict=True):
                    missing = missing_pixels(x, m, r)  # no data there: NaN, not a guess
                    if missing is not None:
                        core[:, missing[t.inner]] = float("nan")
                    if emptied is not None:  # no data in those bands: NaN
                        core[torch.as_tensor(emptied, device=core.device)] = float("nan")
            # back to the LR-HSI's units; a cropped core (not GLP's) becomes contiguous here
            return [_to_host(c.mul_(scales[0]) if c.is_contiguous() else c.mul(scales[0]))
                    for c in cores]

        seed_everything(seed)  # once: no tile's compute draws random numbers (2 ms a tile)
        block = 256 if min(hr.cube.height, hr.cube.width) >= 256 else 16 * max(
            1, min(hr.cube.height, hr.cube.width, 256) // 16)
        with SceneProgress(len(tiles) * (1 + len(passes)), what=f"fuse {method}",
                           progress=progress, callback=callback,
                           before=fit_done["steps"]) as bar:
            stats = {kind: _glp_gains(lr, hr, tiles, r, scales, bar, overlap, sigma)
                     if kind == "glp" else
                     _gsa_statistics(lr, hr, tiles, r, scales, bar, sigma)
                     for kind in passes}
            release_free_memory()
            bar.describe(f"fuse {method}")
            with sink(bands=lr.cube.bands, height=out_grid.height, width=out_grid.width,
                      dtype="float32", crs=out_grid.crs, transform=out_grid.transform,
                      nodata=FUSED_NODATA, wavelengths=lr.cube.wavelengths, fwhm=lr.cube.fwhm,
                      tile=block) as writer:
                into = writer if grid.aligned else _CroppedWriter(
                    writer, grid.crop(out_grid.height, out_grid.width))
                run_tiles(batches, stage, compute,
                          lambda group, result: _write_batch(into, group, result, pool),
                          bar=bar)
                done = SceneFusion(writer=writer, method=method, ratio=r, lr=lr.cube,
                                   hr=out_grid, tiles=len(tiles), psf_sigma=sigma,
                                   denoiser=denoiser, auto_check=check,
                                   scene_fit=net.meta.get("fit_validation")
                                   if fit_scene and net is not None else None)
                writer.tag(fusion_method=method, ratio=r, **done.metadata())
                _keep_band_metadata(writer, lr.cube)
        return done


def _keep_band_metadata(writer: GeoTiffTileWriter | ArrayWriter, lr_hsi: Cube) -> None:
    """Give the result the LR-HSI's band names, bad band list, reflectance scale factor and
    band scales/offsets (:func:`hsi.io.envi.band_metadata`): its bands and units are the
    LR-HSI's (a GeoTIFF: band descriptions, tags, band scales; in memory: tags)."""
    from hsi.io.geotiff import GeoTiffTileWriter, write_band_metadata

    if isinstance(writer, GeoTiffTileWriter):
        write_band_metadata(writer, lr_hsi)
    else:
        from hsi.io.envi import band_metadata

        writer.tag(**band_metadata(lr_hsi))


def fuse_files(
    lr_path: str | os.PathLike,
    hr_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    method: str = "auto",
    model: INFN | str | os.PathLike | None = None,
    ratio: int | None = None,
    fit_scene: bool = False,
    tile: int = 256,
    overlap: int | None = None,
    device: str | torch.device = "auto",
    seed: int = 0,
    progress: bool = True,
    fit_steps: int | None = None,
    fit_minutes: float | None = None,
    batch: int | None = None,
    callback: ProgressCallback | None = None,
    psf_sigma: float | str | None = "auto",
    lr_denoise: bool | None = None,
    var: str | None = None,
) -> Path:
    """Fuse an LR-HSI file with an HR-MSI file into a GeoTIFF, tile by tile.

    :func:`fuse_scene` with a :class:`~hsi.io.geotiff.GeoTiffTileWriter` sink.

    Parameters
    ----------
    lr_path, hr_path : path
        Low-resolution hyperspectral and high-resolution multispectral images (any format
        :func:`hsi.open` reads; GeoTIFF and ENVI are read window by window).
    out_path : path
        Output GeoTIFF: float32 ``(bands, H, W)`` on the HR-MSI grid (CRS, transform), with
        the LR-HSI's wavelengths/FWHM, in the LR-HSI's units, NaN where no data lies under
        a pixel and nodata NaN (:data:`FUSED_NODATA`); tiled, ZSTD-compressed, BigTIFF when
        needed. Written atomically.
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
        Margin read around each tile, HR pixels; default :func:`receptive_field` (a smaller
        one is used with a one-line warning: tiles then differ from an untiled fusion).
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    seed : int
    progress : bool
        Progress bar over tiles on stderr.
    callback : callable, optional
        ``callback(done, total)`` (:mod:`hsi.progress`): the fitting steps of ``fit_scene``,
        then the tiles of every pass (the statistics pass of ``glp``/``gsa``, then fusion);
        ``done == total`` once every tile is written. Return ``True`` to stop:
        :class:`~hsi.errors.Cancelled` is raised and nothing is left at ``out_path``.
    fit_steps, fit_minutes : optional
        Budget of ``fit_scene``.
    batch : int, optional
        Tiles of the same shape fused at once; default :data:`CUDA_TILE_BATCH` on CUDA
        (their host-to-device copy overlaps the previous batch's compute), 1 on CPU (where
        torch already uses every core on one tile).
    psf_sigma : float, "auto", Psf or None
        The sensor's PSF (see :func:`hsi.fusion.fuse`): ``"auto"`` estimates it on the scene's
        central window (:func:`scene_psf`), ``None`` assumes a Gaussian σ = ``ratio / 2``.
    lr_denoise : bool, optional
        Spectral denoising of the LR-HSI (see :func:`hsi.fusion.fuse`; default every method
        but CNMF), fitted on the scene's central window (:func:`scene_denoiser`).
    var : str, optional
        Variable to read from the ``.mat`` files among the two inputs
        (:func:`hsi.io.formats.mat_vars`).

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
    Cancelled
        When ``callback`` returns ``True`` (nothing is left at ``out_path``).
    """
    from hsi.io.atomic import clean_stale_temporaries
    from hsi.io.geotiff import GeoTiffTileWriter, check_tiff_output
    from hsi.memory import limit_heap_growth

    limit_heap_growth()
    out_path = Path(out_path)
    check_tiff_output(out_path)
    clean_stale_temporaries(out_path)  # left by a killed earlier run of this output
    fuse_scene(lr_path, hr_path, functools.partial(GeoTiffTileWriter, out_path), method=method,
               model=model, ratio=ratio, fit_scene=fit_scene, tile=tile, overlap=overlap,
               device=device, seed=seed, progress=progress, fit_steps=fit_steps,
               fit_minutes=fit_minutes, batch=batch, callback=callback, psf_sigma=psf_sigma,
               lr_denoise=lr_denoise, var=var)
    return out_path


def fuse_cube(lr_hsi: Cube, hr_msi: Cube, *, method: str = "auto", tile: int = 256,
              progress: bool = False, callback: ProgressCallback | None = None,
              **options) -> Cube:
    """Fuse two cubes (lazy or in memory) tile by tile into a cube in memory.

    :func:`fuse_scene` with an :class:`~hsi.engine.ArrayWriter` sink: the inputs are read by
    windows, so memory is bounded by the tile plus the fused array; progress is per tile and
    a ``callback`` returning ``True`` stops between tiles (or fitting steps). What the
    viewer's Fuse dock runs; ``options`` are :func:`fuse_scene`'s (``model``, ``ratio``,
    ``fit_scene``, ``device``, ``seed``, ``fit_minutes``...).

    Returns
    -------
    Cube, shape (C, H, W), float32
        As :func:`hsi.fusion.fuse`: the LR-HSI's units and wavelengths on the HR-MSI's grid.
    """
    from hsi.engine import ArrayWriter

    done = fuse_scene(lr_hsi, hr_msi, ArrayWriter, method=method, tile=tile,
                      progress=progress, callback=callback, **options)
    return Cube(done.writer.data, wavelengths=done.lr.wavelengths, fwhm=done.lr.fwhm,
                crs=done.hr.crs, transform=done.hr.transform, nodata=FUSED_NODATA,
                name=f"{lr_hsi.short_name or 'hsi'}_{done.method}_x{done.ratio}",
                metadata={**done.writer.tags, "fusion_method": done.method,
                          "ratio": done.ratio, "lr_hsi": lr_hsi.name, "hr_msi": hr_msi.name,
                          "tiles": done.tiles, **done.metadata()})
