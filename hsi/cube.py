"""The cube type: a ``(bands, H, W)`` array with wavelengths and georeference."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from hsi.check import check_shape, check_wavelengths, check_window
from hsi.errors import ArgumentTypeError, ShapeError, WavelengthError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, DTypeLike

#: Centre wavelengths (nm) used for the true-colour preview: red, green, blue.
RGB_NM = (640.0, 550.0, 460.0)

_UNIT_SCALE_TO_NM = {
    "nm": 1.0, "nanometer": 1.0, "nanometers": 1.0, "nanometre": 1.0, "nanometres": 1.0,
    "um": 1e3, "µm": 1e3, "micrometer": 1e3, "micrometers": 1e3, "micrometre": 1e3,
    "micrometres": 1e3, "micron": 1e3, "microns": 1e3,
    "mm": 1e6, "millimeter": 1e6, "millimeters": 1e6,
    "wavenumber": None,
}


def wavelengths_in_nm(values: ArrayLike, units: str | None = None) -> np.ndarray:
    """Return wavelengths converted to nanometres.

    Parameters
    ----------
    values : array-like, shape (bands,)
        Wavelengths in ``units``.
    units : str, optional
        ``"nm"``, ``"um"``/``"micrometers"``, ``"mm"`` ... (case-insensitive). When ``None`` or
        unknown, values below 100 are taken as micrometres (no sensor measures 100 nm light)
        and others as nanometres.

    Raises
    ------
    WavelengthError
        For units that are not lengths (e.g. wavenumbers).
    """
    wl = np.asarray(values, dtype=np.float64).reshape(-1)
    key = (units or "").strip().lower()
    if key in _UNIT_SCALE_TO_NM:
        scale = _UNIT_SCALE_TO_NM[key]
        if scale is None:
            raise WavelengthError(f"wavelength units {units!r} are not a length")
        return wl * scale
    if wl.size and np.nanmax(wl) < 100:
        return wl * 1e3
    return wl


def check_nanometres(wavelengths: ArrayLike | None, name: str = "cube") -> None:
    """Refuse band centres that are all below 100: micrometres, not the nanometres hsikit
    reads (no sensor measures 100 nm light; files are converted on reading,
    :func:`wavelengths_in_nm`, an array wrapped in a notebook is not).

    Parameters
    ----------
    wavelengths : array-like, shape (bands,), or None
        Band centres (``None`` or empty: nothing to check).
    name : str
        What the message names first (``"cube 'x'"``).

    Raises
    ------
    WavelengthError
        ``"cube 'x': wavelengths 0.39-2.49 look like micrometres; hsikit reads nm: ..."``,
        naming the fix.
    """
    if wavelengths is None:
        return
    wl = np.asarray(wavelengths, dtype=np.float64).reshape(-1)
    if not wl.size or float(np.nanmax(wl)) >= 100:
        return
    raise WavelengthError(f"{name}: wavelengths {float(np.nanmin(wl)):g}-"
                          f"{float(np.nanmax(wl)):g} look like micrometres; hsikit reads nm: "
                          f"give wavelengths=hsi.cube.wavelengths_in_nm(values, 'um') (× 1000)")


def valid_mask(data: np.ndarray, nodata: float | None = None) -> np.ndarray:
    """Pixels with data: finite in every band and not equal to ``nodata`` in every band.

    Parameters
    ----------
    data : numpy.ndarray, shape (bands, H, W)
    nodata : float, optional
        A pixel whose bands all equal ``nodata`` is missing.

    Returns
    -------
    numpy.ndarray of bool, shape (H, W)
    """
    data = np.asarray(data)
    if np.issubdtype(data.dtype, np.floating):
        ok = np.isfinite(data).all(axis=0)
    else:
        ok = np.ones(data.shape[1:], dtype=bool)
    if nodata is not None and np.isfinite(nodata):
        ok &= ~(data == nodata).all(axis=0)
    return ok


def missing_as_nan(data: ArrayLike, nodata: float | None,
                   dtype: DTypeLike = np.float32) -> np.ndarray:
    """``data`` as float32 (or ``dtype``) with the pixels whose bands all equal ``nodata`` set
    to NaN.

    The rule of :func:`valid_mask` (a band that equals ``nodata`` in a pixel with data, e.g. a
    bad band zeroed by the provider, stays a value).

    Parameters
    ----------
    data : array-like, shape (bands, H, W)
    nodata : float or None
        The file's nodata value; ``None``: nothing is missing but NaN already there.
    dtype : numpy float dtype
        Of the result (``float64`` for the metrics).

    Returns
    -------
    numpy.ndarray, ``dtype``
        ``data`` itself when it is of ``dtype`` and holds no pixel of ``nodata``, else a copy.

    Raises
    ------
    ResourceError
        When ``data`` is lazy (dask) and the whole of it is over the memory budget
        (:func:`hsi.memory.check_load`): it is read into memory here.
    """
    if getattr(data, "dask", None) is not None:  # lazy: read whole here, as float32 at least
        from hsi.memory import check_load

        check_load(data, itemsize=max(np.dtype(data.dtype).itemsize, np.dtype(dtype).itemsize))
    out = np.asarray(data, dtype=dtype)
    if nodata is None or not np.isfinite(nodata):
        return out
    missing = (np.asarray(data) == nodata).all(axis=0)
    if not missing.any():
        return out
    out = out.copy() if np.shares_memory(out, np.asarray(data)) else out
    out[:, missing] = np.nan
    return out


def pixel_sides(transform: Affine) -> tuple[float, float]:
    """``(x_size, y_size)`` of a pixel of ``transform`` in CRS units: the lengths of its two
    sides, along a row and along a column (both positive, also for a rotated grid).

    Parameters
    ----------
    transform : affine.Affine
        Pixel (col, row) to map (x, y).

    Returns
    -------
    tuple of float
        ``(hypot(a, d), hypot(b, e))``: ``(|a|, |e|)`` for a north-up or south-up grid.
    """
    return math.hypot(transform.a, transform.d), math.hypot(transform.b, transform.e)


def _crs_label(crs: CRS) -> str:
    """``crs`` as ``EPSG:n`` (its authority code), or its projection's name when it has none
    (never its WKT, hundreds of characters)."""
    text = crs.to_string()
    if "[" not in text and len(text) <= 40:
        return text
    wkt = crs.to_wkt()
    for key in ("PROJECTION[", "METHOD["):  # how WKT1 and WKT2 name the projection
        if key in wkt:
            return wkt.split(key, 1)[1].split('"')[1] + " (custom)"
    return "geographic (custom)" if crs.is_geographic else "custom"


def _as_array(data: Any) -> Any:
    """``data`` as numpy or dask: a torch tensor, an xarray ``DataArray`` or a nested list
    becomes numpy (a bfloat16 tensor float32: numpy has no bfloat16); anything else with a
    numeric ``shape``/``dtype`` is kept as given.

    Raises
    ------
    ArgumentTypeError
        Values that are not numbers (text, bytes, objects, dates) or complex
        (:func:`_check_numeric`).
    ShapeError
        Nested lists of unequal lengths.
    """
    given = type(data).__module__.split(".")[0] + "." + type(data).__name__
    module = type(data).__module__.split(".")[0]
    if module == "torch":
        data = data.detach().cpu()
        data = (data.float() if str(data.dtype) == "torch.bfloat16" else data).numpy()
    elif module == "xarray":
        data = data.data  # numpy or dask
    if _numpy_dtype(data) is None:  # a list, a scalar, text
        try:
            data = np.asarray(data)
        except ValueError:  # nested lists of unequal lengths
            raise ShapeError("cube data: expected an array of shape (bands, H, W), got nested "
                             "lists of unequal lengths") from None
    _check_numeric(data, given)
    return data


def _numpy_dtype(data: Any) -> np.dtype | None:
    """The numpy dtype of an array-like with a ``shape`` (numpy, dask, zarr...), else None."""
    if not hasattr(data, "shape"):
        return None
    try:
        return np.dtype(data.dtype)
    except (TypeError, AttributeError):
        return None


#: dtype kinds a cube holds: bool, signed and unsigned integers, floats.
NUMERIC_KINDS = "biuf"


def _check_numeric(data: Any, given: str) -> None:
    """Refuse cube data whose dtype is not bool, integer or float (:data:`NUMERIC_KINDS`).

    Parameters
    ----------
    data : numpy.ndarray, dask array or array-like with a ``dtype``
    given : str
        What the user gave, as the message names it (``"numpy.ndarray"``, ``"builtins.list"``).

    Raises
    ------
    ArgumentTypeError
        ``"cube data: expected a numeric array of shape (bands, H, W), got numpy.ndarray of
        <U1"``; complex values name the fix (their magnitude or real part).
    """
    dtype = np.dtype(data.dtype)
    if dtype.kind in NUMERIC_KINDS:
        return
    fix = ": take np.abs(array) or array.real first" if dtype.kind == "c" else ""
    raise ArgumentTypeError(f"cube data: expected a numeric array of shape (bands, H, W), got "
                            f"{given.removeprefix('builtins.')} of {dtype}{fix}")


#: The longest last axis :func:`looks_channels_last` reads as bands (multispectral cameras,
#: Sentinel-2's 13 bands, RGB-NIR); hyperspectral cubes stored ``(H, W, bands)`` have more
#: and are told only where their band count does not fit (:func:`axis_order_hint`).
CHANNELS_LAST_MAX_BANDS = 32
#: How many times shorter than both other axes that last axis must be.
CHANNELS_LAST_FACTOR = 4


def looks_channels_last(shape: Sequence[int]) -> bool:
    """Whether a bare 3-D array of ``shape`` looks like ``(H, W, bands)``, not ``(bands, H, W)``.

    Its last axis holds at most :data:`CHANNELS_LAST_MAX_BANDS` values and is at least
    :data:`CHANNELS_LAST_FACTOR` times shorter than both others: ``(100, 100, 4)`` and
    ``(120, 90, 13)`` look so; the Salinas-A cube ``(204, 86, 83)``, ``(13, 500, 400)`` or a
    tile ``(31, 64, 64)`` do not. A narrow strip ``(bands, H, W)`` a few columns wide does too:
    only a warning is based on it (:func:`warn_if_channels_last`).

    Parameters
    ----------
    shape : sequence of int
        The array's shape; any other length than 3 does not look so.

    Returns
    -------
    bool
    """
    if len(shape) != 3:
        return False
    first, second, last = (int(s) for s in shape)
    return (0 < last <= CHANNELS_LAST_MAX_BANDS
            and CHANNELS_LAST_FACTOR * last <= min(first, second))


def axis_order_hint(cube: Cube | Sequence[int], *, tensor: bool = False) -> str:
    """The end of a message about a cube or bare array likely in ``(H, W, bands)`` order.

    Parameters
    ----------
    cube : hsi.Cube or sequence of int
        A cube (its axes read as ``(bands, H, W)``), or the shape of a bare 3-D array.
    tensor : bool
        ``cube`` is the shape of a torch tensor read as ``(*, bands, H, W)`` by the
        operators of :mod:`hsi.degrade` (any number of leading axes).

    Returns
    -------
    str
        ``"; the cube (...) looks like an (H, W, bands) array: hsi.Cube wants (bands, H, W),
        e.g. hsi.Cube(np.moveaxis(array, -1, 0))"``; for a shape, ``"; the array (...) looks
        like ...: hsikit wants (bands, H, W), e.g. np.moveaxis(array, -1, 0)"``; for a
        tensor's, ``"; the tensor (...) looks like an (*, H, W, bands) tensor: hsikit's torch
        operators want (*, bands, H, W), e.g. x.movedim(-1, -3)"``.
    """
    shape = cube.shape if isinstance(cube, Cube) else tuple(cube)
    sizes = ", ".join(str(int(s)) for s in shape)
    if tensor:
        return (f"; the tensor ({sizes}) looks like an (*, H, W, bands) tensor: hsikit's torch "
                f"operators want (*, bands, H, W), e.g. x.movedim(-1, -3)")
    if isinstance(cube, Cube):
        what, wants, fix = "the cube", "hsi.Cube", "hsi.Cube(np.moveaxis(array, -1, 0))"
    else:
        what, wants, fix = "the array", "hsikit", "np.moveaxis(array, -1, 0)"
    return (f"; {what} ({sizes}) looks like an (H, W, bands) array: {wants} wants "
            f"(bands, H, W), e.g. {fix}")


def warn_if_channels_last(shape: Sequence[int], what: str, logger: logging.Logger) -> bool:
    """One warning line when a bare array of ``shape`` looks like ``(H, W, bands)``
    (:func:`looks_channels_last`): it is read as ``(bands, H, W)`` all the same.

    For the entry points that take a bare ``(bands, H, W)`` array (a :class:`Cube` says its
    axes by being built: it is not judged).

    Parameters
    ----------
    shape : sequence of int
        The bare array's shape, read as ``(bands, H, W)``.
    what : str
        The argument, as the warning names it first (``"cube"``, ``"reference"``).
    logger : logging.Logger
        The caller's logger (``hsi.metrics``, ``hsi.clustering``...).

    Returns
    -------
    bool
        Whether it warned.
    """
    if not looks_channels_last(shape):
        return False
    bands, h, w = (int(s) for s in shape)
    logger.warning("%s: read as %d bands of %d×%d pixels%s", what, bands, h, w,
                   axis_order_hint(shape))
    return True


@dataclass(eq=False)
class Cube:
    """A hyperspectral (or multispectral) image.

    Two cubes are equal only when they are the same object (compare ``data`` with numpy to
    compare pixels).

    Parameters
    ----------
    data : array-like, shape (bands, H, W)
        Pixel values: a numpy or dask array, kept as given (bool, integer or float dtype,
        e.g. raw counts or reflectance; text, objects, dates or complex values are refused
        with an :class:`~hsi.errors.ArgumentTypeError`); a torch tensor, an xarray
        ``DataArray`` or nested lists are converted to numpy.
    wavelengths : numpy.ndarray, shape (bands,), optional
        Band centres in nm, in the file's band order (not necessarily increasing).
    fwhm : numpy.ndarray, shape (bands,), optional
        Full width at half maximum of each band, in nm.
    crs : rasterio.crs.CRS, optional
        Coordinate reference system of ``transform``.
    transform : affine.Affine, optional
        Pixel (col, row) to map (x, y) transform; ``None`` for non-georeferenced data.
    nodata : float, optional
        Value marking missing pixels.
    name : str
        Human-readable name, used by error messages about the cube: :func:`hsi.open` sets the
        path it was given (a CAVE folder: its scene's name), a dataset its name.
    metadata : dict, optional
        Anything else worth keeping (band names, scales, provenance); copied by
        :meth:`with_data`.

    Raises
    ------
    ArgumentTypeError
        ``data`` is not numeric (text, objects, complex values), or ``transform`` is not an
        ``Affine`` or six numbers.
    ShapeError
        ``data`` is not 3-D, or has an empty axis.
    WavelengthError
        ``wavelengths`` or ``fwhm`` are not one value per band, or wavelengths are not positive.
    ConfigError
        ``crs`` is not a CRS rasterio understands (EPSG code, WKT, PROJ string...).
    """

    data: Any
    wavelengths: np.ndarray | None = None
    fwhm: np.ndarray | None = None
    crs: CRS | None = None
    transform: Affine | None = None
    nodata: float | None = None
    name: str = ""
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        name = f"cube {self.name!r}".replace(" ''", "")
        self.data = _as_array(self.data)
        check_shape(self.data, ["bands", "H", "W"], name=name)
        if 0 in tuple(self.data.shape):  # no file format or method handles an empty axis
            raise ShapeError(f"{name} has an empty axis: shape {tuple(self.data.shape)} "
                             "(bands, H, W each at least 1)", actual_shape=tuple(self.data.shape),
                             expected_shape=("bands", "H", "W"))
        bands = self.data.shape[0]
        if self.wavelengths is not None:
            self.wavelengths = check_wavelengths(self.wavelengths, bands)
        if self.fwhm is not None:
            fwhm = np.asarray(self.fwhm, dtype=np.float64).reshape(-1)
            if fwhm.size != bands:
                raise WavelengthError(
                    f"fwhm: expected {bands} values (one per band), got {fwhm.size}")
            self.fwhm = fwhm
        if self.crs is not None and not isinstance(self.crs, CRS):
            from rasterio.errors import CRSError

            try:
                self.crs = CRS.from_user_input(self.crs)
            except CRSError as exc:
                from hsi.errors import ConfigError

                raise ConfigError(f"crs: not a coordinate reference system ({exc}), got "
                                  f"{self.crs!r}") from None
        if self.transform is not None and not isinstance(self.transform, Affine):
            try:
                self.transform = Affine(*list(self.transform)[:6])
            except TypeError:
                raise ArgumentTypeError(f"transform: expected an affine.Affine or six numbers "
                                        f"(a, b, c, d, e, f), got {self.transform!r}") from None

    @property
    def short_name(self) -> str:
        """``name`` without its folder and file extension (``"data/scene.tif"`` → ``"scene"``;
        a dataset's name as it is): what the names of cubes made from this one start with."""
        from pathlib import PurePath

        return PurePath(self.name).stem if self.name else ""

    # ------------------------------------------------------------------ shape
    @property
    def shape(self) -> tuple[int, int, int]:
        """``(bands, H, W)``."""
        return tuple(self.data.shape)  # type: ignore[return-value]

    @property
    def bands(self) -> int:
        return int(self.data.shape[0])

    @property
    def height(self) -> int:
        return int(self.data.shape[1])

    @property
    def width(self) -> int:
        return int(self.data.shape[2])

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.data.dtype)

    @property
    def is_lazy(self) -> bool:
        """True when ``data`` is a dask array (not yet in memory)."""
        return not isinstance(self.data, np.ndarray)

    # ------------------------------------------------------------ georeference
    @property
    def pixel_size(self) -> tuple[float, float] | None:
        """``(x_size, y_size)`` of a pixel in CRS units (both positive; the lengths of its sides
        on a rotated grid, :func:`pixel_sides`), or ``None``."""
        if self.transform is None:
            return None
        return pixel_sides(self.transform)

    @property
    def bounds(self) -> tuple[float, float, float, float] | None:
        """``(left, bottom, right, top)`` in CRS units, or ``None`` without a transform.

        The box around the image's four corners: ``left < right`` and ``bottom < top`` also
        for a south-up, mirrored or rotated grid.
        """
        if self.transform is None:
            return None
        t = self.transform
        xs, ys = zip(*(t @ corner for corner in ((0, 0), (self.width, 0), (0, self.height),
                                                 (self.width, self.height))), strict=True)
        return (min(xs), min(ys), max(xs), max(ys))

    # ------------------------------------------------------------- derivation
    def with_data(self, data: Any, **changes: Any) -> Cube:
        """Return a cube with new ``data`` (same grid unless ``changes`` say otherwise; a copy
        of the metadata unless ``metadata=`` is given).

        ``changes`` are :class:`Cube` fields (``wavelengths=``, ``fwhm=``, ``nodata=``...): new
        data with another band count needs its own ``wavelengths`` and ``fwhm`` (or ``None``),
        else :class:`~hsi.errors.WavelengthError`, as :class:`Cube` raises.
        """
        changes.setdefault("metadata", dict(self.metadata))
        return replace(self, data=data, **changes)

    def crop(self, window: Window | tuple[int, int, int, int]) -> Cube:
        """Return the pixels inside ``window`` with a transform that keeps them in place.

        Parameters
        ----------
        window : rasterio.windows.Window or (col_off, row_off, width, height)
            Integer window inside the cube (pixels), e.g. ``Window(0, 10, 64, 32)`` or
            ``(0, 10, 64, 32)``: columns 0..63 of rows 10..41.

        Raises
        ------
        ShapeError
            When the window is empty or reaches outside the cube.
        ArgumentTypeError
            When ``window`` is neither a ``Window`` nor four numbers.
        """
        window = check_window(window, self.height, self.width)
        r0, c0 = int(window.row_off), int(window.col_off)
        h, w = int(window.height), int(window.width)
        transform = None
        if self.transform is not None:
            from rasterio.windows import transform as window_transform

            transform = window_transform(window, self.transform)
        return self.with_data(self.data[:, r0:r0 + h, c0:c0 + w], transform=transform)

    def compute(self) -> Cube:
        """Return a cube whose data is a numpy array (loads a lazy cube).

        Raises
        ------
        ResourceError
            When the cube is larger than :func:`hsi.memory.memory_budget` (``HSI_MEMORY_LIMIT``).
        """
        if not self.is_lazy:
            return self
        from hsi.io.indexing import file_view
        from hsi.memory import check_allocation

        source = getattr(file_view(self.data), "path", None)  # the file, when it reads one
        check_allocation(int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize,
                         str(source or self.name or "cube"))
        return self.with_data(np.asarray(self.data))

    def astype(self, dtype: DTypeLike) -> Cube:
        """Return a cube with ``data`` cast to ``dtype`` (lazy stays lazy)."""
        return self.with_data(self.data.astype(dtype))

    def band_index(self, wavelength_nm: float) -> int:
        """Index of the band whose centre is nearest ``wavelength_nm``.

        Parameters
        ----------
        wavelength_nm : float
            A wavelength in nm.

        Returns
        -------
        int
            The band's index, from 0.

        Raises
        ------
        WavelengthError
            When the cube has no wavelengths.
        """
        if self.wavelengths is None:
            raise WavelengthError(f"cube {self.name!r} has no wavelengths")
        return int(np.argmin(np.abs(self.wavelengths - wavelength_nm)))

    def rgb_bands(self) -> tuple[int, int, int]:
        """Band indices for a true-colour preview: nearest 640/550/460 nm, else the first three."""
        if self.wavelengths is not None:
            return tuple(self.band_index(nm) for nm in RGB_NM)  # type: ignore[return-value]
        return tuple(min(i, self.bands - 1) for i in range(3))  # type: ignore[return-value]

    def rgb(self, percentiles: tuple[float, float] = (2.0, 98.0)) -> np.ndarray:
        """Return a true-colour preview.

        Parameters
        ----------
        percentiles : (float, float)
            Low and high percentiles (0..100) of each channel mapped to 0 and 1.

        Returns
        -------
        numpy.ndarray, shape (H, W, 3), float32 in [0, 1]
            Each channel stretched between its ``percentiles``; nodata/NaN pixels are 0.

        Raises
        ------
        ConfigError
            ``percentiles`` are not two numbers ``0 <= low < high <= 100``.
        """
        try:
            low, high = (float(p) for p in percentiles)
        except (TypeError, ValueError):
            low = high = math.nan
        if not 0 <= low < high <= 100:
            from hsi.errors import ConfigError

            raise ConfigError(f"percentiles: expected two numbers 0 <= low < high <= 100, got "
                              f"{percentiles!r}")
        idx = list(self.rgb_bands())
        planes = np.asarray(self.data[idx], dtype=np.float32)
        valid = np.isfinite(planes)
        if self.nodata is not None:
            valid &= planes != np.float32(self.nodata)
        out = np.zeros((*planes.shape[1:], 3), dtype=np.float32)
        for c in range(3):
            v = planes[c][valid[c]]
            if v.size == 0:
                continue
            lo, hi = np.percentile(v, (low, high))
            scale = (hi - lo) if hi > lo else 1.0
            out[..., c] = np.where(valid[c], np.clip((planes[c] - lo) / scale, 0, 1), 0)
        return out

    def __repr__(self) -> str:
        wl = ""
        if self.wavelengths is not None:
            wl = f", {self.wavelengths.min():.1f}–{self.wavelengths.max():.1f} nm"
        geo = f", crs={_crs_label(self.crs)}" if self.crs is not None else ""
        lazy = ", lazy" if self.is_lazy else ""
        size = f"{self.bands}×{self.height}×{self.width}"
        return f"Cube({self.name!r}, {size} {self.dtype}{wl}{geo}{lazy})"


def require_cube(value: object, what: str) -> Cube:
    """``value`` when it is a :class:`Cube`; else a :class:`~hsi.errors.CubeTypeError` saying
    how to make one (a bare array carries no wavelengths, CRS or transform to guess).

    Parameters
    ----------
    value : object
    what : str
        The argument, as the message names it, e.g. ``"hsi.save: cube"``.
    """
    if isinstance(value, Cube):
        return value
    from hsi.errors import CubeTypeError

    kind = type(value).__module__.split(".")[0] + "." + type(value).__name__
    raise CubeTypeError(f"{what}: expected an hsi.Cube, got {kind.removeprefix('builtins.')}"
                        " (wrap an array of shape (bands, H, W) as hsi.Cube(array, "
                        "wavelengths=...))")
