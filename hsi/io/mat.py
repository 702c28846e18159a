"""MATLAB ``.mat`` cubes: v5/v7 through scipy, v7.3 (HDF5) through h5py.

MATLAB stores images as ``H × W × bands``; cubes come back as ``(bands, H, W)``. h5py sees v7.3
arrays with their axes reversed (``bands × W × H``), which is undone here. The unmixing
benchmark layout (``Y`` as ``bands × pixels`` in column-major pixel order with ``nRow``/``nCol``,
e.g. Jasper Ridge) is recognised, and so is any ``k × nRow·nCol`` variable beside ``nRow``/
``nCol`` (such as the abundances ``A``).

hsikit writes v5 files with ``cube`` (``H × W × bands``), ``wavelengths`` and ``fwhm`` (nm), and,
when the cube has them, ``nodata``, ``crs`` (WKT text), ``transform`` (the six affine
coefficients ``a, b, c, d, e, f``) and ``band_scales`` / ``band_offsets`` (one per band: the
per-band ``value = stored × scale + offset`` that GeoTIFF and ENVI files carry, kept in
``cube.metadata`` under the same names while they still describe the data, see
:func:`hsi.io.envi.band_metadata`; never applied to the pixels), so the round trip keeps the
georeference and the scaling too. Other ``.mat`` files carry no CRS or transform.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from affine import Affine

from hsi.cube import Cube
from hsi.errors import FormatError, HsiIOError, WavelengthError
from hsi.io.atomic import atomic_path
from hsi.io.formats import build_cube, check_readable

_WAVELENGTH_NAMES = ("wavelengths", "wavelength", "wavelength_nm", "wl", "lambda", "wave")
_FWHM_NAMES = ("fwhm",)
#: MATLAB v5 stores at most 2**31 bytes per variable.
V5_MAX_BYTES = 2**31 - 1


def _is_hdf5(path: Path) -> bool:
    import h5py

    return bool(h5py.is_hdf5(path))


class MatFile:
    """Names, shapes and lazy loading of the variables of a ``.mat`` (v5 or v7.3).

    Shapes and arrays are in MATLAB's axis order for both versions.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.v73 = _is_hdf5(path)
        self.shapes: dict[str, tuple[int, ...]] = {}
        if self.v73:
            import h5py

            try:
                with h5py.File(path, "r") as f:
                    for name, obj in f.items():
                        if name.startswith("#") or not isinstance(obj, h5py.Dataset):
                            continue
                        if obj.attrs.get("MATLAB_class", b"") in (b"cell", b"struct"):
                            continue
                        self.shapes[name] = tuple(reversed(obj.shape))
            except Exception as exc:  # h5py raises OSError, KeyError, ValueError... on junk
                raise FormatError(f"{path}: not a readable MATLAB v7.3 file ({exc})") from None
        else:
            import scipy.io

            try:
                listing = scipy.io.whosmat(path)
            except PermissionError as exc:
                raise HsiIOError(f"{path}: cannot read ({exc.strerror or exc})") from None
            except Exception as exc:  # scipy raises many kinds on junk (IndexError, OSError...)
                raise FormatError(f"{path}: not a readable MATLAB file ({exc})") from None
            self.shapes = {name: tuple(shape) for name, shape, cls in listing
                           if cls not in ("cell", "struct", "object", "function_handle")}

    def load(self, name: str) -> np.ndarray:
        """Return variable ``name`` in MATLAB axis order (char arrays as ``str``).

        Raises
        ------
        ResourceError
            When the variable's declared size is over :func:`hsi.memory.memory_budget`
            (checked before anything is decompressed).
        FormatError
            When the variable cannot be decoded.
        """
        from hsi.memory import check_allocation

        shape = self.shapes.get(name)
        if shape is not None:  # 8 bytes per element: the widest numeric type scipy returns
            check_allocation(8 * int(np.prod(shape, dtype=np.float64)),
                             f"{self.path}: variable {name!r}")
        if self.v73:
            import h5py

            try:
                with h5py.File(self.path, "r") as f:
                    ds = f[name]
                    arr = ds[()]
                    if ds.attrs.get("MATLAB_class", b"") == b"char":
                        return "".join(chr(c) for c in np.asarray(arr).T.reshape(-1))
                    return np.asarray(arr).T
            except Exception as exc:  # corrupt chunks, bad filters...
                raise FormatError(f"{self.path}: cannot read variable {name!r} ({exc})") from None
        import scipy.io

        try:
            out = scipy.io.loadmat(self.path, variable_names=[name], squeeze_me=False)[name]
        except MemoryError:
            raise
        except Exception as exc:  # truncated or corrupt data: IndexError, OSError, zlib...
            raise FormatError(f"{self.path}: cannot read variable {name!r} ({exc})") from None
        if out.dtype.kind == "U":
            return "".join(np.asarray(out).reshape(-1).tolist())
        return out

    def scalar(self, name: str) -> float | None:
        """A numeric 1×1 variable as float (case-insensitive name), or ``None``."""
        real = self.lookup(name)
        if real is None or int(np.prod(self.shapes[real])) != 1:
            return None
        try:
            return float(np.asarray(self.load(real)).reshape(-1)[0])
        except (TypeError, ValueError):
            return None

    def lookup(self, name: str) -> str | None:
        lower = {k.lower(): k for k in self.shapes}
        return lower.get(name.lower())


