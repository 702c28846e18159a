"""Pieces shared by the hsikit dock widgets: layer pickers, background jobs, theme colours."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QObject, Qt, Signal
from qtpy.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidgetItem,
    QWidget,
)

from hsi.errors import Cancelled
from hsi.viewer._convert import cube_from_layer

if TYPE_CHECKING:
    from collections.abc import Generator

    import napari
    from napari.layers import Image, Layer
    from napari.utils.events import Event
    from numpy.typing import ArrayLike
    from qtpy.QtGui import QColor
    from qtpy.QtWidgets import QTableWidget

    from hsi.cube import Cube

NONE_CHOICE = "(none)"

#: Torch devices a widget offers (``auto`` picks CUDA when present).
DEVICES = ("auto", "cpu", "cuda")

#: Tooltips of the boxes several docks share.
CUBE_TIP = "the cube layer to use: an image layer with a band axis (bands, H, W)"
DEVICE_TIP = "where torch runs: auto picks the GPU (CUDA) when there is one, else the CPU"
SEED_TIP = "random seed: the same seed and inputs give the same result"


#: Library advice in a dock's words (:func:`dock_words`; the CLI has
#: :func:`hsi.cli.words.cli_words`): ``(pattern, replacement)``, applied in order.
_DOCK_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), repl) for pattern, repl in (
        (r"\(use device='(\w+)'\)", r"(choose \1 in the device box)"),
        (r"\bdevice='(\w+)'", r"device \1"),
        # a pair without georeference whose sizes are not one ratio: the docks take the ratio
        # from the sizes, they have no ratio box
        (r": give ratio=N\b", ": the Fuse dock takes the ratio from the layers' sizes (or "
                              "their georeference), so crop or resample one of them"),
    )
)


def dock_words(message: str) -> str:
    """A library message with its parameter spellings (``device='cpu'``, ``ratio=N``) said
    as what a dock user can do (:data:`_DOCK_RULES`)."""
    for pattern, repl in _DOCK_RULES:
        message = pattern.sub(repl, message)
    return message


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (its class name when empty), in a dock's
    words (:func:`dock_words`)."""
    text = str(exc).strip()
    return dock_words(text.splitlines()[0]) if text else type(exc).__name__


def fail(status: QLabel, what: str, exc: BaseException) -> None:
    """Report a failure the way every dock does: ``error: <first line>`` in its status line
    and a ``<what>: <first line>`` napari error notification (no traceback)."""
    from napari.utils.notifications import show_error

    status.setText(f"error: {one_line(exc)}")
    show_error(f"{what}: {one_line(exc)}")


def _unless_closed(slot: Callable[..., Any]) -> Callable[..., Any]:
    """``slot``, quiet when the dock it updates was closed (with its viewer) while the job ran.

    Qt raises ``RuntimeError: wrapped C/C++ object ... has been deleted`` when a slot touches a
    widget napari has deleted; any other error still propagates.
    """
    import functools

    @functools.wraps(slot)
    def run(*args: Any) -> Any:
        try:
            return slot(*args)
        except RuntimeError as exc:
            if "has been deleted" not in str(exc):
                raise
            return None

    return run


def start_once(job: BackgroundJob, status: QLabel, what: str, start: Callable[[], None]) -> None:
    """A dock's Run: ``start()`` (which checks the inputs and starts ``job``) unless ``job`` is
    running already; a failure before the job starts is reported like a failed run
    (:func:`fail`), never raised into napari's event loop."""
    if job.running:
        return
    try:
        start()
    except Exception as exc:  # reported, never raised
        fail(status, what, exc)


def is_cube_layer(layer: Layer) -> bool:
    """True for image layers with a band axis: ``(bands, H, W)`` data, not RGB."""
    from napari.layers import Image

    return isinstance(layer, Image) and not layer.rgb and layer.ndim == 3


def is_labels_layer(layer: Layer) -> bool:
    from napari.layers import Labels

    return isinstance(layer, Labels) and layer.ndim == 2


