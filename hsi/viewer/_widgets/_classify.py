"""Classify dock: paint labels, train the GAN (+ CRF) in the background, inspect the class map."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hsi.classification.config import GanConfig
from hsi.viewer._convert import (
    PLANE_AXIS_LABELS,
    class_color,
    class_colormap,
    class_features,
    full_res,
    georef_metadata,
)
from hsi.viewer._offthread import preload_torch_libraries, warm_up
from hsi.viewer._widgets._common import (
    CUBE_TIP,
    DEVICE_TIP,
    DEVICES,
    SEED_TIP,
    BackgroundJob,
    LayerCombo,
    class_table_rows,
    fill_class_table,
    fit_columns,
    fit_table_width,
    is_cube_layer,
    is_labels_layer,
    layer_cube,
    one_line,
    run_cancel_row,
    start_once,
    stop_callback,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import napari
    from napari.layers import Image, Labels
    from numpy.typing import ArrayLike

    from hsi.classification.pipeline import Classifier

#: Tile side (pixels) of the dock's prediction on the scene engine (``hsi classify``'s).
PREDICT_TILE = 512

#: Imported in the background when the dock opens, so that *Train* finds them ready.
WARM_UP_MODULES = ("torch", "hsi.classification")



def compact_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber painted labels to ``1..K`` (0 stays unlabelled).

    Returns
    -------
    compact : numpy.ndarray of uint8, shape (H, W)
    values : numpy.ndarray of int, shape (K,)
        ``values[k - 1]`` is the painted value of compact class ``k``.
    """
    labels = np.asarray(labels)
    values = np.unique(labels[labels > 0]).astype(np.int64)
    lut = np.zeros(int(labels.max(initial=0)) + 1, dtype=np.uint8)
    lut[values] = np.arange(1, values.size + 1, dtype=np.uint8)
    return lut[np.clip(labels, 0, None)], values


