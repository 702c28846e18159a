"""Make the README's napari screenshots from a real scene (AVIRIS Jasper Ridge).

Three window screenshots, saved as small palette PNGs in ``docs/images/``:

- ``viewer_first_view.png``: the scene opened with the hsikit reader, as an analyst would
  (File > Open on a GeoTIFF): true colour on top of the band layer, wavelength on the slider;
- ``viewer_roi_spectrum.png``: the Spectrum dock with mean ± std spectra of three rectangles
  drawn on water, trees and bare soil;
- ``viewer_band_math.png``: the Band math dock's NDVI, written as a new layer.

The data come from ``HSI_DATA_DIR`` (``hsi data fetch jasper_ridge``). Run under a display,
e.g.::

    xvfb-run -a -s "-screen 0 1400x1000x24" python docs/make_screenshots.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "images"
#: Window size (pixels) of the screenshots.
SIZE = (1280, 760)
#: Palette colours of the saved PNGs (keeps each file well under 200 KB).
COLOURS = 192


def wait(app, done, timeout: float = 120.0) -> None:
    """Run the Qt loop until ``done()`` (or raise after ``timeout`` s)."""
    t0 = time.monotonic()
    while not done():
        app.processEvents()
        time.sleep(0.01)
        if time.monotonic() - t0 > timeout:
            raise TimeoutError("gave up waiting for the viewer")
    for _ in range(5):
        app.processEvents()


def save(viewer, app, name: str) -> Path:
    """A window screenshot as a palette PNG in :data:`OUT`."""
    from PIL import Image

    for _ in range(5):
        app.processEvents()
    shot = np.asarray(viewer.screenshot(canvas_only=False, flash=False))[..., :3]
    path = OUT / name
    image = Image.fromarray(np.ascontiguousarray(shot)).quantize(COLOURS, dither=Image.NONE)
    image.save(path, optimize=True)
    print(f"{path.relative_to(OUT.parents[1])}: {shot.shape[1]} × {shot.shape[0]}, "
          f"{path.stat().st_size / 1024:.0f} KB")
    return path


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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default="jasper_ridge")
    args = ap.parse_args(argv)

    import napari
    from qtpy.QtWidgets import QApplication

    import hsi
    from hsi.data import load

    sample = load(args.scene)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hsi-screens-") as tmp:
        path = hsi.save(sample.cube, Path(tmp) / f"{args.scene}.tif")
        viewer = napari.Viewer(title=f"hsikit: {path.name}", show=True)
        app = QApplication.instance()
        viewer.window._qt_window.resize(*SIZE)
        cube, rgb = viewer.open(str(path), plugin="hsikit")
        viewer.reset_view()
        save(viewer, app, "viewer_first_view.png")

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
        wait(app, lambda: (not spectrum.roi_job.running and not spectrum._roi_timer.isActive()
                           and len(spectrum.rois) == len(keep)))
        save(viewer, app, "viewer_roi_spectrum.png")
        viewer.window.remove_dock_widget(spectrum)
        viewer.layers.remove(shapes)

        # band math: NDVI as a new layer
        _, band_math = viewer.window.add_plugin_dock_widget("hsikit", "Band math")
        band_math.layer_combo.select(cube)
        n = len(viewer.layers)
        band_math.run_button.click()
        wait(app, lambda: not band_math.job.running and len(viewer.layers) > n)
        cube.visible = rgb.visible = False
        result = viewer.layers[-1]
        try:
            result.colormap = "RdYlGn"  # a matplotlib colour map: green = vegetation
        except Exception:
            result.colormap = "viridis"
        viewer.reset_view()
        save(viewer, app, "viewer_band_math.png")
        viewer.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
