"""Band math dock: a spectral index (NDVI or a formula over wavelengths) as a new image layer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtWidgets import QComboBox, QLabel, QLineEdit, QProgressBar, QVBoxLayout, QWidget

from hsi.viewer._band_math import PRESETS, BandUse, band_names, describe, evaluate, resolve
from hsi.viewer._convert import (
    PLANE_AXIS_LABELS,
    band_has_data,
    band_sample,
    is_multiscale,
    sample_level,
    stretch_limits,
    valid_values,
)
from hsi.viewer._widgets._common import (
    CUBE_TIP,
    BackgroundJob,
    LayerCombo,
    is_cube_layer,
    one_line,
    run_cancel_row,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import dask.array as da
    import napari
    from napari.layers import Image
    from numpy.typing import ArrayLike

CUSTOM = "custom"


def _wavelengths(layer: Image) -> np.ndarray | None:
    wl = (layer.metadata or {}).get("wavelengths")
    if wl is None or len(wl) != layer.data.shape[0]:
        return None
    return np.asarray(wl, dtype=np.float64)


def valid_sample(image: np.ndarray | da.Array | list) -> np.ndarray:
    """The finite values of a strided sample of a 2-D result (flattened). Of a multiscale
    result (a list of levels), the sample comes from the level
    :func:`~hsi.viewer._convert.sample_level` picks."""
    return valid_values(band_sample(sample_level(image)[None], 0))


def band_math_layer(expression: str, data: np.ndarray | da.Array | list, *,
                    wavelengths: ArrayLike | None = None, nodata: float | None = None,
                    grid: dict | None = None) -> tuple[Any, dict[str, Any], dict]:
    """Evaluate ``expression`` on a cube (blocking: call it off the GUI thread).

    Parameters
    ----------
    expression : str
        See :mod:`hsi.viewer._band_math`.
    data : array-like, shape (bands, H, W), or a list of such (multiscale levels)
        The cube layer's data (numpy or dask); of a multiscale cube layer, its levels.
    wavelengths : array-like, shape (bands,), optional
        Band centres (nm).
    nodata : float, optional
    grid : dict, optional
        ``scale`` and ``translate`` of the ``(y, x)`` axes, ``crs``, ``transform`` and
        ``source_layer`` (the cube layer's name), copied onto the new layer.

    Returns
    -------
    image : numpy.ndarray or dask.array.Array, shape (H, W), float32, or a list of such
        In memory unless the cube is lazy and the result larger than the viewer's eager limit.
        A lazy multiscale cube (a big scene from a file) gives a multiscale result
        (``attrs["multiscale"]``): the expression evaluated lazily on each level, so napari
        reads only the level and part on screen; level 0 is the full-resolution result (what
        a writer saves). A pyramid held in memory gives its full-resolution result only.
    attrs : dict
        Image layer keyword arguments: the expression as name, percentile contrast, the cube's
        grid and georeference (``metadata``; ``metadata["empty_bands"]``: the bands used that
        have no valid value, all NaN or nodata, so the result is NaN where they are used;
        ``metadata["has_data"]``: whether the result's sample has a valid value, False when
        it is NaN everywhere), a colour map.
    used : dict of str to BandUse
    """
    from hsi.viewer._reader import VIEWER_EAGER_BYTES

    grid = grid or {}
    levels = [data[i] for i in range(len(data))] if is_multiscale(data) else [data]
    if isinstance(levels[0], np.ndarray):  # in memory: the full-resolution result, as is
        levels = levels[:1]
    image, used = evaluate(expression, levels[0], wavelengths, nodata)
    if len(levels) > 1:  # a pyramid: the same levels, each evaluated lazily
        image = [image, *(evaluate(expression, level, wavelengths, nodata)[0]
                          for level in levels[1:])]
    elif not isinstance(image, np.ndarray) and image.nbytes <= VIEWER_EAGER_BYTES:
        image = np.asarray(image)
    text = expression.strip()
    # a band with no valid value (all NaN or nodata: a product's water-absorption band) makes
    # the result NaN wherever it is used; said in the status line (judged on its strided
    # sample, one band read each)
    source = levels if len(levels) > 1 else levels[0]
    empty = sorted({use.band for use in used.values()
                    if not band_has_data(source, use.band, nodata)})
    metadata = {"crs": grid.get("crs"), "transform": grid.get("transform"), "wavelengths": None,
                "fwhm": None, "nodata": None, "band_math": text,
                "source_layer": grid.get("source_layer"),
                "bands": {name: use.band for name, use in used.items()},
                "empty_bands": empty}
    values = valid_sample(image)  # 2-98 % contrast, (0, 1) for a result that is all NaN
    metadata["has_data"] = bool(values.size)
    attrs = {"name": text, "contrast_limits": stretch_limits(values) or (0.0, 1.0),
             "axis_labels": PLANE_AXIS_LABELS, "colormap": "viridis", "metadata": metadata}
    attrs.update({k: tuple(grid[k]) for k in ("scale", "translate") if grid.get(k) is not None})
    if len(levels) > 1:
        attrs["multiscale"] = True
    return image, attrs, used


class BandMathWidget(QWidget):
    """Compute a spectral index from a cube layer's bands, by wavelength.

    ``R<nm>`` stands for the band nearest ``<nm>`` nm (refused when none lies within 20 nm),
    ``B<i>`` for band ``i``; ``+ - * / **``, unary minus, numbers and parentheses, nothing else
    (see :mod:`hsi.viewer._band_math`). The status line says which band each name uses as you
    type. *Compute* evaluates off the GUI thread and adds an image layer named after the
    expression (percentile contrast, NaN where dividing by zero or on nodata).
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.result_layer = None
        self.used: dict[str, BandUse] = {}

        self.layer_combo = LayerCombo(napari_viewer, is_cube_layer)
        self.preset_combo = QComboBox()
        self.preset_combo.addItems([*PRESETS, CUSTOM])
        self.layer_combo.setToolTip(CUBE_TIP)
        self.preset_combo.setToolTip("a spectral index to start from; editing the "
                                     "expression makes it custom")
        self.expression_edit = QLineEdit(PRESETS["NDVI"])
        self.expression_edit.setToolTip("R<nm>: band nearest <nm> nm; B<i>: band i; "
                                        "+ - * / ** and parentheses")
        row, self.run_button, self.cancel_button = run_cancel_row("Compute")
        self.progress_bar = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.job = BackgroundJob(self.progress_bar, self.run_button, self.cancel_button,
                                 self.status)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("cube layer"))
        layout.addWidget(self.layer_combo)
        layout.addWidget(QLabel("preset"))
        layout.addWidget(self.preset_combo)
        layout.addWidget(QLabel("expression"))
        layout.addWidget(self.expression_edit)
        layout.addWidget(row)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self.preset_combo.currentTextChanged.connect(self._on_preset)
        self.expression_edit.textChanged.connect(self._on_text)
        self.layer_combo.currentTextChanged.connect(self.check)
        self.run_button.clicked.connect(self.compute)
        self.check()

    @property
    def expression(self) -> str:
        return self.expression_edit.text().strip()

    def set_expression(self, text: str) -> None:
        """Type ``text`` into the expression field (the preset becomes *custom* unless it
        is one)."""
        self.expression_edit.setText(text)

    def _on_preset(self, name: str) -> None:
        if name in PRESETS and self.expression != PRESETS[name]:
            self.expression_edit.setText(PRESETS[name])

    def _on_text(self, text: str) -> None:
        preset = next((k for k, v in PRESETS.items() if v == text.strip()), CUSTOM)
        if self.preset_combo.currentText() != preset:
            self.preset_combo.blockSignals(True)
            self.preset_combo.setCurrentText(preset)
            self.preset_combo.blockSignals(False)
        self.check()

    def check(self, *args) -> dict[str, BandUse] | None:
        """Parse the expression and choose its bands; one status line says which, or why not.

        Returns the bands used, or ``None`` when the expression is refused.
        """
        layer = self.layer_combo.layer()
        if layer is None:
            self.status.setText("no cube layer")
            return None
        try:
            used = resolve(band_names(self.expression), _wavelengths(layer), layer.data.shape[0])
        except ValueError as exc:  # BandMathError, WavelengthError
            self.status.setText(f"error: {one_line(exc)}")
            return None
        self.used = used
        self.status.setText(describe(used) or "no band named: a constant image")
        return used

    def compute(self) -> None:
        """Evaluate the expression in the background and add the result as an image layer."""
        if self.job.running:
            return
        used = self.check()
        layer = self.layer_combo.layer()
        if used is None or layer is None:
            return
        expression = self.expression
        meta = layer.metadata or {}
        data = layer.data  # of a multiscale layer, its levels: the result is a pyramid too
        if is_multiscale(data):
            data = [data[i] for i in range(len(data))]
        wavelengths, nodata = _wavelengths(layer), meta.get("nodata")
        grid = {"scale": layer.scale[-2:], "translate": layer.translate[-2:],
                "crs": meta.get("crs"), "transform": meta.get("transform"),
                "source_layer": layer.name}  # read here, on the GUI thread

        def job(report: Callable[[int, int], None]
                ) -> tuple[np.ndarray | da.Array | list, dict[str, Any], dict[str, BandUse]]:
            return band_math_layer(expression, data, wavelengths=wavelengths, nodata=nodata,
                                   grid=grid)

        self.job.start(job, desc="band math", on_result=self._add_layer)

    def _add_layer(self, result: tuple[np.ndarray | da.Array | list, dict[str, Any],
                                       dict[str, BandUse]]) -> None:
        image, attrs, used = result
        self.used = used
        self.result_layer = self.viewer.add_image(image, **attrs)
        text = f"added {self.result_layer.name!r}: {describe(used)}"
        empty = set(attrs["metadata"].get("empty_bands") or ())
        reason = "a division by zero, or nodata in every pixel"
        if empty:
            names = describe({k: u for k, u in used.items() if u.band in empty})
            text += (f"; no valid value (all NaN or nodata) in {names}: the result is NaN "
                     "where it is used")
            reason = f"no valid value in {names}"
        elif not attrs["metadata"].get("has_data", True):
            text += f"; the result is NaN everywhere ({reason})"
        if not attrs["metadata"].get("has_data", True):
            from napari.utils.notifications import show_warning

            # a blank layer: said where the user looks, not only in the dock's status line
            show_warning(f"band math: {self.result_layer.name!r} is NaN everywhere: {reason}")
        self.status.setText(text)
