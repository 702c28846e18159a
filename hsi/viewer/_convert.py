"""Cube <-> napari layer data, without importing napari or Qt.

A cube becomes an image layer shown band by band: data ``(bands, H, W)``, the band axis labelled
with the wavelength unit, and ``scale``/``translate`` taken from the geotransform so that layers
of different resolution on the same ground overlay (world coordinates are map units, ``y``
growing southwards). Everything the reverse trip needs lives in ``layer.metadata``:

``wavelengths`` (nm, list or None), ``fwhm`` (nm, list or None), ``crs`` (WKT string or None),
``transform`` (6-tuple ``(a, b, c, d, e, f)`` or None) and ``nodata``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hsi.cube import Cube

#: Axis labels of a cube layer; the band slider is labelled with the wavelength unit.
CUBE_AXIS_LABELS = ("wavelength (nm)", "y", "x")
PLANE_AXIS_LABELS = ("y", "x")

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


def quick_contrast_limits(data, *, samples: int = 256) -> tuple[float, float] | None:
    """Contrast limits from a strided sample of the first band (cheap for lazy data).

    Returns ``None`` when the band holds no finite value.
    """
    h, w = data.shape[-2:]
    step = max(1, int(max(h, w) // samples))
    plane = np.asarray(data[0, ::step, ::step], dtype=np.float64)
    plane = plane[np.isfinite(plane)]
    if plane.size == 0:
        return None
    lo, hi = np.percentile(plane, [1.0, 99.0])
    if hi <= lo:
        hi = lo + 1.0
    return float(lo), float(hi)


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
    """
    scale, translate = plane_geometry(cube.transform, ratio)
    meta = georef_metadata(cube)
    meta["name"] = cube.name
    attrs: dict[str, Any] = {
        "name": name or cube.name or "cube",
        "metadata": meta,
        "scale": (1.0, *scale),
        "translate": (0.0, *translate),
        "axis_labels": CUBE_AXIS_LABELS,
        "rgb": False,
    }
    if cube.is_lazy:
        limits = quick_contrast_limits(cube.data)
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
