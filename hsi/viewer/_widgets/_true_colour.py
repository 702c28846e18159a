"""True colour: an RGB composite layer of a cube, bands chosen from its wavelengths."""

# No ``from __future__ import annotations`` here: magicgui reads ``true_colour``'s annotations
# at runtime, and the *cube* box's options (``CUBE_CHOICE`` in ``Annotated``) would be lost
# in a string annotation.
from typing import TYPE_CHECKING, Annotated

import numpy as np
from napari.layers import Image
from napari.types import LayerDataTuple

from hsi.viewer._convert import (
    PLANE_AXIS_LABELS,
    is_multiscale,
    rgb_bands_with_data,
    true_colour_layer_data,
)
from hsi.viewer._offthread import call_off_gui
from hsi.viewer._widgets._common import is_cube_layer, layer_cube, one_line

if TYPE_CHECKING:
    from magicgui.widgets.bases import CategoricalWidget

    from hsi.cube import Cube


def cube_layer_choices(gui: "CategoricalWidget") -> list[Image]:
    """The cube layers (``(bands, H, W)`` images, not RGB, not 2-D) of the viewer holding
    ``gui``: what the *cube* box offers (a plane or an RGB picture has no bands to pick)."""
    from napari.utils._magicgui import find_viewer_ancestor

    viewer = find_viewer_ancestor(gui.native)
    return [] if viewer is None else [layer for layer in viewer.layers if is_cube_layer(layer)]


#: The *cube* box: napari's choices for ``Image`` (every image layer) would take precedence
#: over these unless the widget type is named.
CUBE_CHOICE = {"widget_type": "ComboBox", "choices": cube_layer_choices}


def _rgb_with_data(source: "Cube", percentiles: tuple[float, float],
                   ) -> tuple[np.ndarray, tuple[int, int, int]]:
    """``source.rgb(percentiles)`` and its bands (:meth:`hsi.cube.Cube.rgb_bands`), an empty
    band (all NaN or nodata) replaced by the nearest band with data
    (:func:`~hsi.viewer._convert.rgb_bands_with_data`) rather than shown black."""
    bands = rgb_bands_with_data(source, source.rgb_bands())
    picked = source.with_data(source.data[list(bands)], wavelengths=None, fwhm=None)
    return picked.rgb(percentiles), bands


def true_colour(cube: Annotated[Image, CUBE_CHOICE],
                low_percentile: float = 2.0, high_percentile: float = 98.0) -> LayerDataTuple:
    """Add an RGB composite of ``cube`` (bands nearest 640/550/460 nm, else the first three;
    an empty band, all NaN or nodata, replaced by the nearest band with data).

    What the dock's *Run* calls: a failure (no cube layer, a file gone from under a lazy
    layer...) is one napari error notification, ``true colour: <reason>``, and no layer,
    never a traceback. Run again, it replaces the composite of the same name (napari
    updates a layer a widget returns by name), with its own contrast limits.

    Parameters
    ----------
    cube : napari.layers.Image
        A ``(bands, H, W)`` cube layer (wavelengths in ``metadata["wavelengths"]``).
    low_percentile, high_percentile : float
        Each channel is stretched between these percentiles of its values.

    Returns
    -------
    LayerDataTuple or None
        ``(rgb (H, W, 3) float32 in [0, 1], kwargs, "image")`` on the cube's grid, contrast
        limits ``(0, 1)``. For a big scene shown as a multiscale pyramid, a lazy multiscale
        composite instead (levels of ``(h, w, 3)`` uint8, contrast limits ``(0, 255)``, as the
        reader makes it; the bands nearest 640/550/460 nm, or the first three without
        wavelengths, when they do not cover 460-640 nm): only the three bands' samples are
        read here, the pixels when napari shows them. ``None`` after a failure.
    """
    try:
        return _true_colour(cube, (float(low_percentile), float(high_percentile)))
    except Exception as exc:  # reported in one line, never a traceback dialog
        from napari.utils.notifications import show_error

        show_error(f"true colour: {one_line(exc)}")
        return None


def _true_colour(cube: Image | None, percentiles: tuple[float, float]) -> LayerDataTuple:
    """:func:`true_colour`'s work, raising on failure."""
    if cube is None or not is_cube_layer(cube):
        raise ValueError("choose a cube layer (bands, H, W)")
    source = layer_cube(cube)
    if is_multiscale(cube.data) and source.is_lazy:
        # wavelengths not covering 460-640 nm: the same lazy, per-level composite of the
        # bands Cube.rgb_bands picks (nearest 640/550/460 nm, else the first three)
        made = call_off_gui(lambda: true_colour_layer_data(source, name=cube.name,
                                                           percentiles=percentiles)
                            or true_colour_layer_data(source, name=cube.name,
                                                      percentiles=percentiles,
                                                      bands=source.rgb_bands()))
        if made is not None:
            rgb, attrs, kind = made
            attrs.update(scale=tuple(cube.scale[-2:]), translate=tuple(cube.translate[-2:]))
            return rgb, attrs, kind
    # reading and stretching three bands of a big cube: in a thread, the event loop running
    rgb, bands = call_off_gui(_rgb_with_data, source, percentiles)
    meta = dict(cube.metadata or {})
    meta.update({"rgb_bands": list(bands), "wavelengths": None, "fwhm": None})
    if source.wavelengths is not None:
        meta["rgb_wavelengths"] = [float(source.wavelengths[i]) for i in bands]
    # contrast limits given: a composite replacing the reader's (uint8, 0-255) keeps none
    return (rgb, {"name": f"{cube.name} true colour", "rgb": True, "contrast_limits": (0.0, 1.0),
                  "scale": tuple(cube.scale[-2:]), "translate": tuple(cube.translate[-2:]),
                  "axis_labels": PLANE_AXIS_LABELS, "metadata": meta}, "image")
