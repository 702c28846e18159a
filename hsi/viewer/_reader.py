"""napari reader: ENVI, GeoTIFF, MATLAB and CAVE PNG-folder cubes through :func:`hsi.open`.

``napari_get_reader(path)`` answers quickly from the path and a cheap look inside the file,
returning ``None`` for anything that is not a cube (so napari tries other readers). A file that
is clearly a cube but broken gives a napari error notification with the one-line reason and no
layer, never an exception in the viewer.

Big ENVI and GeoTIFF cubes stay on disk: they are opened as dask arrays of one band × about
1024 × 1024 pixels per chunk, so showing a band reads that band only; one wider than 1024
pixels opens as a multiscale pyramid (levels decimated ×2, ×4... on the fly, or a GeoTIFF's
own overviews), so napari reads the level that fits the canvas and, zoomed in, only the part
on screen (:func:`hsi.viewer._convert.pyramid`). A cube opens at its middle band (at the
nearest band with data when that one is empty: all NaN or nodata) with 2-98 % contrast from
that band (nodata left out) and, when its wavelengths cover 460/550/640 nm, a true-colour
layer on top. A class-map GeoTIFF (one band of class codes named in a ``CLASS_NAMES`` tag, as
the plugin's writer, ``hsi classify`` and ``hsi cluster`` save them) opens as a Labels layer
in its colours, naming its classes; a ``.mat`` holding several cubes opens each as a layer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from hsi.io.formats import (
    ENVI_DATA_EXTS,
    MAT_EXTS,
    TIFF_EXTS,
    detect_format,
    find_envi_header,
    is_mat,
    is_tiff,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    from hsi.cube import Cube

#: ENVI and GeoTIFF cubes up to this many bytes are read into memory; larger ones stay lazy.
VIEWER_EAGER_BYTES = 64 * 2**20

#: What :func:`read_cube` returns for a broken cube (after notifying the user): napari's
#: sentinel for a file read without layers, so that napari adds nothing and raises nothing.
NOTHING_READ = ((None,),)


def _single_path(path: str | os.PathLike | Sequence[str | os.PathLike]) -> str | None:
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    return str(path)


def _head(path: Path, n: int = 1024) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(n)
    except OSError:
        return b""


def _mat_has_array(path: Path) -> bool:
    """True when the .mat file holds a 2-D or 3-D variable (a cube or pixels × bands)."""
    try:
        from scipy.io import whosmat

        return any(len(shape) in (2, 3) and min(shape) > 1 for _, shape, _ in whosmat(path))
    except NotImplementedError:  # MATLAB v7.3 (HDF5)
        import h5py

        try:
            with h5py.File(path, "r") as f:
                return any(getattr(v, "ndim", 0) in (2, 3) for v in f.values())
        except OSError:
            return False
    except Exception:  # a corrupt header: let hsi.open report it
        return True


def is_cube_path(path: Path) -> bool:
    """Cheap test (extension and first bytes) of whether ``path`` is a cube this plugin reads.

    ENVI headers (or data files with one beside them), TIFFs, MATLAB files holding an array
    and folders of PNG bands qualify; a file named like a cube whose first bytes disagree
    (a text file called ``.tif``) does not.
    """
    if path.is_dir():
        return any(p.suffix.lower() == ".png" for p in path.iterdir())
    if not path.is_file():
        return False
    ext = path.suffix.lower()
    if ext == ".hdr":
        return _head(path).lstrip().startswith(b"ENVI")
    if ext in ENVI_DATA_EXTS:
        return find_envi_header(path) is not None
    if ext in TIFF_EXTS:
        return is_tiff(_head(path))
    if ext in MAT_EXTS:
        return is_mat(_head(path)) and _mat_has_array(path)
    return False


def napari_get_reader(path: str | os.PathLike | Sequence[str | os.PathLike]) -> Callable | None:
    """Return :func:`read_cube` when ``path`` is a cube this plugin reads, else ``None``.

    Parameters
    ----------
    path : str or list of str
        One file (ENVI ``.hdr`` or data file, ``.tif``/``.tiff``, ``.mat``) or a folder of PNG
        bands; lists of several paths are declined.
    """
    single = _single_path(path)
    if single is None or not is_cube_path(Path(single)):
        return None
    return read_cube


def open_for_viewer(path: str | Path) -> Cube:
    """Open a cube for display: small ones in memory, big ENVI/GeoTIFF ones lazily by band.

    Parameters
    ----------
    path : path
        Anything :func:`hsi.open` reads.

    Returns
    -------
    Cube
        numpy data up to :data:`VIEWER_EAGER_BYTES`; above, for ENVI and GeoTIFF, dask data
        chunked one band × about 1024 × 1024 pixels (only the header is read here).
    """
    import hsi

    fmt = detect_format(path)
    if fmt == "envi":
        from hsi.io.envi import read_envi as read
    elif fmt == "geotiff":
        from hsi.io.geotiff import read_geotiff as read
    else:
        return hsi.open(path)
    cube = read(path, lazy=True, band_chunks=True)
    if cube.data.nbytes <= VIEWER_EAGER_BYTES:
        cube = read(path, lazy=False)
    return cube


def mat_cube_variables(path: str | Path) -> list[str]:
    """The 3-D variables of a ``.mat`` file holding several (``Samson.mat``: the cube and its
    abundances), else ``[]``. :func:`hsi.open` asks which one (``var=``), which a napari user
    cannot answer: the reader shows each as a layer instead."""
    from hsi.io.mat import MatFile

    if detect_format(path) != "mat":
        return []
    names = [name for name, shape in MatFile(Path(path)).shapes.items() if len(shape) == 3]
    return names if len(names) > 1 else []


def _layers_for(path: str) -> list[tuple]:
    """The cube layer, then the true-colour layer (when there is one) of ``path``; of a
    ``.mat`` holding several cubes, those of each (named ``<file> <variable>``); of a class
    map (:func:`hsi.io.labels.is_class_map`), a Labels layer in its colours with its class
    names. No Qt, no napari."""
    import hsi
    from hsi.viewer._convert import class_map_layer_data, cube_layer_data, true_colour_layer_data

    variables = mat_cube_variables(path)
    if variables:
        named = [(hsi.open(path, var=var), f"{Path(path).stem} {var}") for var in variables]
    else:
        cube = open_for_viewer(path)
        named = [(cube, cube.short_name or Path(path).stem)]
        from hsi.io.labels import is_class_map, read_labels

        if is_class_map(cube):

            return [class_map_layer_data(cube, read_labels(path), name=named[0][1])]
    layers = [cube_layer_data(cube, name=name) for cube, name in named]
    rgbs = (true_colour_layer_data(cube, name=name) for cube, name in named)
    return layers + [rgb for rgb in rgbs if rgb is not None]


def read_cube(path: str | os.PathLike | Sequence[str | os.PathLike]) -> list[tuple]:
    """Read a cube into a band-by-band image layer and, where possible, a true-colour layer.

    Returns
    -------
    list of LayerDataTuple
        ``[(data (bands, H, W), kwargs, "image")]``, followed by ``(rgb (H, W, 3) uint8,
        kwargs, "image")`` when the wavelengths cover 460/550/640 nm (of a ``.mat`` holding
        several 3-D variables, those of each: :func:`mat_cube_variables`); ``[(None,)]``
        (napari's "nothing to show", :data:`NOTHING_READ`) after notifying the user when the
        file is a broken cube. Big files stay lazy (dask) in both layers;
        wide ones come as multiscale pyramids (``data`` a list of levels).
        Opening (imports of dask and rasterio, the reads for the first view) runs in a thread
        while napari's event loop keeps running (:func:`hsi.viewer._offthread.call_off_gui`).
    """
    from hsi.viewer._band_slider import follow_current_viewer
    from hsi.viewer._offthread import call_off_gui

    single = _single_path(path)
    try:
        layers = call_off_gui(_layers_for, single)
    except Exception as exc:  # any failure: a message in the viewer, never a traceback
        from napari.utils.notifications import show_error

        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        show_error(f"hsikit cannot read {Path(single).name}: {reason}")
        # napari's "read, but nothing to show" sentinel: an empty list would make napari
        # raise "returned no data" on top of this message (and pop its reader dialog)
        return list(NOTHING_READ)
    follow_current_viewer()
    return layers
