"""Fuse dock: LR-HSI + HR-MSI layers -> fused HR-HSI layer, in the background."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from hsi.viewer._convert import cube_layer_data, full_res
from hsi.viewer._offthread import preload_torch_libraries, warm_up
from hsi.viewer._widgets._common import (
    DEVICE_TIP,
    DEVICES,
    SEED_TIP,
    BackgroundJob,
    LayerCombo,
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

    from hsi.cube import Cube



#: The baselines of :data:`hsi.fusion.baselines.BASELINES`, named here so that opening the dock
#: does not import torch (a test keeps the two in step).
BASELINE_NAMES = ("bicubic", "glp", "gsa", "cnmf")

#: Core tile side (HR pixels) of the dock's scene-engine run (``hsi fuse``'s default).
FUSE_TILE = 256

#: Imported in the background when the dock opens, so that *Fuse* finds them ready.
WARM_UP_MODULES = ("torch", "hsi.fusion", "hsi.metrics")


#: The dock's default choice, ``hsi fuse``'s default method: INFN from a shipped checkpoint
#: validated for the pair's sensors and ratio, else GLP (with a warning saying why).
AUTO_CHOICE = ("auto (INFN or GLP)", "auto", False)


def method_choices() -> list[tuple[str, str, bool]]:
    """``(label shown, fusion method, fit to the scene)``: :data:`AUTO_CHOICE` (the default,
    first), INFN and every baseline."""
    return [AUTO_CHOICE, ("INFN (checkpoint)", "infn", False),
            ("INFN (fit to scene)", "infn", True),
            *((f"{name.upper() if name != 'bicubic' else name} (baseline)", name, False)
              for name in BASELINE_NAMES)]


def result_label(shown: str) -> str:
    """The method named in a fused layer's name, distinct for each choice of
    :func:`method_choices`: ``"INFN, checkpoint"``, ``"INFN, fitted"``, ``"GLP"``, ``"auto"``..."""
    head, _, kind = shown.partition(" (")
    kind = kind.rstrip(")")
    if kind in ("", "baseline") or shown == AUTO_CHOICE[0]:
        return head
    return f"{head}, {'fitted' if kind.startswith('fit') else kind}"


def method_label(method: str, fit_scene: bool = False) -> str:
    """:func:`result_label` of the choice that runs ``method`` (e.g. what ``auto`` resolved to:
    ``"glp"`` -> ``"GLP"``, ``"infn"`` -> ``"INFN, checkpoint"``)."""
    return next(result_label(shown) for shown, m, fit in method_choices()
                if (m, fit) == (method, fit_scene))


def pair_cube(layer: Image) -> Cube:
    """:func:`~hsi.viewer._widgets._common.layer_cube`, named after the file the layer was read
    from when it was one: the pair check's hints then name that file, as ``hsi fuse``'s do
    (``gdalwarp ... /data/hr_msi.tif OUT.tif``, not the layer's name ``hr_msi``)."""
    cube = layer_cube(layer)
    source = getattr(layer.source, "path", None)
    return cube if not source else cube.with_data(cube.data, name=str(source))


class FuseWidget(QWidget):
    """Pick the LR-HSI and HR-MSI layers and a method; adds the fused cube as a layer.

    The pair is checked like the CLI does (:func:`hsi.fusion.check_pair`) before anything runs;
    the fusion itself runs off the GUI thread on the scene engine, through the same pipeline as
    ``hsi fuse`` (:func:`hsi.fusion.scene.fuse_scene`, here with an in-memory sink:
    :func:`~hsi.fusion.scene.fuse_cube`): the layers are read window by window in tiles of
    :attr:`tile` HR pixels, so memory is bounded by the tile plus the fused cube. The progress
    bar follows every fitting step ("INFN (fit to scene)") and then every tile, and Cancel makes
    the callback return ``True`` so that the job stops at its next step or tile
    (:class:`hsi.errors.Cancelled`) rather than running on unseen. With a reference layer
    chosen, PSNR/SSIM/SAM/ERGAS/Q2n are shown. The method is ``auto`` by default (``hsi fuse``'s
    default); the fused layer is named after the method that ran (GLP when no shipped
    checkpoint is validated for the pair, which a warning explains).
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.last_result = None
        self.last_metrics: dict[str, float] | None = None
        #: Core tile side (HR pixels) of the scene engine's run, as ``hsi fuse --tile``.
        self.tile = FUSE_TILE
        #: The (LR, HR) layer names :meth:`_default_pair` chose last.
        self._picked: tuple[str, str] | None = None

        self.lr_combo = LayerCombo(napari_viewer, is_cube_layer)
        self.hr_combo = LayerCombo(napari_viewer, is_cube_layer)
        self.ref_combo = LayerCombo(napari_viewer, is_cube_layer, optional=True)
        self.methods = method_choices()
        self.method_combo = QComboBox()
        self.method_combo.addItems([label for label, _, _ in self.methods])
        self.checkpoint_edit = QLineEdit()
        self.checkpoint_edit.setPlaceholderText("shipped checkpoint for these sensors")
        browse = QPushButton("…")
        browse.setMaximumWidth(30)
        browse.clicked.connect(self._browse_checkpoint)
        ckpt_row = QHBoxLayout()
        ckpt_row.addWidget(self.checkpoint_edit)
        ckpt_row.addWidget(browse)
        self.fit_minutes_spin = QDoubleSpinBox()
        self.fit_minutes_spin.setRange(0.0, 600.0)
        self.fit_minutes_spin.setDecimals(1)
        self.fit_minutes_spin.setSpecialValueText("default")
        self.fit_minutes_spin.setSuffix(" min")
        self.fit_minutes_spin.setToolTip("time budget of fitting INFN to the scene")
        self.device_combo = QComboBox()
        self.device_combo.addItems(DEVICES)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.lr_combo.setToolTip("the low-resolution hyperspectral cube layer (many bands)")
        self.hr_combo.setToolTip("the high-resolution multispectral cube layer (few bands) "
                                 "over the same ground")
        self.ref_combo.setToolTip("optional: the true high-resolution cube, to score the "
                                  "result (PSNR, SAM, ERGAS, SSIM, Q2n)")
        self.method_combo.setToolTip("auto (as hsi fuse): INFN from a shipped checkpoint "
                                     "validated for these sensors and ratio, else GLP; INFN "
                                     "from a checkpoint, INFN fitted to this scene, or a "
                                     "classical baseline (fast)")
        self.checkpoint_edit.setToolTip("INFN checkpoint (.pt); empty: the shipped one for "
                                        "these sensors")
        browse.setToolTip("choose an INFN checkpoint file")
        self.device_combo.setToolTip(DEVICE_TIP)
        self.seed_spin.setToolTip(SEED_TIP)

        form = QFormLayout()
        form.addRow("LR-HSI", self.lr_combo)
        form.addRow("HR-MSI", self.hr_combo)
        form.addRow("method", self.method_combo)
        form.addRow("checkpoint", ckpt_row)
        form.addRow("fit budget", self.fit_minutes_spin)
        form.addRow("device", self.device_combo)
        form.addRow("seed", self.seed_spin)
        form.addRow("reference", self.ref_combo)
        row, self.run_button, self.cancel_button = run_cancel_row("Fuse")
        self.progress_bar = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.metrics_label = QLabel("")
        self.metrics_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(row)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addWidget(self.metrics_label)
        layout.addStretch(1)

        self.job = BackgroundJob(self.progress_bar, self.run_button, self.cancel_button,
                                 self.status)
        self.run_button.clicked.connect(self.run)
        self.method_combo.currentIndexChanged.connect(self._on_method)
        napari_viewer.layers.events.inserted.connect(self._default_pair)
        self._default_pair()
        warm_up(WARM_UP_MODULES)
        self.set_method(AUTO_CHOICE[1])
        self._on_method()

    # ----------------------------------------------------------------- setup
    def _default_pair(self, *args) -> None:
        """Preselect the layer with the most bands as LR and the one with the fewest as HR.

        Only while the choice is not the user's: both boxes on the same layer or empty, or still
        on the pair chosen here last (a layer opened since may fit better, e.g. the HR-MSI
        opened after the reference cube, which has as many bands as the LR-HSI).
        """
        self.lr_combo.refresh()
        self.hr_combo.refresh()
        lr, hr = self.lr_combo.currentText(), self.hr_combo.currentText()
        if lr and lr != hr and (lr, hr) != self._picked:
            return
        cubes = [layer for layer in self.viewer.layers if is_cube_layer(layer)]
        if len(cubes) >= 2:
            by_bands = sorted(cubes, key=lambda layer: layer.data.shape[0])
            self.hr_combo.select(by_bands[0])
            lr = max((c for c in cubes if c.data.shape[-1] < by_bands[0].data.shape[-1]),
                     key=lambda layer: layer.data.shape[0], default=by_bands[-1])
            self.lr_combo.select(lr)
            self._picked = (self.lr_combo.currentText(), self.hr_combo.currentText())

    def _on_method(self, *args) -> None:
        _, method, fit = self.methods[self.method_combo.currentIndex()]
        self.checkpoint_edit.setEnabled(method == "infn" and not fit)
        self.fit_minutes_spin.setEnabled(fit)

    def _browse_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "INFN checkpoint", "", "checkpoints (*.pt)")
        if path:
            self.checkpoint_edit.setText(path)

    def set_method(self, method: str, fit_scene: bool = False) -> None:
        """Select ``method`` (``"infn"``, ``"glp"``...) in the method box."""
        for i, (_, m, fit) in enumerate(self.methods):
            if m == method and fit == fit_scene:
                self.method_combo.setCurrentIndex(i)
                return
        raise ValueError(f"method: expected one of {sorted({m for _, m, _ in self.methods})}, "
                         f"got {method!r}")

    # ------------------------------------------------------------------- run
    def run(self) -> None:
        """Fuse in the background: torch's import, the pair check and the fusion run there.

        Nothing while a run is going on; a choice that cannot be fused (the same layer twice,
        metadata that do not make a cube) is reported as one line in the status and a napari
        notification, like a failed run.
        """
        start_once(self.job, self.status, "fuse", self._start)

    def _start(self) -> None:
        from napari.layers import Layer
        from napari.utils.notifications import show_error

        lr_layer, hr_layer = self.lr_combo.layer(), self.hr_combo.layer()
        ref_layer = self.ref_combo.layer()
        if lr_layer is None or hr_layer is None or lr_layer is hr_layer:
            raise ValueError("choose two different cube layers (LR-HSI and HR-MSI)")
        _, method, fit_scene = self.methods[self.method_combo.currentIndex()]
        lr, hr = pair_cube(lr_layer), pair_cube(hr_layer)
        model = self.checkpoint_edit.text().strip() or None
        if method != "infn" or fit_scene:
            model = None
        options: dict[str, Any] = {
            "method": method, "model": model, "fit_scene": fit_scene,
            "device": self.device_combo.currentText(), "seed": self.seed_spin.value(),
        }
        if fit_scene and self.fit_minutes_spin.value() > 0:
            options["fit_minutes"] = self.fit_minutes_spin.value()
        label = result_label(self.methods[self.method_combo.currentIndex()][0])
        lr_name = lr_layer.name
        hr_geometry = {"scale": (1.0, *hr_layer.scale[-2:]),
                       "translate": (0.0, *hr_layer.translate[-2:])}
        ref_data = None if ref_layer is None else full_res(ref_layer.data)
        ref_name = None if ref_layer is None else ref_layer.name
        tile = int(self.tile)

        def work(report: Callable[[int, int], None]) -> tuple[Cube, dict[str, float] | None, int]:
            preload_torch_libraries()  # torch's libraries loaded GIL-free before the import
            from hsi.fusion import check_pair
            from hsi.fusion.scene import fuse_cube

            ratio = check_pair(lr, hr)
            reference = None
            if ref_data is not None:
                reference = np.asarray(ref_data, dtype=np.float32)
                if reference.shape != (lr.bands, hr.height, hr.width):
                    raise ValueError(
                        f"reference layer {ref_name!r}: expected shape "
                        f"{(lr.bands, hr.height, hr.width)} (LR bands on the HR grid), "
                        f"got {reference.shape}")
            # the scene engine: windows of the layers, tile by tile, as ``hsi fuse`` does
            fused = fuse_cube(lr, hr, ratio=ratio, tile=tile, progress=False,
                              callback=stop_callback(report), **options)
            metrics = None
            if reference is not None:
                from hsi.metrics import fusion_metrics

                metrics = fusion_metrics(reference, np.asarray(fused.data, np.float32), ratio)
            return fused, metrics, ratio

        def done(result: tuple[Cube, dict[str, float] | None, int]) -> None:
            fused, metrics, ratio = result
            ran = fused.metadata["fusion_method"]  # what ``auto`` resolved to
            ran_label = label if ran == method else method_label(ran)
            name = f"{lr_name} fused ({ran_label})"
            data, attrs, kind = cube_layer_data(fused, name=name)
            if fused.transform is None:
                attrs.update(hr_geometry)
            attrs["metadata"].update({"method": ran, "ratio": ratio,
                                      "seed": options["seed"]})
            if metrics:
                attrs["metadata"]["metrics"] = dict(metrics)
            # napari names a second result of the same method "<name> [1]": say which was added
            added = self.viewer.add_layer(Layer.create(data, attrs, kind))
            self.last_result, self.last_metrics = fused, metrics
            chose = "" if ran == method else f"; {label} chose {ran_label}"
            self.status.setText(f"added {added.name!r} "
                                f"({fused.bands}×{fused.height}×{fused.width}){chose}")
            self.metrics_label.setText(format_metrics(metrics) if metrics else "")

        def failed(exc: BaseException) -> None:
            show_error(f"fuse: {one_line(exc)}")

        self.job.start(work, desc=f"fusing ({label})", on_result=done, on_error=failed)


def format_metrics(metrics: dict[str, float]) -> str:
    """One line such as ``PSNR 38.21 dB · SAM 2.10° · ERGAS 1.95`` (plus SSIM/Q2n if present)."""
    parts = []
    units = {"psnr": (" dB", 2), "sam": ("°", 2), "ergas": ("", 3), "ssim": ("", 4),
             "q2n": ("", 4)}
    for key in ("psnr", "sam", "ergas", "ssim", "q2n"):
        if key in metrics:
            unit, digits = units[key]
            name = "Q2n" if key == "q2n" else key.upper()
            parts.append(f"{name} {metrics[key]:.{digits}f}{unit}")
    return " · ".join(parts)