def layer_cube(layer: Image) -> Cube:
    """The :class:`hsi.cube.Cube` held by an image layer (data and metadata, not copied)."""
    return cube_from_layer(layer.data, layer.metadata, name=layer.name)


class LayerCombo(QComboBox):
    """A combo box listing the viewer's layers that pass ``accept``, kept up to date.

    Parameters
    ----------
    viewer : napari.Viewer
    accept : callable
        ``accept(layer) -> bool``.
    optional : bool
        Offer a ``(none)`` entry first.
    """

    def __init__(self, viewer: napari.Viewer, accept: Callable[[Any], bool],
                 optional: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._viewer = viewer
        self._accept = accept
        self._optional = optional
        events = viewer.layers.events
        for ev in (events.inserted, events.removed, events.reordered):
            ev.connect(self.refresh)
        self.refresh()

    def refresh(self, event: Event | None = None) -> None:
        current = self.currentText()
        names = [layer.name for layer in self._viewer.layers if self._accept(layer)]
        if self._optional:
            names = [NONE_CHOICE, *names]
        self.blockSignals(True)
        self.clear()
        self.addItems(names)
        if current in names:
            self.setCurrentText(current)
        self.blockSignals(False)
        if current not in names:
            self.currentTextChanged.emit(self.currentText())

    def layer(self) -> Layer | None:
        """The selected layer, or ``None``."""
        name = self.currentText()
        if not name or name == NONE_CHOICE or name not in self._viewer.layers:
            return None
        return self._viewer.layers[name]

    def select(self, layer: Layer) -> None:
        """Select ``layer`` (by name)."""
        self.refresh()
        self.setCurrentText(layer.name)


def theme_colors(viewer: napari.Viewer) -> dict[str, str]:
    """Hex colours of the viewer's theme: ``background``, ``foreground``, ``text``, ``canvas``."""
    from napari.utils.theme import get_theme

    theme = get_theme(viewer.theme)
    return {key: getattr(theme, key).as_hex() for key in ("background", "foreground", "text",
                                                           "canvas", "highlight")}


class _Bridge(QObject):
    progressed = Signal(int, int)
    warned = Signal(str)


class _WarningsToGui(logging.Handler):
    """Hands the ``hsi`` loggers' warnings logged while a job runs to the GUI thread (a
    terminal's user reads them on stderr; a napari user would never see them)."""

    def __init__(self, bridge: _Bridge) -> None:
        super().__init__(logging.WARNING)
        self.bridge = bridge

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.bridge.warned.emit(one_line(record.getMessage()))
        except Exception:  # a warning must never fail the job
            self.handleError(record)


class _JobError(Exception):
    """An error of a background job's function, carried to the GUI thread (``.error``)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class BackgroundJob:
    """Run one blocking hsi function off the GUI thread with progress and cancel.

    The function runs in a napari ``thread_worker`` (a generator that polls it), so the viewer
    stays responsive; results and errors come back on the GUI thread. ``report(done, total)``
    is handed to the function as ``report=`` so it can advance the progress bars; it raises
    :class:`hsi.errors.Cancelled` once the user cancels. Without reports the bars stay busy
    (indeterminate), and Cancel discards the result as soon as it is pressed.

    Parameters
    ----------
    bar : QProgressBar
        The widget's own progress bar (a napari activity progress bar is shown too).
    run_button, cancel_button : QPushButton
        Disabled/enabled while the job runs.
    status : QLabel
        Receives one-line messages.
    """

    def __init__(self, bar: QProgressBar, run_button: QPushButton, cancel_button: QPushButton,
                 status: QLabel) -> None:
        self.bar = bar
        self.run_button = run_button
        self.cancel_button = cancel_button
        self.status = status
        self.worker = None
        self._pbar = None
        self._cancel = threading.Event()
        self._bridge = _Bridge()
        self._bridge.progressed.connect(self._on_progress)
        self._bridge.warned.connect(self._on_warning)
        self.desc = ""
        cancel_button.clicked.connect(self.cancel)
        cancel_button.setEnabled(False)
        bar.setVisible(False)

    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self, fn: Callable[..., Any], *, desc: str, on_result: Callable[[Any], None],
              on_error: Callable[[BaseException], None] | None = None) -> None:
        """Call ``fn(report)`` in the background; ``on_result(value)`` on the GUI thread."""
        from napari.qt.threading import create_worker
        from napari.utils import progress

        self._cancel = threading.Event()
        self.desc = desc
        cancel = self._cancel
        bridge = self._bridge

        def report(done: int, total: int) -> None:
            bridge.progressed.emit(int(done), int(total))
            if cancel.is_set():
                raise Cancelled

        def job() -> Generator[None, None, Any]:
            box: dict[str, Any] = {}
            forward = _WarningsToGui(bridge)
            logging.getLogger("hsi").addHandler(forward)
            try:
                yield from wait_for(box)
            finally:
                logging.getLogger("hsi").removeHandler(forward)
            if "error" in box:
                if isinstance(box["error"], Cancelled) or cancel.is_set():
                    return None  # discarded by ``returned``
                # superqt treats a RuntimeError leaving the generator as a deleted worker and
                # then never emits ``finished``: hand every error back wrapped
                raise _JobError(box["error"])
            return box["value"]

        def wait_for(box: dict[str, Any]) -> Generator[None, None, None]:
            """Run ``fn`` in a thread, yielding to the worker until it ends."""

            def target() -> None:
                try:
                    box["value"] = fn(report)
                except BaseException as exc:  # handed back to the GUI thread
                    box["error"] = exc

            thread = threading.Thread(target=target, name="hsikit-job", daemon=True)
            thread.start()
            while thread.is_alive():
                yield
                thread.join(0.05)

        @_unless_closed
        def finished() -> None:
            self.worker = None
            if cancel.is_set():  # however the job ended (aborted, returned or raised)
                self.status.setText("cancelled")
            if self._pbar is not None:
                self._pbar.close()
                self._pbar = None
            self.bar.setVisible(False)
            self.run_button.setEnabled(True)
            self.cancel_button.setEnabled(False)

        @_unless_closed
        def returned(value: Any) -> None:
            if cancel.is_set():
                self.status.setText("cancelled")
                return
            on_result(value)

        @_unless_closed
        def errored(exc: BaseException) -> None:
            if isinstance(exc, _JobError):
                exc = exc.error
            if isinstance(exc, Cancelled) or cancel.is_set():
                self.status.setText("cancelled")
                return
            self.status.setText(f"error: {one_line(exc)}")
            if on_error is not None:
                on_error(exc)
            else:
                from napari.utils.notifications import show_error

                show_error(f"{desc} failed: {one_line(exc)}")

        self._pbar = progress(total=0, desc=desc)
        self.bar.setRange(0, 0)
        self.bar.setVisible(True)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText(f"{desc}…")
        worker = create_worker(job, _ignore_errors=True)
        worker.returned.connect(returned)
        worker.errored.connect(errored)
        worker.aborted.connect(_unless_closed(lambda: self.status.setText("cancelled")))
        worker.finished.connect(finished)
        self.worker = worker
        worker.start()

    def cancel(self) -> None:
        """Stop waiting for the job: its result is discarded; reporting functions stop early."""
        if self.worker is None:
            return
        self._cancel.set()
        self.status.setText("cancelling…")
        self.worker.quit()

    def _on_warning(self, message: str) -> None:
        from napari.utils.notifications import show_warning

        show_warning(f"{self.desc}: {message}")

    def _on_progress(self, done: int, total: int) -> None:
        if total <= 0:
            return
        try:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        except RuntimeError:  # the widget was closed while its job still runs
            return
        if self._pbar is not None:
            if self._pbar.total != total:
                self._pbar.total = total
            self._pbar.n = min(done, total)
            self._pbar.refresh()


def stop_callback(report: Callable[[int, int], None]) -> Callable[[int, int], bool]:
    """An :mod:`hsi.progress` callback from a job's ``report``: it advances the bars and
    returns ``True`` (stop) once the user has pressed Cancel, so the hsi function raises
    :class:`hsi.errors.Cancelled` at its next step instead of running on unseen."""

    def callback(done: int, total: int) -> bool:
        try:
            report(done, total)
        except Cancelled:
            return True
        return False

    return callback


def run_cancel_row(run_text: str) -> tuple[QWidget, QPushButton, QPushButton]:
    """A row with a Run and a Cancel button."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    run = QPushButton(run_text)
    cancel = QPushButton("Cancel")
    layout.addWidget(run)
    layout.addWidget(cancel)
    return row, run, cancel


#: Column of a class table (value, colour, name, pixels) that the user edits: the name.
NAME_COLUMN = 2


def fit_columns(table: QTableWidget) -> None:
    """Size every column to its contents (names are never elided), the last one taking any
    room left, and keep the table at least as wide as its columns (:func:`fit_table_width`).

    The table asks for no more than that: a table whose size hint follows its header (Qt's
    ``AdjustToContents``) counts the stretched last column too, so the dock widened itself
    to about half the window, squeezing the canvas and eliding the band slider's wavelength.
    """
    header = table.horizontalHeader()
    for col in range(table.columnCount()):
        header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    fit_table_width(table)


def fit_table_width(table: QTableWidget) -> int:
    """Set ``table``'s minimum width to what its columns' contents and headers need, with
    room for a vertical scroll bar (no horizontal one, nothing elided); call it after the
    rows change. The dock holding the table widens to it when it must, never beyond.

    Returns
    -------
    int
        The minimum width set (pixels).
    """
    header = table.horizontalHeader()
    needs = [max(table.sizeHintForColumn(col), header.sectionSizeHint(col))
             for col in range(table.columnCount())]
    if needs and header.stretchLastSection():  # Qt keeps a stretched one this wide at least
        needs[-1] = max(needs[-1], header.defaultSectionSize())
    columns = sum(needs)
    rows = table.verticalHeader()
    width = (columns + (0 if rows.isHidden() else rows.sizeHint().width())
             + 2 * table.frameWidth() + table.verticalScrollBar().sizeHint().width())
    table.setMinimumWidth(width)
    return width


def fill_class_table(table: QTableWidget, rows: Sequence[tuple[int, QColor, str, int]]) -> None:
    """Fill a class table of 4 columns (value, colour swatch, name, pixels), one row a class.

    Only the name cells are editable. The table's signals are blocked while it fills, so no
    ``itemChanged`` reaches the dock for the cells it writes.

    Parameters
    ----------
    table : QTableWidget
        With 4 columns; its rows are replaced.
    rows : sequence of (int, QColor, str, int)
        ``(value, colour, name, pixels)`` of each class, in the order shown.
    """
    table.blockSignals(True)
    table.setRowCount(len(rows))
    for row, (value, color, name, count) in enumerate(rows):
        cells = [QTableWidgetItem(str(value)), QTableWidgetItem(""), QTableWidgetItem(name),
                 QTableWidgetItem(str(count))]
        cells[1].setBackground(color)
        for col, cell in enumerate(cells):
            if col != NAME_COLUMN:
                cell.setFlags(cell.flags() & ~Qt.ItemFlag.ItemIsEditable)
            table.setItem(row, col, cell)
    table.blockSignals(False)
    fit_table_width(table)


def class_table_rows(table: QTableWidget) -> list[tuple[int, str, int]]:
    """The rows of a class table (:func:`fill_class_table`) as ``(value, name, pixels)``."""
    return [(int(table.item(row, 0).text()), table.item(row, NAME_COLUMN).text(),
             int(table.item(row, 3).text())) for row in range(table.rowCount())]


def as_numpy(data: ArrayLike) -> np.ndarray:
    """``data`` as a numpy array (computes dask arrays)."""
    return np.asarray(data)
