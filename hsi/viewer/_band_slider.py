"""What the band slider drives besides the band shown: its label and each cube's contrast.

Cube layers label their band axis ``band`` (the slider moves by band index; napari shows the
index at its right). :func:`follow_band_slider` keeps, on one viewer:

- the slider's label (``viewer.dims.axis_labels``) at the wavelength of the band shown by the
  active cube layer, else by the topmost visible cube layer with wavelengths:
  ``λ = 550.0 nm`` (``band`` when none has wavelengths);
- the contrast limits of each visible cube layer made by :func:`hsi.viewer._convert.
  cube_layer_data` (``metadata["band_contrast"]``) at the 2-98 % percentiles of the band it
  shows, nodata left out (a lazy cube reads that band, strided, in a worker thread). Once the
  user sets a layer's contrast by hand, that layer is left alone;
- the slider's first position: napari centres it when a viewer gets its first layer (and
  puts it at band 0 when a cube joins 2-D layers only); a cube layer whose slider is new
  moves it to the band the layer names in ``metadata["first_band"]``: its middle band, or
  the nearest band with data when that one is empty (all NaN or nodata: a blank image).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import napari
    from napari.layers import Image, Layer
    from napari.utils.events import Event

    from hsi.viewer._convert import LayerData

#: Label of the band slider when no cube layer has wavelengths.
BAND_LABEL = "band"

_FOLLOWED: weakref.WeakSet = weakref.WeakSet()
#: The ``(band, contrast limits)`` last set on each layer by :func:`update_band_contrast`.
_AUTO_LIMITS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: Per viewer, the zero-delay timer that coalesces contrast updates.
_TIMERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: The band whose contrast is being computed, per layer.
_PENDING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def wavelength_label(wavelength_nm: float | None) -> str:
    """``"λ = 550.0 nm"`` for a wavelength in nm, :data:`BAND_LABEL` for ``None``."""
    if wavelength_nm is None or not np.isfinite(wavelength_nm):
        return BAND_LABEL
    return f"λ = {float(wavelength_nm):.1f} nm"


def _is_cube(layer: Layer) -> bool:
    from napari.layers import Image

    return isinstance(layer, Image) and not layer.rgb and layer.ndim == 3


def _wavelengths(layer: Image) -> list | None:
    wl = (layer.metadata or {}).get("wavelengths")
    return wl if wl is not None and len(wl) == layer.data.shape[0] else None


def label_layer(viewer: napari.Viewer) -> Image | None:
    """The cube layer whose band the label names: the active one, else the topmost visible
    cube layer with wavelengths (``None`` when there is none)."""
    active = viewer.layers.selection.active
    if active is not None and _is_cube(active) and _wavelengths(active) is not None:
        return active
    for layer in reversed(viewer.layers):
        if layer.visible and _is_cube(layer) and _wavelengths(layer) is not None:
            return layer
    return None


def first_band(layer: Layer) -> int | None:
    """The band a cube layer is shown at first (``metadata["first_band"]``, set by
    :func:`hsi.viewer._convert.cube_layer_data`); ``None`` for other layers."""
    band = (layer.metadata or {}).get("first_band") if _is_cube(layer) else None
    return None if band is None else min(max(int(band), 0), layer.data.shape[0] - 1)


def start_at_first_band(viewer: napari.Viewer, layer: Layer) -> None:
    """Move the band slider to ``layer``'s first band (:func:`first_band`) when no other layer
    of the viewer has a band axis: the slider is new, where napari has just put it (centred
    for a viewer's first layer; at band 0 for a cube opened over 2-D layers only, such as a
    class map). A slider already set by other layers is left alone."""
    band = first_band(layer)
    if (band is None or band == current_band(viewer, layer)
            or any(other.ndim >= layer.ndim for other in viewer.layers if other is not layer)):
        return
    axis = viewer.dims.ndim - layer.ndim
    viewer.dims.set_point(axis, float(layer.translate[0] + layer.scale[0] * band))


def current_band(viewer: napari.Viewer, layer: Image) -> int:
    """Index of ``layer``'s band under the band slider (clamped to the layer's bands)."""
    band = round(float(layer.world_to_data(viewer.dims.point)[0]))
    return min(max(band, 0), layer.data.shape[0] - 1)


def update_band_label(viewer: napari.Viewer) -> str | None:
    """Set the band slider's label from :func:`label_layer`; returns the label set (``None``
    when the viewer has no cube layer)."""
    if not any(_is_cube(layer) for layer in viewer.layers):
        return None
    layer = label_layer(viewer)
    if layer is None:
        text, axis = BAND_LABEL, viewer.dims.ndim - 3
    else:
        wl = _wavelengths(layer)[current_band(viewer, layer)]
        text, axis = wavelength_label(float(wl)), viewer.dims.ndim - layer.ndim
    labels = list(viewer.dims.axis_labels)
    if 0 <= axis < len(labels) and labels[axis] != text:
        labels[axis] = text
        viewer.dims.axis_labels = tuple(labels)
    return text


def _in_background(job: Callable[[], Any], done: Callable[[Any], None]) -> None:
    """Run ``job`` in a napari worker thread; ``done(result)`` on the GUI thread (errors, such
    as a file removed meanwhile, are dropped: the contrast just stays)."""
    from napari.qt.threading import create_worker

    worker = create_worker(job, _ignore_errors=True)
    worker.returned.connect(done)
    worker.start()


def _at_once(job: Callable[[], Any], done: Callable[[Any], None]) -> None:
    done(job())


def update_band_contrast(viewer: napari.Viewer,
                         run: Callable[[Callable[[], Any], Callable[[Any], None]], None]
                         = _at_once) -> None:
    """Contrast limits of each visible auto-contrast cube layer from the band it shows.

    Parameters
    ----------
    viewer : napari.Viewer
    run : callable
        ``run(job, done)``: computes ``job()`` (a strided read of one band) and hands the
        limits to ``done``; at once by default, in a worker thread from
        :func:`follow_band_slider`. A result for a band no longer shown is dropped.
    """
    from hsi.viewer._convert import band_contrast_limits, shown_band

    for layer in viewer.layers:
        meta = layer.metadata or {}
        if not (_is_cube(layer) and layer.visible and meta.get("band_contrast")):
            continue
        band = current_band(viewer, layer)
        last = _AUTO_LIMITS.get(layer)
        start = first_band(layer)
        if last is None and band == (shown_band(layer.data.shape[0]) if start is None
                                     else start):
            _AUTO_LIMITS[layer] = (band, tuple(layer.contrast_limits))  # set by the reader
            continue
        if last is not None and not np.allclose(layer.contrast_limits, last[1]):
            meta["band_contrast"] = False  # set by hand: leave it
            continue
        if (last is not None and last[0] == band) or _PENDING.get(layer) == band:
            continue
        _PENDING[layer] = band
        before = tuple(layer.contrast_limits)

        def job(data: LayerData = layer.data, band: int = band,
                nodata: float | None = meta.get("nodata")) -> tuple[float, float] | None:
            return band_contrast_limits(data, band, nodata)

        def done(limits: tuple[float, float] | None, layer: Image = layer, band: int = band,
                 before: tuple[float, ...] = before) -> None:
            if _PENDING.get(layer) != band:  # the slider moved on
                return
            del _PENDING[layer]
            if not layer.metadata.get("band_contrast"):
                return
            if not np.allclose(layer.contrast_limits, before):  # set by hand meanwhile
                layer.metadata["band_contrast"] = False
                return
            if limits is not None:
                layer.contrast_limits = limits
            _AUTO_LIMITS[layer] = (band, tuple(layer.contrast_limits))

        run(job, done)


def follow_band_slider(viewer: napari.Viewer | None) -> None:
    """Keep ``viewer``'s band-slider label and cube contrasts up to date (idempotent).

    Updated when the slider moves, layers are added, removed, reordered or shown and when the
    active layer changes: the label at once (and again whenever napari resets the axis labels
    to the layers' own, as it does when a layer's data or grid is set), the contrast when Qt
    next runs its loop (one read for a burst of slider steps), in a worker thread. ``None``
    (no viewer) does nothing.
    """
    if viewer is None or viewer in _FOLLOWED:
        return
    _FOLLOWED.add(viewer)
    ref = weakref.ref(viewer)

    def update_contrast(run: Callable[[Callable[[], Any], Callable[[Any], None]], None]
                        = _in_background) -> None:
        target = ref()
        if target is not None:
            update_band_contrast(target, run=run)

    # The contrast is updated once this turn of the Qt loop is over (one read for a burst of
    # slider steps, none for napari's first slice at band 0), in a worker thread.
    try:
        from qtpy.QtCore import QTimer

        timer = QTimer()
        timer.setSingleShot(True)
        timer.setInterval(0)
        timer.timeout.connect(update_contrast)
        _TIMERS[viewer] = timer
        later = timer.start
    except Exception:  # no Qt: at once
        def later() -> None:
            update_contrast(run=_at_once)

    def update(event: Event | None = None) -> None:
        target = ref()
        if target is not None:
            update_band_label(target)
            later()

    def relabel(event: Event | None = None) -> None:
        # napari recomputes the axis labels from the layers' (``band``) whenever a layer's
        # data, scale or translate is set (a cluster merge, a layer updated in place)
        target = ref()
        if target is not None:
            update_band_label(target)

    def watch_layer(event: Event) -> None:
        event.value.events.visible.connect(update)
        target = ref()
        if target is not None:
            start_at_first_band(target, event.value)  # after napari's centring
        update()

    viewer.dims.events.current_step.connect(update)
    viewer.dims.events.axis_labels.connect(relabel)
    viewer.layers.events.inserted.connect(watch_layer)
    viewer.layers.events.removed.connect(update)
    viewer.layers.events.reordered.connect(update)
    viewer.layers.selection.events.active.connect(update)
    for layer in viewer.layers:
        layer.events.visible.connect(update)
    update()


def follow_current_viewer() -> None:
    """:func:`follow_band_slider` on napari's current viewer, when there is one."""
    try:
        from napari import current_viewer

        viewer = current_viewer()
    except Exception:  # no Qt, no window: nothing to follow
        return
    follow_band_slider(viewer)