def _describe(shapes: dict[str, tuple[int, ...]], names: Iterable[str]) -> str:
    return ", ".join(f"{n} {'×'.join(str(s) for s in shapes[n])}" for n in names)


def _grid_size(mat: MatFile) -> tuple[int, int] | None:
    rows, cols = mat.scalar("nRow"), mat.scalar("nCol")
    if rows is None or cols is None:
        return None
    return int(rows), int(cols)


def _choose_variable(mat: MatFile, var: str | None) -> tuple[str, str]:
    """Return ``(name, layout)`` with layout ``"cube"`` (H×W×bands) or ``"columns"``."""
    path, shapes = mat.path, mat.shapes
    grid = _grid_size(mat)
    npix = grid[0] * grid[1] if grid else None

    def is_columns(name: str) -> bool:
        s = shapes[name]
        return npix is not None and len(s) == 2 and s[1] == npix and s[0] >= 1

    if var is not None:
        name = var if var in shapes else mat.lookup(var)
        if name is None:
            raise FormatError(f"{path}: no variable {var!r} (variables: "
                              f"{_describe(shapes, shapes) or 'none'})")
        if len(shapes[name]) == 3:
            return name, "cube"
        if is_columns(name):
            return name, "columns"
        raise FormatError(f"{path}: variable {name!r} is {'×'.join(map(str, shapes[name]))}, "
                          f"not a 3-D H×W×bands array (or bands×pixels with nRow/nCol)")
    three_d = [n for n, s in shapes.items() if len(s) == 3]
    if len(three_d) == 1:
        return three_d[0], "cube"
    if len(three_d) > 1:
        raise FormatError(f"{path}: several 3-D arrays ({_describe(shapes, three_d)}); "
                          f"choose one with var=")
    columns = [n for n in shapes if is_columns(n)]
    if "Y" in columns:
        return "Y", "columns"
    if len(columns) == 1:
        return columns[0], "columns"
    if len(columns) > 1:
        raise FormatError(f"{path}: several bands×pixels arrays ({_describe(shapes, columns)}); "
                          f"choose one with var=")
    raise FormatError(f"{path}: no 3-D array (H×W×bands) in this .mat (variables: "
                      f"{_describe(shapes, shapes) or 'none'})")


def _optional_vector(mat: MatFile, names: Iterable[str], size: int) -> np.ndarray | None:
    for n in names:
        real = mat.lookup(n)
        if real is not None and int(np.prod(mat.shapes[real])) == size:
            value = mat.load(real)
            if isinstance(value, str):
                continue
            return np.asarray(value, dtype=np.float64).reshape(-1)
    return None


