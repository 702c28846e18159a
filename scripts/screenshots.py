"""Write the README screenshots of the napari plugin from a real viewer.

Run under a display, e.g.::

    xvfb-run -a -s "-screen 0 1400x1000x24" .venv/bin/python scripts/screenshots.py [--out DIR]

(default ``docs/images``). Six small PNGs (downscaled, palette-quantised, each well under
150 KB):

- ``napari_spectrum.png``: the shipped Salinas-A sample, the Spectrum dock with three pinned
  pixels;
- ``napari_fuse.png``: the simulated LR-HSI / HR-MSI pair and the GLP-fused cube (true
  colour, side by side) with the Fuse dock and its metrics;
- ``napari_classify.png``: painted labels, the class map and its legend in the Classify dock;
- ``viewer_first_view.png``: a real scene (AVIRIS Jasper Ridge from ``HSI_DATA_DIR``,
  ``hsi data fetch jasper_ridge``) written as a GeoTIFF and opened with the hsikit reader, as
  an analyst would (File > Open): true colour on top of the band layer, wavelength on the
  slider;
- ``viewer_roi_spectrum.png``: the Spectrum dock with mean ± std spectra of three rectangles
  drawn on water, trees and bare soil;
- ``viewer_band_math.png``: the Band math dock's NDVI, written as a new layer.

``--only NAME …`` writes some of them.
"""

from __future__ import annotations

import argparse
import tempfile
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


def class_boxes(sample, side: int = 8) -> dict[str, np.ndarray]:
    """Per class, the ``side``² square (pixel corners) where its abundance is highest."""
    from scipy.ndimage import uniform_filter

    boxes = {}
    for k, name in enumerate(sample.class_names):
        smooth = uniform_filter(np.asarray(sample.abundances[k], float), side, mode="nearest")
        r, c = np.unravel_index(np.argmax(smooth), smooth.shape)
        h, w = smooth.shape
        r0 = int(np.clip(r - side // 2, 0, h - side))
        c0 = int(np.clip(c - side // 2, 0, w - side))
        boxes[name] = np.array([[r0, c0], [r0, c0 + side], [r0 + side, c0 + side],
                                [r0 + side, c0]], dtype=float) - 0.5
    return boxes


def real_scene_shots(out_dir: Path, scene: str) -> dict[str, int]:
    """The first view, ROI spectra and band math of a real scene; returns bytes per file."""
    import napari

    import hsi
    from hsi.data import load

    sample = load(scene)
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="hsi-screens-") as tmp:
        path = hsi.save(sample.cube, Path(tmp) / f"{scene}.tif")
        viewer = napari.Viewer(title=f"hsikit: {path.name}", show=True)
        viewer.window.resize(1280, 760)
        cube, rgb = viewer.open(str(path), plugin="hsikit")
        viewer.reset_view()
        wait_for(lambda: True)
        sizes["viewer_first_view.png"] = save_small(
            viewer.screenshot(canvas_only=False, flash=False), out_dir / "viewer_first_view.png")

        # ROI spectra: three squares on the scene's purest water, tree and soil pixels
        boxes = class_boxes(sample)
        keep = [n for n in ("water", "tree", "dirt") if n in boxes] or list(boxes)[:3]
        _, spectrum = viewer.window.add_plugin_dock_widget("hsikit", "Spectrum")
        shapes = viewer.add_shapes([boxes[n] for n in keep], shape_type="rectangle",
                                   scale=cube.scale[1:], translate=cube.translate[1:],
                                   features={"name": keep}, name="ROIs",
                                   text={"string": "{name}", "color": "yellow", "size": 10,
                                         "anchor": "upper_left"},
                                   face_color="transparent", edge_color="yellow",
                                   edge_width=0.6)
        spectrum.roi_combo.select(shapes)
        viewer.reset_view()
        wait_for(lambda: (not spectrum.roi_job.running and not spectrum._roi_timer.isActive()
                          and len(spectrum.rois) == len(keep)))
        sizes["viewer_roi_spectrum.png"] = save_small(
            viewer.screenshot(canvas_only=False, flash=False),
            out_dir / "viewer_roi_spectrum.png")
        viewer.window.remove_dock_widget(spectrum)
        viewer.layers.remove(shapes)

        # band math: NDVI as a new layer
        _, band_math = viewer.window.add_plugin_dock_widget("hsikit", "Band math")
        band_math.layer_combo.select(cube)
        n = len(viewer.layers)
        band_math.run_button.click()
        wait_for(lambda: not band_math.job.running and len(viewer.layers) > n)
        cube.visible = rgb.visible = False
        result = viewer.layers[-1]
        try:
            result.colormap = "RdYlGn"  # a matplotlib colour map: green = vegetation
        except Exception:
            result.colormap = "viridis"
        viewer.reset_view()
        wait_for(lambda: True)
        sizes["viewer_band_math.png"] = save_small(
            viewer.screenshot(canvas_only=False, flash=False), out_dir / "viewer_band_math.png")
        viewer.close()
    return sizes


SAMPLE_SHOTS = {"napari_spectrum.png": spectrum_shot, "napari_fuse.png": fuse_shot,
                "napari_classify.png": classify_shot}
REAL_SCENE_SHOTS = ("viewer_first_view.png", "viewer_roi_spectrum.png", "viewer_band_math.png")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--scene", default="jasper_ridge", help="real scene of the viewer_* shots")
    ap.add_argument("--only", nargs="+", choices=[*SAMPLE_SHOTS, *REAL_SCENE_SHOTS])
    args = ap.parse_args(argv)
    wanted = set(args.only or [*SAMPLE_SHOTS, *REAL_SCENE_SHOTS])
    sizes = {name: shot(args.out / name) for name, shot in SAMPLE_SHOTS.items()
             if name in wanted}
    if wanted & set(REAL_SCENE_SHOTS):
        sizes.update(real_scene_shots(args.out, args.scene))
    for name, size in sizes.items():
        print(f"wrote {args.out / name} ({size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
