"""Spectrum dock: pixel spectra (click or Shift-hover), ROI mean ± std spectra from a Shapes or
Labels layer, pinned pixels marked on the canvas, and export of the spectra to CSV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hsi.viewer._convert import class_color, full_res
from hsi.viewer._roi import RoiSpectrum, label_rois, roi_spectra, shape_rois
from hsi.viewer._spectra_csv import (
    BAND_COLUMN,
    WAVELENGTH_COLUMN,
    column_name,
    unique_names,
    write_spectra_csv,
)
from hsi.viewer._widgets._common import (
    CUBE_TIP,
    BackgroundJob,
    LayerCombo,
    is_cube_layer,
    is_labels_layer,
    one_line,
    run_cancel_row,
    theme_colors,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import napari
    from napari._vispy.mouse_event import NapariMouseEvent
    from napari.layers import Image, Layer
    from napari.utils.events import Event

#: Name of the Points layer marking the pinned pixels.
PIN_LAYER_NAME = "pinned pixels"
#: Diameter of a pin marker, in pixels of the pinned cube.
PIN_MARKER_PIXELS = 2.5
#: Wait (ms) after the last edit of the ROI layer before its spectra are measured again.
ROI_DEBOUNCE_MS = 400
#: How the status line starts for a pixel without data (:attr:`PixelSpectrum.no_data_note`).
NO_DATA = "no data"


@dataclass(eq=False)
class PixelSpectrum:
    """One plotted spectrum: ``values (bands,)`` of ``layer`` at ``(row, col)`` against ``x``.

    ``world`` is the pixel centre in world coordinates ``(y, x)`` and ``size`` its largest
    side in world units (where the canvas marker goes), when known.
    """

    layer: str
    row: int
    col: int
    x: np.ndarray
    values: np.ndarray
    world: tuple[float, float] | None = None
    size: float = 1.0

    @property
    def label(self) -> str:
        return f"{self.layer} ({self.row}, {self.col})"

    @property
    def key(self) -> tuple[str, int, int]:
        return self.layer, self.row, self.col

    @property
    def column(self) -> str:
        """CSV column name, e.g. ``pixel_r12_c40``."""
        return f"pixel_r{self.row}_c{self.col}"

    @property
    def has_data(self) -> bool:
        """False when every band is NaN or nodata (a scene's collar): nothing to plot."""
        return bool(np.isfinite(self.values).any())

    @property
    def no_data_note(self) -> str:
        """The status line saying that this pixel has no data (``""`` when it has)."""
        return "" if self.has_data else f"{NO_DATA} at {self.label}: every band is NaN or nodata"


def has_wavelengths(layer: Image) -> bool:
    wl = (layer.metadata or {}).get("wavelengths")
    return wl is not None and len(wl) == layer.data.shape[0]


def layer_band_axis(layer: Image) -> np.ndarray:
    """Wavelengths (nm) of a cube layer, or band numbers 0, 1, ... without them."""
    if has_wavelengths(layer):
        return np.asarray(layer.metadata["wavelengths"], dtype=np.float64)
    return np.arange(layer.data.shape[0], dtype=np.float64)


def quantity_label(layer: Image) -> str:
    """The y-axis label of a cube layer's spectra: what its values are.

    ``metadata["quantity"]`` and/or ``metadata["units"]`` (e.g. ``radiance (W m⁻² sr⁻¹ µm⁻¹)``)
    when given; ``reflectance × <f>`` with an ENVI reflectance scale factor; ``reflectance``
    for float data; ``value (DN)`` for integers.
    """
    meta = layer.metadata or {}
    units = next((str(meta[k]) for k in ("units", "unit", "data_units") if meta.get(k)), None)
    quantity = meta.get("quantity")
    if quantity and units:
        return f"{quantity} ({units})"
    if quantity or units:
        return str(quantity or units)
    factor = meta.get("reflectance_scale_factor")
    if factor:
        return f"reflectance × {float(factor):g}"
    if np.issubdtype(np.dtype(layer.data.dtype), np.floating):
        return "reflectance"
    return "value (DN)"


def pixel_spectrum(layer: Image, row: int, col: int) -> PixelSpectrum:
    """The spectrum of ``layer`` at data pixel ``(row, col)``; nodata values become NaN
    (left out of the plot)."""
    values = np.array(full_res(layer.data)[:, row, col], dtype=np.float64)  # a copy
    nodata = (layer.metadata or {}).get("nodata")
    if nodata is not None:
        values[values == float(nodata)] = np.nan
    world = np.asarray(layer.data_to_world((0, row, col)), dtype=np.float64)[-2:]
    size = float(np.max(np.abs(layer.scale[-2:])))
    return PixelSpectrum(layer.name, int(row), int(col), layer_band_axis(layer), values,
                         world=(float(world[0]), float(world[1])), size=size)


def pin_color(i: int) -> tuple[float, float, float]:
    """0-1 RGB colour of the ``i``-th pin (0-based): its line and its canvas marker."""
    return tuple(c / 255 for c in class_color(i + 1))


def is_roi_layer(layer: Layer) -> bool:
    """Shapes layers and 2-D Labels layers can outline regions of interest."""
    from napari.layers import Shapes

    return isinstance(layer, Shapes) or is_labels_layer(layer)


class SpectrumWidget(QWidget):
    """Plot pixel and ROI spectra of a cube layer against wavelength; pin, mark and export.

    Click a pixel (or hold Shift and move the mouse) to plot it; *Pin* keeps the current
    spectrum and marks its pixel on the canvas (a *pinned pixels* Points layer); the label
    above the plot shows the band and wavelength under the band slider. Pick a Shapes layer
    (rectangles, ellipses, polygons) or a Labels layer as *ROI layer* to plot the mean ± std
    spectrum of each shape or label value (nodata left out), measured off the GUI thread and
    again whenever the shapes or labels change. *Export CSV…* writes the pinned and ROI spectra.
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.current: PixelSpectrum | None = None
        self.pins: list[PixelSpectrum] = []
        self.rois: list[RoiSpectrum] = []
        self.pin_layer = None
        self._roi_source = None  # the ROI layer whose events are connected
        self._roi_pending = False

        self.layer_combo = LayerCombo(napari_viewer, is_cube_layer)
        self.layer_combo.setToolTip(CUBE_TIP)
        self.readout = QLabel("")
        self.readout.setToolTip("band under the slider and its centre wavelength")
        hint = QLabel("Click a pixel, or hold Shift and move, to plot its spectrum.")
        hint.setWordWrap(True)
        self.figure = Figure(figsize=(4, 3), tight_layout=True)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(260)
        self.axes = self.figure.add_subplot(111)
        self.pin_button = QPushButton("Pin")
        self.pin_button.setToolTip("keep the current spectrum on the plot, mark it on the canvas")
        self.clear_button = QPushButton("Clear pins")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("write the pinned and ROI spectra to a CSV file")
        buttons = QHBoxLayout()
        for button in (self.pin_button, self.clear_button, self.export_button):
            buttons.addWidget(button)

        self.roi_combo = LayerCombo(napari_viewer, is_roi_layer, optional=True)
        self.roi_combo.setToolTip("a Shapes layer (one spectrum per shape) or a Labels layer "
                                  "(one per label value)")
        roi_row, self.roi_button, self.roi_cancel = run_cancel_row("Update ROIs")
        self.roi_bar = QProgressBar()
        self.roi_status = QLabel("")
        self.roi_status.setWordWrap(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.roi_job = BackgroundJob(self.roi_bar, self.roi_button, self.roi_cancel,
                                     self.roi_status)
        self._roi_timer = QTimer(self)
        self._roi_timer.setSingleShot(True)
        self._roi_timer.setInterval(ROI_DEBOUNCE_MS)
        self._roi_timer.timeout.connect(self.update_rois)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("cube layer"))
        layout.addWidget(self.layer_combo)
        layout.addWidget(self.readout)
        layout.addWidget(hint)
        layout.addWidget(self.canvas)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(QLabel("ROI layer (Shapes or Labels)"))
        layout.addWidget(self.roi_combo)
        layout.addWidget(roi_row)
        layout.addWidget(self.roi_bar)
        layout.addWidget(self.roi_status)

        self.pin_button.clicked.connect(self.pin)
        self.clear_button.clicked.connect(self.clear_pins)
        self.export_button.clicked.connect(self._export_dialog)
        self.roi_button.clicked.connect(self.update_rois)
        self.layer_combo.currentTextChanged.connect(self._on_layer_changed)
        self.roi_combo.currentTextChanged.connect(self._on_roi_layer_changed)
        napari_viewer.mouse_drag_callbacks.append(self._on_click)
        napari_viewer.mouse_move_callbacks.append(self._on_move)
        napari_viewer.dims.events.current_step.connect(self._update_readout)
        napari_viewer.events.theme.connect(self._redraw)
        self._on_layer_changed()

    # ---------------------------------------------------------------- events
    def _pixel_under(self, position: Sequence[float] | None) -> tuple[int, int] | None:
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

    def _on_click(self, viewer: napari.Viewer, event: NapariMouseEvent) -> None:
        if event.button not in (None, 1) or self._detached():
            return
        pixel = self._pixel_under(event.position)
        if pixel is not None:
            self.show_pixel(*pixel)

    def _on_move(self, viewer: napari.Viewer, event: NapariMouseEvent) -> None:
        if "Shift" not in event.modifiers or self._detached():
            return
        pixel = self._pixel_under(event.position)
        if pixel is not None:
            self.show_pixel(*pixel)

    def _on_layer_changed(self, *args) -> None:
        self.current = None
        self._update_readout()
        self._redraw()
        self.update_rois()

    def _on_roi_layer_changed(self, *args) -> None:
        old, new = self._roi_source, self.roi_combo.layer()
        for layer, connect in ((old, False), (new, True)):
            if layer is None:
                continue
            for name in ("data", "paint"):  # shapes drawn or edited, labels painted or set
                emitter = getattr(layer.events, name, None)
                if emitter is None:
                    continue
                if connect:
                    emitter.connect(self._schedule_rois)
                else:
                    emitter.disconnect(self._schedule_rois)
        self._roi_source = new
        self.update_rois()

    def _schedule_rois(self, event: Event | None = None) -> None:
        """Measure the ROIs again once the edits of the ROI layer pause (or, for a request
        made while measuring, once the measurement has ended: while its result is handed
        over the job still counts as running)."""
        if self._detached():
            return
        self._roi_timer.start()

    # ------------------------------------------------------------------ API
    def show_pixel(self, row: int, col: int) -> PixelSpectrum | None:
        """Plot the selected layer's spectrum at data pixel ``(row, col)``."""
        layer = self.layer_combo.layer()
        if layer is None:
            return None
        self.current = pixel_spectrum(layer, row, col)
        # an empty plot says nothing: the status line says why (a note goes at the next pixel)
        if not self.current.has_data or self.status.text().startswith(NO_DATA):
            self.status.setText(self.current.no_data_note)
        self._redraw()
        return self.current

    def pin(self) -> None:
        """Keep the current spectrum on the plot and mark its pixel on the canvas (not a
        pixel without data: its line and CSV column would be empty)."""
        if self.current is None or any(p.key == self.current.key for p in self.pins):
            return
        if not self.current.has_data:
            self.status.setText(f"{self.current.no_data_note}; nothing to pin")
            return
        self.pins.append(self.current)
        self._update_pin_markers()
        self._redraw()

    def clear_pins(self) -> None:
        """Forget the pinned spectra and their canvas markers."""
        self.pins.clear()
        self._update_pin_markers()
        self._redraw()

    def current_band(self) -> int | None:
        """Index of the selected layer's band under the viewer's band slider; ``None``
        without a cube layer, or with the slider past its bands (a cube of fewer bands than
        another layer: napari then shows none of it)."""
        layer = self.layer_combo.layer()
        if layer is None:
            return None
        point = self.viewer.dims.point
        band = round(float(layer.world_to_data(point)[0]))
        return band if 0 <= band < layer.data.shape[0] else None

    def update_rois(self) -> None:
        """Measure the mean ± std spectrum of each region of the ROI layer (in the background).

        Regions are rasterised here (GUI thread, one bounding box each); the pixels are read
        and averaged in a worker, window by window. The result lands in :attr:`rois` and on
        the plot; while a measurement runs, a new request waits for it, clearing the plot
        included (the ROI layer deleted or set to none while measured: its spectra must not
        land after the clearing).
        """
        if self._detached():
            return
        if self.roi_job.running:
            self._roi_pending = True
            return
        self._roi_pending = False
        cube, source = self.layer_combo.layer(), self.roi_combo.layer()
        if cube is None or source is None:
            self.rois = []
            self.roi_status.setText("")
            self._redraw()
            return
        try:
            if is_labels_layer(source):
                regions = label_rois(source, cube)
            else:
                regions = shape_rois(source, cube)
        except Exception as exc:  # a malformed shape: say so, keep the viewer going
            self.rois = []
            self.roi_status.setText(f"error: {one_line(exc)}")
            self._redraw()
            return
        if not regions:
            self.rois = []
            what = "label" if is_labels_layer(source) else "rectangle, ellipse or polygon"
            self.roi_status.setText(f"no {what} of {source.name!r} over {cube.name!r}")
            self._redraw()
            return
        data, x = full_res(cube.data), layer_band_axis(cube)  # a pyramid: its level 0
        nodata = (cube.metadata or {}).get("nodata")

        def job(report: Callable[[int, int], None]) -> list[RoiSpectrum]:
            return roi_spectra(data, regions, x, nodata, report=report)

        self.roi_job.start(job, desc="ROI spectra", on_result=self._show_rois,
                           on_error=self._roi_failed)

    def _show_rois(self, spectra: list[RoiSpectrum]) -> None:
        self.rois = spectra
        pixels = sum(s.pixels for s in spectra)
        self.roi_status.setText(f"{len(spectra)} region{'s' * (len(spectra) != 1)}, "
                                f"{pixels} pixels")
        self._redraw()
        if self._roi_pending:
            self._schedule_rois()

    def _roi_failed(self, exc: BaseException) -> None:
        if self._roi_pending:
            self._schedule_rois()

    # --------------------------------------------------------------- export
    def spectra_columns(self) -> tuple[np.ndarray, str, dict[str, np.ndarray], int]:
        """What :meth:`export_csv` writes.

        Returns
        -------
        x : numpy.ndarray, shape (bands,)
            Wavelengths (nm) of the selected cube layer, or band numbers.
        x_name : str
            ``wavelength_nm`` or ``band``.
        columns : dict of str to numpy.ndarray
            ``pixel_r<row>_c<col>`` per pin, ``<roi>_mean`` and ``<roi>_std`` per region.
        skipped : int
            Spectra left out because they come from a cube with other bands.
        """
        layer = self.layer_combo.layer()
        if layer is not None:
            x = layer_band_axis(layer)
            x_name = WAVELENGTH_COLUMN if has_wavelengths(layer) else BAND_COLUMN
        elif self.pins:
            x, x_name = self.pins[0].x, WAVELENGTH_COLUMN
        else:
            return np.zeros(0), WAVELENGTH_COLUMN, {}, 0
        names: list[str] = []
        values: list[np.ndarray] = []
        skipped = 0

        def same_axis(other: np.ndarray) -> bool:
            return other.shape == x.shape and np.allclose(other, x, equal_nan=True)

        for pin in self.pins:
            if not same_axis(pin.x):
                skipped += 1
                continue
            names.append(pin.column)
            values.append(pin.values)
        for roi in self.rois:
            if not same_axis(roi.x):
                skipped += 1
                continue
            base = column_name(roi.name)
            names += [f"{base}_mean", f"{base}_std"]
            values += [roi.mean, roi.std]
        return x, x_name, dict(zip(unique_names(names), values, strict=True)), skipped

    def export_csv(self, path: str | Path) -> Path | None:
        """Write the pinned pixel spectra and the ROI means and stds to ``path`` (CSV).

        Columns: ``wavelength_nm`` (``band`` without wavelengths), then one per spectrum
        (see :meth:`spectra_columns`); written atomically. Returns the path, or ``None``
        (with the reason in the status line) when there is nothing to write or writing fails.
        """
        x, x_name, columns, skipped = self.spectra_columns()
        if not columns:
            self.status.setText("nothing to export: pin a pixel or choose a ROI layer")
            return None
        try:
            written = write_spectra_csv(path, x, columns, x_name=x_name)
        except (OSError, ValueError) as exc:
            self.status.setText(f"error: {one_line(exc)}")
            return None
        text = f"wrote {len(columns)} spectra to {Path(written).name}"
        if skipped:
            text += f" ({skipped} from a cube with other bands left out)"
        self.status.setText(text)
        return written

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export spectra", "spectra.csv",
                                              "CSV files (*.csv)")
        if path:
            if not path.lower().endswith(".csv"):
                path += ".csv"
            self.export_csv(path)

    # -------------------------------------------------------------- markers
    def _update_pin_markers(self) -> None:
        """One Points layer marks the pinned pixels, in their line colours."""
        layer = self.pin_layer
        if layer is not None and layer not in self.viewer.layers:
            layer = self.pin_layer = None  # deleted by the user: made again when needed
        pins = [p for p in self.pins if p.world is not None]
        coords = np.array([p.world for p in pins], dtype=np.float64).reshape(-1, 2)
        colors = np.array([[*pin_color(self.pins.index(p)), 1.0] for p in pins]).reshape(-1, 4)
        sizes = np.array([PIN_MARKER_PIXELS * p.size for p in pins])
        if layer is None:
            if not len(coords):
                return
            active = self.viewer.layers.selection.active
            self.pin_layer = self.viewer.add_points(
                coords, ndim=2, name=PIN_LAYER_NAME, size=sizes, face_color=colors,
                border_color="white", border_width=0.15, symbol="disc",
                metadata={"pinned": [p.label for p in pins]})
            if active is not None:
                self.viewer.layers.selection.active = active
            return
        layer.data = coords
        if len(coords):
            layer.size = sizes
            layer.face_color = colors
            layer.border_color = "white"
        layer.metadata["pinned"] = [p.label for p in pins]

    # ---------------------------------------------------------------- plot
    def _update_readout(self, *args) -> None:
        band = self.current_band()
        layer = self.layer_combo.layer()
        if layer is None:
            self.readout.setText("no cube layer")
            return
        wl = (layer.metadata or {}).get("wavelengths")
        text = f"band {band} of {layer.data.shape[0]}"
        if band is None:  # not "band 12 of 13", which napari does not show
            text = f"band slider outside the {layer.data.shape[0]} bands of {layer.name!r}"
        elif wl is not None and len(wl) == layer.data.shape[0]:
            text += f" · {float(wl[band]):.1f} nm"
        self.readout.setText(text)
        self._redraw()

    def _redraw(self, *args) -> None:
        if self._detached():
            return
        colors = theme_colors(self.viewer)
        fig, ax = self.figure, self.axes
        ax.clear()
        fig.set_facecolor(colors["background"])
        ax.set_facecolor(colors["background"])
        for i, spec in enumerate(self.pins):
            ax.plot(spec.x, spec.values, color=pin_color(i), lw=1.5, label=spec.label)
        if self.current is not None:
            ax.plot(self.current.x, self.current.values, color=colors["text"], lw=1.8,
                    label=self.current.label)
        for roi in self.rois:
            ax.fill_between(roi.x, roi.mean - roi.std, roi.mean + roi.std, color=roi.color,
                            alpha=0.25, lw=0, zorder=1)
            ax.plot(roi.x, roi.mean, color=roi.color, lw=1.8, zorder=2,
                    label=f"{roi.label} ± std, {roi.pixels} px")
        layer = self.layer_combo.layer()
        band = self.current_band()
        if layer is not None and band is not None:
            x = layer_band_axis(layer)
            ax.axvline(x[band], color=colors["text"], lw=0.8, ls=":")
        has_wl = layer is not None and has_wavelengths(layer)
        ax.set_xlabel("wavelength (nm)" if has_wl else "band", color=colors["text"])
        ax.set_ylabel(quantity_label(layer) if layer is not None else "value",
                      color=colors["text"])
        ax.tick_params(colors=colors["text"], labelsize=8)
        for spine in ax.spines.values():
            spine.set_color(colors["text"])
        if self.pins or self.current is not None or self.rois:
            leg = ax.legend(fontsize=7, frameon=False)
            for text in leg.get_texts():
                text.set_color(colors["text"])
        self.canvas.draw_idle()
