"""Cube <-> napari layer data, without importing napari or Qt.

A cube becomes an image layer shown band by band: data ``(bands, H, W)``, the band axis labelled
``band`` (the slider is a band index; :mod:`hsi.viewer._band_slider` shows the wavelength beside
it), contrast limits from the band shown with nodata left out, and ``scale``/``translate``
taken from the geotransform so that layers of different resolution on the same ground overlay
(world coordinates are map units, ``y`` growing southwards). A cube whose wavelengths cover
460/550/640 nm also gets a lazy true-colour layer. Everything the reverse trip needs lives in
``layer.metadata``:

``wavelengths`` (nm, list or None), ``fwhm`` (nm, list or None), ``crs`` (WKT string or None),
``transform`` (6-tuple ``(a, b, c, d, e, f)`` or None), ``nodata`` and ``band_contrast`` (True:
contrast limits follow the band slider until set by hand); ``units``, ``quantity`` and
``reflectance_scale_factor`` when the cube's own metadata has them (the spectrum plot names its
y axis from them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hsi.cube import RGB_NM, Cube

#: Axis labels of a cube layer: the slider moves by band index.
CUBE_AXIS_LABELS = ("band", "y", "x")
PLANE_AXIS_LABELS = ("y", "x")
#: Percentiles (%) between which a band or a true-colour channel is stretched.
STRETCH_PERCENTILES = (2.0, 98.0)
#: A true-colour band must lie this close (nm) to 640/550/460 nm.
RGB_TOLERANCE_NM = 40.0
#: Keys of a cube's metadata describing its values, copied into the layer metadata.
VALUE_KEYS = ("units", "quantity", "reflectance_scale_factor")

def class_color(value: int) -> tuple[int, int, int]:
    """The default 0-255 RGB colour of class ``value`` (1-based), as class-map GeoTIFFs use."""
    from hsi.io.labels import default_colors

    return default_colors(int(value))[int(value) - 1]


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


def plane_geometry(transform, ratio: float = 1.0,
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
    """The band napari shows first: the middle of the slider, ``(bands - 1) // 2``."""
    return max(0, (int(bands) - 1) // 2)


def band_sample(data, band: int, *, samples: int = 512) -> np.ndarray:
    """A strided sample (at most ``samples`` pixels a side) of one band, as float64.

    Parameters
    ----------
    data : array-like, shape (bands, H, W)
        numpy or dask data; a lazy cube reads only band ``band`` (every ``step``-th pixel).
    band : int
        Band index.

    Returns
    -------
    numpy.ndarray, shape (ceil(H / step), ceil(W / step)), float64
    """
    h, w = data.shape[-2:]
    step = max(1, -(-max(h, w) // samples))
    return np.asarray(data[band, ::step, ::step], dtype=np.float64)


def valid_values(values: np.ndarray, nodata=None) -> np.ndarray:
    """The finite values of ``values`` that are not ``nodata`` (flattened)."""
    values = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(values)
    if nodata is not None and np.isfinite(float(nodata)):
        keep &= values != float(nodata)
    return values[keep]


def band_contrast_limits(data, band: int, nodata=None, *,
                         percentiles: tuple[float, float] = STRETCH_PERCENTILES,
                         ) -> tuple[float, float] | None:
    """Contrast limits of one band: ``percentiles`` of a strided sample, nodata left out.

    Parameters
    ----------
    data : array-like, shape (bands, H, W)
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
    values = valid_values(band_sample(data, band), nodata)
    if values.size == 0:
        return None
    lo, hi = np.percentile(values, percentiles)
    if hi <= lo:
        hi = lo + 1.0
    return float(lo), float(hi)


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


def _stretch_u8(plane: np.ndarray, lo: float, hi: float, nodata) -> np.ndarray:
    values = plane.astype(np.float32)
    out = np.clip((values - lo) * (255.0 / (hi - lo)), 0, 255)
    invalid = ~np.isfinite(values)
    if nodata is not None:
        invalid |= values == np.float32(nodata)
    out[invalid] = 0
    return out.astype(np.uint8)


def true_colour_layer_data(cube: Cube, *, name: str | None = None, ratio: float = 1.0,
                           percentiles: tuple[float, float] = STRETCH_PERCENTILES,
                           ) -> tuple[Any, dict[str, Any], str] | None:
    """A napari RGB ``LayerDataTuple`` of ``cube`` (lazy for a lazy cube), or ``None``.

    Each channel (bands nearest 640/550/460 nm, see :func:`rgb_band_indices`) is stretched
    between ``percentiles`` of a strided sample of that band, nodata and non-finite values
    left out and shown black. A dask cube stays dask: only the three bands are read, chunk by
    chunk, when napari shows the layer.

    Returns
    -------
    (rgb (H, W, 3) uint8, layer kwargs, "image") or None
        ``None`` when the wavelengths do not cover true colour.
    """
    bands = rgb_band_indices(cube)
    if bands is None:
        return None
    planes = []
    for b in bands:
        values = valid_values(band_sample(cube.data, b), cube.nodata)
        lo, hi = np.percentile(values, percentiles) if values.size else (0.0, 1.0)
        hi = hi if hi > lo else lo + 1.0
        plane = cube.data[b]
        if cube.is_lazy:
            planes.append(plane.map_blocks(_stretch_u8, float(lo), float(hi), cube.nodata,
                                           dtype=np.uint8))
        else:
            planes.append(_stretch_u8(np.asarray(plane), float(lo), float(hi), cube.nodata))
    if cube.is_lazy:
        import dask.array as da

        rgb = da.stack(planes, axis=-1)
    else:
        rgb = np.stack(planes, axis=-1)
    scale, translate = plane_geometry(cube.transform, ratio)
    meta = georef_metadata(cube)
    meta.update({"name": cube.name, "wavelengths": None, "fwhm": None, "rgb_bands": list(bands),
                 "rgb_wavelengths": [float(cube.wavelengths[b]) for b in bands]})
    base = name or cube.name or "cube"
    return rgb, {"name": f"{base} true colour", "rgb": True, "scale": scale,
                 "translate": translate, "axis_labels": PLANE_AXIS_LABELS,
                 "contrast_limits": (0, 255), "metadata": meta}, "image"


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
        Contrast limits are the 2-98 % percentiles of the band napari shows first (the middle
        one, :func:`shown_band`), nodata left out; a lazy cube reads only that band, strided.
    """
    scale, translate = plane_geometry(cube.transform, ratio)
    meta = georef_metadata(cube)
    meta["name"] = cube.name
    values = cube.metadata or {}
    meta.update({k: values[k] for k in VALUE_KEYS if values.get(k) is not None})
    meta["band_contrast"] = True  # contrast follows the band slider (hsi.viewer._band_slider)
    attrs: dict[str, Any] = {
        "name": name or cube.name or "cube",
        "metadata": meta,
        "scale": (1.0, *scale),
        "translate": (0.0, *translate),
        "axis_labels": CUBE_AXIS_LABELS,
        "rgb": False,
    }
    limits = band_contrast_limits(cube.data, shown_band(cube.bands), cube.nodata)
    if limits is not None:
        attrs["contrast_limits"] = limits
    attrs.update(kwargs)
    return cube.data, attrs, "image"


def cube_from_layer(data, metadata: dict | None, *, name: str = "") -> Cube:
    """Rebuild a cube from an image layer's data and metadata.

    Parameters
    ----------
    data : array-like, shape (bands, H, W), (H, W) or (H, W, 3) for RGB layers
        Layer data; 2-D planes become one-band cubes.
    metadata : dict, optional
        Layer metadata as written by :func:`cube_layer_data` (missing keys mean unknown).
    """
    metadata = metadata or {}
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
    )