def read_mat(path: str | os.PathLike, *, var: str | None = None) -> Cube:
    """Read a cube from a MATLAB ``.mat`` file (v5/v7 or v7.3).

    Parameters
    ----------
    path : path
        The ``.mat`` file.
    var : str, optional
        The variable to read; needed when the file holds several 3-D arrays.

    Returns
    -------
    Cube
        ``(bands, H, W)`` in the stored data type. ``wavelengths``/``fwhm`` come from variables of
        those names (nm; values below 100 taken as µm); ``metadata["max_value"]`` holds a
        ``maxValue`` variable (the benchmark files' reflectance scale) when present.

    Raises
    ------
    FormatError
        No 3-D array (naming the file and listing its variables), several without ``var``,
        an unknown ``var``, or not a MATLAB file.
    """
    from hsi.cube import wavelengths_in_nm

    path = check_readable(path)
    mat = MatFile(path)
    name, layout = _choose_variable(mat, var)
    raw = np.asarray(mat.load(name))
    if raw.dtype.kind not in "biuf":
        raise FormatError(f"{path}: variable {name!r} is {raw.dtype}, not numeric")
    if layout == "cube":
        data = np.ascontiguousarray(raw.transpose(2, 0, 1))
    else:
        rows, cols = _grid_size(mat)  # type: ignore[misc]
        # column j of Y is pixel (j mod nRow, j div nRow): MATLAB's column-major order.
        data = np.ascontiguousarray(raw.reshape(raw.shape[0], rows, cols, order="F"))
    bands = data.shape[0]
    wl_name = next((real for n in _WAVELENGTH_NAMES if (real := mat.lookup(n)) is not None), None)
    wl_size = int(np.prod(mat.shapes[wl_name])) if wl_name is not None else None
    if wl_size is not None and wl_size != bands:
        if layout == "cube" and wl_size == raw.shape[0] != raw.shape[2]:
            data = np.ascontiguousarray(raw)  # stored (bands, H, W), as its wavelengths tell
            bands = data.shape[0]
        else:
            raise WavelengthError(f"{path}: {wl_name!r} has {wl_size} values for the "
                                  f"{bands} bands of {name!r}")
    wl = _optional_vector(mat, _WAVELENGTH_NAMES, bands)
    fwhm = _optional_vector(mat, _FWHM_NAMES, bands)
    if wl is not None:
        nm = wavelengths_in_nm(wl)
        if fwhm is not None:
            fwhm = fwhm * (nm[0] / wl[0] if wl[0] else 1.0)
        wl = nm
    nodata = mat.scalar("nodata")
    if nodata is not None and data.dtype.kind in "iu" and nodata.is_integer():
        nodata = int(nodata)
    crs = transform = None
    crs_name = mat.lookup("crs")
    if crs_name is not None:
        text = mat.load(crs_name)
        if isinstance(text, str) and text.strip():
            from rasterio.crs import CRS

            crs = CRS.from_user_input(text)
            code = crs.to_epsg()
            crs = CRS.from_epsg(code) if code is not None else crs
    coeffs = _optional_vector(mat, ("transform",), 6)
    if coeffs is not None:
        transform = Affine(*coeffs)
    metadata: dict = {"format": "MAT", "variable": name}
    max_value = mat.scalar("maxValue")
    if max_value is not None:
        metadata["max_value"] = max_value
    metadata.update(_band_scaling(mat, bands))
    return build_cube(path, data, wavelengths=wl, fwhm=fwhm, crs=crs, transform=transform,
                      nodata=nodata, name=path.stem, metadata=metadata)


def _band_scaling(mat: MatFile, bands: int) -> dict:
    """``{"band_scales": [...], "band_offsets": [...]}`` from the variables of those names
    (one value per band; :func:`hsi.io.envi.read_band_metadata`'s rules: left out when
    malformed or when no band is scaled), else ``{}``."""
    from hsi.io.envi import read_band_metadata

    scales = _optional_vector(mat, ("band_scales",), bands)
    offsets = _optional_vector(mat, ("band_offsets",), bands)
    return read_band_metadata(None, None, None, bands=bands, scales=scales, offsets=offsets)