def normalized_entropy(probabilities: np.ndarray) -> np.ndarray:
    """Per-pixel entropy of ``(K, H, W)`` class probabilities divided by ``log K`` (0..1)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)
    k = p.shape[0]
    h = -(p * np.log(p)).sum(axis=0)
    return (h / np.log(k) if k > 1 else np.zeros_like(h)).astype(np.float32)


def _rgba(color: ArrayLike) -> np.ndarray:
    return np.asarray(color, dtype=np.float32).reshape(-1)[:4]


class ClassifyWidget(QWidget):
    """Train a classifier on painted labels and add the class map with its legend.

    Pick the cube layer and a Labels layer (or create one), paint a few strokes per class,
    name the classes in the table, then *Train & classify*. Class names live in the Labels
    layer's ``metadata["class_names"]`` (value -> name) when it has one, so a layer arriving
    with names (e.g. from the *Cluster* widget) shows them. Training (:func:`
    hsi.classification.train_classifier`) and prediction run off the GUI thread with a
    determinate progress bar (every training step, then every tile of the prediction); Cancel
    stops the training at its next step, the prediction at its next tile. The prediction runs
    on the scene engine like ``hsi classify predict`` (:func:`
    hsi.classification.predict.predict_scene`, here with in-memory sinks: :func:`
    hsi.classification.predict.predict_arrays`): the cube layer is read window by window in
    tiles of :attr:`tile` pixels, each with its halo. The result is a
    Labels layer with the painted colours, a class-probability (confidence) image, an
    uncertainty image (normalised entropy) and a
    legend (name, colour, pixel count). *Export* writes the class map as a GeoTIFF.
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.class_names: dict[int, str] = {}
        self.class_map_layer = None
        self.classifier = None
        #: (K, H, W) class probabilities of the last run, in the order of the legend.
        self.probabilities: np.ndarray | None = None
        #: Tile side (pixels) of the prediction on the scene engine, as ``hsi classify``.
        self.tile = PREDICT_TILE
        self._watched = None

        self.cube_combo = LayerCombo(napari_viewer, is_cube_layer)
        self.labels_combo = LayerCombo(napari_viewer, is_labels_layer)
        self.new_labels_button = QPushButton("New training labels for this cube")
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["value", "colour", "name", "painted px"])
        self.table.verticalHeader().setVisible(False)
        fit_columns(self.table)
        self.table.setToolTip("double-click a name to edit it")
        self.refresh_button = QPushButton("Update classes from labels")
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(0, 10000)
        self.epochs_spin.setSpecialValueText("default")
        self.epochs_spin.setToolTip("passes over the scene's pixels; default: "
                                    f"{GanConfig.epochs} (small scenes train longer)")
        self.members_spin = QSpinBox()
        self.members_spin.setRange(1, 16)
        self.members_spin.setValue(GanConfig.members)
        self.members_spin.setToolTip("discriminators trained from their own seeds, their "
                                     "probabilities averaged; 1 trains "
                                     f"{GanConfig.members}× faster")
        self.crf_check = QCheckBox("refine with CRF")
        self.crf_check.setChecked(True)
        self.crf_check.setToolTip("smooth the class map with a conditional random field "
                                  "(its parameters cross-validated on the painted pixels)")
        self.device_combo = QComboBox()
        self.device_combo.addItems(DEVICES)
        self.device_combo.setToolTip(DEVICE_TIP)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip(SEED_TIP)
        self.cube_combo.setToolTip(CUBE_TIP)
        self.labels_combo.setToolTip("a Labels layer with a few painted strokes per class "
                                     "(0 = unlabelled)")
        row, self.run_button, self.cancel_button = run_cancel_row("Train && classify")
        self.progress_bar = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.legend = QTableWidget(0, 3)
        self.legend.setHorizontalHeaderLabels(["colour", "class", "pixels"])
        self.legend.verticalHeader().setVisible(False)
        self.legend.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        fit_columns(self.legend)
        self.export_button = QPushButton("Export class map (GeoTIFF)…")
        self.export_button.setEnabled(False)

        form = QFormLayout()
        form.addRow("cube", self.cube_combo)
        form.addRow("training labels", self.labels_combo)
        options = QFormLayout()
        options.addRow("epochs", self.epochs_spin)
        options.addRow("discriminators", self.members_spin)
        options.addRow("", self.crf_check)
        options.addRow("device", self.device_combo)
        options.addRow("seed", self.seed_spin)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.new_labels_button)
        layout.addWidget(QLabel("classes"))
        layout.addWidget(self.table)
        layout.addWidget(self.refresh_button)
        layout.addLayout(options)
        layout.addWidget(row)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addWidget(QLabel("legend"))
        layout.addWidget(self.legend)
        layout.addWidget(self.export_button)

        self.job = BackgroundJob(self.progress_bar, self.run_button, self.cancel_button,
                                 self.status)
        warm_up(WARM_UP_MODULES)
        self.new_labels_button.clicked.connect(self.new_labels_layer)
        self.refresh_button.clicked.connect(self.refresh_classes)
        self.labels_combo.currentTextChanged.connect(self._watch_labels)
        self.table.itemChanged.connect(self._on_item_changed)
        self.run_button.clicked.connect(self.run)
        self.export_button.clicked.connect(self._export_dialog)
        self._watch_labels()

    # ------------------------------------------------------------- classes
    def new_labels_layer(self) -> Labels | None:
        """Add an empty Labels layer on the selected cube's grid, painting in hsikit's class
        colours (:func:`hsi.viewer._convert.class_color`), and select it."""
        cube = self.cube_combo.layer()
        if cube is None:
            return None
        layer = self.viewer.add_labels(
            np.zeros(cube.data.shape[-2:], dtype=np.uint8), name=f"{cube.name} training labels",
            scale=cube.scale[-2:], translate=cube.translate[-2:],
            colormap=class_colormap(range(1, 256)),  # hsikit's distinct class colours
            metadata={**georef_metadata(layer_cube(cube)), "class_names": {}},
        )
        self.labels_combo.select(layer)
        return layer

    def _watch_labels(self, *args) -> None:
        # class names belong to a Labels layer: another layer starts from its own names
        if self.labels_combo.layer() is not self._watched:
            self.class_names = {}
        if self._watched is not None:
            for event in (self._watched.events.paint, self._watched.events.data):
                try:
                    event.disconnect(self.refresh_classes)
                except (TypeError, ValueError, RuntimeError):
                    pass
        self._watched = self.labels_combo.layer()
        if self._watched is not None:
            self._watched.events.paint.connect(self.refresh_classes)
            self._watched.events.data.connect(self.refresh_classes)
        self.refresh_classes()

    @staticmethod
    def _layer_names(layer: Labels | None, create: bool = False) -> dict | None:
        """The layer's ``metadata["class_names"]`` as a dict value -> name (a list names
        values 1, 2...); ``None`` when it has none, unless ``create`` (then it gets one)."""
        if layer is None:
            return None
        names = (layer.metadata or {}).get("class_names")
        if isinstance(names, (list, tuple)):
            names = {i: str(name) for i, name in enumerate(names, start=1)}
        elif not isinstance(names, dict):
            names = None
        if names is not None or create:
            names = {} if names is None else names
            layer.metadata["class_names"] = names
        return names

    def class_color(self, value: int) -> np.ndarray:
        """RGBA (0-1) of ``value`` in the training Labels layer (default classes otherwise)."""
        layer = self.labels_combo.layer()
        if layer is not None:
            rgba = _rgba(layer.colormap.map(np.asarray([value]))[0])
            if rgba[3] > 0:
                return rgba
        return np.asarray([*(np.asarray(class_color(value)) / 255), 1.0], dtype=np.float32)

    def refresh_classes(self, *args) -> None:
        """Rebuild the class table from the values painted in the training layer."""
        layer = self.labels_combo.layer()
        values, counts = np.array([], dtype=np.int64), np.array([], dtype=np.int64)
        for key, value in (self._layer_names(layer) or {}).items():
            self.class_names[int(key)] = str(value)
        if layer is not None:
            data = np.asarray(full_res(layer.data))  # a multiscale layer: its level 0
            values, counts = np.unique(data[data > 0], return_counts=True)
        rows = []
        for value, count in zip(values, counts, strict=True):
            value = int(value)
            name = self.class_names.setdefault(value, f"class {value}")
            rgba = self.class_color(value)
            rows.append((value, QColor.fromRgbF(*(float(c) for c in rgba[:3])), name, int(count)))
        fill_class_table(self.table, rows)
        self._name_features(layer)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() != 2:
            return
        value = int(self.table.item(item.row(), 0).text())
        self._store_name(value, item.text().strip() or f"class {value}")
        fit_table_width(self.table)  # a longer name widens its column

    def _store_name(self, value: int, name: str) -> None:
        self.class_names[int(value)] = name
        layer = self.labels_combo.layer()
        names = self._layer_names(layer, create=True)
        if names is not None:
            names[int(value)] = name
        self._name_features(layer)

    def _name_features(self, layer: Labels | None) -> None:
        """Name the classes of the class table in ``layer``'s features, so that napari's
        status bar shows the class painted under the cursor."""
        if layer is not None:
            layer.features = class_features(
                {value: self.class_names.get(value, f"class {value}")
                 for value, _, _ in class_table_rows(self.table)})

    def set_class_name(self, value: int, name: str) -> None:
        """Name class ``value`` (as editing the table does)."""
        self._store_name(value, name)
        self.refresh_classes()

    def class_table(self) -> list[tuple[int, str, int]]:
        """The class table as ``(value, name, painted pixels)`` rows."""
        return class_table_rows(self.table)

    # ----------------------------------------------------------------- run
    def run(self) -> None:
        """Train on the painted pixels and classify the whole cube in the background.

        Nothing while a run is going on; labels or a cube that cannot be used (no class
        painted, another shape, metadata that do not make a cube) are reported as one line in
        the status and a napari notification, like a failed run.
        """
        start_once(self.job, self.status, "classify", self._start)

    def _missing_inputs(self) -> str:
        """Why *Train* cannot start without a cube or training labels. napari's own *New
        labels layer* button makes a Labels layer with the cube's band axis, which the labels
        box does not offer (training labels are one plane): said, rather than "choose a
        Labels layer" over the layer the user has just painted."""
        from napari.layers import Labels

        stacked = [layer for layer in self.viewer.layers
                   if isinstance(layer, Labels) and layer.ndim > 2]
        if self.cube_combo.layer() is None or not stacked:
            return "choose a cube layer and a Labels layer with painted classes"
        return (f"Labels layer {stacked[0].name!r} has a plane per band "
                f"{tuple(stacked[0].data.shape)}, training labels are one (H, W) plane: "
                f"paint on '{self.new_labels_button.text()}'")

    def _start(self) -> None:
        cube_layer, labels_layer = self.cube_combo.layer(), self.labels_combo.layer()
        self.refresh_classes()
        if cube_layer is None or labels_layer is None:
            raise ValueError(self._missing_inputs())
        painted = np.asarray(full_res(labels_layer.data))  # a multiscale layer: its level 0
        if painted.shape != tuple(cube_layer.data.shape[-2:]):
            raise ValueError(f"labels layer {labels_layer.name!r}: expected shape "
                             f"{tuple(cube_layer.data.shape[-2:])} (the cube's H, W), "
                             f"got {painted.shape}")
        compact, values = compact_labels(painted)
        if values.size < 2:
            raise ValueError(f"labels layer {labels_layer.name!r}: paint at least 2 "
                             f"classes, got {values.size}")
        cube = layer_cube(cube_layer)
        epochs = self.epochs_spin.value() or None
        use_crf = self.crf_check.isChecked()
        members = self.members_spin.value()
        tile = int(self.tile)
        # the classes as painted and named now: the labels box may change while training
        names, colors = self._classes(values)
        options: dict[str, Any] = {
            "epochs": epochs, "seed": self.seed_spin.value(),
            "device": self.device_combo.currentText(), "class_names": list(names.values()),
        }

        def work(report: Callable[[int, int], None]) -> tuple[Classifier, np.ndarray, np.ndarray]:
            # torch is imported here, off the GUI thread (its libraries loaded GIL-free first)
            preload_torch_libraries()
            from hsi.classification import train_classifier
            from hsi.classification.predict import predict_arrays

            # without the CRF, its cross-validated parameter search would be wasted work
            config = GanConfig(crf_select="cv" if use_crf else "fixed", members=members)
            stop = stop_callback(report)
            steps = {"total": 1}  # training steps + 1 for the prediction, once training says

            def callback(done: int, total: int) -> bool:
                steps["total"] = total + 1
                return stop(done, total + 1)

            data = cube.compute()  # training: the painted pixels and the PCA of the scene
            classifier = train_classifier(data, compact, progress=False, callback=callback,
                                          config=config, **options)
            del data
            trained = steps["total"] - 1

            def predict_callback(done: int, total: int) -> bool:  # the tiles, after training
                return stop(trained + done, trained + total)

            # the scene engine: windows of the layer, tile by tile, as `hsi classify predict`
            class_map, probabilities = predict_arrays(classifier, cube, use_crf=use_crf,
                                                      tile=tile, callback=predict_callback)
            return classifier, class_map, probabilities

        def done(result: tuple[Classifier, np.ndarray, np.ndarray]) -> None:
            classifier, class_map, probabilities = result
            self.classifier = classifier
            self._add_results(cube_layer, class_map, probabilities, values, names=names,
                              colors=colors)

        self.job.start(work, desc="training classifier", on_result=done)

    def _classes(self, values: np.ndarray) -> tuple[dict[int, str], dict[int, np.ndarray]]:
        """``{value: name}`` and ``{value: RGBA}`` of the painted ``values``, from the class
        table and the training Labels layer."""
        names = {int(v): self.class_names.get(int(v), f"class {int(v)}") for v in values}
        return names, {v: self.class_color(v) for v in names}

    def _add_results(self, cube_layer: Image, class_map: np.ndarray, probabilities: np.ndarray,
                     values: np.ndarray, *, names: dict[int, str] | None = None,
                     colors: dict[int, np.ndarray] | None = None) -> None:
        """Add the class map, probability and uncertainty layers and fill the legend; the
        classes are named and coloured by ``names`` and ``colors`` (those of the training
        labels when the run started), else as the class table and training layer are now."""
        from napari.utils.colormaps import DirectLabelColormap

        lut = np.zeros(values.size + 1, dtype=np.int64)
        lut[1:] = values
        # the painted values come back as they are: uint8 up to 255, wider beyond (a class
        # painted 300 on an int32 Labels layer must not come back as 44)
        dtype = np.uint8 if int(values.max(initial=0)) <= 255 else np.min_scalar_type(
            int(values.max()))
        mapped = lut[np.clip(class_map.astype(np.int64), 0, values.size)].astype(dtype)
        geo = georef_metadata(layer_cube(cube_layer))
        plane = {"scale": cube_layer.scale[-2:], "translate": cube_layer.translate[-2:]}
        if names is None or colors is None:
            names, colors = self._classes(values)
        color_dict: dict[int | None, Any] = {None: np.zeros(4), 0: np.zeros(4)}
        color_dict.update(colors)
        base = cube_layer.name
        self.probabilities = probabilities
        self.viewer.add_image(
            probabilities.max(axis=0), name=f"{base} class probability", colormap="viridis",
            contrast_limits=(0.0, 1.0), visible=False, axis_labels=PLANE_AXIS_LABELS, **plane,
            metadata={**geo, "description": "highest class probability (confidence)"})
        self.viewer.add_image(
            normalized_entropy(probabilities), name=f"{base} uncertainty", colormap="magma",
            contrast_limits=(0.0, 1.0), visible=False, axis_labels=PLANE_AXIS_LABELS, **plane,
            metadata={**geo, "description": "class entropy / log K (0 = certain, 1 = uniform)"})
        self.class_map_layer = self.viewer.add_labels(
            mapped, name=f"{base} class map", colormap=DirectLabelColormap(color_dict=color_dict),
            axis_labels=PLANE_AXIS_LABELS, features=class_features(names), **plane,
            metadata={**geo, "class_names": names,
                      "class_colors": {v: tuple(round(float(c) * 255) for c in rgba[:3])
                                       for v, rgba in colors.items()}})
        self._fill_legend(mapped, names, colors)
        self.export_button.setEnabled(True)
        self.status.setText(f"added {self.class_map_layer.name!r}: {values.size} classes")

    def _fill_legend(self, class_map: np.ndarray, names: dict[int, str],
                     colors: dict[int, np.ndarray]) -> None:
        counts = np.bincount(class_map.reshape(-1), minlength=max(names, default=0) + 1)
        self.legend.setRowCount(len(names))
        for row, value in enumerate(sorted(names)):
            swatch = QTableWidgetItem("")
            swatch.setBackground(QColor.fromRgbF(*(float(c) for c in colors[value][:3])))
            self.legend.setItem(row, 0, swatch)
            self.legend.setItem(row, 1, QTableWidgetItem(names[value]))
            self.legend.setItem(row, 2, QTableWidgetItem(str(int(counts[value]))))
        fit_table_width(self.legend)

    def legend_rows(self) -> list[tuple[str, tuple[int, int, int], int]]:
        """The legend as ``(name, (r, g, b) 0-255, pixel count)`` rows."""
        rows = []
        for row in range(self.legend.rowCount()):
            color = self.legend.item(row, 0).background().color()
            rows.append((self.legend.item(row, 1).text(),
                         (color.red(), color.green(), color.blue()),
                         int(self.legend.item(row, 2).text())))
        return rows

    # -------------------------------------------------------------- export
    def export(self, path: str) -> list[str]:
        """Write the last class map as a GeoTIFF with its colour table and class names."""
        from hsi.viewer._writer import write_labels

        layer = self.class_map_layer
        if layer is None:
            raise ValueError("export: no class map yet (train & classify first)")
        return write_labels(path, layer.data, {"name": layer.name, "metadata": layer.metadata,
                                               "colormap": layer.colormap})

    def _export_dialog(self) -> None:
        from napari.utils.notifications import show_error, show_info

        path, _ = QFileDialog.getSaveFileName(self, "Export class map", "class_map.tif",
                                              "GeoTIFF (*.tif *.tiff)")
        if not path:
            return
        try:
            self.export(path)
        except (ValueError, OSError) as exc:
            show_error(f"export: {one_line(exc)}")
            return
        show_info(f"wrote {path}")
