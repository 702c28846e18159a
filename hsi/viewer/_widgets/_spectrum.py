"""Spectrum dock: click (or Shift-hover) a pixel to plot its spectrum against wavelength."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qtpy.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from hsi.viewer._convert import class_color
from hsi.viewer._widgets._common import LayerCombo, is_cube_layer, theme_colors

if TYPE_CHECKING:
    import napari


@dataclass
class PixelSpectrum:
    """One plotted spectrum: ``values (bands,)`` of ``layer`` at ``(row, col)`` against ``x``."""

    layer: str
    row: int
    col: int
    x: np.ndarray
    values: np.ndarray

    @property
    def label(self) -> str:
        return f"{self.layer} ({self.row}, {self.col})"


def layer_band_axis(layer) -> np.ndarray:
    """Wavelengths (nm) of a cube layer, or band numbers 0, 1, ... without them."""
    wl = (layer.metadata or {}).get("wavelengths")
    if wl is not None and len(wl) == layer.data.shape[0]:
        return np.asarray(wl, dtype=np.float64)
    return np.arange(layer.data.shape[0], dtype=np.float64)


def pixel_spectrum(layer, row: int, col: int) -> PixelSpectrum:
    """The spectrum of ``layer`` at data pixel ``(row, col)``; nodata values become NaN
    (left out of the plot)."""
    values = np.array(layer.data[:, row, col], dtype=np.float64)  # a copy, never a view
    nodata = (layer.metadata or {}).get("nodata")
    if nodata is not None:
        values[values == float(nodata)] = np.nan
    return PixelSpectrum(layer.name, int(row), int(col), layer_band_axis(layer), values)


class SpectrumWidget(QWidget):
    """Plot pixel spectra of a cube layer against wavelength, pin several to compare.

    Click a pixel (or hold Shift and move the mouse) to plot it; *Pin* keeps the current
    spectrum; the label above the plot shows the band and wavelength under the band slider.
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.current: PixelSpectrum | None = None
        self.pins: list[PixelSpectrum] = []

        self.layer_combo = LayerCombo(napari_viewer, is_cube_layer)
        self.readout = QLabel("")
        self.readout.setToolTip("band under the slider and its centre wavelength")
        hint = QLabel("Click a pixel, or hold Shift and move, to plot its spectrum.")
        hint.setWordWrap(True)
        self.figure = Figure(figsize=(4, 3), tight_layout=True)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(260)
        self.axes = self.figure.add_subplot(111)
        self.pin_button = QPushButton("Pin")
        self.pin_button.setToolTip("keep the current spectrum on the plot")
        self.clear_button = QPushButton("Clear pins")
        buttons = QHBoxLayout()
        buttons.addWidget(self.pin_button)
        buttons.addWidget(self.clear_button)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("cube layer"))
        layout.addWidget(self.layer_combo)
        layout.addWidget(self.readout)
        layout.addWidget(hint)
        layout.addWidget(self.canvas)
        layout.addLayout(buttons)

        self.pin_button.clicked.connect(self.pin)
        self.clear_button.clicked.connect(self.clear_pins)
        self.layer_combo.currentTextChanged.connect(self._on_layer_changed)
        napari_viewer.mouse_drag_callbacks.append(self._on_click)
        napari_viewer.mouse_move_callbacks.append(self._on_move)
        napari_viewer.dims.events.current_step.connect(self._update_readout)
        napari_viewer.events.theme.connect(self._redraw)
        self._on_layer_changed()

    # ---------------------------------------------------------------- events
    def _pixel_under(self, position) -> tuple[int, int] | None:
        layer = self.layer_combo.layer()
        if layer is None or position is None:
            return None
        coords = np.asarray(layer.world_to_data(position), dtype=np.float64)
        row, col = (round(float(v)) for v in coords[-2:])
        h, w = layer.data.shape[-2:]
        if not (0 <= row < h and 0 <= col < w):
            return None
        return row, col

    def _detached(self) -> bool:
        """True (after removing the mouse callbacks) once the Qt widget has been deleted."""
        try:
            self.objectName()
        except RuntimeError:  # the C++ widget is gone: the dock was closed
            for callbacks, cb in ((self.viewer.mouse_drag_callbacks, self._on_click),
                                  (self.viewer.mouse_move_callbacks, self._on_move)):
                if cb in callbacks:
                    callbacks.remove(cb)
            return True
        return False

    def _on_click(self, viewer, event) -> None:
        if event.button not in (None, 1) or self._detached():
            return
        pixel = self._pixel_under(event.position)
        if pixel is not None:
            self.show_pixel(*pixel)

    def _on_move(self, viewer, event) -> None:
        if "Shift" not in event.modifiers or self._detached():
            return
        pixel = self._pixel_under(event.position)
        if pixel is not None:
            self.show_pixel(*pixel)

    def _on_layer_changed(self, *args) -> None:
        self.current = None
        self._update_readout()
        self._redraw()

    # ------------------------------------------------------------------ API
    def show_pixel(self, row: int, col: int) -> PixelSpectrum | None:
        """Plot the selected layer's spectrum at data pixel ``(row, col)``."""
        layer = self.layer_combo.layer()
        if layer is None:
            return None
        self.current = pixel_spectrum(layer, row, col)
        self._redraw()
        return self.current

    def pin(self) -> None:
        """Keep the current spectrum on the plot."""
        if self.current is not None and self.current not in self.pins:
            self.pins.append(self.current)
            self._redraw()

    def clear_pins(self) -> None:
        self.pins.clear()
        self._redraw()

    def current_band(self) -> int | None:
        """Index of the selected layer's band under the viewer's band slider."""
        layer = self.layer_combo.layer()
        if layer is None:
            return None
        point = self.viewer.dims.point
        band = round(float(layer.world_to_data(point)[0]))
        return min(max(band, 0), layer.data.shape[0] - 1)

    def _update_readout(self, *args) -> None:
        band = self.current_band()
        layer = self.layer_combo.layer()
        if band is None or layer is None:
            self.readout.setText("no cube layer")
            return
        wl = (layer.metadata or {}).get("wavelengths")
        text = f"band {band} of {layer.data.shape[0]}"
        if wl is not None and len(wl) == layer.data.shape[0]:
            text += f" · {float(wl[band]):.1f} nm"
        self.readout.setText(text)
        self._redraw()

    # ---------------------------------------------------------------- plot
    def _redraw(self, *args) -> None:
        colors = theme_colors(self.viewer)
        fig, ax = self.figure, self.axes
        ax.clear()
        fig.set_facecolor(colors["background"])
        ax.set_facecolor(colors["background"])
        for i, spec in enumerate(self.pins):
            rgb = np.asarray(class_color(i + 1)) / 255
            ax.plot(spec.x, spec.values, color=rgb, lw=1.5, label=spec.label)
        if self.current is not None:
            ax.plot(self.current.x, self.current.values, color=colors["text"], lw=1.8,
                    label=self.current.label)
        layer = self.layer_combo.layer()
        has_wl = layer is not None and (layer.metadata or {}).get("wavelengths") is not None
        band = self.current_band()
        if layer is not None and band is not None:
            x = layer_band_axis(layer)
            ax.axvline(x[band], color=colors["text"], lw=0.8, ls=":")
        ax.set_xlabel("wavelength (nm)" if has_wl else "band", color=colors["text"])
        ax.set_ylabel("value", color=colors["text"])
        ax.tick_params(colors=colors["text"], labelsize=8)
        for spine in ax.spines.values():
            spine.set_color(colors["text"])
        if self.pins or self.current is not None:
            leg = ax.legend(fontsize=7, frameon=False)
            for text in leg.get_texts():
                text.set_color(colors["text"])
        self.canvas.draw_idle()
