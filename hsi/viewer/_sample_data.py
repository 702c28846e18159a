"""napari sample data: the shipped Salinas-A cube and an LR-HSI/HR-MSI pair simulated from it."""

from __future__ import annotations

import numpy as np

from hsi.viewer._convert import PLANE_AXIS_LABELS, cube_layer_data, true_colour_layer_data

#: Resolution ratio and multispectral sensor of the simulated pair.
PAIR_RATIO = 4
PAIR_SENSOR = "sentinel2"


def sample_cube_layers() -> list[tuple]:
    """The shipped Salinas-A cube (204 × 83 × 86, reflectance-like) and its ground truth.

    Returns
    -------
    list of LayerDataTuple
        The cube image layer and a hidden Labels layer of the 6 ground-truth classes (class
        names in ``metadata["class_names"]``).
    """
    from hsi.data import sample_cube, sample_labels
    from hsi.viewer._band_slider import follow_current_viewer

    follow_current_viewer()
    cube = sample_cube()
    labels, names = sample_labels()
    image = cube_layer_data(cube, name="Salinas-A")
    truth = (labels, {"name": "Salinas-A ground truth", "visible": False,
                      "axis_labels": PLANE_AXIS_LABELS,
                      "metadata": {**image[1]["metadata"], "wavelengths": None, "fwhm": None,
                                   "class_names": {i + 1: n for i, n in enumerate(names)}}},
             "labels")
    return [image, truth]


def sample_pair_layers() -> list[tuple]:
    """An LR-HSI (×4 coarser, Wald protocol) and a Sentinel-2 HR-MSI simulated from the sample.

    The LR layer is drawn with 4× larger pixels so the two overlay; the cropped reference
    HR-HSI comes too (hidden) so the Fuse widget can score its result. The HR-MSI has a few
    bands against the HSI's 204 and the band slider is shared: above its last band a cube layer
    of it would show nothing, so it is shown as its own true-colour layer (on top, its band
    layer hidden), which stays on screen wherever the slider is.

    Returns
    -------
    list of LayerDataTuple
        ``[reference (204, 80, 84), LR-HSI (204, 20, 21), HR-MSI (msi_bands, 80, 84),
        HR-MSI true colour (80, 84, 3)]``.
    """
    from hsi.data import sample_cube
    from hsi.degrade import crop_to_ratio, simulate_pair
    from hsi.viewer._band_slider import follow_current_viewer

    follow_current_viewer()
    cube = sample_cube()
    lr, hr = simulate_pair(cube, PAIR_RATIO, PAIR_SENSOR)
    reference = crop_to_ratio(cube, PAIR_RATIO)
    reference = reference.with_data(np.asarray(reference.data, dtype=np.float32))
    hr_name = f"Salinas-A HR-MSI ({PAIR_SENSOR})"
    layers = [
        cube_layer_data(reference, name="Salinas-A reference HR-HSI", visible=False),
        cube_layer_data(lr, name=f"Salinas-A LR-HSI (x{PAIR_RATIO})",
                        ratio=1.0 if lr.transform is not None else PAIR_RATIO),
        cube_layer_data(hr, name=hr_name, visible=False),
        true_colour_layer_data(hr, name=hr_name),
    ]
    return [layer for layer in layers if layer is not None]
