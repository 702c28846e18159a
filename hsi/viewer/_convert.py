"""Cube <-> napari layer data, without importing napari or Qt.

A cube becomes an image layer shown band by band: data ``(bands, H, W)``, the band axis labelled
``band`` (the slider is a band index; :mod:`hsi.viewer._band_slider` shows the wavelength beside
it), contrast limits from the band shown with nodata left out, and ``scale``/``translate``
taken from the geotransform so that layers of different resolution on the same ground overlay
(world coordinates are map units, ``y`` growing southwards). A cube whose wavelengths cover
460/550/640 nm also gets a lazy true-colour layer; a big lazy cube read from a file comes as a
multiscale pyramid (:func:`pyramid`), so napari reads only the level and part on screen.
Everything the reverse trip needs lives in ``layer.metadata``:

``wavelengths`` (nm, list or None), ``fwhm`` (nm, list or None), ``crs`` (WKT string or None),
``transform`` (6-tuple ``(a, b, c, d, e, f)`` or None), ``nodata``, ``band_contrast`` (True:
contrast limits follow the band slider until set by hand) and ``first_band`` (the band shown
first: the middle one, or the nearest band with data when it is empty); ``units``,
``quantity`` and ``reflectance_scale_factor`` when the cube's own metadata has them (the
spectrum plot names its y axis from them); ``band_names``, ``bbl``, ``band_scales`` and
``band_offsets`` when they still describe the cube (:func:`hsi.io.envi.band_metadata`), so
that a layer saved with the hsikit writer keeps what its values mean.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from hsi.bands import band_label
from hsi.cube import RGB_NM, Cube
from hsi.io.provenance import record_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import TypeAlias

    import dask.array as da
    from affine import Affine

    from hsi.labels import Labels

    #: One array of layer data: numpy, or dask for a lazy cube.
    LayerArray: TypeAlias = np.ndarray | da.Array
    #: Image layer data: one array, or the levels of a multiscale pyramid (a list, or
    #: napari's ``MultiScaleData``).
    LayerData: TypeAlias = LayerArray | Sequence[LayerArray]

#: Axis labels of a cube layer: the slider moves by band index.
CUBE_AXIS_LABELS = ("band", "y", "x")
PLANE_AXIS_LABELS = ("y", "x")
#: Percentiles (%) between which a band or a true-colour channel is stretched.
STRETCH_PERCENTILES = (2.0, 98.0)
#: A true-colour band must lie this close (nm) to 640/550/460 nm.
RGB_TOLERANCE_NM = 40.0
#: Keys of a cube's metadata describing its values, copied into the layer metadata.
VALUE_KEYS = ("units", "quantity", "reflectance_scale_factor")
#: Per-band keys of a cube's metadata (:func:`hsi.io.envi.band_metadata`) kept in the layer
#: metadata and given back to the cube rebuilt from it (:func:`cube_from_layer`).
BAND_KEYS = ("band_names", "bbl", "band_scales", "band_offsets")
#: A lazy cube read from a file is shown as a multiscale pyramid when its longer side exceeds
#: this many pixels; the pyramid's coarsest level is at most :data:`PYRAMID_MIN_SIDE` a side.
PYRAMID_ABOVE = 1024
PYRAMID_MIN_SIDE = 512


def is_multiscale(data: LayerData) -> bool:
    """True for napari multiscale data: a ``MultiScaleData`` or a non-empty list/tuple of
    arrays of 2 or more dimensions (levels). Image and Labels layer data only: an empty list
    (an empty Shapes layer's data) is not one, but a Shapes layer's vertex arrays would be."""
    if hasattr(data, "shapes"):
        return True
    return (isinstance(data, (list, tuple)) and len(data) > 0
            and all(hasattr(level, "shape") and getattr(level, "ndim", 0) >= 2
                    for level in data))


def full_res(data: LayerData) -> LayerArray:
    """The full-resolution array of layer data (level 0 of a multiscale pyramid)."""
    return data[0] if is_multiscale(data) else data


def sample_level(data: LayerData, samples: int = PYRAMID_MIN_SIDE) -> LayerArray:
    """The level of (possibly multiscale) ``data`` a contrast sample is read from: the finest
    level at most ``2 × samples`` pixels on its longer side (the level napari shows a scene
    with on a screen-sized canvas, so the sample's read is the one the first frame needs
    anyway, see :class:`hsi.io.indexing.DecimatedView`), else the coarsest; the full array
    for single-scale data."""
    if not is_multiscale(data):
        return data
    levels = [data[i] for i in range(len(data))]
    fits = [a for a in levels if max(a.shape[-2:]) <= 2 * samples]
    return fits[0] if fits else levels[-1]


def pyramid(data: LayerArray, *, above: int = PYRAMID_ABOVE,
            min_side: int = PYRAMID_MIN_SIDE) -> list:
    """Multiscale levels of a lazy cube read from a GeoTIFF or ENVI file, or ``[data]``.

    Level ``k`` is the cube decimated ``2**k`` times in rows and columns, a dask array (one
    band × about 1024² pixels per chunk) over :class:`hsi.io.indexing.DecimatedView` of the
    file: a GeoTIFF's internal overviews are used where the file has them, other files are
    sampled on the fly (only the pixels of the level are read for ENVI; a GeoTIFF without
    overviews decodes its blocks but returns only the level's pixels). Levels stop at
    ``min_side`` pixels on the longer side. Data that is not a lazy file view, or whose longer
    side is at most ``above``, gives ``[data]``.
    """
    from hsi.io.indexing import DecimatedView, file_view, pyramid_factors

    view = file_view(data)
    if view is None or max(data.shape[-2:]) <= above:
        return [data]
    import dask.array as da

    levels = [data]
    for f in pyramid_factors(*data.shape[-2:], min_side=min_side)[1:]:
        level = DecimatedView(view, f)
        chunks = (1, *(min(n, 1024) for n in level.shape[-2:]))
        levels.append(da.from_array(level, chunks=chunks, asarray=False,
                                    meta=np.empty((0, 0, 0), level.dtype),
                                    name=f"{data.name}-x{f}"))
    return levels


def class_color(value: int) -> tuple[int, int, int]:
    """The default 0-255 RGB colour of class ``value`` (1-based), as class-map GeoTIFFs use."""
    from hsi.io.labels import default_colors

    return default_colors(int(value))[int(value) - 1]


def class_colormap(values: Iterable[int]) -> Any:
    """napari Labels colormap giving each class value its hsikit class colour (0 transparent).

    Parameters
    ----------
    values : iterable of int
        Class values (1-based) to colour, e.g. ``range(1, 256)`` for a layer to paint in.
    """
    from napari.utils.colormaps import DirectLabelColormap

    from hsi.io.labels import default_colors

    values = [int(v) for v in values]
    palette = default_colors(max(values, default=0))
    colors: dict[int | None, Any] = {None: np.zeros(4), 0: np.zeros(4)}
    colors.update({v: np.array([*(np.asarray(palette[v - 1]) / 255), 1.0]) for v in values})
    return DirectLabelColormap(color_dict=colors)


#: Column of a class-map Labels layer's ``features`` holding each value's class name.
CLASS_FEATURE = "class"


def class_features(names: dict[int, str]) -> dict[str, list]:
    """Labels-layer ``features`` naming each class, so napari's status bar shows the class
    under the cursor (``class: Corn``) beside its value.

    Parameters
    ----------
    names : dict of int to str
        ``{value: name}`` of the classes (values 1, 2...; 0 is unlabelled); keys may be
        strings of the values, as metadata read back from a file has them.

    Returns
    -------
    dict
        ``{"index": [0, v1, v2...], CLASS_FEATURE: [None, name1, name2...]}`` (napari maps
        label values to rows through the ``index`` column; 0 has no name, so nothing is shown
        over unlabelled pixels).
    """
    named = {int(v): str(name) for v, name in names.items() if int(v) > 0}
    values = sorted(named)
    return {"index": [0, *values], CLASS_FEATURE: [None, *(named[v] for v in values)]}


def class_map_layer_data(cube: Cube, labels: Labels, *, name: str
                         ) -> tuple[np.ndarray, dict[str, Any], str]:
    """A class map read back from a file as a napari Labels ``LayerDataTuple``.

    Parameters
    ----------
    cube : Cube
        The file read as a one-band cube: its grid and georeference.
    labels : hsi.labels.Labels
        The file read as labels (:func:`hsi.io.labels.read_labels`): codes, names, colours.
    name : str
        Layer name.

    Returns
    -------
    (labels (H, W) uint8 or uint16, layer kwargs, "labels")
        On the cube's grid, each class in the file's colour (hsikit's class colour for a
        code the file gives none), class names in ``metadata["class_names"]`` and colours in
        ``metadata["class_colors"]`` keyed by code (what the class-map writer and the
        Classify dock read) and in ``features`` (the status bar names the class under the
        cursor).
    """
    from hsi.io.labels import default_colors

    codes = labels.codes or tuple(range(1, len(labels.names or ()) + 1))
    names = {int(c): str(n) for c, n in zip(codes, labels.names or (), strict=True)}
    values = sorted({*names, *(int(v) for v in np.unique(labels.array) if v > 0)})
    palette = default_colors(max(values, default=0))
    given = dict(zip(codes, labels.colors or (), strict=False))
    colors = {v: tuple(int(c) for c in given.get(v, palette[v - 1])) for v in values}
    color_dict: dict[int | None, tuple] = {None: (0.0, 0.0, 0.0, 0.0), 0: (0.0, 0.0, 0.0, 0.0)}
    color_dict.update({v: (*(c / 255 for c in rgb), 1.0) for v, rgb in colors.items()})
    scale, translate = plane_geometry(cube.transform)
    data = labels.array.astype(np.uint8 if max(values, default=0) <= 255 else np.uint16)
    return data, {"name": name, "scale": scale, "translate": translate,
                  "axis_labels": PLANE_AXIS_LABELS, "colormap": color_dict,
                  "features": class_features(names),
                  "metadata": {**georef_metadata(cube), "class_names": names,
                               "class_colors": colors}}, "labels"


def georef_metadata(cube: Cube) -> dict[str, Any]:
    """Layer metadata holding a cube's spectral and georeferencing attributes.

    Returns
    -------
    dict
        Keys ``wavelengths``, ``fwhm`` (lists of nm or None), ``crs`` (WKT or None),
        ``transform`` (6-tuple or None), ``nodata``.
    """
    return {
        "wavelengths": None if cube.wavelengths is None else [float(v) for v in cube.wavelengths],
        "fwhm": None if cube.fwhm is None else [float(v) for v in cube.fwhm],
        "crs": None if cube.crs is None else cube.crs.to_wkt(),
        "transform": (None if cube.transform is None
                      else tuple(float(v) for v in cube.transform[:6])),
        "nodata": cube.nodata,
    }


def plane_geometry(transform: Affine | Sequence[float] | None,
                   ratio: float = 1.0,
                   ) -> tuple[tuple[float, float], tuple[float, float]]:
    """``(scale, translate)`` of the ``(y, x)`` axes for a geotransform.

    Parameters
    ----------
    transform : affine.Affine or 6-tuple or None
        North-up pixel-to-map transform ``(a, b, c, d, e, f)``; rotation terms are ignored.
    ratio : float
        Pixel size used when ``transform`` is None (e.g. 4 for an LR-HSI shown over its HR-MSI).

    Returns
    -------
    scale : (float, float)
        Positive pixel sizes ``(|e|, |a|)`` in map units.
    translate : (float, float)
        World position of the first pixel's centre: ``(-(f + e/2), c + a/2)``, so that world
        ``y`` is the map northing negated (grows downwards like rows) and ``x`` the easting.
    """
    if transform is None:
        return (float(ratio), float(ratio)), ((ratio - 1) / 2, (ratio - 1) / 2)
    a, _b, c, _d, e, f = (float(v) for v in tuple(transform)[:6])
    return (abs(e), abs(a)), (-(f + e / 2), c + a / 2)


def shown_band(bands: int) -> int:
    """The band napari puts the slider on: the middle, ``(bands - 1) // 2``."""
    return max(0, (int(bands) - 1) // 2)


def band_sample(data: LayerData, band: int, *, samples: int = 512) -> np.ndarray:
    """A strided sample (at most ``samples`` pixels a side) of one band, as float64.

    Parameters
    ----------
    data : array-like, shape (bands, H, W), or a list of such (multiscale levels)
        numpy or dask data; a lazy cube reads only band ``band`` (every ``step``-th pixel; of
        a pyramid, of the level :func:`sample_level` picks).
    band : int
        Band index.

    Returns
    -------
    numpy.ndarray, shape (ceil(H / step), ceil(W / step)), float64
    """
    if is_multiscale(data):  # a whole plane of a level (what the viewer reads and keeps)
        data = sample_level(data, samples)
        h, w = data.shape[-2:]
        step = max(1, -(-max(h, w) // samples))
        return np.asarray(data[band], dtype=np.float64)[::step, ::step]
    h, w = data.shape[-2:]
    step = max(1, -(-max(h, w) // samples))
    return np.asarray(data[band, ::step, ::step], dtype=np.float64)


def valid_values(values: np.ndarray, nodata: float | None = None) -> np.ndarray:
    """The finite values of ``values`` that are not ``nodata`` (flattened)."""
    values = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(values)
    if nodata is not None and np.isfinite(float(nodata)):
        keep &= values != float(nodata)
    return values[keep]


def band_contrast_limits(data: LayerData, band: int, nodata: float | None = None, *,
                         percentiles: tuple[float, float] = STRETCH_PERCENTILES,
                         ) -> tuple[float, float] | None:
    """Contrast limits of one band: ``percentiles`` of a strided sample, nodata left out.

    Parameters
    ----------
    data : array-like, shape (bands, H, W), or a list of such (multiscale levels)
        Cube data (numpy or dask; a lazy cube reads one band).
    band : int
        The band shown.
    nodata : float, optional
        Value ignored (e.g. ``-9999``).

    Returns
    -------
    (float, float) or None
        ``(low, high)`` in data units, ``None`` when the band has no valid value.
    """
    return stretch_limits(valid_values(band_sample(data, band), nodata), percentiles)


def stretch_limits(values: np.ndarray, percentiles: tuple[float, float] = STRETCH_PERCENTILES,
                   ) -> tuple[float, float] | None:
    """``percentiles`` of valid ``values`` (:func:`valid_values`) as contrast limits.

    Returns
    -------
    (float, float) or None
        ``(low, high)``, ``high = low + 1`` for a constant band; ``None`` without values.
    """
    if values.size == 0:
        return None
    lo, hi = np.percentile(values, percentiles)
    if hi <= lo:
        hi = lo + 1.0
    return float(lo), float(hi)


def band_has_data(data: LayerData, band: int, nodata: float | None = None) -> bool:
    """Whether ``band`` has a valid value (finite, not ``nodata``) in its strided sample.

    The sample is the one its contrast comes from (:func:`band_sample`, one band read,
    strided): the whole band for a cube of at most 512 pixels a side. The same rule as
    :func:`hsi.bands.empty_bands`, judged on one band's sample only (that function samples
    every band of a lazy cube: too much for opening a file).

    Parameters
    ----------
    data : array-like, shape (bands, H, W), or a list of such (multiscale levels)
    band : int
    nodata : float, optional
    """
    return valid_values(band_sample(data, band), nodata).size > 0


def nearest_band_with_data(data: LayerData, band: int, nodata: float | None = None, *,
                           wavelengths: Sequence[float] | np.ndarray | None = None,
                           target_nm: float | None = None,
                           tolerance_nm: float | None = None,
                           has_data: Callable[[int], bool] | None = None) -> int | None:
    """The band with data (:func:`band_has_data`) nearest ``band``, ``band`` itself first.

    Nearest by band index, or by wavelength to ``target_nm`` (default: ``band``'s own) when
    ``wavelengths`` are given; bands are tried in that order, each read (strided) only when
    the ones before it are empty.

    Parameters
    ----------
    data : array-like, shape (bands, H, W), or a list of such (multiscale levels)
    band : int
        The band wanted.
    nodata : float, optional
    wavelengths : array-like, shape (bands,), optional
        Band centres (nm).
    target_nm : float, optional
        The wavelength wanted (with ``wavelengths``), e.g. 640 for red.
    tolerance_nm : float, optional
        With ``wavelengths``: bands farther than this from the wavelength wanted are not tried.
    has_data : callable, optional
        ``has_data(band)`` instead of :func:`band_has_data` (e.g. one that keeps its samples).

    Returns
    -------
    int or None
        ``None`` when no band tried has data.
    """
    bands = int(full_res(data).shape[0])
    if wavelengths is not None:
        wl = np.asarray(wavelengths, dtype=np.float64)
        target = float(wl[band]) if target_nm is None else float(target_nm)
        distance = np.abs(wl - target)
        distance[band] = -1.0  # the band wanted first
    else:
        distance = np.abs(np.arange(bands, dtype=np.float64) - band)
    order = np.argsort(distance, kind="stable")
    if wavelengths is not None and tolerance_nm is not None:
        order = [b for b in order if b == band or distance[b] <= tolerance_nm]
    check = has_data or (lambda b: band_has_data(data, b, nodata))
    return next((int(b) for b in order if check(int(b))), None)


def rgb_band_indices(cube: Cube, tolerance_nm: float = RGB_TOLERANCE_NM,
                     ) -> tuple[int, int, int] | None:
    """Bands nearest 640/550/460 nm when each lies within ``tolerance_nm``, else ``None``."""
    if cube.wavelengths is None or cube.bands < 3:
        return None
    bands = cube.rgb_bands()
    wl = np.asarray(cube.wavelengths, dtype=np.float64)
    if len(set(bands)) < 3 or any(abs(wl[b] - nm) > tolerance_nm
                                  for b, nm in zip(bands, RGB_NM, strict=True)):
        return None
    return bands


def _stretch_u8(plane: np.ndarray, lo: float, hi: float, nodata: float | None) -> np.ndarray:
    values = plane.astype(np.float32)  # one float32 copy, stretched in place
    invalid = ~np.isfinite(values)
    if nodata is not None:
        invalid |= values == np.float32(nodata)
    values -= np.float32(lo)
    values *= np.float32(255.0 / (hi - lo))
    np.clip(values, 0, 255, out=values)
    values[invalid] = 0
    return values.astype(np.uint8)


def rgb_bands_with_data(cube: Cube, bands: Sequence[int], *,
                        tolerance_nm: float | None = None,
                        has_data: Callable[[int], bool] | None = None,
                        ) -> tuple[int, int, int]:
    """``bands`` (red, green, blue) with each empty one replaced by the nearest band with data.

    An empty band (every sampled value NaN or ``cube.nodata``, :func:`band_has_data`; e.g. a
    product's band in a water-absorption window) would show its channel black: the band with
    data nearest its wavelength (its index without wavelengths) is used instead, within
    ``tolerance_nm`` of the colour's wavelength (640/550/460 nm) when given. One warning line
    (logger ``hsi.viewer``) names the bands replaced; a channel without any band with data
    near it keeps its band (shown black) and is named too.

    Parameters
    ----------
    cube : Cube
    bands : sequence of 3 int
        Red, green and blue band indices.
    tolerance_nm : float, optional
        Largest distance from 640/550/460 nm of a replacement (with wavelengths).
    has_data : callable, optional
        ``has_data(band)`` instead of :func:`band_has_data` on ``cube.data``.

    Returns
    -------
    (int, int, int)
    """
    import logging

    bands = tuple(int(b) for b in bands)
    check = has_data or (lambda b: band_has_data(cube.data, b, cube.nodata))
    if all(check(b) for b in bands):
        return bands  # type: ignore[return-value]
    wl = cube.wavelengths
    chosen, said = [], []
    for colour, b, nm in zip(("red", "green", "blue"), bands, RGB_NM, strict=True):
        if check(b):
            chosen.append(b)
            continue
        near = nearest_band_with_data(cube.data, b, cube.nodata, wavelengths=wl,
                                      target_nm=None if wl is None else nm,
                                      tolerance_nm=tolerance_nm, has_data=check)
        chosen.append(b if near is None else near)
        instead = ("no band with data near it: shown black" if near is None
                   else f"band {band_label(cube, [near])} used instead")
        said.append(f"{colour} band {band_label(cube, [b])} has no valid value, {instead}")
    logging.getLogger("hsi.viewer").warning("%s: true colour: %s", cube.name or "cube",
                                            "; ".join(said))
    return tuple(chosen)  # type: ignore[return-value]


def true_colour_layer_data(cube: Cube, *, name: str | None = None, ratio: float = 1.0,
                           percentiles: tuple[float, float] = STRETCH_PERCENTILES,
                           bands: Sequence[int] | None = None,
                           ) -> tuple[Any, dict[str, Any], str] | None:
    """A napari RGB ``LayerDataTuple`` of ``cube`` (lazy for a lazy cube), or ``None``.

    Each channel (bands nearest 640/550/460 nm, see :func:`rgb_band_indices`; an empty one
    replaced by the nearest band with data, :func:`rgb_bands_with_data`) is stretched
    between ``percentiles`` of a strided sample of that band, nodata and non-finite values
    left out and shown black. A dask cube stays dask: only the three bands are read, chunk by
    chunk, when napari shows the layer.

    Parameters
    ----------
    bands : sequence of 3 int, optional
        The red, green and blue bands to use instead (e.g. :meth:`hsi.cube.Cube.rgb_bands`
        when the wavelengths do not cover true colour); by default those of
        :func:`rgb_band_indices`.

    Returns
    -------
    (rgb (H, W, 3) uint8, layer kwargs, "image") or None
        ``None`` when the wavelengths do not cover true colour (and ``bands`` is not given).
        A big lazy cube gives a multiscale layer (a list of levels, as
        :func:`cube_layer_data`).
    """
    tolerance = None
    if bands is None:
        bands = rgb_band_indices(cube)
        if bands is None:
            return None
        tolerance = RGB_TOLERANCE_NM
    levels = pyramid(cube.data) if cube.is_lazy else [cube.data]
    source = levels if len(levels) > 1 else cube.data
    samples: dict[int, np.ndarray] = {}

    def valid(b: int) -> np.ndarray:  # band b's valid sampled values, read once
        if b not in samples:
            samples[b] = valid_values(band_sample(source, b), cube.nodata)
        return samples[b]

    bands = rgb_bands_with_data(cube, bands, tolerance_nm=tolerance,
                                has_data=lambda b: valid(b).size > 0)
    limits = [stretch_limits(valid(b), percentiles) or (0.0, 1.0) for b in bands]
    rgbs = []
    for data in levels:
        planes = []
        for b, (lo, hi) in zip(bands, limits, strict=True):
            plane = data[b]
            if cube.is_lazy:
                planes.append(plane.map_blocks(_stretch_u8, lo, hi, cube.nodata, dtype=np.uint8))
            else:
                planes.append(_stretch_u8(np.asarray(plane), lo, hi, cube.nodata))
        if cube.is_lazy:
            import dask.array as da

            rgbs.append(da.stack(planes, axis=-1))
        else:
            rgbs.append(np.stack(planes, axis=-1))
    rgb = rgbs if len(rgbs) > 1 else rgbs[0]
    scale, translate = plane_geometry(cube.transform, ratio)
    meta = georef_metadata(cube)
    meta.update({"name": cube.name, "wavelengths": None, "fwhm": None, "rgb_bands": list(bands)})
    if cube.wavelengths is not None:
        meta["rgb_wavelengths"] = [float(cube.wavelengths[b]) for b in bands]
    base = name or cube.name or "cube"
    return rgb, {"name": f"{base} true colour", "rgb": True, "scale": scale,
                 "translate": translate, "axis_labels": PLANE_AXIS_LABELS,
                 "contrast_limits": (0, 255), "multiscale": len(rgbs) > 1,
                 "metadata": meta}, "image"


def first_view(data: LayerData, nodata: float | None = None, *,
               wavelengths: Sequence[float] | np.ndarray | None = None,
               ) -> tuple[int, tuple[float, float]]:
    """The band a cube is first shown at, and its contrast limits.

    The middle band (:func:`shown_band`, where napari puts the slider) when it has data; when
    it is empty (every sampled value NaN or ``nodata``, as a product's band in a
    water-absorption window, which would show a blank image), the nearest band with data
    (:func:`nearest_band_with_data`: by wavelength when given, else by index), as
    :func:`rgb_bands_with_data` picks true-colour bands. The limits are
    :func:`band_contrast_limits` of that band (napari's own would span the nodata value or
    read the whole of a lazy cube). Each band tried is read once (strided).

    Parameters
    ----------
    data : array-like, shape (bands, H, W), or a list of such (multiscale levels)
    nodata : float, optional
    wavelengths : array-like, shape (bands,), optional
        Band centres (nm).

    Returns
    -------
    band : int
        Band index; the middle one when no band has data.
    limits : (float, float)
        In data units; ``(0, 1)`` when no band has data.
    """
    middle = shown_band(full_res(data).shape[0])
    samples: dict[int, np.ndarray] = {}

    def valid(b: int) -> np.ndarray:  # band b's valid sampled values, read once
        if b not in samples:
            samples[b] = valid_values(band_sample(data, b), nodata)
        return samples[b]

    band = nearest_band_with_data(data, middle, nodata, wavelengths=wavelengths,
                                  has_data=lambda b: valid(b).size > 0)
    if band is None:
        return middle, (0.0, 1.0)
    return band, stretch_limits(valid(band)) or (0.0, 1.0)


def cube_layer_data(cube: Cube, *, name: str | None = None, ratio: float = 1.0,
                    **kwargs) -> tuple[Any, dict[str, Any], str]:
    """A napari ``LayerDataTuple`` showing ``cube`` band by band.

    Parameters
    ----------
    cube : Cube
        ``(bands, H, W)`` cube, in memory or lazy (dask data is passed through untouched).
    name : str, optional
        Layer name; defaults to ``cube.name`` or ``"cube"``.
    ratio : float
        Pixel size to use when the cube has no transform.
    **kwargs
        Extra layer keyword arguments (``visible``, ``colormap``...).

    Returns
    -------
    (data (bands, H, W), layer kwargs, "image")
        ``metadata["first_band"]`` is the band to show first: the middle one
        (:func:`shown_band`), or when it is empty the nearest band with data
        (:func:`first_view`), which the band slider is moved to when the layer is a viewer's
        first (:func:`hsi.viewer._band_slider.follow_band_slider`). Contrast limits are the
        2-98 % percentiles of that band, nodata left out; a lazy cube reads only the bands
        tried, strided.
        A lazy cube from a file larger than :data:`PYRAMID_ABOVE` pixels a side comes as a
        multiscale pyramid (``data`` a list of levels, ``multiscale=True``, :func:`pyramid`):
        napari then reads only the level and the part of it on screen.
    """
    scale, translate = plane_geometry(cube.transform, ratio)
    meta = georef_metadata(cube)
    meta["name"] = cube.name
    from hsi.io.envi import band_metadata

    values = cube.metadata or {}
    meta.update({k: values[k] for k in VALUE_KEYS if values.get(k) is not None})
    meta.update(band_metadata(cube))  # names, bad bands, scales: what a saved layer keeps
    meta.update(record_of(values))  # what produced the pixels (a fusion's method, ratio, PSF)
    meta["band_contrast"] = True  # contrast follows the band slider (hsi.viewer._band_slider)
    attrs: dict[str, Any] = {
        "name": name or cube.name or "cube",
        "metadata": meta,
        "scale": (1.0, *scale),
        "translate": (0.0, *translate),
        "axis_labels": CUBE_AXIS_LABELS,
        "rgb": False,
    }
    levels = pyramid(cube.data) if cube.is_lazy else [cube.data]
    meta["first_band"], attrs["contrast_limits"] = first_view(
        levels if len(levels) > 1 else cube.data, cube.nodata, wavelengths=cube.wavelengths)
    data = cube.data
    if len(levels) > 1:
        attrs["multiscale"] = True
        data = levels
    attrs.update(kwargs)
    return data, attrs, "image"


def cube_from_layer(data: LayerData, metadata: dict | None, *, name: str = "") -> Cube:
    """Rebuild a cube from an image layer's data and metadata.

    Parameters
    ----------
    data : array-like, shape (bands, H, W), (H, W) or (H, W, 3) for RGB layers
        Layer data (of a multiscale layer, its levels: the first, full resolution, is used);
        2-D planes become one-band cubes.
    metadata : dict, optional
        Layer metadata as written by :func:`cube_layer_data` (missing keys mean unknown); its
        :data:`VALUE_KEYS` and :data:`BAND_KEYS` become the cube's metadata when they still
        fit its bands, and so does its record of what produced the pixels
        (:data:`hsi.io.provenance.RECORD_KEYS`: a fused layer's method, ratio and PSF).
    """
    metadata = metadata or {}
    data = full_res(data)
    if getattr(data, "ndim", np.ndim(data)) == 2:
        data = data[None]
    transform = metadata.get("transform")
    wavelengths = metadata.get("wavelengths")
    fwhm = metadata.get("fwhm")
    if wavelengths is not None and len(wavelengths) != data.shape[0]:
        wavelengths = fwhm = None
    return Cube(
        data=data,
        wavelengths=None if wavelengths is None else np.asarray(wavelengths, dtype=np.float64),
        fwhm=None if fwhm is None else np.asarray(fwhm, dtype=np.float64),
        crs=metadata.get("crs") or None,
        transform=None if transform is None else tuple(transform),
        nodata=metadata.get("nodata"),
        name=name or str(metadata.get("name") or ""),
        metadata={**{k: metadata[k] for k in (*VALUE_KEYS, *BAND_KEYS)
                     if metadata.get(k) is not None}, **record_of(metadata)},
    )
