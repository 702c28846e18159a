"""Write the README screenshots of the napari plugin from a real viewer.

Run under a display, e.g. ``xvfb-run -a .venv/bin/python scripts/screenshots.py [OUT_DIR]``
(default ``docs/images``). It opens the shipped Salinas-A sample through the plugin and writes
three small PNGs (downscaled, palette-quantised, each well under 150 KB):

- ``napari_spectrum.png``: the cube, the Spectrum dock with three pinned pixels;
- ``napari_fuse.png``: the simulated LR-HSI / HR-MSI pair and the GLP-fused cube (true
  colour, side by side) with the Fuse dock and its metrics;
- ``napari_classify.png``: painted labels, the class map and its legend in the Classify dock.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MAX_WIDTH = 1000
COLORS = 256


def save_small(image: np.ndarray, path: Path) -> int:
    """Save an RGBA screenshot downscaled to ``MAX_WIDTH`` and quantised; return its size."""
    from PIL import Image

    img = Image.fromarray(np.asarray(image)[..., :3].astype(np.uint8))
    if img.width > MAX_WIDTH:
        img = img.resize((MAX_WIDTH, round(img.height * MAX_WIDTH / img.width)), Image.LANCZOS)
    img = img.quantize(colors=COLORS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, optimize=True)
    return path.stat().st_size


def wait_for(predicate, timeout: float = 600.0) -> None:
    """Process Qt events until ``predicate()`` is true (or ``timeout`` seconds pass)."""
    from qtpy.QtWidgets import QApplication

    start = time.monotonic()
    while not predicate():
        QApplication.processEvents()
        time.sleep(0.02)
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"still waiting after {timeout:.0f} s")
    for _ in range(10):
        QApplication.processEvents()


def spectrum_shot(out: Path) -> int:
    import napari

    viewer = napari.Viewer(title="hsikit: Spectrum", show=True)
    viewer.window.resize(1400, 760)
    cube, _ = viewer.open_sample("hsikit", "salinas_a")
    viewer.layers.selection.active = cube
    viewer.dims.set_current_step(0, 30)
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Spectrum")
    for row, col in ((10, 12), (40, 60), (70, 30)):
        widget.show_pixel(row, col)
        widget.pin()
    widget.show_pixel(25, 45)
    wait_for(lambda: True)
    size = save_small(viewer.screenshot(canvas_only=False, flash=False), out)
    viewer.close()
    return size


def fuse_shot(out: Path) -> int:
    import napari

    from hsi.viewer._widgets import true_colour

    viewer = napari.Viewer(title="hsikit: Fuse", show=True)
    viewer.window.resize(1400, 760)
    reference, lr, hr = viewer.open_sample("hsikit", "fusion_pair")
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Fuse")
    widget.ref_combo.select(reference)
    widget.set_method("glp")
    widget.run_button.click()
    wait_for(lambda: not widget.job.running)
    fused = viewer.layers[-1]
    for layer in list(viewer.layers):
        layer.visible = False
    for source, title in ((lr, "LR-HSI x4"), (hr, "HR-MSI"), (fused, "fused")):
        data, attrs, _kind = true_colour(source)
        attrs["name"] = title
        viewer.add_image(data, **attrs)
    viewer.grid.enabled = True
    viewer.grid.shape = (1, 3)
    viewer.reset_view()
    wait_for(lambda: True)
    size = save_small(viewer.screenshot(canvas_only=False, flash=False), out)
    viewer.close()
    return size


def classify_shot(out: Path) -> int:
    import napari

    from hsi.data import sample_labels

    viewer = napari.Viewer(title="hsikit: Classify", show=True)
    viewer.window.resize(1400, 800)
    cube, _truth_layer = viewer.open_sample("hsikit", "salinas_a")
    _, widget = viewer.window.add_plugin_dock_widget("hsikit", "Classify")
    widget.cube_combo.select(cube)
    labels = widget.new_labels_layer()
    truth, names = sample_labels()
    rng = np.random.default_rng(0)
    painted = np.zeros_like(truth)
    for k in range(1, len(names) + 1):
        rows, cols = np.nonzero(truth == k)
        pick = rng.choice(rows.size, 15, replace=False)
        painted[rows[pick], cols[pick]] = k
    labels.data = painted
    for k, name in enumerate(names, start=1):
        widget.set_class_name(k, name)
    widget.epochs_spin.setValue(10)
    widget.run_button.click()
    wait_for(lambda: not widget.job.running)
    cube.visible = False
    labels.visible = False
    widget.class_map_layer.opacity = 1.0
    viewer.reset_view()
    wait_for(lambda: True)
    size = save_small(viewer.screenshot(canvas_only=False, flash=False), out)
    viewer.close()
    return size


def main(argv: list[str]) -> None:
    out_dir = Path(argv[0]) if argv else ROOT / "docs" / "images"
    shots = {"napari_spectrum.png": spectrum_shot, "napari_fuse.png": fuse_shot,
             "napari_classify.png": classify_shot}
    for name, shot in shots.items():
        size = shot(out_dir / name)
        print(f"wrote {out_dir / name} ({size / 1024:.0f} KB)")


if __name__ == "__main__":
    main(sys.argv[1:])