def read_mat_variables(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every numeric or char variable of a small ``.mat`` (v5 or v7.3), in MATLAB axis order.

    Raises
    ------
    HsiIOError
        When the file is missing or unreadable.
    FormatError
        When it is not a MATLAB file.
    """
    path = Path(path)
    if not path.is_file():
        raise HsiIOError(f"{path}: no such file")
    mat = MatFile(path)
    return {name: mat.load(name) for name in mat.shapes}


def read_mat_array(path: str | os.PathLike, var: str | None = None, ndim: int = 2) -> np.ndarray:
    """Return the single ``ndim``-D numeric array of a ``.mat`` (or ``var``), MATLAB axis order.

    Raises
    ------
    FormatError
        No such array, several without ``var``, or ``var`` of another rank.
    """
    path = check_readable(path)
    mat = MatFile(path)
    if var is not None:
        name = var if var in mat.shapes else mat.lookup(var)
        if name is None:
            raise FormatError(f"{path}: no variable {var!r} (variables: "
                              f"{_describe(mat.shapes, mat.shapes) or 'none'})")
        if len(mat.shapes[name]) != ndim:
            raise FormatError(f"{path}: variable {name!r} is "
                              f"{'×'.join(map(str, mat.shapes[name]))}, expected {ndim}-D")
    else:
        cands = [n for n, s in mat.shapes.items() if len(s) == ndim and min(s) > 1]
        if len(cands) != 1:
            what = "no" if not cands else f"several ({_describe(mat.shapes, cands)})"
            raise FormatError(f"{path}: {what} {ndim}-D arrays; "
                              + ("choose one with var=" if cands else
                                 f"variables: {_describe(mat.shapes, mat.shapes) or 'none'}"))
        name = cands[0]
    arr = mat.load(name)
    if isinstance(arr, str):
        raise FormatError(f"{path}: variable {name!r} is text, not a numeric array")
    return np.asarray(arr)


def write_mat(cube: Cube, path: str | os.PathLike) -> Path:
    """Write ``cube`` as a MATLAB v5 file (variable ``cube``, ``H × W × bands``), atomically.

    Also writes ``wavelengths``/``fwhm`` (nm) and, when set, ``nodata``, ``crs`` (WKT),
    ``transform`` (``a, b, c, d, e, f``) and ``band_scales`` / ``band_offsets`` (``1 × bands``,
    from ``cube.metadata`` while they still describe it: :func:`hsi.io.envi.band_metadata`).

    Raises
    ------
    FormatError
        The cube is over v5's 2 GiB per-variable limit (write GeoTIFF or ENVI instead).
    HsiIOError
        The folder cannot be written.
    """
    import scipy.io

    path = Path(path)
    nbytes = cube.bands * cube.height * cube.width * cube.dtype.itemsize
    if nbytes > V5_MAX_BYTES:
        raise FormatError(f"{path}: cube is {nbytes / 2**30:.1f} GiB, over the 2 GiB limit of "
                          f"MATLAB v5 files; write .tif or .hdr instead")
    variables: dict = {"cube": np.asarray(cube.data).transpose(1, 2, 0)}
    if cube.wavelengths is not None:
        variables["wavelengths"] = np.asarray(cube.wavelengths, dtype=np.float64)[None, :]
    if cube.fwhm is not None:
        variables["fwhm"] = np.asarray(cube.fwhm, dtype=np.float64)[None, :]
    if cube.nodata is not None:
        variables["nodata"] = np.float64(cube.nodata)
    if cube.crs is not None:
        variables["crs"] = cube.crs.to_wkt()
    if cube.transform is not None:
        variables["transform"] = np.array(list(cube.transform)[:6], dtype=np.float64)[None, :]
    variables.update(_band_scaling_variables(cube))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        scipy.io.savemat(f, variables, do_compression=True, oned_as="row")
    return path


def _band_scaling_variables(cube: Cube) -> dict[str, np.ndarray]:
    """``band_scales`` / ``band_offsets`` variables (float64, ``1 × bands``) of the per-band
    scaling that still describes ``cube`` (:func:`hsi.io.envi.band_metadata`), else ``{}``."""
    from hsi.io.envi import band_metadata

    extra = band_metadata(cube)
    return {key: np.asarray(extra[key], dtype=np.float64)[None, :]
            for key in ("band_scales", "band_offsets") if key in extra}
