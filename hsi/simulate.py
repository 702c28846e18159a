"""Simulating a Wald-protocol LR-HSI / HR-MSI pair from a reference cube into files.

>>> import tempfile
>>> from pathlib import Path
>>> from hsi.data import sample_cube
>>> from hsi.simulate import simulate_files
>>> cube = sample_cube()
>>> tmp = tempfile.TemporaryDirectory(); pair = Path(tmp.name) / "pair"
>>> simulate_files(cube, pair, ratio=4, sensor="sentinel2")
{'reference': PosixPath('.../pair/reference.tif'), 'lr_hsi': ..., 'hr_msi': ...}
>>> tmp.cleanup()
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from hsi.progress import ProgressCallback

if TYPE_CHECKING:
    import numpy as np

    from hsi.cube import Cube
    from hsi.tiling import Tile

__all__ = ["SIMULATION_FILES", "simulate_files"]

#: File names written into the output folder.
SIMULATION_FILES = ("reference.tif", "lr_hsi.tif", "hr_msi.tif")


def simulate_files(cube: Cube | str | os.PathLike, out_dir: str | os.PathLike, ratio: int,
                   sensor: str, psf_sigma: float | None = None, device: str = "auto", *,
                   tile: int = 512, progress: bool = False,
                   callback: ProgressCallback | None = None) -> dict[str, Path]:
    """Simulate a pair from ``cube`` and write ``reference.tif``, ``lr_hsi.tif``, ``hr_msi.tif``.

    The cube is scaled to reflectance-like values (:func:`hsi.degrade.normalize_reflectance`,
    with the divisor of the whole cube) and cropped to a multiple of ``ratio``. It runs on the
    scene engine (:mod:`hsi.engine`): ratio-aligned tiles, each read with a halo of the PSF's
    radius, are simulated by :func:`hsi.degrade.simulate_pair` and only their cores written,
    so a lazy cube (or a file) is never loaded whole and the result equals an untiled run.
    The three files replace their destinations together only when all three are complete.

    Parameters
    ----------
    cube : Cube or path, shape (bands, H, W)
        Reference with wavelengths in nm (a path is opened lazily).
    out_dir : path
        Output folder (created when missing).
    ratio, sensor, psf_sigma, device
        As :func:`hsi.degrade.simulate_pair`.
    tile : int
        Core tile side, HR pixels (rounded up to a multiple of ``ratio``).
    progress : bool
        tqdm bar over tiles on stderr.
    callback : callable, optional
        ``callback(done_tiles, total_tiles)`` (:mod:`hsi.progress`); return ``True`` to stop
        (:class:`~hsi.errors.Cancelled`, nothing written).

    Returns
    -------
    dict
        ``{"reference": path, "lr_hsi": path, "hr_msi": path}``: float32 GeoTIFFs, the
        reference ``(bands, H, W)`` cropped to a multiple of ``ratio``, the LR-HSI
        ``(bands, H / ratio, W / ratio)`` and the HR-MSI ``(sensor bands, H, W)``, on the
        reference's CRS (the LR-HSI's transform the reference's scaled by ``ratio``, same
        origin). The reference keeps the cube's nodata value; the LR-HSI and HR-MSI are NaN
        where they have no data (nodata or NaN under the PSF) and declare NaN their nodata. A
        sensor band mostly in a gap of the cube's sampling (removed water-absorption bands,
        :meth:`hsi.srf.SRF.for_cube`) is left out of the HR-MSI with one warning; the file's
        tags name the sensor (``srf``), its bands (``band_names``) and the bands left out
        with their covered fractions (``srf_dropped_bands``).

    Raises
    ------
    CubeTypeError
        When ``cube`` is neither a :class:`~hsi.cube.Cube` nor a path (a bare array).
    HsiIOError
        When ``out_dir`` cannot be created or written (nothing is written).
    SensorError, WavelengthError, ShapeError
        From the simulation (nothing is written).
    Cancelled
        When ``callback`` returns ``True``.
    """
    import contextlib

    from affine import Affine

    from hsi.bands import bands_with_data
    from hsi.check import check_ratio
    from hsi.cube import check_nanometres, require_cube
    from hsi.engine import SceneProgress, WindowReader, run_tiles
    from hsi.io.atomic import atomic_files
    from hsi.io.geotiff import GeoTiffTileWriter
    from hsi.io.guard import check_output_folder
    from hsi.srf import load_srf
    from hsi.tiling import align_up, crop_to_core, tile_windows

    if not isinstance(cube, (str, os.PathLike)):  # a bare array has no wavelengths
        require_cube(cube, "simulate_files: cube (or a path)")
    r = check_ratio(ratio)
    check_output_folder(out_dir)
    reader = WindowReader(cube)
    srf = load_srf(sensor)
    # before any SRF band is judged against µm read as nm
    check_nanometres(reader.cube.wavelengths, f"cube {reader.cube.name!r}")
    # the scene's bands with data, once: every tile simulates the same HR-MSI bands from them
    bands = bands_with_data(reader.cube, "simulated HR-MSI")
    if reader.cube.wavelengths is not None:  # a sensor outside the cube's range fails here,
        measured = reader.cube.wavelengths if bands is None else reader.cube.wavelengths[bands]
        srf = srf.for_cube(measured)  # before torch loads and any tile is simulated; bands in
        srf.matrix(measured)  # a gap of the cube's sampling (or without data) are dropped once
    from hsi.degrade import crop_to_ratio, normalize_reflectance, psf_kernel_size, simulate_pair

    scale = reader.scale()  # the divisor of the whole cube, as normalize_reflectance's
    ref = crop_to_ratio(reader.cube, r)
    sigma = r / 2.0 if psf_sigma is None else float(psf_sigma)
    kernel = psf_kernel_size(sigma)
    tiles = tile_windows(ref.height, ref.width, tile=tile, overlap=align_up(kernel // 2, r),
                         ratio=r, min_read=align_up(kernel + 1, r))

    def simulate(t: Tile, part: Cube) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        part.metadata["reflectance_scale"] = scale  # normalised by the whole cube's divisor
        part = normalize_reflectance(part.with_data(part.data.astype("float32")))[0]
        lr, hr = simulate_pair(part, r, srf, psf_sigma, device=device, bands=bands)
        rows = slice(int(t.core.row_off - t.read.row_off) // r,
                     int(t.core.row_off - t.read.row_off + t.core.height) // r)
        cols = slice(int(t.core.col_off - t.read.col_off) // r,
                     int(t.core.col_off - t.read.col_off + t.core.width) // r)
        return crop_to_core(part.data, t), lr.data[:, rows, cols], crop_to_core(hr.data, t)

    folder = Path(out_dir)  # created by the atomic writes, removed again if they fail
    dests = [folder / name for name in SIMULATION_FILES]
    with SceneProgress(len(tiles), what="simulating", progress=progress,
                       callback=callback) as bar, atomic_files(dests) as tmps, \
            contextlib.ExitStack() as stack:
        stack.enter_context(reader)  # the file kept open for the tiles
        lr_t = ref.transform @ Affine.scale(r) if ref.transform is not None else None
        nan = float("nan")  # the simulated images' missing pixels, declared as their nodata
        specs = ((ref.bands, ref.height, ref.width, ref.transform, ref.nodata, ref.wavelengths,
                  ref.fwhm),
                 (ref.bands, ref.height // r, ref.width // r, lr_t, nan, ref.wavelengths,
                  ref.fwhm),
                 (len(srf.band_names), ref.height, ref.width, ref.transform, nan,
                  srf.centres, srf.fwhm))  # as simulate_pair's HR-MSI
        writers = [stack.enter_context(GeoTiffTileWriter(
            tmp, bands=b, height=h, width=w, dtype="float32", crs=ref.crs, transform=tr,
            nodata=nd, wavelengths=wl, fwhm=fw)) for tmp, (b, h, w, tr, nd, wl, fw)
            in zip(tmps, specs, strict=True)]

        msi_tags = {"srf": srf.name, "band_names": list(srf.band_names)}
        if srf.dropped:  # bands left out: mostly in a gap of the cube's sampling
            msi_tags["srf_dropped_bands"] = dict(srf.dropped)
        writers[2].tag(**msi_tags)

        def write(t: Tile, result: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
            lr_window = type(t.core)(int(t.core.col_off) // r, int(t.core.row_off) // r,
                                     int(t.core.width) // r, int(t.core.height) // r)
            for writer, data, window in zip(writers, result, (t.core, lr_window, t.core),
                                            strict=True):
                writer.write(data, window)

        run_tiles(tiles, lambda t: reader.read(t.read), simulate, write, bar=bar)
        stack.close()  # the three files are complete
    return {Path(name).stem: dest for name, dest in zip(SIMULATION_FILES, dests, strict=True)}
