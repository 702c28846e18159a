"""napari sample data: the shipped Salinas-A cube, an LR-HSI/HR-MSI pair simulated from it, and
the registered benchmark scenes found in the data folder (``hsi data fetch NAME``)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from hsi.viewer._convert import (
    BAND_KEYS,
    PLANE_AXIS_LABELS,
    class_colormap,
    class_features,
    cube_layer_data,
    true_colour_layer_data,
)

if TYPE_CHECKING:
    from hsi.cube import Cube

#: Resolution ratio and multispectral sensor of the simulated pair.
PAIR_RATIO = 4
PAIR_SENSOR = "sentinel2"


def scene_layers(cube: Cube, labels: np.ndarray | None, class_names: list[str], title: str
                 ) -> list[tuple]:
    """A scene's cube as an image layer and its ground truth as a hidden Labels layer.

    Parameters
    ----------
    cube : Cube
        ``(bands, H, W)`` with wavelengths in nm.
    labels : numpy.ndarray, shape (H, W), optional
        0 = unlabelled, ``k`` = ``class_names[k - 1]``; no Labels layer without it.
    class_names : list of str
    title : str
        Name of the layers.

    Returns
    -------
    list of LayerDataTuple
        The cube image layer, its true-colour layer on top when the wavelengths cover
        460/550/640 nm (as opening the file shows it, :func:`hsi.viewer._reader.read_cube`),
        then the Labels layer on the cube's grid: hsikit's class colours
        (:func:`~hsi.viewer._convert.class_colormap`, those of the Classify and Cluster docks
        and of saved class maps), class names in ``metadata["class_names"]``
        (keyed by code) and in ``features`` (napari's status bar names the class under the
        cursor, :func:`~hsi.viewer._convert.class_features`).
    """
    image = cube_layer_data(cube, name=title)
    rgb = true_colour_layer_data(cube, name=title)
    shown = [image] if rgb is None else [image, rgb]
    if labels is None:
        return shown
    names = {i + 1: n for i, n in enumerate(class_names)}
    values = range(1, max(int(np.max(labels, initial=0)), len(class_names)) + 1)
    truth = (labels, {"name": f"{title} ground truth", "visible": False,
                      "axis_labels": PLANE_AXIS_LABELS,
                      "scale": image[1]["scale"][-2:], "translate": image[1]["translate"][-2:],
                      "colormap": class_colormap(values), "features": class_features(names),
                      "metadata": {**{k: v for k, v in image[1]["metadata"].items()
                                      if k not in BAND_KEYS},  # a class map has no bands
                                   "wavelengths": None, "fwhm": None, "class_names": names}},
             "labels")
    return [*shown, truth]


def sample_cube_layers() -> list[tuple]:
    """The shipped Salinas-A cube (204 × 83 × 86, reflectance-like) and its ground truth.

    Returns
    -------
    list of LayerDataTuple
        The cube image layer, its true-colour layer and a hidden Labels layer of the 6
        ground-truth classes.
    """
    from hsi.data import sample_cube, sample_labels
    from hsi.viewer._band_slider import follow_current_viewer

    follow_current_viewer()
    labels, names = sample_labels()
    return scene_layers(sample_cube(), labels, names, "Salinas-A")


#: Registered scenes offered as napari samples (read from the data folder): name -> title.
REGISTERED_SCENES = {"indian_pines": "Indian Pines", "jasper_ridge": "Jasper Ridge",
                     "samson": "Samson"}


def registered_scene_layers(name: str) -> list[tuple]:
    """A registered scene (:func:`hsi.data.load`) and its ground truth, from the data folder.

    Raises
    ------
    DatasetNotFoundError
        The scene's files are not in the data folder (the message says how to get them).
    """
    from hsi.data import load
    from hsi.viewer._band_slider import follow_current_viewer

    follow_current_viewer()
    sample = load(name)
    return scene_layers(sample.cube, sample.labels, sample.class_names, REGISTERED_SCENES[name])


indian_pines_layers = functools.partial(registered_scene_layers, "indian_pines")
jasper_ridge_layers = functools.partial(registered_scene_layers, "jasper_ridge")
samson_layers = functools.partial(registered_scene_layers, "samson")


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
