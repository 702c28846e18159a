"""Cluster dock: an unsupervised class map of a cube, to name, merge and hand to *Classify*."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hsi.viewer._convert import (
    PLANE_AXIS_LABELS,
    class_color,
    class_colormap,
    class_features,
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
    is_cube_layer,
    layer_cube,
    one_line,
    run_cancel_row,
    start_once,
    stop_callback,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import napari
    from napari.layers import Image
    from napari.utils.events import Event

    from hsi.clustering.api import ClusterResult
    from hsi.viewer._widgets._classify import ClassifyWidget


#: Tile side (pixels) of a tiled run on the scene engine (``hsi cluster``'s default).
CLUSTER_TILE = 512

#: Metadata key of a cluster layer naming the cube layer it was computed from.
SOURCE_KEY = "source_layer"
#: Characters the merge boxes ask room for (they take the dock's width when it has more).
MERGE_MIN_CHARS = 12
#: Pixels a merge popup's entry needs beside its text (the item's margins).
POPUP_PADDING = 16


def merge_labels(labels: np.ndarray, source: int, target: int) -> np.ndarray:
    """A copy of ``labels`` with every ``source`` pixel relabelled ``target``."""
    out = np.array(labels, copy=True)
    out[out == source] = target
    return out


class ClusterWidget(QWidget):
    """Cluster a cube without labels; name and merge the clusters; use them as training labels.

    Pick the cube layer, the number of clusters ``k`` (or *auto*), the method
    (:data:`hsi.clustering.METHODS`), seed and device, then *Cluster*: the same pipeline as
    ``hsi cluster`` (:func:`hsi.clustering.files.cluster_cube`) runs off the GUI thread with a
    progress bar (every training step of the network methods, every tile) and a Cancel button
    that stops it at its next step or tile. A scene above
    :data:`~hsi.clustering.files.WHOLE_SCENE_PIXELS` clustered by a method of
    :data:`~hsi.clustering.files.TILED_METHODS` runs on the scene engine (a fit on sample
    windows, then assignment in tiles of :attr:`tile` pixels read window by window from the
    layer); any other is clustered whole. The result
    is a Labels layer on the cube's grid (values 1..k, the hsikit class colours, names in
    ``metadata["class_names"]``) and a confidence image. Rename clusters in the table, merge one
    into another, and *Use as training labels* to open the *Classify* widget on that layer.
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.result_layer = None
        self.confidence_layer = None
        self.last_result = None
        #: Tile side (pixels) of a tiled run on the scene engine, as ``hsi cluster``.
        self.tile = CLUSTER_TILE

        from hsi.clustering import METHODS

        self.cube_combo = LayerCombo(napari_viewer, is_cube_layer)
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 255)
        self.k_spin.setSpecialValueText("auto")
        self.k_spin.setValue(6)
        self.k_spin.setToolTip("number of clusters (lowest value: estimate it)")
        self.method_combo = QComboBox()
        self.method_combo.addItems(list(METHODS))
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.device_combo = QComboBox()
        self.device_combo.addItems(DEVICES)
        self.cube_combo.setToolTip(CUBE_TIP)
        self.method_combo.setToolTip("clustering method (hsi cluster --method)")
        self.seed_spin.setToolTip(SEED_TIP)
        self.device_combo.setToolTip(DEVICE_TIP)
        row, self.run_button, self.cancel_button = run_cancel_row("Cluster")
        self.progress_bar = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["value", "colour", "name", "pixels"])
        self.table.verticalHeader().setVisible(False)
        self.table.setToolTip("double-click a name to rename the cluster")
        fit_columns(self.table)
        self.merge_source = QComboBox()
        self.merge_target = QComboBox()
        self.merge_source.setToolTip("the cluster to merge away")
        self.merge_target.setToolTip("the cluster it joins (keeps its name and colour)")
        self.merge_button = QPushButton("Merge")
        # one combo a row, each as wide as the dock: side by side with "into" and the button
        # they showed "3: Corn_sen…" at the dock's width; the popups show whole names
        for combo in (self.merge_source, self.merge_target):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(MERGE_MIN_CHARS)
            combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        into_row = QHBoxLayout()
        into_row.addWidget(self.merge_target, 1)
        into_row.addWidget(self.merge_button)
        merge_rows = QFormLayout()
        merge_rows.addRow("merge", self.merge_source)
        merge_rows.addRow("into", into_row)
        self.use_button = QPushButton("Use as training labels")

        form = QFormLayout()
        form.addRow("cube", self.cube_combo)
        form.addRow("clusters k", self.k_spin)
        form.addRow("method", self.method_combo)
        form.addRow("seed", self.seed_spin)
        form.addRow("device", self.device_combo)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(row)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addWidget(QLabel("clusters"))
        layout.addWidget(self.table)
        layout.addLayout(merge_rows)
        layout.addWidget(self.use_button)

        self.job = BackgroundJob(self.progress_bar, self.run_button, self.cancel_button,
                                 self.status)
        warm_up(("torch",))  # every method picks its device with torch
        self.run_button.clicked.connect(self.run)
        self.table.itemChanged.connect(self._on_item_changed)
        self.merge_button.clicked.connect(self._merge_clicked)
        self.use_button.clicked.connect(self.use_as_training_labels)
        napari_viewer.layers.events.removed.connect(self._on_removed)
        self._enable_result_buttons()

    # ----------------------------------------------------------------- run
    def k_value(self) -> int | str:
        """The chosen ``k``: an int, or ``"auto"``."""
        k = self.k_spin.value()
        return "auto" if k == self.k_spin.minimum() else int(k)

    def run(self) -> None:
        """Cluster the selected cube in the background (nothing while a run is going on).

        A cube that cannot be clustered (no layer, metadata that do not make a cube) is
        reported as one line in the status and a napari notification, like a failed run.
        """
        start_once(self.job, self.status, "cluster", self._start)

    def _start(self) -> None:
        from hsi.clustering.files import cluster_cube

        cube_layer = self.cube_combo.layer()
        if cube_layer is None:
            raise ValueError("choose a cube layer")
        cube = layer_cube(cube_layer)
        method = self.method_combo.currentText()
        options: dict[str, Any] = {"method": method, "seed": self.seed_spin.value(),
                                   "device": self.device_combo.currentText()}
        k = self.k_value()
        tile = int(self.tile)

        def work(report: Callable[[int, int], None]) -> ClusterResult:
            preload_torch_libraries()  # GIL-free before cluster() imports torch (any method)
            # as `hsi cluster`: tiled on the scene engine above WHOLE_SCENE_PIXELS, else whole
            return cluster_cube(cube, k, progress=False, callback=stop_callback(report),
                                tile=tile, **options)

        def done(result: ClusterResult) -> None:
            self.last_result = result
            # the settings of this run, not the boxes' (changed since for the next run)
            self._add_results(cube_layer, result, seed=options["seed"])

        self.job.start(work, desc=f"clustering ({method})", on_result=done)

    def _add_results(self, cube_layer: Image, result: ClusterResult, *,
                     seed: int | None = None) -> None:
        geo = georef_metadata(layer_cube(cube_layer))
        plane = {"scale": cube_layer.scale[-2:], "translate": cube_layer.translate[-2:]}
        values = range(1, result.k + 1)
        base = cube_layer.name
        self.confidence_layer = self.viewer.add_image(
            result.confidence, name=f"{base} cluster confidence", colormap="viridis",
            contrast_limits=(0.0, 1.0), visible=False, axis_labels=PLANE_AXIS_LABELS, **plane,
            metadata={**geo, "description": f"{result.method} cluster confidence (0-1)"})
        self.result_layer = self.viewer.add_labels(
            result.labels, name=f"{base} clusters ({result.method})",
            colormap=class_colormap(values), axis_labels=PLANE_AXIS_LABELS, **plane,
            metadata={**geo, SOURCE_KEY: base, "method": result.method,
                      "k": result.k,
                      "seed": self.seed_spin.value() if seed is None else int(seed),
                      "criterion": result.criterion,
                      "class_names": dict(zip(values, result.class_names, strict=True)),
                      "class_colors": {v: class_color(v) for v in values}})
        self.refresh_table()
        how = "" if result.criterion == "given" else f", k by {result.criterion}"
        self.status.setText(f"added {self.result_layer.name!r}: {result.k} clusters "
                            f"({result.seconds:.1f} s{how})")

    # -------------------------------------------------------------- editing
    def class_names(self) -> dict[int, str]:
        """``{value: name}`` of the cluster layer (empty without one)."""
        if self.result_layer is None:
            return {}
        return self.result_layer.metadata.setdefault("class_names", {})

    def refresh_table(self) -> None:
        """Rebuild the cluster table and the merge choices from the cluster layer."""
        layer = self.result_layer
        values, counts = np.array([], dtype=np.int64), np.array([], dtype=np.int64)
        if layer is not None:
            data = np.asarray(layer.data)
            values, counts = np.unique(data[data > 0], return_counts=True)
        names = self.class_names()
        rows = []
        for value, count in zip(values, counts, strict=True):
            value = int(value)
            name = names.setdefault(value, f"cluster {value}")
            rows.append((value, QColor(*class_color(value)), name, int(count)))
        fill_class_table(self.table, rows)
        if layer is not None:  # the status bar names the cluster under the cursor
            layer.features = class_features({int(v): names[int(v)] for v in values})
        for combo in (self.merge_source, self.merge_target):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for value in values:
                combo.addItem(f"{int(value)}: {names[int(value)]}", int(value))
            index = combo.findData(current)
            if index >= 0:
                combo.setCurrentIndex(index)
            combo.blockSignals(False)
            view = combo.view()  # the popup as wide as its longest entry
            longest = max((view.fontMetrics().horizontalAdvance(combo.itemText(i))
                           for i in range(combo.count())), default=0)
            view.setMinimumWidth(longest + 2 * view.frameWidth() + POPUP_PADDING
                                 + view.verticalScrollBar().sizeHint().width())
        if len(values) > 1 and self.merge_source.currentData() == \
                self.merge_target.currentData():
            self.merge_target.setCurrentIndex(1 if self.merge_source.currentIndex() == 0 else 0)
        self._enable_result_buttons()

    def table_rows(self) -> list[tuple[int, str, int]]:
        """The table as ``(value, name, pixels)`` rows."""
        return class_table_rows(self.table)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() != 2:
            return
        value = int(self.table.item(item.row(), 0).text())
        self.class_names()[value] = item.text().strip() or f"cluster {value}"
        QTimer.singleShot(0, self.refresh_table)  # not while Qt is still inside the edit

    def rename(self, value: int, name: str) -> None:
        """Name cluster ``value`` (as editing the table does)."""
        self.class_names()[int(value)] = name
        self.refresh_table()

    def merge(self, source: int, target: int) -> None:
        """Relabel cluster ``source`` as ``target`` (``target`` keeps its name and colour)."""
        layer = self.result_layer
        if layer is None:
            raise ValueError("merge: no cluster layer yet (cluster first)")
        source, target = int(source), int(target)
        present = set(np.unique(np.asarray(layer.data))) - {0}
        if source == target or source not in present or target not in present:
            raise ValueError(f"merge: expected two different clusters among "
                             f"{sorted(int(v) for v in present)}, got {source} and {target}")
        layer.data = merge_labels(np.asarray(layer.data), source, target)
        self.class_names().pop(source, None)
        layer.metadata.get("class_colors", {}).pop(source, None)
        self.refresh_table()
        self.status.setText(f"merged cluster {source} into {target}")

    def _merge_clicked(self) -> None:
        from napari.utils.notifications import show_error

        try:
            self.merge(self.merge_source.currentData(), self.merge_target.currentData())
        except (TypeError, ValueError) as exc:
            self.status.setText(f"error: {one_line(exc)}")
            show_error(one_line(exc))

    def use_as_training_labels(self) -> ClassifyWidget | None:
        """Open the *Classify* widget with the cluster layer as its training labels.

        Returns the :class:`~hsi.viewer._widgets.ClassifyWidget` (``None`` without clusters).
        """
        layer = self.result_layer
        if layer is None or layer not in self.viewer.layers:
            return None
        _, classify = self.viewer.window.add_plugin_dock_widget("hsikit", "Classify")
        source = layer.metadata.get(SOURCE_KEY)
        text = f"{layer.name!r} is the Classify widget's training labels"
        if source in self.viewer.layers and is_cube_layer(self.viewer.layers[source]):
            classify.cube_combo.select(self.viewer.layers[source])
        else:  # the cube was closed: Classify's cube box holds another one, or none
            from napari.utils.notifications import show_warning

            closed = f"cluster cube {source!r} is no longer open: choose the cube in Classify"
            text += f"; {closed}"
            show_warning(f"use as training labels: {closed}")
        classify.labels_combo.select(layer)
        classify.refresh_classes()
        self.status.setText(text)
        return classify

    def _on_removed(self, event: Event) -> None:
        if event.value is self.result_layer:
            self.result_layer = None
            self.refresh_table()
        if event.value is self.confidence_layer:
            self.confidence_layer = None

    def _enable_result_buttons(self) -> None:
        has = self.result_layer is not None
        self.merge_button.setEnabled(has and self.table.rowCount() > 1)
        self.use_button.setEnabled(has)
